// The banner journeys (issue 4, with the tag gating of issue 5): first visit in both
// languages, accept all, reject all (with cookie clean-up), settings from the footer,
// the policy viewer, a tampered token, focus kept in a dialog, and a token under a key the
// service never published. Needs the SDK built into pkg/.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
  e2e, ENGINES, UI, TEXT, TAG_COOKIES, consentCookie, consentReady, eventually, focused, peekClaims,
  recordedToken, seeVideo, settle, signAsService, storeToken, tagCookieNames, tagRuns,
} from './support.mjs';

const h = e2e({ engines: ENGINES });

// The stand-in tags each page carries (www/*.html) and what they count as.
const INDEX_ANALYTICS = ['google-analytics', 'yandex-metrika-snippet', 'yandex-metrika'];
const INDEX_MARKETING = ['google-ads', 'meta-pixel', 'video-embed'];
const ALL_INDEX = [...INDEX_ANALYTICS, ...INDEX_MARKETING];
const FALLBACK = 'no-marketing-fallback'; // data-category="!marketing"

const only = (runs, names) => Object.fromEntries(names.filter((n) => runs[n]).map((n) => [n, runs[n]]));
const ones = (names) => Object.fromEntries(names.map((n) => [n, 1]));

for (const lang of ['ru', 'kk']) {
  h.test(`a first visit shows the banner in ${lang} and runs no optional tag`, async (t) => {
    const page = await t.open(lang === 'kk' ? '/?lang=kk' : '/');
    await UI.banner(page, lang).waitFor();
    for (const button of [UI.acceptAll(page, lang), UI.rejectAll(page, lang), UI.settings(page, lang)]) {
      assert.ok(await button.isVisible(), `${await button.textContent()} is visible`);
    }
    await consentReady(page);
    await settle(page);
    const runs = await tagRuns(page);
    assert.deepEqual(only(runs, ALL_INDEX), {}, 'no analytics or marketing tag before a choice');
    assert.equal(runs[FALLBACK], 1, 'the !marketing fallback runs once while marketing is not granted');
    assert.deepEqual(await tagCookieNames(page.context()), []);
    assert.equal(await consentCookie(page.context()), null);
    assert.equal(await sdkHas(page, 'marketing'), false);
  });
}

async function sdkHas(page, category) {
  return page.evaluate((c) => (window.demoConsent ?? window.VivusConsent).has(c), category);
}

h.test('accept all runs each gated tag exactly once and records a token the service verifies', async (t) => {
  const page = await t.open('/');
  await UI.acceptAll(page).click();
  await seeVideo(page);
  await eventually(async () => {
    const runs = await tagRuns(page);
    if (ALL_INDEX.every((n) => runs[n] >= 1)) return true;
    throw new Error(`missing ${ALL_INDEX.filter((n) => !runs[n]).join(', ')}; ran ${JSON.stringify(runs)}`);
  }, { message: 'every gated tag to run' });
  await UI.banner(page).waitFor({ state: 'hidden' });

  const token = await recordedToken(page);
  const verdict = await h.service.verify(token);
  assert.equal(verdict.valid, true, JSON.stringify(verdict));
  assert.deepEqual(verdict.claims.cat, ['necessary', 'analytics', 'marketing']);
  assert.equal(await page.evaluate(() => localStorage.getItem('vivus_consent')), token, 'the token is mirrored');
  assert.equal(await sdkHas(page, 'marketing'), true);

  await settle(page);
  const runs = await tagRuns(page);
  assert.deepEqual(only(runs, ALL_INDEX), ones(ALL_INDEX), 'each tag ran exactly once');
  assert.equal(runs[FALLBACK], 1, 'the fallback ran before the choice and not again');
  assert.deepEqual(await tagCookieNames(page.context()), ['_fbp', '_ga', '_gcl_au', '_gid', '_ym_d', '_ym_uid']);
  assert.equal(await page.locator('[data-tag-ran="meta-pixel"]').count(), 1, 'the pixel wrote one visible marker');
  assert.equal((await h.service.history(token)).records.length, 1);

  // A returning visitor: no banner, the tags run once on load, no new record.
  await page.reload();
  await consentReady(page);
  await seeVideo(page);
  await settle(page);
  assert.equal(await UI.banner(page).isVisible(), false);
  const again = await tagRuns(page);
  assert.deepEqual(only(again, ALL_INDEX), ones(ALL_INDEX));
  assert.equal(again[FALLBACK], undefined, 'the !marketing fallback does not run once marketing is granted');
  assert.equal(await consentCookie(page.context()), token);
  assert.equal((await h.service.history(token)).records.length, 1);
});

