// The end-to-end harness: the real consent service (the release binary, a fresh
// SQLite ledger and key directory in a temp dir, a free port) serving the demo site
// and the built package, and a real browser: Debian's Chromium driven by playwright-core,
// or (E2E_ENGINE=firefox|webkit) Firefox ESR or WebKitGTK through WebDriver, behind the
// same Playwright-shaped objects (webdriver.mjs), so a test is written once.
//
//   import { e2e, UI, ENGINES } from './support.mjs';
//   const h = e2e({ engines: ENGINES });     // one service + one browser per file
//   h.test('first visit shows the banner', async (t) => {
//     const page = await t.open('/');        // a fresh context (cookies, storage) per test
//     await UI.banner(page).waitFor();
//   });
//
// Environment: E2E_ENGINE (chromium, the default; firefox; webkit), VIVUS_SERVER_BIN
// (default target/release/vivus-consent-server), CHROMIUM (default /usr/bin/chromium),
// FIREFOX, GECKODRIVER, MINIBROWSER, WEBKITWEBDRIVER, E2E_HEADED=1, E2E_TRACE=1 (keeps a
// Playwright trace of failed Chromium tests in tests/e2e/out/).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';
import { launchWebDriver } from './webdriver.mjs';

export const ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const SERVER_BIN = process.env.VIVUS_SERVER_BIN
  ?? path.join(process.env.CARGO_TARGET_DIR ?? path.join(ROOT, 'target'), 'release', 'vivus-consent-server');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
/** The engines the suite runs in; a file says which of them it supports (`e2e({ engines })`). */
export const ENGINES = ['chromium', 'firefox', 'webkit'];
/** The engine of this run: `E2E_ENGINE`, Chromium by default. */
export const ENGINE = process.env.E2E_ENGINE ?? 'chromium';
if (!ENGINES.includes(ENGINE)) throw new Error(`E2E_ENGINE=${ENGINE}: one of ${ENGINES.join(', ')}`);
export const SCREENSHOTS = path.join(ROOT, 'docs', 'screenshots');
export const OUT = path.join(ROOT, 'tests', 'e2e', 'out');
/** What a page loads from pkg/: without them the SDK journeys cannot run. */
export const SDK_FILES = ['vivus-consent.js', 'vivus_consent_boot.js', 'vivus_consent_boot_bg.wasm', 'vivus_consent.js', 'vivus_consent_bg.wasm', 'vivus_consent_ui.js', 'vivus_consent_ui_bg.wasm', 'vivus_consent_returning.js', 'vivus_consent_returning_bg.wasm', 'consent-mode.js'];
const AXE_SOURCE = path.join(ROOT, 'node_modules', 'axe-core', 'axe.min.js');

/**
 * The page clock for screenshots (`t.open(path, { fixedTime: SCREENSHOT_TIME })`): the
 * landing calculator prints a due date, which would otherwise change the PNGs every day.
 * Only for pages that record no consent: the service signs tokens with the real time.
 */
export const SCREENSHOT_TIME = new Date('2026-03-02T10:00:00+05:00');

export const VIEWPORTS = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
};

/** Cookies the stand-in tags set and the SDK must delete on reject and withdrawal. */
export const TAG_COOKIES = ['_ga', '_gid', '_gcl_au', '_fbp', '_ym_uid', '_ym_d'];
export const TAG_COOKIE = /^(_ga|_gid|_gcl_|_fbp|_ym_)/;

/** The policy docs/security.md recommends, with the demo's own Trusted Types policy (metrika). */
export const STRICT_CSP = [
  "script-src 'self' 'wasm-unsafe-eval' 'nonce-{nonce}'",
  "style-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'self'",
  "require-trusted-types-for 'script'",
  'trusted-types vivus-consent metrika',
  'report-uri /csp-reports',
].join('; ');

// ---- the service -------------------------------------------------------------

