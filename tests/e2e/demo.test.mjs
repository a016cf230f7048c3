// The demo site on its own: pages, languages, the loan calculator, the form's
// validation, the phone layout, accessibility of the pages, and the service's demo
// endpoint refusing applications without consent. These need the service but not
// the SDK: the SDK's requests are blocked, which is also what a visitor whose
// browser could not load it gets.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  e2e, APPLICANT, eventually, TAG_COOKIE, assertNoAxeViolations, fillApplication, tagCookieNames,
  tagRuns, watchApplications,
} from './support.mjs';

const h = e2e({ sdk: false });

/** Opens `path` with the SDK (everything under /pkg/) unreachable. */
async function openWithoutSdk(t, p, options) {
  const ctx = await t.context(options);
  await ctx.route('**/pkg/**', (route) => route.abort('connectionrefused'));
  const page = await ctx.newPage();
  await page.goto(p);
  await page.waitForFunction(() => document.documentElement.dataset.consent === 'unavailable');
  return page;
}

const uncaught = (page) => page.errors.filter((e) => e.startsWith('pageerror'));
const text = (locator) => locator.evaluate((el) => el.textContent.replace(/\s+/g, ' ').trim());
const money = (n) => `${n.toLocaleString('ru-RU').replace(/\s/g, ' ')} ₸`;

h.test('the landing page loads in Russian and runs no optional tag when the SDK is missing', async (t) => {
  const page = await openWithoutSdk(t, '/');
  assert.equal(await page.getAttribute('html', 'lang'), 'ru');
  assert.equal(await text(page.getByRole('heading', { level: 1 })), 'Деньги на карту за 15 минут');
  await page.getByRole('button', { name: 'Получить деньги' }).waitFor();

  // Give async tags every chance to (wrongly) run.
  await page.waitForLoadState('networkidle');
  assert.deepEqual(await tagRuns(page), {}, 'no stand-in tag may run without consent');
  assert.deepEqual(await tagCookieNames(page.context()), []);
  assert.equal(await page.locator('[data-tag-ran]').count(), 0);
  assert.equal(await page.locator('iframe[data-category]').getAttribute('src'), null, 'the video embed stays unloaded');
  const dataLayer = await page.evaluate(() => (window.dataLayer ?? []).filter((e) => e && e.event));
  assert.deepEqual(dataLayer, [], 'no tag pushed an event to dataLayer');
  assert.deepEqual(uncaught(page), []);
});

h.test('?lang=kk shows the site in Kazakh and keeps the language on internal links', async (t) => {
  const page = await openWithoutSdk(t, '/?lang=kk');
  assert.equal(await page.getAttribute('html', 'lang'), 'kk');
  assert.equal(await text(page.getByRole('heading', { level: 1 })), '15 минутта картаға ақша');
  assert.match(await page.title(), /картаға ақша/);
  const nav = page.getByRole('navigation', { name: 'Негізгі мәзір' });
  assert.match(await nav.getByRole('link', { name: 'Өтінім' }).getAttribute('href'), /^\/apply\.html\?lang=kk$/);
  assert.equal(await page.locator('[data-lang-link="kk"]').getAttribute('aria-current'), 'true');
  assert.equal(await text(page.locator('#calc-term-out')), '15 күн');
  assert.match(await text(page.locator('#calc-due')), /^\d{4} жылғы \d{1,2} (қаңтар|ақпан|наурыз|сәуір|мамыр|маусым|шілде|тамыз|қыркүйек|қазан|қараша|желтоқсан)$/);

  // The switch goes back to Russian.
  await page.getByRole('link', { name: 'Рус' }).click();
  await page.waitForURL(/lang=ru/);
  assert.equal(await page.getAttribute('html', 'lang'), 'ru');
  assert.equal(await text(page.getByRole('heading', { level: 1 })), 'Деньги на карту за 15 минут');
});

