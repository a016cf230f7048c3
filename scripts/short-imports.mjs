// Renames the wasm's imports from the JS glue (`__wbg_setAttribute_c5dd7f2a3ac5fbc0`, ...) to
// short names (`_0`, `_1`, ...) in both the module's import section and the glue's imports
// object. wasm-bindgen's names end in a 64-bit hash that brotli cannot compress and that
// appears in both files; `make pkg` runs this after wasm-opt (about 3.9 kB brotli less).
// Likewise the import module (`./<out-name>_bg.js`, repeated before every import) becomes `.`,
// and the exports only the glue calls, wasm-bindgen's closure shims
// (`wasm_bindgen_<hash>___convert__closures_____invoke___<types>`, up to 300 characters,
// each also the name of a glue function), become `$0`, `$1`, ...: together 0.1-0.2 kB brotli
// less per stage.
//
//   node scripts/short-imports.mjs pkg/vivus_consent.js pkg/vivus_consent_bg.wasm
//   node scripts/short-imports.mjs pkg/vivus_consent_boot.js pkg/vivus_consent_boot_bg.wasm
//
// Fails (and changes nothing) unless every renamed name appears exactly once in the glue.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

const [jsPath, wasmPath] = process.argv.slice(2);
// wasm-bindgen names the import module after the glue: `./<out-name>_bg.js`.
const GLUE_MODULE = `./${basename(jsPath, '.js')}_bg.js`;
let js = readFileSync(jsPath, 'utf8');
const wasm = readFileSync(wasmPath);

let at = 8;
const uleb = () => {
  let value = 0;
  let shift = 0;
  let byte;
  do {
    byte = wasm[at++];
    value += (byte & 127) * 2 ** shift;
    shift += 7;
  } while (byte & 128);
  return value;
};
const encode = (n) => {
  const bytes = [];
  do {
    let byte = n & 127;
    n = Math.floor(n / 128);
    if (n) byte |= 128;
    bytes.push(byte);
  } while (n);
  return Buffer.from(bytes);
};
const limits = () => {
  const flags = wasm[at++];
  uleb();
  if (flags & 1) uleb();
};

const out = [wasm.subarray(0, 8)];
const renamed = new Map();
const SHORT_MODULE = '.';
/** Exports named by wasm-bindgen's closure shims; the glue alone calls them. */
const SHIM_EXPORT = /^wasm_bindgen_[0-9a-f]{16}___convert__closures_/;

/** The export section (at `at`, ending at `end`) with the closure shims renamed. */
function exportSection(end) {
  const count = uleb();
  const parts = [encode(count)];
  for (let k = 0; k < count; k++) {
    const nameLen = uleb();
    let name = wasm.subarray(at, at + nameLen).toString();
    at += nameLen;
    const descStart = at;
    at++; // kind
    uleb(); // index
    if (SHIM_EXPORT.test(name)) {
      const short = `$${renamed.size.toString(36)}`;
      renamed.set(name, short);
      name = short;
    }
    const nameBytes = Buffer.from(name);
    parts.push(encode(nameBytes.length), nameBytes, wasm.subarray(descStart, at));
  }
  if (at !== end) throw new Error('export section not read to its end');
  const section = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([7]), encode(section.length), section]);
}
while (at < wasm.length) {
  const start = at;
  const id = wasm[at++];
  const size = uleb();
  const end = at + size;
  if (id === 7) {
    out.push(exportSection(end));
    continue;
  }
  if (id !== 2) {
    out.push(wasm.subarray(start, end));
    at = end;
    continue;
  }
  const count = uleb();
  const parts = [encode(count)];
  for (let k = 0; k < count; k++) {
    const moduleLen = uleb();
    const module = wasm.subarray(at, at + moduleLen);
    at += moduleLen;
    const nameLen = uleb();
    let name = wasm.subarray(at, at + nameLen).toString();
    at += nameLen;
    const descStart = at;
    const kind = wasm[at++];
    if (kind === 0) uleb(); // func: type index
    else if (kind === 1) { at++; limits(); } // table: reftype, limits
    else if (kind === 2) limits(); // memory
    else if (kind === 3) at += 2; // global: valtype, mutability
    else if (kind === 4) { at++; uleb(); } // tag
    else throw new Error(`import kind ${kind} not handled`);
    const desc = wasm.subarray(descStart, at);
    let moduleBytes = module;
    if (module.toString() === GLUE_MODULE) {
      const short = `_${renamed.size.toString(36)}`;
      renamed.set(name, short);
      name = short;
      moduleBytes = Buffer.from(SHORT_MODULE);
    }
    const nameBytes = Buffer.from(name);
    parts.push(encode(moduleBytes.length), moduleBytes, encode(nameBytes.length), nameBytes, desc);
  }
  if (at !== end) throw new Error('import section not read to its end');
  const section = Buffer.concat(parts);
  out.push(Buffer.from([2]), encode(section.length), section);
}

for (const [long, short] of renamed) {
  const pattern = new RegExp(`\\b${long}\\b`, 'g');
  const seen = js.match(pattern)?.length ?? 0;
  // An import is named once (its entry in the imports object); a closure shim's export is
  // named by the glue function of the same name and that function's call of it.
  const expected = short.startsWith('$') ? [2, 3] : [1];
  if (!expected.includes(seen)) throw new Error(`${long} appears ${seen} times in ${jsPath}, expected ${expected.join(' or ')}`);
  js = js.replace(pattern, () => short);
}
const moduleKey = `"${GLUE_MODULE}": import0`;
if (js.split(moduleKey).length !== 2) throw new Error(`${moduleKey} not found once in ${jsPath}`);
js = js.replace(moduleKey, `"${SHORT_MODULE}": import0`);
writeFileSync(jsPath, js);
writeFileSync(wasmPath, Buffer.concat(out));
console.log(`short-imports: ${renamed.size} imports and closure shims renamed`);
