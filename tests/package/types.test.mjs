// The package's TypeScript declarations (pkg/index.d.ts): a consumer's file that uses the
// whole API type-checks with tsc (and the mistakes it marks with @ts-expect-error are
// caught), and the declarations name exactly the config members src/config.rs reads and
// the methods src/api.rs exports, so neither side can drift without a failing test.
//
//   node --test tests/package/types.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
const TSC = path.join(ROOT, 'node_modules', '.bin', 'tsc');
const DTS = fs.readFileSync(path.join(ROOT, 'pkg', 'index.d.ts'), 'utf8');
const read = (file) => fs.readFileSync(path.join(ROOT, file), 'utf8');

/** The member names declared in `export interface <name> { … }` (or a class body). */
function members(kind, name) {
  const start = DTS.indexOf(`export ${kind} ${name} {`);
  assert.ok(start >= 0, `index.d.ts declares ${kind} ${name}`);
  const body = DTS.slice(start, DTS.indexOf('\n}', start));
  const names = [...body.matchAll(/^ {2}(\w+)(?:<[^>]*>)?\??[:(]/gm)].map((m) => m[1]);
  return names.filter((n) => n !== 'constructor');
}

test('a consumer using the whole API type-checks (tsc --noEmit tests/package/types-check)', async () => {
  assert.ok(fs.existsSync(TSC), 'typescript is missing: npm ci (make test does)');
  await promisify(execFile)(TSC, ['--noEmit', '-p', path.join(ROOT, 'tests', 'package', 'types-check')])
    .catch((error) => assert.fail(`tsc found errors:\n${error.stdout}${error.stderr}`));
});

test('the config types declare exactly the members src/config.rs accepts', () => {
  const rust = read('src/config.rs');
  // Every `Object::new(value, path, &["a", "b", …])` lists the members accepted at one level,
  // and CONFIG_MEMBERS the top level's.
  const levels = [...rust.matchAll(/Object::new\(\s*\w+,\s*[^,]+,\s*&\[([^\]]*)\]/g)].map((m) => m[1]);
  levels.push(/const CONFIG_MEMBERS: &\[&str\] = &\[([^\]]*)\]/.exec(rust)?.[1] ?? '');
  const accepted = new Set(levels.flatMap((list) => [...list.matchAll(/"(\w+)"/g)].map((n) => n[1])));
  assert.ok(accepted.has('endpoint') && accepted.has('autoShow'), `read the member lists of src/config.rs: ${[...accepted]}`);
  const interfaces = ['Config', 'CookieConfig', 'UiConfig', 'NetConfig', 'ConsentModeConfig', 'CleanupConfig',
    'FormsConfig', 'CategoryServices', 'Service', 'Jwks'];
  const declared = new Set(interfaces.flatMap((i) => members('interface', i)));
  // Members keyed by a type rather than listed: the categories, in `categories` and `consentMode.mapping`.
  for (const category of ['necessary', 'analytics', 'marketing']) declared.add(category);
  const missing = [...accepted].filter((n) => !declared.has(n));
  const extra = [...declared].filter((n) => !accepted.has(n));
  assert.deepEqual(missing, [], `src/config.rs accepts members index.d.ts does not declare: ${missing}`);
  assert.deepEqual(extra, [], `index.d.ts declares members src/config.rs rejects: ${extra}`);
});

test('the Consent class declares exactly the methods src/api.rs exports', () => {
  const rust = read('src/api.rs');
  const start = rust.indexOf('#[wasm_bindgen]\nimpl Consent {');
  assert.ok(start >= 0, 'src/api.rs has #[wasm_bindgen] impl Consent');
  const body = rust.slice(start, rust.indexOf('\n}\n', start));
  // `pub fn snake_name(` exported as its js_name when one is given in the attribute above it.
  const exported = [...body.matchAll(/((?:#\[wasm_bindgen\([^\n]*\)\]\s*)?)pub fn (\w+)\(/g)].map(([, attr, name]) =>
    /js_name = (\w+)/.exec(attr)?.[1] ?? name).sort();
  assert.ok(exported.includes('whenRecorded'), `read the exports of src/api.rs: ${exported}`);
  assert.deepEqual(members('declare class', 'Consent').sort(), exported);
});

test('the error codes declared are the codes the SDK can produce', () => {
  const produced = new Set([
    ...[...read('src/error.rs').matchAll(/=> "([a-z_]+)"/g)].map((m) => m[1]),
    ...[...read('crates/core/src/token.rs').matchAll(/TokenError::\w+(?:\(_\))? => "([a-z_]+)"/g)].map((m) => m[1]),
    ...[...read('src/runtime/mod.rs').matchAll(/Msg::Failed \{\s*id,\s*code: "([a-z_]+)"/g)].map((m) => m[1]),
    ...[...read('src/runtime/mod.rs').matchAll(/Event::Error \{\s*code: "([a-z_]+)"/g)].map((m) => m[1]),
  ]);
  assert.ok(produced.has('declined') && produced.has('expired') && produced.has('invalid_token'), [...produced].join());
  const start = DTS.indexOf('export type NetErrorCode');
  const declared = new Set([...DTS.slice(start, DTS.indexOf('export interface ConsentError', start)).matchAll(/\| '([a-z_]+)'/g)]
    .map((m) => m[1]));
  assert.deepEqual([...produced].filter((c) => !declared.has(c)), [], 'codes the SDK produces but index.d.ts does not declare');
  assert.deepEqual([...declared].filter((c) => !produced.has(c)), [], 'codes index.d.ts declares but nothing produces');
});

test("the README's config reference has a row for every config member", () => {
  const readme = read('pkg/README.md');
  const nested = { cookie: 'CookieConfig', ui: 'UiConfig', net: 'NetConfig', consentMode: 'ConsentModeConfig',
    cleanup: 'CleanupConfig', forms: 'FormsConfig' };
  const paths = members('interface', 'Config').flatMap((top) => {
    if (top === 'categories') return ['categories.<category>.services'];
    return nested[top] ? members('interface', nested[top]).map((m) => `${top}.${m}`) : [top];
  });
  assert.ok(paths.length > 20, paths.join());
  const missing = paths.filter((p) => !readme.includes(`| \`${p}\` |`));
  assert.deepEqual(missing, [], 'config members without a row in the README (pkg/README.md, "Config reference")');
});

test("the README's method and event tables name every method and event index.d.ts declares", () => {
  const readme = read('pkg/README.md');
  const methods = members('declare class', 'Consent');
  const undocumented = methods.filter((m) => !readme.includes(`\`${m}(`));
  assert.deepEqual(undocumented, [], 'methods missing from the README (pkg/README.md, "Methods")');
  const events = members('interface', 'VivusConsentEventMap');
  assert.deepEqual(events.filter((e) => !readme.includes(`| \`${e}\` |`)), [], 'events missing from the README ("Events")');
});
