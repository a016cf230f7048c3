// The two stages (issue 7): the first-paint build draws the banner before the SDK's glue and
// wasm are even requested, whatever the visitor does on it meanwhile is carried over when the SDK
// takes over (the choice, the language, keyboard focus), and the hand-over neither flickers
// nor moves the page. The SDK's files are held back with Playwright routing to open the window
// in which only the first stage is there.

import assert from 'node:assert/strict';
import {
  e2e, ENGINES, UI, TEXT, consentReady, eventually, focused, sdk, seeVideo, signAsService, storeToken, tagRuns,
} from './support.mjs';

const h = e2e({ engines: ENGINES });

const SDK_FILES = /\/pkg\/vivus_consent(_bg\.wasm|\.js)$/;
const INDEX_TAGS = ['google-analytics', 'yandex-metrika-snippet', 'yandex-metrika', 'google-ads', 'meta-pixel', 'video-embed'];

/**
 * Opens `path` with the SDK's glue and wasm held back until `release()`; `requested` lists the
 * SDK files the page asked for, in order. Layout shifts are recorded from the first paint.
 */
async function openHeld(t, path, options) {
  const context = await t.context(options);
  let release;
  const gate = new Promise((resolve) => { release = resolve; });
  const requested = [];
  let firstRequestAt = null;
  await context.route(SDK_FILES, async (route) => {
    firstRequestAt ??= Date.now();
    requested.push(new URL(route.request().url()).pathname);
    await gate;
    await route.continue();
  });
  await context.addInitScript(() => {
    window.__shifts = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__shifts.push({ at: e.startTime, value: e.value });
    }).observe({ type: 'layout-shift', buffered: true });
    // When the banner was first seen visible, on the wall clock the test's route handler uses.
    window.__bannerSeenAt = null;
    const look = () => {
      const banner = document.querySelector('vivus-consent')?.shadowRoot?.querySelector('.banner');
      if (banner && banner.getBoundingClientRect().height > 0) {
        window.__bannerSeenAt = performance.timeOrigin + performance.now();
      } else {
        requestAnimationFrame(look);
      }
    };
    requestAnimationFrame(look);
  });
  const page = await context.newPage();
  // Not until `load`: where the SDK's import starts before the load event (Firefox), the held
  // request would hold the event back too.
  await page.goto(path, { waitUntil: 'domcontentloaded' });
  return { page, release, requested, firstRequestAt: () => firstRequestAt };
}

/** The hosts in the page: `boot` for the first stage's, `sdk` for the SDK's. */
function hosts(page) {
  return page.evaluate(() => [...document.querySelectorAll('vivus-consent')]
    .map((h) => (h.hasAttribute('data-vc-boot') ? 'boot' : 'sdk')));
}

h.test('the banner is drawn before the SDK is loaded, and a choice made then is recorded once it is', async (t) => {
  const { page, release, requested, firstRequestAt } = await openHeld(t, '/');
  await UI.banner(page).waitFor();
  assert.deepEqual(await hosts(page), ['boot'], 'the first stage drew the banner');
  // The SDK is asked for only after the frame that showed the banner.
  await eventually(async () => requested.length > 0, { message: 'the SDK to be requested' });
  const seenAt = await page.evaluate(() => window.__bannerSeenAt);
  assert.ok(seenAt !== null && seenAt <= firstRequestAt(),
    `the banner was visible (${seenAt}) before the SDK was requested (${firstRequestAt()}): ${requested}`);
  await page.waitForTimeout(300);
  assert.equal(await page.evaluate(() => document.documentElement.dataset.consent), undefined, 'init has not resolved');

  await UI.acceptAll(page).click();
  await UI.banner(page).waitFor({ state: 'hidden' });
  await page.waitForTimeout(200);
  assert.deepEqual(await tagRuns(page).then((r) => INDEX_TAGS.filter((n) => r[n])), [], 'no tag runs before the SDK records the choice');

  release();
  await consentReady(page);
  assert.deepEqual(await hosts(page), ['sdk'], 'the SDK took the banner over');
  const token = await page.evaluate(() => window.demoConsent.whenRecorded());
  const verdict = await h.service.verify(token);
  assert.equal(verdict.valid, true, JSON.stringify(verdict));
  assert.deepEqual(verdict.claims.cat, ['necessary', 'analytics', 'marketing']);
  await seeVideo(page);
  await eventually(async () => {
    const runs = await tagRuns(page);
    if (INDEX_TAGS.every((n) => runs[n] === 1)) return true;
    throw new Error(JSON.stringify(runs));
  }, { message: 'each gated tag to run once' });
  assert.equal(await UI.banner(page).isVisible(), false, 'the banner stays hidden');
  const history = await h.service.history(token);
  assert.deepEqual(history.records.map((r) => r.source), ['banner'], 'recorded once, as a banner choice');
  assert.deepEqual(page.errors, []);
});

