// The gates of issue 5 beyond the banner: Google Consent Mode order, tags added
// after init, the gated video embed, the !marketing fallback, and withdrawal from
// the "My consents" page. Needs the SDK (and pkg/consent-mode.js) built into pkg/.

import assert from 'node:assert/strict';
import {
  e2e, UI, consentCookie, consentReady, eventually, settle, tagCookieNames, tagRuns,
} from './support.mjs';

const h = e2e();


// dataLayer entries as plain data: gtag() pushes `arguments` objects, which
// serialise as {"0": "consent", "1": "default", "2": {...}}.
function dataLayer(page) {
  return page.evaluate(() => (window.dataLayer ?? []).map((e) =>
    (e && typeof e === 'object' && '0' in e && !Array.isArray(e)) ? { gtag: Array.from(e) } : e));
}

h.test('Consent Mode: defaults are denied before any tag, and the choice is sent as an update', async (t) => {
  const page = await t.open('/');
  await consentReady(page);
  let layer = await dataLayer(page);
  const first = layer.findIndex((e) => e.gtag?.[0] === 'consent' && e.gtag[1] === 'default');
  assert.ok(first >= 0, `a consent default command is in dataLayer: ${JSON.stringify(layer)}`);
  const defaults = layer[first].gtag[2];
  for (const key of ['ad_storage', 'ad_user_data', 'ad_personalization', 'analytics_storage']) {
    assert.equal(defaults[key], 'denied', `${key} defaults to denied`);
  }
  assert.ok(defaults.wait_for_update > 0, 'wait_for_update gives the SDK time to answer');
  assert.ok(!layer.slice(0, first).some((e) => e.tag), 'no tag event before the defaults');

  // Before any choice the SDK may confirm the defaults with an update; what matters is
  // that nothing is granted yet.
  for (const e of layer.filter((x) => x.gtag?.[1] === 'update')) {
    assert.equal(e.gtag[2].ad_storage, 'denied', 'nothing is granted before a choice');
  }
  const beforeClick = layer.length;
  await UI.acceptAll(page).click();
  await eventually(async () => (await tagRuns(page))['google-analytics'] === 1, { message: 'the analytics tag' });
  layer = await dataLayer(page);
  const update = layer.findIndex((e, i) => i >= beforeClick && e.gtag?.[0] === 'consent' && e.gtag[1] === 'update');
  assert.ok(update > first, 'the choice is sent as an update after the defaults');
  const granted = layer[update].gtag[2];
  for (const key of ['ad_storage', 'ad_user_data', 'ad_personalization', 'analytics_storage']) {
    assert.equal(granted[key], 'granted', `${key} is granted after accept all`);
  }
  const firstTag = layer.findIndex((e) => e && e.tag);
  assert.ok(update < firstTag, 'the update reaches dataLayer before the tags run');
  const event = layer.find((e) => e && e.event === 'vivus_consent_update');
  assert.ok(event, 'a vivus_consent_update event for GTM triggers');

  // What the GA stand-in saw when it ran: consent granted.
  const log = await page.evaluate(() => window.__tagLog);
  assert.equal(log.find((l) => l.tag === 'google-analytics').consent.analytics_storage, 'granted');

  // A returning visitor: the update comes from the stored token, before the tags.
  await page.reload();
  await consentReady(page);
  await settle(page);
  layer = await dataLayer(page);
  const d = layer.findIndex((e) => e.gtag?.[1] === 'default');
  const u = layer.findIndex((e) => e.gtag?.[1] === 'update' && e.gtag[2].analytics_storage === 'granted');
  const tag = layer.findIndex((e) => e && e.tag);
  assert.ok(d >= 0 && d < u && u < tag, `default < granted update < first tag: ${d}, ${u}, ${tag}`);
});

