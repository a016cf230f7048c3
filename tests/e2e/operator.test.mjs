// The operator's side (issue 14), end to end under the strict CSP: an operator made with
// the command line signs in to the console at /operator/, finds the consent by the id the
// loan form sent, sees it verified in the page (which recomputes the hashes itself: a
// tampered proof is not verified), exports the day as CSV and JSONL (every record's hash
// recomputed and found by `ledger verify`), and sees the day's figures. axe WCAG 2.1 AA
// on the console in ru and kk. docs/screenshots/operator-signin-*.png are written when
// they change; E2E_SCREENSHOTS=1 also writes operator-consent-ru and operator-figures-*
// (real data: their dates and hashes change every run, so they are not written otherwise).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  e2e, UI, SERVER_BIN, STRICT_CSP, acceptInModal, assertNoAxeViolations, consentReady, eventually,
  fillApplication, peekClaims, recordedToken, screenshot, watchApplications, withLang,
} from './support.mjs';
import { canonicalBytes, fromHex, toHex } from '../../crates/server/console/proof.js';

const h = e2e({ args: ['--content-security-policy', STRICT_CSP, '--csp-report-collector'] });

/** Runs the service binary with `args`: `{ code, stdout, stderr }`. */
function cli(args) {
  return new Promise((resolve) => {
    execFile(SERVER_BIN, args, { env: { ...process.env, RUST_LOG: 'warn' } }, (error, stdout, stderr) => {
      resolve({ code: error ? error.code ?? 1 : 0, stdout, stderr });
    });
  });
}

/** Adds an operator through the command line, as an administrator would; the token. */
async function addOperator(name) {
  const { code, stdout, stderr } = await cli(['operator', 'add', name, '--database', h.service.database]);
  assert.equal(code, 0, stderr);
  const token = stdout.trim();
  assert.match(token, /^vcop_[A-Za-z0-9_-]{43}$/);
  return token;
}

/** A context whose pages record every CSP violation in `window.__violations`. */
async function watchedContext(t, options) {
  const ctx = await t.context(options);
  await ctx.addInitScript(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__violations.push(`${e.effectiveDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber} ${e.sample}`);
    }, true);
  });
  return ctx;
}

/** The local date in Almaty (the harness's time zone) as YYYY-MM-DD. */
function today() {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Almaty' }).format(new Date());
}

const RU = {
  token: 'Токен оператора',
  signIn: 'Войти',
  title: 'Журнал согласий',
  search: 'Номер согласия или идентификатор посетителя',
  find: 'Найти',
  verified: 'Проверено в браузере',
  broken: 'Доказательство не сходится',
};

async function signIn(page, token) {
  await page.goto('/operator/');
  await page.waitForFunction(() => document.documentElement.dataset.console === 'ready');
  await page.getByLabel(RU.token).fill(token);
  await page.getByRole('button', { name: RU.signIn, exact: true }).click();
  await page.getByRole('heading', { level: 1, name: RU.title }).waitFor();
}

async function find(page, id) {
  await page.getByLabel(RU.search).fill(id);
  await page.getByRole('button', { name: RU.find, exact: true }).click();
}

/** A loan application through the demo's form: the consent id (jti) it carried. */
async function applyForLoan(t) {
  const page = await t.open('/apply.html');
  await consentReady(page);
  const posts = watchApplications(page);
  await fillApplication(page);
  await page.getByRole('button', { name: 'Отправить заявку' }).click();
  await acceptInModal(page);
  await page.waitForURL('**/demo/applications');
  await page.getByRole('heading', { name: /Заявка принята/ }).waitFor();
  const sent = posts.requests[0].body.get('consent_token');
  const { jti } = peekClaims(sent);
  assert.equal(await page.locator('[data-consent-id]').textContent(), jti, 'the accepted application shows the consent id it carried');
  return jti;
}

/** Visitors on the demo site: a loan application, an accept-all, a reject-all in Kazakh. */
async function recordVisitors(t) {
  const jti = await applyForLoan(t);
  const accept = await t.open('/');
  await consentReady(accept);
  await UI.acceptAll(accept).click();
  const acceptToken = await recordedToken(accept);
  const reject = await t.open(withLang('/', 'kk'), { locale: 'kk-KZ' });
  await consentReady(reject);
  await UI.rejectAll(reject, 'kk').click();
  const rejectToken = await recordedToken(reject);
  return { jti, others: [peekClaims(acceptToken).jti, peekClaims(rejectToken).jti] };
}

