// The published package as someone who is not us meets it: `npm pack` of the built pkg/,
// installed with Vite into a fresh app created outside the repository, type-checked with
// tsc against the installed package's own types, built with `vite build`, served with
// `vite preview` (the service behind it: /v1 and /.well-known proxied to the real consent
// service), and opened in Debian's Chromium. The same app is also run on Vite's dev server,
// talking to the service cross-origin (absolute endpoint, CORS), and built with webpack 5.
//
//   make pkg && cargo build --release -p vivus-consent-server
//   node --test tests/package/
//
// The app's tools (Vite, webpack) are locked in tests/package/app/package-lock.json and
// installed with `npm ci`; only the tarball is added on top.
//
// Environment: KEEP_APP=1 keeps the temp app dir, plus the e2e harness's VIVUS_SERVER_BIN and CHROMIUM.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { ROOT, Service, freePort, launchBrowser, UI, TEXT, eventually, peekClaims } from '../e2e/support.mjs';

const run = promisify(execFile);
const PKG = path.join(ROOT, 'pkg');
const APP_LOCKED = path.join(ROOT, 'tests', 'package', 'app');
const TSC = path.join(ROOT, 'node_modules', '.bin', 'tsc');
/** Exactly what the tarball must hold (package.json `files`, plus what npm always adds). */
const SHIPPED = ['LICENSE-APACHE', 'LICENSE-MIT', 'README.md', 'consent-mode.js', 'index.d.ts', 'package.json', 'vivus-consent.js',
  'vivus_consent.js', 'vivus_consent_bg.wasm', 'vivus_consent_boot.js', 'vivus_consent_boot_bg.wasm',
  'vivus_consent_ui.js', 'vivus_consent_ui_bg.wasm', 'vivus_consent_returning.js', 'vivus_consent_returning_bg.wasm'];
/** The four wasm modules (the first-paint stage, the runtime, the interactive stage, the
 * returning visitor's stage), as a bundler names their assets. */
const WASM = ['vivus_consent_boot_bg', 'vivus_consent_bg', 'vivus_consent_ui_bg', 'vivus_consent_returning_bg'];
/** The emitted asset of `name` (one of WASM) among `files`. */
const assetOf = (files, name) => files.find((f) => f.endsWith('.wasm') && (f.startsWith(`${name}-`) || f.startsWith(`${name}.`)));

const s = { started: Date.now(), dir: null, app: null, tarball: null, pack: null, service: null, browser: null, servers: [] };

// ---- the app, as an integrator writes it ---------------------------------------