/** A free TCP port on 127.0.0.1 (bind port 0, read it, close). */
export async function freePort() {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The consent service as a child process. `start()` and `stop()` may be called again
 * (the "service down, then back" journeys); the port, ledger and keys stay the same.
 */
export class Service {
  constructor({ port, dir, args = [] }) {
    this.port = port;
    this.dir = dir;
    this.origin = `http://127.0.0.1:${port}`;
    this.database = path.join(dir, 'ledger.sqlite3');
    this.keyDir = path.join(dir, 'keys');
    this.logFile = path.join(dir, 'service.log');
    this.extraArgs = args;
    this.child = null;
  }

  /** Creates a temp dir and a free port, and starts the service. */
  static async launch(options = {}) {
    if (!fs.existsSync(SERVER_BIN)) {
      throw new Error(`the consent service binary is missing: ${SERVER_BIN}\n` +
        'build it first: cargo build --release -p vivus-consent-server (make test does), ' +
        'or point VIVUS_SERVER_BIN at it');
    }
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'vivus-e2e-'));
    const service = new Service({ port: await freePort(), dir, ...options });
    await service.start();
    return service;
  }

  get args() {
    return [
      '--listen', `127.0.0.1:${this.port}`,
      '--database', this.database,
      '--key-dir', this.keyDir,
      '--static-dir', ROOT,
      // The Set-Cookie of POST /v1/consents is only sent to allowed origins.
      '--allowed-origin', this.origin,
      // Many tests from one address: rate limiting is tested in the server's own tests.
      '--rate-limit-per-second', '0',
      ...this.extraArgs,
    ];
  }

  url(p = '/') { return new URL(p, this.origin).href; }

  async start() {
    if (this.child) return;
    const log = fs.openSync(this.logFile, 'a');
    const child = spawn(SERVER_BIN, this.args, {
      cwd: this.dir,
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    this.child = child;
    let exited = null;
    child.once('exit', (code, signal) => { exited = { code, signal }; if (this.child === child) this.child = null; });
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (exited) {
        throw new Error(`the consent service exited during start-up (${JSON.stringify(exited)}):\n${this.logTail()}`);
      }
      try {
        const res = await fetch(this.url('/healthz'), { signal: AbortSignal.timeout(1000) });
        if (res.ok) return;
      } catch { /* not listening yet */ }
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`the consent service did not answer /healthz within 20 s:\n${this.logTail()}`);
      }
      await sleep(100);
    }
  }

  async stop() {
    const child = this.child;
    if (!child) return;
    const exit = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exit;
    clearTimeout(timer);
    this.child = null;
    // The port must be refused from now on, so that "service down" tests really are.
    for (let i = 0; i < 50; i++) {
      try { await fetch(this.url('/healthz'), { signal: AbortSignal.timeout(200) }); } catch { return; }
      await sleep(50);
    }
  }

  async cleanup() {
    await this.stop();
    if (!process.env.E2E_KEEP) await fsp.rm(this.dir, { recursive: true, force: true });
  }

  logTail(lines = 40) {
    try { return fs.readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n'); } catch { return '(no log)'; }
  }

  /** `fetch` against the service. */
  fetch(p, init) { return fetch(this.url(p), init); }

  /** `POST /v1/verify`: what the service says about a token. */
  async verify(token) {
    const res = await this.fetch('/v1/verify', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }),
    });
    assert.equal(res.status, 200, `POST /v1/verify answered ${res.status}`);
    return res.json();
  }

  /** `GET /v1/subjects/{sub}/consents` with the token as Bearer. */
  async history(token) {
    const { sub } = peekClaims(token);
    const res = await this.fetch(`/v1/subjects/${encodeURIComponent(sub)}/consents`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200, `GET history answered ${res.status}: ${await res.clone().text()}`);
    return res.json();
  }
}

/**
 * Signs `claims` with the service's newest key (read from its key directory: a
 * `<unix-time>-<kid>.key` file holding the 32-byte seed in hex), as the service would:
 * a genuine signature on claims the test chooses (expired, another policy, ...).
 */
export function signAsService(service, claims) {
  const files = fs.readdirSync(service.keyDir).filter((f) => f.endsWith('.key')).sort(
    (a, b) => Number(a.split('-')[0]) - Number(b.split('-')[0]));
  const file = files.at(-1);
  if (!file) throw new Error(`no key in ${service.keyDir}`);
  const kid = file.slice(file.indexOf('-') + 1, -'.key'.length);
  const seed = Buffer.from(fs.readFileSync(path.join(service.keyDir, file), 'utf8').trim(), 'hex');
  // PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410).
  const key = crypto.createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8',
  });
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${b64({ alg: 'EdDSA', kid, typ: 'JWT' })}.${b64(claims)}`;
  return `${input}.${crypto.sign(null, Buffer.from(input), key).toString('base64url')}`;
}

/** Stores `token` where the SDK keeps it: the cookie and its localStorage mirror. */
export async function storeToken(page, token, origin) {
  await page.context().addCookies([{ name: 'vivus_consent', value: token, url: origin }]);
  await page.evaluate((v) => localStorage.setItem('vivus_consent', v), token);
}

/** The claims of a JWS, decoded without verification (assertion messages, subject ids). */
export function peekClaims(token) {
  const [, payload] = String(token).split('.');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
}

// ---- the browser --------------------------------------------------------------

/** The browser of this run's engine (`ENGINE`). */
export async function launchBrowser() {
  if (ENGINE !== 'chromium') return launchWebDriver(ENGINE, { headed: !!process.env.E2E_HEADED });
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: apt-get install chromium (make test does), or set CHROMIUM`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: !process.env.E2E_HEADED,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-gpu'],
  });
}

