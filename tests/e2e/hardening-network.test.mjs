// Broken networks (issue 8, "In the browser"): the consent service down, slow, answering
// 500, 429 with Retry-After, or garbage. The SDK retries a bounded number of times with
// growing delays, the loan form stays blocked with a message and keeps what was typed, no
// tag runs that was not granted, and the pending choice survives a reload and is recorded
// exactly once when the service answers (checked in the ledger).
//
// The pages are small fixtures on the service's origin (request interception) with a short
// retry schedule (net.maxAttempts 3, net.backoffMs 400) so the bounds show in seconds; the
// faults are injected on POST /v1/consents only, everything else is the real service.

import assert from 'node:assert/strict';
import { e2e, UI, TEXT, consentCookie, eventually, peekClaims, tagRuns, watchApplications } from './support.mjs';

const h = e2e();

const CONFIG = { net: { maxAttempts: 3, backoffMs: 400, timeoutMs: 3000 } };
const FIXTURE = `<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>Заявка</title>
<script type="text/plain" data-category="analytics" data-src="/tags/analytics.js"></script>
<script type="text/plain" data-category="marketing" data-src="/tags/pixel.js"></script>
<script type="application/json" id="vivus-consent-config">${JSON.stringify(CONFIG)}</script>
<script type="module" src="/pkg/vivus-consent.js"></script>
</head><body><main><h1>Заявка</h1>
<form id="application" data-vivus-consent="policy" method="post" action="/demo/applications">
  <label>Имя <input name="name"></label>
  <button type="submit" name="submit_action" value="apply">Отправить заявку</button>
</form></main></body></html>`;

/**
 * A context whose POST /v1/consents goes through `fault(route, n)` (n: the attempt, from 1)
 * while `faulty.on`; every attempt is logged with its time.
 */
async function faultyContext(t, fault) {
  const ctx = await t.context();
  const faulty = { on: true, attempts: [] };
  await ctx.route('**/e2e-fixture/form.html', (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: FIXTURE }));
  await ctx.route('**/v1/consents', async (route) => {
    if (route.request().method() !== 'POST') return route.fallback();
    faulty.attempts.push({ at: Date.now(), id: JSON.parse(route.request().postData()).id });
    if (!faulty.on) return route.fallback();
    return fault(route, faulty.attempts.length);
  });
  return { ctx, faulty };
}

const consentOf = (page) => page.evaluate(async () => window.VivusConsent.init());
const status = (page) => page.evaluate(async () => (await window.VivusConsent.init()).state().status);

/** Fills the fixture form, submits, accepts the policy in the modal. */
async function submitAndAccept(page) {
  await page.waitForFunction(() => window.VivusConsent);
  await consentOf(page);
  await page.getByLabel('Имя').fill('Айгерим <script>');
  await page.getByRole('button', { name: 'Отправить заявку' }).click();
  const modal = UI.acceptance(page);
  await modal.waitFor();
  await modal.getByRole('checkbox').check();
  await modal.getByRole('button', { name: TEXT.ru.acceptanceConfirm }).click();
}

/** Goes on once the service is back: the visitor presses retry (if offered) or the SDK does. */
async function expectRecordedOnce(page, faulty, { pressRetry = true, act = async () => {} } = {}) {
  const posts = watchApplications(page);
  const navigated = page.waitForURL('**/demo/applications', { timeout: 20_000 });
  await act();
  const retry = UI.acceptance(page).getByRole('button', { name: /Повторить/ });
  if (pressRetry && await retry.isVisible()) await retry.click({ timeout: 3000 }).catch(() => {});
  await navigated;
  assert.equal(posts.requests.length, 1, 'the form was submitted exactly once');
  assert.deepEqual(posts.responses, [200]);
  assert.equal(posts.requests[0].body.get('name'), 'Айгерим <script>', 'what was typed went through');
  const token = posts.requests[0].body.get('consent_token');
  const ids = new Set(faulty.attempts.map((a) => a.id));
  assert.equal(ids.size, 1, `every attempt carried the same consent id (${[...ids]})`);
  assert.equal(peekClaims(token).jti, [...ids][0]);
  const history = await h.service.history(token);
  assert.equal(history.records.length, 1, 'the ledger holds the choice exactly once');
  return token;
}

