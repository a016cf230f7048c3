// The SDK on pages other than the demo: the one-tag embed (config in a JSON block, one
// module script), `ui.autoShow: false`, invalid config, and `init` called twice. The
// pages are small fixtures served on the service's origin through request
// interception; the SDK and the service behind them are the real ones.

import assert from 'node:assert/strict';
import { e2e, UI, consentCookie, eventually } from './support.mjs';

const h = e2e();

const page = (head, body = '<main><h1>Магазин</h1><p>Текст страницы.</p></main>') =>
  `<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>Fixture</title>${head}</head><body>${body}</body></html>`;

/** Opens a fixture page at /e2e-fixture/<name>.html on the service's origin. */
async function openFixture(t, name, html, before = () => {}) {
  const ctx = await t.context();
  await ctx.route(`**/e2e-fixture/${name}.html`, (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: html }));
  const p = await ctx.newPage();
  before(p);
  await p.goto(`/e2e-fixture/${name}.html`);
  return p;
}

h.test('one tag: a JSON config block and one module script show the banner and record consent', async (t) => {
  const sizes = new Map();
  const p = await openFixture(t, 'one-tag', page(
    '<script type="application/json" id="vivus-consent-config">{"ui": {"languageSwitch": false}}</script>' +
    '<script type="module" src="/pkg/vivus-consent.js"></script>'), (pg) => pg.on('requestfinished', async (r) => {
    const { pathname } = new URL(r.url());
    if (pathname.startsWith('/pkg/')) sizes.set(pathname, (await r.sizes()).responseBodySize);
  }));
  await UI.banner(p).waitFor();
  assert.equal(await UI.banner(p).getByRole('button', { name: 'Қазақша' }).count(), 0, 'the config was applied');
  await UI.acceptAll(p).click();
  await UI.banner(p).waitFor({ state: 'hidden' });
  const token = await eventually(() => consentCookie(p.context()), { message: 'the consent cookie' });
  assert.equal((await h.service.verify(token)).valid, true);
  // The same instance is reachable from script-tag code.
  assert.equal(await p.evaluate(async () => (await window.VivusConsent.init()).has('marketing')), true);
  t.diagnostic(`one-tag embed transfer before the banner: ${JSON.stringify(Object.fromEntries(sizes))}`);
});

h.test('one tag: data-* attributes alone configure the SDK (language, endpoint, autoShow)', async (t) => {
  const p = await openFixture(t, 'one-tag-attributes', page(
    '<script type="module" src="/pkg/vivus-consent.js" data-lang="kk" data-endpoint="/v1/consents"></script>'));
  await UI.banner(p, 'kk').waitFor();
  assert.equal(await p.evaluate(async () => (await window.VivusConsent.init()).state().language), 'kk',
    'data-lang chose Kazakh although the page is in Russian');
  await UI.acceptAll(p, 'kk').click();
  const token = await eventually(() => consentCookie(p.context()), { message: 'the consent cookie' });
  assert.equal((await h.service.verify(token)).valid, true, 'data-endpoint reached the service');
});

h.test('one tag: data-auto-show="false" keeps the banner hidden; a bad value is reported, not guessed', async (t) => {
  const p = await openFixture(t, 'one-tag-no-autoshow', page(
    '<script type="module" src="/pkg/vivus-consent.js" data-auto-show="false"></script>'));
  await p.waitForFunction(() => window.VivusConsent !== undefined);
  await p.waitForTimeout(300);
  assert.equal(await UI.banner(p).count(), 0);
  const errors = [];
  const q = await openFixture(t, 'one-tag-bad-autoshow', page(
    '<script type="module" src="/pkg/vivus-consent.js" data-auto-show="nope"></script>'),
  (pg) => pg.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); }));
  await eventually(() => errors.find((e) => /data-auto-show/.test(e)), { message: 'an error naming data-auto-show' });
  assert.equal(await UI.banner(q).count(), 0, 'nothing starts from a bad attribute');
});

h.test('ui.autoShow false: no banner until the page calls show()', async (t) => {
  const p = await openFixture(t, 'no-autoshow', page(`<script type="module">
    import { init } from '/pkg/vivus-consent.js';
    window.consent = await init({ ui: { autoShow: false } });
    document.documentElement.dataset.ready = 'yes';
  </script>`));
  await p.waitForFunction(() => document.documentElement.dataset.ready === 'yes');
  await p.waitForTimeout(300);
  assert.equal(await UI.banner(p).count(), 0);
  await p.evaluate(() => window.consent.show());
  await UI.banner(p).waitFor();
});

h.test('an unknown config member is an error naming it, and init can be called again with a fixed config', async (t) => {
  const p = await openFixture(t, 'bad-config', page(`<script type="module">
    import { init } from '/pkg/vivus-consent.js';
    try {
      await init({ ui: { autoshow: false } });
      window.outcome = { ok: true };
    } catch (error) {
      window.outcome = { name: error.name, code: error.code, message: error.message };
    }
    const a = await init({});
    const b = await init({ ui: { autoShow: false } });
    window.same = a === b;
  </script>`));
  await p.waitForFunction(() => window.same !== undefined);
  const outcome = await p.evaluate(() => window.outcome);
  assert.equal(outcome.code, 'invalid_config', JSON.stringify(outcome));
  assert.match(outcome.message, /ui\.autoshow/);
  assert.equal(await p.evaluate(() => window.same), true, 'a second init returns the same consent object');
  await UI.banner(p).waitFor();
});