h.test('reject all never runs a tag and deletes the tag cookies on every path', async (t) => {
  const ctx = await t.context();
  const url = h.service.origin;
  await ctx.addCookies([
    ...TAG_COOKIES.map((name) => ({ name, value: 'stale', url })),
    // The same cookie on the page's own path, which a Path=/ deletion does not reach.
    { name: '_fbp', value: 'stale-path', domain: '127.0.0.1', path: '/apply.html' },
    // Not a tag cookie: must survive.
    { name: 'site_theme', value: 'light', url },
  ]);
  const page = await ctx.newPage();
  await page.goto('/apply.html');
  await UI.rejectAll(page).click();
  await UI.banner(page).waitFor({ state: 'hidden' });

  await eventually(async () => (await tagCookieNames(ctx)).length === 0, { message: 'the tag cookies to be deleted' });
  assert.ok((await ctx.cookies()).some((c) => c.name === 'site_theme'), 'other cookies are left alone');
  const token = await recordedToken(page);
  const verdict = await h.service.verify(token);
  assert.equal(verdict.valid, true);
  assert.deepEqual(verdict.claims.cat, ['necessary']);

  await settle(page);
  assert.deepEqual(only(await tagRuns(page), ALL_INDEX), {});
  await page.goto('/');
  await consentReady(page);
  await settle(page);
  assert.equal(await UI.banner(page).isVisible(), false, 'the choice is remembered');
  assert.deepEqual(only(await tagRuns(page), ALL_INDEX), {});
  assert.deepEqual(await tagCookieNames(ctx), []);
});

h.test('a tampered consent token brings the banner back and grants nothing', async (t) => {
  const page = await t.open('/');
  await UI.rejectAll(page).click();
  const token = await recordedToken(page);

  // The visitor edits the stored token to grant marketing, keeping the signature.
  const [header, , signature] = token.split('.');
  const claims = { ...peekClaims(token), cat: ['necessary', 'analytics', 'marketing'] };
  const forged = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
  assert.equal((await h.service.verify(forged)).valid, false, 'the service refuses the forgery');
  await page.context().addCookies([{ name: 'vivus_consent', value: forged, url: h.service.origin }]);
  await page.evaluate((v) => localStorage.setItem('vivus_consent', v), forged);

  await page.reload();
  await UI.banner(page).waitFor();
  await consentReady(page);
  await settle(page);
  assert.deepEqual(only(await tagRuns(page), ALL_INDEX), {}, 'the forged grant runs nothing');
  assert.equal(await sdkHas(page, 'marketing'), false);
});

// Tokens with a genuine signature from the service's own key, but claims that must not
// count: the SDK verifies issuer, expiry and policy digest itself, without the network.
const now = () => Math.floor(Date.now() / 1000);
const STORED = {
  'a re-signed copy of the valid token (control)': (c) => ({ ...c }),
  'an expired token': (c) => ({ ...c, iat: now() - 400 * 86400, exp: now() - 86400 }),
  'a token for another policy version': (c) => ({ ...c, pd: 'ab'.repeat(32) }),
  'a token from another issuer': (c) => ({ ...c, iss: 'someone-else' }),
};
for (const [what, change] of Object.entries(STORED)) {
  const valid = what.includes('control');
  h.test(`${what} ${valid ? 'is accepted' : 'brings the banner back'} on the next visit`, async (t) => {
    const page = await t.open('/');
    await UI.acceptAll(page).click();
    const token = await recordedToken(page);
    const resigned = signAsService(h.service, change(peekClaims(token)));
    assert.equal((await h.service.verify(resigned)).valid, valid, 'the service agrees');
    await storeToken(page, resigned, h.service.origin);

    await page.reload();
    await consentReady(page);
    await settle(page);
    assert.equal(await UI.banner(page).isVisible(), !valid);
    assert.equal(await sdkHas(page, 'marketing'), valid);
    const runs = await tagRuns(page);
    assert.deepEqual(only(runs, INDEX_ANALYTICS.concat('google-ads', 'meta-pixel')),
      valid ? ones(INDEX_ANALYTICS.concat('google-ads', 'meta-pixel')) : {});
  });
}