/**
 * Registers the file's service and browser (`before`/`after`) and returns the harness.
 * `engines` lists the engines the file's tests run in (Chromium alone by default): in any
 * other engine's run the file is one skipped test saying so, and starts nothing.
 * With `sdk: true` (the default) it first checks that the SDK is built into pkg/.
 * `h.test(name, fn)` runs `fn(t)` with `t.open(path, options)` → a page in a fresh
 * context, `t.context(options)` → a fresh context; all closed after the test, with a
 * screenshot (and trace, E2E_TRACE=1) of every open page in tests/e2e/out/ on failure.
 * `h.test(name, { engines: ['chromium'], why: '...' }, fn)` narrows one test further.
 */
export function e2e({ sdk = true, engines = ['chromium'], why, ...serviceOptions } = {}) {
  const h = { service: null, browser: null, engine: ENGINE };
  if (!engines.includes(ENGINE)) {
    const file = path.basename(process.argv[1] ?? 'this file');
    test(`${ENGINE}: ${file} runs in ${engines.join(', ')} only`, { skip: why ?? 'see tests/e2e/README.md, "Three engines"' }, () => {});
    h.test = () => {};
    return h;
  }
  before(async () => {
    if (sdk) {
      const missing = SDK_FILES.filter((f) => !fs.existsSync(path.join(ROOT, 'pkg', f)));
      if (missing.length) {
        throw new Error(`the SDK is not built (missing pkg/${missing.join(', pkg/')}): run make pkg first (make test does)`);
      }
    }
    h.service = await Service.launch(serviceOptions);
    h.browser = await launchBrowser();
  });
  after(async () => {
    await h.browser?.close();
    await h.service?.cleanup();
  });

  h.test = (name, options, fn) => {
    if (typeof options === 'function') { fn = options; options = {}; }
    const { engines: only = engines, why: reason, ...testOptions } = options;
    // Test names say the engine outside Chromium, so the runs' reports can be told apart.
    const title = ENGINE === 'chromium' ? name : `[${ENGINE}] ${name}`;
    if (!only.includes(ENGINE)) return test(title, { skip: `${only.join(', ')} only: ${reason ?? 'see tests/e2e/README.md'}` }, () => {});
    return test(title, testOptions, async (t) => {
      const contexts = [];
      t.context = async (opts = {}) => {
        const ctx = await newContext(h, opts);
        contexts.push(ctx);
        return ctx;
      };
      t.open = async (p, opts = {}) => {
        const ctx = await t.context(opts);
        const page = await ctx.newPage();
        if (p) await page.goto(p);
        return page;
      };
      try {
        await fn(t);
      } catch (error) {
        await keepEvidence(name, contexts, h.service).catch(() => {});
        throw error;
      } finally {
        for (const ctx of contexts) await ctx.close().catch(() => {});
        if (h.browser.alive && !(await h.browser.alive())) {
          console.error(`# the ${ENGINE} session was lost; starting a new browser for the next test`);
          await h.browser.close().catch(() => {});
          h.browser = await launchBrowser();
        }
      }
    });
  };
  return h;
}

async function newContext(h, { viewport = 'desktop', locale = 'ru-RU', fixedTime, ...rest } = {}) {
  const ctx = await h.browser.newContext({
    ...(typeof viewport === 'string' ? VIEWPORTS[viewport] : { viewport }),
    baseURL: h.service.origin,
    locale,
    timezoneId: 'Asia/Almaty',
    reducedMotion: 'reduce',
    ...rest,
  });
  ctx.setDefaultTimeout(10_000);
  // Date.now() and new Date() return `fixedTime` in every page; timers still run.
  if (fixedTime !== undefined) await ctx.clock.setFixedTime(fixedTime);
  if (process.env.E2E_TRACE && ENGINE === 'chromium') await ctx.tracing.start({ screenshots: true, snapshots: true });
  ctx.on('page', instrument);
  return ctx;
}

// Every page records uncaught errors and console errors: tests assert on them.
function instrument(page) {
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(`console: ${m.text()}`); });
}

async function keepEvidence(name, contexts, service) {
  const slug = `${ENGINE}-${name}`.toLowerCase().replace(/[^a-z0-9а-яәғқңөұүһі]+/gi, '-').replace(/^-|-$/g, '').slice(0, 80);
  await fsp.mkdir(OUT, { recursive: true });
  let i = 0;
  for (const ctx of contexts) {
    for (const page of ctx.pages()) {
      const file = path.join(OUT, `${slug}-${i++}.png`);
      await page.screenshot({ path: file, fullPage: true, timeout: 5000 }).catch(() => {});
      console.error(`# failure evidence: ${file} (${page.url()})`);
      if (page.errors?.length) console.error(`# page errors:\n#   ${page.errors.join('\n#   ')}`);
    }
    if (process.env.E2E_TRACE && ENGINE === 'chromium') await ctx.tracing.stop({ path: path.join(OUT, `${slug}-${i}.trace.zip`) }).catch(() => {});
  }
  if (service) console.error(`# service log (tail):\n${service.logTail(15)}`);
}

