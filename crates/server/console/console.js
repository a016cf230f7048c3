// The operator console: sign in with an operator token, find a consent (by the consent id
// a loan application carries, or a visitor's subject id), see its record verified in this
// page, export a period, and see the figures.
//
// Runs under a strict Content-Security-Policy with Trusted Types: no inline code, no
// markup from strings (every node is built with createElement / createElementNS and
// filled with textContent). The token lives in sessionStorage (this tab only, gone when
// it closes) and is sent as `Authorization: Bearer`, never in a URL.

import { verifyProof } from '/operator/proof.js';

const TOKEN_KEY = 'vivus-operator-token';
const LANG_KEY = 'vivus-operator-lang';
const ID = /^[A-Za-z0-9_-]{22}$/;
const DAY = 86_400_000;

const T = {
  ru: {
    'page.title': 'Консоль оператора — журнал согласий',
    skip: 'Перейти к содержимому',
    brand: 'vivus-consent · консоль оператора',
    'lang.label': 'Язык консоли',
    'signin.title': 'Вход для оператора',
    'signin.lead': 'Консоль показывает записи журнала согласий, проверяет их доказательства и выгружает журнал. Войдите с токеном оператора.',
    'signin.token': 'Токен оператора',
    'signin.help': 'Токен выдаёт администратор командой vivus-consent-server operator add ИМЯ. Он хранится только в этой вкладке и стирается, когда она закрыта.',
    'signin.submit': 'Войти',
    'signin.empty': 'Вставьте токен оператора.',
    'signin.bad': 'Токен не принят. Проверьте, что он скопирован целиком и не отозван.',
    'signin.limited': 'Слишком много неудачных попыток из вашей сети. Повторите через {s} с.',
    'signin.expired': 'Токен больше не принят (возможно, отозван). Войдите снова.',
    'error.generic': 'Сервис не ответил ({status}). Повторите позже.',
    who: 'Оператор: {name}',
    signout: 'Выйти',
    'console.title': 'Журнал согласий',
    'search.title': 'Найти согласие',
    'search.label': 'Номер согласия или идентификатор посетителя',
    'search.help': 'Номер согласия (jti) указан в заявке на заём: 22 символа.',
    'search.submit': 'Найти',
    'search.searching': 'Ищем…',
    'search.invalid': 'Номер — это 22 символа: латинские буквы, цифры, «-» и «_».',
    'search.none': 'В журнале нет ни согласия, ни посетителя с номером {q}.',
    'search.found': 'Найдено: {what}.',
    'record.consent': 'Согласие {id}',
    'record.withdrawal': 'Отзыв согласия {id}',
    'record.policy_withdrawal_request': 'Запрос на отзыв согласия с политикой {id}',
    verifying: 'Проверяем доказательство…',
    verified: 'Проверено в браузере',
    'verified.detail': 'Хеш записи пересчитан из её полей и связан через {n} последующих записей с головой журнала: запись {head}, хеш {hash}.',
    broken: 'Доказательство не сходится',
    'broken.record': 'Поля записи не дают её хеш: запись изменена.',
    'broken.link': 'Цепочка после записи нарушена: {detail}.',
    'broken.head': 'Цепочка не приходит к голове журнала: {detail}.',
    'broken.format': 'Это не доказательство журнала: {detail}.',
    'broken.personal': 'Браузер или сеть клиента в записи не совпадают с солёными хешами, которые покрывает её хеш: они изменены.',
    'broken.signed-head': 'Подпись головы журнала не сходится: голова или её подпись изменены.',
    'head.valid': 'Голова журнала (запись {head}) подписана сервисом ключом {kid}, {time}.',
    'head.unsigned': 'Голова журнала не подписана: запись новее последней контрольной точки. Сравните хеш головы с квитанцией или с головой, сохранённой вне базы.',
    'head.no-key': 'Подпись головы не проверена: в доказательстве нет ключа {kid}.',
    'head.unsupported': 'Подпись головы не проверена: браузер не поддерживает Ed25519.',
    'sig.valid': 'Токен согласия подписан ключом сервиса {kid}; его утверждения совпадают с записью.',
    'sig.invalid': 'Подпись токена согласия или его утверждения не сходятся с записью.',
    'sig.no-key': 'Подпись токена не проверена: в доказательстве нет ключа {kid}.',
    'sig.unsupported': 'Подпись токена не проверена: браузер не поддерживает Ed25519. Проверьте файл доказательства командой ledger check-proof.',
    'proof.unavailable': 'Доказательство не показано: {message}',
    'proof.download': 'Скачать доказательство (JSON)',
    'proof.head': 'Голова журнала для этого доказательства: запись {head}.',
    'f.recordedAt': 'Записано',
    'f.kind': 'Тип записи',
    'f.subject': 'Посетитель',
    'f.categories': 'Разрешённые категории',
    'f.policyAccepted': 'Согласие с политикой',
    'f.policy': 'Политика',
    'f.source': 'Где дано',
    'f.language': 'Язык',
    'f.gpc': 'Сигнал Global Privacy Control',
    'f.userAgent': 'Браузер (User-Agent)',
    'f.clientNetwork': 'Сеть клиента',
    'f.sequence': 'Номер в журнале',
    'f.hash': 'Хеш записи',
    'f.withdraws': 'Отзывает согласие',
    yes: 'да',
    no: 'нет',
    'kind.consent': 'согласие',
    'kind.withdrawal': 'отзыв',
    'kind.policy_withdrawal_request': 'запрос на отзыв согласия с политикой',
    'cat.necessary': 'необходимые',
    'cat.analytics': 'аналитика',
    'cat.marketing': 'маркетинг',
    'src.banner': 'баннер',
    'src.preferences': 'настройки cookie',
    'src.form': 'форма заявки',
    'src.api': 'API',
    'lang.ru': 'русский',
    'lang.kk': 'казахский',
    'policy.current': 'версия {v}, текущая; дайджест {d}',
    'policy.published': 'версия {v}, опубликованная ранее; дайджест {d}',
    'policy.unknown': 'версия {v}; дайджест {d} не совпадает ни с одним опубликованным текстом',
    'policy.text': 'Текст политики:',
    'subject.title': 'История посетителя {id}',
    'subject.count': 'Записей: {n}.',
    'subject.truncated': 'Показаны первые {n} записей.',
    'col.recordedAt': 'Записано',
    'col.kind': 'Тип',
    'col.categories': 'Категории',
    'col.source': 'Где дано',
    'col.id': 'Номер согласия',
    'open.record': 'Открыть запись {id}',
    'open.subject': 'Показать историю посетителя',
    'period.title': 'Период',
    'period.from': 'С',
    'period.to': 'По',
    'period.bucket': 'Шаг графиков',
    'bucket.day': 'день',
    'bucket.hour': 'час',
    'period.show': 'Показать показатели',
    'period.invalid': 'Укажите обе даты; дата «С» не позже даты «По».',
    'export.title': 'Выгрузка журнала',
    'export.lead': 'Все записи периода со всеми полями и хешами: выгрузку можно позже сверить с журналом.',
    'export.csv': 'Скачать CSV',
    'export.jsonl': 'Скачать JSONL',
    'export.busy': 'Готовим файл…',
    'export.done': 'Сохранён файл {name}: записей — {n}.',
    'figures.title': 'Показатели',
    'figures.loading': 'Считаем…',
    'figures.empty': 'За период записей нет.',
    'figures.range': 'С {from} по {to} (UTC{offset}).',
    'tile.consents': 'Согласия',
    'tile.withdrawals': 'Отзывы',
    'tile.acceptances': 'Согласия с политикой',
    'tile.visitors': 'Посетители',
    'tile.gpc': 'Посетители с сигналом GPC',
    'chart.count.day': 'Согласия и отзывы по дням',
    'chart.count.hour': 'Согласия и отзывы по часам',
    'chart.count.desc': 'Столбцы: число согласий за каждый интервал; отзывы — тёмная часть столбца. Максимум: {max}.',
    'chart.share': 'Доля согласий, разрешивших категорию',
    'chart.share.desc': 'Линии: доля согласий за интервал, разрешивших аналитику (круги) и маркетинг (квадраты), от 0 до 100 %.',
    'chart.table': 'Данные графика таблицей',
    'col.bucket': 'Интервал',
    'col.consents': 'Согласия',
    'col.withdrawals': 'Отзывы',
    'col.share': 'Доля: {cat}',
    'by.language': 'По языку',
    'by.source': 'По источнику',
    'col.language': 'Язык',
    'col.sourceName': 'Источник',
  },
  kk: {
    'page.title': 'Оператор консолі — келісімдер журналы',
    skip: 'Мазмұнға өту',
    brand: 'vivus-consent · оператор консолі',
    'lang.label': 'Консоль тілі',
    'signin.title': 'Операторға кіру',
    'signin.lead': 'Консоль келісімдер журналының жазбаларын көрсетеді, олардың дәлелдерін тексереді және журналды жүктеп береді. Оператор токенімен кіріңіз.',
    'signin.token': 'Оператор токені',
    'signin.help': 'Токенді әкімші vivus-consent-server operator add АТЫ командасымен береді. Ол тек осы қойындыда сақталады және қойынды жабылғанда өшіріледі.',
    'signin.submit': 'Кіру',
    'signin.empty': 'Оператор токенін қойыңыз.',
    'signin.bad': 'Токен қабылданбады. Оның толық көшірілгенін және кері қайтарылмағанын тексеріңіз.',
    'signin.limited': 'Желіңізден сәтсіз әрекеттер тым көп. {s} секундтан кейін қайталаңыз.',
    'signin.expired': 'Токен енді қабылданбайды (кері қайтарылған болуы мүмкін). Қайта кіріңіз.',
    'error.generic': 'Сервис жауап бермеді ({status}). Кейінірек қайталаңыз.',
    who: 'Оператор: {name}',
    signout: 'Шығу',
    'console.title': 'Келісімдер журналы',
    'search.title': 'Келісімді табу',
    'search.label': 'Келісім нөмірі немесе келушінің идентификаторы',
    'search.help': 'Келісім нөмірі (jti) қарыз өтінімінде көрсетілген: 22 таңба.',
    'search.submit': 'Табу',
    'search.searching': 'Іздеп жатырмыз…',
    'search.invalid': 'Нөмір — 22 таңба: латын әріптері, цифрлар, «-» және «_».',
    'search.none': 'Журналда {q} нөмірлі келісім де, келуші де жоқ.',
    'search.found': 'Табылды: {what}.',
    'record.consent': 'Келісім {id}',
    'record.withdrawal': 'Келісімді қайтарып алу {id}',
    'record.policy_withdrawal_request': 'Саясатпен келісімді қайтарып алу сұрауы {id}',
    verifying: 'Дәлелді тексеріп жатырмыз…',
    verified: 'Браузерде тексерілді',
    'verified.detail': 'Жазбаның хеші оның өрістерінен қайта есептеліп, кейінгі {n} жазба арқылы журнал басымен байланыстырылды: жазба {head}, хеш {hash}.',
    broken: 'Дәлел сәйкес келмейді',
    'broken.record': 'Жазба өрістері оның хешін бермейді: жазба өзгертілген.',
    'broken.link': 'Жазбадан кейінгі тізбек бұзылған: {detail}.',
    'broken.head': 'Тізбек журнал басына жетпейді: {detail}.',
    'broken.format': 'Бұл журнал дәлелі емес: {detail}.',
    'broken.personal': 'Жазбадағы браузер немесе клиент желісі оның хеші қамтитын тұздалған хештерге сәйкес келмейді: олар өзгертілген.',
    'broken.signed-head': 'Журнал басының қолтаңбасы сәйкес келмейді: бас немесе оның қолтаңбасы өзгертілген.',
    'head.valid': 'Журнал басына (жазба {head}) сервис {kid} кілтімен қол қойған, {time}.',
    'head.unsigned': 'Журнал басына қол қойылмаған: жазба соңғы бақылау нүктесінен жаңа. Бас хешін түбіртекпен немесе дерекқордан тыс сақталған баспен салыстырыңыз.',
    'head.no-key': 'Бас қолтаңбасы тексерілмеді: дәлелде {kid} кілті жоқ.',
    'head.unsupported': 'Бас қолтаңбасы тексерілмеді: браузер Ed25519 қолдамайды.',
    'sig.valid': 'Келісім токеніне сервистің {kid} кілтімен қол қойылған; оның мәлімдемелері жазбаға сәйкес.',
    'sig.invalid': 'Келісім токенінің қолтаңбасы немесе мәлімдемелері жазбаға сәйкес келмейді.',
    'sig.no-key': 'Токен қолтаңбасы тексерілмеді: дәлелде {kid} кілті жоқ.',
    'sig.unsupported': 'Токен қолтаңбасы тексерілмеді: браузер Ed25519 қолдамайды. Дәлел файлын ledger check-proof командасымен тексеріңіз.',
    'proof.unavailable': 'Дәлел көрсетілмеді: {message}',
    'proof.download': 'Дәлелді жүктеп алу (JSON)',
    'proof.head': 'Осы дәлелдегі журнал басы: жазба {head}.',
    'f.recordedAt': 'Жазылған уақыты',
    'f.kind': 'Жазба түрі',
    'f.subject': 'Келуші',
    'f.categories': 'Рұқсат етілген санаттар',
    'f.policyAccepted': 'Саясатпен келісім',
    'f.policy': 'Саясат',
    'f.source': 'Қайда берілді',
    'f.language': 'Тілі',
    'f.gpc': 'Global Privacy Control сигналы',
    'f.userAgent': 'Браузер (User-Agent)',
    'f.clientNetwork': 'Клиент желісі',
    'f.sequence': 'Журналдағы нөмірі',
    'f.hash': 'Жазба хеші',
    'f.withdraws': 'Қайтарып алатын келісімі',
    yes: 'иә',
    no: 'жоқ',
    'kind.consent': 'келісім',
    'kind.withdrawal': 'қайтарып алу',
    'kind.policy_withdrawal_request': 'саясатпен келісімді қайтарып алу сұрауы',
    'cat.necessary': 'қажетті',
    'cat.analytics': 'аналитика',
    'cat.marketing': 'маркетинг',
    'src.banner': 'баннер',
    'src.preferences': 'cookie баптаулары',
    'src.form': 'өтінім пішіні',
    'src.api': 'API',
    'lang.ru': 'орыс тілі',
    'lang.kk': 'қазақ тілі',
    'policy.current': '{v} нұсқасы, ағымдағы; дайджест {d}',
    'policy.published': '{v} нұсқасы, бұрын жарияланған; дайджест {d}',
    'policy.unknown': '{v} нұсқасы; {d} дайджесті жарияланған мәтіндердің ешқайсысына сәйкес келмейді',
    'policy.text': 'Саясат мәтіні:',
    'subject.title': 'Келуші тарихы {id}',
    'subject.count': 'Жазбалар: {n}.',
    'subject.truncated': 'Алғашқы {n} жазба көрсетілген.',
    'col.recordedAt': 'Жазылған уақыты',
    'col.kind': 'Түрі',
    'col.categories': 'Санаттар',
    'col.source': 'Қайда берілді',
    'col.id': 'Келісім нөмірі',
    'open.record': '{id} жазбасын ашу',
    'open.subject': 'Келуші тарихын көрсету',
    'period.title': 'Кезең',
    'period.from': 'Бастап',
    'period.to': 'Дейін',
    'period.bucket': 'Графиктер қадамы',
    'bucket.day': 'күн',
    'bucket.hour': 'сағат',
    'period.show': 'Көрсеткіштерді көрсету',
    'period.invalid': 'Екі күнді де көрсетіңіз; «Бастап» күні «Дейін» күнінен кеш болмасын.',
    'export.title': 'Журналды жүктеп алу',
    'export.lead': 'Кезеңнің барлық жазбалары барлық өрістерімен және хештерімен: файлды кейін журналмен салыстыруға болады.',
    'export.csv': 'CSV жүктеп алу',
    'export.jsonl': 'JSONL жүктеп алу',
    'export.busy': 'Файлды дайындап жатырмыз…',
    'export.done': '{name} файлы сақталды: {n} жазба.',
    'figures.title': 'Көрсеткіштер',
    'figures.loading': 'Есептеп жатырмыз…',
    'figures.empty': 'Кезеңде жазбалар жоқ.',
    'figures.range': '{from} бастап {to} дейін (UTC{offset}).',
    'tile.consents': 'Келісімдер',
    'tile.withdrawals': 'Қайтарып алулар',
    'tile.acceptances': 'Саясатпен келісімдер',
    'tile.visitors': 'Келушілер',
    'tile.gpc': 'GPC сигналы бар келушілер',
    'chart.count.day': 'Күн бойынша келісімдер мен қайтарып алулар',
    'chart.count.hour': 'Сағат бойынша келісімдер мен қайтарып алулар',
    'chart.count.desc': 'Бағандар: әр аралықтағы келісімдер саны; қайтарып алулар — бағанның күңгірт бөлігі. Ең көбі: {max}.',
    'chart.share': 'Санатқа рұқсат берген келісімдер үлесі',
    'chart.share.desc': 'Сызықтар: аралықтағы аналитикаға (дөңгелектер) және маркетингке (шаршылар) рұқсат берген келісімдер үлесі, 0-ден 100 %-ға дейін.',
    'chart.table': 'График деректері кесте түрінде',
    'col.bucket': 'Аралық',
    'col.consents': 'Келісімдер',
    'col.withdrawals': 'Қайтарып алулар',
    'col.share': 'Үлесі: {cat}',
    'by.language': 'Тіл бойынша',
    'by.source': 'Дереккөз бойынша',
    'col.language': 'Тіл',
    'col.sourceName': 'Дереккөз',
  },
};