h.test('a token that expires while the page is open stops granting and brings the banner back', async (t) => {
  const page = await t.open('/');
  await UI.acceptAll(page).click();
  const token = await recordedToken(page);
  const claims = peekClaims(token);
  const expiresIn = 4;
  await storeToken(page, signAsService(h.service, { ...claims, exp: now() + expiresIn }), h.service.origin);

  await page.reload();
  await consentReady(page);
  assert.equal(await sdkHas(page, 'marketing'), true, 'granted while the token holds');
  assert.equal(await UI.banner(page).isVisible(), false);
  await UI.banner(page).waitFor({ timeout: (expiresIn + 5) * 1000 });
  assert.equal(await sdkHas(page, 'marketing'), false, 'nothing is granted once it expired');
  assert.equal(await consentCookie(page.context()), null, 'the expired token is removed');
});

h.test('crawlers get no banner and no tags', { engines: ['chromium'], why: 'a user agent per context needs the DevTools protocol' }, async (t) => {
  const page = await t.open('/', {
    userAgent: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  });
  const posts = [];
  page.on('request', (r) => { if (r.method() === 'POST') posts.push(r.url()); });
  await consentReady(page);
  await settle(page);
  assert.equal(await UI.banner(page).count(), 0);
  assert.deepEqual(only(await tagRuns(page), ALL_INDEX), {});
  assert.deepEqual(posts, [], 'nothing is recorded for a crawler');
});

h.test('Global Privacy Control: the banner says so and the choice carries the signal', async (t) => {
  const ctx = await t.context();
  await ctx.addInitScript(() => Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true }));
  const page = await ctx.newPage();
  const sent = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/v1/consents') sent.push(JSON.parse(r.postData()));
  });
  await page.goto('/');
  await UI.banner(page).getByText(/Global Privacy Control/).waitFor();
  await UI.settings(page).click();
  assert.equal(await UI.categorySwitch(page, 'marketing').isChecked(), false, 'marketing starts unchecked');
  await UI.preferences(page).getByRole('button', { name: TEXT.ru.save }).click();
  await eventually(() => sent.length > 0, { message: 'the consent request' });
  assert.equal(sent[0].gpc, true);
  assert.equal(sent[0].categories.marketing, false);
});

h.test('"Cookie settings" in the footer opens the preferences; saving analytics only runs only analytics tags', async (t) => {
  const page = await t.open('/');
  await page.getByRole('link', { name: 'Настройки cookie' }).click();
  const dialog = UI.preferences(page);
  await dialog.waitFor();
  const analytics = UI.categorySwitch(page, 'analytics');
  const marketing = UI.categorySwitch(page, 'marketing');
  assert.equal(await analytics.isChecked(), false, 'optional categories start off');
  assert.equal(await marketing.isChecked(), false);
  await analytics.click();
  assert.equal(await analytics.isChecked(), true);
  await dialog.getByRole('button', { name: TEXT.ru.save }).click();
  await dialog.waitFor({ state: 'hidden' });

  await eventually(async () => (await tagRuns(page))['google-analytics'] === 1, { message: 'the analytics tag' });
  await settle(page);
  assert.deepEqual(only(await tagRuns(page), ALL_INDEX), ones(INDEX_ANALYTICS));
  const verdict = await h.service.verify(await recordedToken(page));
  assert.deepEqual(verdict.claims.cat, ['necessary', 'analytics']);
  assert.equal(await UI.banner(page).isVisible(), false);

  // Reopened later, the dialog shows the recorded choice.
  await page.getByRole('link', { name: 'Настройки cookie' }).click();
  await dialog.waitFor();
  assert.equal(await UI.categorySwitch(page, 'analytics').isChecked(), true);
  assert.equal(await UI.categorySwitch(page, 'marketing').isChecked(), false);
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
});

