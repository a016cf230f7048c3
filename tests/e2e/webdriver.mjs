// Firefox and WebKit for the e2e suite, through W3C WebDriver (classic): geckodriver with
// Debian's Firefox ESR, and WebKitGTK's WebKitWebDriver, which starts MiniBrowser in
// automation mode under its own Xvfb. The objects here have the shape of the part of
// Playwright's API the tests use (Browser, BrowserContext, Page, Locator, Keyboard, Mouse),
// so support.mjs hands them to a test as it hands Playwright's Chromium ones, and a test
// is written once.
//
// How each part is done:
// - the protocol: a few HTTP+JSON calls (`Session.cmd`); one session per test file, its
//   commands queued so that each runs in its page's window;
// - a context: its own origin, a proxy in front of the service (proxy.mjs), which gives
//   fresh storage, requests and routes, init scripts and "network idle"; its pages are
//   windows (tabs) of the one session; closing it deletes its cookies;
// - locators: resolved in the page by role and accessible name (inpage.mjs); clicks, taps
//   and key presses are real input through WebDriver actions at the element's centre,
//   after the checks Playwright makes (visible, enabled, stable, not covered).
// What cannot be done this way is refused with an error naming the engine (a per-context
// locale, time zone or user agent, touch emulation, CDP): tests that need it are marked
// Chromium-only (tests/e2e/README.md).

import { spawn } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { kit, errorRecorder, fixedClock } from './inpage.mjs';
import { OriginProxy, BLANK_PATH, urlMatcher } from './proxy.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const HOME = os.homedir();

/** Where each engine's browser and driver are; the environment overrides. */
export const ENGINES = {
  firefox: {
    browser: process.env.FIREFOX ?? '/usr/bin/firefox-esr',
    driver: process.env.GECKODRIVER ?? [path.join(HOME, '.cargo', 'bin', 'geckodriver'), '/usr/local/bin/geckodriver']
      .find((p) => fs.existsSync(p)) ?? 'geckodriver',
    install: 'apt-get install firefox-esr; cargo install geckodriver (make test does both)',
  },
  webkit: {
    browser: process.env.MINIBROWSER ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser',
    driver: process.env.WEBKITWEBDRIVER ?? '/usr/bin/WebKitWebDriver',
    install: 'apt-get install webkit2gtk-driver xvfb (make test does)',
  },
};

// The launch-time settings every context of these engines has (support.mjs's defaults).
const LOCALE = 'ru-RU';
const TIMEZONE = 'Asia/Almaty';