h.test('a returning visitor: the tags still queued when the runtime takes over from the returning stage run, in order, once', async (t) => {
  const ctx = await t.context();
  const page = await ctx.newPage();
  await page.goto('/');
  await consentReady(page);
  await UI.acceptAll(page).click();
  await eventually(async () => (await tagRuns(page))['meta-pixel'] === 1, { message: 'the tags after the choice' });
  await settle(page);

  // On the next visit the returning stage activates the Google Ads tag (an ordered external
  // script) and queues the Meta Pixel behind it; the Ads script is held until the runtime has
  // started and taken the page over.
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  await ctx.route('**/tags/ads.js', async (route) => { await held; return route.fallback(); });
  await page.reload();
  await consentReady(page);
  await page.waitForTimeout(300);
  assert.equal((await tagRuns(page))['meta-pixel'], undefined, 'the Meta Pixel waits for the Ads tag before it');
  release();
  await eventually(async () => (await tagRuns(page))['meta-pixel'] === 1, { message: 'the Meta Pixel after the Ads tag' });
  await settle(page);
  const log = (await page.evaluate(() => window.__tagLog)).map((l) => l.tag);
  assert.ok(log.indexOf('google-ads') < log.indexOf('meta-pixel'), `in document order: ${log.join(', ')}`);
  const runs = await tagRuns(page);
  assert.deepEqual([runs['google-ads'], runs['meta-pixel']], [1, 1], 'each once');
});

h.test('a gated script added after init runs once its category is granted, and never twice', async (t) => {
  const page = await t.open('/consents.html');
  await consentReady(page);
  const inject = () => page.evaluate(() => {
    const s = document.createElement('script');
    s.type = 'text/plain';
    s.dataset.category = 'marketing';
    s.dataset.src = '/tags/ads.js';
    s.dataset.service = 'Google Ads';
    document.body.append(s);
  });
  await inject();
  await settle(page);
  assert.equal((await tagRuns(page))['google-ads'], undefined, 'not before consent');
  await UI.acceptAll(page).click();
  await eventually(async () => (await tagRuns(page))['google-ads'] === 1, { message: 'the late tag' });
  await inject();
  await eventually(async () => (await tagRuns(page))['google-ads'] === 2, { message: 'a second, separate tag element' });
  await settle(page);
  assert.equal((await tagRuns(page))['google-ads'], 2, 'each element runs exactly once');
});

h.test('the video embed stays a placeholder until marketing is granted, then loads once', async (t) => {
  const page = await t.open('/');
  await consentReady(page);
  const frame = page.locator('iframe[data-category="marketing"]');
  await settle(page);
  assert.equal(await frame.getAttribute('src'), null);
  assert.equal((await tagRuns(page))['video-embed'], undefined);

  await UI.acceptAll(page).click();
  await eventually(async () => (await tagRuns(page))['video-embed'] === 1, { message: 'the embedded player to load' });
  assert.equal(await frame.getAttribute('src'), '/embed/video.html');
  await page.frameLocator('iframe[data-category="marketing"]').getByRole('button', { name: /Смотреть видео/ }).waitFor();
  await settle(page);
  assert.equal((await tagRuns(page))['video-embed'], 1);
});