/** RFC 4180 rows (quoted fields may hold commas, quotes and line breaks). */
function parseCsv(text) {
  const rows = [];
  let row = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i++; }
    else field += c;
  }
  assert.equal(field + row.join(''), '', 'the file ends with CRLF');
  return rows;
}

/** The CSV rows as the JSONL's objects. */
function csvRecords(text) {
  const [header, ...rows] = parseCsv(text);
  return rows.map((cells) => {
    const r = Object.fromEntries(header.map((name, i) => [name, cells[i]]));
    for (const n of ['sequence', 'recordedAt', 'recordFormat']) r[n] = Number(r[n]);
    for (const b of ['policyAccepted', 'gpc']) r[b] = r[b] === 'true';
    for (const o of ['withdraws', 'userAgentHash', 'clientNetworkHash', 'salt']) r[o] = r[o] === '' ? null : r[o];
    return r;
  });
}

/** Recomputes an exported record's hash from its fields, as a third party would. */
async function recomputedHash(r) {
  const prev = fromHex(r.prevHash);
  const bytes = canonicalBytes(r);
  const all = new Uint8Array(prev.length + bytes.length);
  all.set(prev);
  all.set(bytes, prev.length);
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', all)));
}

async function download(page, button) {
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: button, exact: true }).click()]);
  const where = path.join(h.service.dir, file.suggestedFilename());
  await file.saveAs(where);
  return { name: file.suggestedFilename(), text: fs.readFileSync(where, 'utf8') };
}

