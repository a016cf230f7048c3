// What the browser requested, from the network: every request a page made (playwright's
// request events, i.e. CDP's Network domain), with its response body whether it came over the
// wire or from the HTTP cache. The byte figures per visitor path are sums over these, cut at a
// moment of the page's clock, so they follow the SDK however it is split into files and
// whatever the files are called.
import { createHash } from 'node:crypto';
import { brotliCompressSync, gzipSync, constants as zc } from 'node:zlib';

/**
 * Records the requests of one page. `phase` names the navigation requests are counted for
 * (set it before each `goto`): a request belongs to the phase current when it was sent.
 */
export class NetLog {
  constructor(page) {
    this.entries = [];
    this.phase = null;
    this.pending = new Set();
    this.lastChange = Date.now();
    const byRequest = new Map();
    const settle = (req, fill) => {
      const e = byRequest.get(req);
      if (!e) return;
      const done = (async () => {
        try {
          await fill(e);
        } catch (err) {
          e.error = err.message.split('\n')[0];
        }
      })();
      this.pending.add(done);
      done.finally(() => {
        this.pending.delete(done);
        this.lastChange = Date.now();
      });
    };
    page.on('request', (req) => {
      let navigation = false;
      try {
        navigation = req.isNavigationRequest() && req.frame() === page.mainFrame();
      } catch {}
      const e = { phase: this.phase, url: req.url(), method: req.method(), type: req.resourceType(), navigation, status: null, body: null, timing: null, finished: false, error: null };
      byRequest.set(req, e);
      this.entries.push(e);
      this.lastChange = Date.now();
    });
    page.on('requestfinished', (req) =>
      settle(req, async (e) => {
        const res = await req.response();
        e.status = res?.status() ?? null;
        e.timing = req.timing();
        // A redirect or an empty answer has no body to count.
        if (res && e.status >= 200 && e.status < 300 && e.method !== 'HEAD') e.body = await res.body();
        e.finished = true;
      }),
    );
    page.on('requestfailed', (req) =>
      settle(req, async (e) => {
        e.error = req.failure()?.errorText ?? 'failed';
        e.finished = true;
      }),
    );
  }

  /** Requests still without an answer (their bodies being read count as in flight). */
  inFlight() {
    return this.entries.filter((e) => !e.finished && !e.error).length + this.pending.size;
  }

  /** Resolves once nothing was in flight for `quietMs`, or after `timeoutMs` (then false). */
  async quiet(quietMs, timeoutMs) {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (this.inFlight() === 0 && Date.now() - this.lastChange >= quietMs) return true;
      await new Promise((r) => setTimeout(r, 25));
    }
    return false;
  }

  /** Waits for the bodies being read, so every finished request has its body. */
  async drain() {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }
}

/**
 * The consent service's API, which ours talks to: its answers are data (the policy text, the
 * key set, recorded choices), not the consent UI's code, and are listed apart.
 */
export const isServiceApi = (path) => path.startsWith('/v1/') || path.startsWith('/.well-known/');

/**
 * The responses of one phase, each with the moment it arrived on the page's clock:
 * its Resource Timing entry (same URL, in order) where the page has one, else the network's
 * own timing converted with the document's `timeOrigin`.
 */
export function timedResponses(log, phase, page) {
  const rt = new Map();
  for (const r of page.resources) {
    if (!rt.has(r.url)) rt.set(r.url, []);
    rt.get(r.url).push(r);
  }
  return log.entries
    .filter((e) => e.phase === phase && !e.navigation)
    .map((e) => {
      const entry = rt.get(e.url)?.shift();
      let end = entry?.end ?? null;
      let start = entry?.start ?? null;
      if (end === null && e.timing && e.timing.responseEnd >= 0 && page.timeOrigin) {
        start = e.timing.startTime - page.timeOrigin;
        end = start + e.timing.responseEnd;
      }
      return { ...e, start, end, clock: entry ? 'resource timing' : end === null ? 'none' : 'network' };
    });
}

// ---------------------------------------------------------------------------
// Compressed sizes, memoized by content: a run's paths are summed from the same few bodies.

const sizes = new Map();

/** raw, gzip -9 and brotli 11 sizes of a body. */
export function compressed(buf) {
  const key = createHash('sha1').update(buf).digest('hex');
  let s = sizes.get(key);
  if (!s) {
    s = {
      raw: buf.length,
      gzip: gzipSync(buf, { level: 9 }).length,
      brotli: brotliCompressSync(buf, {
        params: { [zc.BROTLI_PARAM_QUALITY]: 11, [zc.BROTLI_PARAM_SIZE_HINT]: buf.length },
      }).length,
    };
    sizes.set(key, s);
  }
  return s;
}

/** Sizes of a wasm module's sections (code, data, imports, the rest), raw and brotli. */
export function wasmSections(buf) {
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

/**
 * The bytes of one visitor path: every response in `responses` that arrived by `cut` (page
 * clock; null = all of them), other than the service's API, with its sizes; the service's
 * answers listed apart. A URL fetched twice counts twice: the browser received it twice.
 */
export function pathBytes(responses, base, cut = null) {
  const files = [];
  const api = [];
  const uncounted = [];
  for (const r of responses) {
    if (cut !== null && (r.end === null || r.end > cut)) {
      if (r.end === null) uncounted.push({ url: r.url, why: r.error ?? 'no time' });
      continue;
    }
    const path = r.url.startsWith(base) ? r.url.slice(base.length) : r.url;
    if (!r.body) {
      if (r.error || r.status === null || r.status >= 300) uncounted.push({ url: path, why: r.error ?? `status ${r.status}` });
      continue;
    }
    const f = { url: path, type: r.type, start: r.start, end: r.end, ...compressed(r.body) };
    if (path.endsWith('.wasm') || r.body.subarray(0, 4).equals(Buffer.from([0, 0x61, 0x73, 0x6d]))) f.sections = wasmSections(r.body);
    (isServiceApi(path) ? api : files).push(f);
  }
  const total = { raw: 0, gzip: 0, brotli: 0 };
  for (const f of files) for (const k in total) total[k] += f[k];
  return { files, total, api, uncounted };
}
