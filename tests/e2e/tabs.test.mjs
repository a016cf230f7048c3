// Two tabs of the site (issue 5, "Across tabs and visits"): a choice made in one
// applies in the other without a reload. Needs the SDK in pkg/.

import assert from 'node:assert/strict';
import { e2e, ENGINES, UI, consentReady, eventually, tagRuns } from './support.mjs';

const h = e2e({ engines: ENGINES });

const has = (page, c) => page.evaluate((cat) => (window.demoConsent ?? window.VivusConsent).has(cat), c);

h.test('a choice made in one tab applies in the other open tab without reload', async (t) => {
  const ctx = await t.context();
  const first = await ctx.newPage();
  const second = await ctx.newPage();
  await first.goto('/');
  await second.goto('/apply.html');
  for (const page of [first, second]) {
    await UI.banner(page).waitFor();
    await consentReady(page);
    await page.evaluate(() => { window.__sameDocument = true; });
  }

  await UI.acceptAll(first).click();
  await UI.banner(second).waitFor({ state: 'hidden' });
  await eventually(async () => (await tagRuns(second))['meta-pixel'] === 1, { message: 'the pixel in the second tab' });
  assert.equal(await has(second, 'marketing'), true);
  assert.equal(await second.evaluate(() => window.__sameDocument), true, 'the second tab was not reloaded');

  // A withdrawal in the second tab reaches the first.
  await second.evaluate(() => (window.demoConsent ?? window.VivusConsent).withdraw(['marketing']));
  await eventually(async () => (await has(first, 'marketing')) === false, { message: 'the first tab to follow the withdrawal' });
  assert.equal(await has(first, 'analytics'), true);
  assert.equal(await first.evaluate(() => window.__sameDocument), true);
  assert.equal((await tagRuns(second))['meta-pixel'], 1, 'nothing ran twice');
});

h.test('a tab opened later starts from the recorded choice', async (t) => {
  const ctx = await t.context();
  const first = await ctx.newPage();
  await first.goto('/?lang=kk');
  await UI.rejectAll(first, 'kk').click();
  await UI.banner(first, 'kk').waitFor({ state: 'hidden' });
  await eventually(async () => (await ctx.cookies()).some((c) => c.name === 'vivus_consent'), { message: 'the consent cookie' });

  const later = await ctx.newPage();
  await later.goto('/consents.html?lang=kk');
  await consentReady(later);
  await later.waitForLoadState('networkidle');
  assert.equal(await UI.banner(later, 'kk').isVisible(), false);
  assert.equal(await has(later, 'analytics'), false);
  assert.deepEqual(await tagRuns(later), {});
});