h.test('an operator made with the CLI finds the consent the loan form sent, verified; exports the day; sees its figures', async (t) => {
  const token = await addOperator('dpo');
  const { jti, others } = await recordVisitors(t);
  await h.service.fetch('/csp-reports', { method: 'DELETE' });

  const ctx = await watchedContext(t);
  const page = await ctx.newPage();
  const requests = [];
  page.on('request', (r) => requests.push(r));
  await signIn(page, token);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('vivus-operator-token')), token, 'kept in sessionStorage');
  assert.equal(await page.evaluate(() => JSON.stringify(localStorage).includes('vcop_') || document.cookie.includes('vcop_')), false,
    'nowhere else');
  await page.getByText('Оператор: dpo').waitFor();

  // The consent id the loan application carried.
  await find(page, jti);
  const verdict = page.locator('#verdict[data-verified="true"]');
  await verdict.waitFor();
  const text = await verdict.textContent();
  assert.match(text, new RegExp(RU.verified));
  assert.match(text, /связан через [1-9]\d* последующих записей с головой журнала/, 'later records link it to the head');
  assert.match(text, /подписан ключом сервиса/, 'and the token signature checked in the page (WebCrypto Ed25519)');
  assert.match(text, /Голова журнала \(запись \d+\) подписана сервисом ключом/, 'and the signed checkpoint of the head');
  const record = page.locator('article.record');
  assert.match(await record.textContent(), /форма заявки/);
  assert.match(await record.locator('dt:text-is("Согласие с политикой") + dd').textContent(), /да/);
  if (process.env.E2E_SCREENSHOTS) await screenshot(page, 'operator-consent-ru', { fullPage: true });

  // The visitor's whole history from the record's subject.
  await page.getByRole('button', { name: 'Показать историю посетителя' }).click();
  await page.getByRole('heading', { name: /История посетителя/ }).waitFor();
  assert.ok(await page.locator('article.record tbody tr', { hasText: jti }).count() === 1, 'the application\'s consent is in it');

  // Export today (the day the consents were given) in both formats.
  await page.getByLabel('С', { exact: true }).fill(today());
  await page.getByLabel('По', { exact: true }).fill(today());
  const csv = await download(page, 'Скачать CSV');
  const jsonl = await download(page, 'Скачать JSONL');
  assert.equal(csv.name, `vivus-consents-${today()}.csv`);
  assert.equal(jsonl.name, `vivus-consents-${today()}.jsonl`);
  await page.getByText(/Сохранён файл vivus-consents-.*\.jsonl/).waitFor();
  const fromJsonl = jsonl.text.trim().split('\n').map((l) => JSON.parse(l));
  const fromCsv = csvRecords(csv.text);
  assert.deepEqual(fromCsv, fromJsonl, 'CSV and JSONL hold the same records');
  const ids = fromJsonl.map((r) => r.consentId);
  for (const id of [jti, ...others]) assert.ok(ids.includes(id), `${id} is in the export`);
  for (const r of fromJsonl) {
    assert.equal(await recomputedHash(r), r.hash, `record ${r.sequence}: its fields hash to its hash`);
    const { code, stdout } = await cli(['ledger', 'verify', '--database', h.service.database, '--key-dir', h.service.keyDir, '--expect-head', r.hash]);
    assert.equal(code, 0, stdout);
    assert.match(stdout, new RegExp(`expected head ${r.hash} is record ${r.sequence}\\b`), 'ledger verify finds the hash at its place');
  }

  // The day's figures: what the page shows is what the database counted.
  await page.getByRole('button', { name: 'Показать показатели' }).click();
  const stats = await (await h.service.fetch(`/v1/operator/stats?from=${today()}&to=${today()}&utcOffset=%2B05:00`, {
    headers: { authorization: `Bearer ${token}` },
  })).json();
  assert.ok(stats.totals.consents >= 3, JSON.stringify(stats.totals));
  const tile = (label) => page.locator('.tiles li', { has: page.getByText(label, { exact: true }) }).locator('.tile-value');
  await eventually(async () => (await tile('Согласия').textContent()) === String(stats.totals.consents), { message: 'the consents tile' });
  assert.equal(await tile('Согласия с политикой').textContent(), String(stats.totals.policyAcceptances));
  // The figures of the period asked for (the console shows the last 30 days on sign-in: the
  // tile above may already match while that chart is still up).
  await eventually(async () => (await page.locator('svg[data-chart="consents"] rect.bar-consents').count()) === 1,
    { message: 'one day, one bar' });
  assert.ok(await page.locator('svg[data-chart="shares"] [data-series="analytics"] circle').count() >= 1);
  const bySource = await page.locator('section.group', { has: page.getByRole('heading', { name: 'По источнику' }) }).textContent();
  assert.match(bySource, /форма заявки/);
  assert.match(bySource, /баннер/);
  const byLanguage = await page.locator('section.group', { has: page.getByRole('heading', { name: 'По языку' }) }).textContent();
  assert.match(byLanguage, /казахский/, 'the visitor who chose in Kazakh');

  // The token went only in the Authorization header, never in a URL.
  const api = requests.filter((r) => new URL(r.url()).pathname.startsWith('/v1/operator/'));
  assert.ok(api.length >= 6, `${api.length} API requests`);
  for (const r of requests) assert.ok(!r.url().includes('vcop_'), `no token in ${r.url()}`);
  for (const r of api) assert.equal((await r.allHeaders()).authorization, `Bearer ${token}`, r.url());
  assert.ok(!page.url().includes('vcop_'));

  // Under the strict policy (and the console's own): nothing was blocked.
  assert.deepEqual(await page.evaluate(() => window.__violations), []);
  assert.deepEqual((await (await h.service.fetch('/csp-reports')).json()).reports, []);
});

h.test('a proof changed on its way is not verified: the page recomputes the hashes itself', async (t) => {
  const token = await addOperator('support');
  const { jti } = await recordVisitors(t);
  const ctx = await watchedContext(t);
  const page = await ctx.newPage();
  await signIn(page, token);
  let tamper = null;
  await page.route(`**/v1/operator/consents/${jti}`, async (route) => {
    const response = await route.fetch();
    const body = await response.json();
    if (tamper) tamper(body);
    await route.fulfill({ response, json: body });
  });
  const cases = [
    ['the record', (b) => { b.proof.record.categories = 'necessary,analytics,marketing'; }, /Поля записи не дают её хеш/],
    ['a later record', (b) => { b.proof.links[0] = b.proof.links[0].slice(0, -2) + (b.proof.links[0].endsWith('AA') ? 'AQ' : 'AA'); }, /Цепочка не приходит к голове журнала/],
    ['the head', (b) => { b.proof.head.hash = b.proof.head.hash.replace(/^./, (c) => (c === '0' ? '1' : '0')); }, /Цепочка не приходит к голове журнала/],
    ['the head\'s signature', (b) => {
      const [h, p, sig] = b.proof.head.signed.split('.');
      b.proof.head.signed = [h, p, sig.slice(0, -2) + (sig.endsWith('AA') ? 'AQ' : 'AA')].join('.');
    }, /Подпись головы журнала не сходится/],
  ];
  for (const [what, change, says] of cases) {
    tamper = change;
    await find(page, jti);
    const verdict = page.locator('#verdict[data-verified="false"]');
    await verdict.waitFor();
    const text = await verdict.textContent();
    assert.match(text, new RegExp(RU.broken), what);
    assert.match(text, says, what);
    assert.ok(text.includes('✗'), 'not by colour alone');
  }
  tamper = null;
  await find(page, jti);
  await page.locator('#verdict[data-verified="true"]').waitFor();
  assert.deepEqual(await page.evaluate(() => window.__violations), []);
});

