// Accessibility of the widget (issue 6): axe-core, WCAG 2.1 A + AA with colour
// contrast, over the banner, the settings dialog, the policy viewer and the form's
// acceptance modal, in Russian and Kazakh, on desktop and phone; dialog focus
// handling; and the screenshots the README shows (docs/screenshots/). Needs the SDK.

import assert from 'node:assert/strict';
import {
  e2e, UI, TEXT, assertNoAxeViolations, consentReady, fillApplication, focused, screenshot,
} from './support.mjs';

const h = e2e();

for (const lang of ['ru', 'kk']) {
  const q = lang === 'kk' ? '?lang=kk' : '';

  h.test(`banner (${lang}): no axe violations; screenshot`, async (t) => {
    const page = await t.open(`/${q}`);
    await UI.banner(page, lang).waitFor();
    await consentReady(page);
    await assertNoAxeViolations(page, `the banner (${lang})`);
    await screenshot(page, `banner-${lang}`);
  });

  h.test(`settings dialog (${lang}): no axe violations; screenshot`, async (t) => {
    const page = await t.open(`/${q}`);
    await UI.settings(page, lang).click();
    await UI.preferences(page, lang).waitFor();
    await assertNoAxeViolations(page, `the settings dialog (${lang})`);
    await screenshot(page, `settings-${lang}`);
  });

  h.test(`policy viewer (${lang}): no axe violations; screenshot`, async (t) => {
    const page = await t.open(`/${q}`);
    await UI.policyLink(page, lang).click();
    const viewer = UI.policy(page);
    await viewer.waitFor();
    await viewer.getByRole('heading').nth(3).waitFor();
    await assertNoAxeViolations(page, `the policy viewer (${lang})`);
    await screenshot(page, `policy-${lang}`);
  });

  h.test(`form acceptance modal (${lang}): no axe violations; screenshot`, async (t) => {
    const page = await t.open(`/apply.html${q}`);
    await consentReady(page);
    await fillApplication(page);
    await page.getByRole('button', { name: lang === 'kk' ? 'Өтінімді жіберу' : 'Отправить заявку' }).click();
    await UI.acceptance(page, lang).waitFor();
    await assertNoAxeViolations(page, `the acceptance modal (${lang})`);
    await screenshot(page, `form-modal-${lang}`);
  });

  h.test(`phone, 360×740 (${lang}): banner and settings have no axe violations; screenshot`, async (t) => {
    const page = await t.open(`/apply.html${q}`, { viewport: 'phone' });
    await UI.banner(page, lang).waitFor();
    await consentReady(page);
    await assertNoAxeViolations(page, `the banner on a phone (${lang})`);
    await screenshot(page, `phone-banner-${lang}`);
    await UI.settings(page, lang).click();
    await UI.preferences(page, lang).waitFor();
    await assertNoAxeViolations(page, `the settings on a phone (${lang})`);
    if (lang === 'ru') await screenshot(page, 'phone-settings-ru');
  });
}

h.test('the settings dialog takes focus, keeps Tab inside, and gives focus back on Escape', async (t) => {
  const page = await t.open('/');
  await UI.banner(page).waitFor();
  await UI.settings(page).focus();
  await page.keyboard.press('Enter');
  const dialog = UI.preferences(page);
  await dialog.waitFor();
  assert.ok((await focused(page))?.inShadow, 'focus moved into the dialog');
  const seen = new Set();
  for (let i = 0; i < 25; i++) {
    await page.keyboard.press('Tab');
    const f = await focused(page);
    assert.ok(f?.inShadow, `Tab ${i + 1} left the dialog (focus on ${JSON.stringify(f)})`);
    seen.add(`${f.tag}:${f.text}`);
  }
  assert.ok([...seen].some((s) => s.includes(TEXT.ru.save)), 'the save button is in the Tab cycle');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.equal((await focused(page))?.text, TEXT.ru.settings, 'focus returns to the settings button');
});
