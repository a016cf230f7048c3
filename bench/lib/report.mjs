// bench/RESULTS.md from the results object run.mjs builds (the same object is
// written to bench/results.json). At the top, issue 12's table: every figure of
// its targets, for every contender, side by side, met or missed; below it, how
// the bytes of each visitor path are made up, the timings in detail, and how
// each figure is taken.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';

const REF = 'cookieconsent'; // vanilla-cookieconsent: the ratios' reference
const OURS = 'vivus'; // the quick start: the issue's "vivus-consent" column
/** The issue's table: its columns, in its order. */
const TABLE = ['floor', 'cookieconsent', 'osano', 'klaro', OURS];

const METRICS = [
  ['bannerInDom', 'banner element in the DOM (ms from navigation start)', 'ms'],
  ['bannerVisible', 'banner visible (ms from navigation start)', 'ms'],
  ['sdkReady', 'ours: `vivus-consent:ready` dispatched, first visit (ms)', 'ms'],
  ['docEnd', 'HTML document received (ms)', 'ms'],
  ['domContentLoaded', 'DOMContentLoaded handlers done (ms)', 'ms'],
  ['fcp', 'first contentful paint (ms)', 'ms'],
  ['tbt', 'total blocking time, first visit (ms)', 'ms'],
  ['longTasks', 'long tasks, first visit (count)', 'n'],
  ['libLongTasks', 'of which the library\'s (its files or the page\'s inline code ran in them) (count)', 'n'],
  ['unattributedLongTasks', 'of which with no script in them (count)', 'n'],
  ['libTbt', 'blocking time in the library\'s long tasks (ms)', 'ms'],
  ['longestTask', 'longest task, first visit (ms)', 'ms'],
  ['cls', 'cumulative layout shift, first visit', 'cls'],
  ['firstFrameClickToGated', 'click in the banner\'s first frame → gated script ran (ms)', 'ms'],
  ['firstFrameClickLag', 'that click came this long after the frame that showed the banner (ms)', 'ms'],
  ['acceptToGated', 'accept click once the page settled → gated script ran (ms)', 'ms'],
  ['acceptToRecorded', 'ours: accept click → service recorded it (`vivus-consent:recorded`, token back) (ms)', 'ms'],
  ['returningGated', 'returning visitor: navigation start → gated script ran (ms)', 'ms'],
  ['returningSdkReady', 'ours: `vivus-consent:ready` dispatched, returning visitor (ms)', 'ms'],
  ['sdkVerify', 'ours: token verification on the returning visit, as the SDK measures it (ms)', 'ms'],
  ['firstVisitGated', 'no library: navigation start → script ran, first visit (ms)', 'ms'],
  ['heapFirst', 'JS heap after GC, first visit settled (kB)', 'kB'],
  ['heapReturning', 'JS heap after GC, returning visit (kB)', 'kB'],
  ['arrayBuffersFirst', 'ArrayBuffer backing stores (wasm memory), first visit (kB)', 'kB'],
  ['arrayBuffersReturning', 'ArrayBuffer backing stores (wasm memory), returning visit (kB)', 'kB'],
];

const fmt = (v, unit) => {
  if (v === null || v === undefined) return '–';
  if (unit === 'cls') return v.toFixed(3);
  if (unit === 'n') return Number.isInteger(v) ? String(v) : v.toFixed(1);
  if (unit === 'kB') return (v / 1000).toFixed(0);
  return Math.abs(v) < 10 ? v.toFixed(1) : v.toFixed(0);
};
const ratio = (a, b) => (a === null || a === undefined || !b ? null : a / b);
const fmtRatio = (r) => (r === null ? '' : ` ×${r.toFixed(2)}`);
const kB = (b) => `${(b / 1000).toFixed(1)} kB`;
const signed = (v, f) => `${v >= 0 ? '+' : '−'}${f(Math.abs(v))}`;