// ---- small helpers -----------------------------------------------------------

let lang = chooseLanguage();

function chooseLanguage() {
  const asked = new URLSearchParams(location.search).get('lang');
  if (asked === 'ru' || asked === 'kk') return asked;
  try {
    const kept = localStorage.getItem(LANG_KEY);
    if (kept === 'ru' || kept === 'kk') return kept;
  } catch { /* storage off: fall through */ }
  return /^(kk|kz)\b/i.test(navigator.language ?? '') ? 'kk' : 'ru';
}

function t(key, vars = {}) {
  const text = T[lang][key] ?? T.ru[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ''));
}

/** An element with attributes and children (strings become text nodes). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  node.append(...children.flat().filter(Boolean));
  return node;
}

const $ = (id) => document.getElementById(id);

/** The browser's UTC offset as +HH:MM. */
function utcOffset() {
  const minutes = -new Date().getTimezoneOffset();
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

function localDate(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

function localDateTime(ms) {
  const d = new Date(ms);
  const time = [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
  return `${localDate(ms)} ${time} (UTC${utcOffset()})`;
}

function percent(share) {
  return share === null || share === undefined ? '—' : `${(share * 100).toLocaleString(lang === 'kk' ? 'kk-KZ' : 'ru-RU', { maximumFractionDigits: 1 })} %`;
}

function number(n) {
  return Number(n).toLocaleString(lang === 'kk' ? 'kk-KZ' : 'ru-RU');
}

// ---- the API -------------------------------------------------------------------

let token = null;
try { token = sessionStorage.getItem(TOKEN_KEY); } catch { token = null; }

class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
    this.retryAfter = retryAfter;
  }
}

async function api(path, { as = 'json', bearer = token } = {}) {
  const response = await fetch(path, { headers: { authorization: `Bearer ${bearer}` }, cache: 'no-store' });
  if (!response.ok) {
    let body = null;
    try { body = await response.json(); } catch { /* not JSON */ }
    const error = new ApiError(response.status, body, response.headers.get('retry-after'));
    if (response.status === 401 && bearer === token && token) signOut(t('signin.expired'));
    throw error;
  }
  if (as === 'response') return response;
  return response.json();
}

function problem(error) {
  if (error instanceof ApiError && error.status === 429) return t('signin.limited', { s: error.retryAfter ?? '60' });
  if (error instanceof ApiError && error.status < 500 && error.body?.message) return error.body.message;
  return t('error.generic', { status: error instanceof ApiError ? error.status : '—' });
}

// ---- language ----------------------------------------------------------------

function applyLanguage() {
  document.documentElement.lang = lang;
  document.title = t('page.title');
  for (const node of document.querySelectorAll('[data-t]')) node.textContent = t(node.dataset.t);
  for (const node of document.querySelectorAll('[data-t-label]')) node.setAttribute('aria-label', t(node.dataset.tLabel));
  for (const button of document.querySelectorAll('[data-lang]')) button.setAttribute('aria-pressed', String(button.dataset.lang === lang));
  if (operator) $('who-name').textContent = t('who', { name: operator });
  rerender();
}

// ---- sign in / out ------------------------------------------------------------

let operator = null;

async function signIn(candidate) {
  const me = await api('/v1/operator/me', { bearer: candidate });
  token = candidate;
  try { sessionStorage.setItem(TOKEN_KEY, candidate); } catch { /* this page only, then */ }
  operator = me.operator;
  showConsole();
}

function showConsole() {
  $('signin').hidden = true;
  $('console').hidden = false;
  $('who').hidden = false;
  $('who-name').textContent = t('who', { name: operator });
  $('q').focus();
  loadFigures();
}

function signOut(message = '') {
  token = null;
  operator = null;
  try { sessionStorage.removeItem(TOKEN_KEY); } catch { /* nothing kept */ }
  view = { result: null, figures: null };
  $('result').replaceChildren();
  $('figures').replaceChildren();
  $('console').hidden = true;
  $('who').hidden = true;
  $('signin').hidden = false;
  $('signin-error').textContent = message;
  $('token').value = '';
  $('token').focus();
}

// ---- what is on screen (kept to redraw in the other language) ---------------------

let view = { result: null, figures: null };

function rerender() {
  if (!operator) return;
  if (view.result?.kind === 'consent') drawConsent(view.result.data, view.result.check);
  if (view.result?.kind === 'subject') drawSubject(view.result.data);
  if (view.figures) drawFigures(view.figures);
}

// ---- search -------------------------------------------------------------------

async function search(q) {
  const status = $('search-status');
  if (!ID.test(q)) {
    status.textContent = t('search.invalid');
    $('q').setAttribute('aria-invalid', 'true');
    return;
  }
  $('q').removeAttribute('aria-invalid');
  status.textContent = t('search.searching');
  $('result').replaceChildren();
  view.result = null;
  try {
    const consent = await api(`/v1/operator/consents/${q}`).catch((e) => {
      if (e instanceof ApiError && e.status === 404) return null;
      throw e;
    });
    if (consent) {
      await openConsent(consent);
      return;
    }
    const history = await api(`/v1/operator/subjects/${q}/consents`);
    if (!history.records.length) {
      status.textContent = t('search.none', { q });
      $('result').replaceChildren();
      view.result = null;
      return;
    }
    view.result = { kind: 'subject', data: history };
    drawSubject(history);
    status.textContent = t('search.found', { what: t('subject.title', { id: q }) });
  } catch (error) {
    status.textContent = problem(error);
  }
}

async function openConsent(consent) {
  view.result = { kind: 'consent', data: consent, check: null };
  drawConsent(consent, null);
  $('search-status').textContent = t('search.found', { what: t(`record.${consent.record.kind}`, { id: consent.record.consentId }) });
  const check = consent.proof ? await verifyProof(consent.proof) : null;
  // The proof must be about the record shown.
  if (check?.ok && consent.proof.record.consentId !== consent.record.consentId) {
    check.ok = false;
    check.reason = 'record';
  }
  if (view.result?.data === consent) {
    view.result.check = check;
    drawConsent(consent, check);
  }
}

async function openById(id) {
  $('q').value = id;
  await search(id);
}

function fieldRows(entries) {
  return el('dl', { class: 'fields' }, entries.map(([label, value]) => el('div', {}, el('dt', {}, label), el('dd', {}, value))));
}

function drawConsent(consent, check) {
  const r = consent.record;
  // What is shown is the proof's record: the fields that were hashed and checked.
  const p = consent.proof?.record;
  const at = p ?? { ...r, categories: r.categories.join(','), hash: r.recordHash, subjectId: r.subject };
  const categories = at.categories.split(',').filter(Boolean).map((c) => t(`cat.${c}`)).join(', ');
  const policy = consent.policy;
  const policyKey = policy.current ? 'policy.current' : policy.published ? 'policy.published' : 'policy.unknown';
  const policyValue = el('span', {}, t(policyKey, { v: policy.version, d: policy.digest }));
  if (policy.text) {
    policyValue.append(el('br'), `${t('policy.text')} `,
      el('a', { href: policy.text.ru, hreflang: 'ru' }, t('lang.ru')), ', ',
      el('a', { href: policy.text.kk, hreflang: 'kk' }, t('lang.kk')));
  }
  const section = el('article', { class: 'record', 'aria-labelledby': 'record-title' },
    el('h3', { id: 'record-title' }, t(`record.${at.kind}`, { id: at.consentId })),
    verdict(consent, check),
    fieldRows([
      [t('f.recordedAt'), localDateTime(at.recordedAt)],
      [t('f.kind'), t(`kind.${at.kind}`)],
      ...(at.withdraws ? [[t('f.withdraws'), el('button', { type: 'button', class: 'link', onclick: () => openById(at.withdraws), 'aria-label': t('open.record', { id: at.withdraws }) }, at.withdraws)]] : []),
      [t('f.subject'), el('span', {}, el('code', {}, at.subjectId), ' ', el('button', { type: 'button', class: 'link', onclick: () => openById(at.subjectId) }, t('open.subject')))],
      [t('f.categories'), categories],
      [t('f.policyAccepted'), at.policyAccepted ? t('yes') : t('no')],
      [t('f.policy'), policyValue],
      [t('f.source'), t(`src.${at.source}`)],
      [t('f.language'), t(`lang.${at.language}`)],
      [t('f.gpc'), at.gpc ? t('yes') : t('no')],
      [t('f.userAgent'), el('code', {}, at.userAgent || '—')],
      [t('f.clientNetwork'), el('code', {}, at.clientNetwork)],
      [t('f.sequence'), String(at.sequence)],
      [t('f.hash'), el('code', { class: 'hash' }, at.hash)],
    ]),
    consent.proof ? el('p', {}, el('button', { type: 'button', class: 'secondary', onclick: () => downloadProof(at.consentId) }, t('proof.download'))) : null,
  );
  $('result').replaceChildren(section);
}

function verdict(consent, check) {
  if (!consent.proof) {
    return el('p', { class: 'verdict unknown', id: 'verdict' }, t('proof.unavailable', { message: consent.proofUnavailable?.message ?? '' }));
  }
  if (!check) return el('p', { class: 'verdict unknown', id: 'verdict' }, t('verifying'));
  if (!check.ok) {
    return el('div', { class: 'verdict bad', id: 'verdict', 'data-verified': 'false' },
      el('p', {}, el('span', { 'aria-hidden': 'true' }, '✗ '), el('strong', {}, t('broken'))),
      el('p', {}, t(`broken.${check.reason}`, { detail: check.detail ?? '' })));
  }
  return el('div', { class: 'verdict good', id: 'verdict', 'data-verified': 'true' },
    el('p', {}, el('span', { 'aria-hidden': 'true' }, '✓ '), el('strong', {}, t('verified'))),
    el('p', {}, t('verified.detail', { n: check.links, head: check.head.sequence, hash: check.head.hash })),
    el('p', { class: check.headSignature === 'valid' ? '' : 'warn', 'data-head': check.headSignature },
      t(`head.${check.headSignature}`, { head: check.head.sequence, kid: check.headKid ?? '—', time: check.headSignedAt ? localDateTime(check.headSignedAt) : '' })),
    el('p', { class: check.signature === 'valid' ? '' : 'warn' }, t(`sig.${check.signature}`, { kid: check.kid ?? '—' })));
}

function drawSubject(history) {
  const rows = history.records.map((r) => el('tr', {},
    el('td', {}, localDateTime(r.recordedAt)),
    el('td', {}, t(`kind.${r.kind}`)),
    el('td', {}, r.categories.map((c) => t(`cat.${c}`)).join(', ')),
    el('td', {}, t(`src.${r.source}`)),
    el('td', {}, el('button', { type: 'button', class: 'link', onclick: () => openById(r.consentId), 'aria-label': t('open.record', { id: r.consentId }) }, r.consentId)),
  ));
  $('result').replaceChildren(el('article', { class: 'record', 'aria-labelledby': 'record-title' },
    el('h3', { id: 'record-title' }, t('subject.title', { id: history.subject })),
    el('p', {}, t('subject.count', { n: history.records.length }), history.truncated ? ` ${t('subject.truncated', { n: history.records.length })}` : ''),
    el('div', { class: 'scroll', role: 'region', 'aria-labelledby': 'record-title', tabindex: '0' },
      el('table', {},
        el('thead', {}, el('tr', {}, ['col.recordedAt', 'col.kind', 'col.categories', 'col.source', 'col.id'].map((k) => el('th', { scope: 'col' }, t(k))))),
        el('tbody', {}, rows)))));
}

// ---- downloads ------------------------------------------------------------------

function fileName(response, fallback) {
  const match = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '');
  return match ? match[1] : fallback;
}