async function freePort() {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

class WebDriverError extends Error {
  constructor(command, value) {
    super(`${command}: ${value?.error ?? 'error'}: ${value?.message ?? JSON.stringify(value)}`);
    this.code = value?.error;
  }
}

class TimeoutError extends Error {
  constructor(message) { super(message); this.name = 'TimeoutError'; }
}

/** Polls `step()` until it returns `{ done: value }`; `step` returns `{ wait: reason }` meanwhile. */
async function poll(step, timeout, what) {
  const deadline = Date.now() + timeout;
  let last = 'nothing yet';
  for (let delay = 0; ; delay = Math.min(delay + 20, 100)) {
    const r = await step();
    if (r && 'done' in r) return r.done;
    last = r?.wait ?? last;
    if (Date.now() > deadline) throw new TimeoutError(`${what}: timed out after ${timeout} ms; last: ${last}`);
    await sleep(delay);
  }
}

// ---- the driver process and its session ----------------------------------------------

/** One WebDriver session; `cmd` serialises commands and switches to the page's window. */
class Session {
  constructor(base, id, engine) {
    this.base = base;
    this.id = id;
    this.engine = engine;
    this.current = null;
    this.queue = Promise.resolve();
  }

  static async create(base, capabilities, engine) {
    const res = await fetch(`${base}/session`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ capabilities: { alwaysMatch: capabilities } }),
      signal: AbortSignal.timeout(90_000),
    });
    const { value } = await res.json();
    if (!res.ok) throw new WebDriverError('new session', value);
    const session = new Session(base, value.sessionId, engine);
    session.capabilities = value.capabilities;
    session.current = await session.raw('GET', '/window');
    return session;
  }

  async raw(method, p, body, timeout) {
    const started = Date.now();
    try {
      return await this._raw(method, p, body, timeout);
    } finally {
      if (process.env.E2E_WD_LOG) console.error(`# wd ${Date.now() - started} ms ${method} ${p}`);
    }
  }

  async _raw(method, p, body, timeout = 120_000) {
    const res = await fetch(`${this.base}/session/${this.id}${p}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeout),
    });
    const text = await res.text();
    const { value } = text ? JSON.parse(text) : { value: null };
    if (!res.ok) throw new WebDriverError(`${method} ${p}`, value);
    return value;
  }

  /** Runs `method p` in window `handle` (null: wherever the session is). */
  cmd(handle, method, p, body, timeout) {
    const run = async () => {
      if (handle && handle !== this.current) {
        await this.raw('POST', '/window', { handle });
        this.current = handle;
      }
      return this.raw(method, p, body, timeout);
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => {});
    return result;
  }
}

function capabilities(engine, { headed, dir }) {
  const { browser } = ENGINES[engine];
  // Firefox's navigation commands return at DOMContentLoaded; `goto` then waits for what the
  // test asked (the load event by default, as Playwright's), which a held request may never
  // give. WebKitWebDriver's "eager" leaves the next commands waiting for the load all the same
  // (and timing out), so WebKit's navigations wait for the load event.
  const common = { pageLoadStrategy: engine === 'firefox' ? 'eager' : 'normal', unhandledPromptBehavior: 'dismiss', timeouts: { script: 30_000, pageLoad: 30_000, implicit: 0 } };
  if (engine === 'firefox') {
    return {
      ...common,
      browserName: 'firefox',
      'moz:firefoxOptions': {
        binary: browser,
        args: [...(headed ? [] : ['-headless']), '-profile', path.join(dir, 'profile')],
        prefs: {
          'intl.accept_languages': 'ru-RU, ru',
          'ui.prefersReducedMotion': 1,
          'browser.tabs.warnOnClose': false,
          'browser.shell.checkDefaultBrowser': false,
          'dom.min_background_timeout_value': 10,
          'layout.css.devPixelsPerPx': '1.0',
          'toolkit.legacyUserProfileCustomizations.stylesheets': true,
        },
        log: { level: 'error' },
      },
    };
  }
  return {
    ...common,
    browserName: 'MiniBrowser',
    'webkitgtk:browserOptions': { binary: browser, args: ['--automation', `--time-zone=${TIMEZONE}`] },
  };
}

/**
 * Starts the engine's WebDriver (and, for WebKit, an Xvfb for MiniBrowser) and a session.
 * Resolves to a Browser; `close()` ends the session and the processes.
 */
export async function launchWebDriver(engine, { headed = false } = {}) {
  const spec = ENGINES[engine];
  if (!spec) throw new Error(`unknown engine ${engine}: chromium, firefox or webkit`);
  for (const file of [spec.browser, spec.driver]) {
    if (file.includes('/') && !fs.existsSync(file)) throw new Error(`${engine}: ${file} is missing: ${spec.install}`);
  }
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), `vivus-${engine}-`));
  const processes = [];
  const env = {
    ...process.env, TZ: TIMEZONE, LANGUAGE: LOCALE.replace('-', '_'), LANG: 'ru_RU.UTF-8',
    HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_CACHE_HOME: path.join(dir, 'cache'),
    XDG_DATA_HOME: path.join(dir, 'data'), XDG_RUNTIME_DIR: dir,
  };
  try {
    if (engine === 'webkit') {
      // GTK's "no animations" is what WebKitGTK reports as prefers-reduced-motion: reduce.
      await fsp.mkdir(path.join(dir, 'config', 'gtk-3.0'), { recursive: true });
      await fsp.writeFile(path.join(dir, 'config', 'gtk-3.0', 'settings.ini'), '[Settings]\ngtk-enable-animations=false\n');
      await fsp.writeFile(path.join(dir, 'config', 'gtk-3.0', 'gtk.css'), '* { min-width: 0; min-height: 0; padding: 0; margin: 0; font-size: 3px; }\n');
      if (!headed || !process.env.DISPLAY) env.DISPLAY = await startXvfb(processes);
      env.WEBKIT_DISABLE_COMPOSITING_MODE = '1';
    }
    if (engine === 'firefox') {
      // The browser's own toolbars set a minimum window width of about 500 px; hidden, a
      // window can be as narrow as a 360 px phone.
      await fsp.mkdir(path.join(dir, 'profile', 'chrome'), { recursive: true });
      await fsp.writeFile(path.join(dir, 'profile', 'chrome', 'userChrome.css'),
        '#navigator-toolbox { visibility: collapse !important; }\n:root, #main-window { min-width: 0 !important; }\n');
    }
    const port = await freePort();
    const args = engine === 'firefox' ? ['--host', '127.0.0.1', '--port', String(port), '--log', 'error'] : [`--port=${port}`];
    const log = fs.openSync(path.join(dir, 'driver.log'), 'a');
    const driver = spawn(spec.driver, args, { env, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    processes.push(driver);
    const base = `http://127.0.0.1:${port}`;
    await poll(async () => {
      if (driver.exitCode !== null) throw new Error(`${spec.driver} exited (${driver.exitCode}): ${fs.readFileSync(path.join(dir, 'driver.log'), 'utf8')}`);
      try {
        const res = await fetch(`${base}/status`, { signal: AbortSignal.timeout(1000) });
        return res.ok ? { done: true } : { wait: `status ${res.status}` };
      } catch (e) { return { wait: e.message }; }
    }, 20_000, `${engine}: the WebDriver at ${base}`);
    const session = await Session.create(base, capabilities(engine, { headed, dir }), engine);
    return new Browser(engine, session, processes, dir);
  } catch (error) {
    for (const p of processes.reverse()) p.kill('SIGKILL');
    throw error;
  }
}

