// Browser benchmark (issue 7): vivus-consent next to vanilla-cookieconsent 3.1
// and Klaro 0.7, and a page with no consent library as the floor, in the same
// run, on this machine. Driven by `make bench`; plain node.
//
//   RUNS=15            runs per contender and CPU setting (fresh context each)
//   THROTTLE=1,4       CPU throttling rates (CDP Emulation.setCPUThrottlingRate)
//   CONTENDERS=...     comma-separated subset of floor,cookieconsent,klaro,vivus,vivus-onetag,vivus-preload
//   PORT=0             loopback port (0 = pick a free one)
//   PKG_DIR=pkg        the built SDK package to serve at /pkg/
//   SERVER_BIN=...     a service binary to use as is (default: build target/release/vivus-consent-server)
//   BENCH_NO_BUILD=1   do not run cargo (the service and bench/verify-wasm must be built)
//
// `node bench/run.mjs --report` only rewrites RESULTS.md from results.json (and the
// service benchmark's service.md, which it includes).
//
// Writes bench/results.json and bench/RESULTS.md. Throwaway files (npm
// installs, the served site, the service's database and keys, screenshots) go
// in bench/work/, which git ignores.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, cpSync, readdirSync, utimesSync } from 'node:fs';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, brotliCompressSync, constants as zc } from 'node:zlib';
import { createRequire } from 'node:module';

import { probe } from './lib/probe.js';
import { summarize } from './lib/stats.mjs';
import { floorPage, cookieconsentPage, klaroPage, vivusPage } from './lib/pages.mjs';
import { writeReport, evaluateTargets } from './lib/report.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BENCH = join(ROOT, 'bench');
const WORK = join(BENCH, 'work');
const SITE = join(WORK, 'site');
const require = createRequire(join(ROOT, 'package.json'));
const { chromium } = require('playwright-core');

const RUNS = Number(process.env.RUNS ?? 15);
const THROTTLE = (process.env.THROTTLE ?? '1,4').split(',').map(Number);
const WANT = process.env.CONTENDERS?.split(',');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SERVER_BIN = resolve(ROOT, process.env.SERVER_BIN ?? join(process.env.CARGO_TARGET_DIR ?? 'target', 'release', 'vivus-consent-server'));
// Exact versions: the comparison is against these releases, not whatever is newest.
const LIBS = { 'vanilla-cookieconsent': '3.1.0', klaro: '0.7.22' };

const log = (...a) => console.error('[bench]', ...a);

// ---------------------------------------------------------------------------
// 1. The competitors, from npm, in a throwaway folder.