// ---- what the page did ------------------------------------------------------

/** How many times each stand-in tag ran on the page: `{ 'meta-pixel': 1, ... }`. */
export function tagRuns(page) {
  return page.evaluate(() => ({ ...(window.__tagRuns ?? {}) }));
}

/** Names of the tag cookies present in the context. */
export async function tagCookieNames(context) {
  return (await context.cookies()).filter((c) => TAG_COOKIE.test(c.name)).map((c) => c.name).sort();
}

/** The consent cookie's value, or null. */
export async function consentCookie(context, name = 'vivus_consent') {
  return (await context.cookies()).find((c) => c.name === name)?.value ?? null;
}

/** Waits until `fn()` (async allowed) returns a truthy value; returns it. */
export async function eventually(fn, { timeout = 10_000, interval = 100, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${message}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await sleep(interval);
  }
}

/** Resolves once the demo's consent-init module has finished `init` (or failed). */
export async function consentReady(page) {
  await page.waitForFunction(() => ['ready', 'unavailable', 'error'].includes(document.documentElement.dataset.consent));
  const state = await page.evaluate(() => document.documentElement.dataset.consent);
  assert.equal(state, 'ready', `the consent SDK did not initialise (data-consent=${state}); page errors: ${page.errors?.join(' | ')}`);
}

/** Lets the page finish its requests and late scripts (tags run after a choice). */
export async function settle(page) {
  // Playwright's networkidle waits for every frame; an iframe added late (a gated embed)
  // sometimes never reports it, so this is a bounded wait, not an assertion.
  await page.waitForLoadState('networkidle', { timeout: 5_000 }).catch(() => {});
  await page.waitForTimeout(200);
}

/**
 * The token once the SDK has finished recording: the cookie set and mirrored in
 * localStorage (the service's Set-Cookie can arrive before the SDK's own writes).
 */
export async function recordedToken(page) {
  await page.waitForFunction(() => window.demoConsent);
  const token = await page.evaluate(() => window.demoConsent.whenRecorded());
  await eventually(async () => (await consentCookie(page.context())) === token &&
    (await page.evaluate(() => localStorage.getItem('vivus_consent'))) === token, { message: 'the stored token' });
  return token;
}

/** Calls a method of the SDK's consent object in the page. */
export function sdk(page, method, ...args) {
  return page.evaluate(async ([m, a]) => {
    const consent = window.demoConsent ?? window.VivusConsent;
    const value = await consent[m](...a);
    return value === undefined ? null : JSON.parse(JSON.stringify(value));
  }, [method, args]);
}

// ---- the widget, as a visitor sees it ----------------------------------------
// The one place that knows the SDK's visible text (src/i18n.rs). Locators use roles
// and accessible names, which is also how assistive technology finds them; Playwright
// pierces the widget's open shadow root.

export const TEXT = {
  ru: {
    bannerTitle: 'Cookie-файлы и персональные данные',
    acceptAll: 'Принять все',
    rejectAll: 'Только необходимые',
    settings: 'Настроить',
    policyLink: 'Политика обработки персональных данных',
    preferencesTitle: 'Настройки cookie-файлов',
    save: 'Сохранить выбор',
    close: 'Закрыть',
    acceptanceTitle: 'Согласие на обработку персональных данных',
    acceptanceConfirm: 'Продолжить',
    acceptanceRequired: /Без согласия с Политикой заявку отправить нельзя/,
    cancel: 'Отмена',
    networkError: /Не удалось связаться с сервисом согласий|Сервис согласий (временно недоступен|не ответил)/,
    serverError: 'Сервис согласий временно недоступен. Мы повторим попытку автоматически.',
    saving: 'Сохраняем ваш выбор…',
    analytics: /Аналитические/,
    marketing: /Маркетинговые/,
  },
  kk: {
    bannerTitle: 'Cookie файлдары және дербес деректер',
    acceptAll: 'Барлығын қабылдау',
    rejectAll: 'Тек қажеттілері',
    settings: 'Баптау',
    policyLink: 'Дербес деректерді өңдеу саясаты',
    preferencesTitle: 'Cookie файлдарын баптау',
    save: 'Таңдауды сақтау',
    close: 'Жабу',
    acceptanceTitle: 'Дербес деректерді өңдеуге келісім',
    acceptanceConfirm: 'Жалғастыру',
    acceptanceRequired: /Саясатпен келіспейінше өтінім жіберу мүмкін емес/,
    cancel: 'Болдырмау',
    networkError: /Келісім сервисімен байланысу мүмкін болмады|Келісім сервисі (уақытша қолжетімсіз|уақытында)/,
    serverError: 'Келісім сервисі уақытша қолжетімсіз. Біз әрекетті автоматты түрде қайталаймыз.',
    saving: 'Таңдауыңыз сақталуда…',
    analytics: /Аналитикалық/,
    marketing: /Маркетингтік/,
  },
};

