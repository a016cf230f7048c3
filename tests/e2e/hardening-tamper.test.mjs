// Tampering (issue 8, "In the browser"): tokens a visitor or a hostile script could put in
// the cookie or in localStorage never grant a category; a page script using the JS API or
// forging the SDK's events cannot make consent "recorded" without the service; a second
// copy of the SDK does not run tags twice. Complements banner.test.mjs (a payload edited
// under the old signature, another policy digest, expiry, issuer: genuine signatures).

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
  e2e, UI, consentCookie, consentReady, eventually, fillApplication, peekClaims, signAsService, tagRuns,
  watchApplications,
} from './support.mjs';

const h = e2e();

const ALL_INDEX = ['google-analytics', 'yandex-metrika-snippet', 'yandex-metrika', 'google-ads', 'meta-pixel', 'video-embed'];
const b64 = (o) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');
const id22 = () => crypto.randomBytes(16).toString('base64url');

/** Claims the service would sign for "accept all" now. */
async function claims() {
  const policy = await (await h.service.fetch('/v1/policy')).json();
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: 'vivus-consent', sub: id22(), jti: id22(), iat: now, exp: now + 86400,
    pv: policy.version, pd: policy.digest, lang: 'ru', cat: ['necessary', 'analytics', 'marketing'], pa: true,
  };
}

/** The service's current kid (from its JWKS). */
async function serviceKid() {
  return (await (await h.service.fetch('/.well-known/jwks.json')).json()).keys.at(-1);
}