function cell(s, ref, unit) {
  if (!s) return '–';
  const spread = s.n > 1 ? ` [${fmt(s.p25, unit)}–${fmt(s.p75, unit)}]` : '';
  return `${fmt(s.median, unit)}${spread}${unit === 'kB' ? '' : fmtRatio(ratio(s.median, ref?.median))}`;
}

/** median (p25–p75), in ms */
const ms = (s) => (s ? `${fmt(s.median, 'ms')} ms${s.n > 1 ? ` (${fmt(s.p25, 'ms')}–${fmt(s.p75, 'ms')})` : ''}` : '–');

/** A byte total over runs: one figure when every run received the same bytes, else median (min–max). */
const bytesCell = (s) => (s ? (s.min === s.max ? kB(s.median) : `${kB(s.median)} (${kB(s.min)}–${kB(s.max)})`) : '–');

/**
 * Issue 12's table: one row per figure, a cell per contender, the target and whether ours
 * meets it (`met`, `missed`, or `not measured` with the reason), and the figures it was
 * judged on.
 */
export function issueTable(r) {
  const ran = new Set(r.contenders.map((c) => c.id));
  const fig = (t, id, key) => r.figures[`x${t}`]?.[id]?.[key] ?? null;
  const hasT = (t) => r.throttle.includes(t);
  const paths = r.paths ?? {};
  const rows = [];
  const row = (figure, target, cells, judge) => {
    let status = 'not measured';
    let detail = '';
    try {
      const j = judge();
      if (typeof j === 'string') detail = j;
      else ({ status, detail } = j);
    } catch (e) {
      detail = e.message;
    }
    rows.push({ figure, target, cells: Object.fromEntries(TABLE.map((id) => [id, ran.has(id) ? cells(id) : 'not run'])), status, detail });
  };
  const need = (cond, why) => {
    if (!cond) throw new Error(why);
  };
  const oursRan = () => need(ran.has(OURS), r.notes?.vivus ?? 'vivus-consent not in CONTENDERS');
  const verdict = (ok, detail) => ({ status: ok ? 'met' : 'missed', detail });

  // Bytes, from the network, brotli 11, with the inline config.
  const bytesRow = (figure, key, limit, floorCell) =>
    row(
      figure,
      `≤ ${kB(limit)}`,
      (id) => (id === 'floor' ? floorCell : bytesCell(paths[id]?.[key])),
      () => {
        oursRan();
        const s = paths[OURS]?.[key];
        need(s, 'ours: no run got this far');
        const v = s.median;
        return verdict(v <= limit, `${v} B brotli (median over ${s.n} runs), target ${limit} B${v > limit ? `: over by ${v - limit} B` : ''}`);
      },
    );
  bytesRow('bytes a returning visitor loads before granted tags run', 'beforeGatedBrotli', 20000, '0');

  for (const [t, limit] of [
    [1, 5],
    [4, 15],
  ]) {
    const cpu = t === 1 ? 'unthrottled' : `CPU ×${t}`;
    row(
      `returning visitor: navigation → gated tag, ${cpu}`,
      `≤ +${limit} ms over no library`,
      (id) => {
        const s = fig(t, id, 'returningGated');
        const fl = fig(t, 'floor', 'returningGated');
        if (!s) return '–';
        if (id === 'floor' || !fl) return ms(s);
        return `${ms(s)}, ${signed(s.median - fl.median, (x) => `${fmt(x, 'ms')} ms`)}`;
      },
      () => {
        need(hasT(t), `CPU ×${t} not in THROTTLE`);
        oursRan();
        need(ran.has('floor'), 'the no-library page not in CONTENDERS');
        const o = fig(t, OURS, 'returningGated');
        const fl = fig(t, 'floor', 'returningGated');
        need(o && fl, 'no returning visit completed');
        const d = o.median - fl.median;
        return verdict(d <= limit, `ours ${o.median.toFixed(1)} ms, no library ${fl.median.toFixed(1)} ms: ${signed(d, (x) => x.toFixed(1))} ms${d > limit ? `, over by ${(d - limit).toFixed(1)} ms` : ''}`);
      },
    );
  }

  // The first-visit banner: nothing to count on the no-library page.
  bytesRow('bytes before the first-visit banner', 'beforeBannerBrotli', 12000, '–');

  row(
    'everything, after settings and the policy viewer were opened',
    `≤ ${kB(60000)}`,
    (id) => (paths[id]?.everything ? kB(paths[id].everything.total.brotli) : '–'),
    () => {
      oursRan();
      const e = paths[OURS]?.everything;
      need(e, 'ours: the settings and policy viewer path did not complete');
      const v = e.total.brotli;
      return verdict(v <= 60000, `${v} B brotli, target 60000 B${v > 60000 ? `: over by ${v - 60000} B` : ''}`);
    },
  );

  row(
    'total blocking time, first visit, CPU ×4',
    '≤ vanilla-cookieconsent\'s in the same run',
    (id) => ms(fig(4, id, 'tbt')),
    () => {
      need(hasT(4), 'CPU ×4 not in THROTTLE');
      oursRan();
      need(ran.has(REF), 'vanilla-cookieconsent not in CONTENDERS');
      const o = fig(4, OURS, 'tbt');
      const c = fig(4, REF, 'tbt');
      need(o && c, 'no first visit completed');
      return verdict(o.median <= c.median, `ours ${o.median.toFixed(0)} ms, vanilla-cookieconsent ${c.median.toFixed(0)} ms (medians)`);
    },
  );

  row(
    'long tasks that are the library\'s, first visit, CPU ×1',
    'none of ours',
    (id) => {
      const runs = r.samples?.x1?.[id]?.visit ?? [];
      if (!runs.length) return '–';
      const lib = runs.filter((x) => x.libLongTasks > 0).length;
      const any = runs.filter((x) => x.longTasks > 0).length;
      return `in ${lib} of ${runs.length} runs (any long task: ${any})`;
    },
    () => {
      need(hasT(1), 'CPU ×1 not in THROTTLE');
      oursRan();
      const s = fig(1, OURS, 'libLongTasks');
      need(s, 'no first visit completed');
      const runs = r.samples?.x1?.[OURS]?.visit ?? [];
      const withOne = runs.filter((x) => x.libLongTasks > 0).length;
      return verdict(s.max === 0, `${withOne} of ${runs.length} runs had a long task of ours (the most in one run: ${s.max})`);
    },
  );

  row(
    'banner visible, CPU ×4',
    '≤ Osano cookieconsent\'s in the same run',
    (id) => (id === 'floor' ? '–' : ms(fig(4, id, 'bannerVisible'))),
    () => {
      need(hasT(4), 'CPU ×4 not in THROTTLE');
      oursRan();
      need(ran.has('osano'), 'Osano cookieconsent not in CONTENDERS');
      const o = fig(4, OURS, 'bannerVisible');
      const c = fig(4, 'osano', 'bannerVisible');
      need(o && c, 'no banner shown');
      return verdict(o.median <= c.median, `ours ${o.median.toFixed(0)} ms, Osano ${c.median.toFixed(0)} ms (medians)`);
    },
  );

  row(
    'click in the banner\'s first frame → gated tag, unthrottled',
    '≤ 30 ms',
    (id) => (id === 'floor' ? '–' : ms(fig(1, id, 'firstFrameClickToGated'))),
    () => {
      need(hasT(1), 'CPU ×1 not in THROTTLE');
      oursRan();
      const o = fig(1, OURS, 'firstFrameClickToGated');
      need(o, 'no first-frame click completed');
      const lag = fig(1, OURS, 'firstFrameClickLag');
      return verdict(o.median <= 30, `${o.median.toFixed(1)} ms (median of ${o.n}); the click came ${lag ? lag.median.toFixed(1) : '?'} ms after the banner's first frame`);
    },
  );

  // The heap: at the first CPU setting measured (heap does not depend on throttling).
  const ht = r.throttle[0];
  for (const [key, when] of [
    ['heapFirst', 'first visit'],
    ['heapReturning', 'returning visitor'],
  ]) {
    row(
      `JS heap after GC over the empty page, ${when}`,
      '≤ +200 kB',
      (id) => {
        const s = fig(ht, id, key);
        const fl = fig(ht, 'floor', key);
        if (!s) return '–';
        if (id === 'floor') return `0 (${kB(s.median)})`;
        return fl ? `${signed(s.median - fl.median, kB)}` : kB(s.median);
      },
      () => {
        oursRan();
        need(ran.has('floor'), 'the no-library page not in CONTENDERS');
        const o = fig(ht, OURS, key);
        const fl = fig(ht, 'floor', key);
        need(o && fl, 'not measured in any run');
        const d = o.median - fl.median;
        return verdict(d <= 200000, `ours ${o.median} B, no library ${fl.median} B (medians): ${signed(d, (x) => `${x} B`)}`);
      },
    );
  }
  return rows;
}