function installLibs() {
  mkdirSync(WORK, { recursive: true });
  const installed = Object.entries(LIBS).every(([name, version]) => {
    const p = join(WORK, 'node_modules', name, 'package.json');
    return existsSync(p) && JSON.parse(readFileSync(p, 'utf8')).version === version;
  });
  if (installed) return;
  writeFileSync(
    join(WORK, 'package.json'),
    JSON.stringify({ name: 'vivus-consent-bench-work', private: true, dependencies: LIBS }, null, 2),
  );
  log('npm install', Object.entries(LIBS).map(([n, v]) => `${n}@${v}`).join(' '));
  // --ignore-scripts: only the dist files are used; nothing needs building.
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--prefix', WORK], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

// ---------------------------------------------------------------------------
// 2. The contenders and how to see their banner, accept, and stored consent.

// The SDK package (`make pkg`); PKG_DIR points elsewhere while developing the harness.
const PKG = resolve(ROOT, process.env.PKG_DIR ?? 'pkg');

/** Our SDK's module entry in pkg/ and the config the bench page gives it; null when it is not built. */
function findSdk() {
  const need = ['vivus-consent.js', 'vivus_consent_boot.js', 'vivus_consent_boot_bg.wasm', 'vivus_consent.js', 'vivus_consent_bg.wasm'];
  if (!need.every((f) => existsSync(join(PKG, f)))) return null;
  return {
    entry: '/pkg/vivus-consent.js',
    // The service's keys inline, so a returning visitor verifies without a request; the
    // endpoint, issuer and cookie are the defaults (the service on the page's origin).
    config: (jwks) => ({ jwks, language: 'ru' }),
    // What the first paint needs (the preload page hints these): the entry and the first-paint
    // build. The SDK's glue and wasm follow after the banner's frame.
    files: ['/pkg/vivus-consent.js', '/pkg/vivus_consent_boot.js', '/pkg/vivus_consent_boot_bg.wasm'],
    bannerSelector: '.banner',
    acceptSelector: '[data-vc="accept"]',
  };
}

function contenders(sdk) {
  const all = [
    {
      id: 'floor',
      name: 'no consent library',
      page: 'floor.html',
      banner: null,
    },
    {
      id: 'cookieconsent',
      name: `vanilla-cookieconsent ${LIBS['vanilla-cookieconsent']}`,
      page: 'cookieconsent.html',
      banner: { selector: '#cc-main .cm' },
      accept: { selector: '#cc-main .cm .cm__btn[data-role="all"]' },
      cookie: 'cc_cookie',
    },
    {
      id: 'klaro',
      name: `Klaro ${LIBS.klaro}`,
      page: 'klaro.html',
      banner: { selector: '.klaro .cookie-notice' },
      accept: { selector: '.klaro .cookie-notice .cm-btn-success' },
      cookie: 'klaro',
    },
  ];
  if (sdk) {
    const ours = {
      banner: { host: 'vivus-consent', selector: sdk.bannerSelector },
      accept: { host: 'vivus-consent', selector: sdk.acceptSelector },
      cookie: 'vivus_consent',
    };
    all.push({ id: 'vivus', name: 'vivus-consent (this repo)', page: 'vivus.html', ...ours });
    // pkg/README's "One tag": an external module script (found by the preload scanner) and a JSON config block.
    all.push({ id: 'vivus-onetag', name: 'vivus-consent, one tag', page: 'vivus-onetag.html', ...ours });
    // The same, with <link rel=modulepreload/preload> for the entry, glue and wasm in <head>.
    all.push({ id: 'vivus-preload', name: 'vivus-consent + preload hints', page: 'vivus-preload.html', ...ours });
  }
  return WANT ? all.filter((c) => WANT.includes(c.id)) : all;
}

// ---------------------------------------------------------------------------
// 3. The site and the server.

function assembleSite() {
  rmSync(SITE, { recursive: true, force: true });
  const www = join(SITE, 'www');
  mkdirSync(join(www, 'lib/cookieconsent'), { recursive: true });
  mkdirSync(join(www, 'lib/klaro'), { recursive: true });
  const nm = join(WORK, 'node_modules');
  for (const f of ['cookieconsent.umd.js', 'cookieconsent.css']) {
    cpSync(join(nm, 'vanilla-cookieconsent/dist', f), join(www, 'lib/cookieconsent', f));
  }
  cpSync(join(nm, 'klaro/dist/klaro.js'), join(www, 'lib/klaro/klaro.js'));
  // A copy, not a symlink: the static handler may refuse to follow links out of its root.
  if (existsSync(PKG)) cpSync(PKG, join(SITE, 'pkg'), { recursive: true });
  writeFileSync(join(www, 'floor.html'), floorPage());
  writeFileSync(join(www, 'cookieconsent.html'), cookieconsentPage());
  writeFileSync(join(www, 'klaro.html'), klaroPage());
}

// The static handler sends Last-Modified and no Cache-Control, so Chromium's heuristic
// freshness (10% of the file's age) would drift during the run: files written a minute ago
// are revalidated, files written ten minutes ago are not. Old modification times make every
// file fresh for the returning visit in every run, as long-lived cache headers would.
const SITE_MTIME = new Date('2020-01-01T00:00:00Z');
function ageSite(dir = SITE) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) ageSite(p);
    utimesSync(p, SITE_MTIME, SITE_MTIME);
  }
}

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

async function waitHttp(url, child, ms = 20000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`server exited with code ${child.exitCode}`);
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server not answering ${url} after ${ms} ms`);
}

/** `cargo build --release -p vivus-consent-server` (a no-op when fresh), unless SERVER_BIN names another binary. */
function buildServer() {
  if (process.env.SERVER_BIN || process.env.BENCH_NO_BUILD) return;
  log('cargo build --release -p vivus-consent-server');
  const r = spawnSync('cargo', ['build', '-q', '--release', '-p', 'vivus-consent-server'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) log('the service did not build; the pages are served by a node static server and ours is not measured');
}

/** The consent service when it is built (it must be, for ours); else a plain static server. */
async function startServer() {
  const port = Number(process.env.PORT ?? 0) || (await freePort());
  const base = `http://127.0.0.1:${port}`;
  if (existsSync(SERVER_BIN)) {
    const data = join(WORK, 'service');
    rmSync(data, { recursive: true, force: true });
    mkdirSync(join(data, 'keys'), { recursive: true });
    const args = [
      '--listen', `127.0.0.1:${port}`,
      '--database', join(data, 'ledger.sqlite3'),
      '--key-dir', join(data, 'keys'),
      '--static-dir', SITE,
      '--rate-limit-per-second', '0',
    ];
    const child = spawn(SERVER_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, RUST_LOG: 'warn' } });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    try {
      await waitHttp(`${base}/healthz`, child);
    } catch (e) {
      child.kill();
      throw new Error(`${e.message}\n${SERVER_BIN} ${args.join(' ')}\n${stderr}`);
    }
    return { kind: 'vivus-consent-server', base, child, args };
  }
  log(`${relative(ROOT, SERVER_BIN)} not built: serving the pages with a node static server; ours is not measured`);
  const child = spawn(process.execPath, [join(BENCH, 'lib/static-server.mjs'), SITE, String(port)], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitHttp(`${base}/floor.html`, child);
  return { kind: 'node static server (service not built)', base, child, args: [] };
}

// ---------------------------------------------------------------------------
// 4. One run: fresh context, first visit, accept, returning visit.

const SETTLE_MS = 250; // after the banner shows, so late long tasks and shifts are counted

