// Accessibility of the widget (issue 6): axe-core, WCAG 2.1 A + AA with colour
// contrast, over the banner, the settings dialog, the policy viewer and the form's
// acceptance modal, in Russian and Kazakh, on desktop and phone; dialog focus
// handling; and the screenshots the README shows (docs/screenshots/). Needs the SDK.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after } from 'node:test';
import {
  e2e, UI, TEXT, ROOT, SCREENSHOT_TIME, assertNoAxeViolations, assertReachable, consentReady, fillApplication, focused, screenshot,
} from './support.mjs';

const h = e2e();

// One line per audit: printed with the test, and gathered for the table below.
const audits = [];
async function audit(t, page, view, lang, viewport = 'desktop') {
  const r = await assertNoAxeViolations(page, `the ${view} (${lang}, ${viewport})`, { widget: true });
  const row = { view, lang, viewport, ...r };
  audits.push(row);
  t.diagnostic(`axe ${view} ${lang} ${viewport}: ${r.passed} rules passed, ${r.violations} violations, ` +
    `${r.incomplete.length} incomplete${r.incomplete.length ? ` (${r.incomplete.join(', ')})` : ''}; ` +
    `colour contrast passed on ${r.widgetContrast} widget nodes` +
    `${r.behind ? `, ${r.behind} banner nodes behind the dialog left to the banner's audit` : ''}` +
    `${r.rechecked.length ? `; decided again: ${r.rechecked.join('; ')}` : ''}`);
}

// docs/a11y.md: the table of the last full run. Written only when every audit ran (not
// for a --test-name-pattern subset) and only if it changed, so a run leaves the tree clean.
const VIEWS = ['banner', 'settings', 'policy viewer', 'acceptance modal'];
const EXPECTED = 16; // 4 views × 2 languages × desktop and phone
after(() => {
  if (audits.length !== EXPECTED) return;
  const order = (a) => [a.viewport === 'phone' ? 1 : 0, VIEWS.indexOf(a.view), a.lang === 'kk' ? 1 : 0];
  const rows = [...audits].sort((a, b) => {
    const x = order(a), y = order(b);
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
  });
  const axeVersion = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', 'axe-core', 'package.json'), 'utf8')).version;
  const text = `# Accessibility audit (axe-core)

Written by \`tests/e2e/a11y.test.mjs\` (axe-core ${axeVersion}, tags wcag2a, wcag2aa, wcag21a,
wcag21aa; the whole page with the widget's shadow root). "Incomplete" lists the rules axe
could not decide somewhere on the page; the test fails if colour contrast is undecided for
any node of the widget's top view. The banner behind an open dialog is under its backdrop,
where axe can only say "overlapped"; the banner rows audit it. "Decided again": widget text
cut by a scrolling dialog's edge, or a two-line button over different page parts, re-run
once scrolled into view or computed against the text's own opaque background.

| view | lang | viewport | rules passed | violations | incomplete | widget nodes, contrast passed | decided again | banner behind a dialog |
|---|---|---|---|---|---|---|---|---|
${rows.map((r) => `| ${r.view} | ${r.lang} | ${r.viewport} | ${r.passed} | ${r.violations} | ${r.incomplete.join(', ') || '—'} | ${r.widgetContrast} | ${r.rechecked.length} | ${r.behind} |`).join('\n')}
`;
  const file = path.join(ROOT, 'docs', 'a11y.md');
  const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
  if (old !== text) fs.writeFileSync(file, text);
});

// Screenshots are taken at a fixed page time (the landing calculator prints a due date).
const shot = { fixedTime: SCREENSHOT_TIME };

for (const lang of ['ru', 'kk']) {
  const q = lang === 'kk' ? '?lang=kk' : '';

  h.test(`banner (${lang}): no axe violations; screenshot`, async (t) => {
    const page = await t.open(`/${q}`, shot);
    await UI.banner(page, lang).waitFor();
    await consentReady(page);
    await screenshot(page, `banner-${lang}`);
    await audit(t, page, 'banner', lang);
  });

  h.test(`settings dialog (${lang}): no axe violations; screenshot`, async (t) => {
    const page = await t.open(`/${q}`, shot);
    await UI.settings(page, lang).click();
    await UI.preferences(page, lang).waitFor();
    await screenshot(page, `settings-${lang}`);
    await audit(t, page, 'settings', lang);
  });

  h.test(`policy viewer (${lang}): no axe violations; screenshot`, async (t) => {
    const page = await t.open(`/${q}`, shot);
    await UI.policyLink(page, lang).click();
    const viewer = UI.policy(page);
    await viewer.waitFor();
    await viewer.getByRole('heading').nth(3).waitFor();
    await screenshot(page, `policy-${lang}`);
    await audit(t, page, 'policy viewer', lang);
  });

  h.test(`form acceptance modal (${lang}): no axe violations; screenshot`, async (t) => {
    const page = await t.open(`/apply.html${q}`, shot);
    await consentReady(page);
    await fillApplication(page);
    await page.getByRole('button', { name: lang === 'kk' ? 'Өтінімді жіберу' : 'Отправить заявку' }).click();
    await UI.acceptance(page, lang).waitFor();
    await screenshot(page, `form-modal-${lang}`);
    await audit(t, page, 'acceptance modal', lang);
  });

  h.test(`phone, 360×740 (${lang}): banner and settings have no axe violations; screenshot`, async (t) => {
    const page = await t.open(`/apply.html${q}`, { viewport: 'phone', ...shot });
    await UI.banner(page, lang).waitFor();
    await consentReady(page);
    await screenshot(page, `phone-banner-${lang}`);
    await audit(t, page, 'banner', lang, 'phone');
    await UI.settings(page, lang).click();
    await UI.preferences(page, lang).waitFor();
    if (lang === 'ru') await screenshot(page, 'phone-settings-ru');
    await audit(t, page, 'settings', lang, 'phone');
  });

  h.test(`phone, 360×740 (${lang}): the policy viewer and the acceptance modal have no axe violations`, async (t) => {
    const page = await t.open(`/apply.html${q}`, { viewport: 'phone' });
    await UI.banner(page, lang).waitFor();
    await consentReady(page);
    await UI.policyLink(page, lang).click();
    const viewer = UI.policy(page);
    await viewer.getByRole('heading').nth(3).waitFor();
    await audit(t, page, 'policy viewer', lang, 'phone');
    await page.keyboard.press('Escape');
    await viewer.waitFor({ state: 'hidden' });
    await fillApplication(page);
    await page.getByRole('button', { name: lang === 'kk' ? 'Өтінімді жіберу' : 'Отправить заявку' }).click();
    await UI.acceptance(page, lang).waitFor();
    await audit(t, page, 'acceptance modal', lang, 'phone');
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
      await assertReachable(control, `banner control ${i} (${await control.textContent()})`);
    }
  });
}
