// The main journeys of the banner and the gates (issue 6) as a matrix: Russian and
// Kazakh, on a desktop and on a 360×740 phone. Each cell: accept all on the landing
// page, reject all, the footer's "Cookie settings" with analytics only, the loan form
// behind the acceptance modal, and withdrawal on "My consents". The deeper checks of
// each journey (returning visitor, tampered tokens, Consent Mode order, ...) stay in
// banner/gates/form.test.mjs, in Russian on desktop. Needs the SDK in pkg/.

import assert from 'node:assert/strict';
import {
  e2e, ENGINES, UI, TEXT, SITE, APPLICANT, TAG_COOKIES, acceptInModal, assertReachable, consentCookie, consentReady,
  eventually, fillApplication, recordedToken, seeVideo, settle, tagCookieNames, tagRuns, watchApplications, withLang,
} from './support.mjs';

const h = e2e({ engines: ENGINES });

// The stand-in tags of the landing page (www/index.html) and what they count as.
const ANALYTICS = ['google-analytics', 'yandex-metrika-snippet', 'yandex-metrika'];
const MARKETING = ['google-ads', 'meta-pixel', 'video-embed'];
const ALL = [...ANALYTICS, ...MARKETING];
const FALLBACK = 'no-marketing-fallback'; // data-category="!marketing"

const only = (runs, names) => Object.fromEntries(names.filter((n) => runs[n]).map((n) => [n, runs[n]]));
const ones = (names) => Object.fromEntries(names.map((n) => [n, 1]));

async function ran(page, names, what) {
  await eventually(async () => {
    const runs = await tagRuns(page);
    if (names.every((n) => runs[n] >= 1)) return true;
    throw new Error(`missing ${names.filter((n) => !runs[n]).join(', ')}; ran ${JSON.stringify(runs)}`);
  }, { message: what });
}

/** Presses `locator` as the visitor would: a tap on the phone, a click on the desktop. */
const press = (locator, viewport) => (viewport === 'phone' ? locator.tap() : locator.click());

