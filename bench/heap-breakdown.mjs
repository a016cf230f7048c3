// What a page's JS heap holds over the no-library page's, by kind: a heap snapshot diff
// (CDP HeapProfiler.takeHeapSnapshot after two full collections), grouped by the snapshot's
// node type and, for V8's internal objects and code, by name. `make bench` measures the heap's
// total (RESULTS.md, "JS heap after GC"); this says what that total is made of.
//
//   node bench/heap-breakdown.mjs http://127.0.0.1:PORT floor.html vivus.html
//
// against the site `make bench` leaves in bench/work/site, served by the service as the bench
// serves it (see "Served by" in RESULTS.md). First visit only: a returning visit needs a token
// signed by the key in the page's inline JWKS, which the bench's service keeps only for its run.
// The wasm's linear memory (ArrayBuffer backing stores), its compiled code and Blink's DOM
// objects are outside the V8 heap that `Runtime.getHeapUsage` counts, and are left out here.
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { chromium } = createRequire(join(ROOT, 'package.json'))('playwright-core');
const [base, floorPath, pagePath] = process.argv.slice(2);
if (!base || !floorPath || !pagePath) {
  console.error('usage: node bench/heap-breakdown.mjs BASE_URL FLOOR_PAGE PAGE');
  process.exit(2);
}
const SETTLE_MS = 2500;

/** The kind a snapshot node is counted under, or null for what lives outside the V8 heap. */
function kind(type, name, retainer) {
  if (type === 'string' || type === 'concatenated string' || type === 'sliced string') return 'strings';
  if (type === 'code') return `code: ${name.replace(/^system \/ /, '')}`;
  if (type === 'closure') return 'closures';
  if (type === 'object shape') return 'object shapes (maps, descriptors)';
  if (type === 'object') return 'objects';
  if (type === 'array') {
    if (retainer.startsWith('synthetic:(Strong root list)/smi_string_cache')) return 'array: V8 number→string cache';
    if (retainer.startsWith('object:Table/')) return 'array: WebAssembly tables';
    return 'array: other';
  }
  if (type === 'native') {
    if (/JSArrayBufferData|WasmNativeModule|^blink|^Detached|HTML|CSS|^Document/.test(name)) return null;
    if (name.endsWith('ExternalStringData')) return 'V8 internal: script sources (ExternalStringData)';
    return `V8 internal: ${name.replace(/^system \/ /, '')}`;
  }
  return type;
}

async function breakdown(browser, path) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'ru-RU' });
  try {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await page.goto(new URL(path, base).href, { waitUntil: 'load' });
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    await cdp.send('HeapProfiler.enable');
    await cdp.send('HeapProfiler.collectGarbage');
    await cdp.send('HeapProfiler.collectGarbage');
    const { usedSize } = await cdp.send('Runtime.getHeapUsage');
    const chunks = [];
    cdp.on('HeapProfiler.addHeapSnapshotChunk', (e) => chunks.push(e.chunk));
    await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    const s = JSON.parse(chunks.join(''));
    const m = s.snapshot.meta;
    const F = m.node_fields.length;
    const E = m.edge_fields.length;
    const [type, name, self, edges] = ['type', 'name', 'self_size', 'edge_count'].map((f) => m.node_fields.indexOf(f));
    const [edgeType, edgeName, edgeTo] = ['type', 'name_or_index', 'to_node'].map((f) => m.edge_fields.indexOf(f));
    const nodes = s.nodes.length / F;
    // The first retainer of each node, as "type:name/edge", to tell V8's caches apart.
    const retainer = new Array(nodes);
    for (let i = 0, e = 0; i < nodes; i++) {
      const who = `${m.node_types[type][s.nodes[i * F + type]]}:${s.strings[s.nodes[i * F + name]]}`.slice(0, 40);
      for (let k = 0; k < s.nodes[i * F + edges]; k++, e += E) {
        const to = s.edges[e + edgeTo] / F;
        const et = m.edge_types[edgeType][s.edges[e + edgeType]];
        const en = et === 'element' || et === 'hidden' ? '' : s.strings[s.edges[e + edgeName]];
        retainer[to] ??= `${who}/${en}`;
      }
    }
    const by = {};
    for (let i = 0; i < nodes; i++) {
      const k = kind(m.node_types[type][s.nodes[i * F + type]], String(s.strings[s.nodes[i * F + name]]), retainer[i] ?? '');
      if (k) by[k] = (by[k] ?? 0) + s.nodes[i * F + self];
    }
    return { usedSize, by };
  } finally {
    await context.close();
  }
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium' });
try {
  const floor = await breakdown(browser, floorPath);
  const page = await breakdown(browser, pagePath);
  console.log(`Runtime.getHeapUsage: ${floorPath} ${floor.usedSize} B, ${pagePath} ${page.usedSize} B: +${page.usedSize - floor.usedSize} B`);
  const rows = [...new Set([...Object.keys(floor.by), ...Object.keys(page.by)])]
    .map((k) => [k, (page.by[k] ?? 0) - (floor.by[k] ?? 0)])
    .sort((a, b) => b[1] - a[1]);
  const sum = rows.reduce((s, r) => s + r[1], 0);
  console.log(`snapshot, by kind (self sizes over ${floorPath}'s; rows under 2 kB left out; all rows: +${sum} B):`);
  for (const [k, d] of rows.filter((r) => Math.abs(r[1]) >= 2000)) console.log(`${String(d).padStart(9)}  ${k}`);
} finally {
  await browser.close();
}