function save(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

async function downloadProof(id) {
  try {
    const response = await api(`/v1/operator/consents/${id}/proof`, { as: 'response' });
    save(await response.blob(), fileName(response, `vivus-consent-proof-${id}.json`));
  } catch (error) {
    $('search-status').textContent = problem(error);
  }
}

function periodQuery() {
  const from = $('from').value;
  const to = $('to').value;
  if (!from || !to || from > to) return null;
  return new URLSearchParams({ from, to, utcOffset: utcOffset() });
}

async function exportPeriod(format) {
  const status = $('export-status');
  const query = periodQuery();
  if (!query) {
    status.textContent = t('period.invalid');
    return;
  }
  query.set('format', format);
  status.textContent = t('export.busy');
  try {
    const response = await api(`/v1/operator/export?${query}`, { as: 'response' });
    const blob = await response.blob();
    const name = fileName(response, `vivus-consents.${format}`);
    save(blob, name);
    const lines = (await blob.text()).split('\n').filter((l) => l.trim()).length - (format === 'csv' ? 1 : 0);
    status.textContent = t('export.done', { name, n: number(Math.max(lines, 0)) });
  } catch (error) {
    status.textContent = problem(error);
  }
}

// ---- figures -------------------------------------------------------------------

async function loadFigures() {
  const status = $('figures-status');
  const query = periodQuery();
  if (!query) {
    status.textContent = t('period.invalid');
    return;
  }
  query.set('bucket', $('bucket').value);
  status.textContent = t('figures.loading');
  try {
    const stats = await api(`/v1/operator/stats?${query}`);
    view.figures = stats;
    drawFigures(stats);
  } catch (error) {
    status.textContent = problem(error);
  }
}

/** Every bucket of the period, the empty ones with zero counts. */
function filledBuckets(stats) {
  const width = stats.bucket === 'hour' ? DAY / 24 : DAY;
  const byStart = new Map(stats.buckets.map((b) => [b.startMs, b]));
  const out = [];
  if ((stats.toMs - stats.fromMs) / width > 2000) return stats.buckets;
  for (let at = stats.fromMs; at < stats.toMs; at += width) {
    out.push(byStart.get(at) ?? { startMs: at, consents: 0, withdrawals: 0, granted: Object.fromEntries(stats.categories.map((c) => [c, { count: 0, share: null }])) });
  }
  return out;
}

function bucketLabel(stats, ms) {
  if (stats.bucket === 'day') return localDate(ms);
  const d = new Date(ms);
  return `${localDate(ms)} ${String(d.getHours()).padStart(2, '0')}:00`;
}

function drawFigures(stats) {
  const box = $('figures');
  const status = $('figures-status');
  status.textContent = t('figures.range', { from: localDate(stats.fromMs), to: localDate(stats.toMs - 1), offset: stats.utcOffset });
  const tiles = el('ul', { class: 'tiles' },
    tile(t('tile.consents'), number(stats.totals.consents)),
    tile(t('tile.withdrawals'), number(stats.totals.withdrawals)),
    tile(t('tile.acceptances'), number(stats.totals.policyAcceptances)),
    tile(t('tile.visitors'), number(stats.visitors.total)),
    tile(t('tile.gpc'), percent(stats.visitors.gpcShare)),
  );
  if (!stats.totals.records) {
    box.replaceChildren(tiles, el('p', {}, t('figures.empty')));
    return;
  }
  const buckets = filledBuckets(stats);
  box.replaceChildren(
    tiles,
    countChart(stats, buckets),
    shareChart(stats, buckets),
    groupTable('by-language', t('by.language'), t('col.language'), stats.byLanguage.map((g) => [t(`lang.${g.language}`), g]), stats.categories),
    groupTable('by-source', t('by.source'), t('col.sourceName'), stats.bySource.map((g) => [t(`src.${g.source}`), g]), stats.categories),
  );
}

function tile(label, value) {
  return el('li', {}, el('span', { class: 'tile-value' }, value), el('span', { class: 'tile-label' }, label));
}

const CHART = { width: 720, height: 240, left: 48, right: 12, top: 12, bottom: 40 };

function axisLabels(stats, buckets, x) {
  const every = Math.max(1, Math.ceil(buckets.length / 8));
  return buckets.map((b, i) => (i % every === 0
    ? svg('text', { x: x(i), y: CHART.height - CHART.bottom + 16, 'text-anchor': 'middle', class: 'axis' }, document.createTextNode(bucketLabel(stats, b.startMs).slice(5)))
    : null));
}

function figure(id, title, desc, chart, table) {
  return el('figure', { class: 'chart', 'aria-labelledby': `${id}-caption` },
    el('figcaption', { id: `${id}-caption` }, title),
    chart,
    el('details', {}, el('summary', {}, t('chart.table')), el('div', { class: 'scroll', role: 'region', 'aria-label': `${title}: ${t('chart.table')}`, tabindex: '0' }, table)),
  );
}

function countChart(stats, buckets) {
  const { width, height, left, right, top, bottom } = CHART;
  const max = Math.max(1, ...buckets.map((b) => b.consents + b.withdrawals));
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const step = plotW / buckets.length;
  const x = (i) => left + step * (i + 0.5);
  const y = (v) => top + plotH - (v / max) * plotH;
  const barW = Math.max(1, Math.min(28, step * 0.7));
  const title = t(stats.bucket === 'hour' ? 'chart.count.hour' : 'chart.count.day');
  const desc = t('chart.count.desc', { max: number(max) });
  const bars = buckets.flatMap((b, i) => [
    svg('rect', { x: x(i) - barW / 2, y: y(b.consents + b.withdrawals), width: barW, height: (plotH * b.consents) / max, class: 'bar-consents' }),
    b.withdrawals ? svg('rect', { x: x(i) - barW / 2, y: y(b.withdrawals), width: barW, height: (plotH * b.withdrawals) / max, class: 'bar-withdrawals' }) : null,
  ]);
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': 'count-title count-desc', class: 'plot', 'data-chart': 'consents' },
    svg('title', { id: 'count-title' }, document.createTextNode(title)),
    svg('desc', { id: 'count-desc' }, document.createTextNode(desc)),
    svg('line', { x1: left, y1: top + plotH, x2: width - right, y2: top + plotH, class: 'axis-line' }),
    svg('text', { x: left - 6, y: top + 4, 'text-anchor': 'end', class: 'axis' }, document.createTextNode(number(max))),
    svg('text', { x: left - 6, y: top + plotH, 'text-anchor': 'end', class: 'axis' }, document.createTextNode('0')),
    ...bars,
    ...axisLabels(stats, buckets, x).filter(Boolean),
  );
  const table = el('table', {},
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t('col.bucket')), el('th', { scope: 'col' }, t('col.consents')), el('th', { scope: 'col' }, t('col.withdrawals')))),
    el('tbody', {}, buckets.map((b) => el('tr', {}, el('th', { scope: 'row' }, bucketLabel(stats, b.startMs)), el('td', {}, number(b.consents)), el('td', {}, number(b.withdrawals))))));
  return figure('count', title, desc, chart, table);
}