/** The targets with their status, for results.json (the table's rows without the cells). */
export function evaluateTargets(r) {
  return issueTable(r).map(({ figure, target, status, detail }) => ({ target: `${figure}: ${target}`, status, detail }));
}

/** Per missed figure, what this run's figures say about where the bytes or the time go. */
function missFacts(r, rows) {
  const out = [];
  const paths = r.paths?.[OURS];
  const top = (p) =>
    [...(p?.files ?? [])]
      .sort((a, b) => b.brotli - a.brotli)
      .slice(0, 4)
      .map((f) => `\`${f.url}\` ${kB(f.brotli)}`)
      .join(', ');
  for (const row of rows.filter((x) => x.status === 'missed')) {
    const f = row.figure;
    if (f.startsWith('bytes a returning')) out.push(`${f}: the largest responses before the gated script: ${top(paths?.beforeGated)}.`);
    else if (f.startsWith('bytes before the first-visit')) out.push(`${f}: the largest responses before the banner: ${top(paths?.beforeBanner)}.`);
    else if (f.startsWith('everything')) out.push(`${f}: the largest responses: ${top(paths?.everything)}.`);
    else if (f.startsWith('returning visitor')) {
      const t = f.endsWith('unthrottled') ? 1 : 4;
      const o = r.figures[`x${t}`]?.[OURS];
      out.push(
        `${f}: ours' gated script runs at ${fmt(o?.returningGated?.median, 'ms')} ms, \`ready\` at ${fmt(o?.returningSdkReady?.median, 'ms')} ms; ` +
          `before it the page read ${(paths?.beforeGated?.files ?? []).map((x) => `\`${x.url}\``).join(', ') || 'nothing'} (from the HTTP cache).`,
      );
    } else if (f.startsWith('total blocking') || f.startsWith('long tasks')) {
      const t = f.startsWith('long tasks') ? 1 : 4;
      const runs = r.samples?.[`x${t}`]?.[OURS]?.visit ?? [];
      const scripts = new Map();
      for (const run of runs) for (const task of run.tasks ?? []) for (const s of task.lib ? task.scripts : []) scripts.set(s, (scripts.get(s) ?? 0) + 1);
      const o = r.figures[`x${t}`]?.[OURS];
      out.push(
        `${f}: long tasks per run (medians): ${fmt(o?.longTasks?.median, 'n')} in all, ${fmt(o?.libLongTasks?.median, 'n')} ours, ${fmt(o?.unattributedLongTasks?.median, 'n')} with no script; ` +
          `scripts in ours: ${[...scripts].map(([s, n]) => `\`${s}\` (${n}×)`).join(', ') || 'none'}.`,
      );
    } else if (f.startsWith('banner visible')) {
      const o = r.figures.x4?.[OURS];
      const tl = (o?.preBannerTimeline ?? []).map((x) => `\`${x.url.split('/').pop()}\` ${fmt(x.start?.median, 'ms')}→${fmt(x.end?.median, 'ms')}`).join('; ');
      out.push(`${f}: document ${fmt(o?.docEnd?.median, 'ms')} ms; ${tl}; in the DOM ${fmt(o?.bannerInDom?.median, 'ms')} ms; visible ${fmt(o?.bannerVisible?.median, 'ms')} ms (medians).`);
    } else if (f.startsWith('click in')) {
      const runs = r.samples?.x1?.[OURS]?.firstFrame ?? [];
      const loads = new Map();
      for (const run of runs) for (const u of run.loadedAfterClick ?? []) loads.set(u, (loads.get(u) ?? 0) + 1);
      out.push(`${f}: between the click and the gated script the page received ${[...loads].map(([u, n]) => `\`${u}\` (${n} of ${runs.length} runs)`).join(', ') || 'nothing'}.`);
    } else if (f.startsWith('JS heap')) {
      const key = f.endsWith('first visit') ? 'arrayBuffersFirst' : 'arrayBuffersReturning';
      const ab = r.figures[`x${r.throttle[0]}`]?.[OURS]?.[key];
      out.push(`${f}: ${row.detail}; ArrayBuffers (ours' wasm memory, outside the JS heap) ${ab ? kB(ab.median) : '–'} beside it.`);
    }
  }
  return out;
}

