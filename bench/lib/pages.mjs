// The benchmark pages: one vivus.kz-like page body, five integrations.
//
// Every page has the same body (Russian text, a loan form), the same three
// categories (necessary, analytics, marketing), the same banner wording where
// the library takes its wording from the page, and one gated marketing script
// that records `window.__gatedRanAt = performance.now()`. The library is
// loaded at the end of <body>, after the gated script, the way each library's
// README shows it; its config is inline, so it costs no extra request.

/** What the gated marketing script runs (the same text in every page). */
export const GATED_CODE = 'window.__gatedRanAt = performance.now();';

/** Banner wording shared by the competitors (ours ships its own, in both languages). */
export const TEXT = {
  title: 'Мы используем файлы cookie',
  description:
    'Vivus.kz использует файлы cookie и похожие технологии. Необходимые нужны для работы сайта и заявки на заём, ' +
    'аналитические помогают понять, как улучшить сервис, маркетинговые позволяют показывать вам релевантную рекламу. ' +
    'Вы можете принять все, отказаться от необязательных или выбрать категории в настройках.',
  policyLink: 'Политика обработки персональных данных',
  acceptAll: 'Принять все',
  rejectAll: 'Отклонить все',
  settings: 'Настройки',
  save: 'Сохранить выбор',
  prefsTitle: 'Настройки файлов cookie',
  categories: {
    necessary: {
      title: 'Необходимые',
      description: 'Обеспечивают работу сайта, безопасность и отправку заявки на заём. Их нельзя отключить.',
    },
    analytics: {
      title: 'Аналитические',
      description: 'Помогают нам понять, как посетители пользуются сайтом, чтобы сделать его удобнее.',
    },
    marketing: {
      title: 'Маркетинговые',
      description: 'Позволяют показывать рекламу наших займов, которая вам подходит, на других сайтах.',
    },
  },
};

const BODY = `
<header class="top"><a class="logo" href="#">vivus.kz</a>
  <nav><a href="#">Займы</a> <a href="#">Как получить</a> <a href="#">Погашение</a> <a href="#">Контакты</a></nav>
</header>
<main>
  <h1>Быстрые займы онлайн в Казахстане</h1>
  <p>Получите до 300 000 ₸ на карту за 15 минут. Первый заём — без процентов при своевременном погашении.
  Решение принимается автоматически, без справок и поручителей, круглосуточно.</p>
  <form class="loan" action="/demo/applications" method="post">
    <label>Сумма, ₸ <input name="amount" type="number" value="50000" min="5000" max="300000"></label>
    <label>Срок, дней <input name="term" type="number" value="30" min="5" max="30"></label>
    <label>Телефон <input name="phone" type="tel" placeholder="+7 (___) ___-__-__"></label>
    <button type="submit">Получить деньги</button>
  </form>
  <h2>Как это работает</h2>
  <ol><li>Выберите сумму и срок.</li><li>Заполните анкету и подтвердите номер телефона.</li>
  <li>Получите решение и деньги на карту любого банка Казахстана.</li></ol>
  <p>ТОО «МФО Vivus» — лицензия Агентства Республики Казахстан по регулированию и развитию финансового рынка.
  Годовая эффективная ставка вознаграждения — от 0% до 56%.</p>
</main>
<footer><p>© Vivus.kz. Все права защищены.</p></footer>
`;

const STYLE = `
body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#1d2733}
.top{display:flex;justify-content:space-between;padding:12px 24px;background:#0a7d3c;color:#fff}
.top a{color:#fff;margin-left:12px}.logo{font-weight:700;margin:0}
main{max-width:760px;margin:0 auto;padding:16px 24px}
.loan{display:grid;gap:8px;max-width:360px;padding:16px;border:1px solid #ccd;border-radius:8px}
.loan input{width:100%;box-sizing:border-box}
footer{padding:24px;color:#667}
`;

function page({ title, head = '', gated, tail }) {
  return `<!doctype html>
<html lang="ru">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>${STYLE}</style>
${head}
</head>
<body>
${BODY}
${gated}
${tail}
</body>
</html>
`;
}