function shareChart(stats, buckets) {
  const { width, height, left, right, top, bottom } = CHART;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const step = plotW / buckets.length;
  const x = (i) => left + step * (i + 0.5);
  const y = (share) => top + plotH - share * plotH;
  const title = t('chart.share');
  const desc = t('chart.share.desc');
  const series = stats.categories.map((category, n) => {
    // Each series a few pixels to its side, so equal shares do not hide each other.
    const at = (i) => x(i) + (n - (stats.categories.length - 1) / 2) * 5;
    const points = buckets.map((b, i) => [i, b.granted[category]?.share]).filter(([, s]) => s !== null && s !== undefined);
    const path = points.map(([i, s], k) => `${k ? 'L' : 'M'}${at(i).toFixed(1)},${y(s).toFixed(1)}`).join(' ');
    const marks = points.map(([i, s]) => (n === 0
      ? svg('circle', { cx: at(i), cy: y(s), r: 3.5, class: `mark-${category}` })
      : svg('rect', { x: at(i) - 3.5, y: y(s) - 3.5, width: 7, height: 7, class: `mark-${category}` })));
    return svg('g', { 'data-series': category }, path ? svg('path', { d: path, class: `line-${category}` }) : null, ...marks);
  });
  const legend = stats.categories.map((category, n) => svg('g', {},
    n === 0 ? svg('circle', { cx: left + 8 + n * 160, cy: height - 8, r: 4, class: `mark-${category}` })
      : svg('rect', { x: left + 4 + n * 160, y: height - 12, width: 8, height: 8, class: `mark-${category}` }),
    svg('text', { x: left + 18 + n * 160, y: height - 4, class: 'axis' }, document.createTextNode(t(`cat.${category}`)))));
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': 'share-title share-desc', class: 'plot', 'data-chart': 'shares' },
    svg('title', { id: 'share-title' }, document.createTextNode(title)),
    svg('desc', { id: 'share-desc' }, document.createTextNode(desc)),
    svg('line', { x1: left, y1: top + plotH, x2: width - right, y2: top + plotH, class: 'axis-line' }),
    svg('line', { x1: left, y1: top, x2: width - right, y2: top, class: 'grid-line' }),
    svg('text', { x: left - 6, y: top + 4, 'text-anchor': 'end', class: 'axis' }, document.createTextNode('100 %')),
    svg('text', { x: left - 6, y: top + plotH, 'text-anchor': 'end', class: 'axis' }, document.createTextNode('0 %')),
    ...series,
    ...legend,
  );
  const table = el('table', {},
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t('col.bucket')), stats.categories.map((c) => el('th', { scope: 'col' }, t('col.share', { cat: t(`cat.${c}`) }))))),
    el('tbody', {}, buckets.map((b) => el('tr', {}, el('th', { scope: 'row' }, bucketLabel(stats, b.startMs)), stats.categories.map((c) => el('td', {}, percent(b.granted[c]?.share)))))));
  return figure('share', title, desc, chart, table);
}

