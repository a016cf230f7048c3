// The console's proof check (crates/server/console/proof.js) against a proof the service
// made (tests/node/fixtures/proof.json: `GET /v1/operator/consents/{id}/proof` of a real
// run, format 2 records, a signed head). The Rust side checks the same file
// (`crates/server/tests/operator.rs`, `the_committed_proof_checks_in_rust_too`), so the
// one documented format cannot drift between the two. Run with `node --test tests/node/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { verifyProof } from '../../crates/server/console/proof.js';

const proof = () => JSON.parse(fs.readFileSync(new URL('./fixtures/proof.json', import.meta.url), 'utf8'));

test('the service\'s proof verifies: record, personal data, links, signed head, token', async () => {
  const result = await verifyProof(proof());
  assert.equal(result.ok, true, JSON.stringify(result));
  assert.equal(result.links, 3);
  assert.equal(result.signature, 'valid', 'the token: Ed25519 with the proof\'s key, claims = record');
  assert.equal(result.headSignature, 'valid', 'the head: the service\'s signed checkpoint');
  assert.equal(result.kid, result.headKid);
});

const flip = (text, at = -3) => {
  const i = (at + text.length) % text.length;
  return text.slice(0, i) + (text[i] === 'A' ? 'B' : 'A') + text.slice(i + 1);
};

for (const [what, change, reason] of [
  ['a category granted after the fact', (p) => { p.record.categories = 'necessary,analytics,marketing'; }, 'record'],
  ['another time', (p) => { p.record.recordedAt += 1000; }, 'record'],
  ['another user agent', (p) => { p.record.userAgent = 'Mozilla/5.0 (forged)'; }, 'personal'],
  ['the format', (p) => { p.record.recordFormat = 1; }, 'record'],
  ['a later record', (p) => { p.links[1] = flip(p.links[1]); }, 'head'],
  ['a later record left out', (p) => { p.links.splice(1, 1); }, 'link'],
  ['the head hash', (p) => { p.head.hash = p.head.hash.replace(/^./, (c) => (c === '0' ? '1' : '0')); }, 'head'],
  ['the head\'s signature', (p) => { p.head.signed = flip(p.head.signed); }, 'signed-head'],
]) {
  test(`a proof with ${what} does not verify`, async () => {
    const p = proof();
    change(p);
    const result = await verifyProof(p);
    assert.equal(result.ok, false, what);
    assert.equal(result.reason, reason, `${what}: ${result.detail}`);
  });
}

test('a token whose claims were changed is not valid, though the chain still is', async () => {
  const p = proof();
  const [h, payload, s] = p.record.token.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url'));
  claims.cat = ['necessary', 'analytics', 'marketing'];
  p.record.token = [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.');
  const result = await verifyProof(p);
  assert.equal(result.ok, false, 'the token is in the record\'s hash');
  assert.equal(result.reason, 'record');
});