function pageSpec(c) {
  return c.banner ? { host: c.banner.host ?? null, selector: c.banner.selector } : { host: null, selector: null };
}

/** Centre of an element (in a shadow root captured by the probe, if `host`), or null. */
function centreOf({ host, selector }) {
  let el = null;
  if (host) {
    // Only roots still in the page: ours draws its banner in a first-stage host that the SDK replaces.
    for (const r of window.__bench.roots) if (r.host.isConnected && r.host.matches(host)) el = el ?? r.querySelector(selector);
  } else el = document.querySelector(selector);
  if (!el) return null;
  el.scrollIntoView({ block: 'nearest' });
  const r = el.getBoundingClientRect();
  return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
}

function readBench() {
  const B = window.__bench;
  const nav = performance.getEntriesByType('navigation')[0];
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  return {
    bannerInDomAt: B.bannerInDomAt,
    bannerAt: B.bannerAt,
    readyAt: B.readyAt,
    // Forward-compatible: if the SDK measures its token verification with the User Timing
    // API (performance.measure('vivus-consent:verify', ...)), those durations are read here.
    verify: performance.getEntriesByType('measure').filter((e) => e.name.startsWith('vivus-consent:verify')).map((e) => e.duration),
    bannerVia: B.bannerVia,
    clickAt: B.clickAt,
    gatedRanAt: window.__gatedRanAt ?? null,
    longtasks: B.longtasks,
    shifts: B.shifts,
    error: B.error,
    now: performance.now(),
    fcp: fcp ? fcp.startTime : null,
    docEnd: nav ? nav.responseEnd : null,
    domContentLoaded: nav ? nav.domContentLoadedEventEnd : null,
    load: nav ? nav.loadEventEnd : null,
    resources: performance.getEntriesByType('resource').map((e) => ({
      url: e.name,
      type: e.initiatorType,
      start: e.startTime,
      end: e.responseEnd,
      transfer: e.transferSize,
      encoded: e.encodedBodySize,
      decoded: e.decodedBodySize,
    })),
  };
}

const tbt = (tasks) => tasks.reduce((s, t) => s + Math.max(0, t.duration - 50), 0);
const cls = (shifts) => shifts.reduce((s, e) => s + e.value, 0);

const STRIKES = 3;

async function run(browser, server, c, throttle, { screenshot, firstOnly = false } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'ru-RU' });
  let stage = 'setup';
  const errors = [];
  const fail = (e) => `${stage}: ${e.message.split('\n')[0]}${errors.length ? ` (page errors: ${[...new Set(errors)].join(' | ')})` : ''}`;
  try {
    await context.addInitScript(probe, pageSpec(c));
    const page = await context.newPage();
    if (throttle !== 1) {
      const cdp = await context.newCDPSession(page);
      await cdp.send('Emulation.setCPUThrottlingRate', { rate: throttle });
    }
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && !/favicon|status of 404/.test(m.text()) && errors.push(m.text()));
    const bodies = new Map();
    const onResponse = async (r) => {
      try {
        if (r.request().method() === 'GET') bodies.set(r.url(), await r.body());
      } catch {}
    };
    page.on('response', onResponse);
    const url = `${server.base}/${c.page}`;
    const timeout = 15000 * throttle; // page loads
    const quick = 5000 * throttle; // things that take milliseconds when they work
    const wait = (fn, arg, ms = quick, polling = 20) => page.waitForFunction(fn, arg, { timeout: ms, polling });

    // First visit. A failure here loses the run.
    stage = 'first visit';
    await page.goto(url, { waitUntil: 'load', timeout });
    stage = 'banner visible';
    if (c.banner) await wait(() => window.__bench.bannerAt !== null, null, timeout);
    await wait((ms) => performance.now() - (window.__bench.bannerAt ?? 0) >= ms, SETTLE_MS, timeout, 50);
    const first = await page.evaluate(readBench);
    page.off('response', onResponse);
    if (screenshot) await page.screenshot({ path: screenshot });

    const preBanner = first.resources.filter((r) => c.banner && r.end <= first.bannerAt);
    // Long tasks that start once the library's last file has arrived run the library's code.
    const libArrived = preBanner.length ? Math.max(...preBanner.map((r) => r.end)) : null;
    const out = {
      first: {
        libArrived,
        tbtAfterLib: libArrived === null ? null : tbt(first.longtasks.filter((t) => t.start >= libArrived)),
        bannerInDom: first.bannerInDomAt,
        bannerVisible: first.bannerAt,
        bannerVia: first.bannerVia,
        sdkReady: first.readyAt,
        fcp: first.fcp,
        docEnd: first.docEnd,
        domContentLoaded: first.domContentLoaded,
        load: first.load,
        tbt: tbt(first.longtasks),
        longTasks: first.longtasks.length,
        longestTask: first.longtasks.reduce((m, t) => Math.max(m, t.duration), 0),
        longestTaskStart: first.longtasks.reduce((m, t) => (m === null || t.duration > m.duration ? t : m), null)?.start ?? null,
        cls: cls(first.shifts),
        gatedBeforeAccept: c.banner ? first.gatedRanAt : null,
        gated: c.banner ? null : first.gatedRanAt,
        error: first.error,
      },
      // What the page fetched before the banner showed, other than the document itself.
      preBanner: preBanner.map((r) => ({ ...r, url: r.url.replace(server.base, '') })),
      bodies,
      acceptToGated: null,
      acceptToRecorded: null,
      returning: null,
      failed: null,
    };

    // Accept and returning visit. A failure here keeps the first-visit figures.
    try {
      if (firstOnly) throw new Error(`skipped after ${STRIKES} failures in a row`);
      if (c.accept) {
        stage = 'accept';
        const pt = await page.evaluate(centreOf, { host: c.accept.host ?? null, selector: c.accept.selector });
        if (!pt) throw new Error(`accept button ${c.accept.selector} not found`);
        await page.mouse.click(pt.x, pt.y);
        await wait(() => window.__gatedRanAt != null);
        const a = await page.evaluate(() => ({ clickAt: window.__bench.clickAt, gatedRanAt: window.__gatedRanAt }));
        out.acceptToGated = a.gatedRanAt - a.clickAt;
        // Consent stored (ours: the token is back from the service and in the cookie).
        stage = 'consent stored';
        await wait((name) => document.cookie.split('; ').some((kv) => kv.startsWith(`${name}=`)), c.cookie);
        if (c.id.startsWith('vivus')) {
          await wait(() => window.__bench.recordedAt !== null);
          out.acceptToRecorded = await page.evaluate(() => window.__bench.recordedAt - window.__bench.clickAt);
        }
      }

      // Returning visit: same context (cookies, storage, HTTP cache), new navigation.
      stage = 'returning visit';
      await page.goto(url, { waitUntil: 'load', timeout });
      await wait(() => window.__gatedRanAt != null);
      // Two more frames: a banner that wrongly reappears has been drawn by then (each library
      // decides before it runs the gated script).
      await page.evaluate(() => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok))));
      const back = await page.evaluate(readBench);
      out.returning = {
        gated: back.gatedRanAt,
        sdkReady: back.readyAt,
        // Bytes that crossed the network for subresources (0 when all came from the HTTP cache).
        transferred: back.resources.reduce((n, x) => n + (x.transfer ?? 0), 0),
        bannerShown: back.bannerAt !== null,
        tbt: tbt(back.longtasks),
        longTasks: back.longtasks.length,
        cls: cls(back.shifts),
        verify: back.verify,
      };
    } catch (e) {
      out.failed = fail(e);
    }
    return out;
  } catch (e) {
    e.message = fail(e);
    throw e;
  } finally {
    await context.close();
  }
}