/** Xvfb on a display number it picks itself (-displayfd); resolves to ":N". */
async function startXvfb(processes) {
  const xvfb = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1920x1200x24', '-nolisten', 'tcp', '-noreset'],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  processes.push(xvfb);
  let out = '';
  xvfb.stdio[3].on('data', (d) => { out += d; });
  let err = '';
  xvfb.stderr.on('data', (d) => { err += d; });
  return poll(async () => (/\d+\n/.test(out) ? { done: `:${out.trim()}` }
    : xvfb.exitCode !== null ? (() => { throw new Error(`Xvfb exited: ${err}`); })() : { wait: 'Xvfb' }), 10_000, 'Xvfb to start');
}

// ---- Browser and BrowserContext -------------------------------------------------------

class Browser {
  constructor(engine, session, processes, dir) {
    this.engine = engine;
    this.session = session;
    this.processes = processes;
    this.dir = dir;
    // The session's first window stays open (closing the last ends the session). A context's
    // first page uses it when it is free: WebKit sometimes never paints a window created just
    // before (a click then reaches nothing and a screenshot never comes), and it saves the
    // window's creation.
    this.home = session.current;
    this.homeFree = true;
    this.contexts = new Set();
    this.chrome = null;            // window size minus viewport size, measured once
  }

  browserType() { return { name: () => this.engine }; }

  /**
   * Whether the session still answers. WebKitWebDriver loses a session for good when a
   * command it cannot finish (a screenshot of a window that does not paint) is given up on;
   * the harness then starts a new browser rather than fail every later test of the file.
   */
  async alive() {
    try {
      await this.session.raw('GET', '/window/handles', undefined, 5000);
      return true;
    } catch {
      return false;
    }
  }
  version() { return this.session.capabilities.browserVersion; }

  /**
   * A context of Playwright's options that these engines honour: `viewport` and `baseURL`
   * (the service; pages get the context's own origin in front of it). The locale, time
   * zone and reduced motion are the browser's, set at launch; asking for others fails.
   */
  async newContext({ viewport = { width: 1280, height: 800 }, baseURL, locale, timezoneId, userAgent, isMobile, hasTouch, deviceScaleFactor, reducedMotion, ...rest } = {}) {
    const refuse = (what) => { throw new Error(`${what} cannot be set per context in ${this.engine} (WebDriver): mark the test Chromium-only`); };
    if (locale && locale !== LOCALE) refuse(`locale ${locale}`);
    if (timezoneId && timezoneId !== TIMEZONE) refuse(`time zone ${timezoneId}`);
    if (userAgent) refuse('a user agent');
    if (reducedMotion && reducedMotion !== 'reduce') refuse(`reducedMotion ${reducedMotion}`);
    const unknown = Object.keys(rest);
    if (unknown.length) refuse(unknown.join(', '));
    void isMobile; void hasTouch; void deviceScaleFactor; // a phone is its viewport here (README)
    const proxy = await new OriginProxy(baseURL).start();
    const context = new BrowserContext(this, proxy, viewport);
    this.contexts.add(context);
    return context;
  }

  async close() {
    for (const c of [...this.contexts]) await c.close().catch(() => {});
    await this.session.raw('DELETE', '').catch(() => {});
    for (const p of this.processes.reverse()) {
      if (p.exitCode === null) {
        const exit = once(p, 'exit');
        p.kill('SIGTERM');
        const timer = setTimeout(() => p.kill('SIGKILL'), 3000);
        await exit;
        clearTimeout(timer);
      }
    }
    if (!process.env.E2E_KEEP) await fsp.rm(this.dir, { recursive: true, force: true }).catch(() => {});
  }
}