h.test('withdrawing marketing on "My consents" deletes marketing cookies, keeps analytics, and records it', async (t) => {
  const page = await t.open('/');
  await UI.acceptAll(page).click();
  await eventually(async () => (await tagCookieNames(page.context())).includes('_fbp'), { message: 'the pixel cookie' });

  await page.goto('/consents.html');
  await page.waitForFunction(() => document.documentElement.dataset.consentsPage === 'ready');
  assert.equal(await page.locator('#history tbody tr').count(), 1);
  assert.equal(await page.locator('.chip[data-category="marketing"]').getAttribute('data-granted'), 'true');

  await page.getByRole('button', { name: 'Отозвать согласие на маркетинг' }).click();
  await page.getByText('Согласие отозвано и записано в журнал.').waitFor();
  await eventually(async () => (await page.locator('#history tbody tr').count()) === 2, { message: 'the withdrawal in the history' });
  // The ledger keeps it as a withdrawal (POST /v1/consents/{id}/withdraw), newest first.
  assert.match(await page.locator('#history tbody tr').first().textContent(), /Отзыв/);
  assert.equal(await page.locator('.chip[data-category="marketing"]').getAttribute('data-granted'), 'false');
  assert.equal(await page.locator('.chip[data-category="analytics"]').getAttribute('data-granted'), 'true');

  const cookies = await tagCookieNames(page.context());
  assert.ok(!cookies.includes('_fbp') && !cookies.includes('_gcl_au'), `marketing cookies are gone: ${cookies}`);
  assert.ok(cookies.includes('_ga'), 'analytics cookies stay');
  const verdict = await h.service.verify(await consentCookie(page.context()));
  assert.equal(verdict.valid, true);
  assert.deepEqual(verdict.claims.cat, ['necessary', 'analytics']);

  // The next page load runs analytics but not marketing, and the fallback again.
  await page.goto('/');
  await consentReady(page);
  await settle(page);
  const runs = await tagRuns(page);
  assert.equal(runs['google-analytics'], 1);
  assert.equal(runs['meta-pixel'], undefined);
  assert.equal(runs['no-marketing-fallback'], 1);
});

// cleanup.reload: a page whose running tags must stop when their category is revoked.
const RELOAD_FIXTURE = `<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>Перезагрузка</title>
<script type="text/plain" data-category="marketing" data-src="/tags/pixel.js"></script>
<script type="application/json" id="vivus-consent-config">${JSON.stringify({ cleanup: { reload: true } })}</script>
<script type="module" src="/pkg/vivus-consent.js"></script>
</head><body><main><h1>Перезагрузка</h1></main></body></html>`;

h.test('cleanup.reload: withdrawing a category granted on this page reloads it once; granting or refusing what never ran does not', async (t) => {
  const ctx = await t.context();
  let loads = 0;
  await ctx.route('**/e2e-fixture/reload.html', (route) => {
    loads += 1;
    return route.fulfill({ contentType: 'text/html; charset=utf-8', body: RELOAD_FIXTURE });
  });
  const page = await ctx.newPage();
  await page.goto('/e2e-fixture/reload.html');
  const consent = () => page.evaluate(async () => { await window.VivusConsent.init(); });
  await page.waitForFunction(() => window.VivusConsent);
  await consent();
  // Refusing on a fresh page revokes nothing that ran: no reload.
  await page.evaluate(async () => (await window.VivusConsent.init()).rejectAll());
  await page.evaluate(async () => (await window.VivusConsent.init()).acceptAll());
  await eventually(async () => (await tagRuns(page))['meta-pixel'] === 1, { message: 'the pixel ran after the grant' });
  await eventually(async () => (await page.evaluate(async () => (await window.VivusConsent.init()).state().status)) === 'recorded',
    { message: 'the grant recorded' });
  await page.waitForTimeout(300);
  assert.equal(loads, 1, 'neither the refusal of nothing running nor the grant reloads');

  // The withdrawal revokes marketing, whose pixel is running: the page reloads.
  const reloaded = page.waitForEvent('load');
  await page.evaluate(async () => (await window.VivusConsent.init()).withdraw(['marketing']));
  await reloaded;
  await page.waitForFunction(() => window.VivusConsent);
  await consent();
  await settle(page);
  assert.equal(loads, 2, 'reloaded exactly once');
  assert.equal((await tagRuns(page))['meta-pixel'], undefined, 'after the reload the pixel does not run');
  assert.ok(!(await tagCookieNames(ctx)).includes('_fbp'), 'its cookie is gone');
  const state = await page.evaluate(async () => (await window.VivusConsent.init()).state());
  assert.ok(!state.categories.includes('marketing'), JSON.stringify(state));
});