const APP_FILES = {
  'index.html': `<!doctype html>
<html lang="ru">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Микрозаймы</title>
  <link rel="icon" href="data:,">
  <!-- Consent Mode defaults before any Google tag: the package's consent-mode.js, copied to public/ -->
  <script src="/consent-mode.js" data-wait-for-update="300"></script>
</head>
<body>
  <main><h1>Займы онлайн</h1><p>Страница приложения на Vite.</p></main>
  <script type="module" src="/src/main.ts"></script>
</body>
</html>
`,
  // What the README's bundler quick start shows: the service on the site's origin
  // (proxied) unless VITE_CONSENT_SERVICE names another origin.
  'src/main.ts': `import { init, type Config, type Consent } from '@vivus/consent';

const service: string = import.meta.env.VITE_CONSENT_SERVICE ?? '';
const config: Config = {
  endpoint: service + '/v1/consents',
  jwksUrl: service + '/.well-known/jwks.json',
  policyUrl: service + '/v1/policy/',
  categories: { marketing: { services: [{ name: 'Meta Pixel', cookies: ['_fbp'] }] } },
};

const recorded: string[] = [];
document.addEventListener('vivus-consent:recorded', (event) => {
  recorded.push(event.detail.consentId);
});

const consent: Consent = await init(config);
consent.on('change', ({ categories }) => {
  document.body.dataset.categories = categories.join(' ');
});
declare global {
  interface Window { consent: Consent; recorded: string[] }
}
window.consent = consent;
window.recorded = recorded;
document.documentElement.dataset.consent = 'ready';
`,
  // The one-tag form inside a bundled app: a side-effect import, the config in a JSON block.
  // Only the package's "sideEffects" keeps the bundler from dropping the import.
  'embed.html': `<!doctype html>
<html lang="kk">
<head>
  <meta charset="utf-8">
  <title>Embed</title>
  <link rel="icon" href="data:,">
  <script type="application/json" id="vivus-consent-config">{ "policyUrl": "/v1/policy/", "ui": { "languageSwitch": false } }</script>
  <script type="module" src="/src/embed.js"></script>
</head>
<body><main><h1>Қарыз онлайн</h1></main></body>
</html>
`,
  'src/embed.js': `import '@vivus/consent';
`,
  // The same page for webpack 5: plain JS, no loader, no plugin (the HTML is copied by hand).
  'webpack/main.js': `import { init } from '@vivus/consent';

const recorded = [];
document.addEventListener('vivus-consent:recorded', (event) => recorded.push(event.detail.consentId));
const consent = await init({ policyUrl: '/v1/policy/' });
consent.on('change', ({ categories }) => { document.body.dataset.categories = categories.join(' '); });
window.consent = consent;
window.recorded = recorded;
document.documentElement.dataset.consent = 'ready';
`,
  'webpack/index.html': `<!doctype html>
<html lang="ru">
<head>
  <meta charset="utf-8">
  <title>webpack</title>
  <link rel="icon" href="data:,">
  <script src="/consent-mode.js" data-wait-for-update="300"></script>
  <script defer src="/main.js"></script>
</head>
<body><main><h1>Займы онлайн</h1></main></body>
</html>
`,
  'webpack.config.js': `import { fileURLToPath } from 'node:url';

export default {
  mode: 'production',
  entry: './webpack/main.js',
  output: { path: fileURLToPath(new URL('./dist-webpack', import.meta.url)), clean: true },
  performance: { hints: false },
};
`,
  'build-webpack.js': `import webpack from 'webpack';
import config from './webpack.config.js';

webpack(config, (error, stats) => {
  if (error || stats.hasErrors() || stats.hasWarnings()) {
    console.error(error ?? stats.toString({ all: false, errors: true, warnings: true }));
    process.exit(1);
  }
  console.log(stats.toString({ all: false, assets: true }));
});
`,
  'src/env.d.ts': `interface ImportMetaEnv { readonly VITE_CONSENT_SERVICE?: string }
interface ImportMeta { readonly env: ImportMetaEnv }
`,
  'tsconfig.json': JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'ESNext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM', 'DOM.Iterable'],
      strict: true, noEmit: true, isolatedModules: true, skipLibCheck: false, types: [],
    },
    include: ['src'],
  }, null, 2),
  'vite.config.js': `import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The consent service behind the site's own origin, as a reverse proxy would put it.
const target = process.env.CONSENT_SERVICE_TARGET;
const proxy = target ? { '/v1': target, '/.well-known': target } : undefined;
const headers = process.env.CSP ? { 'Content-Security-Policy': process.env.CSP } : undefined;

export default defineConfig({
  preview: { proxy, headers },
  server: { proxy },
  build: {
    rolldownOptions: {
      input: {
        main: fileURLToPath(new URL('./index.html', import.meta.url)),
        embed: fileURLToPath(new URL('./embed.html', import.meta.url)),
      },
    },
  },
});
`,
};

// ---- helpers --------------------------------------------------------------------

/** Runs a command; on failure the error carries its output. */
async function sh(cmd, args, options = {}) {
  try {
    return await run(cmd, args, { maxBuffer: 16 << 20, ...options });
  } catch (error) {
    error.message += `\n--- stdout\n${error.stdout}\n--- stderr\n${error.stderr}`;
    throw error;
  }
}

/** Starts `vite <args>` in the app and resolves once it answers on `port`. */
async function startVite(args, port, env = {}) {
  const log = [];
  const child = spawn(process.execPath, [path.join(s.app, 'node_modules', 'vite', 'bin', 'vite.js'), ...args,
    '--host', '127.0.0.1', '--port', String(port), '--strictPort'], {
    cwd: s.app, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d) => log.push(String(d)));
  child.stderr.on('data', (d) => log.push(String(d)));
  let exited = null;
  child.once('exit', (code) => { exited = code; });
  s.servers.push(child);
  const origin = `http://127.0.0.1:${port}`;
  await eventually(async () => {
    if (exited !== null) throw new Error(`vite ${args[0] ?? 'dev'} exited (${exited}):\n${log.join('')}`);
    return (await fetch(origin, { signal: AbortSignal.timeout(1000) })).ok;
  }, { timeout: 30_000, message: `vite ${args.join(' ')} on ${origin}` });
  return { origin, log, child };
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exit = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exit;
  clearTimeout(timer);
}

