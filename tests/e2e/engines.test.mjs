// The engines themselves (issue 16): what the banner and the loan form's dialog look like in
// Firefox and WebKit (docs/screenshots/, beside Chromium's from a11y.test.mjs), and what a
// browser older than the SDK's floor gets (pkg/README.md, "Browser support"). An older
// browser is made here by removing the API it lacks before any page script runs; each test
// names the browsers that lack it. Runs in all three engines. Needs the SDK.

import assert from 'node:assert/strict';
import {
  e2e, ENGINE, ENGINES, UI, TEXT, SITE, APPLICANT, SCREENSHOT_TIME, acceptInModal, consentReady, eventually,
  fillApplication, screenshot, settle, tagRuns, watchApplications,
} from './support.mjs';

const h = e2e({ engines: ENGINES });

const OPTIONAL = ['google-analytics', 'yandex-metrika-snippet', 'yandex-metrika', 'google-ads', 'meta-pixel', 'video-embed'];

/** A context whose pages lack `apis` (see `remove` below) from their first script on. */
async function olderBrowser(t, apis, options) {
  const ctx = await t.context(options);
  await ctx.addInitScript((names) => {
    const remove = {
      requestSubmit: () => delete HTMLFormElement.prototype.requestSubmit,
      BroadcastChannel: () => delete window.BroadcastChannel,
      // Present but not constructible, as in Safari before 16.4.
      constructableStyleSheets: () => {
        window.CSSStyleSheet = function CSSStyleSheet() { throw new TypeError('Illegal constructor'); };
      },
      WebAssembly: () => delete window.WebAssembly,
    };
    for (const name of names) remove[name]();
  }, apis);
  return ctx;
}

for (const [view, name] of [['banner', 'banner-ru'], ['form dialog', 'form-modal-ru']]) {
  h.test(`the ${view} as ${ENGINE} draws it (docs/screenshots/${name}-${ENGINE}.png)`, {
    engines: ['firefox', 'webkit'], why: 'Chromium\'s screenshots are a11y.test.mjs\'s',
  }, async (t) => {
    const page = await t.open(view === 'banner' ? '/' : '/apply.html', { fixedTime: SCREENSHOT_TIME });
    await UI.banner(page).waitFor();
    await consentReady(page);
    if (view === 'form dialog') {
      await fillApplication(page);
      await page.getByRole('button', { name: SITE.ru.submit }).click();
      await UI.acceptance(page).waitFor();
    }
    await settle(page);
    await screenshot(page, `${name}-${ENGINE}`);
    assert.deepEqual(page.errors, []);
  });
}

h.test('without requestSubmit (Safari before 16): the loan form waits for acceptance, then goes through once', async (t) => {
  const ctx = await olderBrowser(t, ['requestSubmit']);
  const page = await ctx.newPage();
  await page.goto('/apply.html');
  await consentReady(page);
  assert.equal(await page.evaluate(() => 'requestSubmit' in HTMLFormElement.prototype), false);
  const posts = watchApplications(page);
  await fillApplication(page);
  await page.getByRole('button', { name: SITE.ru.submit }).click();
  await UI.acceptance(page).waitFor();
  assert.equal(posts.requests.length, 0, 'nothing is sent before acceptance');
  await acceptInModal(page);
  await page.waitForURL('**/demo/applications');
  await page.getByRole('heading', { name: new RegExp(SITE.ru.accepted) }).waitFor();
  assert.match(await page.textContent('body'), new RegExp(APPLICANT.name));
  assert.equal(posts.requests.length, 1, 'submitted exactly once');
  assert.ok(posts.requests[0].body.get('consent_token'), 'with the token');
});

h.test('without BroadcastChannel (Safari before 15.4): a choice in one tab still reaches the other', async (t) => {
  const ctx = await olderBrowser(t, ['BroadcastChannel']);
  const first = await ctx.newPage();
  const second = await ctx.newPage();
  await first.goto('/');
  await second.goto('/apply.html');
  for (const page of [first, second]) await consentReady(page);
  assert.equal(await second.evaluate(() => typeof BroadcastChannel), 'undefined');
  await UI.acceptAll(first).click();
  await UI.banner(second).waitFor({ state: 'hidden' });
  await eventually(() => second.evaluate(() => window.demoConsent.has('marketing')), { message: 'marketing granted in the second tab' });
});

h.test('without constructable style sheets (Safari before 16.4, Firefox before 101): the widget is styled and works', async (t) => {
  const ctx = await olderBrowser(t, ['constructableStyleSheets']);
  const page = await ctx.newPage();
  await page.goto('/');
  await consentReady(page);
  const style = await UI.banner(page).evaluate((banner) => {
    const s = getComputedStyle(banner);
    return { position: s.position, bottom: s.bottom, styleTag: !!banner.getRootNode().querySelector('style') };
  });
  assert.deepEqual(style, { position: 'fixed', bottom: '0px', styleTag: true }, 'the banner is styled by a <style> in its shadow root');
  await UI.settings(page).click();
  await UI.preferences(page).getByRole('button', { name: TEXT.ru.save }).click();
  await UI.banner(page).waitFor({ state: 'hidden' });
  assert.ok(await page.evaluate(() => window.demoConsent.whenRecorded()), 'the choice is recorded');
});

h.test('without WebAssembly (below the SDK\'s floor): no banner, every optional tag stays blocked, the site still works', async (t) => {
  const ctx = await olderBrowser(t, ['WebAssembly']);
  const page = await ctx.newPage();
  await page.goto('/');
  await page.waitForFunction(() => ['ready', 'unavailable', 'error'].includes(document.documentElement.dataset.consent));
  assert.notEqual(await page.evaluate(() => document.documentElement.dataset.consent), 'ready');
  await settle(page);
  const runs = await tagRuns(page);
  assert.deepEqual(OPTIONAL.filter((n) => runs[n]), [], 'no optional tag ran');
  assert.equal(await UI.banner(page).count(), 0, 'no banner');
  // The page itself works: its navigation, and the loan form is there to fill in.
  await page.getByRole('link', { name: 'Заявка', exact: true }).first().click();
  await page.waitForURL('**/apply.html');
  await eventually(async () => (await page.locator('#application').count()) === 1, { message: 'the form' });
});

// Found in WebKitGTK (issue 16): a click on the first stage's banner made just before the widget
// takes it over was lost about one time in five. WebKit can dispatch the press after the takeover
// removed that banner (to the removed button), so the first stage never marks it, and it keeps
// the press's implicit pointer capture on the removed button, so the release goes there and not
// to the document, where the widget waited for it. The widget now also listens on the removed
// host and clicks its own button when the release is over it (src/ui/widget.rs, finish_press).
// The click here is the mouse's own (the locators' click tries again when no click follows).
h.test('a click on the first stage\'s banner as the SDK takes over is never lost (8 visits)', async (t) => {
  const lost = [];
  for (let i = 0; i < 8; i++) {
    const page = await t.open('/?lang=kk');
    const box = await eventually(() => UI.rejectAll(page, 'kk').boundingBox(), { message: 'the reject button' });
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    try {
      await UI.banner(page, 'kk').waitFor({ state: 'hidden', timeout: 4000 });
    } catch {
      lost.push(i);
    }
    await page.context().close();
  }
  assert.deepEqual(lost, [], `visits whose click was lost: ${lost.join(', ')}`);
});