h.test('the loan calculator computes the repayment and hands amount and term to the application', async (t) => {
  const page = await openWithoutSdk(t, '/');
  const amount = page.getByLabel('Сумма');
  const term = page.getByLabel('Срок');

  await amount.fill('100000');
  await term.fill('20');
  // 0.15 % a day: 100 000 × 0.0015 × 20 = 3 000.
  assert.equal(await text(page.locator('#calc-amount-out')), money(100000));
  assert.equal(await text(page.locator('#calc-term-out')), '20 дней');
  assert.equal(await text(page.locator('#calc-fee')), money(3000));
  assert.equal(await text(page.locator('#calc-total')), money(103000));
  const due = new Date(Date.now() + 20 * 86400_000);
  const dueText = new Intl.DateTimeFormat('ru-RU', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Asia/Almaty' }).format(due);
  assert.equal(await text(page.locator('#calc-due')), dueText.replace(/\s/g, ' '));

  // Keyboard: the sliders move by their step.
  await term.focus();
  await page.keyboard.press('ArrowRight');
  assert.equal(await text(page.locator('#calc-term-out')), '21 день');
  await amount.focus();
  await page.keyboard.press('End');
  assert.equal(await text(page.locator('#calc-amount-out')), money(300000));
  assert.equal((await amount.getAttribute('aria-valuetext')).replace(/\s/g, ' '), money(300000));
  // 300 000 × 0.0015 × 21 = 9 450.
  assert.equal(await text(page.locator('#calc-total')), money(309450));

  await page.getByRole('button', { name: 'Получить деньги' }).click();
  await page.waitForURL(/\/apply\.html\?/);
  assert.equal(await page.locator('#amount').inputValue(), '300000');
  assert.equal(await page.locator('#term').inputValue(), '21');
  assert.equal(await text(page.locator('#sum-total')), money(309450));
});

h.test('the application form checks the IIN, phone and e-mail and says what is wrong', async (t) => {
  const page = await openWithoutSdk(t, '/apply.html');
  const form = page.locator('#application');
  assert.equal(await form.getAttribute('data-vivus-consent'), 'policy');
  assert.equal(await form.getAttribute('action'), '/demo/applications');
  assert.equal(await form.getAttribute('method'), 'post');

  const iin = page.getByLabel('ИИН');
  await iin.fill('90051545012');
  await iin.blur();
  assert.equal(await text(page.locator('#iin-error')), 'ИИН состоит из 12 цифр.');
  assert.equal(await iin.getAttribute('aria-invalid'), 'true');
  await iin.fill('900515450129'); // the check digit is 8
  await iin.blur();
  assert.equal(await text(page.locator('#iin-error')), 'ИИН введён с ошибкой: проверьте цифры.');
  await iin.fill('abc900515450128');
  assert.equal(await iin.inputValue(), '900515450128', 'only digits are kept');
  await iin.blur();
  assert.equal(await text(page.locator('#iin-error')), '');
  assert.equal(await iin.getAttribute('aria-invalid'), 'false');

  const phone = page.getByLabel('Мобильный телефон');
  await phone.fill('+7 701 234');
  await phone.blur();
  assert.equal(await text(page.locator('#phone-error')), 'Укажите мобильный номер Казахстана: +7 и 10 цифр.');
  await phone.fill('8 (701) 234-56-78');
  await phone.blur();
  assert.equal(await phone.inputValue(), '+7 701 234 56 78', 'the 8… form is rewritten as +7');
  assert.equal(await text(page.locator('#phone-error')), '');

  // An incomplete form is not submitted at all: the browser stops it before `submit`.
  const posts = watchApplications(page);
  await page.getByRole('button', { name: 'Отправить заявку' }).click();
  await page.waitForTimeout(300);
  assert.equal(posts.requests.length, 0);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'name', 'focus goes to the first invalid field');
  assert.equal(await form.evaluate((f) => f.checkValidity()), false);

  await fillApplication(page);
  assert.equal(await form.evaluate((f) => f.checkValidity()), true, 'the sample applicant is valid');
});

h.test('the form explains errors in Kazakh on ?lang=kk', async (t) => {
  const page = await openWithoutSdk(t, '/apply.html?lang=kk');
  const iin = page.getByLabel('ЖСН');
  await iin.fill('12345');
  await iin.blur();
  assert.equal(await text(page.locator('#iin-error')), 'ЖСН 12 цифрдан тұрады.');
  assert.equal(await text(page.getByRole('button', { name: 'Өтінімді жіберу' })), 'Өтінімді жіберу');
  assert.equal(await page.locator('input[name="lang"]').inputValue(), 'kk');
});

h.test('the demo endpoint refuses an application without a valid consent token', async () => {
  const post = (fields) => h.service.fetch('/demo/applications', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields),
  });
  const missing = await post({ name: APPLICANT.name, amount: '50000', term: '15' });
  assert.equal(missing.status, 403);
  const page = await missing.text();
  assert.match(page, /Заявка не принята/);
  assert.doesNotMatch(page, new RegExp(APPLICANT.name), 'a refused application is not echoed');

  const forged = await post({ name: APPLICANT.name, consent_token: 'eyJhbGciOiJFZERTQSJ9.e30.AAAA' });
  assert.equal(forged.status, 403);
});

