// The demo under a strict Content-Security-Policy with Trusted Types enforced (issue 8,
// "In the browser"): the whole journey works with zero violations, and the policy really
// is in force (an injected inline script is blocked and reported, so a zero count means
// something). The service sends the policy with a fresh nonce per page
// (--content-security-policy, `{nonce}`) and collects reports (--csp-report-collector).

import assert from 'node:assert/strict';
import {
  e2e, ENGINES, Service, UI, TEXT, APPLICANT, STRICT_CSP, consentReady, eventually, fillApplication, seeVideo, tagRuns, watchApplications,
} from './support.mjs';


const h = e2e({ engines: ENGINES, args: ['--content-security-policy', STRICT_CSP, '--csp-report-collector'] });

const ALL_INDEX = ['google-analytics', 'yandex-metrika-snippet', 'yandex-metrika', 'google-ads', 'meta-pixel', 'video-embed'];

/** A context that records every `securitypolicyviolation` event of its pages. */
async function watchedContext(t) {
  const ctx = await t.context();
  await ctx.addInitScript(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__violations.push(`${e.effectiveDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber} ${e.sample}`);
    }, true);
  });
  return ctx;
}

const violations = (page) => page.evaluate(() => window.__violations ?? []);

async function reports() {
  const res = await h.service.fetch('/csp-reports');
  assert.equal(res.status, 200);
  return (await res.json()).reports;
}

async function clearReports() {
  await h.service.fetch('/csp-reports', { method: 'DELETE' });
}

h.test('HTML pages carry the policy with a fresh nonce; the page gets the same nonce', async () => {
  const a = await h.service.fetch('/');
  const b = await h.service.fetch('/');
  const csp = a.headers.get('content-security-policy');
  assert.match(csp, /require-trusted-types-for 'script'/);
  const nonce = csp.match(/'nonce-([A-Za-z0-9_-]+)'/)?.[1];
  assert.ok(nonce && nonce.length >= 22, `a 128-bit nonce in ${csp}`);
  assert.notEqual(b.headers.get('content-security-policy'), csp, 'every response has its own nonce');
  const html = await a.text();
  assert.ok(html.includes(`nonce="${nonce}"`), 'the inline gated snippet carries the header nonce');
  assert.ok(!html.includes('__CSP_NONCE__'), 'no placeholder is left');
  assert.equal(a.headers.get('x-frame-options'), 'SAMEORIGIN');
  assert.equal(a.headers.get('cache-control'), 'no-store', 'a page with a nonce is not cached');
  const js = await h.service.fetch('/js/consent-init.js');
  assert.equal(js.headers.get('content-security-policy'), null, 'scripts get no policy of their own');
});

h.test('the policy is in force: an injected inline script is blocked and reported', async (t) => {
  await clearReports();
  const ctx = await watchedContext(t);
  const page = await ctx.newPage();
  await page.goto('/');
  await consentReady(page);
  const outcome = await page.evaluate(() => {
    const s = document.createElement('script');
    try {
      s.textContent = 'window.__pwned = 1';
    } catch (e) {
      return `refused: ${e.name}`;
    }
    document.head.append(s);
    return 'inserted';
  });
  assert.match(outcome, /refused: TypeError/, 'Trusted Types refuse a string as script text');
  // Markup injected into the page itself (a stored XSS): an inline script without the nonce.
  const injected = await ctx.newPage();
  await injected.route('**/', async (route) => {
    const response = await route.fetch();
    const body = (await response.text()).replace('<head>', '<head><script>window.__pwned = 2</script>');
    await route.fulfill({ response, body });
  });
  await injected.goto('/');
  await consentReady(injected);
  assert.equal(await injected.evaluate(() => window.__pwned), undefined, 'the injected inline script did not run');
  assert.ok((await violations(injected)).some((v) => v.startsWith('script-src-elem inline')), (await violations(injected)).join('\n'));
  await eventually(async () => (await violations(page)).length >= 1, { message: 'the violation event' });
  assert.equal(await page.evaluate(() => window.__pwned), undefined, 'nothing injected ran');
  await eventually(async () => (await reports()).length >= 2, { message: 'the reports at /csp-reports' });
  const directives = (await reports()).map((r) => r['csp-report']?.['violated-directive'] ?? r.body?.effectiveDirective);
  assert.ok(directives.some((d) => /require-trusted-types-for/.test(d)), directives.join(', '));
  assert.ok(directives.some((d) => /script-src/.test(d)), directives.join(', '));
});