async function openPage(url, { ready = true } = {}) {
  const ctx = await s.browser.newContext({ locale: 'ru-RU', viewport: { width: 1280, height: 800 }, reducedMotion: 'reduce' });
  ctx.setDefaultTimeout(15_000);
  const page = await ctx.newPage();
  page.errors = [];
  page.wasm = [];
  page.on('pageerror', (e) => page.errors.push(`pageerror: ${e.message}`));
  await page.addInitScript(() => document.addEventListener('securitypolicyviolation', (e) => {
    (window.cspViolations ??= []).push(`${e.violatedDirective} ${e.blockedURI}`);
  }));
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(`console: ${m.text()} ${m.location().url}`); });
  page.on('response', (r) => {
    if (r.url().endsWith('.wasm')) page.wasm.push({ url: r.url(), status: r.status(), type: r.headers()['content-type'] });
  });
  await page.goto(url);
  if (!ready) return page;
  await page.waitForFunction(() => document.documentElement.dataset.consent === 'ready', null, { timeout: 20_000 })
    .catch((error) => { throw new Error(`init did not finish: ${error.message}\npage errors: ${page.errors.join(' | ')}`); });
  return page;
}

/** The journey the issue asks for: banner, accept, recorded with the service, has('marketing'). */
async function acceptAndVerify(page) {
  await UI.banner(page).waitFor();
  assert.equal(await page.evaluate(() => window.consent.has('marketing')), false, 'marketing granted before any choice');
  assert.equal(await page.evaluate(() => window.consent.state().status), 'none');
  await UI.acceptAll(page).click();
  await UI.banner(page).waitFor({ state: 'hidden' });
  const token = await page.evaluate(() => window.consent.whenRecorded());
  const verdict = await s.service.verify(token);
  assert.equal(verdict.valid, true, `the service says the token is not valid: ${JSON.stringify(verdict)}`);
  assert.deepEqual(verdict.claims.cat, ['necessary', 'analytics', 'marketing']);
  assert.equal(await page.evaluate(() => window.consent.has('marketing')), true, "has('marketing') after accepting");
  const state = await page.evaluate(() => window.consent.state());
  assert.equal(state.status, 'recorded');
  assert.equal(state.consentId, peekClaims(token).jti);
  assert.deepEqual(await page.evaluate(() => window.recorded), [state.consentId], 'the vivus-consent:recorded DOM event');
  assert.equal(await page.evaluate(() => document.body.dataset.categories), 'necessary analytics marketing', "the 'change' event");
  // Consent Mode: the snippet's defaults first, then the SDK's update from the choice.
  const layer = await page.evaluate(() => window.dataLayer.map((e) =>
    (Object.prototype.toString.call(e) === '[object Arguments]' ? Array.from(e) : e)));
  assert.deepEqual(layer[0].slice(0, 2), ['consent', 'default']);
  assert.equal(layer[0][2].ad_storage, 'denied');
  assert.equal(layer[0][2].wait_for_update, 300, 'the data- attribute of the snippet');
  const update = layer.findLast((e) => Array.isArray(e) && e[0] === 'consent' && e[1] === 'update');
  assert.ok(update, `a gtag consent update in the data layer: ${JSON.stringify(layer)}`);
  for (const key of ['ad_storage', 'ad_user_data', 'ad_personalization', 'analytics_storage']) {
    assert.equal(update[2][key], 'granted', `${key} after accepting all`);
  }
  assert.ok(layer.some((e) => e?.event === 'vivus_consent_update' && e.categories?.includes('marketing')), 'the data layer event');
  return token;
}

// ---- setup ----------------------------------------------------------------------