// The SDK unreachable (the entry module included): nothing holds the submit, the service refuses
// it. A submit made while a reachable SDK is still loading is held and goes through the gate:
// form.test.mjs "a submit made while the SDK is still loading…".
h.test('without the SDK the form posts without a token and the service refuses it', async (t) => {
  const page = await openWithoutSdk(t, '/apply.html');
  const posts = watchApplications(page);
  await fillApplication(page);
  await Promise.all([
    page.waitForURL('**/demo/applications'),
    page.getByRole('button', { name: 'Отправить заявку' }).click(),
  ]);
  assert.deepEqual(posts.responses, [403]);
  assert.equal(posts.requests[0].body.get('consent_token'), null);
  await page.getByRole('heading', { name: /Заявка не принята/ }).waitFor();
});

h.test('"My consents" says nothing is recorded yet on a first visit', async (t) => {
  const page = await openWithoutSdk(t, '/consents.html');
  await page.waitForFunction(() => document.documentElement.dataset.consentsPage === 'ready');
  assert.match(await text(page.locator('#consent-summary')), /согласие ещё не записано/);
  assert.match(await text(page.locator('#consent-message')), /Виджет согласий не загрузился/);
  for (const button of await page.locator('[data-withdraw]').all()) {
    assert.equal(await button.isDisabled(), true);
  }
  assert.equal(await page.locator('#history-wrap').isHidden(), true);
});

h.test('"My consents" lists the ledger history of the stored token', async (t) => {
  // A consent recorded through the API, as the SDK would record it.
  const policy = await (await h.service.fetch('/v1/policy')).json();
  const id = () => randomBytes(16).toString('base64url');
  const request = {
    id: id(), subject: id(), policy: { version: policy.version, digest: policy.digest }, language: 'ru',
    categories: { necessary: true, analytics: true, marketing: false },
    policyAccepted: false, source: 'banner', gpc: false,
  };
  const res = await h.service.fetch('/v1/consents', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request),
  });
  assert.equal(res.status, 201, await res.clone().text());
  const { token } = await res.json();

  const ctx = await t.context();
  await ctx.route('**/pkg/**', (route) => route.abort('connectionrefused'));
  await ctx.addCookies([{ name: 'vivus_consent', value: token, url: h.service.origin }]);
  const page = await ctx.newPage();
  await page.goto('/consents.html');
  await page.waitForFunction(() => document.documentElement.dataset.consentsPage === 'ready');
  await page.locator('#history tbody tr').first().waitFor();
  assert.equal(await page.locator('#history tbody tr').count(), 1);
  const row = await text(page.locator('#history tbody tr').first());
  assert.match(row, /Аналитика/);
  assert.doesNotMatch(row, /Маркетинг/);
  assert.equal(await page.locator('.chip[data-category="analytics"]').getAttribute('data-granted'), 'true');
  assert.equal(await page.locator('.chip[data-category="marketing"]').getAttribute('data-granted'), 'false');
});

for (const p of ['/', '/apply.html', '/consents.html', '/?lang=kk', '/apply.html?lang=kk']) {
  h.test(`${p} fits a 360 px phone without sideways scrolling`, async (t) => {
    const page = await openWithoutSdk(t, p, { viewport: 'phone' });
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 360, `the page is ${width} px wide`);
  });
}

for (const p of ['/', '/apply.html', '/consents.html', '/?lang=kk', '/apply.html?lang=kk', '/consents.html?lang=kk']) {
  h.test(`${p} has no WCAG 2.1 AA violations (axe)`, async (t) => {
    const page = await openWithoutSdk(t, p);
    await assertNoAxeViolations(page, p);
  });
}

h.test('the site may frame its own embed page (the gated video player)', async (t) => {
  // What the SDK does when marketing is granted: data-src becomes src. The static
  // site's headers must allow same-origin framing (X-Frame-Options SAMEORIGIN or
  // frame-ancestors 'self'), or the player never loads.
  const page = await openWithoutSdk(t, '/');
  await page.locator('iframe[data-category]').evaluate((f) => { f.src = f.dataset.src; });
  await page.frameLocator('iframe[data-category]').getByRole('button', { name: /Смотреть видео/ }).waitFor();
  // The button is parsed before the player's script runs and reports the load.
  await eventually(async () => (await tagRuns(page))['video-embed'] >= 1, { message: 'the embedded player to report its load' });
  assert.equal((await tagRuns(page))['video-embed'], 1);
});

h.test('no tag cookie is ever set by the pages themselves', async (t) => {
  const page = await openWithoutSdk(t, '/apply.html');
  await fillApplication(page);
  await page.goto('/consents.html');
  await page.goto('/?lang=kk');
  await page.waitForLoadState('networkidle');
  const cookies = await page.context().cookies();
  assert.deepEqual(cookies.filter((c) => TAG_COOKIE.test(c.name)), []);
});