/** Presses "accept all" on the first stage's banner and holds it while the SDK takes over. */
async function pressAcceptAcrossTakeover(t) {
  const { page, release } = await openHeld(t, '/');
  await UI.banner(page).waitFor();
  const box = await UI.acceptAll(page).boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  release();
  await consentReady(page);
  return page;
}

h.test('a press begun on the first stage\'s button and released on the SDK\'s still clicks it', async (t) => {
  const page = await pressAcceptAcrossTakeover(t);
  assert.deepEqual(await hosts(page), ['sdk'], 'the SDK took the banner over while the button was held');
  await page.mouse.up();
  await eventually(async () => (await page.evaluate(() => window.demoConsent.state().status)) === 'recorded',
    { message: 'the held press to count as a click and be recorded' });
  const token = await page.evaluate(() => window.demoConsent.token());
  assert.deepEqual((await h.service.verify(token)).claims.cat, ['necessary', 'analytics', 'marketing']);
  await eventually(async () => (await tagRuns(page))['meta-pixel'] === 1, { message: 'the marketing tag' });
  assert.equal(await UI.banner(page).isVisible(), false);
  const history = await h.service.history(token);
  assert.equal(history.records.length, 1, 'recorded once');
  assert.deepEqual(page.errors, []);
});

h.test('a press begun on the first stage and released away from the button clicks nothing', async (t) => {
  const page = await pressAcceptAcrossTakeover(t);
  await page.mouse.move(5, 5);
  await page.mouse.up();
  await page.waitForTimeout(300);
  assert.equal(await UI.banner(page).isVisible(), true, 'the banner is still there');
  assert.equal(await page.evaluate(() => window.demoConsent.state().status), 'none');
});

h.test('takeover keeps keyboard focus on the same button and moves nothing', async (t) => {
  const { page, release } = await openHeld(t, '/');
  await UI.banner(page).waitFor();
  await UI.rejectAll(page).focus();
  const before = await page.evaluate(() => ({
    padding: document.body.style.paddingBottom,
    box: JSON.stringify(document.querySelector('vivus-consent').shadowRoot.querySelector('.banner').getBoundingClientRect()),
  }));
  assert.match(before.padding, /^\d+px$/, 'the body is padded by the banner height');
  // (The demo page itself shifts once while loading, filling in the calculator.)
  const releasedAt = await page.evaluate(() => performance.now());
  release();
  await consentReady(page);
  assert.deepEqual(await hosts(page), ['sdk']);
  const after = await page.evaluate(() => ({
    padding: document.body.style.paddingBottom,
    box: JSON.stringify(document.querySelector('vivus-consent').shadowRoot.querySelector('.banner').getBoundingClientRect()),
  }));
  assert.deepEqual(after, before, 'same banner box, same body padding');
  const focus = await focused(page);
  assert.equal(focus?.text, TEXT.ru.rejectAll, `focus on the SDK's reject button: ${JSON.stringify(focus)}`);
  assert.equal(await page.evaluate(() => document.activeElement.hasAttribute('data-vc-boot')), false, 'in the SDK\'s host');
  await page.waitForTimeout(200);
  // Layout-shift entries are Chromium's alone; in Firefox and WebKit the same box and padding
  // above are what shows that nothing moved.
  const shifts = (await page.evaluate(() => window.__shifts)).filter((s) => s.at >= releasedAt);
  assert.deepEqual(shifts, [], 'no layout shift from the takeover');

  await page.keyboard.press('Enter');
  await UI.banner(page).waitFor({ state: 'hidden' });
  assert.equal(await sdk(page, 'has', 'marketing'), false, 'the focused button works');
});

