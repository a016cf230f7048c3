// Consent tokens must interoperate with a JOSE implementation nobody here wrote: `jose`
// verifies what core signs, and core verifies what `jose` signs. Core is driven through
// `crates/core/examples/interop.rs`. Run with `node --test tests/node/`.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cargoArgs = ['-q', '-p', 'vivus-consent-core', '--features', 'sign', '--example', 'interop'];

const ISSUER = 'https://consent.vivus.kz';
const DIGEST = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';
const IAT = 1764000000;
const NOW = IAT + 100;
const SEED = '42'.repeat(32);

const claims = {
  iss: ISSUER,
  sub: 'q83vEjRWeJCrze8SNFZ4kA',
  jti: 'AAECAwQFBgcICQoLDA0ODw',
  iat: IAT,
  exp: IAT + 365 * 24 * 3600,
  pv: 'v1',
  pd: DIGEST,
  lang: 'kk',
  cat: ['necessary', 'marketing'],
  pa: true,
};

/** Runs the interop example; returns { status, stdout, stderr }. */
function core(...args) {
  const run = spawnSync('cargo', ['run', ...cargoArgs, '--', ...args], { cwd: root, encoding: 'utf8' });
  if (run.error) throw run.error;
  return { status: run.status, stdout: run.stdout.trim(), stderr: run.stderr.trim() };
}

function coreOk(...args) {
  const run = core(...args);
  assert.equal(run.status, 0, `interop ${args[0]} failed: ${run.stderr}`);
  return run.stdout;
}

/** Core's verdict on a token: the claims object, or the error code. */
function coreVerify(jwks, token, { issuer = ISSUER, digest = DIGEST, now = NOW } = {}) {
  const run = core('verify', JSON.stringify(jwks), token, issuer, digest, String(now));
  if (run.status === 0) return { claims: JSON.parse(run.stdout) };
  assert.equal(run.status, 1, `interop verify crashed: ${run.stderr}`);
  return { code: run.stdout };
}

/** An Ed25519 key made by node's crypto, published as jose exports it. */
async function nodeKey() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const jwk = await jose.exportJWK(publicKey);
  const kid = await jose.calculateJwkThumbprint(jwk);
  return { privateKey, kid, jwk: { ...jwk, kid, alg: 'EdDSA', use: 'sig' } };
}

before(() => {
  // Build once, so each test pays only for running the binary.
  execFileSync('cargo', ['build', ...cargoArgs], { cwd: root, stdio: 'inherit' });
});