const FORGERIES = {
  'truncated': async (c) => signAsService(h.service, c).slice(0, -12),
  'signed by another Ed25519 key under the service kid': async (c) => {
    const { privateKey } = crypto.generateKeyPairSync('ed25519');
    const input = `${b64({ alg: 'EdDSA', kid: (await serviceKid()).kid, typ: 'JWT' })}.${b64(c)}`;
    return `${input}.${crypto.sign(null, Buffer.from(input), privateKey).toString('base64url')}`;
  },
  'signed by another key with its own kid': async (c) => {
    const { privateKey } = crypto.generateKeyPairSync('ed25519');
    const input = `${b64({ alg: 'EdDSA', kid: 'attacker-key', typ: 'JWT' })}.${b64(c)}`;
    return `${input}.${crypto.sign(null, Buffer.from(input), privateKey).toString('base64url')}`;
  },
  'alg none': async (c) => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(c)}.`,
  'HS256 keyed with the public key (algorithm confusion)': async (c) => {
    const jwk = await serviceKid();
    const input = `${b64({ alg: 'HS256', kid: jwk.kid, typ: 'JWT' })}.${b64(c)}`;
    const mac = (secret) => crypto.createHmac('sha256', secret).update(input).digest('base64url');
    return `${input}.${mac(Buffer.from(jwk.x, 'base64url'))}`;
  },
  'replayed for another policy digest (genuine signature)': async (c) => signAsService(h.service, { ...c, pd: '0'.repeat(64) }),
};

async function expectNothingGranted(page, what) {
  await UI.banner(page).waitFor();
  await consentReady(page);
  await page.waitForLoadState('networkidle');
  const seen = await page.evaluate(() => ({
    marketing: window.demoConsent.has('marketing'),
    analytics: window.demoConsent.has('analytics'),
    status: window.demoConsent.state().status,
  }));
  assert.deepEqual(seen, { marketing: false, analytics: false, status: 'none' }, what);
  const runs = await tagRuns(page);
  assert.deepEqual(ALL_INDEX.filter((n) => runs[n]), [], `${what}: no gated tag ran`);
}

h.test('control: a genuine token signed by the service grants (so the forgeries below could)', async (t) => {
  const token = signAsService(h.service, await claims());
  assert.equal((await h.service.verify(token)).valid, true);
  for (const where of ['cookie', 'localStorage']) {
    const page = await t.open('/');
    if (where === 'cookie') await page.context().addCookies([{ name: 'vivus_consent', value: token, url: h.service.origin }]);
    else await page.evaluate((v) => localStorage.setItem('vivus_consent', v), token);
    await page.reload();
    await consentReady(page);
    await eventually(async () => (await tagRuns(page))['meta-pixel'] === 1, { message: `the tags to run from the ${where}` });
    assert.equal(await page.evaluate(() => window.demoConsent.state().status), 'recorded');
    assert.equal(await UI.banner(page).isVisible(), false);
  }
});

for (const [what, forge] of Object.entries(FORGERIES)) {
  h.test(`a token ${what} grants nothing, in the cookie or in localStorage`, async (t) => {
    const token = await forge(await claims());
    assert.equal((await h.service.verify(token)).valid, false, 'the service refuses it too');
    for (const where of ['cookie', 'localStorage', 'both']) {
      const page = await t.open('/');
      if (where !== 'localStorage') await page.context().addCookies([{ name: 'vivus_consent', value: token, url: h.service.origin }]);
      if (where !== 'cookie') await page.evaluate((v) => localStorage.setItem('vivus_consent', v), token);
      await page.reload();
      await expectNothingGranted(page, `${what} in ${where}`);
    }
  });
}

h.test('a page script cannot make consent recorded: forged events, storage writes, the returned state', async (t) => {
  const page = await t.open('/apply.html');
  await consentReady(page);
  const forged = await FORGERIES['alg none'](await claims());
  const seen = await page.evaluate(async (token) => {
    const c = window.demoConsent;
    document.dispatchEvent(new CustomEvent('vivus-consent:recorded', { detail: { token, consentId: 'x' } }));
    document.dispatchEvent(new CustomEvent('vivus-consent:change', { detail: { categories: ['necessary', 'analytics', 'marketing'] } }));
    localStorage.setItem('vivus_consent', token);
    document.cookie = `vivus_consent=${token}; path=/`;
    window.dispatchEvent(new StorageEvent('storage', { key: 'vivus_consent', newValue: token, storageArea: localStorage }));
    new BroadcastChannel('vivus_consent').postMessage({ token });
    const state = c.state();
    try { state.status = 'recorded'; state.categories = ['necessary', 'analytics', 'marketing']; } catch { /* frozen is fine */ }
    await new Promise((r) => setTimeout(r, 500));
    return { status: c.state().status, marketing: c.has('marketing'), token: c.token() };
  }, forged);
  assert.deepEqual(seen, { status: 'none', marketing: false, token: null });

  // The form gate still asks, and nothing goes out with the forged token.
  const posts = watchApplications(page);
  await fillApplication(page);
  await page.getByRole('button', { name: 'Отправить заявку' }).click();
  await UI.acceptance(page).waitFor();
  await page.waitForTimeout(300);
  assert.equal(posts.requests.length, 0, 'no application left with a forged token');
  assert.deepEqual(await tagRuns(page).then((r) => ALL_INDEX.filter((n) => r[n])), []);
});

h.test('a page script calling the JS API cannot mark consent recorded while the service does not answer', async (t) => {
  const ctx = await t.context();
  const attempts = [];
  await ctx.route('**/v1/consents**', (route) => {
    if (route.request().method() !== 'POST') return route.fallback();
    attempts.push(route.request().url());
    return route.abort('connectionrefused');
  });
  const page = await ctx.newPage();
  await page.goto('/');
  await consentReady(page);
  const posts = watchApplications(page);
  const MARKETING = ['google-ads', 'meta-pixel', 'video-embed'];

  // accept(): only what it names is applied (pending), the rest stays closed.
  const first = await page.evaluate(async () => {
    const c = window.demoConsent;
    c.accept(['analytics']);
    await new Promise((r) => setTimeout(r, 300));
    return { status: c.state().status, token: c.token(), marketing: c.has('marketing') };
  });
  assert.deepEqual(first, { status: 'pending', token: null, marketing: false });
  await page.waitForTimeout(500);
  assert.deepEqual(await tagRuns(page).then((r) => MARKETING.filter((n) => r[n])), [], 'no tag of the ungranted category ran');

  // acceptAll(), then every way the API hands out a token, the script even ticking the box
  // and confirming in the (open) shadow root: nothing resolves with a token.
  const seen = await page.evaluate(async () => {
    const c = window.demoConsent;
    const settle = (p) => Promise.race([
      p.then((v) => ({ resolved: typeof v === 'string' ? v : String(v) }), (e) => ({ rejected: e.code })),
      new Promise((r) => setTimeout(() => r('waiting'), 1500)),
    ]);
    c.acceptAll();
    const asked = c.requestPolicyAcceptance();
    const attached = c.attachToken(new FormData());
    await new Promise((r) => setTimeout(r, 100)); // the dialog opens from a promise job
    const shadow = document.querySelector('vivus-consent').shadowRoot;
    shadow.querySelector('#vc-accept').click();
    shadow.querySelector('[data-vc=confirm]').click();
    const whileOpen = await Promise.all([settle(asked), settle(attached)]);
    // A guarded form submitted from code is held, not sent.
    const form = document.createElement('form');
    form.method = 'post';
    form.action = '/demo/applications';
    form.innerHTML = '<input name="name" value="x"><button type="submit">go</button>';
    document.body.append(form);
    const guarded = c.guardForm(form);
    form.requestSubmit();
    await new Promise((r) => setTimeout(r, 500));
    c.hide();
    const afterClose = await Promise.all([settle(asked), settle(attached)]);
    return { whileOpen, afterClose, guarded, status: c.state().status, token: c.token(), hasToken: !!form.elements.consent_token };
  });
  assert.deepEqual(seen.whileOpen, ['waiting', 'waiting'], 'no token while the service is silent');
  assert.deepEqual(seen.afterClose, [{ rejected: 'acceptance_pending' }, { rejected: 'acceptance_pending' }], 'attachToken and requestPolicyAcceptance reject');
  assert.equal(seen.guarded, true);
  assert.equal(seen.status, 'pending');
  assert.equal(seen.token, null);
  assert.equal(seen.hasToken, false, 'no token was put in the form');
  await page.waitForTimeout(300);
  assert.equal(posts.requests.length, 0, 'the guarded form did not go out');
  assert.ok(attempts.length >= 1, 'the choices were sent to the (unreachable) service');
  assert.equal(await consentCookie(ctx), null);
});

h.test('a second copy of the SDK (other URLs) does not run any tag twice', async (t) => {
  const ctx = await t.context();
  // /pkg2/ serves the same files under other URLs: a second module graph, a second wasm instance.
  await ctx.route('**/pkg2/**', async (route) => {
    const url = route.request().url().replace('/pkg2/', '/pkg/');
    await route.fulfill({ response: await route.fetch({ url }) });
  });
  const page = await ctx.newPage();
  await page.goto('/');
  await consentReady(page);
  const second = await page.evaluate(async () => {
    const other = await import('/pkg2/vivus-consent.js');
    const consent = await other.init({});
    window.secondConsent = consent;
    return consent !== window.demoConsent;
  });
  assert.equal(second, true, 'a separate instance');
  // Two banners now (one per copy); the visitor clicks the one on top.
  await UI.acceptAll(page).last().click();
  await eventually(async () => (await tagRuns(page))['meta-pixel'] >= 1, { message: 'the tags to run' });
  await page.waitForTimeout(1000);
  const runs = await tagRuns(page);
  assert.deepEqual(Object.fromEntries(ALL_INDEX.map((n) => [n, runs[n]])), Object.fromEntries(ALL_INDEX.map((n) => [n, 1])),
    'each tag ran exactly once with two SDK copies');

  // A returning visit with both copies: once again.
  await page.reload();
  await consentReady(page);
  await page.evaluate(async () => (await import('/pkg2/vivus-consent.js')).init({}));
  await page.waitForTimeout(1000);
  const again = await tagRuns(page);
  assert.deepEqual(Object.fromEntries(ALL_INDEX.map((n) => [n, again[n]])), Object.fromEntries(ALL_INDEX.map((n) => [n, 1])));
});