// ---------------------------------------------------------------------------
// 5. Token verification in the browser: the core's verify, built for wasm32 with the
// SDK's profile (bench/verify-wasm), timed on a token the running service issued.

const VERIFY_PAGES = 7; // fresh contexts: each gives one cold first call
const VERIFY_BATCHES = 9; // per page
const VERIFY_PER_BATCH = 50;

function buildVerifyWasm() {
  if (process.env.BENCH_NO_BUILD && !existsSync(join(WORK, 'target-verify/wasm32-unknown-unknown/release/vivus_consent_bench_verify.wasm'))) return null;
  const manifest = join(BENCH, 'verify-wasm/Cargo.toml');
  const target = join(WORK, 'target-verify');
  log('cargo build bench/verify-wasm (wasm32, the SDK profile settings)');
  const r = process.env.BENCH_NO_BUILD ? { status: 0 } : spawnSync('cargo', ['build', '-q', '--release', '--target', 'wasm32-unknown-unknown', '--manifest-path', manifest], {
    env: { ...process.env, CARGO_TARGET_DIR: target },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) return null;
  const out = join(SITE, 'www/verify.wasm');
  cpSync(join(target, 'wasm32-unknown-unknown/release/vivus_consent_bench_verify.wasm'), out);
  // The SDK's wasm goes through wasm-opt -Oz (make pkg); so does this one, when binaryen is there.
  const opt = join(ROOT, 'node_modules/.bin/wasm-opt');
  if (existsSync(opt)) execFileSync(opt, ['-Oz', out, '-o', out]);
  return out;
}

async function issueToken(base) {
  const policy = await (await fetch(`${base}/v1/policy`)).json();
  const id = () => randomBytes(16).toString('base64url');
  const request = {
    id: id(),
    subject: id(),
    policy: { version: policy.version, digest: policy.digest },
    language: 'ru',
    categories: { necessary: true, analytics: true, marketing: true },
    policyAccepted: true,
    source: 'banner',
    gpc: false,
  };
  const r = await fetch(`${base}/v1/consents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(request),
  });
  if (!r.ok) throw new Error(`POST /v1/consents: ${r.status} ${await r.text()}`);
  return { token: (await r.json()).token, digest: policy.digest };
}

/** In the page: instantiate, one cold verification, then batches (performance.now() is coarse). */
async function verifyInPage({ token, jwks, issuer, digest, batches, perBatch }) {
  const t0 = performance.now();
  const { instance } = await WebAssembly.instantiateStreaming(fetch('/verify.wasm'));
  const instantiateMs = performance.now() - t0;
  const x = instance.exports;
  const enc = new TextEncoder();
  [token, JSON.stringify(jwks), issuer, digest].forEach((s, slot) => {
    const bytes = enc.encode(s);
    const at = x.input(slot, bytes.length);
    new Uint8Array(x.memory.buffer, at, bytes.length).set(bytes);
  });
  if (x.prepare() !== 0) return { code: 'key set did not parse' };
  const now = Date.now() / 1000;
  let t = performance.now();
  const code = x.verify(1, now);
  const coldMs = performance.now() - t;
  if (code !== 0) return { code };
  const perVerify = [];
  for (let i = 0; i < batches; i++) {
    t = performance.now();
    const c = x.verify(perBatch, now);
    perVerify.push((performance.now() - t) / perBatch);
    if (c !== 0) return { code: c };
  }
  return { code: 0, coldMs, instantiateMs, perVerify };
}

/** Token verification at each CPU setting, or a note saying why it was not measured. */
async function verifyAll(browser, server) {
  try {
    if (!buildVerifyWasm()) return { note: 'bench/verify-wasm did not build: not measured' };
    const { token, digest } = await issueToken(server.base);
    const jwks = await (await fetch(`${server.base}/.well-known/jwks.json`)).json();
    const inputs = { token, jwks, issuer: 'vivus-consent', digest };
    const out = {
      method:
        `\`vivus_consent_core::token::verify\` compiled to wasm32 with the SDK's profile settings (opt-level z, LTO, panic=abort) and wasm-opt -Oz, ` +
        `called from the page without wasm-bindgen (bench/verify-wasm) on a token the running service issued; ` +
        `${VERIFY_PAGES} fresh pages, each: instantiate, the key set parsed (untimed), one verification timed alone ("cold": the first call, which includes V8's lazy compilation of the functions it reaches; performance.now() resolution is 0.1 ms without cross-origin isolation), ` +
        `then ${VERIFY_BATCHES} batches of ${VERIFY_PER_BATCH} ("warm": batch time / ${VERIFY_PER_BATCH})`,
      byThrottle: {},
    };
    for (const t of THROTTLE) {
      const warm = [];
      const cold = [];
      const inst = [];
      for (let i = 0; i < VERIFY_PAGES; i++) {
        const r = await measureVerify(browser, server, t, inputs);
        if (r.code !== 0) return { note: `verification failed in the page (code ${r.code}): not measured` };
        warm.push(...r.perVerify);
        cold.push(r.coldMs);
        inst.push(r.instantiateMs);
      }
      out.byThrottle[`x${t}`] = { perVerifyMs: summarize(warm), coldMs: summarize(cold), instantiateMs: summarize(inst) };
    }
    out.perVerifyMs = out.byThrottle[`x${THROTTLE[0]}`].perVerifyMs;
    return out;
  } catch (e) {
    return { note: `token verification not measured: ${e.message}` };
  }
}