class BrowserContext extends EventEmitter {
  constructor(browser, proxy, viewport) {
    super();
    this.browser = browser;
    this.session = browser.session;
    this.proxy = proxy;
    this.viewport = viewport;
    this.origin = proxy.origin;
    this.openPages = [];
    this.pendingCookies = [];
    this.navigated = false;
    this.timeout = 30_000;
    this.closed = false;
    proxy.initScripts.push(`(${errorRecorder})();`);
    this.clock = { setFixedTime: async (t) => this.addInitScript(fixedClock, new Date(t).getTime()) };
    this.tracing = { start: async () => {}, stop: async () => {} };
  }

  setDefaultTimeout(ms) { this.timeout = ms; }
  pages() { return [...this.openPages]; }

  async addInitScript(script, arg) {
    const source = typeof script === 'function' ? `(${script})(${arg === undefined ? '' : JSON.stringify(arg)});` : String(script.content ?? script);
    this.proxy.initScripts.push(source);
  }

  async route(pattern, handler) { this.proxy.route(pattern, handler); }
  async unroute(pattern, handler) { this.proxy.unroute(pattern, handler); }

  async newPage() {
    let handle;
    if (this.browser.homeFree) {
      this.browser.homeFree = false;
      handle = this.browser.home;
    } else {
      // WebKitGTK delivers input only to the shown tab of a window: other pages get their own window there.
      const type = this.browser.engine === 'webkit' ? 'window' : 'tab';
      handle = (await this.session.cmd(null, 'POST', '/window/new', { type })).handle;
    }
    const page = new Page(this, handle);
    this.openPages.push(page);
    await page._fitViewport();
    this.emit('page', page);
    return page;
  }

  /** A page of this context showing a document of its origin (cookies are read through it). */
  _pageAtOrigin() {
    return this.openPages.find((p) => p._url.startsWith(this.origin));
  }

  async cookies() {
    const page = this._pageAtOrigin();
    if (!page) return this.pendingCookies.map((c) => ({ ...c }));
    const list = await this.session.cmd(page.handle, 'GET', '/cookie');
    return list.map((c) => ({
      name: c.name, value: c.value, domain: c.domain, path: c.path ?? '/', expires: c.expiry ?? -1,
      httpOnly: !!c.httpOnly, secure: !!c.secure, sameSite: c.sameSite ?? 'Lax',
    }));
  }

  /**
   * Playwright's cookie shapes: `{ name, value, url }` or `{ name, value, domain, path }`.
   * WebDriver adds a cookie only from a document of the cookie's host, so before a page of
   * this context has loaded one they wait for the first navigation (`Page.goto`).
   */
  async addCookies(cookies) {
    const wire = cookies.map(({ name, value, url, path: p, expires, httpOnly, secure, sameSite }) => {
      const c = { name, value, path: p ?? (url ? '/' : '/') };
      if (expires !== undefined && expires > 0) c.expiry = Math.floor(expires);
      if (httpOnly) c.httpOnly = true;
      if (secure) c.secure = true;
      if (sameSite) c.sameSite = sameSite;
      return c;
    });
    const page = this._pageAtOrigin();
    if (!page) { this.pendingCookies.push(...wire); return; }
    for (const c of wire) await this.session.cmd(page.handle, 'POST', '/cookie', { cookie: c });
  }

  /**
   * Before the context's first navigation: cookies ignore the port, so any an earlier context
   * left (a consent recorded just as it closed sets its cookie after the deletion in `close`)
   * are deleted, unless another context is still open; then the cookies added so far are set.
   */
  async _beforeFirstNavigation(page) {
    if (this.navigated) return;
    this.navigated = true;
    const alone = this.browser.contexts.size === 1;
    if (!alone && !this.pendingCookies.length) return;
    await this.session.cmd(page.handle, 'POST', '/url', { url: this.origin + BLANK_PATH });
    page._url = this.origin + BLANK_PATH;
    if (alone) await this.session.cmd(page.handle, 'DELETE', '/cookie');
    for (const c of this.pendingCookies.splice(0)) await this.session.cmd(page.handle, 'POST', '/cookie', { cookie: c });
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    // Cookies are per host, not per port: the next context must not see this one's.
    const page = this._pageAtOrigin();
    if (page) await this.session.cmd(page.handle, 'DELETE', '/cookie').catch(() => {});
    for (const p of [...this.openPages]) await p.close().catch(() => {});
    await this.session.cmd(this.browser.home, 'GET', '/window').catch(() => {});
    await this.proxy.stop();
    this.browser.contexts.delete(this);
  }
}