h.test('a wrong token, a visitor\'s token and a revoked one do not sign in; sign-out forgets the token', async (t) => {
  const token = await addOperator('ops');
  const visitor = await t.open('/');
  await consentReady(visitor);
  await UI.acceptAll(visitor).click();
  const consentToken = await recordedToken(visitor);

  const page = await t.open('/operator/');
  await page.waitForFunction(() => document.documentElement.dataset.console === 'ready');
  for (const wrong of ['vcop_' + 'A'.repeat(43), consentToken]) {
    await page.getByLabel(RU.token).fill(wrong);
    await page.getByRole('button', { name: RU.signIn, exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'Токен не принят' }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('vivus-operator-token')), null);
  }
  await signIn(page, token);
  await page.reload();
  await page.getByRole('heading', { level: 1, name: RU.title }).waitFor();
  await page.getByRole('button', { name: 'Выйти' }).click();
  await page.getByRole('heading', { name: 'Вход для оператора' }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('vivus-operator-token')), null);

  // Revoked while signed in: the next request signs the console out and says why.
  await signIn(page, token);
  const { code } = await cli(['operator', 'revoke', 'ops', '--database', h.service.database]);
  assert.equal(code, 0);
  await find(page, peekClaims(consentToken).jti);
  await page.getByRole('alert').filter({ hasText: 'Токен больше не принят' }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('vivus-operator-token')), null);
});

h.test('axe: the console has no WCAG 2.1 AA violations, in Russian and Kazakh, signed out and in', async (t) => {
  const token = await addOperator('a11y');
  const { jti } = await recordVisitors(t);
  for (const lang of ['ru', 'kk']) {
    const page = await t.open(`/operator/?lang=${lang}`, { locale: lang === 'kk' ? 'kk-KZ' : 'ru-RU' });
    await page.waitForFunction(() => document.documentElement.dataset.console === 'ready');
    assert.equal(await page.evaluate(() => document.documentElement.lang), lang);
    await assertNoAxeViolations(page, `the sign-in page (${lang})`);
    await screenshot(page, `operator-signin-${lang}`); // the same every run: written only when it changed
    await page.locator('#token').fill(token);
    await page.locator('#signin-form button[type=submit]').click();
    await page.locator('#console:not([hidden])').waitFor();
    await page.locator('#figures .tiles').waitFor();
    await page.locator('#q').fill(jti);
    await page.locator('#search-form button[type=submit]').click();
    await page.locator('#verdict[data-verified="true"]').waitFor();
    await page.locator('#figures details').first().evaluate((d) => { d.open = true; });
    await assertNoAxeViolations(page, `the console with a record and the figures (${lang})`);
    if (process.env.E2E_SCREENSHOTS) {
      await page.locator('#figures').scrollIntoViewIfNeeded();
      await screenshot(page, `operator-figures-${lang}`, { fullPage: true });
    }
  }
  // The language switch redraws what is on screen.
  const page = await t.open('/operator/');
  await signIn(page, token);
  await find(page, jti);
  await page.locator('#verdict[data-verified="true"]').waitFor();
  await page.getByRole('button', { name: 'Қаз' }).click();
  await page.getByRole('heading', { level: 1, name: 'Келісімдер журналы' }).waitFor();
  await page.getByText('Браузерде тексерілді').waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'kk');
});
