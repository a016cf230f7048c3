// Browser benchmark (issues 7 and 12): vivus-consent next to vanilla-cookieconsent 3.1,
// Osano's cookieconsent 3.1 and Klaro 0.7, and a page with no consent library as the floor,
// in the same run, on this machine. Driven by `make bench`; plain node.
//
//   RUNS=15            runs per contender and CPU setting (fresh context each)
//   THROTTLE=1,4       CPU throttling rates (CDP Emulation.setCPUThrottlingRate)
//   CONTENDERS=...     comma-separated subset of floor,cookieconsent,osano,klaro,vivus,vivus-onetag,vivus-preload
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
import { createRequire } from 'node:module';

import { probe } from './lib/probe.js';
import { summarize } from './lib/stats.mjs';
import { floorPage, cookieconsentPage, osanoPage, klaroPage, vivusPage } from './lib/pages.mjs';
import { NetLog, compressed, pathBytes, timedResponses } from './lib/net.mjs';
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
// npm's `cookieconsent` is Osano's.
const LIBS = { 'vanilla-cookieconsent': '3.1.0', cookieconsent: '3.1.1', klaro: '0.7.22' };

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
  if (!existsSync(join(PKG, 'vivus-consent.js'))) return null;
  const ours = { host: 'vivus-consent' };
  return {
    entry: '/pkg/vivus-consent.js',
    // The service's keys inline, so a returning visitor verifies without a request; the
    // endpoint, issuer and cookie are the defaults (the service on the page's origin).
    config: (jwks) => ({ jwks, language: 'ru' }),
    // The preload page hints every module and wasm file it finds statically named in the entry
    // (see preloadHints): today the first-paint stage's.
    bannerSelector: '.banner',
    acceptSelector: '[data-vc="accept"]',
    // Everything a visitor can open: the settings dialog, then (closed again) the policy viewer
    // with its text rendered.
    explore: [
      { click: { ...ours, selector: '.banner [data-vc="settings"]' }, until: { ...ours, selector: '.dialog' } },
      { click: { ...ours, selector: '.dialog [data-vc="close"]' }, until: { ...ours, selector: '.dialog', gone: true } },
      { click: { ...ours, selector: '.banner [data-vc="policy"]' }, until: { ...ours, selector: '.policy h3' } },
    ],
  };
}

function contenders(sdk, { everyone = false } = {}) {
  const all = [
    {
      id: 'floor',
      name: 'no consent library',
      page: 'floor.html',
      banner: null,
      files: null,
    },
    {
      id: 'cookieconsent',
      name: `vanilla-cookieconsent ${LIBS['vanilla-cookieconsent']}`,
      page: 'cookieconsent.html',
      files: '/lib/cookieconsent/',
      banner: { selector: '#cc-main .cm' },
      accept: { selector: '#cc-main .cm .cm__btn[data-role="all"]' },
      explore: [{ click: { selector: '#cc-main .cm .cm__btn[data-role="show"]' }, until: { selector: '#cc-main .pm' } }],
      cookie: 'cc_cookie',
    },
    {
      id: 'osano',
      name: `Osano cookieconsent ${LIBS.cookieconsent}`,
      page: 'osano.html',
      files: '/lib/osano/',
      banner: { selector: '.cc-window' },
      accept: { selector: '.cc-window .cc-allow' },
      // No preferences UI: one status, allow or deny (the tab it leaves after a choice reopens this banner).
      explore: [],
      cookie: 'cookieconsent_status',
    },
    {
      id: 'klaro',
      name: `Klaro ${LIBS.klaro}`,
      page: 'klaro.html',
      files: '/lib/klaro/',
      banner: { selector: '.klaro .cookie-notice' },
      accept: { selector: '.klaro .cookie-notice .cm-btn-success' },
      explore: [{ click: { selector: '.klaro .cookie-notice .cn-learn-more' }, until: { selector: '.klaro .cookie-modal' } }],
      cookie: 'klaro',
    },
  ];
  if (sdk) {
    const ours = {
      files: '/pkg/',
      banner: { host: 'vivus-consent', selector: sdk.bannerSelector },
      accept: { host: 'vivus-consent', selector: sdk.acceptSelector },
      explore: sdk.explore,
      cookie: 'vivus_consent',
    };
    all.push({ id: 'vivus', name: 'vivus-consent (this repo)', page: 'vivus.html', ...ours });
    // pkg/README's "One tag": an external module script (found by the preload scanner) and a JSON config block.
    all.push({ id: 'vivus-onetag', name: 'vivus-consent, one tag', page: 'vivus-onetag.html', ...ours });
    // The same, with <link rel=modulepreload/preload> for the entry and the first-paint stage in <head>.
    all.push({ id: 'vivus-preload', name: 'vivus-consent + preload hints', page: 'vivus-preload.html', ...ours });
  }
  return WANT && !everyone ? all.filter((c) => WANT.includes(c.id)) : all;
}