for (const lang of ['ru', 'kk']) {
  for (const viewport of ['desktop', 'phone']) {
    const cell = `${lang}, ${viewport}`;
    const open = (t, p, opts = {}) => t.open(withLang(p, lang), { viewport, ...opts });

    h.test(`${cell}: accept all on the landing page runs each tag once, shows its marker, sets its cookies`, async (t) => {
      const page = await open(t, '/');
      await consentReady(page);
      const accept = UI.acceptAll(page, lang);
      await assertReachable(accept, 'the banner\'s accept button');
      await press(accept, viewport);
      await UI.banner(page, lang).waitFor({ state: 'hidden' });
      await seeVideo(page);
      await ran(page, ALL, 'every gated tag to run');

      const verdict = await h.service.verify(await recordedToken(page));
      assert.equal(verdict.valid, true, JSON.stringify(verdict));
      assert.deepEqual(verdict.claims.cat, ['necessary', 'analytics', 'marketing']);
      assert.equal(verdict.claims.lang, lang, 'the record keeps the language the visitor saw');
      await settle(page);
      const runs = await tagRuns(page);
      assert.deepEqual(only(runs, ALL), ones(ALL), 'each tag ran exactly once');
      assert.equal(runs[FALLBACK], 1, 'the !marketing fallback ran before the choice and not again');
      const marker = page.locator('[data-tag-ran="meta-pixel"]');
      assert.equal(await marker.count(), 1, 'the pixel wrote one marker');
      await marker.scrollIntoViewIfNeeded();
      assert.ok(await marker.isVisible(), 'the marker is visible');
      assert.deepEqual(await tagCookieNames(page.context()), [...TAG_COOKIES].sort());
    });

    h.test(`${cell}: reject all runs no tag and deletes the tag cookies`, async (t) => {
      const ctx = await t.context({ viewport });
      await ctx.addCookies(TAG_COOKIES.map((name) => ({ name, value: 'stale', url: h.service.origin })));
      const page = await ctx.newPage();
      await page.goto(withLang('/', lang));
      await consentReady(page);
      const reject = UI.rejectAll(page, lang);
      await assertReachable(reject, 'the banner\'s reject button');
      await press(reject, viewport);
      await UI.banner(page, lang).waitFor({ state: 'hidden' });

      await eventually(async () => (await tagCookieNames(ctx)).length === 0, { message: 'the tag cookies to be deleted' });
      const verdict = await h.service.verify(await recordedToken(page));
      assert.equal(verdict.valid, true);
      assert.deepEqual(verdict.claims.cat, ['necessary']);
      await settle(page);
      const runs = await tagRuns(page);
      assert.deepEqual(only(runs, ALL), {}, 'no analytics or marketing tag');
      assert.equal(runs[FALLBACK], 1);
      assert.equal(await page.locator('[data-tag-ran="meta-pixel"]').count(), 0, 'no pixel marker');
      assert.deepEqual(await tagCookieNames(ctx), []);
    });

    h.test(`${cell}: footer "Cookie settings" → analytics only → only the analytics tags run`, async (t) => {
      const page = await open(t, '/');
      await consentReady(page);
      // The banner is still shown: the footer link must not be hidden under it.
      const link = page.getByRole('link', { name: SITE[lang].footerSettings, exact: true });
      await assertReachable(link, 'the footer\'s "Cookie settings" link');
      await press(link, viewport);
      const dialog = UI.preferences(page, lang);
      await dialog.waitFor();
      const analytics = UI.categorySwitch(page, 'analytics', lang);
      assert.equal(await analytics.isChecked(), false, 'optional categories start off');
      assert.equal(await UI.categorySwitch(page, 'marketing', lang).isChecked(), false);
      await press(analytics, viewport);
      assert.equal(await analytics.isChecked(), true);
      await press(dialog.getByRole('button', { name: TEXT[lang].save }), viewport);
      await dialog.waitFor({ state: 'hidden' });

      await ran(page, ANALYTICS, 'the analytics tags');
      const verdict = await h.service.verify(await recordedToken(page));
      assert.deepEqual(verdict.claims.cat, ['necessary', 'analytics']);
      await settle(page);
      assert.deepEqual(only(await tagRuns(page), ALL), ones(ANALYTICS), 'only the analytics tags, once each');
      assert.equal(await UI.banner(page, lang).isVisible(), false, 'the choice also closed the banner');
      assert.deepEqual(await tagCookieNames(page.context()), ['_ga', '_gid', '_ym_d', '_ym_uid']);
    });

    h.test(`${cell}: the loan form is held for the acceptance modal, then submitted exactly once`, async (t) => {
      const page = await open(t, '/apply.html');
      await consentReady(page);
      const posts = watchApplications(page);
      await fillApplication(page);
      const submit = page.getByRole('button', { name: SITE[lang].submit });
      // The banner is shown (no choice yet): the submit button must still be reachable.
      assert.ok(await UI.banner(page, lang).isVisible(), 'the banner is shown');
      await assertReachable(submit, 'the submit button');
      await press(submit, viewport);

      const modal = UI.acceptance(page, lang);
      await modal.waitFor();
      assert.equal(await modal.getByRole('checkbox').isChecked(), false, 'the acceptance starts unticked');
      assert.equal(posts.requests.length, 0, 'nothing is sent before acceptance');
      await acceptInModal(page, lang);

      await page.waitForURL('**/demo/applications');
      await page.getByRole('heading', { name: new RegExp(SITE[lang].accepted) }).waitFor();
      assert.equal(await page.evaluate(() => document.documentElement.lang), lang, 'the service answers in the form\'s language');
      assert.match(await page.textContent('body'), new RegExp(APPLICANT.name));
      assert.equal(posts.requests.length, 1, 'the form was submitted exactly once');
      assert.deepEqual(posts.responses, [200]);
      const body = posts.requests[0].body;
      assert.equal(body.get('lang'), lang);
      const verdict = await h.service.verify(body.get('consent_token'));
      assert.equal(verdict.valid, true, JSON.stringify(verdict));
      assert.equal(verdict.claims.pa, true, 'the token records the policy acceptance');
      assert.equal(verdict.claims.lang, lang);
    });

    h.test(`${cell}: "My consents" shows the history and withdrawing marketing works`, async (t) => {
      const page = await open(t, '/');
      await press(UI.acceptAll(page, lang), viewport);
      await eventually(async () => (await tagCookieNames(page.context())).includes('_fbp'), { message: 'the pixel cookie' });
      await recordedToken(page);

      await page.goto(withLang('/consents.html', lang));
      await page.waitForFunction(() => document.documentElement.dataset.consentsPage === 'ready');
      const rows = page.locator('#history tbody tr');
      assert.equal(await rows.count(), 1, 'the acceptance is in the history');
      assert.equal(await page.locator('.chip[data-category="marketing"]').getAttribute('data-granted'), 'true');

      const withdraw = page.getByRole('button', { name: SITE[lang].withdrawMarketing });
      await assertReachable(withdraw, 'the withdraw-marketing button');
      await press(withdraw, viewport);
      await page.getByText(SITE[lang].withdrawn).waitFor();
      await eventually(async () => (await rows.count()) === 2, { message: 'the withdrawal in the history' });
      assert.match(await rows.first().textContent(), new RegExp(SITE[lang].withdrawal), 'newest first, as a withdrawal');
      assert.equal(await page.locator('.chip[data-category="marketing"]').getAttribute('data-granted'), 'false');
      assert.equal(await page.locator('.chip[data-category="analytics"]').getAttribute('data-granted'), 'true');

      const cookies = await tagCookieNames(page.context());
      assert.ok(!cookies.includes('_fbp') && !cookies.includes('_gcl_au'), `marketing cookies are gone: ${cookies}`);
      assert.ok(cookies.includes('_ga'), 'analytics cookies stay');
      const verdict = await h.service.verify(await consentCookie(page.context()));
      assert.equal(verdict.valid, true);
      assert.deepEqual(verdict.claims.cat, ['necessary', 'analytics']);
    });
  }
}
