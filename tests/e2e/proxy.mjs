// The network side of a WebDriver context (tests/e2e/webdriver.mjs). Classic WebDriver, all
// that WebKitGTK's WebKitWebDriver speaks, has no network interception and no init scripts,
// so each context of Firefox or WebKit gets its own origin: a small HTTP server on a free
// loopback port in front of the consent service. Through it the harness sees every request
// (`request`/`response` events), holds, aborts, fulfils or rewrites them (`route`, the
// shape of Playwright's), knows when the network is idle, and adds the context's init
// scripts to each HTML page as the first script of <head> (served from 'self', so a strict
// CSP lets it run). A fresh port is also a fresh origin: the context's localStorage,
// BroadcastChannel and HTTP cache start empty, as a new Playwright context's do.
//
// The Host header is passed on unchanged, so the service sees the page's own origin and
// treats its requests as same-origin (the consent cookie is set as on a real site).

import { EventEmitter, once } from 'node:events';
import http from 'node:http';

/** Where the context's init scripts are served (never forwarded to the service). */
export const INIT_PATH = '/__e2e/init.js';
/** An empty page at the context's origin (cookies can only be added from one). */
export const BLANK_PATH = '/__e2e/blank.html';

/**
 * Playwright's URL glob: `**` any characters, `*` any but `/`; the rest literal. A glob
 * that is not absolute is taken relative to `base`.
 */
export function urlMatcher(pattern, base) {
  if (pattern instanceof RegExp) return (url) => pattern.test(url);
  if (typeof pattern === 'function') return (url) => pattern(new URL(url));
  let glob = String(pattern);
  if (!glob.startsWith('*') && !/^[a-z]+:/i.test(glob)) glob = new URL(glob, base).href;
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') { source += '.*'; i++; } else if (c === '*') source += '[^/]*';
    else source += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  const re = new RegExp(`^${source}$`);
  return (url) => re.test(url);
}

/** A request seen by the proxy, shaped like Playwright's `Request`. */
class ProxyRequest {
  constructor(origin, req, body) {
    this._url = new URL(req.url, origin).href;
    this._method = req.method;
    this._headers = req.headers;
    this._body = body;
  }

  url() { return this._url; }
  method() { return this._method; }
  headers() { return { ...this._headers }; }
  postData() { return this._body.length ? this._body.toString('utf8') : null; }
  postDataBuffer() { return this._body.length ? this._body : null; }
}

/** A response as the proxy passes it on, shaped like Playwright's `Response`. */
class ProxyResponse {
  constructor(request, status, headers, body) {
    this._request = request;
    this._status = status;
    this._headers = headers;
    this._body = body;
  }

  request() { return this._request; }
  url() { return this._request.url(); }
  status() { return this._status; }
  ok() { return this._status >= 200 && this._status < 300; }
  headers() { return { ...this._headers }; }
  async body() { return this._body; }
  async text() { return this._body.toString('utf8'); }
  async json() { return JSON.parse(this._body.toString('utf8')); }
}

/** What a route handler gets: `continue`, `abort`, `fulfill`, `fetch`, `fallback`. */
class Route {
  constructor(proxy, request) {
    this._proxy = proxy;
    this._request = request;
    this._outcome = null;
    this.done = new Promise((resolve) => { this._resolve = resolve; });
  }

  request() { return this._request; }

  _settle(outcome) {
    if (this._outcome) throw new Error(`route for ${this._request.url()} is already handled (${this._outcome.kind})`);
    this._outcome = outcome;
    this._resolve(outcome);
  }

  async continue() { this._settle({ kind: 'continue' }); }
  async fallback() { this._settle({ kind: 'fallback' }); }
  async abort() { this._settle({ kind: 'abort' }); }

  /** `{ status, headers, contentType, body, response }`: `response` gives the defaults. */
  async fulfill({ status, headers, contentType, body, json, response } = {}) {
    const base = response ?? null;
    const out = {
      status: status ?? base?.status() ?? 200,
      headers: { ...(base?.headers() ?? {}), ...(headers ?? {}) },
      body: json !== undefined ? Buffer.from(JSON.stringify(json))
        : body !== undefined ? Buffer.from(body) : (base ? await base.body() : Buffer.alloc(0)),
    };
    if (contentType) out.headers['content-type'] = contentType;
    if (json !== undefined && !contentType) out.headers['content-type'] = 'application/json';
    // The body was decoded and may have changed length.
    delete out.headers['content-length'];
    delete out.headers['content-encoding'];
    delete out.headers['transfer-encoding'];
    this._settle({ kind: 'fulfill', response: out });
  }