async function expectBlocked(page, message = TEXT.ru.networkError, typed = 'Айгерим <script>') {
  await UI.acceptance(page).getByText(message).first().waitFor({ timeout: 15_000 });
  assert.match(page.url(), /form\.html$/, 'still on the form');
  assert.equal(await page.getByLabel('Имя').inputValue(), typed, 'nothing typed is lost');
  const runs = await tagRuns(page);
  assert.deepEqual(['google-analytics', 'meta-pixel'].filter((n) => runs[n]), [], 'no tag runs: none was granted');
}

h.test('service down: 3 attempts with growing gaps, then it stops; the form stays blocked; a reload keeps the choice; recorded once when back', async (t) => {
  const { ctx, faulty } = await faultyContext(t, (route) => route.abort('connectionrefused'));
  const page = await ctx.newPage();
  await page.goto('/e2e-fixture/form.html');
  await submitAndAccept(page);
  await expectBlocked(page);
  await eventually(() => faulty.attempts.length >= 3, { message: 'three attempts' });
  await page.waitForTimeout(3000);
  assert.equal(faulty.attempts.length, 3, 'bounded: no fourth attempt');
  const gaps = faulty.attempts.slice(1).map((a, i) => a.at - faulty.attempts[i].at);
  assert.ok(gaps[0] >= 350 && gaps[1] >= 750 && gaps[1] > gaps[0], `backoff gaps grow: ${gaps}`);
  assert.equal(await status(page), 'pending');
  const pending = await page.evaluate(() => localStorage.getItem('vivus_consent_pending'));
  assert.ok(pending && JSON.parse(pending).id === faulty.attempts[0].id, 'the pending choice is stored with its id');

  // A reload while still down: the choice is kept and retried with the same id.
  await page.reload();
  await eventually(() => faulty.attempts.length >= 4, { message: 'the retry after the reload' });
  assert.equal(await status(page), 'pending');
  assert.equal(await consentCookie(ctx), null);

  // The service answers again; the form goes through once, the ledger has one record.
  faulty.on = false;
  await expectRecordedOnce(page, faulty, {
    act: async () => {
      await page.getByLabel('Имя').fill('Айгерим <script>');
      await page.getByRole('button', { name: 'Отправить заявку' }).click();
    },
  });
});

h.test('accepted while the service is down, then Escape: the choice is kept and said so; the next submit asks again and, once the service is back, sends one application', async (t) => {
  const { ctx, faulty } = await faultyContext(t, (route) => route.abort('connectionrefused'));
  const page = await ctx.newPage();
  await page.goto('/e2e-fixture/form.html');
  const early = watchApplications(page);
  await submitAndAccept(page);
  await expectBlocked(page);
  await page.keyboard.press('Escape');
  await UI.acceptance(page).waitFor({ state: 'hidden' });
  // Not a dead end: the form tells the visitor the choice and the data are kept.
  const notice = page.locator('#application').getByRole('alert');
  await notice.waitFor();
  assert.match(await notice.textContent(), /сервис согласий недоступен.*Ваше согласие и введённые данные сохранены/s);
  assert.equal(await status(page), 'pending');

  // The next submit, still down: the dialog comes back already ticked and sends the same id.
  const before = faulty.attempts.length;
  await page.getByRole('button', { name: 'Отправить заявку' }).click();
  const modal = UI.acceptance(page);
  await modal.waitFor();
  assert.equal(await modal.getByRole('checkbox').isChecked(), true, 'the acceptance is remembered');
  await eventually(() => faulty.attempts.length > before, { message: 'the second submit sends again' });
  assert.equal(early.requests.length, 0, 'no application while the consent is not recorded');

  // Back: recorded once (one ledger record, one consent id), one application.
  faulty.on = false;
  await expectRecordedOnce(page, faulty);
  assert.equal(early.requests.length, 1);
});