export const UI = {
  banner: (page, lang = 'ru') => page.getByRole('region', { name: TEXT[lang].bannerTitle }),
  acceptAll: (page, lang = 'ru') => UI.banner(page, lang).getByRole('button', { name: TEXT[lang].acceptAll, exact: true }),
  rejectAll: (page, lang = 'ru') => UI.banner(page, lang).getByRole('button', { name: TEXT[lang].rejectAll, exact: true }),
  settings: (page, lang = 'ru') => UI.banner(page, lang).getByRole('button', { name: TEXT[lang].settings, exact: true }),
  policyLink: (page, lang = 'ru') => UI.banner(page, lang).getByRole('button', { name: TEXT[lang].policyLink })
    .or(UI.banner(page, lang).getByRole('link', { name: TEXT[lang].policyLink })),
  preferences: (page, lang = 'ru') => page.getByRole('dialog', { name: TEXT[lang].preferencesTitle }),
  policy: (page) => page.getByRole('dialog', { name: /политика|саясат/i }),
  acceptance: (page, lang = 'ru') => page.getByRole('dialog', { name: TEXT[lang].acceptanceTitle }),
  /** The settings dialog's switch for a category ("analytics" / "marketing"). */
  categorySwitch: (page, category, lang = 'ru') => UI.preferences(page, lang)
    .getByRole('switch', { name: TEXT[lang][category] })
    .or(UI.preferences(page, lang).getByRole('checkbox', { name: TEXT[lang][category] })),
};

/** The demo site's own text (www/*.html, www/js/i18n.js) that the journeys click or read. */
export const SITE = {
  ru: {
    footerSettings: 'Настройки cookie',
    submit: 'Отправить заявку',
    accepted: 'Заявка принята',
    withdrawMarketing: 'Отозвать согласие на маркетинг',
    withdrawn: 'Согласие отозвано и записано в журнал.',
    withdrawal: 'Отзыв',
  },
  kk: {
    footerSettings: 'Cookie баптаулары',
    submit: 'Өтінімді жіберу',
    accepted: 'Өтінім қабылданды',
    withdrawMarketing: 'Маркетингке келісімді қайтарып алу',
    withdrawn: 'Келісім қайтарып алынды және журналға жазылды.',
    withdrawal: 'Қайтарып алу',
  },
};

/** `path` in the page language `lang` (the demo and the widget read `?lang=`). */
export function withLang(p, lang) {
  if (lang === 'ru') return p;
  const url = new URL(p, 'http://x');
  url.searchParams.set('lang', lang);
  return url.pathname + url.search + url.hash;
}

/**
 * Asserts that a visitor can reach `locator`: scrolled into view, its centre inside the
 * viewport, and nothing (the banner, a sticky header) on top of it there. Looks through
 * open shadow roots, so it works for the widget's own controls too. Where scrolling it just
 * into view leaves it under the banner (the engines lay the page out a few pixels apart),
 * the visitor scrolls on: it is checked again in the middle of the viewport.
 */
export async function assertReachable(locator, what = 'the control') {
  await locator.scrollIntoViewIfNeeded();
  const probe = (el, centre) => {
    if (centre) el.scrollIntoView({ block: 'center', inline: 'center', behavior: 'instant' });
    const r = el.getBoundingClientRect();
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    let top = document.elementFromPoint(x, y);
    while (top?.shadowRoot) {
      const inner = top.shadowRoot.elementFromPoint(x, y);
      if (!inner || inner === top) break;
      top = inner;
    }
    const cover = top && !(top === el || el.contains(top)) ? `${top.tagName.toLowerCase()}${top.className ? '.' + String(top.className).split(' ')[0] : ''}` : null;
    return { inViewport: y >= 0 && y <= innerHeight && x >= 0 && x <= innerWidth, covered: cover };
  };
  let hit = await locator.evaluate(probe, false);
  if (hit.covered) hit = await locator.evaluate(probe, true);
  assert.deepEqual(hit, { inViewport: true, covered: null }, `${what} cannot be reached`);
}