h.test('the whole journey under the strict policy: banner, settings, policy, gated tags, form, zero violations', async (t) => {
  await clearReports();
  const ctx = await watchedContext(t);
  const page = await ctx.newPage();
  await page.goto('/');
  await UI.banner(page).waitFor();
  await consentReady(page);

  await UI.settings(page).click();
  await UI.preferences(page).waitFor();
  await UI.categorySwitch(page, 'analytics').click();
  assert.equal(await UI.categorySwitch(page, 'analytics').isChecked(), true);
  await page.keyboard.press('Escape');
  await UI.preferences(page).waitFor({ state: 'hidden' });

  await UI.policyLink(page).click();
  const viewer = UI.policy(page);
  await viewer.getByRole('heading', { name: /6\. / }).waitFor();
  await page.keyboard.press('Escape');
  await viewer.waitFor({ state: 'hidden' });

  // The video placeholder (a shadow root styled by a constructed sheet) is shown.
  await UI.acceptAll(page).click();
  await seeVideo(page);
  await eventually(async () => {
    const runs = await tagRuns(page);
    if (ALL_INDEX.every((n) => runs[n] === 1)) return true;
    throw new Error(`ran ${JSON.stringify(runs)}`);
  }, { message: 'every gated tag (external, inline with the nonce, and the one it loads) to run once' });
  await page.evaluate(() => window.demoConsent.whenRecorded());
  assert.deepEqual(await violations(page), [], 'no violation on the landing page');

  // The loan form: blocked, the acceptance modal, the token, one submission.
  const form = await ctx.newPage();
  await form.goto('/apply.html');
  await consentReady(form);
  const posts = watchApplications(form);
  await fillApplication(form);
  await form.getByRole('button', { name: 'Отправить заявку' }).click();
  const modal = UI.acceptance(form);
  await modal.waitFor();
  assert.deepEqual(await violations(form), [], 'no violation on the form page');
  await modal.getByRole('checkbox').check();
  await modal.getByRole('button', { name: TEXT.ru.acceptanceConfirm }).click();
  await form.waitForURL('**/demo/applications');
  assert.equal(posts.requests.length, 1);
  assert.deepEqual(posts.responses, [200]);
  assert.ok(posts.requests[0].body.get('consent_token'));
  assert.match(await form.textContent('body'), new RegExp(APPLICANT.name));

  await page.waitForTimeout(500); // report-uri posts are sent asynchronously
  assert.deepEqual(await reports(), [], 'zero reports at the collector');
});

h.test('the report collector takes only report media types, and is off unless asked for', async () => {
  const res = await h.service.fetch('/csp-reports', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
  assert.equal(res.status, 415, 'only report media types are accepted');
  const batch = await h.service.fetch('/csp-reports', {
    method: 'POST', headers: { 'content-type': 'application/reports+json' },
    body: JSON.stringify([{ type: 'csp-violation', body: { effectiveDirective: 'script-src-elem' } }]),
  });
  assert.equal(batch.status, 204, 'a Reporting API batch is taken');
  assert.ok((await reports()).some((r) => r.body?.effectiveDirective === 'script-src-elem'));
  await clearReports();

  const plain = await Service.launch();
  try {
    const off = await plain.fetch('/csp-reports', { method: 'POST', headers: { 'content-type': 'application/csp-report' }, body: '{}' });
    assert.ok([404, 405].includes(off.status), `no collector by default (${off.status})`);
    const page = await plain.fetch('/');
    assert.equal(page.headers.get('content-security-policy'), null, 'no policy by default');
    assert.match(await page.text(), /nonce="__CSP_NONCE__"/, 'without a nonce policy the placeholder stays (inert)');
  } finally {
    await plain.cleanup();
  }
});