before(async () => {
  const missing = ['vivus-consent.js', 'vivus_consent_boot.js', 'vivus_consent_boot_bg.wasm', 'vivus_consent.js', 'vivus_consent_bg.wasm',
    'vivus_consent_ui.js', 'vivus_consent_ui_bg.wasm', 'vivus_consent_returning.js', 'vivus_consent_returning_bg.wasm', 'index.d.ts', 'package.json', 'README.md']
    .filter((f) => !fs.existsSync(path.join(PKG, f)));
  if (missing.length) throw new Error(`pkg/ is not built (missing ${missing.join(', ')}): run make pkg first (make test does)`);

  s.dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'vivus-package-'));
  // 1. the tarball, exactly as `npm publish` would upload it
  const { stdout } = await sh('npm', ['pack', '--json', '--pack-destination', s.dir], { cwd: PKG });
  s.pack = JSON.parse(stdout)[0];
  s.tarball = path.join(s.dir, s.pack.filename);

  // 2. a fresh app outside the repository
  s.app = path.join(s.dir, 'app');
  for (const [file, text] of Object.entries(APP_FILES)) {
    await fsp.mkdir(path.dirname(path.join(s.app, file)), { recursive: true });
    await fsp.writeFile(path.join(s.app, file), text);
  }
  for (const file of ['package.json', 'package-lock.json']) await fsp.copyFile(path.join(APP_LOCKED, file), path.join(s.app, file));
  const npmQuiet = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];
  await sh('npm', ['ci', ...npmQuiet], { cwd: s.app, timeout: 180_000 });
  await sh('npm', ['install', '--no-save', ...npmQuiet, s.tarball], { cwd: s.app, timeout: 180_000 });
  // What the README tells integrators to do with the Consent Mode snippet in a Vite app.
  await fsp.mkdir(path.join(s.app, 'public'));
  await fsp.copyFile(path.join(s.app, 'node_modules', '@vivus', 'consent', 'consent-mode.js'), path.join(s.app, 'public', 'consent-mode.js'));

  s.service = await Service.launch();
  s.browser = await launchBrowser();
});

after(async () => {
  for (const child of s.servers) await stop(child).catch(() => {});
  await s.browser?.close();
  await s.service?.cleanup();
  if (s.dir && !process.env.KEEP_APP) await fsp.rm(s.dir, { recursive: true, force: true });
  else if (s.dir) console.error(`the app is kept in ${s.app}`);
  console.error(`tests/package took ${((Date.now() - s.started) / 1000).toFixed(1)} s`);
});

// ---- the tests ------------------------------------------------------------------

test('npm pack ships exactly the entry, the two glues and wasm modules, the types, consent-mode.js, the policy texts and the README', async (t) => {
  const files = s.pack.files.map((f) => f.path).sort();
  const policies = files.filter((f) => f.startsWith('policy/'));
  assert.deepEqual(files.filter((f) => !f.startsWith('policy/')), [...SHIPPED].sort());
  const versions = fs.readdirSync(path.join(ROOT, 'crates', 'core', 'policy')).filter((v) => /^v\d+$/.test(v));
  assert.ok(versions.length > 0);
  assert.deepEqual(policies, versions.flatMap((v) => [`policy/${v}/kk.md`, `policy/${v}/ru.md`]).sort());
  assert.equal(s.pack.name, '@vivus/consent');
  const cargo = fs.readFileSync(path.join(ROOT, 'Cargo.toml'), 'utf8');
  assert.equal(s.pack.version, /\[workspace\.package\][^[]*?\nversion = "([^"]+)"/.exec(cargo)[1], 'the workspace version');
  // What the installed package looks like to Node's resolver (exports, types).
  const installed = JSON.parse(fs.readFileSync(path.join(s.app, 'node_modules', '@vivus', 'consent', 'package.json'), 'utf8'));
  assert.equal(installed.exports['.'].types, './index.d.ts');
  t.diagnostic(`tarball ${s.pack.size} bytes, unpacked ${s.pack.unpackedSize} bytes, ${s.pack.entryCount} files`);
});

test("the app's TypeScript checks against the installed package's types (tsc --noEmit)", async () => {
  await sh(TSC, ['--noEmit', '-p', s.app], { cwd: s.app });
});

test('importing the installed package on the server (SSR) neither throws nor touches globals', async () => {
  const entry = path.join(s.app, 'node_modules', '@vivus', 'consent', 'vivus-consent.js');
  const before = Object.keys(globalThis).sort();
  const mod = await import(entry);
  assert.deepEqual(Object.keys(mod).sort(), ['Consent', 'default', 'init']);
  assert.equal(typeof mod.init, 'function');
  assert.equal(mod.default.init, mod.init);
  assert.deepEqual(Object.keys(globalThis).sort(), before, 'no global set outside a browser');
});