async function measureVerify(browser, server, throttle, inputs) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    if (throttle !== 1) {
      const cdp = await context.newCDPSession(page);
      await cdp.send('Emulation.setCPUThrottlingRate', { rate: throttle });
    }
    await page.goto(`${server.base}/floor.html`);
    return await page.evaluate(verifyInPage, { ...inputs, batches: VERIFY_BATCHES, perBatch: VERIFY_PER_BATCH });
  } finally {
    await context.close();
  }
}

// ---------------------------------------------------------------------------
// 6. Sizes, computed here from the bytes the page received.

function compressed(buf) {
  return {
    raw: buf.length,
    gzip: gzipSync(buf, { level: 9 }).length,
    brotli: brotliCompressSync(buf, {
      params: { [zc.BROTLI_PARAM_QUALITY]: 11, [zc.BROTLI_PARAM_SIZE_HINT]: buf.length },
    }).length,
  };
}

/** Sizes of a wasm module's sections (code, data, imports, the rest), raw and brotli. */
function wasmSections(buf) {
  const NAMES = { 2: 'import', 10: 'code', 11: 'data' };
  const parts = {};
  let i = 8; // magic + version
  const leb = () => {
    let r = 0;
    let shift = 0;
    let b;
    do {
      b = buf[i++];
      r += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return r;
  };
  while (i < buf.length) {
    const id = buf[i++];
    const len = leb();
    const name = NAMES[id] ?? 'other';
    parts[name] = Buffer.concat([parts[name] ?? Buffer.alloc(0), buf.subarray(i, i + len)]);
    i += len;
  }
  return Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, { raw: v.length, brotli: compressed(v).brotli }]));
}

function sizesOf(c, sample, base) {
  const files = sample.preBanner.map((r) => {
    const body = sample.bodies.get(base + r.url);
    if (!body) throw new Error(`${c.id}: no body captured for ${r.url}`);
    const f = { url: r.url, type: r.type, served: r.encoded, ...compressed(body) };
    if (r.url.endsWith('.wasm')) f.sections = wasmSections(body);
    return f;
  });
  const total = { raw: 0, gzip: 0, brotli: 0, served: 0 };
  for (const f of files) for (const k in total) total[k] += f[k];
  const html = sample.bodies.get(`${base}/${c.page}`);
  return { files, total, html: html ? compressed(html) : null };
}