/** Every path's responses, file by file (a contender whose files are the same as one above is not repeated). */
function pathDetails(r, L) {
  const names = Object.fromEntries(r.contenders.map((c) => [c.id, c.name]));
  const shown = new Map();
  for (const c of r.contenders) {
    const p = r.paths?.[c.id];
    if (!p || c.id === 'floor') continue;
    for (const [key, label] of [
      ['beforeBanner', '(a) first visit, before the banner'],
      ['beforeGated', '(b) returning visitor, before the gated script'],
      ['everything', '(c) everything, settings and policy viewer opened'],
    ]) {
      const path = p[key];
      if (!path) continue;
      const sig = JSON.stringify(path.files.map((f) => [f.url, f.raw]));
      const same = shown.get(`${key}:${sig}`);
      if (same) {
        L.push(`- ${names[c.id]}, ${label}: the same responses as ${names[same]}.`);
        continue;
      }
      shown.set(`${key}:${sig}`, c.id);
      L.push(`<details><summary>${names[c.id]}, ${label}: ${kB(path.total.brotli)}</summary>\n`);
      L.push('| response | type | arrived (ms) | raw | gzip -9 | brotli 11 |');
      L.push('|---|---|---:|---:|---:|---:|');
      for (const f of path.files) {
        L.push(`| \`${f.url}\` | ${f.type} | ${fmt(f.end, 'ms')} | ${f.raw} | ${f.gzip} | ${f.brotli} |`);
        for (const [name, x] of Object.entries(f.sections ?? {})) L.push(`| ↳ ${name} section(s), compressed alone | | | ${x.raw} | | ${x.brotli} |`);
      }
      if (path.inlineConfig) L.push(`| inline config (the HTML over the no-library page's) | | | ${path.inlineConfig.raw} | ${path.inlineConfig.gzip} | ${path.inlineConfig.brotli} |`);
      L.push(`| **total** | | | ${path.total.raw} | ${path.total.gzip} | ${path.total.brotli} |`);
      for (const a of path.api) L.push(`| not counted: \`${a.url}\` (the service's answer) | ${a.type} | ${fmt(a.end, 'ms')} | ${a.raw} | ${a.gzip} | ${a.brotli} |`);
      for (const u of path.uncounted ?? []) L.push(`| not counted: \`${u.url}\` (${u.why}) | | | | | |`);
      L.push('\n</details>\n');
    }
  }
}