// ---------------------------------------------------------------------------
// 3. The site and the server.

function assembleSite() {
  rmSync(SITE, { recursive: true, force: true });
  const www = join(SITE, 'www');
  mkdirSync(join(www, 'lib/cookieconsent'), { recursive: true });
  mkdirSync(join(www, 'lib/osano'), { recursive: true });
  mkdirSync(join(www, 'lib/klaro'), { recursive: true });
  const nm = join(WORK, 'node_modules');
  for (const f of ['cookieconsent.umd.js', 'cookieconsent.css']) {
    cpSync(join(nm, 'vanilla-cookieconsent/dist', f), join(www, 'lib/cookieconsent', f));
  }
  for (const f of ['cookieconsent.min.js', 'cookieconsent.min.css']) {
    cpSync(join(nm, 'cookieconsent/build', f), join(www, 'lib/osano', f));
  }
  cpSync(join(nm, 'klaro/dist/klaro.js'), join(www, 'lib/klaro/klaro.js'));
  // A copy, not a symlink: the static handler may refuse to follow links out of its root.
  if (existsSync(PKG)) cpSync(PKG, join(SITE, 'pkg'), { recursive: true });
  writeFileSync(join(www, 'floor.html'), floorPage());
  writeFileSync(join(www, 'cookieconsent.html'), cookieconsentPage());
  writeFileSync(join(www, 'osano.html'), osanoPage());
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
// 4. The runs. Each visitor path is a fresh browser context (cookies, storage and HTTP
// cache of its own) with the probe injected before any page script:
//   visit        first visit (banner, long tasks, bytes before the banner, heap), accept
//                after the page settled, then the returning visit in the same context
//                (gated tag, bytes before it, heap)
//   firstFrame   first visit, accept clicked in the frame that first shows the banner
//   explore      first visit, then everything a visitor can open (settings, policy viewer):
//                every byte the consent UI can make the page load

const SETTLE_MS = 250; // at least this long after the banner shows, so late long tasks and shifts are counted
const QUIET_MS = 150; // no request in flight for this long (and then an idle main thread): the page has loaded what it will

function pageSpec(c, firstFrameClick = false) {
  const banner = c.banner ? { host: c.banner.host ?? null, selector: c.banner.selector } : { host: null, selector: null };
  return { ...banner, firstFrameClick: firstFrameClick && c.accept ? { host: c.accept.host ?? null, selector: c.accept.selector } : null };
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

/** Whether a step's `until` holds: its element shown (a box, not hidden by CSS), or with `gone`, not. */
function stepDone({ host, selector, gone }) {
  let el = null;
  if (host) {
    for (const r of window.__bench.roots) if (r.host.isConnected && r.host.matches(host)) el = el ?? r.querySelector(selector);
  } else el = document.querySelector(selector);
  const r = el?.isConnected ? el.getBoundingClientRect() : null;
  const visible = !!r && r.width >= 1 && r.height >= 1 && el.checkVisibility({ opacityProperty: true, visibilityProperty: true });
  return visible !== gone;
}

function readBench() {
  const B = window.__bench;
  const nav = performance.getEntriesByType('navigation')[0];
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  return {
    timeOrigin: performance.timeOrigin,
    bannerInDomAt: B.bannerInDomAt,
    bannerAt: B.bannerAt,
    readyAt: B.readyAt,
    recordedAt: B.recordedAt,
    // Forward-compatible: if the SDK measures its token verification with the User Timing
    // API (performance.measure('vivus-consent:verify', ...)), those durations are read here.
    verify: performance.getEntriesByType('measure').filter((e) => e.name.startsWith('vivus-consent:verify')).map((e) => e.duration),
    bannerVia: B.bannerVia,
    clickAt: B.clickAt,
    gatedRanAt: window.__gatedRanAt ?? null,
    longtasks: B.longtasks,
    frames: B.frames,
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
    })),
  };
}

const tbt = (tasks) => tasks.reduce((s, t) => s + Math.max(0, t.duration - 50), 0);
const cls = (shifts) => shifts.reduce((s, e) => s + e.value, 0);

/**
 * Long tasks, each with whose script ran in it: the scripts of the long animation frames
 * (LoAF) that overlap the task. A task is the library's when one of them comes from the
 * library's files (`files`, a path prefix) or from the page itself: the page's inline scripts
 * are the library's integration (its config and start call; on the no-library page, the
 * one-line gated script). A task with no script of 5 ms or more in it (compiling, style,
 * layout, garbage collection) is unattributed.
 */
function attributeLongTasks(b, base, pageUrl, files) {
  const scripts = b.frames.flatMap((f) => f.scripts);
  return b.longtasks.map((t) => {
    const end = t.start + t.duration;
    const inside = scripts.filter((x) => x.start < end && x.start + x.duration > t.start);
    const lib = inside.some((x) => (files && x.url.startsWith(base + files)) || x.url === pageUrl);
    return { ...t, lib, attributed: inside.length > 0, scripts: [...new Set(inside.map((x) => x.url.replace(base, '')))] };
  });
}