// ---- Page -------------------------------------------------------------------------------

const KEYS = {
  Tab: '\uE004', Enter: '\uE007', Escape: '\uE00C', Shift: '\uE008', Control: '\uE009', Alt: '\uE00A', Meta: '\uE03D',
  Space: ' ', ' ': ' ', Backspace: '\uE003', Delete: '\uE017', ArrowLeft: '\uE012', ArrowUp: '\uE013',
  ArrowRight: '\uE014', ArrowDown: '\uE015', Home: '\uE011', End: '\uE010', PageUp: '\uE00E', PageDown: '\uE00F',
};
const keyValue = (k) => KEYS[k] ?? (k.length === 1 ? k : (() => { throw new Error(`key ${k} is not mapped for WebDriver`); })());

// A script for `POST /execute/sync`: runs `fn(...args)` and returns `{ v, e, href }` (its
// JSON value, the errors the page recorded since the last call, the page's URL). Synchronous
// unless `fn` returns a promise: WebKitWebDriver never answers a script that is still waiting
// when the page navigates away (the SDK reloads a page whose consent was withdrawn), and the
// session is lost with it.
const EXECUTE = `const args = Array.prototype.slice.call(arguments);
const fn = %FN%;
const out = (r) => { r.e = (window.__e2eErrors || []).splice(0); r.href = location.href; return r; };
const fail = (x) => out({ x: String(x && x.stack || x), m: String(x && x.message || x) });
const ok = (v) => out({ v: v === undefined ? { __undefined: true } : v });
try {
  const v = fn(...args);
  return v && typeof v.then === 'function' ? v.then(ok, fail) : ok(v);
} catch (x) {
  return fail(x);
}`;

/** `arg` for the page: RegExps as `{ re, flags }`, locators' elements passed by reference. */
function wireArg(v) {
  if (v instanceof RegExp) return { re: v.source, flags: v.flags };
  return v;
}

class Page extends EventEmitter {
  constructor(context, handle) {
    super();
    this._context = context;
    this.session = context.session;
    this.handle = handle;
    this._url = 'about:blank';
    this._closed = false;
    this.keyboard = new Keyboard(this);
    this.mouse = new Mouse(this);
    this.touchscreen = { tap: (x, y) => this.mouse.click(x, y) };
  }

  context() { return this._context; }
  url() { return this._url; }
  isClosed() { return this._closed; }
  get _timeout() { return this._context.timeout; }

  on(event, listener) {
    // The proxy sees the context's requests, not which window made them.
    if (['request', 'response', 'requestfailed'].includes(event)) this._context.proxy.on(event, listener);
    else super.on(event, listener);
    return this;
  }

  async _fitViewport() {
    const { width, height } = this._context.viewport;
    const browser = this._context.browser;
    if (!browser.chrome) {
      const rect = await this.session.cmd(this.handle, 'GET', '/window/rect');
      const inner = await this._run(() => [innerWidth, innerHeight]);
      browser.chrome = { width: rect.width - inner[0], height: rect.height - inner[1] };
    }
    await this.session.cmd(this.handle, 'POST', '/window/rect', { width: width + browser.chrome.width, height: height + browser.chrome.height });
  }

  /** The viewport the window really got (MiniBrowser has a minimum width): `{ width, height }`. */
  async viewportSize() {
    const [width, height] = await this._run(() => [innerWidth, innerHeight]);
    return { width, height };
  }

  /** Runs `fn(...args)` in the page; element references and JSON pass both ways. */
  async _run(fn, ...args) {
    const script = EXECUTE.replace('%FN%', () => (typeof fn === 'function' ? fn.toString() : fn));
    let r;
    try {
      r = await this.session.cmd(this.handle, 'POST', '/execute/sync', { script, args: args.map(wireArg) });
    } catch (error) {
      // Say which script: a timeout alone does not tell a hung promise from a hung page.
      error.message += ` (running ${String(fn).replace(/\s+/g, ' ').slice(0, 120)})`;
      throw error;
    }
    if (r?.href) this._url = r.href;
    for (const e of r?.e ?? []) {
      if (e.type === 'pageerror') this.emit('pageerror', new Error(e.text));
      else this.emit('console', { type: () => 'error', text: () => e.text });
    }
    if (r && 'x' in r) {
      const error = new Error(`page.evaluate: ${r.m}`);
      error.pageStack = r.x;
      throw error;
    }
    return r?.v && r.v.__undefined === true ? undefined : r?.v;
  }