export function writeReport(r, path) {
  const ids = r.contenders.map((c) => c.id);
  const names = Object.fromEntries(r.contenders.map((c) => [c.id, c.name]));
  const L = [];
  L.push('# Browser benchmark: vivus-consent next to vanilla-cookieconsent, Osano cookieconsent and Klaro');
  L.push('');
  L.push(
    `Written by \`make bench\` (\`bench/run.mjs\`) on ${r.date} at commit \`${r.commit}\`, in ${r.durationSeconds} s. ` +
      'Raw figures and every run: [`results.json`](results.json). Do not edit by hand; rerun `make bench`.',
  );
  L.push('');

  const rows = issueTable(r);
  const allNames = { floor: 'no library', cookieconsent: 'vanilla-cookieconsent', osano: 'Osano cookieconsent', klaro: 'Klaro', vivus: 'vivus-consent' };
  const version = (id) => (names[id] ?? '').replace(/^[^0-9]*/, '');
  L.push('## Issue 12: each figure side by side, and its target');
  L.push('');
  L.push(
    `| figure | ${TABLE.map((id) => `${allNames[id]}${id !== 'floor' && id !== OURS && version(id) ? ` ${version(id)}` : ''}`).join(' | ')} | target | met/missed |`,
  );
  L.push(`|---|${TABLE.map(() => '---').join('|')}|---|---|`);
  for (const row of rows) {
    L.push(`| ${row.figure} | ${TABLE.map((id) => row.cells[id]).join(' | ')} | ${row.target} | **${row.status}**${row.status === 'not measured' ? ` (${row.detail})` : ''} |`);
  }
  L.push('');
  L.push(
    `Headless Chromium ${r.versions.chromium}, ${r.runs} runs per contender and CPU setting. Times: median (p25–p75). Bytes: brotli 11, kB of 1,000 bytes, counted from what the browser received on each visitor path (the peers' and ours' inline config included; the HTML document and the consent service's API answers not). ` +
      '"vivus-consent" is the `<script type="module">` quick start; the one-tag and preload-hint pages are in the tables below. ' +
      `The heap is taken at the run's first CPU setting (×${r.throttle[0]}); it does not depend on it.`,
  );
  L.push('');
  L.push('How each figure was judged:');
  L.push('');
  for (const row of rows) L.push(`- ${row.figure}: **${row.status}**. ${row.detail}`);
  L.push('');
  const facts = missFacts(r, rows);
  if (facts.length) {
    L.push('Where the missed figures\' bytes and time go, in this run:');
    L.push('');
    for (const f of facts) L.push(`- ${f}`);
    L.push('');
  }
  const notes = join(dirname(path), 'misses.md');
  if (existsSync(notes)) {
    L.push('### Why, and what would close them (hand-written: `bench/misses.md`)');
    L.push('');
    L.push(readFileSync(notes, 'utf8').trim());
    L.push('');
  }

  L.push('## Machine and versions');
  L.push('');
  L.push(`- CPU: ${r.machine.cpu}, ${r.machine.cores} cores; Linux ${r.machine.kernel}; ${r.machine.memoryGiB} GiB RAM`);
  if (r.loadAverage) {
    const busy = Math.max(r.loadAverage.start[0], r.loadAverage.end[0]) > r.machine.cores;
    L.push(
      `- Load average (1/5/15 min) at start ${r.loadAverage.start.join(' / ')}, at end ${r.loadAverage.end.join(' / ')} on ${r.machine.cores} cores` +
        (busy
          ? ': **the machine was busy** with other work during this run, so timings include waiting for a CPU and the spreads are wider than on an idle machine; the interleaved order spreads that evenly over the contenders, so compare ratios rather than absolute times'
          : ''),
    );
  }
  L.push(`- Chromium ${r.versions.chromium} (Debian, headless), node ${r.versions.node}, playwright-core ${r.versions.playwrightCore}`);
  L.push(
    `- vanilla-cookieconsent ${r.versions['vanilla-cookieconsent']}, Osano cookieconsent ${r.versions['cookieconsent (Osano)']}, Klaro ${r.versions.klaro} (from npm, exact versions), vivus-consent at \`${r.commit}\``,
  );
  L.push(`- Served by: ${r.server.kind} on loopback, the same server for every page${r.server.args.length ? ` (\`${r.server.args.join(' ')}\`)` : ''}`);
  L.push(
    `- ${r.runs} runs per contender and CPU setting (CPU ×${r.throttle.join(', ×')}), each path in a fresh browser context, contenders interleaved in rotating order after one unrecorded warm-up round. ` +
      'Cells below: median [p25–p75] ×ratio to vanilla-cookieconsent\'s median.',
  );
  if (r.preloads) L.push(`- The preload-hint page hints ${r.preloads.map((u) => `\`${u}\``).join(', ')} (what the quick start requested before its banner).`);
  L.push('');

  L.push('## Bytes per visitor path');
  L.push('');
  L.push(
    'Every response the browser received on each path, compressed here (brotli 11), plus the inline config (the page\'s HTML over the no-library page\'s). ' +
      '(a) and (b): the median over runs and, when runs differed, the range; (c): one run. Per response below.',
  );
  L.push('');
  L.push('| contender | (a) first visit, before the banner | (b) returning visitor, before the gated script | (c) everything | of which inline config | ×vanilla-cookieconsent (a / b / c) |');
  L.push('|---|---:|---:|---:|---:|---:|');
  const refP = r.paths?.[REF];
  for (const id of ids) {
    const p = r.paths?.[id];
    if (!p || id === 'floor') continue;
    const x = (a, b) => (a && b ? `×${(a / b).toFixed(2)}` : '–');
    L.push(
      `| ${names[id]} | ${bytesCell(p.beforeBannerBrotli)} | ${bytesCell(p.beforeGatedBrotli)} | ${p.everything ? kB(p.everything.total.brotli) : '–'} | ${p.inlineConfig ? `${p.inlineConfig.brotli} B` : '–'} | ` +
        `${x(p.beforeBannerBrotli?.median, refP?.beforeBannerBrotli?.median)} / ${x(p.beforeGatedBrotli?.median, refP?.beforeGatedBrotli?.median)} / ${x(p.everything?.total.brotli, refP?.everything?.total.brotli)} |`,
    );
  }
  L.push('');
  pathDetails(r, L);

  for (const t of r.throttle) {
    const f = r.figures[`x${t}`];
    L.push(`## Timings, ${t === 1 ? 'CPU unthrottled' : `CPU throttled ×${t}`}`);
    L.push('');
    L.push(`| metric | ${ids.map((id) => names[id]).join(' | ')} |`);
    L.push(`|---|${ids.map(() => '---:').join('|')}|`);
    for (const [key, label, unit] of METRICS) {
      if (ids.every((id) => !f[id]?.[key])) continue;
      L.push(`| ${label} | ${ids.map((id) => cell(f[id]?.[key], f[REF]?.[key], unit)).join(' | ')} |`);
    }
    L.push('');
    const tl = ids.filter((id) => f[id]?.preBannerTimeline?.length);
    if (tl.length) {
      L.push('Where the time to the banner goes (medians, ms from navigation start): each response before the banner, requested → received; then the banner in the DOM and visible.');
      L.push('');
      for (const id of tl) {
        const parts = f[id].preBannerTimeline.map((x) => `\`${x.url.split('/').pop()}\` ${fmt(x.start?.median, 'ms')}→${fmt(x.end?.median, 'ms')}`);
        if (f[id].sdkReady) parts.push(`ready ${fmt(f[id].sdkReady.median, 'ms')}`);
        parts.push(`in DOM ${fmt(f[id].bannerInDom?.median, 'ms')}`, `visible ${fmt(f[id].bannerVisible?.median, 'ms')}`);
        L.push(`- ${names[id]}: document ${fmt(f[id].docEnd?.median, 'ms')}; ${parts.join('; ')}`);
      }
      L.push('');
    }
    const scriptLines = [];
    for (const id of ids) {
      const runs = r.samples?.[`x${t}`]?.[id]?.visit ?? [];
      const scripts = new Map();
      for (const run of runs) for (const task of run.tasks ?? []) for (const s of task.scripts) scripts.set(s, (scripts.get(s) ?? 0) + 1);
      if (scripts.size) scriptLines.push(`- ${names[id]}: ${[...scripts].map(([s, n]) => `\`${s}\` ${n}×`).join(', ')}`);
    }
    if (scriptLines.length) {
      L.push('Scripts that ran in the first visit\'s long tasks (long animation frames\' script entries, all runs):');
      L.push('');
      L.push(...scriptLines);
      L.push('');
    }
    const notes = [];
    for (const id of ids) {
      const a = f[id]?.anomalies;
      if (!a) continue;
      if (a.gatedBeforeAccept) notes.push(`${names[id]}: the gated script ran before accept in ${a.gatedBeforeAccept} runs`);
      if (a.bannerOnReturn) notes.push(`${names[id]}: the banner showed again for the returning visitor in ${a.bannerOnReturn} runs`);
      if (a.probeErrors.length) notes.push(`${names[id]}: probe errors: ${[...new Set(a.probeErrors)].join('; ')}`);
    }
    for (const x of r.failures.filter((y) => y.throttle === t)) notes.push(`${names[x.id] ?? x.id} run ${x.run} failed: ${x.error}`);
    if (notes.length) {
      L.push('Anomalies:');
      for (const n of notes) L.push(`- ${n}`);
      L.push('');
    }
  }

  if (r.verify) {
    L.push('## Token verification in the browser');
    L.push('');
    if (r.verify.byThrottle) {
      L.push('| CPU | warm, per verification: median [p25–p75] | warm, fastest batch | cold: first call after instantiation | wasm instantiate (streaming) |');
      L.push('|---|---:|---:|---:|---:|');
      const msp = (p, d) => `${p.median.toFixed(d)} ms [${p.p25.toFixed(d)}–${p.p75.toFixed(d)}]`;
      for (const [k, v] of Object.entries(r.verify.byThrottle)) {
        L.push(`| ${k} | ${msp(v.perVerifyMs, 3)} | ${v.perVerifyMs.min.toFixed(3)} ms | ${msp(v.coldMs, 1)} | ${msp(v.instantiateMs, 1)} |`);
      }
      L.push('');
      L.push(`How: ${r.verify.method}.`);
    } else L.push(r.verify.note);
    L.push('');
  }

  if (r.native) {
    L.push('## The token natively (criterion)');
    L.push('');
    L.push(`A typical consent token (all three categories, policy accepted; \`crates/core/benches/typical.jws\`) is **${r.native.tokenBytes} bytes**, which is also the cookie's value.`);
    L.push('');
    if (Object.keys(r.native.benches).length) {
      L.push('| vivus-consent-core, native (release) | median | 95% interval |');
      L.push('|---|---:|---:|');
      for (const [name, b] of Object.entries(r.native.benches)) L.push(`| ${name} | ${b.medianUs} µs | ${b.ci95Us[0]}–${b.ci95Us[1]} µs |`);
      L.push('');
      L.push('From `cargo bench -p vivus-consent-core --features sign --bench verify`, run by `make bench` just before this page.');
    } else L.push(r.native.note);
    L.push('');
  }

  L.push('## How each figure is taken');
  L.push('');
  L.push(...r.method.map((m) => `- ${m}`));
  L.push('');

  const service = join(dirname(path), 'service.md');
  if (existsSync(service)) {
    L.push('## Service benchmark');
    L.push('');
    L.push('From [`service.md`](service.md), written by the service load generator:');
    L.push('');
    L.push(readFileSync(service, 'utf8').replace(/^#+ /gm, (h) => `#${h}`).trim());
    L.push('');
  }
  writeFileSync(path, L.join('\n'));
}
