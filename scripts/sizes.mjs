// Prints raw, gzip -9 and brotli-11 sizes of what a page downloads before the banner shows.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

const dir = process.argv[2] ?? 'pkg';
const files = readdirSync(dir).filter((f) => /^vivus_consent(_bg\.wasm|\.js)$/.test(f));
let total = { raw: 0, gzip: 0, brotli: 0 };
for (const f of files) {
  const bytes = readFileSync(join(dir, f));
  const row = {
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
  for (const k in total) total[k] += row[k];
  console.log(`${f.padEnd(24)} raw ${row.raw}  gzip ${row.gzip}  brotli ${row.brotli}`);
}
console.log(`${'total'.padEnd(24)} raw ${total.raw}  gzip ${total.gzip}  brotli ${total.brotli}`);
