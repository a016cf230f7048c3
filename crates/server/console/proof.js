// Checks a ledger proof in the browser (or Node), with WebCrypto: the same format and the
// same canonical bytes as the service (crates/server/src/ledger/mod.rs, `canonical_bytes`;
// crates/server/src/ledger/proof.rs; documented in crates/server/README.md, "Proofs").
//
//   import { verifyProof } from '/operator/proof.js';
//   const result = await verifyProof(proof);
//   // { ok, reason, detail, links, head, signature, kid, headSignature, headKid, headSignedAt }
//
// `ok` means: the record's fields hash to its hash (a format 2 record's user agent and
// network hash to the salted hashes it commits to), each link is the next record and the
// chain of hashes arrives at the head. `signature` is about the record's consent token:
// 'valid' (signed by the key in the proof, whose thumbprint is its kid, and its claims say
// what the record says), 'invalid', 'no-key' or 'unsupported' (no Ed25519 in WebCrypto).
// `headSignature` is about the head: 'valid' (the service's signed checkpoint of exactly
// this head), 'invalid', 'unsigned' (the proof's head is not signed), 'no-key',
// 'unsupported'. A head that is signed but does not verify makes `ok` false.

export const PROOF_FORMAT = 'vivus-consent ledger proof v1';

const encoder = new TextEncoder();
/** The domain-separation prefix of a record's canonical bytes, by record format. */
export const CANONICAL_PREFIXES = {
  1: encoder.encode('vivus-consent ledger record v1\0'),
  2: encoder.encode('vivus-consent ledger record v2\0'),
};
/** The prefix of a format 2 record's salted hashes of personal data. */
const PERSONAL_PREFIX = encoder.encode('vivus-consent personal data v2\0');
/** The `typ` of the service's signed checkpoints. */
const HEAD_TYP = 'ledger-head+jwt';

/** Lowercase hex of bytes. */
export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** `2 * n` lowercase hex digits (64 by default) as bytes, or null. */
export function fromHex(text, n = 32) {
  if (typeof text !== 'string' || text.length !== 2 * n || !/^[0-9a-f]*$/.test(text)) return null;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Unpadded base64url (RFC 4648 §5) as bytes, or null. */
export function fromBase64url(text) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  let binary;
  try { binary = atob(b64); } catch { return null; }
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function toBase64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * The canonical bytes of a record given as the proof's `record` (the export's lines have
 * the same members): the prefix of its format, then every field in table order, integers
 * as 8-byte big-endian, booleans as one byte, `withdraws` as a presence byte, strings and
 * byte strings as a 4-byte big-endian length and the bytes. Format 1 has the user agent
 * and client network there, format 2 their salted hashes (32 bytes each).
 */
export function canonicalBytes(r) {
  const prefix = CANONICAL_PREFIXES[r.recordFormat];
  if (!prefix) throw new Error(`recordFormat ${r.recordFormat} is not 1 or 2`);
  const parts = [prefix];
  const int64 = (n) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigInt64(0, BigInt(n));
    parts.push(b);
  };
  const bytes = (data) => {
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, data.length);
    parts.push(len, data);
  };
  const str = (s) => bytes(encoder.encode(s));
  const bool = (v) => parts.push(Uint8Array.of(v ? 1 : 0));
  int64(r.sequence);
  str(r.consentId);
  str(r.subjectId);
  str(r.kind);
  if (r.withdraws === null || r.withdraws === undefined) {
    parts.push(Uint8Array.of(0));
  } else {
    parts.push(Uint8Array.of(1));
    str(r.withdraws);
  }
  int64(r.recordedAt);
  str(r.policyVersion);
  str(r.policyDigest);
  str(r.language);
  str(r.categories);
  bool(r.policyAccepted);
  str(r.source);
  bool(r.gpc);
  if (r.recordFormat === 1) {
    str(r.userAgent);
    str(r.clientNetwork);
  } else {
    const ua = fromHex(r.userAgentHash);
    const network = fromHex(r.clientNetworkHash);
    if (!ua || !network) throw new Error('userAgentHash or clientNetworkHash is not 64 lowercase hex digits');
    bytes(ua);
    bytes(network);
  }
  const requestHash = fromHex(r.requestHash);
  if (!requestHash) throw new Error('requestHash is not 64 lowercase hex digits');
  bytes(requestHash);
  str(r.token);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

async function sha256(subtle, ...chunks) {
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) { all.set(c, at); at += c.length; }
  return new Uint8Array(await subtle.digest('SHA-256', all));
}

/** The sequence written in canonical bytes (after the prefix of either format), or null. */
export function canonicalSequence(bytes) {
  for (const prefix of Object.values(CANONICAL_PREFIXES)) {
    if (bytes.length < prefix.length + 8 || !prefix.every((b, i) => bytes[i] === b)) continue;
    return new DataView(bytes.buffer, bytes.byteOffset + prefix.length, 8).getBigInt64(0);
  }
  return null;
}

/** SHA-256(PERSONAL_PREFIX || field || 0 || salt || value): what format 2 commits to. */
async function saltedHash(subtle, field, salt, value) {
  return toHex(await sha256(subtle, PERSONAL_PREFIX, encoder.encode(field), Uint8Array.of(0), salt, encoder.encode(value)));
}