/** Full garbage collection, then the JS heap (CDP HeapProfiler.collectGarbage + Runtime.getHeapUsage). */
async function heapAfterGc(cdp) {
  // Twice: objects freed by the first collection's finalizers go in the second.
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.send('HeapProfiler.collectGarbage');
  const h = await cdp.send('Runtime.getHeapUsage');
  return { used: h.usedSize, total: h.totalSize, arrayBuffers: h.backingStorageSize ?? null };
}

/** A fresh context and page with the probe, CPU throttling, the network log and a CDP session. */
async function openPage(browser, c, throttle, { firstFrameClick = false } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'ru-RU' });
  const errors = [];
  try {
    await context.addInitScript(probe, pageSpec(c, firstFrameClick));
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    if (throttle !== 1) await cdp.send('Emulation.setCPUThrottlingRate', { rate: throttle });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && !/favicon|status of 404/.test(m.text()) && errors.push(m.text()));
    const net = new NetLog(page);
    const timeout = 15000 * throttle; // page loads
    const quick = 5000 * throttle; // things that take milliseconds when they work
    // In the page through CDP Runtime.evaluate, not playwright's evaluate or waitForFunction:
    // those install playwright's own scripts (some 600 kB of heap) in the page, and would be in
    // the heap figures of some pages and not others.
    const evaluate = async (fn, arg) => {
      const r = await cdp.send('Runtime.evaluate', { expression: `(${fn})(${JSON.stringify(arg ?? null)})`, awaitPromise: true, returnByValue: true });
      if (r.exceptionDetails) throw new Error(r.exceptionDetails.exception?.description ?? r.exceptionDetails.text);
      return r.result.value;
    };
    const wait = async (fn, arg, ms = quick, polling = 20) => {
      const until = Date.now() + ms;
      for (;;) {
        // A navigation in progress has no document to ask yet: ask again.
        const v = await evaluate(fn, arg).catch((e) => (/context|destroyed|navigat/i.test(e.message) ? undefined : Promise.reject(e)));
        if (v) return v;
        if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${String(fn).slice(0, 80)}`);
        await new Promise((r) => setTimeout(r, polling));
      }
    };
    return { context, page, cdp, net, errors, timeout, quick, evaluate, wait };
  } catch (e) {
    await context.close();
    throw e;
  }
}

/**
 * Waits until the network is quiet and then the main thread idle (what arrived last, e.g. a
 * module loaded after the banner, has run), again if that run sent new requests; then two
 * more frames.
 */
async function settle(p) {
  const until = Date.now() + p.quick;
  for (;;) {
    await p.net.quiet(QUIET_MS, Math.max(0, until - Date.now()));
    const sent = p.net.entries.length;
    await p.evaluate((ms) => new Promise((ok) => requestIdleCallback(() => ok(true), { timeout: ms })), p.quick);
    if (p.net.entries.length === sent || Date.now() > until) break;
  }
  await p.evaluate(() => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(() => ok(true)))));
}

/** Runs a scenario in its own context; a failure says at which stage, with the page's errors. */
async function scenario(browser, c, throttle, opts, body) {
  const p = await openPage(browser, c, throttle, opts);
  const stage = { name: 'setup' };
  try {
    return await body(p, stage);
  } catch (e) {
    e.message = `${stage.name}: ${e.message.split('\n')[0]}${p.errors.length ? ` (page errors: ${[...new Set(p.errors)].join(' | ')})` : ''}`;
    throw e;
  } finally {
    await p.context.close();
  }
}

const STRIKES = 3;

/**
 * First visit, accept, returning visit. A failure before the banner loses the run; a
 * failure after it keeps the first-visit figures (`failed` says what went wrong).
 */
async function visitRun(browser, server, c, throttle, { screenshot, firstOnly = false } = {}) {
  return scenario(browser, c, throttle, {}, async (p, stage) => {
    const { page, cdp, net, evaluate, wait, timeout } = p;
    const url = `${server.base}/${c.page}`;
    stage.name = 'first visit';
    net.phase = 'first';
    await page.goto(url, { waitUntil: 'load', timeout });
    stage.name = 'banner visible';
    if (c.banner) await wait(() => window.__bench.bannerAt !== null, null, timeout);
    // Long tasks and shifts up to here: the banner, and whatever the library loads after it.
    await settle(p);
    await wait((ms) => performance.now() - (window.__bench.bannerAt ?? 0) >= ms, SETTLE_MS, timeout, 50);
    const first = await evaluate(readBench);
    stage.name = 'heap, first visit';
    const firstHeap = await heapAfterGc(cdp);
    if (screenshot) await page.screenshot({ path: screenshot });
    await net.drain();
    const firstResponses = timedResponses(net, 'first', first);
    const tasks = attributeLongTasks(first, server.base, url, c.files);
    const out = {
      first: {
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
        libLongTasks: tasks.filter((t) => t.lib).length,
        libTbt: tbt(tasks.filter((t) => t.lib)),
        unattributedLongTasks: tasks.filter((t) => !t.attributed).length,
        tasks,
        cls: cls(first.shifts),
        gatedBeforeAccept: c.banner ? first.gatedRanAt : null,
        gated: c.banner ? null : first.gatedRanAt,
        heap: firstHeap,
        error: first.error,
      },
      // Every response of the first visit until the banner showed (none on the no-library page).
      beforeBanner: c.banner ? pathBytes(firstResponses, server.base, first.bannerAt) : null,
      // When each of them was requested and arrived, for "where the time to the banner goes".
      preBanner: c.banner ? firstResponses.filter((r) => r.end !== null && r.end <= first.bannerAt).map((r) => ({ url: r.url.replace(server.base, ''), start: r.start, end: r.end })) : [],
      html: net.entries.find((e) => e.phase === 'first' && e.navigation)?.body ?? null,
      acceptToGated: null,
      acceptToRecorded: null,
      returning: null,
      beforeGated: null,
      failed: null,
    };

    // Accept and returning visit. A failure here keeps the first-visit figures.
    try {
      if (firstOnly) throw new Error(`skipped after ${STRIKES} failures in a row`);
      if (c.accept) {
        stage.name = 'accept';
        const pt = await evaluate(centreOf, { host: c.accept.host ?? null, selector: c.accept.selector });
        if (!pt) throw new Error(`accept button ${c.accept.selector} not found`);
        await page.mouse.click(pt.x, pt.y);
        await wait(() => window.__gatedRanAt != null);
        const a = await evaluate(() => ({ clickAt: window.__bench.clickAt, gatedRanAt: window.__gatedRanAt }));
        out.acceptToGated = a.gatedRanAt - a.clickAt;
        // Consent stored (ours: the token is back from the service and in the cookie).
        stage.name = 'consent stored';
        await wait((name) => document.cookie.split('; ').some((kv) => kv.startsWith(`${name}=`)), c.cookie);
        if (c.id.startsWith('vivus')) {
          await wait(() => window.__bench.recordedAt !== null);
          out.acceptToRecorded = await evaluate(() => window.__bench.recordedAt - window.__bench.clickAt);
        }
        await net.quiet(QUIET_MS, p.quick);
      }

      // Returning visit: same context (cookies, storage, HTTP cache), new navigation.
      stage.name = 'returning visit';
      net.phase = 'returning';
      await page.goto(url, { waitUntil: 'load', timeout });
      await wait(() => window.__gatedRanAt != null);
      // Two more frames: a banner that wrongly reappears has been drawn by then (each library
      // decides before it runs the gated script).
      await evaluate(() => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(() => ok(true)))));
      const back = await evaluate(readBench);
      stage.name = 'heap, returning visit';
      await settle(p);
      const backHeap = await heapAfterGc(cdp);
      await net.drain();
      out.beforeGated = pathBytes(timedResponses(net, 'returning', back), server.base, back.gatedRanAt);
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
        heap: backHeap,
      };
    } catch (e) {
      out.failed = `${stage.name}: ${e.message.split('\n')[0]}`;
    }
    return out;
  });
}

/**
 * First visit with the accept button clicked right after the frame that first shows the
 * banner (the probe clicks it: see lib/probe.js).
 */
async function firstFrameRun(browser, server, c, throttle) {
  return scenario(browser, c, throttle, { firstFrameClick: true }, async (p, stage) => {
    const { page, net, evaluate, wait, timeout } = p;
    net.phase = 'first';
    stage.name = 'first visit';
    await page.goto(`${server.base}/${c.page}`, { waitUntil: 'load', timeout });
    stage.name = 'banner visible';
    await wait(() => window.__bench.bannerAt !== null, null, timeout);
    stage.name = 'click after the first frame';
    await wait(() => window.__bench.clickAt !== null || window.__bench.error !== null);
    stage.name = 'gated tag after the click';
    await wait(() => window.__gatedRanAt != null);
    const b = await evaluate(readBench);
    if (b.clickAt === null) throw new Error(b.error);
    await net.drain();
    return {
      bannerVisible: b.bannerAt,
      // What the page still had to receive after the click before the gated script could run.
      loadedAfterClick: timedResponses(net, 'first', b)
        .filter((x) => x.end !== null && x.end > b.clickAt && x.end <= b.gatedRanAt)
        .map((x) => x.url.replace(server.base, '')),
      // From the frame that showed the banner to the click (the rest of that frame's work).
      clickLag: b.clickAt - b.bannerAt,
      clickToGated: b.gatedRanAt - b.clickAt,
    };
  });
}

/**
 * First visit, then everything the consent UI offers, opened one after the other as a visitor
 * would (ours: the settings dialog, then the policy viewer with its text; the peers: their
 * preferences dialog): every response the page received, with the on-demand parts.
 */
async function exploreRun(browser, server, c, throttle) {
  return scenario(browser, c, throttle, {}, async (p, stage) => {
    const { page, net, evaluate, wait, timeout } = p;
    net.phase = 'explore';
    stage.name = 'first visit';
    await page.goto(`${server.base}/${c.page}`, { waitUntil: 'load', timeout });
    if (c.banner) await wait(() => window.__bench.bannerAt !== null, null, timeout);
    await settle(p);
    for (const step of c.explore ?? []) {
      stage.name = `open ${step.click.selector}`;
      const pt = await evaluate(centreOf, { host: step.click.host ?? null, selector: step.click.selector });
      if (!pt) throw new Error(`${step.click.selector} not found`);
      await page.mouse.click(pt.x, pt.y);
      stage.name = `${step.until.gone ? 'gone' : 'shown'}: ${step.until.selector}`;
      await wait(stepDone, { host: step.until.host ?? null, selector: step.until.selector, gone: !!step.until.gone });
      await settle(p);
    }
    const b = await evaluate(readBench);
    await net.drain();
    return { everything: pathBytes(timedResponses(net, 'explore', b), server.base, null), steps: (c.explore ?? []).length };
  });
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
// 6. Machine and versions.

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
  'Pages: one vivus.kz-like page body in Russian (header, text, loan form) for all; the same three categories (necessary, analytics, marketing); the peers get the same Russian banner text (title, ~50 words, policy link, accept all / reject all / settings, preferences with the three categories where they have preferences) in their inline config; ours ships its own ru/kk text. One gated marketing script per page (`type="text/plain" data-category="marketing"` for vanilla-cookieconsent, Osano and ours, `data-type="text/javascript" data-name="marketing"` for Klaro) sets `window.__gatedRanAt = performance.now()`; on the no-library page it is a plain inline script. Each library loads at the end of `<body>` from its npm dist files (vanilla-cookieconsent: `cookieconsent.umd.js` + `cookieconsent.css`; Osano: `cookieconsent.min.js` + `cookieconsent.min.css`; Klaro: `klaro.js`, CSS included), its config inline. vanilla-cookieconsent needs `hideFromBots: false`, as headless Chromium reports `navigator.webdriver`.',
  'Osano cookieconsent has one status (allow/deny), no categories, no preferences dialog and no script blocking of its own. Its documentation ("Disabling cookies") tells integrators to enable cookies in `onInitialise` and `onStatusChange` when `this.options.type == \'opt-in\' && this.hasConsented()` (and to disable them in `onRevokeChoice`); the page does exactly that, with a dozen lines of its own that turn the `type="text/plain" data-category` scripts of analytics and marketing into running scripts. Those lines are in the page\'s inline config, so they count in its bytes.',
  'Ours, as pkg/README shows it: "vivus-consent (this repo)" is the `<script type="module">` quick start (an inline module imports `/pkg/vivus-consent.js` and calls `init({jwks, language: \'ru\'})` with the running service\'s key set inline); "one tag" is `<script type="module" src="/pkg/vivus-consent.js">` with the same config in a `<script type="application/json" id="vivus-consent-config">` block; "+ preload hints" is the quick start with `<link rel="modulepreload">` / `<link rel="preload" as="fetch" crossorigin>` in `<head>` for every script and wasm file the quick start page requested from `/pkg/` before its banner showed (learnt from one load of that page at the start of the run, so the hints follow the SDK\'s files). The issue\'s table shows the quick start. `consent-mode.js` is on no page (none has Google tags; each library would need the same defaults snippet).',
  'Clock: the page\'s `performance.now()`, 0 = navigation start. A script injected before any page script (`addInitScript`) watches for the banner element (vanilla-cookieconsent `#cc-main .cm`, Osano `.cc-window`, Klaro `.klaro .cookie-notice`, ours the banner inside the `<vivus-consent>` shadow root, captured by wrapping `attachShadow`). "In the DOM": the first MutationObserver callback (childList) in which the element exists. "Visible": the first requestAnimationFrame callback in which it has a box inside the viewport and `checkVisibility({opacityProperty, visibilityProperty})` is true (not display:none, visibility:hidden or opacity:0, itself or an ancestor), i.e. the first frame that paints it; checking only there forces no extra style or layout work inside the libraries\' own tasks. vanilla-cookieconsent builds its banner hidden and starts the fade-in 100 ms later (`setTimeout(..., 100)` adding `cc--anim`), Osano 20 ms later (removing `cc-invisible`), so their two figures differ by about that.',
  'Bytes per visitor path, from the network: every request the page made is recorded from the browser\'s network events (playwright, i.e. CDP Network) with its response body, whether it came over the wire or from the HTTP cache; each response gets the moment it arrived on the page\'s clock from its Resource Timing entry (the network\'s own timing where the page has none). A path\'s bytes are the sum, over the responses it received, of each body compressed with brotli 11 (gzip -9 beside it), plus the library\'s inline config (how much larger the page\'s HTML is, brotli 11, than the no-library page\'s). Not counted: the HTML document itself, and the consent service\'s API answers (`/v1/…`, `/.well-known/…`: the recorded choice, the key set, the policy text), which are data, listed apart. Paths: (a) first visit, the responses that arrived before the frame that showed the banner; (b) returning visitor (consent stored, same context), the responses that arrived before the gated script ran, from the cache or not; (c) everything: a fresh first visit, then every part of the consent UI opened one after the other by trusted clicks, each waited for until shown and the network quiet: ours the settings dialog, then the policy viewer until its text is rendered; vanilla-cookieconsent its preferences dialog; Klaro its settings modal; Osano has no preferences UI, so its path is the first visit. A URL fetched twice counts twice. (a) and (b) are taken in every run and shown as the median; (c) once per contender.',
  `First visit: \`page.goto(url, {waitUntil: 'load'})\`, wait for the banner, then until no request has been in flight for ${QUIET_MS} ms and the main thread is idle (\`requestIdleCallback\`), again if what ran sent new requests (so whatever the library loads and starts after its banner is in), then two frames, and at least ${SETTLE_MS} ms after the banner. Long tasks: \`PerformanceObserver({type: 'longtask', buffered: true})\`; total blocking time = Σ max(0, duration − 50 ms) over all long tasks from navigation start to that point (not Lighthouse's FCP→TTI window). Layout shift: Σ of \`layout-shift\` entries without recent input over the same window.`,
  'Whose long task: the Long Tasks API names no script for work in the page\'s own frame, so each long task is matched with the scripts of the long animation frames (`PerformanceObserver({type: \'long-animation-frame\', buffered: true})`, each script entry of 5 ms or more with its `sourceURL`) that overlap it in time. A long task is the library\'s when one of those scripts comes from the library\'s files (ours: anything served from `/pkg/`; the peers: their `/lib/<name>/` folder) or from the page itself (its inline scripts are the library\'s integration: the config and start call, Osano\'s gating code; on the no-library page only the one-line gated script). Tasks with no script entry at all (compiling, style and layout, garbage collection) are counted apart as unattributed; the no-library page\'s count of those is the floor.',
  'Accept after the page settled: a trusted mouse click (CDP input) on the accept-all button at its centre; the time is the page clock difference between the click event\'s `timeStamp` (a capture listener on `window`) and `__gatedRanAt`. Ours includes what its accept does before the gated script runs (the consent service round trip, if it waits for it).',
  'Click in the banner\'s first frame: a fresh first visit in which the probe, in the requestAnimationFrame callback that first finds the banner visible, queues a task (`setTimeout(…, 0)`, so it runs right after that frame is painted) that clicks the accept button: pointerdown, mousedown, pointerup, mouseup and click dispatched on it at its centre. The figure is the moment of that click → `__gatedRanAt`; "click lag" is how long after the frame\'s start the click came. Whatever the library still has to load or start at that moment is in the figure (the responses that arrived in between are listed in results.json as `loadedAfterClick`). The events are dispatched by the page, not by CDP input: a trusted click through the harness arrives a round trip later (6–40 ms on this shared machine when tried), and by then ours may already have loaded the SDK, so the figure would measure the harness. They are untrusted (`isTrusted` false); none of the four libraries looks at it.',
  'Returning visitor: after accept, wait until the library\'s consent cookie is set (ours: the token back from the service) and the network is quiet, then navigate the same tab again (same context: cookies, storage and HTTP cache kept) and take `__gatedRanAt`. The no-library page goes through the same two navigations, so its second one is the floor with the same cache state. "Over the no-library page" is the difference of the medians.',
  'JS heap: after the first visit settled (above), and again after the returning visit\'s gated script ran and the network was quiet: two full garbage collections (CDP `HeapProfiler.collectGarbage`), then CDP `Runtime.getHeapUsage` `usedSize`, the page renderer\'s V8 heap (what the page\'s scripts keep alive; the harness\'s own injected scripts are the same on every page). "Over the empty page" is the difference between the medians of a page and of the no-library page in the same run. ArrayBuffer backing stores, which hold ours\' WebAssembly linear memory, are outside that heap; `backingStorageSize` is shown apart. (`performance.measureUserAgentSpecificMemory()` would need a cross-origin-isolated page.)',
  'HTTP cache: the service sends `Last-Modified` and no `Cache-Control`; the served files get a modification time in 2020, so Chromium\'s heuristic freshness keeps them all fresh and the returning visit reads every file from the HTTP cache in every run (as with long-lived cache headers), instead of a freshness that drifts with the files\' age during the run. No compression on the wire (loopback); the compressed sizes above are computed, not served.',
  'CPU throttling: CDP `Emulation.setCPUThrottlingRate` on the page\'s session before the first navigation. Network is loopback, unthrottled.',
  'Statistics: median, p25 and p75 (linear interpolation), min and max in results.json. Ratios are medians over vanilla-cookieconsent\'s median from the same run.',
];

/**
 * The files the quick-start page requests from the package before its banner shows, learnt
 * from one load of it: what the preload page hints, whatever the SDK's files are called.
 */
async function learnPreloads(browser, server, c) {
  const r = await visitRun(browser, server, c, 1, { firstOnly: true });
  return r.beforeBanner.files.map((f) => f.url).filter((u) => u.startsWith(c.files) && (u.endsWith('.js') || u.endsWith('.mjs') || u.endsWith('.wasm')));
}

/** HTML brotli size over the no-library page's: the library's inline config (and, for the peers, banner text). */
function inlineConfig(html, floorHtml) {
  if (!html || !floorHtml) return null;
  const a = compressed(html);
  const b = compressed(floorHtml);
  return { raw: a.raw - b.raw, gzip: a.gzip - b.gzip, brotli: a.brotli - b.brotli };
}

/** A path's bytes with the inline config added, for the table: consent assets + config. */
function withConfig(path, config) {
  if (!path) return null;
  const total = { ...path.total };
  if (config) for (const k in total) total[k] += config[k];
  return { ...path, assets: path.total, inlineConfig: config, total };
}

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
  const byId = Object.fromEntries(contenders(server.kind === 'vivus-consent-server' ? sdk : null, { everyone: true }).map((c) => [c.id, c]));
  let config = null;
  if (sdk && server.kind === 'vivus-consent-server') {
    const jwks = await (await fetch(`${server.base}/.well-known/jwks.json`)).json();
    config = sdk.config(jwks);
    writeFileSync(join(SITE, 'www/vivus.html'), vivusPage({ entry: sdk.entry, config }));
    writeFileSync(join(SITE, 'www/vivus-onetag.html'), vivusPage({ entry: sdk.entry, config, oneTag: true }));
  }
  ageSite();

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-gpu'],
  });
  const shots = join(WORK, 'shots');
  mkdirSync(shots, { recursive: true });

  const samples = {}; // throttle -> id -> [visit run]
  const firstFrame = {}; // throttle -> id -> [first-frame run]
  const everything = {}; // id -> explore run
  const htmls = {}; // id -> the page's HTML as received
  const failures = [];
  const versions = { chromium: browser.version() };
  let preloads = null;
  let verify = null;
  try {
    if (list.some((c) => c.id === 'vivus-preload')) {
      try {
        preloads = await learnPreloads(browser, server, byId.vivus);
        log(`preload hints: ${preloads.join(', ')}`);
      } catch (e) {
        // The quick start itself fails: its runs will say why; the preload page hints nothing.
        preloads = [];
        log(`preload hints not learnt (${e.message.split('\n')[0]}): the preload page has none`);
      }
      writeFileSync(join(SITE, 'www/vivus-preload.html'), vivusPage({ entry: sdk.entry, config, preload: preloads }));
      ageSite();
    }
    for (const throttle of THROTTLE) {
      samples[throttle] = Object.fromEntries(list.map((c) => [c.id, []]));
      firstFrame[throttle] = Object.fromEntries(list.map((c) => [c.id, []]));
      // One warm-up round (not recorded), before the first setting only: the server, the OS
      // file cache and the browser process are warm for everyone (each run's HTTP cache is its
      // own fresh context's anyway).
      for (const c of throttle === THROTTLE[0] ? list : []) {
        await visitRun(browser, server, c, throttle)
          .then((r) => r.failed && log(`warm-up ${c.id}: ${r.failed}`))
          .catch((e) => log(`warm-up ${c.id}: ${e.message}`));
      }
      // A contender that keeps failing would spend its timeouts on every run and blow the
      // time budget: after STRIKES failures in a row, its later stages (or whole runs) stop.
      const strikes = Object.fromEntries(list.map((c) => [c.id, { whole: 0, later: 0, firstFrame: 0, explore: 0 }]));
      const failed = (id, run, what, e) => {
        failures.push({ throttle, id, run, error: `${what}: ${e}` });
        log(`x${throttle} ${id} run ${run} ${what}: ${e}`);
      };
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
            const r = await visitRun(browser, server, c, throttle, { screenshot: shot, firstOnly: st.later >= STRIKES });
            st.whole = 0;
            st.later = r.failed ? st.later + 1 : 0;
            htmls[c.id] ??= r.html;
            delete r.html;
            samples[throttle][c.id].push(r);
            if (r.failed) failed(c.id, i, 'visit', r.failed);
          } catch (e) {
            st.whole += 1;
            failed(c.id, i, 'visit', e.message.split('\n')[0]);
          }
          if (c.accept && st.firstFrame < STRIKES) {
            try {
              firstFrame[throttle][c.id].push(await firstFrameRun(browser, server, c, throttle));
              st.firstFrame = 0;
            } catch (e) {
              st.firstFrame += 1;
              failed(c.id, i, 'first-frame click', e.message.split('\n')[0]);
            }
          }
          // The everything path is the same bytes in every run: once per contender.
          if (!everything[c.id] && st.explore < STRIKES) {
            try {
              everything[c.id] = await exploreRun(browser, server, c, throttle);
            } catch (e) {
              st.explore += 1;
              failed(c.id, i, 'settings and policy viewer', e.message.split('\n')[0]);
            }
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

  // Bytes per visitor path: the first recorded run's files (the per-file tables) and, over
  // all runs, the totals (they differ only if what arrives before the banner or the gated tag does).
  const floorHtml = readFileSync(join(SITE, 'www/floor.html'));
  const paths = {};
  for (const c of list) {
    const runs = THROTTLE.flatMap((t) => samples[t][c.id]);
    const config = c.id === 'floor' ? null : inlineConfig(htmls[c.id], floorHtml);
    const one = (key) => withConfig(runs.find((r) => r[key])?.[key] ?? null, config);
    const spread = (key) => summarize(runs.filter((r) => r[key]).map((r) => withConfig(r[key], config).total.brotli));
    paths[c.id] = {
      inlineConfig: config,
      beforeBanner: one('beforeBanner'),
      beforeBannerBrotli: spread('beforeBanner'),
      beforeGated: one('beforeGated'),
      beforeGatedBrotli: spread('beforeGated'),
      everything: withConfig(everything[c.id]?.everything ?? null, config),
    };
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
    libLongTasks: (r) => r.first.libLongTasks,
    libTbt: (r) => r.first.libTbt,
    unattributedLongTasks: (r) => r.first.unattributedLongTasks,
    cls: (r) => r.first.cls,
    acceptToGated: (r) => r.acceptToGated,
    acceptToRecorded: (r) => r.acceptToRecorded,
    returningGated: (r) => r.returning?.gated,
    returningSdkReady: (r) => r.returning?.sdkReady,
    // Only if the SDK marks it (performance.measure('vivus-consent:verify…')).
    sdkVerify: (r) => (r.returning?.verify?.length ? r.returning.verify[0] : null),
    firstVisitGated: (r) => r.first.gated,
    heapFirst: (r) => r.first.heap?.used,
    heapReturning: (r) => r.returning?.heap?.used,
    arrayBuffersFirst: (r) => r.first.heap?.arrayBuffers,
    arrayBuffersReturning: (r) => r.returning?.heap?.arrayBuffers,
  };
  const figures = {};
  for (const throttle of THROTTLE) {
    figures[`x${throttle}`] = {};
    for (const c of list) {
      const runs = samples[throttle][c.id];
      const f = (figures[`x${throttle}`][c.id] = Object.fromEntries(Object.entries(metrics).map(([k, m]) => [k, summarize(runs.map(m))])));
      const ff = firstFrame[throttle][c.id];
      f.firstFrameClickToGated = summarize(ff.map((r) => r.clickToGated));
      f.firstFrameClickLag = summarize(ff.map((r) => r.clickLag));
      // When each file the banner needed arrived (median over runs), for "where the time goes".
      const urls = [...new Set(runs.flatMap((r) => r.preBanner.map((x) => x.url)))];
      f.preBannerTimeline = urls.map((url) => ({
        url,
        start: summarize(runs.map((r) => r.preBanner.find((x) => x.url === url)?.start)),
        end: summarize(runs.map((r) => r.preBanner.find((x) => x.url === url)?.end)),
      }));
      f.anomalies = {
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
      'cookieconsent (Osano)': libVersion('cookieconsent'),
      klaro: libVersion('klaro'),
    },
    server: { kind: server.kind, args: server.args.map((a) => (a.startsWith(ROOT) ? relative(ROOT, a) : a)) },
    runs: RUNS,
    throttle: THROTTLE,
    settleMs: SETTLE_MS,
    quietMs: QUIET_MS,
    contenders: list.map(({ id, name, page, banner, accept, files, explore }) => ({ id, name, page, banner, accept, files, explore })),
    preloads,
    paths,
    figures,
    samples: Object.fromEntries(
      THROTTLE.map((t) => [
        `x${t}`,
        Object.fromEntries(
          list.map((c) => [
            c.id,
            {
              visit: samples[t][c.id].map((r) => ({
                ...r.first,
                acceptToGated: r.acceptToGated,
                acceptToRecorded: r.acceptToRecorded,
                returning: r.returning,
                beforeBanner: r.beforeBanner && { brotli: r.beforeBanner.total.brotli, files: r.beforeBanner.files.map((x) => x.url) },
                beforeGated: r.beforeGated && { brotli: r.beforeGated.total.brotli, files: r.beforeGated.files.map((x) => x.url) },
                failed: r.failed,
              })),
              firstFrame: firstFrame[t][c.id],
            },
          ]),
        ),
      ]),
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
