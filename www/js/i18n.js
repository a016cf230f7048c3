/* Page language for the demo site (the consent widget chooses its own language
   the same way: ?lang=, then <html lang>). The HTML is written in Russian;
   this script swaps in Kazakh for elements marked data-i18n / data-i18n-attr
   and keeps ?lang= on internal links. It runs synchronously at the end of
   <body>, before the deferred consent module, so both agree on <html lang>. */
(function () {
  'use strict';

  // Static page text, Kazakh only (Russian is in the HTML).
  var KK = {
    'common.skip': 'Мазмұнға өту',
    'common.logo': 'Vivus — басты бетке',
    'nav.label': 'Негізгі мәзір',
    'nav.how': 'Қалай алуға болады',
    'nav.faq': 'Сұрақтар',
    'nav.apply': 'Өтінім',
    'nav.consents': 'Менің келісімдерім',
    'nav.lang': 'Сайт тілі',
    'index.title': 'Vivus — 15 минутта картаға ақша (демо)',
    'index.h1': '15 минутта картаға ақша',
    'index.lead': '30 күнге дейінгі мерзімге 300 000 ₸ дейін микрокредит. Өтінім онлайн беріледі: кеңсеге барудың және табыс туралы анықтаманың қажеті жоқ.',
    'index.point1': 'Шешім бірнеше минутта, тәулік бойы',
    'index.point2': 'Қазақстанның кез келген банкінің картасына аударым',
    'index.point3': 'Мерзімінен бұрын өтеу — комиссиясыз',
    'calc.title': 'Микрокредитті есептеңіз',
    'calc.amount': 'Сома',
    'calc.term': 'Мерзім',
    'calc.min-term': '5 күн',
    'calc.max-term': '30 күн',
    'calc.fee': 'Сыйақы',
    'calc.due': 'Қайтару күні',
    'calc.total': 'Қайтарылатын сома',
    'calc.submit': 'Ақша алу',
    'calc.fine': 'Сыйақы мөлшерлемесі — микрокредит сомасының күніне 0,15%. Жылдық тиімді мөлшерлеме ҚР заңнамасында белгіленген шектен аспайды. Есеп алдын ала жасалған.',
    'how.title': 'Ақшаны қалай алуға болады',
    'how.s1.t': 'Соманы және мерзімді таңдаңыз',
    'how.s1.p': 'Калькулятордың жүгірткілерін жылжытыңыз — қайтарылатын сома бірден көрінеді, жасырын төлемдер жоқ.',
    'how.s2.t': 'Өтінімді толтырыңыз',
    'how.s2.p': 'Аты-жөні, ЖСН, телефон және электрондық пошта. Біз дербес деректерді өңдеуге келісіміңізді сұраймыз — онсыз өтінімді қарау мүмкін емес.',
    'how.s3.t': 'Ақшаны алыңыз',
    'how.s3.p': 'Өтінім мақұлданғаннан кейін ақша бірнеше минут ішінде картаңызға түседі.',
    'numbers.title': 'Неліктен Vivus',
    'numbers.min': 'мин',
    'numbers.decision': 'өтінім бойынша шешімге',
    'numbers.always': 'өтінімдер тәулік бойы қабылданады',
    'numbers.early': 'мерзімінен бұрын өтеу үшін',
    'numbers.max': 'ең жоғары сома',
    'video.title': 'Бұл қалай жұмыс істейді — 1 минуттық бейне',
    'video.p': 'Бейне өз cookie файлдарын орнататын сыртқы бейнесервистен жүктеледі. Сондықтан ол маркетингтік cookie файлдарына келісім бергеннен кейін ғана көрсетіледі.',
    'video.frame': 'Бейне: Vivus-тан микрокредитті қалай алуға болады',
    'faq.title': 'Жиі қойылатын сұрақтар',
    'faq.q1': 'Микрокредитті кім ала алады?',
    'faq.a1': 'Жарамды жеке куәлігі және банк картасы бар, 18 жасқа толған Қазақстан Республикасының азаматтары.',
    'faq.q2': 'Дербес деректерді өңдеуге келісім не үшін қажет?',
    'faq.a2': 'ҚР «Дербес деректер және оларды қорғау туралы» Заңына сәйкес біз өтінімді тек сіздің келісіміңізбен қарай аламыз. Келісім журналға жазылады, ал сіз оның қол қойылған көшірмесін аласыз.',
    'faq.q3': 'Cookie файлдарына берген келісімді қайтарып алуға бола ма?',
    'faq.a3': 'Иә. Беттің төменгі жағындағы «Cookie баптаулары» сілтемесін немесе «Менің келісімдерім» бетін ашып, аналитиканы не маркетингті өшіріңіз.',
    'footer.about': 'vivus-consent жобасының демонстрациялық сайты: келісім баннері және келісімдерді қол қойылған токенмен журналға жазу.',
    'footer.clients': 'Клиенттерге',
    'footer.privacy': 'Құпиялылық',
    'footer.policy': 'Дербес деректерді өңдеу саясаты',
    'footer.cookies': 'Cookie баптаулары',
    'footer.legal': 'Демонстрация. Бұл «Вивус» Шағын қаржы ұйымы» ЖШС-ның сайты емес және жария оферта болып табылмайды.',
    'footer.tags': 'Іске қосылған демо-тегтер:',
    'footer.none': 'жоқ',
    'apply.title': 'Микрокредитке өтінім — Vivus (демо)',
    'apply.h1': 'Микрокредитке өтінім',
    'apply.lead': 'Өтінімді толтырыңыз — шешім SMS арқылы және электрондық поштаға келеді. Жібермес бұрын дербес деректерді өңдеуге келісіміңізді сұраймыз.',
    'apply.personal': 'Жеке деректер',
    'apply.name': 'Тегі, аты, әкесінің аты',
    'apply.name.hint': 'Жеке куәліктегідей',
    'apply.iin': 'ЖСН',
    'apply.iin.hint': '12 цифр, жеке куәлікте көрсетілген',
    'apply.contacts': 'Байланыс деректері',
    'apply.phone': 'Ұялы телефон',
    'apply.phone.hint': '+7 7XX XXX XX XX форматында',
    'apply.email': 'Электрондық пошта',
    'apply.loan': 'Микрокредит',
    'apply.amount': 'Сомасы, ₸',
    'apply.amount.hint': '10 000 – 300 000 ₸',
    'apply.term': 'Мерзімі, күн',
    'apply.term.hint': '5 – 30 күн',
    'apply.notice': '«Өтінімді жіберу» батырмасын басқанда, МҚҰ Саясатына сәйкес дербес деректерді өңдеуге келісім беруге өтесіз. Келісімсіз өтінімді қарау мүмкін емес.',
    'apply.submit': 'Өтінімді жіберу',
    'apply.summary': 'Сіздің микрокредитіңіз',
    'apply.policy-link': 'Саясатты оқу',
    'consents.title': 'Менің келісімдерім — Vivus (демо)',
    'consents.h1': 'Менің келісімдерім',
    'consents.lead': 'Мұнда осы браузерде не нәрсеге келісім бергеніңіз және журналдағы келісімдер тарихы көрсетілген. Аналитика мен маркетингке берілген келісімді кез келген уақытта қайтарып алуға болады.',
    'consents.current': 'Ағымдағы келісім',
    'consents.history': 'Келісімдер журналындағы тарих',
    'consents.withdraw-analytics': 'Аналитикаға келісімді қайтарып алу',
    'consents.withdraw-marketing': 'Маркетингке келісімді қайтарып алу',
    'consents.withdraw-all': 'Барлық міндетті емес келісімдерді қайтарып алу',
    'consents.settings': 'Cookie баптауларын өзгерту',
    'consents.caption': 'Осы браузердің келісімдері, жаңасы жоғарыда',
    'consents.col.seq': 'Жазба №',
    'consents.col.when': 'Уақыты',
    'consents.col.action': 'Әрекет',
    'consents.col.categories': 'Санаттар',
    'consents.col.policy': 'Саясат',
    'consents.col.lang': 'Тіл',
    'video.placeholder': 'Бейне'
  };

  // Text produced by the page scripts, in both languages.
  var DYNAMIC = {
    'currency': ['₸', '₸'],
    'err.name': ['Укажите фамилию, имя и, если есть, отчество — буквами.', 'Тегіңізді, атыңызды және бар болса әкеңіздің атын әріппен жазыңыз.'],
    'err.iin.length': ['ИИН состоит из 12 цифр.', 'ЖСН 12 цифрдан тұрады.'],
    'err.iin.checksum': ['ИИН введён с ошибкой: проверьте цифры.', 'ЖСН қате енгізілген: цифрларды тексеріңіз.'],
    'err.iin.age': ['Микрокредит выдаётся с 18 лет.', 'Микрокредит 18 жастан бастап беріледі.'],
    'err.phone': ['Укажите мобильный номер Казахстана: +7 и 10 цифр.', 'Қазақстандық ұялы нөмірді көрсетіңіз: +7 және 10 цифр.'],
    'err.email': ['Укажите адрес электронной почты, например name@mail.kz.', 'Электрондық пошта мекенжайын көрсетіңіз, мысалы name@mail.kz.'],
    'err.amount': ['Сумма — от 10 000 до 300 000 ₸, кратно 5 000.', 'Сома — 10 000-нан 300 000 ₸-ге дейін, 5 000-ға еселі.'],
    'err.term': ['Срок — от 5 до 30 дней.', 'Мерзімі — 5-тен 30 күнге дейін.'],
    'cat.necessary': ['Необходимые', 'Қажетті'],
    'cat.analytics': ['Аналитика', 'Аналитика'],
    'cat.marketing': ['Маркетинг', 'Маркетинг'],
    'consents.none': ['В этом браузере согласие ещё не записано. Выберите настройки в баннере — запись появится здесь.', 'Бұл браузерде келісім әлі жазылмаған. Баннерде таңдау жасаңыз — жазба осында пайда болады.'],
    'consents.pending': ['Ваш выбор ещё не записан сервисом согласий — мы повторим попытку.', 'Сіздің таңдауыңызды келісім сервисі әлі жазған жоқ — біз қайталап көреміз.'],
    'consents.granted': ['Разрешено', 'Рұқсат етілген'],
    'consents.policy-accepted': ['Политика обработки персональных данных принята', 'Дербес деректерді өңдеу саясаты қабылданды'],
    'consents.policy-not-accepted': ['Политика обработки персональных данных не принималась', 'Дербес деректерді өңдеу саясаты қабылданбаған'],
    'consents.expires': ['Согласие действует до', 'Келісім мерзімі'],
    'consents.loading': ['Загружаем историю…', 'Тарих жүктелуде…'],
    'consents.history-none': ['История появится после первого согласия.', 'Тарих алғашқы келісімнен кейін пайда болады.'],
    'consents.history-error': ['Не удалось загрузить историю: {msg}', 'Тарихты жүктеу мүмкін болмады: {msg}'],
    'consents.withdrawn': ['Согласие отозвано и записано в журнал.', 'Келісім қайтарып алынды және журналға жазылды.'],
    'consents.withdraw-error': ['Не удалось отозвать согласие: {msg}. Попробуйте ещё раз.', 'Келісімді қайтарып алу мүмкін болмады: {msg}. Қайталап көріңіз.'],
    'consents.sdk-missing': ['Виджет согласий не загрузился, поэтому изменить согласие здесь сейчас нельзя.', 'Келісім виджеті жүктелмеді, сондықтан қазір келісімді мұнда өзгерту мүмкін емес.'],
    'action.consent': ['Согласие', 'Келісім'],
    'action.withdrawal': ['Отзыв', 'Қайтарып алу'],
    'action.policy-withdrawal': ['Запрос на отзыв согласия с Политикой', 'Саясатпен келісімді қайтарып алу сұрауы'],
    'consents.accepted': ['принята', 'қабылданды'],
    'source.banner': ['баннер', 'баннер'],
    'source.preferences': ['настройки', 'баптаулар'],
    'source.form': ['форма заявки', 'өтінім нысаны'],
    'source.api': ['API', 'API'],
    'lang.ru': ['русский', 'орыс тілі'],
    'lang.kk': ['казахский', 'қазақ тілі']
  };

  var params = new URLSearchParams(location.search);
  var asked = params.get('lang');
  var lang = asked === 'kk' || asked === 'ru' ? asked : (document.documentElement.lang === 'kk' ? 'kk' : 'ru');
  var index = lang === 'kk' ? 1 : 0;
  document.documentElement.lang = lang;

  function t(key, vars) {
    var entry = DYNAMIC[key];
    var text = entry ? entry[index] : (lang === 'kk' && KK[key]) || key;
    if (vars) {
      text = text.replace(/\{(\w+)\}/g, function (_, name) { return name in vars ? String(vars[name]) : ''; });
    }
    return text;
  }

  var number = new Intl.NumberFormat('ru-RU', { maximumFractionDigits: 0 });
  function money(n) { return number.format(n).replace(/\s/g, '\u00a0') + '\u00a0₸'; }
  function days(n) {
    if (lang === 'kk') return n + '\u00a0күн';
    var mod10 = n % 10, mod100 = n % 100;
    var word = mod10 === 1 && mod100 !== 11 ? 'день'
      : mod10 >= 2 && mod10 <= 4 && (mod100 < 12 || mod100 > 14) ? 'дня' : 'дней';
    return n + '\u00a0' + word;
  }
  // Chromium's ICU has no Kazakh month names (it prints "2026 M12 10"), so Kazakh dates are spelled here.
  var KK_MONTHS = ['қаңтар', 'ақпан', 'наурыз', 'сәуір', 'мамыр', 'маусым', 'шілде', 'тамыз', 'қыркүйек', 'қазан', 'қараша', 'желтоқсан'];
  function two(n) { return (n < 10 ? '0' : '') + n; }
  function date(d) {
    if (lang === 'kk') return d.getFullYear() + '\u00a0жылғы ' + d.getDate() + '\u00a0' + KK_MONTHS[d.getMonth()];
    return new Intl.DateTimeFormat('ru-RU', { day: 'numeric', month: 'long', year: 'numeric' }).format(d);
  }
  function dateTime(d) {
    if (lang === 'kk') return date(d) + ', ' + two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds());
    return new Intl.DateTimeFormat('ru-RU', { dateStyle: 'medium', timeStyle: 'medium' }).format(d);
  }

  if (lang === 'kk') {
    document.querySelectorAll('[data-i18n]').forEach(function (el) {
      var text = KK[el.getAttribute('data-i18n')];
      if (text) el.textContent = text;
    });
    document.querySelectorAll('[data-i18n-attr]').forEach(function (el) {
      el.getAttribute('data-i18n-attr').split(',').forEach(function (pair) {
        var parts = pair.split('=');
        var text = KK[parts[1]];
        if (text) el.setAttribute(parts[0].trim(), text);
      });
    });
    // Keep the language on links within the site.
    document.querySelectorAll('a[href^="/"]').forEach(function (a) {
      var url = new URL(a.getAttribute('href'), location.origin);
      if (url.pathname.indexOf('/pkg/') === 0) return;
      url.searchParams.set('lang', 'kk');
      a.setAttribute('href', url.pathname + url.search + url.hash);
    });
  }
  document.querySelectorAll('[data-lang-field]').forEach(function (input) { input.value = lang; });
  document.querySelectorAll('[data-lang-link]').forEach(function (a) {
    var url = new URL(location.href);
    url.searchParams.set('lang', a.getAttribute('data-lang-link'));
    a.setAttribute('href', url.pathname + url.search + url.hash);
    if (a.getAttribute('data-lang-link') === lang) a.setAttribute('aria-current', 'true');
  });

  window.demoI18n = { lang: lang, t: t, money: money, days: days, date: date, dateTime: dateTime };
})();
