// The loan application form behind the consent gate (issue 5): blocked until the
// policy is accepted, submitted exactly once with a token the service accepts,
// declining, the service being down and coming back, the phone viewport with the
// banner shown, and the whole journey by keyboard only. Needs the SDK in pkg/.

import assert from 'node:assert/strict';
import {
  e2e, UI, TEXT, APPLICANT, acceptInModal, consentReady, eventually, fillApplication, focused, tabUntil,
  watchApplications,
} from './support.mjs';

const h = e2e();

const submit = (page, lang = 'ru') => page.getByRole('button', { name: lang === 'kk' ? 'Өтінімді жіберу' : 'Отправить заявку' });
const values = (page) => page.evaluate(() => Object.fromEntries(
  [...document.querySelectorAll('#application input:not([type=hidden])')].map((i) => [i.name, i.value])));

/** Asserts the accepted-application page and the token the form carried. */
async function assertAccepted(page, posts) {
  await page.waitForURL('**/demo/applications');
  await page.getByRole('heading', { name: /Заявка принята/ }).waitFor();
  assert.match(await page.textContent('body'), new RegExp(APPLICANT.name));
  assert.equal(posts.requests.length, 1, 'the form was submitted exactly once');
  assert.deepEqual(posts.responses, [200]);
  const body = posts.requests[0].body;
  assert.equal(body.get('submit_action'), 'apply', 'submitted with the same submitter button');
  assert.equal(body.get('iin'), APPLICANT.iin);
  const token = body.get('consent_token');
  assert.ok(token, 'the form carries consent_token');
  const verdict = await h.service.verify(token);
  assert.equal(verdict.valid, true, JSON.stringify(verdict));
  assert.equal(verdict.claims.pa, true, 'the token records the policy acceptance');
  return token;
}

h.test('the form cannot be submitted before acceptance; after it, it goes through exactly once', async (t) => {
  const page = await t.open('/apply.html');
  await consentReady(page);
  const posts = watchApplications(page);
  await fillApplication(page);
  await submit(page).click();

  const modal = UI.acceptance(page);
  await modal.waitFor();
  assert.equal(await modal.getByRole('checkbox').isChecked(), false, 'the acceptance starts unticked');
  await page.waitForTimeout(300);
  assert.equal(posts.requests.length, 0, 'nothing is sent before acceptance');

  await acceptInModal(page);
  const token = await assertAccepted(page, posts);
  const history = await h.service.history(token);
  assert.ok(history.records.some((r) => r.source === 'form'), 'the ledger says the consent came from the form');

  // Now that the policy is accepted, a second application goes straight through.
  await page.goto('/apply.html');
  await consentReady(page);
  const again = watchApplications(page);
  await fillApplication(page);
  await submit(page).click();
  await page.waitForURL('**/demo/applications');
  assert.equal(again.requests.length, 1);
  assert.deepEqual(again.responses, [200]);
  assert.equal(await UI.acceptance(page).count(), 0, 'no modal the second time');
});

h.test('a submit made while the SDK is still loading is held, then goes through the gate once, nothing typed lost', async (t) => {
  const ctx = await t.context();
  let letSdkIn;
  const sdkHeld = new Promise((resolve) => { letSdkIn = resolve; });
  await ctx.route('**/pkg/vivus_consent_bg.wasm', async (route) => { await sdkHeld; return route.fallback(); });
  const page = await ctx.newPage();
  const posts = watchApplications(page);
  await page.goto('/apply.html');
  await UI.banner(page).waitFor(); // the first stage's banner: the SDK is not there yet
  await fillApplication(page);
  const before = await values(page);
  await submit(page).click();
  await page.waitForTimeout(500);
  assert.equal(posts.requests.length, 0, 'held: not sent without a token');
  assert.equal(await UI.acceptance(page).count(), 0);

  letSdkIn();
  await consentReady(page);
  // The held submit was replayed through the SDK's gate: the acceptance dialog asks.
  await UI.acceptance(page).waitFor();
  assert.deepEqual(await values(page), before, 'nothing typed is lost');
  assert.equal(posts.requests.length, 0);
  await acceptInModal(page);
  await assertAccepted(page, posts);
});

h.test('Enter in a field goes through the same gate', async (t) => {
  const page = await t.open('/apply.html?lang=kk');
  await consentReady(page);
  const posts = watchApplications(page);
  await fillApplication(page);
  await page.locator('#email').press('Enter');
  await acceptInModal(page, 'kk');
  await page.waitForURL('**/demo/applications');
  assert.equal(posts.requests.length, 1);
  assert.deepEqual(posts.responses, [200]);
  assert.equal(posts.requests[0].body.get('lang'), 'kk');
});