h.test('the language switch and the settings button answer before the SDK is there', async (t) => {
  const { page, release } = await openHeld(t, '/');
  await UI.banner(page).waitFor();
  await UI.banner(page).getByRole('button', { name: 'Қазақша' }).click();
  await UI.banner(page, 'kk').waitFor();
  await UI.settings(page, 'kk').click();

  release();
  await consentReady(page);
  await UI.preferences(page, 'kk').waitFor();
  assert.equal(await UI.banner(page, 'kk').isVisible(), true, 'the banner follows the language chosen');
  assert.equal(await sdk(page, 'state').then((s) => s.language), 'kk');
  assert.deepEqual(page.errors, []);
});

h.test('a returning visitor: the first stage is skipped, the SDK starts at once and runs each granted tag once', async (t) => {
  const policy = await (await h.service.fetch('/v1/policy')).json();
  const now = Math.floor(Date.now() / 1000);
  const id = () => Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64url');
  const token = signAsService(h.service, {
    iss: 'vivus-consent', sub: id(), jti: id(), iat: now, exp: now + 86400,
    pv: policy.version, pd: policy.digest, lang: 'ru', cat: ['necessary', 'analytics', 'marketing'], pa: true,
  });
  const page = await t.open('/');
  await storeToken(page, token, h.service.origin);
  let runs = {};
  await page.reload();
  await consentReady(page);
  assert.deepEqual(await hosts(page), [], 'no banner host at all');
  await seeVideo(page);
  // Each granted tag runs (on a busy machine the loaded ones take a moment), then none again.
  await eventually(async () => {
    runs = await tagRuns(page);
    return INDEX_TAGS.every((n) => runs[n] >= 1);
  }, { message: 'every granted tag to run' });
  await page.waitForTimeout(300);
  runs = await tagRuns(page);
  assert.deepEqual(INDEX_TAGS.map((n) => runs[n]), INDEX_TAGS.map(() => 1), JSON.stringify(runs));
  // What the page loaded, from its own resource timing: the HTTP cache's answers included,
  // which a WebDriver engine's proxy never sees.
  const requested = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname));
  assert.ok(requested.includes('/pkg/vivus_consent_bg.wasm'), requested.join(' '));
  assert.ok(!requested.includes('/pkg/vivus_consent_boot_bg.wasm'), 'with consent stored the first stage is not even loaded');
});

h.test('a consent kept in localStorage while document.cookie throws: no banner, not even the first stage\'s for a frame', async (t) => {
  // The entry alone decides whether the first stage draws (it reads the cookie and
  // localStorage, each on its own): a cookie that throws must not hide the token beside it.
  const policy = await (await h.service.fetch('/v1/policy')).json();
  const now = Math.floor(Date.now() / 1000);
  const id = () => Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64url');
  const token = signAsService(h.service, {
    iss: 'vivus-consent', sub: id(), jti: id(), iat: now, exp: now + 86400,
    pv: policy.version, pd: policy.digest, lang: 'ru', cat: ['necessary', 'analytics', 'marketing'], pa: true,
  });
  const context = await t.context();
  await context.addInitScript(() => {
    const refuse = () => { throw new DOMException('The operation is insecure.', 'SecurityError'); };
    Object.defineProperty(Document.prototype, 'cookie', { configurable: true, get: refuse, set: refuse });
    window.__hosts = [];
    new MutationObserver((records) => {
      for (const r of records) {
        for (const n of r.addedNodes) if (n.localName === 'vivus-consent') window.__hosts.push(n.hasAttribute('data-vc-boot') ? 'boot' : 'sdk');
      }
    }).observe(document, { childList: true, subtree: true });
  });
  const page = await context.newPage();
  await page.goto('/');
  await page.evaluate((v) => localStorage.setItem('vivus_consent', v), token);
  await page.reload();
  await consentReady(page);
  // (The demo's tags themselves set cookies, and throw here: the SDK's state is the witness.)
  assert.equal(await page.evaluate(() => window.demoConsent.state().status), 'recorded', 'the stored consent was found');
  assert.equal(await sdk(page, 'has', 'marketing'), true);
  await page.waitForTimeout(300);
  assert.deepEqual(await page.evaluate(() => window.__hosts), [], 'no host was ever added');
  const requested = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname));
  assert.ok(requested.includes('/pkg/vivus_consent_bg.wasm'), requested.join(' '));
  assert.ok(!requested.includes('/pkg/vivus_consent_boot_bg.wasm'), 'the first stage is not even loaded');
});