  async evaluate(fn, arg) {
    if (typeof fn === 'string') return this._run(`() => (${fn})`);
    return arg === undefined ? this._run(fn) : this._run(fn, arg);
  }

  /** `waitUntil`: 'load' (the default), 'networkidle', or 'domcontentloaded' ('commit' alike). */
  async goto(p, { waitUntil = 'load', timeout = this._timeout } = {}) {
    const url = new URL(p, this._context.origin).href;
    await this._context._beforeFirstNavigation(this);
    await this.session.cmd(this.handle, 'POST', '/url', { url });
    this._url = await this.session.cmd(this.handle, 'GET', '/url');
    if (waitUntil === 'load' || waitUntil === 'networkidle') await this.waitForLoadState(waitUntil, { timeout });
    return null;
  }

  async reload({ waitUntil = 'load', timeout = this._timeout } = {}) {
    await this.session.cmd(this.handle, 'POST', '/refresh', {});
    this._url = await this.session.cmd(this.handle, 'GET', '/url');
    if (waitUntil === 'load' || waitUntil === 'networkidle') await this.waitForLoadState(waitUntil, { timeout });
    return null;
  }

  async waitForURL(pattern, { timeout = this._timeout } = {}) {
    const match = urlMatcher(pattern, this._context.origin);
    await poll(async () => {
      const url = await this.session.cmd(this.handle, 'GET', '/url').catch(() => null);
      if (url) this._url = url;
      return url && match(url) ? { done: true } : { wait: `at ${url}` };
    }, timeout, `waitForURL(${pattern})`);
    await this.waitForLoadState('load', { timeout });
  }

  async waitForLoadState(state = 'load', { timeout = this._timeout } = {}) {
    const deadline = Date.now() + timeout;
    await poll(async () => ((await this._run(() => document.readyState).catch(() => null)) === 'complete'
      ? { done: true } : { wait: 'document loading' }), timeout, `waitForLoadState(${state})`);
    if (state === 'networkidle') await this._context.proxy.idle({ timeout: Math.max(0, deadline - Date.now()) });
  }

  async waitForFunction(fn, arg, { timeout = this._timeout, polling = 100 } = {}) {
    return poll(async () => {
      const v = await (arg === undefined ? this._run(fn) : this._run(fn, arg)).catch((e) => ({ __error: e.message }));
      if (v && v.__error) return { wait: v.__error };
      return v ? { done: v } : (await sleep(polling), { wait: JSON.stringify(v) });
    }, timeout, `waitForFunction(${String(fn).slice(0, 80)})`);
  }

  waitForTimeout(ms) { return sleep(ms); }

  async textContent(selector) { return this.locator(selector).textContent(); }

  locator(selector) { return new Locator(this, [{ t: 'css', s: selector }]); }
  getByRole(role, options = {}) { return new Locator(this, []).getByRole(role, options); }
  getByText(text, options = {}) { return new Locator(this, []).getByText(text, options); }

  async route(pattern, handler) { this._context.proxy.route(pattern, handler); }
  async unroute(pattern, handler) { this._context.proxy.unroute(pattern, handler); }

  async bringToFront() { await this.session.cmd(this.handle, 'GET', '/window'); }

  /** PNG of the viewport (`fullPage` as far as the engine can: Firefox whole, WebKit the viewport). */
  async screenshot({ path: file, fullPage = false, timeout = 20_000 } = {}) {
    let b64;
    if (fullPage && this._context.browser.engine === 'firefox') b64 = await this.session.cmd(this.handle, 'GET', '/moz/screenshot/full', undefined, timeout);
    else b64 = await this.session.cmd(this.handle, 'GET', '/screenshot', undefined, timeout);
    const png = Buffer.from(b64, 'base64');
    if (file) await fsp.writeFile(file, png);
    return png;
  }

  async close() {
    if (this._closed) return;
    this._closed = true;
    const ctx = this._context;
    ctx.openPages = ctx.openPages.filter((p) => p !== this);
    const browser = ctx.browser;
    if (this.handle === browser.home) {
      await this.session.cmd(this.handle, 'POST', '/url', { url: 'about:blank' });
      browser.homeFree = true;
    } else {
      await this.session.cmd(this.handle, 'DELETE', '/window');
      this.session.current = null;
    }
    this.emit('close', this);
  }
}

class Keyboard {
  constructor(page) { this.page = page; }