test('vite build emits the four wasm modules as assets; vite preview serves them; accepting records consent and has(marketing) flips', async (t) => {
  const built = await sh(process.execPath, [path.join(s.app, 'node_modules', 'vite', 'bin', 'vite.js'), 'build'], { cwd: s.app });
  const assets = fs.readdirSync(path.join(s.app, 'dist', 'assets'));
  const wasm = WASM.map((name) => assetOf(assets, name));
  assert.equal(assets.filter((f) => f.endsWith('.wasm')).length, 4, `four wasm assets in dist/assets: ${assets.join(', ')}`);
  const js = assets.filter((f) => f.endsWith('.js')).map((f) => fs.readFileSync(path.join(s.app, 'dist', 'assets', f), 'utf8')).join('\n');
  for (const [i, name] of WASM.entries()) {
    assert.ok(wasm[i], `${name} emitted: ${assets.join(', ')}`);
    assert.equal(fs.statSync(path.join(s.app, 'dist', 'assets', wasm[i])).size,
      s.pack.files.find((f) => f.path === `${name}.wasm`).size, "the tarball's wasm is copied as it is");
    assert.ok(js.includes(wasm[i]), 'the bundle refers to the emitted wasm by its hashed name');
  }
  assert.ok(!js.includes('node_modules'), 'the bundle does not point into node_modules');
  t.diagnostic(`vite build: ${assets.map((f) => `${f} ${fs.statSync(path.join(s.app, 'dist', 'assets', f)).size}`).join(', ')}`);
  if (/warn/i.test(built.stdout + built.stderr)) t.diagnostic(`vite build said: ${(built.stdout + built.stderr).trim()}`);

  const preview = await startVite(['preview'], await freePort(), { CONSENT_SERVICE_TARGET: s.service.origin });
  const page = await openPage(preview.origin + '/');
  await acceptAndVerify(page);
  assert.deepEqual(page.wasm.map(({ url, status, type }) => [new URL(url).pathname, status, type]),
    wasm.slice(0, 3).map((f) => [`/assets/${f}`, 200, 'application/wasm']), 'the first stage, then the runtime and the interactive stage');

  // A returning visitor: no banner, the token verified with the key set fetched through the proxy;
  // the returning visitor's stage first, then the runtime.
  page.wasm.length = 0;
  await page.reload();
  await page.waitForFunction(() => document.documentElement.dataset.consent === 'ready');
  assert.equal(await page.evaluate(() => window.consent.has('marketing')), true, 'the choice survives a reload');
  assert.equal(await page.evaluate(() => window.consent.state().status), 'recorded');
  assert.equal(await UI.banner(page).count(), 0, 'no banner for a returning visitor');
  assert.deepEqual(page.wasm.map(({ url }) => new URL(url).pathname), [`/assets/${wasm[3]}`, `/assets/${wasm[1]}`],
    'a returning visitor: the returning stage, then the runtime');

  // The policy viewer fetches the text from policyUrl (the service's /v1/policy/).
  await page.evaluate(() => window.consent.showPolicy());
  const viewer = UI.policy(page);
  await viewer.getByRole('heading', { level: 3 }).first().waitFor();
  assert.ok((await viewer.innerText()).includes('Политика в отношении обработки персональных данных'), 'the policy title');
  assert.deepEqual(page.errors, [], 'no errors on the page');
  await page.context().close();
});

test('the one-tag form in a bundled app: a side-effect import and a JSON config block start the SDK ("sideEffects" keeps it)', async () => {
  assert.ok(fs.existsSync(path.join(s.app, 'dist', 'embed.html')), 'vite build wrote dist/embed.html (the build test runs first)');
  const preview = await startVite(['preview'], await freePort(), { CONSENT_SERVICE_TARGET: s.service.origin });
  const page = await openPage(preview.origin + '/embed.html', { ready: false });
  await UI.banner(page, 'kk').waitFor();
  assert.equal(await UI.banner(page, 'kk').getByRole('button', { name: 'Русский' }).count(), 0, 'the JSON config was applied');
  await UI.acceptAll(page, 'kk').click();
  const token = await page.evaluate(async () => (await window.VivusConsent.init()).whenRecorded());
  assert.equal((await s.service.verify(token)).valid, true);
  assert.equal(await page.evaluate(async () => (await window.VivusConsent.init()).has('marketing')), true);
  assert.deepEqual(page.errors, [], 'no errors on the page');
  await page.context().close();
});

