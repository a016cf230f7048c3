// Renames the wasm's imports from the JS glue (`__wbg_setAttribute_c5dd7f2a3ac5fbc0`, ...) to
// short names (`_0`, `_1`, ...) in both the module's import section and the glue's imports
// object. wasm-bindgen's names end in a 64-bit hash that brotli cannot compress and that
// appears in both files; `make pkg` runs this after wasm-opt (about 3.9 kB brotli less).
// Their module, `./<out-name>_bg.js` in every import entry, becomes `w` too (brotli: first
// stage 61 B, runtime 143 B less).
//
//   node scripts/short-imports.mjs pkg/vivus_consent.js pkg/vivus_consent_bg.wasm
//   node scripts/short-imports.mjs pkg/vivus_consent_boot.js pkg/vivus_consent_boot_bg.wasm
//
// Fails (and changes nothing) unless the module and every renamed name appear exactly once in
// the glue.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

const [jsPath, wasmPath] = process.argv.slice(2);
// wasm-bindgen names the import module after the glue: `./<out-name>_bg.js`.
const GLUE_MODULE = `./${basename(jsPath, '.js')}_bg.js`;
/** What it becomes: a one-letter key, in both files. */
const SHORT_MODULE = 'w';
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
while (at < wasm.length) {
  const start = at;
  const id = wasm[at++];
  const size = uleb();
  const end = at + size;
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

const moduleKey = JSON.stringify(GLUE_MODULE);
const moduleSeen = js.split(moduleKey).length - 1;
if (moduleSeen !== 1) throw new Error(`${moduleKey} appears ${moduleSeen} times in ${jsPath}, expected once`);
js = js.replace(moduleKey, SHORT_MODULE);
for (const [long, short] of renamed) {
  const pattern = new RegExp(`\\b${long}\\b`, 'g');
  const seen = js.match(pattern)?.length ?? 0;
  if (seen !== 1) throw new Error(`${long} appears ${seen} times in ${jsPath}, expected once`);
  js = js.replace(pattern, short);
}
writeFileSync(jsPath, js);
writeFileSync(wasmPath, Buffer.concat(out));
console.log(`short-imports: ${renamed.size} imports renamed`);