  async press(combo) {
    const parts = combo.split('+').map((k) => (k === '' ? '+' : k));
    const keys = parts.map(keyValue);
    const actions = [...keys.map((value) => ({ type: 'keyDown', value })), ...keys.reverse().map((value) => ({ type: 'keyUp', value }))];
    await this.page.session.cmd(this.page.handle, 'POST', '/actions', { actions: [{ type: 'key', id: 'keyboard', actions }] });
  }

  async type(text) {
    const actions = [...text].flatMap((value) => [{ type: 'keyDown', value }, { type: 'keyUp', value }]);
    await this.page.session.cmd(this.page.handle, 'POST', '/actions', { actions: [{ type: 'key', id: 'keyboard', actions }] });
  }
}

/** The mouse: WebDriver keeps the pointer's position and buttons between calls, as a real one. */
class Mouse {
  constructor(page) { this.page = page; }

  _act(actions) {
    return this.page.session.cmd(this.page.handle, 'POST', '/actions', {
      actions: [{ type: 'pointer', id: 'mouse', parameters: { pointerType: 'mouse' }, actions }],
    });
  }

  move(x, y) { return this._act([{ type: 'pointerMove', origin: 'viewport', x: Math.round(x), y: Math.round(y), duration: 0 }]); }
  down({ button = 'left' } = {}) { return this._act([{ type: 'pointerDown', button: button === 'right' ? 2 : 0 }]); }
  up({ button = 'left' } = {}) { return this._act([{ type: 'pointerUp', button: button === 'right' ? 2 : 0 }]); }

  click(x, y) {
    return this._act([
      { type: 'pointerMove', origin: 'viewport', x: Math.round(x), y: Math.round(y), duration: 0 },
      { type: 'pointerDown', button: 0 }, { type: 'pointerUp', button: 0 },
    ]);
  }
}

// ---- Locator ----------------------------------------------------------------------------

/**
 * A query resolved in the page at each use (steps: css, role, text, nth, or, hasText), as
 * Playwright's. Actions wait up to the context's timeout and are strict: a locator that
 * matches several elements is an error, not a guess.
 */
class Locator {
  constructor(page, steps) {
    this.page = page;
    this.steps = steps;
  }

  _with(step) { return new Locator(this.page, [...this.steps, step]); }
  locator(selector) { return this._with({ t: 'css', s: selector }); }

  getByRole(role, { name, exact = false, level, includeHidden } = {}) {
    if (includeHidden) throw new Error('getByRole includeHidden is not supported by the WebDriver engines');
    return this._with({ t: 'role', role, name: wireArg(name), exact, level });
  }

  getByText(text, { exact = false } = {}) { return this._with({ t: 'text', text: wireArg(text), exact }); }
  first() { return this._with({ t: 'nth', n: 0 }); }
  last() { return this._with({ t: 'nth', n: -1 }); }
  nth(n) { return this._with({ t: 'nth', n }); }
  or(other) { return new Locator(this.page, [{ t: 'or', a: this.steps, b: other.steps }]); }

  filter({ hasText } = {}) { return hasText === undefined ? this : this._with({ t: 'hasText', text: wireArg(hasText) }); }

  toString() { return `locator(${JSON.stringify(this.steps)})`; }

  /** Runs `fn(kit, elements, ...args)` in the page with this locator resolved. */
  _inPage(fn, ...args) {
    // Composed here, not eval'd in the page: a strict CSP with Trusted Types forbids eval.
    return this.page._run(`(steps, ...rest) => { const k = (${kit})(); return (${fn})(k, k.resolve(steps), ...rest); }`,
      this.steps, ...args);
  }

  async count() { return this._inPage((k, els) => els.length); }

  /** Waits until exactly one element matches and `check(kit, el, arg)` says `{ done }`. */
  async _one(what, check, arg, { timeout = this.page._timeout } = {}) {
    const fn = `(k, els, arg) => {
      if (els.length === 0) return { wait: 'no element matches' };
      if (els.length > 1) return { strict: els.map((e) => k.describe(e) + ' "' + k.name(e).slice(0, 40) + '"').join(', ') };
      return (${check})(k, els[0], arg);
    }`;
    return poll(async () => {
      const r = await this._inPage(fn, arg);
      if (r.strict) throw new Error(`${what}: strict mode violation: ${this} matches ${r.strict}`);
      return r;
    }, timeout, `${what} ${this}`);
  }

