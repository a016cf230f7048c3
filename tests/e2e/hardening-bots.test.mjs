// Bots (issue 8, "In the browser"): known crawlers get no banner when ui.hideForBots is on
// (the default), and are never treated as consenting: nothing granted, nothing recorded, the
// loan form still asks. With hideForBots off they see the banner like anyone.
// banner.test.mjs covers Googlebot on the demo page; this adds other crawlers, the state the
// API reports, the form, and the switch.

import assert from 'node:assert/strict';
import { e2e, UI, consentReady, fillApplication, tagRuns } from './support.mjs';

const h = e2e();

const CRAWLERS = {
  YandexBot: 'Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)',
  bingbot: 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
  'Googlebot smartphone': 'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
};

const fixture = (config) => `<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>Bots</title>
<script type="text/plain" data-category="analytics" data-src="/tags/analytics.js"></script>
<script type="application/json" id="vivus-consent-config">${JSON.stringify(config)}</script>
<script type="module" src="/pkg/vivus-consent.js"></script></head><body><main><h1>Страница</h1></main></body></html>`;

for (const [name, userAgent] of Object.entries(CRAWLERS)) {
  h.test(`${name}: no banner, nothing granted or recorded, the form does not go through`, async (t) => {
    const page = await t.open(null, { userAgent });
    const posts = [];
    page.on('request', (r) => { if (r.method() === 'POST') posts.push(new URL(r.url()).pathname); });
    await page.goto('/apply.html');
    await consentReady(page);
    await page.waitForLoadState('networkidle');
    assert.equal(await UI.banner(page).count(), 0, 'no banner');
    const state = await page.evaluate(() => ({
      status: window.demoConsent.state().status,
      analytics: window.demoConsent.has('analytics'),
      marketing: window.demoConsent.has('marketing'),
    }));
    assert.deepEqual(state, { status: 'none', analytics: false, marketing: false }, 'a crawler is not consenting');
    assert.deepEqual(Object.keys(await tagRuns(page)).filter((k) => k !== 'no-marketing-fallback'), []);
    // The loan form is not waved through for a bot either (it gets no dialog: it stays put).
    await fillApplication(page);
    await page.getByRole('button', { name: 'Отправить заявку' }).click();
    await page.waitForTimeout(1000);
    assert.deepEqual(posts, [], 'nothing was posted');
    assert.match(page.url(), /\/apply\.html$/);
  });
}

h.test('hideForBots: false shows crawlers the banner', async (t) => {
  const ctx = await t.context({ userAgent: CRAWLERS.YandexBot });
  await ctx.route('**/e2e-fixture/bots.html', (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: fixture({ ui: { hideForBots: false } }) }));
  await ctx.route('**/e2e-fixture/bots-default.html', (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: fixture({}) }));
  const page = await ctx.newPage();
  await page.goto('/e2e-fixture/bots.html');
  await UI.banner(page).waitFor();
  await page.goto('/e2e-fixture/bots-default.html');
  await page.waitForFunction(() => window.VivusConsent);
  await page.evaluate(() => window.VivusConsent.init());
  await page.waitForTimeout(300);
  assert.equal(await UI.banner(page).count(), 0, 'the default hides it');
  assert.equal(await page.evaluate(() => window.__tagRuns?.['google-analytics'] ?? 0), 0);
});