describe('jose verifies tokens signed by core', () => {
  let jwks;
  let token;
  before(() => {
    jwks = JSON.parse(coreOk('jwks', SEED));
    token = coreOk('sign', SEED, JSON.stringify(claims));
  });

  test('the JWKS is a valid Ed25519 key set whose kid is the RFC 7638 thumbprint', async () => {
    assert.equal(jwks.keys.length, 1);
    const [key] = jwks.keys;
    assert.deepEqual([key.kty, key.crv, key.alg, key.use], ['OKP', 'Ed25519', 'EdDSA', 'sig']);
    assert.equal(key.kid, await jose.calculateJwkThumbprint(key));
  });

  test('jwtVerify accepts the token and reads the same claims', async () => {
    const { payload, protectedHeader } = await jose.jwtVerify(token, jose.createLocalJWKSet(jwks), {
      algorithms: ['EdDSA'],
      issuer: ISSUER,
      currentDate: new Date(NOW * 1000),
    });
    assert.deepEqual(payload, claims);
    assert.deepEqual(protectedHeader, { alg: 'EdDSA', kid: jwks.keys[0].kid, typ: 'JWT' });
  });

  test('jwtVerify refuses the token after exp', async () => {
    await assert.rejects(
      jose.jwtVerify(token, jose.createLocalJWKSet(jwks), { currentDate: new Date(claims.exp * 1000) }),
      { code: 'ERR_JWT_EXPIRED' },
    );
  });

  test('jwtVerify refuses a token whose claims core did not sign', async () => {
    const [h, , s] = token.split('.');
    const forged = jose.base64url.encode(JSON.stringify({ ...claims, cat: ['necessary', 'analytics', 'marketing'] }));
    await assert.rejects(
      jose.jwtVerify(`${h}.${forged}.${s}`, jose.createLocalJWKSet(jwks), { currentDate: new Date(NOW * 1000) }),
      { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' },
    );
  });
});

describe('core verifies tokens signed by jose', () => {
  test('with kid and typ, as the service signs them', async () => {
    const key = await nodeKey();
    const token = await new jose.SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' })
      .sign(key.privateKey);
    assert.deepEqual(coreVerify({ keys: [key.jwk] }, token), { claims });
  });

  test('with jose defaults (no typ) and the key among foreign keys', async () => {
    const key = await nodeKey();
    const other = await nodeKey();
    const { publicKey: ec } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ecJwk = { ...(await jose.exportJWK(ec)), kid: 'ec-1', alg: 'ES256' };
    const token = await new jose.SignJWT({ ...claims, extra: { ignored: true } })
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid })
      .sign(key.privateKey);
    const verdict = coreVerify({ keys: [ecJwk, other.jwk, key.jwk] }, token);
    assert.deepEqual(verdict, { claims });
  });

  test('and applies its own checks to them', async () => {
    const key = await nodeKey();
    const sign = (body) =>
      new jose.SignJWT(body).setProtectedHeader({ alg: 'EdDSA', kid: key.kid }).sign(key.privateKey);
    const jwks = { keys: [key.jwk] };
    assert.deepEqual(coreVerify(jwks, await sign({ ...claims, exp: NOW })), { code: 'expired' });
    assert.deepEqual(coreVerify(jwks, await sign({ ...claims, iat: NOW + 61 })), { code: 'not_yet_valid' });
    assert.deepEqual(coreVerify(jwks, await sign({ ...claims, iss: 'https://evil.example' })), { code: 'wrong_issuer' });
    assert.deepEqual(coreVerify(jwks, await sign({ ...claims, pd: '0'.repeat(64) })), { code: 'other_policy' });
    assert.deepEqual(coreVerify(jwks, await sign({ ...claims, cat: 'all' })), { code: 'malformed' });
  });

  test('signed by another key under our kid is a bad signature', async () => {
    const ours = await nodeKey();
    const theirs = await nodeKey();
    const token = await new jose.SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', kid: ours.kid })
      .sign(theirs.privateKey);
    assert.deepEqual(coreVerify({ keys: [ours.jwk] }, token), { code: 'bad_signature' });
    assert.deepEqual(coreVerify({ keys: [theirs.jwk] }, token), { code: 'unknown_key' });
  });

  test('HS256 keyed with the public key is refused', async () => {
    // The algorithm-confusion forgery: a verifier that let the header pick the algorithm would
    // check this HMAC with the published key bytes and accept it.
    const key = await nodeKey();
    const jwks = { keys: [key.jwk] };
    for (const secret of [jose.base64url.decode(key.jwk.x), new TextEncoder().encode(key.jwk.x), randomBytes(32)]) {
      const token = await new jose.SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', kid: key.kid, typ: 'JWT' })
        .sign(secret);
      assert.deepEqual(coreVerify(jwks, token), { code: 'unsupported_algorithm' });
    }
  });

  test('an unsecured JWT (alg none) is refused', async () => {
    const key = await nodeKey();
    const token = new jose.UnsecuredJWT(claims).encode();
    assert.deepEqual(coreVerify({ keys: [key.jwk] }, token), { code: 'unsupported_algorithm' });
  });

  test('the JWS JSON serialization is not a consent token', async () => {
    const key = await nodeKey();
    const jws = await new jose.FlattenedSign(new TextEncoder().encode(JSON.stringify(claims)))
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid })
      .sign(key.privateKey);
    assert.deepEqual(coreVerify({ keys: [key.jwk] }, JSON.stringify(jws)), { code: 'malformed' });
  });
});