test('vite dev serves the package without plugins (the wasm through new URL(..., import.meta.url)); cross-origin service', async () => {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  // Another origin than the service's: the service must allow it (CORS).
  await s.service.stop();
  s.service.extraArgs = ['--allowed-origin', origin];
  await s.service.start();
  const dev = await startVite([], port, { VITE_CONSENT_SERVICE: s.service.origin });
  const page = await openPage(dev.origin + '/');
  await acceptAndVerify(page);
  assert.equal(page.wasm.length, 3, JSON.stringify(page.wasm));
  for (const w of page.wasm) {
    assert.equal(w.status, 200);
    assert.equal(w.type, 'application/wasm', 'the dev server sends application/wasm (streaming compile)');
  }
  assert.deepEqual(page.errors, [], 'no errors on the page');
  await page.context().close();
});

const STRICT_CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; " +
  "connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'";

test('webpack 5 bundles the package with no loader or plugin (the wasm as an asset); the built app records consent', async (t) => {
  const built = await sh(process.execPath, ['build-webpack.js'], { cwd: s.app });
  const out = path.join(s.app, 'dist-webpack');
  const wasm = fs.readdirSync(out).filter((f) => f.endsWith('.wasm'));
  assert.equal(wasm.length, 4, `four wasm assets: ${built.stdout}`);
  // The SDK's glue is a dynamic import: its own chunk, beside main.js.
  const js = fs.readdirSync(out).filter((f) => f.endsWith('.js')).map((f) => fs.readFileSync(path.join(out, f), 'utf8')).join('\n');
  for (const f of wasm) assert.ok(js.includes(f), `the bundle refers to the emitted ${f}`);
  await fsp.copyFile(path.join(s.app, 'webpack', 'index.html'), path.join(out, 'index.html'));
  await fsp.copyFile(path.join(s.app, 'public', 'consent-mode.js'), path.join(out, 'consent-mode.js'));
  t.diagnostic(`webpack: ${fs.readdirSync(out).map((f) => `${f} ${fs.statSync(path.join(out, f)).size}`).join(', ')}`);
  const preview = await startVite(['preview', '--outDir', 'dist-webpack'], await freePort(), { CONSENT_SERVICE_TARGET: s.service.origin });
  const page = await openPage(preview.origin + '/');
  await acceptAndVerify(page);
  // A first visit loads every stage but the returning visitor's (webpack names the assets by
  // hash: that one is known by its size).
  const returningSize = s.pack.files.find((f) => f.path === 'vivus_consent_returning_bg.wasm').size;
  const firstVisit = wasm.filter((f) => fs.statSync(path.join(out, f)).size !== returningSize);
  assert.equal(firstVisit.length, 3);
  assert.deepEqual(page.wasm.map(({ url, status, type }) => [new URL(url).pathname, status, type]).sort(),
    firstVisit.map((f) => [`/${f}`, 200, 'application/wasm']).sort());
  assert.deepEqual(page.errors, [], 'no errors on the page');
  await page.context().close();
});

test("under a strict CSP (script-src 'self' 'wasm-unsafe-eval', style-src 'self') the built app works with no violation", async () => {
  const preview = await startVite(['preview'], await freePort(), { CONSENT_SERVICE_TARGET: s.service.origin, CSP: STRICT_CSP });
  const page = await openPage(preview.origin + '/');
  await acceptAndVerify(page);
  await page.evaluate(() => window.consent.showPreferences());
  await UI.preferences(page).waitFor();
  assert.deepEqual(await page.evaluate(() => window.cspViolations ?? []), [], 'CSP violations');
  assert.deepEqual(page.errors, [], 'no errors on the page');
  await page.context().close();
});

test("without 'wasm-unsafe-eval' in script-src the browser refuses to compile the wasm (what the README warns about)", async () => {
  const csp = STRICT_CSP.replace(" 'wasm-unsafe-eval'", '');
  const preview = await startVite(['preview'], await freePort(), { CONSENT_SERVICE_TARGET: s.service.origin, CSP: csp });
  const page = await openPage(preview.origin + '/', { ready: false });
  await eventually(() => page.errors.some((e) => /WebAssembly|wasm-unsafe-eval/i.test(e)),
    { message: `a WebAssembly CSP error; errors so far: ${page.errors.join(' | ')}` });
  assert.notEqual(await page.evaluate(() => document.documentElement.dataset.consent), 'ready');
  await page.context().close();
});