// ---------------------------------------------------------------------------
// 7. Machine and versions.

function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  return {
    cpu: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? cpus()[0]?.model,
    cores: cpus().length,
    kernel: release(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  };
}

function gitRev() {
  const r = spawnSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  return r.stdout.trim() || null;
}

const METHOD = [
  'Pages: one vivus.kz-like page body in Russian (header, text, loan form) for all; the same three categories (necessary, analytics, marketing); the competitors get the same Russian banner text (title, ~50 words, policy link, accept all / reject all / settings, preferences with the three categories) in their inline config; ours ships its own ru/kk text. One gated marketing script per page (`type="text/plain" data-category="marketing"` for cookieconsent and ours, `data-type="text/javascript" data-name="marketing"` for Klaro) sets `window.__gatedRanAt = performance.now()`; on the no-library page it is a plain inline script. Each library loads at the end of `<body>` from its npm dist files (cookieconsent: `cookieconsent.umd.js` + `cookieconsent.css`; Klaro: `klaro.js`, CSS included), its config inline. Ours, as pkg/README shows it: "vivus-consent (this repo)" is the `<script type="module">` quick start (an inline module imports `/pkg/vivus-consent.js` and calls `init({jwks, language: \'ru\'})` with the running service\'s key set inline); "one tag" is `<script type="module" src="/pkg/vivus-consent.js">` with the same config in a `<script type="application/json" id="vivus-consent-config">` block; "+ preload hints" is the quick start with `<link rel="modulepreload">` for the two JS files and `<link rel="preload" as="fetch" crossorigin>` for the wasm in `<head>`. cookieconsent needs `hideFromBots: false`, as headless Chromium reports `navigator.webdriver`.',
  'Clock: the page\'s `performance.now()`, 0 = navigation start. A script injected before any page script (`addInitScript`) watches for the banner element (cookieconsent `#cc-main .cm`, Klaro `.klaro .cookie-notice`, ours the banner inside the `<vivus-consent>` shadow root, captured by wrapping `attachShadow`). "In the DOM": the first MutationObserver callback (childList) in which the element exists. "Visible": the first requestAnimationFrame callback in which it has a box inside the viewport and `checkVisibility({opacityProperty, visibilityProperty})` is true (not display:none, visibility:hidden or opacity:0, itself or an ancestor), i.e. the first frame that paints it; checking only there forces no extra style or layout work inside the libraries\' own tasks. cookieconsent builds its banner hidden and starts the fade-in 100 ms later (`setTimeout(..., 100)` adding `cc--anim`), so its two figures differ by that delay.',
  `First visit: \`page.goto(url, {waitUntil: 'load'})\`, wait for the banner, then ${SETTLE_MS} ms more so late long tasks and shifts are delivered. Long tasks: \`PerformanceObserver({type: 'longtask', buffered: true})\`; total blocking time = Σ max(0, duration − 50 ms) over all long tasks from navigation start to that point (not Lighthouse's FCP→TTI window). Layout shift: Σ of \`layout-shift\` entries without recent input over the same window.`,
  'Accept: a trusted mouse click (CDP input) on the accept-all button at its centre; the time is the page clock difference between the click event\'s `timeStamp` (a capture listener on `window`) and `__gatedRanAt`. Ours includes what its accept does before the gated script runs (the consent service round trip, if it waits for it).',
  'Returning visitor: after accept, wait until the library\'s consent cookie is set (ours: the token back from the service), then navigate the same tab again (same context: cookies, storage and HTTP cache kept) and take `__gatedRanAt`. The no-library page goes through the same two navigations, so its second one is the floor with the same cache state.',
  'HTTP cache: the service sends `Last-Modified` and no `Cache-Control`; the served files get a modification time in 2020, so Chromium\'s heuristic freshness keeps them all fresh and the returning visit reads every file from the HTTP cache in every run (as with long-lived cache headers), instead of a freshness that drifts with the files\' age during the run. No compression on the wire (loopback); the compressed sizes above are computed, not served.',
  'CPU throttling: CDP `Emulation.setCPUThrottlingRate` on the page\'s session before the first navigation. Network is loopback, unthrottled.',
  'Statistics: median, p25 and p75 (linear interpolation), min and max in results.json. Ratios are medians over vanilla-cookieconsent\'s median from the same run.',
];

// ---------------------------------------------------------------------------