/** No consent library: the marketing script is a plain script (the floor). */
export function floorPage() {
  return page({
    title: 'Vivus — без баннера',
    gated: `<script>${GATED_CODE}</script>`,
    tail: '',
  });
}

/** vanilla-cookieconsent 3.1: UMD build plus its stylesheet, `CookieConsent.run(config)`. */
export function cookieconsentPage() {
  const t = TEXT;
  const config = {
    // Headless Chromium sets navigator.webdriver; the default hides the banner from bots.
    hideFromBots: false,
    guiOptions: {
      consentModal: { layout: 'box', position: 'bottom right', equalWeightButtons: true },
      preferencesModal: { layout: 'box', equalWeightButtons: true },
    },
    categories: {
      necessary: { enabled: true, readOnly: true },
      analytics: {},
      marketing: {},
    },
    language: {
      default: 'ru',
      translations: {
        ru: {
          consentModal: {
            title: t.title,
            description: `${t.description} <a href="/v1/policy/v1/ru.md">${t.policyLink}</a>.`,
            acceptAllBtn: t.acceptAll,
            acceptNecessaryBtn: t.rejectAll,
            showPreferencesBtn: t.settings,
          },
          preferencesModal: {
            title: t.prefsTitle,
            acceptAllBtn: t.acceptAll,
            acceptNecessaryBtn: t.rejectAll,
            savePreferencesBtn: t.save,
            closeIconLabel: 'Закрыть',
            sections: ['necessary', 'analytics', 'marketing'].map((c) => ({
              title: t.categories[c].title,
              description: t.categories[c].description,
              linkedCategory: c,
            })),
          },
        },
      },
    },
  };
  return page({
    title: 'Vivus — vanilla-cookieconsent',
    head: '<link rel="stylesheet" href="lib/cookieconsent/cookieconsent.css">',
    gated: `<script type="text/plain" data-category="marketing">${GATED_CODE}</script>`,
    tail:
      '<script src="lib/cookieconsent/cookieconsent.umd.js"></script>\n' +
      `<script>CookieConsent.run(${JSON.stringify(config)});</script>`,
  });
}

/** Klaro 0.7: `klaro.js` (CSS included) reading the global `klaroConfig`. */
export function klaroPage() {
  const t = TEXT;
  const config = {
    version: 1,
    lang: 'ru',
    storageMethod: 'cookie',
    cookieName: 'klaro',
    default: false,
    mustConsent: false,
    acceptAll: true,
    hideDeclineAll: false,
    groupByPurpose: true,
    htmlTexts: true,
    showNoticeTitle: true,
    translations: {
      ru: {
        privacyPolicyUrl: '/v1/policy/v1/ru.md',
        acceptAll: t.acceptAll,
        decline: t.rejectAll,
        ok: t.acceptAll,
        save: t.save,
        consentNotice: {
          title: t.title,
          description: `${t.description} {privacyPolicy}.`,
          learnMore: t.settings,
        },
        privacyPolicy: { name: t.policyLink, text: `Подробнее — {privacyPolicy}.` },
        consentModal: { title: t.prefsTitle, description: t.description },
        purposes: {
          necessary: { title: t.categories.necessary.title, description: t.categories.necessary.description },
          analytics: { title: t.categories.analytics.title, description: t.categories.analytics.description },
          marketing: { title: t.categories.marketing.title, description: t.categories.marketing.description },
        },
        necessary: { title: t.categories.necessary.title, description: t.categories.necessary.description },
        analytics: { title: t.categories.analytics.title, description: t.categories.analytics.description },
        marketing: { title: t.categories.marketing.title, description: t.categories.marketing.description },
      },
    },
    services: [
      { name: 'necessary', purposes: ['necessary'], required: true },
      { name: 'analytics', purposes: ['analytics'] },
      { name: 'marketing', purposes: ['marketing'] },
    ],
  };
  return page({
    title: 'Vivus — Klaro',
    gated: `<script type="text/plain" data-type="text/javascript" data-name="marketing">${GATED_CODE}</script>`,
    tail:
      `<script>var klaroConfig = ${JSON.stringify(config)};</script>\n` +
      '<script src="lib/klaro/klaro.js"></script>',
  });
}

