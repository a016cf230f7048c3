// Prints raw, gzip -9 and brotli-11 sizes of what a page downloads per visitor path: before the
// banner of a first visit, a returning visitor before granted tags run, and the interactive
// stage loaded on first need. (make bench counts the same from the network, per path.)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

const dir = process.argv[2] ?? 'pkg';
const stages = [
  ['first visit, before the banner', ['vivus-consent.js', 'vivus_consent_boot.js', 'vivus_consent_boot_bg.wasm']],
  ['returning visitor, before granted tags run', ['vivus-consent.js', 'vivus_consent_returning.js', 'vivus_consent_returning_bg.wasm']],
  ['the runtime (every page view, after the tags)', ['vivus_consent.js', 'vivus_consent_bg.wasm']],
  ['the interactive stage (loaded on first need)', ['vivus_consent_ui.js', 'vivus_consent_ui_bg.wasm']],
];
for (const [stage, files] of stages) {
  const total = { raw: 0, gzip: 0, brotli: 0 };
  console.log(stage);
  for (const f of files) {
    const bytes = readFileSync(join(dir, f));
    const row = {
      raw: bytes.length,
      gzip: gzipSync(bytes, { level: 9 }).length,
      brotli: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
    };
    for (const k in total) total[k] += row[k];
    console.log(`  ${f.padEnd(28)} raw ${row.raw}  gzip ${row.gzip}  brotli ${row.brotli}`);
  }
  console.log(`  ${'total'.padEnd(28)} raw ${total.raw}  gzip ${total.gzip}  brotli ${total.brotli}`);
}
