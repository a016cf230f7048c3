// The three stages (issue 12): a returning visitor's page view loads the entry and the runtime
// only; the interactive stage (vivus_consent_ui*: widget, dialogs, acceptance dialog, the
// recorder, Ed25519 in wasm) comes when the visitor first needs it — settings, the loan form
// without a recorded acceptance, a withdrawal to record, a browser whose WebCrypto lacks
// Ed25519 — and what the visitor does while it loads (clicks, keys, submits) is carried out
// once it is there, exactly once. Stages are held back with Playwright routing; what a page
// view loaded is read from the network (page.on('request')) and the page's resource timing.

import assert from 'node:assert/strict';
import {
  e2e, UI, SITE, TEXT, APPLICANT, acceptInModal, consentCookie, consentReady, eventually, fillApplication, focused,
  peekClaims, recordedToken, sdk, storeToken, tagCookieNames, tagRuns, watchApplications,
} from './support.mjs';

const h = e2e();

/** The gated tags of index.html, by the name each stand-in counts its runs under. */
const INDEX_TAGS = ['google-analytics', 'yandex-metrika-snippet', 'yandex-metrika', 'google-ads', 'meta-pixel', 'video-embed'];
const ALL = ['necessary', 'analytics', 'marketing'];

/** Which stage a request of pkg/ belongs to (null for anything else). */
function stageOf(url) {
  const file = new URL(url).pathname.match(/^\/pkg\/([^/]+)$/)?.[1];
  if (file === 'vivus-consent.js') return 'entry';
  if (/^vivus_consent_ui(_bg\.wasm|\.js)$/.test(file)) return 'ui';
  if (/^vivus_consent_boot(_bg\.wasm|\.js)$/.test(file)) return 'boot';
  if (/^vivus_consent_returning(_bg\.wasm|\.js)$/.test(file)) return 'returning';
  if (/^vivus_consent(_bg\.wasm|\.js)$/.test(file)) return 'runtime';
  return null;
}

/** The requests a valve holds right now: `quiet` does not wait for them. */
const HELD = new WeakSet();

/**
 * A valve on the requests for `pattern` in `context`: open at first; after `hold()` the
 * requests wait until `release()`; `failNext(n)` makes the next n fail as a network error
 * would. `seen` lists every request's path; `waiting` how many are held now. (Routing also
 * disables the HTTP cache, so every page view really asks.)
 */
async function valve(context, pattern) {
  let open = null;
  let failing = 0;
  const v = {
    seen: [],
    waiting: 0,
    held: null,
    hold() { v.held ??= new Promise((resolve) => { open = resolve; }); },
    release() { open?.(); v.held = null; },
    failNext(n) { failing = n; },
  };
  await context.route(pattern, async (route) => {
    v.seen.push(new URL(route.request().url()).pathname);
    if (failing > 0) {
      failing -= 1;
      return route.abort('internetdisconnected');
    }
    const held = v.held;
    if (held) {
      v.waiting += 1;
      HELD.add(route.request());
      await held;
      HELD.delete(route.request());
      v.waiting -= 1;
    }
    await route.fallback();
  });
  return v;
}

/** A new page of `context` that keeps its requests in flight, for `quiet(page)`. */
async function newPage(context) {
  const page = await context.newPage();
  page.inflight = new Set();
  page.on('request', (r) => page.inflight.add(r));
  for (const done of ['requestfinished', 'requestfailed']) page.on(done, (r) => page.inflight.delete(r));
  return page;
}

/**
 * Waits until the page has had no request in flight for `ms`, those a valve holds excepted.
 * Used before asserting that something did NOT happen (a POST, a stage loaded, a tag run):
 * whatever the page was about to request by then, it has requested and finished.
 */