/**
 * Scrolls the landing page's gated video into view, as a visitor who watches it would: the
 * iframe is `loading="lazy"`, which Firefox and WebKit load only near the viewport.
 */
export async function seeVideo(page) {
  await page.locator('iframe[data-category="marketing"]').scrollIntoViewIfNeeded();
}

// ---- accessibility and screenshots --------------------------------------------

const WCAG_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/**
 * Runs axe-core (WCAG 2.1 A + AA, colour contrast included) on the page, the widget's
 * open shadow root included. Returns `{ violations, incomplete, passes }`, each a list of
 * rules `{ id, impact, help, nodes: [{ target, summary, widget }] }`. `widget` places a
 * node of the consent widget (inside a `<vivus-consent>` host, or marked `data-vc`):
 * 'view' when it is in what the visitor sees on top (the open dialog, else the banner),
 * 'behind' when the widget's own modal dialog covers it; null for the page's nodes.
 * axe is evaluated through the DevTools protocol rather than a <script> tag so that a
 * strict CSP does not stop it.
 */
export async function axeResults(page, { include } = {}) {
  const loaded = await page.evaluate(() => typeof window.axe === 'object');
  if (!loaded) await page.evaluate(await fsp.readFile(AXE_SOURCE, 'utf8'));
  return page.evaluate(async ([tags, inc]) => {
    const place = (el) => {
      let host = null;
      for (let n = el; n && !host;) {
        host = n.closest?.('vivus-consent') ?? null;
        const root = n.getRootNode();
        n = root instanceof ShadowRoot ? root.host : null;
      }
      if (!host) return el.closest?.('[data-vc]') ? 'view' : null;
      const modals = [...(host.shadowRoot?.querySelectorAll('[aria-modal="true"]') ?? [])].filter((d) => d.checkVisibility());
      const top = modals.at(-1);
      return !top || top.contains(el) ? 'view' : 'behind';
    };
    // All three result types with every node: a colour-contrast check that ends
    // "incomplete" (axe could not tell) must not count as passing.
    const results = await window.axe.run(inc ? { include: inc } : document, {
      runOnly: { type: 'tag', values: tags },
      elementRef: true,
    });
    const rules = (list) => list.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => ({
        target: n.target, summary: n.failureSummary, widget: place(n.element), element: n.element,
        reason: n.any?.[0]?.data?.messageKey ?? null,
      })),
    }));
    const out = { violations: rules(results.violations), incomplete: rules(results.incomplete), passes: rules(results.passes) };

    // axe leaves a text "incomplete" when it is cut by the edge of a scrolling dialog body
    // (elmPartiallyObscured), or when its lines lie over different things further down
    // the stack (elmPartiallyObscuring: a two-line button over the page behind the
    // backdrop). The widget's such nodes are decided again: scrolled into view and
    // re-run; if axe still cannot tell, the ratio is computed as WCAG defines it against
    // the nearest opaque widget ancestor that contains the text (so nothing behind it
    // can show through). Scroll positions are restored afterwards.
    const contrast = (name) => out[name].find((r) => r.id === 'color-contrast');
    const undecided = contrast('incomplete')?.nodes.filter((n) => n.widget === 'view' &&
      /^elmPartially/.test(n.reason ?? '')) ?? [];
    const rgba = (c) => { const m = c.match(/[\d.]+/g).map(Number); return { r: m[0], g: m[1], b: m[2], a: m[3] ?? 1 }; };
    const lum = ({ r, g, b }) => [r, g, b].map((v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
      .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
    const ratioOf = (el) => {
      const box = el.getBoundingClientRect();
      for (let a = el; a; a = a.parentElement ?? (a.getRootNode() instanceof ShadowRoot ? a.getRootNode().host : null)) {
        const st = getComputedStyle(a);
        if (st.backgroundImage !== 'none' || Number(st.opacity) < 1 || st.filter !== 'none') return null;
        const bg = rgba(st.backgroundColor);
        if (bg.a === 0) continue;
        if (bg.a < 1) return null;
        const r = a.getBoundingClientRect();
        if (r.left > box.left || r.top > box.top || r.right < box.right || r.bottom < box.bottom) return null;
        const fg = rgba(getComputedStyle(el).color);
        const mix = { r: fg.r * fg.a + bg.r * (1 - fg.a), g: fg.g * fg.a + bg.g * (1 - fg.a), b: fg.b * fg.a + bg.b * (1 - fg.a) };
        const [l1, l2] = [lum(mix), lum(bg)].sort((x, y) => y - x);
        return (l1 + 0.05) / (l2 + 0.05);
      }
      return null;
    };
    if (undecided.length) {
      const scrolled = [];
      for (let n = undecided[0].element; n; n = n.parentElement ?? (n.getRootNode() instanceof ShadowRoot ? n.getRootNode().host : null)) {
        if (n.scrollHeight > n.clientHeight) scrolled.push([n, n.scrollTop]);
      }
      const windowY = scrollY;
      for (const n of undecided) {
        n.element.scrollIntoView({ block: 'center' });
        const again = await window.axe.run(n.element, { runOnly: ['color-contrast'] });
        if (again.passes.length) {
          n.decided = 'passed once scrolled into view';
        } else if (!again.violations.length) {
          const ratio = ratioOf(n.element);
          const st = getComputedStyle(n.element);
          const large = parseFloat(st.fontSize) >= 24 || (parseFloat(st.fontSize) >= 18.66 && Number(st.fontWeight) >= 700);
          if (ratio !== null && ratio >= (large ? 3 : 4.5)) n.decided = `contrast ${ratio.toFixed(2)}:1 against its own opaque background`;
          else if (ratio !== null) n.failed = `contrast ${ratio.toFixed(2)}:1`;
        } else {
          n.failed = again.violations[0].nodes[0]?.failureSummary ?? 'color-contrast violation';
        }
      }
      for (const [n, top] of scrolled) n.scrollTop = top;
      scrollTo(0, windowY);
      const inc = contrast('incomplete');
      for (const n of undecided.filter((x) => x.decided)) {
        inc.nodes.splice(inc.nodes.indexOf(n), 1);
        let pass = contrast('passes');
        if (!pass) { pass = { id: 'color-contrast', impact: null, help: inc.help, nodes: [] }; out.passes.push(pass); }
        pass.nodes.push(n);
      }
      for (const n of undecided.filter((x) => x.failed)) {
        inc.nodes.splice(inc.nodes.indexOf(n), 1);
        let bad = contrast('violations');
        if (!bad) { bad = { id: 'color-contrast', impact: 'serious', help: inc.help, nodes: [] }; out.violations.push(bad); }
        bad.nodes.push({ ...n, summary: n.failed });
      }
      if (!inc.nodes.length) out.incomplete.splice(out.incomplete.indexOf(inc), 1);
    }
    for (const list of Object.values(out)) for (const r of list) for (const n of r.nodes) delete n.element;
    return out;
  }, [WCAG_AA, include ?? null]);
}