/** A format 2 record's clear values against its salted hashes (purged: empty, no salt). */
async function personalMatches(subtle, r) {
  if (r.recordFormat === 1) return r.userAgentHash === null && r.clientNetworkHash === null && r.salt === null;
  if (r.salt === null) return r.userAgent === '' && r.clientNetwork === '';
  const salt = fromHex(r.salt, 16);
  return Boolean(salt) && await saltedHash(subtle, 'user_agent', salt, r.userAgent) === r.userAgentHash &&
    await saltedHash(subtle, 'client_network', salt, r.clientNetwork) === r.clientNetworkHash;
}

/**
 * Checks a proof object (the file parsed, or the `proof` member of
 * GET /v1/operator/consents/{id}). Never throws for a bad proof: `ok: false` and a
 * `reason` code (`format`, `record`, `link`, `head`) with `detail`.
 */
export async function verifyProof(proof, { subtle = globalThis.crypto.subtle } = {}) {
  const fail = (reason, detail) => ({ ok: false, reason, detail, links: proof?.links?.length ?? 0, head: proof?.head ?? null });
  if (!proof || proof.format !== PROOF_FORMAT || !Array.isArray(proof.links) || !proof.record || !proof.head) {
    return fail('format', `not a "${PROOF_FORMAT}"`);
  }
  const r = proof.record;
  let canonical;
  try { canonical = canonicalBytes(r); } catch (e) { return fail('record', e.message); }
  const prev = fromHex(r.prevHash);
  if (!prev || !fromHex(r.hash)) return fail('record', 'prevHash or hash is not 64 lowercase hex digits');
  let hash = await sha256(subtle, prev, canonical);
  if (toHex(hash) !== r.hash) return fail('record', 'the record\'s fields do not hash to its hash');
  if (!await personalMatches(subtle, r)) return fail('personal', 'the user agent or network does not match its salted hash');
  let expected = BigInt(r.sequence);
  for (let i = 0; i < proof.links.length; i++) {
    const bytes = fromBase64url(proof.links[i]);
    expected += 1n;
    if (!bytes || canonicalSequence(bytes) !== expected) return fail('link', `link ${i + 1} is not record ${expected}`);
    hash = await sha256(subtle, hash, bytes);
  }
  if (BigInt(proof.head.sequence) !== expected || toHex(hash) !== proof.head.hash) {
    return fail('head', `the chain arrives at ${toHex(hash)}, not at the head ${proof.head.hash}`);
  }
  const keys = proof.keys?.keys ?? [];
  const { signature, kid } = await checkToken(r, keys, subtle);
  const head = await checkHead(proof.head, keys, subtle);
  if (head.headSignature === 'invalid') return fail('signed-head', 'the head\'s signature or claims do not check out');
  return { ok: true, links: proof.links.length, head: proof.head, signature, kid, ...head };
}

/** A compact JWS checked against `keys`: { status, kid, header, claims }. */
async function checkJws(jws, keys, subtle) {
  const [h, p, s] = String(jws).split('.');
  let header, claims;
  try {
    header = JSON.parse(new TextDecoder().decode(fromBase64url(h)));
    claims = JSON.parse(new TextDecoder().decode(fromBase64url(p)));
  } catch {
    return { status: 'invalid', kid: null };
  }
  const kid = typeof header.kid === 'string' ? header.kid : null;
  const jwk = keys.find((k) => k.kid === kid);
  if (!jwk) return { status: 'no-key', kid, header, claims };
  const thumbprint = toBase64url(await sha256(subtle, encoder.encode(
    `{"crv":${JSON.stringify(jwk.crv)},"kty":${JSON.stringify(jwk.kty)},"x":${JSON.stringify(jwk.x)}}`)));
  if (thumbprint !== kid || jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || header.alg !== 'EdDSA') {
    return { status: 'invalid', kid, header, claims };
  }
  let key;
  try {
    key = await subtle.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, { name: 'Ed25519' }, false, ['verify']);
  } catch {
    return { status: 'unsupported', kid, header, claims };
  }
  const sig = fromBase64url(s);
  const good = sig && await subtle.verify({ name: 'Ed25519' }, key, sig, encoder.encode(`${h}.${p}`));
  return { status: good ? 'valid' : 'invalid', kid, header, claims };
}

/** The head's signed checkpoint, when there is one: of exactly this head, by the key named. */
async function checkHead(head, keys, subtle) {
  if (head.signed === null || head.signed === undefined) return { headSignature: 'unsigned', headKid: null, headSignedAt: null };
  const { status, kid, header, claims } = await checkJws(head.signed, keys, subtle);
  const same = status !== 'valid' || (String(header.typ).toLowerCase() === HEAD_TYP &&
    claims.seq === head.sequence && claims.head === head.hash);
  return { headSignature: same ? status : 'invalid', headKid: kid, headSignedAt: claims?.iat ? claims.iat * 1000 : null };
}

/** The record's token: signed by the proof's key named by its kid, claims as the record says. */
async function checkToken(r, keys, subtle) {
  const { status, kid, header, claims } = await checkJws(r.token, keys, subtle);
  if (status !== 'valid') return { signature: status, kid };
  const same = String(header.typ ?? 'JWT').toUpperCase() === 'JWT' &&
    claims.jti === r.consentId && claims.sub === r.subjectId && claims.pv === r.policyVersion &&
    claims.pd === r.policyDigest && claims.lang === r.language && Array.isArray(claims.cat) &&
    claims.cat.join(',') === r.categories && claims.pa === r.policyAccepted &&
    claims.iat === Math.floor(r.recordedAt / 1000);
  return { signature: same ? 'valid' : 'invalid', kid };
}
