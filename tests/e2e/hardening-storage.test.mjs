// Storage that fails (issue 8, "In the browser"): localStorage that throws, is full or is
// missing, cookies disabled, and both (a private mode that keeps nothing). The widget works
// for the page view, the loan form still goes through the service, a choice is remembered
// where any place could keep it, and where none could the visitor is told by the widget
// itself (a status note in their language; the demo pages have no code of their own for it)
// and the site by an `error` event, code `storage`.

import assert from 'node:assert/strict';
import {
  e2e, UI, APPLICANT, TEXT, consentReady, eventually, fillApplication, tagRuns, watchApplications,
} from './support.mjs';

const h = e2e();

const ALL_INDEX = ['google-analytics', 'yandex-metrika-snippet', 'yandex-metrika', 'google-ads', 'meta-pixel', 'video-embed'];
const STORAGE_NOTICE = /Браузер не позволяет запомнить ваш выбор/;
const STORAGE_NOTICE_KK = /Браузер таңдауыңызды есте сақтауға мүмкіндік бермейді/;
/** The widget's own note (in its shadow root), not anything the page drew. */
const widgetNotice = (page, text) => page.locator('vivus-consent').getByRole('status').filter({ hasText: text });

// Page-side breakage, installed before any page script runs.
const breakers = {
  throws: () => Object.defineProperty(window, 'localStorage', {
    configurable: true, get() { throw new DOMException('The operation is insecure.', 'SecurityError'); },
  }),
  full: () => {
    Storage.prototype.setItem = function setItem() { throw new DOMException('The quota has been exceeded.', 'QuotaExceededError'); };
  },
  missing: () => Object.defineProperty(window, 'localStorage', { configurable: true, get: () => null }),
  noCookies: () => Object.defineProperty(Document.prototype, 'cookie', { configurable: true, get: () => '', set: () => {} }),
};

const MODES = {
  'localStorage throws': { breaks: ['throws'], remembered: true },
  'localStorage is full (QuotaExceededError)': { breaks: ['full'], remembered: true },
  'localStorage is missing': { breaks: ['missing'], remembered: true },
  'cookies disabled': { breaks: ['noCookies'], noSetCookie: true, remembered: true },
  'private mode: neither cookies nor localStorage keep anything': { breaks: ['throws', 'noCookies'], noSetCookie: true, remembered: false },
};

async function brokenContext(t, mode) {
  const ctx = await t.context();
  for (const name of mode.breaks) await ctx.addInitScript(breakers[name]);
  await ctx.addInitScript(() => {
    window.__consentErrors = [];
    document.addEventListener('vivus-consent:error', (e) => window.__consentErrors.push(e.detail));
  });
  if (mode.noSetCookie) {
    // A browser with cookies off ignores the service's Set-Cookie as well.
    await ctx.route('**/v1/consents', async (route) => {
      const response = await route.fetch();
      const headers = { ...response.headers() };
      delete headers['set-cookie'];
      await route.fulfill({ response, headers });
    });
  }
  return ctx;
}

const errors = (page) => page.evaluate(() => window.__consentErrors);

for (const [what, mode] of Object.entries(MODES)) {
  h.test(`${what}: the widget works for the page view, ${mode.remembered ? 'the choice is remembered' : 'the visitor is told it cannot be remembered'}`, async (t) => {
    const ctx = await brokenContext(t, mode);
    const page = await ctx.newPage();
    await page.goto('/');
    await UI.banner(page).waitFor();
    await consentReady(page);
    await UI.acceptAll(page).click();
    await UI.banner(page).waitFor({ state: 'hidden' });
    await eventually(async () => (await tagRuns(page))['meta-pixel'] === 1, { message: 'the granted tags on this page' });
    await page.evaluate(() => window.demoConsent.whenRecorded());
    assert.equal(await page.evaluate(() => window.demoConsent.state().status), 'recorded');
    const storageErrors = (await errors(page)).filter((e) => e.code === 'storage');
    if (mode.remembered) {
      assert.deepEqual(storageErrors, [], 'no storage notice when one place kept the token');
      assert.equal(await page.getByText(STORAGE_NOTICE).count(), 0);
    } else {
      assert.equal(storageErrors.length, 1, 'told once');
      assert.match(storageErrors[0].message, STORAGE_NOTICE);
      await widgetNotice(page, STORAGE_NOTICE).waitFor();
      assert.equal(await page.getByText(STORAGE_NOTICE).count(), 1, 'said once, by the widget');
    }
    assert.deepEqual(page.errors.filter((e) => e.startsWith('pageerror')), [], 'no uncaught error');

    await page.reload();
    await consentReady(page);
    await page.waitForLoadState('networkidle');
    assert.equal(await UI.banner(page).isVisible(), !mode.remembered, mode.remembered ? 'no banner: remembered' : 'asked again');
    const runs = await tagRuns(page);
    assert.deepEqual(ALL_INDEX.filter((n) => runs[n]).length, mode.remembered ? ALL_INDEX.length : 0);
  });
}

h.test('private mode in Kazakh: the widget tells the visitor in Kazakh, and the note can be closed', async (t) => {
  const ctx = await brokenContext(t, MODES['private mode: neither cookies nor localStorage keep anything']);
  const page = await ctx.newPage();
  await page.goto('/?lang=kk');
  await consentReady(page);
  await UI.acceptAll(page, 'kk').click();
  const notice = widgetNotice(page, STORAGE_NOTICE_KK);
  await notice.waitFor();
  await notice.getByRole('button', { name: TEXT.kk.close }).click();
  await notice.waitFor({ state: 'detached' });
  await page.waitForTimeout(300);
  assert.equal(await page.getByText(STORAGE_NOTICE_KK).count(), 0, 'closed for good on this page');
});

h.test('private mode: the loan form still goes through the service', async (t) => {
  const ctx = await brokenContext(t, MODES['private mode: neither cookies nor localStorage keep anything']);
  const page = await ctx.newPage();
  await page.goto('/apply.html');
  await consentReady(page);
  const posts = watchApplications(page);
  await fillApplication(page);
  await page.getByRole('button', { name: 'Отправить заявку' }).click();
  const modal = UI.acceptance(page);
  await modal.waitFor();
  await modal.getByRole('checkbox').check();
  await modal.getByRole('button', { name: TEXT.ru.acceptanceConfirm }).click();
  await page.waitForURL('**/demo/applications');
  assert.equal(posts.requests.length, 1);
  assert.deepEqual(posts.responses, [200]);
  assert.equal(posts.requests[0].body.get('iin'), APPLICANT.iin);
  const token = posts.requests[0].body.get('consent_token');
  assert.equal((await h.service.verify(token)).valid, true);
});
