// Prints raw, gzip -9 and brotli-11 sizes of what a page downloads: before the banner shows on
// a first visit (the entry and the first-paint build), and the SDK loaded after that frame.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

const dir = process.argv[2] ?? 'pkg';
const stages = [
  ['before the banner', ['vivus-consent.js', 'vivus_consent_boot.js', 'vivus_consent_boot_bg.wasm']],
  ['after it (the SDK)', ['vivus_consent.js', 'vivus_consent_bg.wasm']],
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