/**
 * Osano's cookieconsent 3.1: `cookieconsent.min.js` plus its stylesheet,
 * `cookieconsent.initialise(config)` as the package's examples call it (at the end of <body>,
 * not in a `load` listener, like the other libraries here).
 *
 * It keeps one status (allow / deny) and no categories, and blocks nothing itself. Its
 * documentation ("Disabling cookies", cookieconsent.osano.com/documentation/disabling-cookies/)
 * tells integrators to enable cookies in `onInitialise` and `onStatusChange` when
 * `this.options.type == 'opt-in' && this.hasConsented()`, and to disable them in
 * `onRevokeChoice`. That is what this config does: "allow" grants analytics and marketing,
 * and the page's own `grant` activates the `type="text/plain" data-category` scripts of the
 * granted categories (the same markup as cookieconsent's and ours). "Deny" grants nothing.
 */
export function osanoPage() {
  const t = TEXT;
  // The integrator's code, in the page: Osano ships no script blocker.
  const grant = `function grant(categories) {
  document.querySelectorAll('script[type="text/plain"][data-category]').forEach(function (s) {
    if (categories.indexOf(s.getAttribute('data-category')) < 0) return;
    var run = document.createElement('script');
    if (s.src) run.src = s.src; else run.text = s.text;
    s.replaceWith(run);
  });
}`;
  const hook = `function (status) { if (this.options.type == 'opt-in' && this.hasConsented()) grant(['analytics', 'marketing']); }`;
  const config = {
    type: 'opt-in',
    layout: 'basic-header',
    position: 'bottom-right',
    palette: { popup: { background: '#ffffff', text: '#1d2733' }, button: { background: '#0a7d3c', text: '#ffffff' } },
    content: {
      header: t.title,
      message: t.description,
      allow: t.acceptAll,
      deny: t.rejectAll,
      link: t.policyLink,
      href: '/v1/policy/v1/ru.md',
      // The label of the tab that reopens the banner once a choice is made (its only "settings").
      policy: t.settings,
    },
  };
  // The callbacks are functions, so they are spliced into the JSON.
  const json = JSON.stringify(config).replace(/}$/, `,"onInitialise":${hook},"onStatusChange":${hook},"onRevokeChoice":function () { location.reload(); }}`);
  return page({
    title: 'Vivus — Osano cookieconsent',
    head: '<link rel="stylesheet" href="lib/osano/cookieconsent.min.css">',
    gated: `<script type="text/plain" data-category="marketing">${GATED_CODE}</script>`,
    tail:
      '<script src="lib/osano/cookieconsent.min.js"></script>\n' +
      `<script>${grant}\nwindow.cookieconsent.initialise(${json});</script>`,
  });
}

/**
 * Ours: the package entry from pkg/ as a module (it loads the wasm beside it),
 * `init(config)` with the service's JWKS inline, as pkg/README shows it.
 */
export function vivusPage({ entry, config, preload = [], oneTag = false }) {
  if (oneTag) {
    // pkg/README "One tag": no inline script; the entry starts itself with the JSON block's config.
    return page({
      title: 'Vivus — vivus-consent',
      gated: `<script type="text/plain" data-category="marketing">${GATED_CODE}</script>`,
      tail:
        `<script type="application/json" id="vivus-consent-config">${JSON.stringify(config)}</script>\n` +
        `<script type="module" src="${entry}"></script>`,
    });
  }
  return page({
    title: 'Vivus — vivus-consent',
    // Optional hints so the browser fetches the module graph and the wasm while it parses,
    // instead of discovering them one after another (inline module → entry → glue → wasm).
    head: preload
      .map((url) =>
        url.endsWith('.wasm')
          ? `<link rel="preload" href="${url}" as="fetch" type="application/wasm" crossorigin>`
          : `<link rel="modulepreload" href="${url}">`,
      )
      .join('\n'),
    gated: `<script type="text/plain" data-category="marketing">${GATED_CODE}</script>`,
    tail: `<script type="module">import { init } from '${entry}';\ninit(${JSON.stringify(config)});</script>`,
  });
}
