// Injection (issue 8, "In the browser"): script and markup payloads fed through every string
// the widget shows that does not come from the SDK itself (the config's service and cookie
// names, data-service and data-src of gated elements, the ?lang= parameter, the policy text
// behind policyUrl, the service's error answers) stay inert: nothing runs, and the payload
// is shown as text (or refused). The fixture page is served on the service's origin by
// request interception; the SDK and the service are the real ones. No CSP here: the SDK
// alone must not turn any of these strings into markup or script.

import assert from 'node:assert/strict';
import { e2e, UI, TEXT, eventually } from './support.mjs';

const h = e2e();

/** A payload that records `tag` in window.__xss if any part of it ever runs. */
const payload = (tag) =>
  `"><img src=x onerror="(window.__xss=window.__xss||[]).push('${tag}')"><svg onload="(window.__xss=window.__xss||[]).push('${tag}')"></svg>` +
  `<script>(window.__xss=window.__xss||[]).push('${tag}')</script>javascript:(window.__xss=window.__xss||[]).push('${tag}')`;

const JS_URL = "javascript:(window.top.__xss=window.top.__xss||[]).push('data-src')";

const CONFIG = {
  policyUrl: '/evil-policy/',
  categories: {
    analytics: { services: [{ name: payload('service-name'), cookies: [payload('cookie-name'), '_ga'] }] },
    marketing: { services: [{ name: payload('marketing-service') }] },
  },
};

const FIXTURE = `<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>Fixture</title>
<script type="application/json" id="vivus-consent-config">${JSON.stringify(CONFIG).replace(/</g, '\\u003c')}</script>
<script type="module" src="/pkg/vivus-consent.js"></script>
</head><body><main><h1>Страница</h1>
<iframe id="named" data-category="marketing" data-service="${payload('data-service').replace(/"/g, '&quot;')}" data-src="/embed/video.html" width="560" height="315" title="video"></iframe>
<iframe id="jsurl" data-category="marketing" data-src="${JS_URL}" width="300" height="150" title="js"></iframe>
<img id="jsimg" data-category="marketing" data-src="${JS_URL}" width="300" height="150" alt="">
<form data-vivus-consent="policy" method="post" action="/demo/applications">
  <button type="submit" name="submit_action" value="apply">Отправить заявку</button>
</form></main></body></html>`;

const POLICY_WITH_HTML = `# Политика ${payload('policy-title')}\n\n## 1. Цели\n\n1.1. Текст ${payload('policy-html')}\n`;
const POLICY_MARKDOWN = `# Политика\n\n## 1. Цели\n\n1.1. [Ссылка](${JS_URL}) и текст &lt;img src=x onerror=alert(1)&gt; javascript:alert(1)\n`;

async function open(t, { policy = POLICY_WITH_HTML, search = '' } = {}) {
  const ctx = await t.context();
  await ctx.route('**/e2e-fixture/inject.html*', (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: FIXTURE }));
  await ctx.route('**/evil-policy/**', (route) => route.fulfill({ contentType: 'text/markdown; charset=utf-8', body: policy }));
  // The first stage draws the banner before the SDK (and its placeholders) is there: wait for `ready`.
  await ctx.addInitScript(() => document.addEventListener('vivus-consent:ready', () => { window.__vcReady = true; }));
  const page = await ctx.newPage();
  await page.goto(`/e2e-fixture/inject.html${search}`);
  await UI.banner(page).waitFor();
  await page.waitForFunction(() => window.VivusConsent && window.__vcReady);
  return page;
}

/** Nothing ran, and no element anywhere (shadow roots included) carries an event handler attribute. */
async function assertInert(page, where) {
  await page.waitForTimeout(300);
  const found = await page.evaluate(() => {
    const handlers = [];
    const walk = (root) => {
      for (const el of root.querySelectorAll('*')) {
        for (const a of el.attributes) if (/^on/i.test(a.name)) handlers.push(`${el.tagName}[${a.name}]`);
        if (/^javascript:/i.test(el.getAttribute('src') ?? '') || /^javascript:/i.test(el.getAttribute('href') ?? '')) {
          handlers.push(`${el.tagName}[src/href=javascript:]`);
        }
        if (el.shadowRoot) walk(el.shadowRoot);
      }
    };
    walk(document);
    return { xss: window.__xss ?? [], handlers };
  });
  assert.deepEqual(found.xss, [], `${where}: a payload ran`);
  assert.deepEqual(found.handlers, [], `${where}: markup from a payload was created`);
}