function groupTable(id, title, nameHeader, groups, categories) {
  return el('section', { class: 'group', 'aria-labelledby': `${id}-title` },
    el('h3', { id: `${id}-title` }, title),
    el('div', { class: 'scroll', role: 'region', 'aria-labelledby': `${id}-title`, tabindex: '0' },
      el('table', {},
        el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, nameHeader), el('th', { scope: 'col' }, t('col.consents')), el('th', { scope: 'col' }, t('col.withdrawals')),
          categories.map((c) => el('th', { scope: 'col' }, t('col.share', { cat: t(`cat.${c}`) }))))),
        el('tbody', {}, groups.map(([name, g]) => el('tr', {}, el('th', { scope: 'row' }, name), el('td', {}, number(g.consents)), el('td', {}, number(g.withdrawals)),
          categories.map((c) => el('td', {}, percent(g.granted[c]?.share)))))))));
}

// ---- wiring ----------------------------------------------------------------------

function start() {
  for (const button of document.querySelectorAll('[data-lang]')) {
    button.addEventListener('click', () => {
      lang = button.dataset.lang;
      try { localStorage.setItem(LANG_KEY, lang); } catch { /* not kept */ }
      applyLanguage();
    });
  }
  $('signin-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const candidate = $('token').value.trim();
    const error = $('signin-error');
    if (!candidate) {
      error.textContent = t('signin.empty');
      $('token').focus();
      return;
    }
    error.textContent = '';
    try {
      await signIn(candidate);
    } catch (e) {
      error.textContent = e instanceof ApiError && e.status === 401 ? t('signin.bad') : problem(e);
      $('token').focus();
    }
  });
  $('sign-out').addEventListener('click', () => signOut());
  $('search-form').addEventListener('submit', (event) => {
    event.preventDefault();
    search($('q').value.trim());
  });
  $('period-form').addEventListener('submit', (event) => {
    event.preventDefault();
    loadFigures();
  });
  for (const button of document.querySelectorAll('[data-export]')) {
    button.addEventListener('click', () => exportPeriod(button.dataset.export));
  }
  const today = Date.now();
  $('to').value = localDate(today);
  $('from').value = localDate(today - 29 * DAY);
  applyLanguage();
  if (token) {
    api('/v1/operator/me')
      .then((me) => { operator = me.operator; showConsole(); })
      .catch(() => signOut());
  }
  document.documentElement.dataset.console = 'ready';
}

start();