/** The axe violations only (see `axeResults`). */
export async function axe(page, options) {
  return (await axeResults(page, options)).violations;
}

/** A readable list of axe violations for assertion messages. */
export function formatViolations(violations) {
  return violations.map((v) => `${v.id} (${v.impact}): ${v.help}\n${v.nodes.map((n) =>
    `    ${JSON.stringify(n.target)}\n      ${String(n.summary).replace(/\n/g, '\n      ')}`).join('\n')}`).join('\n');
}

/**
 * Asserts zero axe violations. With `widget: true` it also asserts that colour contrast
 * was decided for the widget: no `color-contrast` node of the widget's top view (the
 * open dialog, else the banner) is "incomplete", and the rule passed on at least one of
 * them. The banner behind an open dialog sits under the dialog's 55 % backdrop, where
 * axe can only say "overlapped": those nodes may be incomplete for that reason alone
 * (the banner view itself audits them). Returns a summary for reports:
 * `{ passed, violations, incomplete: [rule ids], widgetContrast, behind, rechecked }`.
 */
export async function assertNoAxeViolations(page, what, { widget = false, ...options } = {}) {
  const { violations, incomplete, passes } = await axeResults(page, options);
  assert.equal(violations.length, 0, `axe found WCAG 2.1 AA violations in ${what}:\n${formatViolations(violations)}`);
  const contrast = (list, where) => (list.find((r) => r.id === 'color-contrast')?.nodes ?? []).filter((n) => n.widget === where);
  const widgetContrast = contrast(passes, 'view').length;
  const behind = contrast(incomplete, 'behind');
  if (widget) {
    const undecided = [...contrast(incomplete, 'view'), ...behind.filter((n) => !/overlapped by another element/.test(n.summary))];
    assert.equal(undecided.length, 0, `axe could not decide the colour contrast of ${undecided.length} widget ` +
      `node(s) in ${what}:\n${formatViolations([{ id: 'color-contrast', impact: 'incomplete', help: 'needs review', nodes: undecided }])}`);
    assert.ok(widgetContrast > 0, `axe checked the colour contrast of no widget node in ${what}`);
  }
  const rechecked = contrast(passes, 'view').filter((n) => n.decided).map((n) => `${JSON.stringify(n.target)}: ${n.decided}`);
  return { passed: passes.length, violations: violations.length, incomplete: incomplete.map((r) => r.id), widgetContrast, behind: behind.length, rechecked };
}