async function main() {
  const t0 = Date.now();
  const loadBefore = loadavg();
  installLibs();
  const sdk = findSdk();
  if (!sdk) log('pkg/ has no built SDK (run `make pkg`): ours is not measured');
  assembleSite();
  buildServer();
  const server = await startServer();
  log(`serving ${relative(ROOT, SITE)} with ${server.kind} at ${server.base}`);
  const list = contenders(server.kind === 'vivus-consent-server' ? sdk : null);
  if (sdk && server.kind === 'vivus-consent-server') {
    const jwks = await (await fetch(`${server.base}/.well-known/jwks.json`)).json();
    const config = sdk.config(jwks);
    writeFileSync(join(SITE, 'www/vivus.html'), vivusPage({ entry: sdk.entry, config }));
    writeFileSync(join(SITE, 'www/vivus-preload.html'), vivusPage({ entry: sdk.entry, config, preload: sdk.files }));
    writeFileSync(join(SITE, 'www/vivus-onetag.html'), vivusPage({ entry: sdk.entry, config, oneTag: true }));
  }
  ageSite();

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-gpu'],
  });
  const shots = join(WORK, 'shots');
  mkdirSync(shots, { recursive: true });

  const samples = {}; // throttle -> id -> [run]
  const failures = [];
  const sizes = {};
  const versions = { chromium: browser.version() };
  let verify = null;
  try {
    for (const throttle of THROTTLE) {
      samples[throttle] = Object.fromEntries(list.map((c) => [c.id, []]));
      // One warm-up round (not recorded), before the first setting only: the server, the OS
      // file cache and the browser process are warm for everyone (each run's HTTP cache is its
      // own fresh context's anyway).
      for (const c of throttle === THROTTLE[0] ? list : []) {
        await run(browser, server, c, throttle)
          .then((r) => r.failed && log(`warm-up ${c.id}: ${r.failed}`))
          .catch((e) => log(`warm-up ${c.id}: ${e.message}`));
      }
      // A contender that keeps failing would spend its timeouts on every run and blow the
      // time budget: after STRIKES failures in a row, its later stages (or whole runs) stop.
      const strikes = Object.fromEntries(list.map((c) => [c.id, { whole: 0, later: 0 }]));
      for (let i = 0; i < RUNS; i++) {
        // Interleaved, rotated order: drift on the shared machine lands on every contender alike.
        for (let k = 0; k < list.length; k++) {
          const c = list[(i + k) % list.length];
          const st = strikes[c.id];
          if (st.whole >= STRIKES) {
            failures.push({ throttle, id: c.id, run: i, error: `skipped: ${STRIKES} failed runs in a row` });
            continue;
          }
          try {
            const shot = i === 0 && c.banner ? join(shots, `${c.id}-x${throttle}.png`) : null;
            const r = await run(browser, server, c, throttle, { screenshot: shot, firstOnly: st.later >= STRIKES });
            st.whole = 0;
            st.later = r.failed ? st.later + 1 : 0;
            if (throttle === THROTTLE[0] && !sizes[c.id]) sizes[c.id] = sizesOf(c, r, server.base);
            delete r.bodies;
            samples[throttle][c.id].push(r);
            if (r.failed) {
              failures.push({ throttle, id: c.id, run: i, error: r.failed });
              log(`x${throttle} ${c.id} run ${i}: ${r.failed}`);
            }
          } catch (e) {
            st.whole += 1;
            failures.push({ throttle, id: c.id, run: i, error: e.message.split('\n')[0] });
            log(`x${throttle} ${c.id} run ${i}: ${e.message.split('\n')[0]}`);
          }
        }
        log(`x${throttle} run ${i + 1}/${RUNS} done (${Math.round((Date.now() - t0) / 1000)} s)`);
      }
    }
    if (list.some((c) => c.id.startsWith('vivus'))) verify = await verifyAll(browser, server);
  } finally {
    await browser.close();
    server.child.kill();
  }

  const floorHtml = sizes.floor?.html;
  for (const c of list) {
    const s = sizes[c.id];
    // The inline config (and, for the competitors, the banner text) is part of each integration.
    if (s?.html && floorHtml) s.inlineConfig = { raw: s.html.raw - floorHtml.raw, gzip: s.html.gzip - floorHtml.gzip, brotli: s.html.brotli - floorHtml.brotli };
  }

  const metrics = {
    bannerInDom: (r) => r.first.bannerInDom,
    bannerVisible: (r) => r.first.bannerVisible,
    sdkReady: (r) => r.first.sdkReady,
    fcp: (r) => r.first.fcp,
    docEnd: (r) => r.first.docEnd,
    domContentLoaded: (r) => r.first.domContentLoaded,
    tbt: (r) => r.first.tbt,
    longTasks: (r) => r.first.longTasks,
    longestTask: (r) => r.first.longestTask,
    longestTaskStart: (r) => r.first.longestTaskStart,
    tbtAfterLib: (r) => r.first.tbtAfterLib,
    cls: (r) => r.first.cls,
    acceptToGated: (r) => r.acceptToGated,
    acceptToRecorded: (r) => r.acceptToRecorded,
    returningGated: (r) => r.returning?.gated,
    returningSdkReady: (r) => r.returning?.sdkReady,
    // Only if the SDK marks it (performance.measure('vivus-consent:verify…')).
    sdkVerify: (r) => (r.returning?.verify?.length ? r.returning.verify[0] : null),
    firstVisitGated: (r) => r.first.gated,
  };
  const figures = {};
  for (const throttle of THROTTLE) {
    figures[`x${throttle}`] = {};
    for (const c of list) {
      const runs = samples[throttle][c.id];
      figures[`x${throttle}`][c.id] = Object.fromEntries(Object.entries(metrics).map(([k, f]) => [k, summarize(runs.map(f))]));
      // When each file the banner needed arrived (median over runs), for "where the time goes".
      const urls = [...new Set(runs.flatMap((r) => r.preBanner.map((f) => f.url)))];
      figures[`x${throttle}`][c.id].preBannerTimeline = urls.map((url) => ({
        url,
        start: summarize(runs.map((r) => r.preBanner.find((f) => f.url === url)?.start)),
        end: summarize(runs.map((r) => r.preBanner.find((f) => f.url === url)?.end)),
      }));
      figures[`x${throttle}`][c.id].anomalies = {
        gatedBeforeAccept: runs.filter((r) => r.first.gatedBeforeAccept !== null && r.first.gatedBeforeAccept !== undefined).length,
        bannerOnReturn: runs.filter((r) => r.returning?.bannerShown).length,
        probeErrors: runs.filter((r) => r.first.error).map((r) => r.first.error),
        bannerVia: runs.reduce((m, r) => ((m[r.first.bannerVia] = (m[r.first.bannerVia] ?? 0) + 1), m), {}),
      };
    }
  }

  const libVersion = (name) => JSON.parse(readFileSync(join(WORK, 'node_modules', name, 'package.json'), 'utf8')).version;
  const results = {
    date: new Date().toISOString(),
    durationSeconds: Math.round((Date.now() - t0) / 1000),
    commit: gitRev(),
    machine: machine(),
    // The machine is shared (other builds and benchmarks may run): the 1/5/15-minute load
    // averages when the run started and ended say how quiet it was.
    loadAverage: { start: loadBefore.map((x) => +x.toFixed(2)), end: loadavg().map((x) => +x.toFixed(2)) },
    versions: {
      ...versions,
      node: process.version,
      playwrightCore: require('playwright-core/package.json').version,
      'vanilla-cookieconsent': libVersion('vanilla-cookieconsent'),
      klaro: libVersion('klaro'),
    },
    server: { kind: server.kind, args: server.args.map((a) => (a.startsWith(ROOT) ? relative(ROOT, a) : a)) },
    runs: RUNS,
    throttle: THROTTLE,
    settleMs: SETTLE_MS,
    contenders: list.map(({ id, name, page, banner, accept }) => ({ id, name, page, banner, accept })),
    sizes,
    figures,
    samples: Object.fromEntries(
      THROTTLE.map((t) => [`x${t}`, Object.fromEntries(list.map((c) => [c.id, samples[t][c.id].map((r) => ({ ...r.first, acceptToGated: r.acceptToGated ?? null, acceptToRecorded: r.acceptToRecorded ?? null, returning: r.returning, preBanner: r.preBanner.map((f) => f.url) }))]))]),
    ),
    failures,
    notes: { vivus: sdk ? null : 'pkg/ has no built SDK: not measured' },
    verify,
    native: nativeCore(),
    method: METHOD,
  };
  results.targets = evaluateTargets(results);
  writeFileSync(join(BENCH, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  writeReport(results, join(BENCH, 'RESULTS.md'));
  log(`wrote bench/results.json and bench/RESULTS.md in ${results.durationSeconds} s`);
}

/**
 * The core's criterion benchmark (`make bench` runs it first; crates/core/benches/verify.rs)
 * and the size of the token it verifies: a typical consent token as the service issues it.
 */
function nativeCore() {
  const dir = join(process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target'), 'criterion');
  const names = ['verify typical token', 'sign typical token', 'peek claims', 'parse JWKS (one key)'];
  const benches = {};
  for (const name of names) {
    const file = join(dir, name, 'new', 'estimates.json');
    if (!existsSync(file)) continue;
    const { median } = JSON.parse(readFileSync(file, 'utf8'));
    benches[name] = {
      medianUs: +(median.point_estimate / 1000).toFixed(2),
      ci95Us: [+(median.confidence_interval.lower_bound / 1000).toFixed(2), +(median.confidence_interval.upper_bound / 1000).toFixed(2)],
    };
  }
  const token = readFileSync(join(ROOT, 'crates', 'core', 'benches', 'typical.jws'), 'utf8').trim();
  return { benches, tokenBytes: Buffer.byteLength(token), note: Object.keys(benches).length ? null : 'no criterion results: run make bench' };
}

/** `node bench/run.mjs --report`: rewrite RESULTS.md from results.json (e.g. after service.sh). */
function reportOnly() {
  const results = JSON.parse(readFileSync(join(BENCH, 'results.json'), 'utf8'));
  results.targets = evaluateTargets(results);
  writeReport(results, join(BENCH, 'RESULTS.md'));
  log('rewrote bench/RESULTS.md from bench/results.json');
}

(process.argv.includes('--report') ? Promise.resolve().then(reportOnly) : main()).catch((e) => {
  console.error(e);
  process.exit(1);
});