  /** The service's response to this request, without passing it to the page. */
  async fetch() {
    const { status, headers, body } = await this._proxy._forward(this._request);
    return new ProxyResponse(this._request, status, headers, body);
  }
}

/**
 * The context's origin. `start()` listens on a free port; `origin` is then the page's
 * origin. Emits `request` and `response` (`requestfailed` for aborted ones).
 */
export class OriginProxy extends EventEmitter {
  constructor(backend) {
    super();
    this.backend = new URL(backend);
    this.routes = [];
    this.initScripts = [];
    this.inFlight = 0;
    this.lastActivity = Date.now();
    this.agent = new http.Agent({ keepAlive: true });
    this.server = http.createServer((req, res) => {
      this._handle(req, res).catch((error) => {
        console.error(`# proxy: ${req.method} ${req.url}: ${error.stack}`);
        res.destroy();
      });
    });
    this.origin = null;
  }

  async start() {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.origin = `http://127.0.0.1:${this.server.address().port}`;
    return this;
  }

  async stop() {
    this.server.closeAllConnections?.();
    await new Promise((resolve) => this.server.close(resolve));
    this.agent.destroy();
  }

  route(pattern, handler) { this.routes.unshift({ match: urlMatcher(pattern, this.origin), pattern, handler }); }

  unroute(pattern, handler) {
    this.routes = this.routes.filter((r) => !(r.pattern === pattern && (!handler || r.handler === handler)));
  }

  /** Resolves once no request has been open for `quietMs` (or rejects after `timeout`). */
  async idle({ quietMs = 500, timeout = 10_000 } = {}) {
    const deadline = Date.now() + timeout;
    while (this.inFlight > 0 || Date.now() - this.lastActivity < quietMs) {
      if (Date.now() > deadline) throw new Error(`the network was not idle within ${timeout} ms (${this.inFlight} open)`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async _handle(req, res) {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const path = new URL(req.url, 'http://x').pathname;
    if (path === INIT_PATH) {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
      res.end(this.initScripts.join('\n;\n'));
      return;
    }
    if (path === BLANK_PATH) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end('<!doctype html><title>e2e</title>');
      return;
    }
    const request = new ProxyRequest(this.origin, req, Buffer.concat(chunks));
    this.inFlight++;
    this.lastActivity = Date.now();
    try {
      this.emit('request', request);
      let outcome = { kind: 'continue' };
      for (const route of this.routes.filter((r) => r.match(request.url()))) {
        const handle = new Route(this, request);
        await route.handler(handle, request);
        outcome = await handle.done;
        if (outcome.kind !== 'fallback') break;
        outcome = { kind: 'continue' };
      }
      if (outcome.kind === 'abort') {
        this.emit('requestfailed', request);
        res.destroy();
        return;
      }
      let response = outcome.response;
      if (!response) {
        try {
          response = await this._forward(request);
        } catch {
          // The service is down: the page sees a network error, as it would without us.
          this.emit('requestfailed', request);
          res.destroy();
          return;
        }
      }
      const body = this._withInitScript(response);
      const headers = { ...response.headers, 'content-length': String(body.length) };
      delete headers['transfer-encoding'];
      delete headers.connection;
      delete headers['keep-alive'];
      res.writeHead(response.status, headers);
      res.end(body);
      this.emit('response', new ProxyResponse(request, response.status, response.headers, response.body));
    } finally {
      this.inFlight--;
      this.lastActivity = Date.now();
    }
  }

  /** Sends `request` on to the service: `{ status, headers, body }`. */
  _forward(request) {
    return new Promise((resolve, reject) => {
      const url = new URL(request.url());
      const headers = { ...request.headers() };
      // Identity responses, so that HTML can be amended.
      delete headers['accept-encoding'];
      const out = http.request({
        host: this.backend.hostname, port: this.backend.port, method: request.method(),
        path: url.pathname + url.search, headers, agent: this.agent,
      }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      out.on('error', reject);
      out.end(request.postDataBuffer() ?? undefined);
    });
  }

  _withInitScript(response) {
    const type = String(response.headers['content-type'] ?? '');
    if (!this.initScripts.length || !type.startsWith('text/html')) return response.body;
    const html = response.body.toString('utf8');
    const tag = `<script src="${INIT_PATH}"></script>`;
    const open = html.match(/<head(\s[^>]*)?>/i) ?? html.match(/<html(\s[^>]*)?>/i);
    const at = open ? open.index + open[0].length : 0;
    return Buffer.from(html.slice(0, at) + tag + html.slice(at));
  }
}