h.test('config service and cookie names are shown as text in the settings dialog', async (t) => {
  const page = await open(t);
  await assertInert(page, 'banner');
  await UI.settings(page).click();
  const dialog = UI.preferences(page);
  await dialog.waitFor();
  // Service lists may be collapsed: open every disclosure in the dialog.
  for (const d of await dialog.locator('details:not([open]) > summary').all()) await d.click().catch(() => {});
  const text = await dialog.textContent();
  for (const tag of ['service-name', 'cookie-name', 'marketing-service']) {
    assert.ok(text.includes(`<img src=x onerror="(window.__xss=window.__xss||[]).push('${tag}')">`), `${tag} is shown as text`);
  }
  await assertInert(page, 'settings dialog');
});

h.test('data-service is shown as text in the placeholder; javascript: data-src never becomes a src', async (t) => {
  const page = await open(t);
  const placeholder = await page.evaluate(() => {
    const texts = [];
    const walk = (root) => {
      for (const el of root.querySelectorAll('*')) if (el.shadowRoot) { texts.push(el.shadowRoot.textContent); walk(el.shadowRoot); }
    };
    walk(document);
    return texts.join(' | ');
  });
  assert.ok(placeholder.includes(`<img src=x onerror="(window.__xss=window.__xss||[]).push('data-service')">`),
    `the placeholder names the service as text: ${placeholder.slice(0, 300)}`);
  await UI.acceptAll(page).click();
  await eventually(() => page.evaluate(() => document.getElementById('named').getAttribute('src') === '/embed/video.html'),
    { message: 'the named iframe to load' });
  await page.waitForTimeout(500);
  const srcs = await page.evaluate(() => [document.getElementById('jsurl').getAttribute('src'), document.getElementById('jsimg').getAttribute('src')]);
  assert.deepEqual(srcs, [null, null], 'a javascript: data-src is not activated');
  await assertInert(page, 'after granting marketing');
});

h.test('the ?lang= parameter cannot inject: the banner falls back to Russian', async (t) => {
  const page = await open(t, { search: `?lang=${encodeURIComponent(payload('lang'))}` });
  await assertInert(page, 'banner with a hostile ?lang=');
  assert.ok(await UI.acceptAll(page).isVisible());
});

// The SDK's policy parser rejects raw HTML outright (the viewer says the policy could not be
// loaded); plain markdown is shown as text, a link to javascript: included.
const SHOWN = {
  'raw HTML': (text) => /Не удалось загрузить Политику/.test(text) && !text.includes('onerror'),
  'a javascript: link and escaped markup': (text) => text.includes('&lt;img src=x onerror=alert(1)&gt;'),
};
for (const [what, policy] of [['raw HTML', POLICY_WITH_HTML], ['a javascript: link and escaped markup', POLICY_MARKDOWN]]) {
  h.test(`a policy text with ${what} (policyUrl) is refused or shown as text, never run`, async (t) => {
    const page = await open(t, { policy });
    await UI.policyLink(page).click();
    const viewer = UI.policy(page);
    await viewer.waitFor();
    await page.waitForTimeout(800);
    await assertInert(page, 'policy viewer');
    const text = await viewer.textContent();
    assert.ok(SHOWN[what](text), `viewer shows: ${text.replace(/\s+/g, ' ').slice(0, 300)}`);
    const links = await viewer.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    assert.ok(links.every((href) => !/^\s*javascript:/i.test(href ?? '')), `no javascript: link: ${links}`);
  });
}

h.test('the service answering with markup in its error code and message shows the SDK\'s own text', async (t) => {
  const ctx = await t.context();
  await ctx.route('**/e2e-fixture/inject.html*', (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: FIXTURE }));
  await ctx.route('**/v1/consents', (route) => (route.request().method() === 'POST'
    ? route.fulfill({ status: 400, contentType: 'application/json', body: JSON.stringify({ code: payload('error-code'), message: payload('error-message') }) })
    : route.fallback()));
  const page = await ctx.newPage();
  await page.goto('/e2e-fixture/inject.html');
  await page.waitForFunction(() => window.VivusConsent);
  await page.getByRole('button', { name: 'Отправить заявку' }).click();
  const modal = UI.acceptance(page);
  await modal.waitFor();
  await modal.getByRole('checkbox').check();
  await modal.getByRole('button', { name: TEXT.ru.acceptanceConfirm }).click();
  await modal.getByText(/Сервис согласий не принял запрос/).waitFor();
  assert.ok(!(await modal.textContent()).includes('onerror'), 'the service\'s text is not shown at all');
  await assertInert(page, 'acceptance dialog with a hostile error answer');
});