h.test('500 twice, then the real answer: recorded once with the same id', async (t) => {
  const { ctx, faulty } = await faultyContext(t, (route, n) => (n <= 2
    ? route.fulfill({ status: 500, contentType: 'application/json', body: '{"code":"internal","message":"boom"}' })
    : route.fallback()));
  const page = await ctx.newPage();
  await page.goto('/e2e-fixture/form.html');
  await submitAndAccept(page);
  // What the visitor reads meanwhile, in their language, in the dialog over the form.
  await expectBlocked(page, TEXT.ru.serverError);
  await expectRecordedOnce(page, faulty, { pressRetry: false });
  assert.equal(faulty.attempts.length, 3);
});

h.test('429 with Retry-After: the next attempt waits at least that long', async (t) => {
  const { ctx, faulty } = await faultyContext(t, (route, n) => (n === 1
    ? route.fulfill({ status: 429, headers: { 'retry-after': '2' }, contentType: 'application/json',
      body: '{"code":"rate_limited","message":"too many requests; try again in 2 s"}' })
    : route.fallback()));
  const page = await ctx.newPage();
  await page.goto('/e2e-fixture/form.html');
  await submitAndAccept(page);
  // Busy is not a refusal: the visitor is told it is retried, not to reload and choose again.
  await expectBlocked(page, TEXT.ru.serverError);
  await expectRecordedOnce(page, faulty, { pressRetry: false }); // the SDK's own retry
  assert.equal(faulty.attempts.length, 2);
  const gap = faulty.attempts[1].at - faulty.attempts[0].at;
  assert.ok(gap >= 1900, `the retry came ${gap} ms after a Retry-After: 2`);
});

h.test('garbage answers (not JSON, JSON without a token, a token that does not verify) grant nothing and record nothing', async (t) => {
  const bodies = ['<html>proxy error</html>', '{"receipt":{}}', '{"token":"eyJhbGciOiJub25lIn0.e30."}'];
  for (const body of bodies) {
    const { ctx, faulty } = await faultyContext(t, (route) => route.fulfill({ status: 200, contentType: 'application/json', body }));
    const page = await ctx.newPage();
    await page.goto('/e2e-fixture/form.html');
    await submitAndAccept(page);
    await expectBlocked(page, /Сервис согласий вернул неверный ответ/);
    await page.waitForTimeout(1500);
    assert.ok(faulty.attempts.length <= CONFIG.net.maxAttempts, `bounded for ${body}: ${faulty.attempts.length}`);
    assert.notEqual(await status(page), 'recorded', `${body} is not a record`);
    assert.equal(await consentCookie(ctx), null);
    // Back to the real service: the same choice is recorded once.
    faulty.on = false;
    await page.reload();
    await expectRecordedOnce(page, faulty, {
      act: async () => {
        await page.getByLabel('Имя').fill('Айгерим <script>');
        await page.getByRole('button', { name: 'Отправить заявку' }).click();
      },
    });
    await ctx.close();
  }
});

h.test('a slow service (10 s): the form waits with progress, does not post early, and goes through once', async (t) => {
  const { ctx, faulty } = await faultyContext(t, async (route, n) => {
    if (n === 1) {
      const response = await route.fetch();
      await new Promise((r) => setTimeout(r, 10_000));
      return route.fulfill({ response }).catch(() => {}); // the SDK may have given up (timeout) by then
    }
    return route.fallback();
  });
  const page = await ctx.newPage();
  await page.goto('/e2e-fixture/form.html');
  const posts = watchApplications(page);
  await submitAndAccept(page);
  const progress = UI.acceptance(page).getByRole('status').getByText(TEXT.ru.saving);
  await progress.waitFor();
  await page.waitForTimeout(2000);
  assert.ok(await progress.isVisible(), 'the visitor still sees the progress message');
  assert.equal(posts.requests.length, 0, 'nothing posted while the service is silent');
  assert.equal(await page.getByLabel('Имя').inputValue(), 'Айгерим <script>');
  await expectRecordedOnce(page, faulty);
});