const POLICY = {
  ru: { title: 'Политика в отношении обработки персональных данных', section: '1. Цели сбора и обработки персональных данных' },
  kk: { title: 'дербес деректерді өңдеуге қатысты саясаты', section: '1. Дербес деректерді жинау және өңдеу мақсаты' },
};

for (const lang of ['ru', 'kk']) {
  h.test(`the policy viewer shows the full policy in ${lang} and closes with Escape`, async (t) => {
    const page = await t.open(lang === 'kk' ? '/?lang=kk' : '/');
    await UI.policyLink(page, lang).click();
    const viewer = UI.policy(page);
    await viewer.waitFor();
    // The whole structured policy in the page's language: its title, and numbered
    // sections as headings (a screen reader can jump between them), not a summary.
    await viewer.getByRole('heading', { name: POLICY[lang].section }).waitFor();
    assert.ok(await viewer.getByRole('heading').count() >= 9, 'the nine sections are headings');
    const text = await viewer.textContent();
    assert.ok(text.includes(POLICY[lang].title), 'the policy title is shown');
    assert.match(text, /6\.2\./);
    await page.keyboard.press('Escape');
    await viewer.waitFor({ state: 'hidden' });
    assert.ok(await UI.banner(page, lang).isVisible(), 'closing the policy leaves the banner');
  });
}

h.test('a click on the backdrop keeps focus in the dialog, and Tab never reaches the page behind', async (t) => {
  const page = await t.open('/');
  await UI.settings(page).focus();
  await UI.settings(page).press('Enter');
  const dialog = UI.preferences(page);
  await dialog.waitFor();
  // The top left corner is the backdrop (the dialog is centred, at most 640 px wide).
  await page.mouse.click(3, 3);
  const inWidget = async () => (await focused(page))?.inShadow === true;
  assert.ok(await inWidget(), `focus stays in the dialog after the click (on ${JSON.stringify(await focused(page))})`);
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press(i % 3 ? 'Tab' : 'Shift+Tab');
    assert.ok(await inWidget(), `Tab ${i + 1} stays in the dialog (on ${JSON.stringify(await focused(page))})`);
  }
  // A page script focusing its own element while the dialog is open: focus comes back.
  await page.evaluate(() => document.querySelector('a[href], button, input')?.focus());
  assert.ok(await inWidget(), 'focus went back into the dialog');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.equal((await focused(page))?.text, TEXT.ru.settings, 'focus is back on the opener');
});

// A returning visitor's token is verified against the key set as the browser's HTTP cache
// keeps it (hardening-integrity.test.mjs shows no request reaches the service for it); the
// SDK keeps no copy in localStorage, where a page script could plant its own key (issue 15).
async function blockKeySet(page) {
  const tried = [];
  await page.route('**/.well-known/jwks.json', (route) => {
    tried.push(route.request().url());
    return route.abort();
  });
  return tried;
}

// Chromium only: the key set is cached by the browser, and only Playwright's routes bypass
// the HTTP cache; in the WebDriver engines the cached copy answers before the request reaches
// the context's proxy, so "unreachable" cannot be made to hold.
h.test('a token whose key the service never published grants nothing while the key set is unreachable', {
  engines: ['chromium'], why: 'needs a route that bypasses the HTTP cache',
}, async (t) => {
  const page = await t.open('/');
  await UI.acceptAll(page).click();
  const token = await recordedToken(page);

  // The same claims, signed by a key the service never published.
  const { privateKey } = crypto.generateKeyPairSync('ed25519');
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${b64({ alg: 'EdDSA', kid: 'never-published', typ: 'JWT' })}.${b64(peekClaims(token))}`;
  const foreign = `${input}.${crypto.sign(null, Buffer.from(input), privateKey).toString('base64url')}`;
  await storeToken(page, foreign, h.service.origin);

  const tried = await blockKeySet(page);
  await page.reload();
  await consentReady(page);
  await settle(page);
  assert.ok(tried.length > 0, 'the unknown kid made the SDK try to fetch the key set');
  assert.equal(await UI.banner(page).isVisible(), true, 'the banner asks again');
  assert.equal(await sdkHas(page, 'marketing'), false);
});