async function quiet(page, { ms = 300, timeout = 10_000 } = {}) {
  const deadline = Date.now() + timeout;
  let calmSince = Date.now();
  for (;;) {
    const busy = [...page.inflight].filter((r) => !HELD.has(r));
    if (busy.length) calmSince = Date.now();
    else if (Date.now() - calmSince >= ms) return;
    if (Date.now() > deadline) throw new Error(`the page never went quiet: ${busy.map((r) => r.url())}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The pkg/ stage files a page asks for, in order, from now on: `[{ stage, path }]`. */
function watchStages(page) {
  const seen = [];
  page.on('request', (r) => {
    const stage = stageOf(r.url());
    if (stage) seen.push({ stage, path: new URL(r.url()).pathname });
  });
  return seen;
}

/** The POSTs the page makes to `pathname` (a string, or a RegExp on the path). */
function watchPosts(page, pathname) {
  const seen = [];
  page.on('request', (r) => {
    const p = new URL(r.url()).pathname;
    if (r.method() === 'POST' && (typeof pathname === 'string' ? p === pathname : pathname.test(p))) {
      seen.push({ path: p, body: r.postData(), bearer: r.headers().authorization ?? null });
    }
  });
  return seen;
}

/** The stage files this document loaded, by its own resource timing (cache hits included). */
function loadedStages(page) {
  return page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name))
    .then((names) => [...new Set(names.map(stageOf).filter(Boolean))].sort());
}

/** Records every `vivus-consent:*` event of the document with the status at that moment. */
async function recordEvents(context) {
  await context.addInitScript(() => {
    window.__vcEvents = [];
    for (const name of ['ready', 'change', 'recorded', 'error']) {
      document.addEventListener(`vivus-consent:${name}`, (e) => {
        window.__vcEvents.push({ name, status: window.demoConsent?.state().status ?? e.detail?.status ?? null, detail: e.detail });
      });
    }
  });
}
const events = (page, name) => page.evaluate((n) => window.__vcEvents.filter((e) => !n || e.name === n), name);

/** The widget's dialogs that are shown, with whether focus is inside each. */
function openDialogs(page) {
  return page.evaluate(() => {
    const roots = [...document.querySelectorAll('vivus-consent')].map((host) => host.shadowRoot).filter(Boolean);
    return roots.flatMap((root) => [...root.querySelectorAll('[role=dialog]')]
      .filter((d) => d.checkVisibility())
      .map((d) => ({
        label: d.getAttribute('aria-label') ?? root.getElementById(d.getAttribute('aria-labelledby'))?.textContent ?? '',
        focusInside: !!root.activeElement && d.contains(root.activeElement),
      })));
  });
}

/** Runs of the gated tags of index.html, only those that ran. */
async function ranTags(page) {
  const runs = await tagRuns(page);
  return Object.fromEntries(INDEX_TAGS.filter((n) => runs[n]).map((n) => [n, runs[n]]));
}

/** First visit on `path`: a banner button ("accept" or "reject"), and the token once recorded. */
async function firstVisitChoice(page, path, button) {
  await page.goto(path);
  await (button === 'accept' ? UI.acceptAll(page) : UI.rejectAll(page)).click();
  return recordedToken(page);
}

const footerSettings = (page) => page.locator('footer').getByRole('link', { name: SITE.ru.footerSettings, exact: true });

// ---- 1. the returning visitor's page view --------------------------------------------------

h.test('a returning visitor loads the entry, the returning stage and the runtime only: granted tags run and ready fires without the interactive stage', async (t) => {
  const context = await t.context();
  await recordEvents(context);
  const page = await newPage(context);
  const token = await firstVisitChoice(page, '/', 'accept');
  assert.deepEqual(peekClaims(token).cat, ALL);

  const stages = watchStages(page);
  await page.reload();
  await consentReady(page);
  await eventually(async () => {
    const ran = await ranTags(page);
    if (INDEX_TAGS.every((n) => ran[n] === 1)) return true;
    throw new Error(JSON.stringify(ran));
  }, { message: 'each granted tag to run once' });
  await quiet(page);

  const ready = await events(page, 'ready');
  assert.equal(ready.length, 1, `ready fired once: ${JSON.stringify(ready)}`);
  assert.deepEqual(ready[0].detail, { categories: ALL, status: 'recorded' });
  assert.equal(await sdk(page, 'token'), token, 'the stored token is the one in effect');

  const asked = stages.map((s) => s.path);
  assert.deepEqual([...new Set(asked)].sort(), ['/pkg/vivus-consent.js', '/pkg/vivus_consent.js', '/pkg/vivus_consent_bg.wasm',
    '/pkg/vivus_consent_returning.js', '/pkg/vivus_consent_returning_bg.wasm'],
    `the page view asks for the entry, the returning stage's and the runtime's glue and wasm, nothing else of pkg/: ${asked}`);
  assert.equal(asked.length, 5, `each once: ${asked}`);
  const order = stages.map((s) => s.stage);
  assert.ok(order.lastIndexOf('returning') < order.indexOf('runtime'),
    `the returning stage (which runs the granted tags) before the runtime: ${order}`);
  assert.deepEqual(await loadedStages(page), ['entry', 'returning', 'runtime'], 'nor did the document load another stage from a cache');
  assert.equal(await page.locator('vivus-consent').count(), 0, 'no widget host at all');
  assert.deepEqual(page.errors, []);
});

// ---- 2. settings opened from the footer while the stage loads ------------------------------

h.test('"Cookie settings" loads the interactive stage on demand: two clicks and Enter while it loads open one dialog, focused', async (t) => {
  const context = await t.context();
  const ui = await valve(context, '**/pkg/vivus_consent_ui_bg.wasm');
  const page = await newPage(context);
  const token = await firstVisitChoice(page, '/', 'accept');
  await eventually(async () => (await tagCookieNames(context)).includes('_fbp'), { message: 'the pixel cookie' });

  ui.hold();
  const stages = watchStages(page);
  const consents = watchPosts(page, /^\/v1\/consents/);
  await page.reload();
  await consentReady(page);
  await quiet(page);
  assert.deepEqual(stages.filter((s) => s.stage === 'ui'), [], 'the page view does not load the interactive stage');

  // Count the activations of the opener the page sees.
  await page.evaluate(() => {
    window.__openerActivations = 0;
    document.addEventListener('click', (e) => {
      if (e.target.closest?.('[data-vivus-consent-open="preferences"]')) window.__openerActivations += 1;
    }, true);
  });
  const link = footerSettings(page);
  await link.click();
  await eventually(() => ui.waiting === 1, { message: 'the interactive stage to be requested (and held)' });
  await link.click();
  assert.equal((await focused(page))?.text, SITE.ru.footerSettings, 'the clicked link has focus');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => window.__openerActivations), 3, 'two clicks and Enter reached the opener');
  assert.deepEqual(await openDialogs(page), [], 'nothing opens before the stage is there');
  assert.equal(ui.waiting, 1, 'one request for the stage, however often the visitor asks');

  ui.release();
  await UI.preferences(page).waitFor();
  await quiet(page);
  const dialogs = await openDialogs(page);
  assert.equal(dialogs.length, 1, `exactly one dialog: ${JSON.stringify(dialogs)}`);
  assert.equal(dialogs[0].focusInside, true, 'focus is in the dialog');
  assert.deepEqual(stages.filter((s) => s.stage === 'ui').map((s) => s.path).sort(),
    ['/pkg/vivus_consent_ui.js', '/pkg/vivus_consent_ui_bg.wasm'], 'the stage was loaded once');
  assert.equal(await UI.categorySwitch(page, 'marketing').isChecked(), true, 'the dialog shows the recorded choice');
  assert.equal(await UI.banner(page).isVisible(), false, 'no banner for a recorded visitor');
  assert.deepEqual(consents, [], 'opening settings records nothing');

  // Escape closes it, and no second dialog was stacked behind it; focus goes back to the link.
  await page.keyboard.press('Escape');
  await UI.preferences(page).waitFor({ state: 'hidden' });
  assert.deepEqual(await openDialogs(page), [], 'no second dialog was behind it');
  assert.equal((await focused(page))?.text, SITE.ru.footerSettings, 'focus is back on the link');
  await quiet(page);
  assert.deepEqual(await openDialogs(page), [], 'and none opens late');

  // Now the stage is there: the link opens the dialog at once, and the dialog works: marketing
  // off, saved, recorded once from the preferences.
  await link.click();
  await UI.preferences(page).waitFor();
  assert.equal(stages.filter((s) => s.stage === 'ui').length, 2, 'the stage is not loaded again');
  await UI.categorySwitch(page, 'marketing').click();
  await UI.preferences(page).getByRole('button', { name: TEXT.ru.save }).click();
  await UI.preferences(page).waitFor({ state: 'hidden' });
  const saved = await eventually(async () => {
    const now = await sdk(page, 'token');
    return now && now !== token ? now : null;
  }, { message: 'the new choice recorded' });
  assert.equal(consents.length, 1, `one POST for one save: ${consents.map((c) => c.path)}`);
  const verdict = await h.service.verify(saved);
  assert.equal(verdict.valid, true, JSON.stringify(verdict));
  assert.deepEqual(verdict.claims.cat, ['necessary', 'analytics']);
  const history = await h.service.history(saved);
  assert.deepEqual(history.records.map((r) => r.source), ['banner', 'preferences']);
  await eventually(async () => !(await tagCookieNames(context)).includes('_fbp'), { message: 'the marketing cookie deleted' });
  assert.deepEqual(page.errors, []);
});

// ---- 3. the loan form ---------------------------------------------------------------------

const submitButton = (page) => page.getByRole('button', { name: SITE.ru.submit });
const formValues = (page) => page.evaluate(() => Object.fromEntries(
  [...document.querySelectorAll('#application input:not([type=hidden])')].map((i) => [i.name, i.value])));

// A submit made while the interactive stage loads, and one made even before the runtime (the
// entry holds it and the runtime replays it through its gate, which then loads the stage).
for (const [when, runtimeHeld] of [['while the interactive stage loads', false], ['before the runtime, while both stages load', true]]) {
  h.test(`the loan form without a recorded acceptance: submits made ${when} are held, then one dialog, one application with pa=true`, async (t) => {
    const context = await t.context();
    const ui = await valve(context, '**/pkg/vivus_consent_ui_bg.wasm');
    const runtime = await valve(context, '**/pkg/vivus_consent_bg.wasm');
    const page = await newPage(context);
    const rejected = await firstVisitChoice(page, '/apply.html', 'reject');
    assert.equal(peekClaims(rejected).pa, false, 'reject all records no policy acceptance');

    ui.hold();
    if (runtimeHeld) runtime.hold();
    const stages = watchStages(page);
    const posts = watchApplications(page);
    const consents = watchPosts(page, /^\/v1\/consents/);
    await page.reload();
    if (runtimeHeld) {
      await eventually(() => runtime.waiting === 1, { message: 'the runtime to be requested (and held)' });
    } else {
      await consentReady(page);
      await quiet(page);
      assert.deepEqual(stages.filter((s) => s.stage === 'ui'), [], 'the form page alone does not load the interactive stage');
      assert.equal(await sdk(page, 'state').then((s) => s.status), 'recorded');
    }

    await fillApplication(page);
    const typed = await formValues(page);
    await submitButton(page).click();
    if (runtimeHeld) {
      await quiet(page);
      assert.equal(posts.requests.length, 0, 'held by the entry: not sent without the runtime');
      runtime.release();
      await consentReady(page);
    }
    await eventually(() => ui.waiting === 1, { message: 'the submit to load the interactive stage' });
    // More submits while it loads: a second click and Enter in a field.
    await submitButton(page).click();
    await page.locator('#email').press('Enter');
    await quiet(page);
    assert.equal(posts.requests.length, 0, 'held: nothing is sent without an accepted policy');
    assert.match(page.url(), /\/apply\.html$/);
    assert.deepEqual(await openDialogs(page), []);

    ui.release();
    const modal = UI.acceptance(page);
    await modal.waitFor();
    assert.equal((await openDialogs(page)).length, 1, 'one acceptance dialog for every submit');
    assert.equal(await modal.getByRole('checkbox').isChecked(), false, 'the acceptance starts unticked');
    assert.deepEqual(await formValues(page), typed, 'nothing typed is lost');
    assert.equal(posts.requests.length, 0, 'still nothing sent before acceptance');

    await acceptInModal(page);
    await page.waitForURL('**/demo/applications');
    await page.getByRole('heading', { name: /Заявка принята/ }).waitFor();
    assert.equal(posts.requests.length, 1, 'the application was submitted exactly once');
    assert.deepEqual(posts.responses, [200]);
    assert.equal(posts.requests[0].body.get('iin'), APPLICANT.iin);
    assert.equal(posts.requests[0].body.get('submit_action'), 'apply', 'with the button first clicked');
    const token = posts.requests[0].body.get('consent_token');
    const verdict = await h.service.verify(token);
    assert.equal(verdict.valid, true, JSON.stringify(verdict));
    assert.equal(verdict.claims.pa, true, 'the token carries the policy acceptance');
    assert.deepEqual(verdict.claims.cat, ['necessary'], 'and keeps the categories refused');
    assert.equal(consents.length, 1, `the acceptance was recorded once: ${consents.map((c) => c.path)}`);
    const history = await h.service.history(token);
    assert.deepEqual(history.records.map((r) => [r.source, r.policyAccepted]), [['banner', false], ['form', true]]);
    assert.deepEqual(page.errors, []);
  });
}

h.test('the loan form with pa=true already recorded goes through with the token attached by the runtime, the interactive stage never loaded', async (t) => {
  const context = await t.context();
  const ui = await valve(context, '**/pkg/vivus_consent_ui*');
  const page = await newPage(context);
  // An earlier visit: the application made with the acceptance dialog.
  await page.goto('/apply.html');
  await consentReady(page);
  await fillApplication(page);
  await submitButton(page).click();
  await acceptInModal(page);
  await page.waitForURL('**/demo/applications');
  const earlier = await consentCookie(context);
  assert.equal(peekClaims(earlier).pa, true);

  // Now the interactive stage cannot arrive at all: were it asked for, the submit would hang.
  ui.hold();
  const seenBefore = ui.seen.length;
  const stages = watchStages(page);
  const posts = watchApplications(page);
  await page.goto('/apply.html');
  await consentReady(page);
  await fillApplication(page);
  await submitButton(page).click();
  await page.waitForURL('**/demo/applications');
  await page.getByRole('heading', { name: /Заявка принята/ }).waitFor();
  assert.equal(posts.requests.length, 1, 'submitted once');
  assert.deepEqual(posts.responses, [200]);
  assert.equal(posts.requests[0].body.get('consent_token'), earlier, 'with the recorded token');
  assert.equal(ui.seen.length, seenBefore, `the interactive stage was not requested: ${ui.seen.slice(seenBefore)}`);
  assert.deepEqual(stages.filter((s) => s.stage === 'ui' || s.stage === 'boot'), []);
  assert.deepEqual(page.errors, []);
});

// ---- 4. withdrawal while the stage loads ----------------------------------------------------

h.test('a withdrawal on "My consents" takes effect at once and is recorded as a withdrawal once the stage arrives', async (t) => {
  const context = await t.context();
  await recordEvents(context);
  const ui = await valve(context, '**/pkg/vivus_consent_ui_bg.wasm');
  const page = await newPage(context);
  const token = await firstVisitChoice(page, '/', 'accept');
  await eventually(async () => (await tagCookieNames(context)).includes('_fbp'), { message: 'the pixel cookie' });

  ui.hold();
  const stages = watchStages(page);
  const withdrawals = watchPosts(page, /^\/v1\/consents\//);
  await page.goto('/consents.html');
  await page.waitForFunction(() => document.documentElement.dataset.consentsPage === 'ready');
  await quiet(page);
  assert.deepEqual(stages.filter((s) => s.stage === 'ui'), [], '"My consents" alone does not load the interactive stage');
  assert.equal(await sdk(page, 'state').then((s) => s.status), 'recorded');

  await page.getByRole('button', { name: SITE.ru.withdrawMarketing }).click();
  // At once, before anything is recorded.
  const now = await page.evaluate(() => ({ marketing: window.demoConsent.has('marketing'), analytics: window.demoConsent.has('analytics'), status: window.demoConsent.state().status }));
  assert.deepEqual(now, { marketing: false, analytics: true, status: 'pending' });
  const cookies = await tagCookieNames(context);
  assert.ok(!cookies.includes('_fbp') && cookies.includes('_ga'), `marketing cookies deleted, analytics kept: ${cookies}`);
  await page.evaluate(() => {
    const s = document.createElement('script');
    s.type = 'text/plain';
    s.dataset.category = 'marketing';
    s.dataset.src = '/tags/ads.js';
    s.dataset.service = 'Google Ads';
    document.body.append(s);
  });
  await eventually(() => ui.waiting === 1, { message: 'the withdrawal to load the recorder (held)' });
  await quiet(page);
  assert.deepEqual(withdrawals, [], 'not sent before the recorder is there');
  assert.equal(await page.evaluate(() => window.demoConsent.state().status), 'pending');

  ui.release();
  await page.getByText(SITE.ru.withdrawn).waitFor();
  await eventually(async () => (await page.evaluate(() => window.demoConsent.state().status)) === 'recorded',
    { message: 'the withdrawal recorded' });
  assert.deepEqual(withdrawals.map((w) => w.path), [`/v1/consents/${peekClaims(token).jti}/withdraw`], 'sent once, as a withdrawal of the recorded consent');
  assert.equal(withdrawals[0].bearer, `Bearer ${token}`);
  const recorded = await sdk(page, 'token');
  const verdict = await h.service.verify(recorded);
  assert.equal(verdict.valid, true, JSON.stringify(verdict));
  assert.deepEqual(verdict.claims.cat, ['necessary', 'analytics']);
  const history = await h.service.history(recorded);
  assert.deepEqual(history.records.map((r) => r.kind), ['consent', 'withdrawal']);
  assert.deepEqual(history.records[1].categories, ['necessary', 'analytics']);
  const statuses = (await events(page)).filter((e) => e.name !== 'ready').map((e) => `${e.name}:${e.status}`);
  assert.deepEqual(statuses.filter((s, i) => s !== statuses[i - 1]), ['change:pending', 'recorded:recorded'],
    `pending, then recorded: ${statuses}`);
  await quiet(page);
  assert.equal((await tagRuns(page))['google-ads'], undefined, 'a marketing tag added after the withdrawal never runs');
  assert.deepEqual(page.errors, []);
});

h.test('a withdrawal whose interactive stage fails to load is kept in effect and recorded once the stage loads on the retry', async (t) => {
  const context = await t.context();
  const glue = await valve(context, '**/pkg/vivus_consent_ui.js');
  const page = await newPage(context);
  const token = await firstVisitChoice(page, '/', 'accept');

  const withdrawals = watchPosts(page, /^\/v1\/consents\//);
  await page.goto('/consents.html');
  await page.waitForFunction(() => document.documentElement.dataset.consentsPage === 'ready');
  const asked = glue.seen.length;
  glue.failNext(1);
  await page.getByRole('button', { name: SITE.ru.withdrawMarketing }).click();
  assert.equal(await page.evaluate(() => window.demoConsent.has('marketing')), false, 'in effect at once');
  await eventually(() => glue.seen.length > asked + 1, { message: 'the stage asked for again after the failed load' });
  await page.getByText(SITE.ru.withdrawn).waitFor();
  assert.equal(await page.evaluate(() => window.demoConsent.state().status), 'recorded');
  assert.deepEqual(withdrawals.map((w) => w.path), [`/v1/consents/${peekClaims(token).jti}/withdraw`], 'sent once');
  const history = await h.service.history(await sdk(page, 'token'));
  assert.deepEqual(history.records.map((r) => [r.kind, r.categories]),
    [['consent', ALL], ['withdrawal', ['necessary', 'analytics']]]);
  // The failed load is the only error the page saw (the browser logs it).
  assert.deepEqual(page.errors.filter((e) => !/Failed to load resource: net::ERR_INTERNET_DISCONNECTED/.test(e)), []);
});

// ---- 5. no Ed25519 in WebCrypto ---------------------------------------------------------------

/** Makes this context's WebCrypto lack Ed25519, as Chrome < 137 and Safari < 17 do; counts the refusals. */
async function withoutWebCryptoEd25519(context) {
  await context.addInitScript(() => {
    window.__ed25519Refused = 0;
    // A document without WebCrypto at all (an insecure context) has nothing to take away.
    if (typeof SubtleCrypto === 'undefined') return;
    const isEd25519 = (algorithm) => String(typeof algorithm === 'string' ? algorithm : algorithm?.name).toLowerCase() === 'ed25519';
    for (const method of ['importKey', 'verify', 'generateKey']) {
      const original = SubtleCrypto.prototype[method];
      SubtleCrypto.prototype[method] = function (...args) {
        const algorithm = method === 'importKey' ? args[2] : args[0];
        if (isEd25519(algorithm)) {
          window.__ed25519Refused += 1;
          return Promise.reject(new DOMException('Algorithm: Unrecognized name', 'NotSupportedError'));
        }
        return original.apply(this, args);
      };
    }
  });
}

h.test('without Ed25519 in WebCrypto the runtime checks the stored token with the interactive stage\'s wasm; a forged one grants nothing', async (t) => {
  const context = await t.context();
  await withoutWebCryptoEd25519(context);
  await recordEvents(context);
  const ui = await valve(context, '**/pkg/vivus_consent_ui_bg.wasm');
  const page = await newPage(context);
  const token = await firstVisitChoice(page, '/', 'accept');
  assert.ok(await page.evaluate(() => window.__ed25519Refused) > 0, 'the SDK tried WebCrypto first');

  // The returning visit: no grant until the wasm verifier is there.
  ui.hold();
  const stages = watchStages(page);
  await page.reload();
  await eventually(() => ui.waiting === 1, { message: 'the runtime to load the interactive stage for Ed25519' });
  await quiet(page);
  assert.equal(await page.evaluate(() => document.documentElement.dataset.consent), undefined, 'init waits for the check');
  assert.deepEqual(await ranTags(page), {}, 'no tag runs on an unchecked token');
  assert.deepEqual(await events(page), [], 'ready waits for the check: it reports the verified state');
  ui.release();
  await consentReady(page);
  const ready = await events(page, 'ready');
  assert.deepEqual(ready.map((e) => e.detail), [{ categories: ALL, status: 'recorded' }]);
  assert.equal(await sdk(page, 'token'), token);
  await eventually(async () => {
    const ran = await ranTags(page);
    if (INDEX_TAGS.every((n) => ran[n] === 1)) return true;
    throw new Error(JSON.stringify(ran));
  }, { message: 'each granted tag to run once' });
  assert.ok(await page.evaluate(() => window.__ed25519Refused) > 0, 'WebCrypto was asked and refused');
  // The returning stage cannot check it without WebCrypto's Ed25519 and leaves it to the runtime.
  assert.deepEqual([...new Set(stages.map((s) => s.stage))].sort(), ['entry', 'returning', 'runtime', 'ui']);
  assert.equal(await page.locator('vivus-consent').count(), 0, 'loaded for the signature only: nothing drawn');

  // The same token with a claim changed (a longer life) and the old signature: no consent.
  const [header, payload, signature] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, exp: claims.exp + 10 * 365 * 86400 })).toString('base64url')}.${signature}`;
  assert.equal((await h.service.verify(forged)).valid, false, 'the service refuses the forgery');
  await storeToken(page, forged, h.service.origin);
  const stagesForged = watchStages(page);
  await page.reload();
  await consentReady(page);
  const state = await sdk(page, 'state');
  assert.equal(state.status, 'none', JSON.stringify(state));
  assert.deepEqual(state.categories, ['necessary']);
  assert.equal(await sdk(page, 'has', 'marketing'), false);
  await UI.banner(page).waitFor();
  await quiet(page);
  assert.deepEqual(await ranTags(page), {}, 'no gated tag runs');
  assert.ok(await page.evaluate(() => window.__ed25519Refused) > 0, 'checked without WebCrypto');
  assert.ok(stagesForged.some((s) => s.stage === 'ui'), 'by the interactive stage');
  assert.equal(await page.evaluate(() => localStorage.getItem('vivus_consent')), null, 'the forgery is dropped');
  assert.deepEqual(page.errors, []);
});

// ---- 6. first visit: a banner click before the runtime and the stage arrive ---------------------

for (const order of [['runtime', 'ui'], ['ui', 'runtime']]) {
  h.test(`first visit: "Accept all" clicked on the first stage's banner while the runtime and the interactive stage are held is recorded once (${order.join(' then ')} arriving)`, async (t) => {
    const context = await t.context();
    const valves = {
      runtime: await valve(context, '**/pkg/vivus_consent_bg.wasm'),
      ui: await valve(context, '**/pkg/vivus_consent_ui_bg.wasm'),
    };
    valves.runtime.hold();
    valves.ui.hold();
    const page = await newPage(context);
    const consents = watchPosts(page, /^\/v1\/consents/);
    await page.goto('/');
    await UI.banner(page).waitFor();
    assert.deepEqual(await page.evaluate(() => [...document.querySelectorAll('vivus-consent')].map((e) => e.hasAttribute('data-vc-boot'))),
      [true], 'the first stage drew the banner');
    await eventually(() => valves.runtime.waiting === 1 && valves.ui.waiting === 1, { message: 'both stages requested (and held)' });
    await UI.acceptAll(page).click();
    await UI.banner(page).waitFor({ state: 'hidden' });

    const [first, second] = order;
    valves[first].release();
    // With one of them there, the click is not recorded yet (the recorder is the interactive
    // stage's); when the runtime is there it must not be lost either.
    if (first === 'runtime') await consentReady(page);
    await quiet(page);
    assert.deepEqual(consents, [], 'nothing recorded yet');
    valves[second].release();
    await consentReady(page);

    const token = await recordedToken(page);
    const verdict = await h.service.verify(token);
    assert.equal(verdict.valid, true, JSON.stringify(verdict));
    assert.deepEqual(verdict.claims.cat, ALL);
    await eventually(async () => {
      const ran = await ranTags(page);
      if (INDEX_TAGS.every((n) => ran[n] === 1)) return true;
      throw new Error(JSON.stringify(ran));
    }, { message: 'each gated tag to run once' });
    await quiet(page);
    assert.equal(consents.length, 1, `one POST: ${consents.map((c) => c.path)}`);
    const history = await h.service.history(token);
    assert.deepEqual(history.records.map((r) => [r.kind, r.source]), [['consent', 'banner']], 'recorded once, as a banner choice');
    assert.equal(await UI.banner(page).isVisible(), false, 'the banner stays hidden');
    assert.deepEqual(page.errors, []);
  });
}
