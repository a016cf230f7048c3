// Accessibility of the widget (issue 6): axe-core, WCAG 2.1 A + AA with colour
// contrast, over the banner, the settings dialog, the policy viewer and the form's
// acceptance modal, in Russian and Kazakh, on desktop and phone; dialog focus
// handling; and the screenshots the README shows (docs/screenshots/). Needs the SDK.

import assert from 'node:assert/strict';
import {
  e2e, UI, TEXT, SCREENSHOT_TIME, assertNoAxeViolations, consentReady, fillApplication, focused, screenshot,
} from './support.mjs';

const h = e2e();

// Screenshots are taken at a fixed page time (the landing calculator prints a due date).
const shot = { fixedTime: SCREENSHOT_TIME };

for (const lang of ['ru', 'kk']) {
  const q = lang === 'kk' ? '?lang=kk' : '';

  h.test(`banner (${lang}): no axe violations; screenshot`, async (t) => {
    const page = await t.open(`/${q}`, shot);
    await UI.banner(page, lang).waitFor();
    await consentReady(page);
    await assertNoAxeViolations(page, `the banner (${lang})`);
    await screenshot(page, `banner-${lang}`);
  });

  h.test(`settings dialog (${lang}): no axe violations; screenshot`, async (t) => {
    const page = await t.open(`/${q}`, shot);
    await UI.settings(page, lang).click();
    await UI.preferences(page, lang).waitFor();
    await assertNoAxeViolations(page, `the settings dialog (${lang})`);
    await screenshot(page, `settings-${lang}`);
  });

  h.test(`policy viewer (${lang}): no axe violations; screenshot`, async (t) => {
    const page = await t.open(`/${q}`, shot);
    await UI.policyLink(page, lang).click();
    const viewer = UI.policy(page);
    await viewer.waitFor();
    await viewer.getByRole('heading').nth(3).waitFor();
    await assertNoAxeViolations(page, `the policy viewer (${lang})`);
    await screenshot(page, `policy-${lang}`);
  });

  h.test(`form acceptance modal (${lang}): no axe violations; screenshot`, async (t) => {
    const page = await t.open(`/apply.html${q}`, shot);
    await consentReady(page);
    await fillApplication(page);
    await page.getByRole('button', { name: lang === 'kk' ? 'Өтінімді жіберу' : 'Отправить заявку' }).click();
    await UI.acceptance(page, lang).waitFor();
    await assertNoAxeViolations(page, `the acceptance modal (${lang})`);
    await screenshot(page, `form-modal-${lang}`);
  });

  h.test(`phone, 360×740 (${lang}): banner and settings have no axe violations; screenshot`, async (t) => {
    const page = await t.open(`/apply.html${q}`, { viewport: 'phone', ...shot });
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

// 200 % zoom on a 1280×800 screen is a 640×400 CSS-pixel viewport: every control of the
// banner must still be reachable (scrolled into view, not covered).
for (const lang of ['ru', 'kk']) {
  h.test(`at 200% zoom (${lang}) every banner control can be reached and pressed`, async (t) => {
    const page = await t.open(lang === 'kk' ? '/apply.html?lang=kk' : '/apply.html', { viewport: { width: 640, height: 400 } });
    const banner = UI.banner(page, lang);
    await banner.waitFor();
    // Once the SDK has taken the first stage's banner over: the loop holds elements across awaits.
    await consentReady(page);
    const controls = banner.locator('button, a[href]');
    const n = await controls.count();
    assert.ok(n >= 4, `the banner has its buttons and policy link (${n})`);
    for (let i = 0; i < n; i++) {
      const control = controls.nth(i);
      await control.scrollIntoViewIfNeeded();
      const hit = await control.evaluate((el) => {
        const r = el.getBoundingClientRect();
        const x = r.left + r.width / 2, y = r.top + r.height / 2;
        let top = document.elementFromPoint(x, y);
        while (top?.shadowRoot) {
          const inner = top.shadowRoot.elementFromPoint(x, y);
          if (!inner || inner === top) break;
          top = inner;
        }
        return { visible: y >= 0 && y <= innerHeight && x >= 0 && x <= innerWidth, topmost: top === el || el.contains(top) };
      });
      assert.deepEqual(hit, { visible: true, topmost: true }, `banner control ${i} (${await control.textContent()}) cannot be reached`);
    }
  });
}