  async waitFor({ state = 'visible', timeout } = {}) {
    await poll(async () => {
      const r = await this._inPage((k, els, s) => {
        if (s === 'attached') return els.length ? { done: true } : { wait: 'not attached' };
        if (s === 'detached') return els.length ? { wait: 'still attached' } : { done: true };
        if (els.length > 1) return { strict: els.length };
        const vis = els.length === 1 && k.visible(els[0]);
        return (s === 'visible') === vis ? { done: true } : { wait: vis ? 'visible' : 'not visible' };
      }, state);
      if (r.strict) throw new Error(`waitFor: strict mode violation: ${this} matches ${r.strict} elements`);
      return r;
    }, timeout ?? this.page._timeout, `waitFor(${state}) ${this}`);
  }

  async isVisible() {
    const r = await this._inPage((k, els) => (els.length > 1 ? { strict: els.length } : { v: els.length === 1 && k.visible(els[0]) }));
    if (r.strict) throw new Error(`isVisible: strict mode violation: ${this} matches ${r.strict} elements`);
    return r.v;
  }

  isHidden() { return this.isVisible().then((v) => !v); }
  isChecked() { return this._one('isChecked', (k, el) => ({ done: k.checked(el) })); }
  isEnabled() { return this._one('isEnabled', (k, el) => ({ done: !el.disabled && el.getAttribute('aria-disabled') !== 'true' })); }
  textContent() { return this._one('textContent', (k, el) => ({ done: el.textContent })); }
  innerText() { return this._one('innerText', (k, el) => ({ done: el.innerText })); }
  inputValue() { return this._one('inputValue', (k, el) => ({ done: el.value })); }
  getAttribute(name) { return this._one('getAttribute', (k, el, n) => ({ done: el.getAttribute(n) }), name); }
  focus() { return this._one('focus', (k, el) => { el.focus(); return { done: true }; }); }

  boundingBox() {
    return this._one('boundingBox', (k, el) => {
      const r = el.getBoundingClientRect();
      return { done: r.width || r.height ? { x: r.x, y: r.y, width: r.width, height: r.height } : null };
    });
  }

  scrollIntoViewIfNeeded() {
    return this._one('scrollIntoViewIfNeeded', (k, el) => {
      if (!k.visible(el)) return { wait: 'element is not visible' };
      const r = el.getBoundingClientRect();
      if (r.top < 0 || r.left < 0 || r.bottom > innerHeight || r.right > innerWidth) {
        el.scrollIntoView({ block: 'center', inline: 'center', behavior: 'instant' });
      }
      return { done: true };
    });
  }

  async evaluate(fn, arg) {
    const el = await this._one('evaluate', (k, e) => ({ done: e }));
    return arg === undefined ? this.page._run(fn, el) : this.page._run(fn, el, arg);
  }

  async fill(value) {
    await this._one('fill', (k, el, v) => {
      const problem = k.fill(el, v);
      return problem ? { wait: problem } : { done: true };
    }, String(value));
  }

  /**
   * Moves the mouse to the element's centre and clicks there (a tap is the same here). A click
   * that would land elsewhere, because the page moved in between, reaches nothing and is
   * tried again (see `guardFor` in inpage.mjs).
   */
  async click({ timeout } = {}) {
    const deadline = Date.now() + (timeout ?? this.page._timeout);
    for (;;) {
      const at = await this._one('click', async (k, el) => {
        const p = await k.pointAt(el);
        if (p.wait) return p;
        k.guardFor(el);
        return { done: p };
      }, undefined, { timeout: Math.max(1, deadline - Date.now()) });
      await this.page.mouse.click(at.x, at.y);
      // A click that navigated leaves a new document without the guard: it landed.
      const missed = await this.page._run(() => window.__e2eKit?.unguard() ?? null).catch(() => null);
      if (!missed) return;
      if (Date.now() > deadline) throw new TimeoutError(`click ${this}: the page kept moving; the click would have landed on ${missed}`);
    }
  }

  tap(options) { return this.click(options); }

  async check() {
    if (await this.isChecked()) return;
    await this.click();
    await poll(async () => ((await this.isChecked()) ? { done: true } : { wait: 'not checked' }), this.page._timeout, `check ${this}`);
  }

  async uncheck() {
    if (!(await this.isChecked())) return;
    await this.click();
    await poll(async () => ((await this.isChecked()) ? { wait: 'still checked' } : { done: true }), this.page._timeout, `uncheck ${this}`);
  }

  async press(key) {
    await this.focus();
    await this.page.keyboard.press(key);
  }

  async screenshot({ path: file } = {}) {
    const el = await this._one('screenshot', (k, e) => ({ done: e }));
    const id = Object.values(el)[0];
    const b64 = await this.page.session.cmd(this.page.handle, 'GET', `/element/${id}/screenshot`);
    const png = Buffer.from(b64, 'base64');
    if (file) await fsp.writeFile(file, png);
    return png;
  }
}