/**
 * Writes docs/screenshots/<name>.png (the README shows them). A new image that differs
 * from the committed one only by a few anti-aliased pixels is not written, so a test run
 * leaves the working tree clean unless the UI really changed.
 */
export async function screenshot(page, name, options = {}) {
  await fsp.mkdir(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  const png = await page.screenshot({ animations: 'disabled', caret: 'hide', ...options });
  const old = await fsp.readFile(file).catch(() => null);
  if (!old || !nearlySame(old, png)) await fsp.writeFile(file, png);
  return file;
}

// Same size and at most 0.01 % of the (filtered) pixel bytes different.
function nearlySame(a, b) {
  const decode = (buf) => {
    let width = 0, height = 0;
    const idat = [];
    for (let i = 8; i < buf.length;) {
      const len = buf.readUInt32BE(i);
      const type = buf.toString('latin1', i + 4, i + 8);
      if (type === 'IHDR') { width = buf.readUInt32BE(i + 8); height = buf.readUInt32BE(i + 12); }
      if (type === 'IDAT') idat.push(buf.subarray(i + 8, i + 8 + len));
      i += 12 + len;
    }
    return { width, height, data: zlib.inflateSync(Buffer.concat(idat)) };
  };
  const x = decode(a), y = decode(b);
  if (x.width !== y.width || x.height !== y.height || x.data.length !== y.data.length) return false;
  let diff = 0;
  for (let i = 0; i < x.data.length; i++) if (x.data[i] !== y.data[i]) diff++;
  return diff <= x.data.length / 10_000;
}

// ---- the loan application ----------------------------------------------------

/** A valid applicant (the IIN's check digit computed, born 1990-05-15). */
export const APPLICANT = {
  name: 'Серикова Айгерим Нурлановна',
  iin: iinWithCheckDigit('90051545012'),
  phone: '+7 701 234 56 78',
  email: 'aigerim@example.kz',
  amount: '120000',
  term: '21',
};

/** Appends the Kazakh IIN check digit to 11 digits (weights 1..11, then 3..11,1,2). */
export function iinWithCheckDigit(first11) {
  const d = [...first11].map(Number);
  let c = d.reduce((s, x, i) => s + x * (i + 1), 0) % 11;
  if (c === 10) {
    const w = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];
    c = d.reduce((s, x, i) => s + x * w[i], 0) % 11;
    if (c === 10) throw new Error(`${first11} has no valid check digit; change a serial digit`);
  }
  return first11 + c;
}

/** Fills the application form on apply.html with `data` (default APPLICANT). */
export async function fillApplication(page, data = APPLICANT) {
  for (const [field, value] of Object.entries(data)) {
    await page.locator(`#application [name="${field}"]`).fill(value);
  }
}

/** Ticks the acceptance in the form's modal (in `lang`) and confirms. */
export async function acceptInModal(page, lang = 'ru') {
  const modal = UI.acceptance(page, lang);
  await modal.waitFor();
  await modal.getByRole('checkbox').check();
  await modal.getByRole('button', { name: TEXT[lang].acceptanceConfirm }).click();
}

/** Records the POSTs to /demo/applications the page makes: `{ requests, responses }`. */
export function watchApplications(page) {
  const seen = { requests: [], responses: [] };
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/demo/applications') {
      seen.requests.push({ body: new URLSearchParams(r.postData() ?? '') });
    }
  });
  page.on('response', (r) => {
    if (r.request().method() === 'POST' && new URL(r.url()).pathname === '/demo/applications') {
      seen.responses.push(r.status());
    }
  });
  return seen;
}

/** The focused element, looking into shadow roots: `{ tag, text, id, name, inShadow }`. */
export function focused(page) {
  return page.evaluate(() => {
    let el = document.activeElement;
    while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
    if (!el || el === document.body) return null;
    return {
      tag: el.tagName.toLowerCase(),
      text: (el.getAttribute('aria-label') || el.textContent || '').replace(/\s+/g, ' ').trim(),
      id: el.id,
      name: el.getAttribute('name'),
      type: el.getAttribute('type'),
      role: el.getAttribute('role'),
      inShadow: el.getRootNode() !== document,
    };
  });
}

/** Presses Tab until `match(focused)` holds; fails after `max` presses. */
export async function tabUntil(page, match, { max = 60, key = 'Tab', what = 'the element' } = {}) {
  const seen = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(key);
    const f = await focused(page);
    seen.push(f ? `${f.tag}${f.id ? '#' + f.id : ''} "${f.text.slice(0, 30)}"` : '(body)');
    if (f && match(f)) return f;
  }
  throw new Error(`${key} never reached ${what} in ${max} presses; focus went through:\n  ${seen.join('\n  ')}`);
}