h.test('declining keeps the visitor on the form with an explanation and the data intact', async (t) => {
  const page = await t.open('/apply.html');
  await consentReady(page);
  const posts = watchApplications(page);
  await fillApplication(page);
  const before = await values(page);
  await submit(page).click();
  const modal = UI.acceptance(page);
  await modal.waitFor();
  await modal.getByRole('button', { name: TEXT.ru.cancel }).click();
  await modal.waitFor({ state: 'hidden' });
  // The explanation sits in the form, next to the submit button, announced as an alert.
  const notice = page.locator('#application').getByRole('alert');
  await notice.waitFor();
  assert.match(await notice.textContent(), TEXT.ru.acceptanceRequired);
  assert.deepEqual(await values(page), before);
  assert.equal(posts.requests.length, 0);
  assert.match(page.url(), /\/apply\.html$/);
});

h.test('with the service down the form stays blocked with a message and the data, and goes through when it is back', async (t) => {
  const page = await t.open('/apply.html');
  await consentReady(page);
  const posts = watchApplications(page);
  await fillApplication(page);
  const before = await values(page);

  await h.service.stop();
  try {
    await submit(page).click();
    await acceptInModal(page);
    await page.getByText(TEXT.ru.networkError).first().waitFor();
    await page.waitForTimeout(500);
    assert.equal(posts.requests.length, 0, 'no application without a recorded consent');
    assert.match(page.url(), /\/apply\.html$/);
    assert.deepEqual(await values(page), before, 'nothing typed is lost');
  } finally {
    await h.service.start();
  }

  // Back: the SDK retries (with backoff) or the visitor presses retry; one submission either way.
  const retry = page.getByRole('button', { name: /Повторить/ });
  const navigated = page.waitForURL('**/demo/applications', { timeout: 45_000 });
  // The SDK may already be retrying by itself, and navigate away under the click.
  if (await retry.isVisible()) await retry.click({ timeout: 3000 }).catch(() => {});
  await navigated;
  await assertAccepted(page, posts);
});

h.test('on a 360 px phone the submit button can be reached and pressed while the banner is shown', async (t) => {
  const page = await t.open('/apply.html', { viewport: 'phone' });
  await UI.banner(page).waitFor();
  await fillApplication(page);
  const button = submit(page);
  await button.scrollIntoViewIfNeeded();
  // Nothing may cover the button's centre: the banner must leave a way to reach it.
  const hit = await button.evaluate((b) => {
    const r = b.getBoundingClientRect();
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    return { inViewport: y >= 0 && y <= innerHeight, topmost: document.elementFromPoint(x, y) === b };
  });
  assert.deepEqual(hit, { inViewport: true, topmost: true }, 'the banner covers the submit button');
  await button.tap();
  await UI.acceptance(page).waitFor();
});

h.test('keyboard only: reject in the banner, fill and submit the form, accept in the modal', async (t) => {
  const page = await t.open('/apply.html');
  await UI.banner(page).waitFor();
  await consentReady(page);
  const posts = watchApplications(page);

  await tabUntil(page, (f) => f.inShadow && f.text === TEXT.ru.rejectAll, { what: 'the banner\'s reject button' });
  await page.keyboard.press('Enter');
  await UI.banner(page).waitFor({ state: 'hidden' });

  // Focus may have moved to the top of the page or stayed near the banner: go to the form.
  await tabUntil(page, (f) => f.id === 'name', { what: 'the name field' });
  for (const field of ['name', 'iin', 'phone', 'email', 'amount', 'term']) {
    const f = await focused(page);
    assert.equal(f.id, field, `Tab order reaches ${field}`);
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.type(APPLICANT[field]);
    await page.keyboard.press('Tab');
  }
  await tabUntil(page, (f) => f.tag === 'button' && f.text === 'Отправить заявку', { what: 'the submit button' });
  await page.keyboard.press('Enter');

  const modal = UI.acceptance(page);
  await modal.waitFor();
  const inModal = await focused(page);
  assert.ok(inModal?.inShadow, 'focus moves into the modal');
  await tabUntil(page, (f) => f.inShadow && (f.type === 'checkbox' || f.role === 'checkbox'), { max: 10, what: 'the acceptance checkbox' });
  await page.keyboard.press('Space');
  await tabUntil(page, (f) => f.inShadow && f.text === TEXT.ru.acceptanceConfirm, { max: 10, what: 'the confirm button' });
  await page.keyboard.press('Enter');
  await assertAccepted(page, posts);
});
