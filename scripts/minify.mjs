// Minifies a JS file of the package with terser: `make pkg` ships the entry built from its
// readable source (pkg/src/vivus-consent.js → pkg/vivus-consent.js) and the four wasm-bindgen
// glues minified in place. Brotli 11: the entry 3.3 → 1.3 kB, the first stage's glue 2.7 →
// 2.0 kB (both are loaded before the first-visit banner).
//
//   node scripts/minify.mjs pkg/src/vivus-consent.js pkg/vivus-consent.js
//   node scripts/minify.mjs --glue pkg/vivus_consent_boot.js
//
// Module exports, `import('./x.js')` and `new URL('./x.wasm', import.meta.url)` keep their
// literal specifiers, so bundlers still find the stages. `--glue` also drops the glue's
// `initSync` export (the entry instantiates every stage with the asynchronous `default`), so
// its code goes too; it fails rather than ship a glue whose export line it does not know.
import { readFileSync, writeFileSync } from 'node:fs';
import { minify } from 'terser';

const args = process.argv.slice(2);
const glue = args[0] === '--glue';
const [input, output = input] = glue ? args.slice(1) : args;
let code = readFileSync(input, 'utf8');
if (glue) {
  const exports = 'export { initSync, __wbg_init as default };';
  if (!code.includes(exports)) throw new Error(`${input}: no "${exports}" (a new wasm-bindgen?): update scripts/minify.mjs`);
  code = code.replace(exports, 'export { __wbg_init as default };');
}
const result = await minify(code, {
  module: true,
  ecma: 2020,
  compress: { passes: 2 },
  // Class names kept: the runtime's glue exports classes (`Consent`) whose name shows.
  keep_classnames: true,
  mangle: true,
  format: { comments: false },
});
writeFileSync(output, result.code);
console.log(`minify: ${input} ${code.length} → ${output} ${result.code.length} bytes`);
