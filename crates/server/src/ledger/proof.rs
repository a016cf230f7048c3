//! Proofs that a record is in the ledger, and the record as the operator exports it.
//!
//! A proof is one JSON file that a third party checks with nothing but the file
//! (`vivus-consent-server ledger check-proof FILE`, or the operator console in the
//! browser):
//!
//! ```json
//! {"format":"vivus-consent ledger proof v1",
//!  "record":{"sequence":12,"consentId":"…","subjectId":"…","kind":"consent","withdraws":null,
//!            "recordedAt":1795619304205,"policyVersion":"v1","policyDigest":"…","language":"ru",
//!            "categories":"necessary,analytics","policyAccepted":true,"source":"banner","gpc":false,
//!            "userAgent":"…","clientNetwork":"203.0.113.0/24","recordFormat":2,
//!            "userAgentHash":"<hex>","clientNetworkHash":"<hex>","salt":"<hex>",
//!            "requestHash":"<hex>","token":"<jws>","prevHash":"<hex>","hash":"<hex>"},
//!  "links":["<base64url canonical bytes of record 13>", "…"],
//!  "head":{"sequence":20,"hash":"<hex>","signed":"<JWS of the signed checkpoint>"},
//!  "keys":{"keys":[<the JWKs that signed the record's token and the head>]}}
//! ```
//!
//! - `record` holds every field of the record's canonical bytes (see the module docs of
//!   [`crate::ledger`]): encoding them and hashing with `prevHash` gives `hash`. A format 2
//!   record commits to `userAgentHash` and `clientNetworkHash` (salted hashes); its clear
//!   values and `salt` are there too unless purged (then empty and `null`), and must hash
//!   to them;
//! - `links` are the canonical bytes of every later record up to the head, so that
//!   `hash_n = SHA-256(hash_{n-1} || link_n)` recomputes the chain from the record to the
//!   head, and each link's sequence (the 8 bytes after the prefix) follows the one before.
//!   A format 2 link carries only salted hashes of its visitor's user agent and network;
//! - `head` is the newest checkpoint the service signed (`signed`, a JWS whose claims name
//!   `head.sequence` and `head.hash`), or, for a record newer than it, the ledger's newest
//!   record, unsigned (`signed` null): then compare it with a head kept outside the database;
//! - `keys` are the public keys that signed the record's token and the head, so their
//!   signatures and the token's claims (`jti`, `sub`, `iat`, `pv`, `pd`, `lang`, `cat`, `pa`)
//!   can be checked; each key's `kid` must be its RFC 7638 thumbprint. Compare the `kid`s
//!   with the service's `/.well-known/jwks.json`.
//!
//! The file is written compactly, members in this order, with one newline at the end; the
//! check refuses any other byte sequence, so a single changed byte anywhere is caught even
//! where it would not change the meaning (reformatted JSON is "not as written").

use std::io::Write;

use serde::{Deserialize, Serialize};
use vivus_consent_core::base64url;
use vivus_consent_core::jwk::Jwks;

use super::checkpoint::{self, HeadClaims};
use super::{
    canonical_sequence, chain_hash, hex, Entry, Ledger, LedgerError, Personal, Record, RecordKind,
    SALT_LEN,
};

/// The `format` of the proofs this build writes and checks.
pub const PROOF_FORMAT: &str = "vivus-consent ledger proof v1";

/// Records read per query while a proof or an export walks the ledger.
pub const PAGE: u32 = 1000;

/// A record with every field of its canonical bytes, its `prevHash` and its `hash`: the
/// `record` of a proof and one line (or row) of an export. Hashes are lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordFields {
    /// Position in the chain.
    pub sequence: i64,
    /// The consent id.
    pub consent_id: String,
    /// The subject id.
    pub subject_id: String,
    /// `consent`, `withdrawal` or `policy_withdrawal_request`.
    pub kind: String,
    /// For a withdrawal, the consent id whose token authorized it.
    pub withdraws: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub recorded_at: i64,
    /// Policy version id.
    pub policy_version: String,
    /// Policy digest.
    pub policy_digest: String,
    /// Language code.
    pub language: String,
    /// Granted categories, comma-separated, as stored and hashed.
    pub categories: String,
    /// Whether the policy is accepted.
    pub policy_accepted: bool,
    /// Where the decision was made.
    pub source: String,
    /// Global Privacy Control.
    pub gpc: bool,
    /// The user agent recorded (empty once purged).
    pub user_agent: String,
    /// The client network recorded (empty once purged).
    pub client_network: String,
    /// The record format: 1 commits to the user agent and network in clear, 2 to their
    /// salted hashes.
    pub record_format: u8,
    /// Format 2: the salted hash of the user agent the chain commits to.
    pub user_agent_hash: Option<String>,
    /// Format 2: the salted hash of the client network the chain commits to.
    pub client_network_hash: Option<String>,
    /// Format 2: the record's salt, `None` once purged.
    pub salt: Option<String>,
    /// SHA-256 of the canonical request.
    pub request_hash: String,
    /// The consent token issued for the record.
    pub token: String,
    /// The previous record's hash.
    pub prev_hash: String,
    /// This record's hash.
    pub hash: String,
}

/// The names of [`RecordFields`] in order: the CSV export's header.
pub const FIELD_NAMES: [&str; 23] = [
    "sequence",
    "consentId",
    "subjectId",
    "kind",
    "withdraws",
    "recordedAt",
    "policyVersion",
    "policyDigest",
    "language",
    "categories",
    "policyAccepted",
    "source",
    "gpc",
    "userAgent",
    "clientNetwork",
    "recordFormat",
    "userAgentHash",
    "clientNetworkHash",
    "salt",
    "requestHash",
    "token",
    "prevHash",
    "hash",
];

impl From<&Record> for RecordFields {
    fn from(r: &Record) -> Self {
        let e = &r.entry;
        let (record_format, user_agent_hash, client_network_hash, salt) = match &e.personal {
            Personal::Clear => (1, None, None, None),
            Personal::Salted {
                user_agent_hash,
                client_network_hash,
                salt,
            } => (
                2,
                Some(hex(user_agent_hash)),
                Some(hex(client_network_hash)),
                salt.map(|s| hex(&s)),
            ),
        };
        Self {
            sequence: r.sequence,
            consent_id: e.consent_id.clone(),
            subject_id: e.subject_id.clone(),
            kind: e.kind.as_str().to_owned(),
            withdraws: e.withdraws.clone(),
            recorded_at: e.recorded_at,
            policy_version: e.policy_version.clone(),
            policy_digest: e.policy_digest.clone(),
            language: e.language.clone(),
            categories: e.categories.clone(),
            policy_accepted: e.policy_accepted,
            source: e.source.clone(),
            gpc: e.gpc,
            user_agent: e.user_agent.clone(),
            client_network: e.client_network.clone(),
            record_format,
            user_agent_hash,
            client_network_hash,
            salt,
            request_hash: hex(&e.request_hash),
            token: e.token.clone(),
            prev_hash: hex(&r.prev_hash),
            hash: hex(&r.hash),
        }
    }
}

impl RecordFields {
    /// The record these fields describe.
    ///
    /// # Errors
    ///
    /// A [`ProofError::Invalid`] naming a field that is not of its form (unknown kind or
    /// format, a hash that is not 64 lowercase hex digits).
    pub fn to_record(&self) -> Result<Record, ProofError> {
        let hash = |name: &str, text: &str| {
            parse_hash(text).ok_or_else(|| {
                ProofError::Invalid(format!("{name} is not 64 lowercase hex digits"))
            })
        };
        let personal = match (
            self.record_format,
            &self.user_agent_hash,
            &self.client_network_hash,
            &self.salt,
        ) {
            (1, None, None, None) => Personal::Clear,
            (2, Some(user_agent), Some(network), salt) => Personal::Salted {
                user_agent_hash: hash("userAgentHash", user_agent)?,
                client_network_hash: hash("clientNetworkHash", network)?,
                salt: match salt {
                    Some(salt) => Some(parse_hex::<SALT_LEN>(salt).ok_or_else(|| {
                        ProofError::Invalid(format!(
                            "salt is not {} lowercase hex digits",
                            SALT_LEN * 2
                        ))
                    })?),
                    None => None,
                },
            },
            _ => {
                return Err(ProofError::Invalid(
                    "recordFormat is 1 (userAgentHash, clientNetworkHash and salt null) or 2 (both hashes given)"
                        .to_owned(),
                ))
            }
        };
        Ok(Record {
            sequence: self.sequence,
            entry: Entry {
                consent_id: self.consent_id.clone(),
                subject_id: self.subject_id.clone(),
                kind: self
                    .kind
                    .parse::<RecordKind>()
                    .map_err(|e| ProofError::Invalid(e.to_string()))?,
                withdraws: self.withdraws.clone(),
                recorded_at: self.recorded_at,
                policy_version: self.policy_version.clone(),
                policy_digest: self.policy_digest.clone(),
                language: self.language.clone(),
                categories: self.categories.clone(),
                policy_accepted: self.policy_accepted,
                source: self.source.clone(),
                gpc: self.gpc,
                user_agent: self.user_agent.clone(),
                client_network: self.client_network.clone(),
                personal,
                request_hash: hash("requestHash", &self.request_hash)?,
                token: self.token.clone(),
            },
            prev_hash: hash("prevHash", &self.prev_hash)?,
            hash: hash("hash", &self.hash)?,
        })
    }

    /// The values in the order of [`FIELD_NAMES`], as the CSV export writes them
    /// (`withdraws`, the salted hashes and the salt empty when there are none, booleans
    /// `true`/`false`).
    pub fn csv_values(&self) -> [String; 23] {
        [
            self.sequence.to_string(),
            self.consent_id.clone(),
            self.subject_id.clone(),
            self.kind.clone(),
            self.withdraws.clone().unwrap_or_default(),
            self.recorded_at.to_string(),
            self.policy_version.clone(),
            self.policy_digest.clone(),
            self.language.clone(),
            self.categories.clone(),
            self.policy_accepted.to_string(),
            self.source.clone(),
            self.gpc.to_string(),
            self.user_agent.clone(),
            self.client_network.clone(),
            self.record_format.to_string(),
            self.user_agent_hash.clone().unwrap_or_default(),
            self.client_network_hash.clone().unwrap_or_default(),
            self.salt.clone().unwrap_or_default(),
            self.request_hash.clone(),
            self.token.clone(),
            self.prev_hash.clone(),
            self.hash.clone(),
        ]
    }
}

/// The head a proof leads to; [`ProofHead::for_record`] is the one place that chooses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofHead {
    /// The head record's sequence.
    pub sequence: i64,
    /// The head record's hash (hex).
    pub hash: String,
    /// The service's signed checkpoint of this head (a compact JWS, `typ`
    /// `ledger-head+jwt`), or `None` when no checkpoint covers the proven record yet and
    /// the head is the ledger's newest record.
    pub signed: Option<String>,
}

impl ProofHead {
    /// The head a proof of record `sequence` leads to: the newest checkpoint the service
    /// signed, when it covers the record; otherwise the ledger's newest record, unsigned.
    /// `None` for an empty ledger.
    ///
    /// # Errors
    ///
    /// A read error.
    pub async fn for_record(
        ledger: &dyn Ledger,
        sequence: i64,
    ) -> Result<Option<Self>, LedgerError> {
        if let Some(signed) = ledger
            .signed_head()
            .await?
            .filter(|h| h.sequence >= sequence)
        {
            return Ok(Some(Self {
                sequence: signed.sequence,
                hash: hex(&signed.hash),
                signed: Some(signed.token.clone()),
            }));
        }
        Ok(ledger.head().await?.map(|(sequence, hash)| Self {
            sequence,
            hash: hex(&hash),
            signed: None,
        }))
    }
}

/// A whole proof file (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofFile {
    /// [`PROOF_FORMAT`].
    pub format: String,
    /// The proven record.
    pub record: RecordFields,
    /// The canonical bytes of every later record up to the head, base64url.
    pub links: Vec<String>,
    /// The head the links lead to.
    pub head: ProofHead,
    /// The keys that signed the record's token and the head (without one the key
    /// directory no longer holds).
    pub keys: Jwks,
}

/// Why a proof cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    /// Reading the ledger failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The proof would carry more records than allowed.
    #[error("record {sequence} is {links} records behind the head; a proof would carry all of them, more than the {max} allowed here; make it with `vivus-consent-server ledger prove {consent_id}`")]
    TooLong {
        /// The record's consent id.
        consent_id: String,
        /// The record's sequence.
        sequence: i64,
        /// Records between it and the head.
        links: i64,
        /// The limit.
        max: u64,
    },
    /// The ledger changed under the walk (a record is missing).
    #[error("the ledger has no record {0} although its head is later; run `vivus-consent-server ledger verify`")]
    Gap(i64),
    /// Writing the proof failed.
    #[error("cannot write the proof: {0}")]
    Write(#[from] std::io::Error),
}

/// Writes the proof of `record` up to `head` to `out`, reading the later records page by
/// page (constant memory however far the head is). `keys` are the service's public keys;
/// the proof carries the ones that signed the record's token and the head. With
/// `max_links`, a record more than that many records behind the head is refused before
/// anything is written.
///
/// # Errors
///
/// [`ProveError`].
pub async fn write_proof<W: Write + Send>(
    ledger: &dyn Ledger,
    record: &Record,
    head: &ProofHead,
    keys: &Jwks,
    max_links: Option<u64>,
    out: &mut W,
) -> Result<(), ProveError> {
    let links = head.sequence - record.sequence;
    if let Some(max) = max_links.filter(|max| links > i64::try_from(*max).unwrap_or(i64::MAX)) {
        return Err(ProveError::TooLong {
            consent_id: record.entry.consent_id.clone(),
            sequence: record.sequence,
            links,
            max,
        });
    }
    let mut signers: Vec<_> = [Some(record.entry.token.as_str()), head.signed.as_deref()]
        .into_iter()
        .flatten()
        .filter_map(|jws| jws_kid(jws).and_then(|kid| keys.find(&kid).cloned()))
        .collect();
    signers.dedup_by(|a, b| a.kid == b.kid);
    // Written piece by piece exactly as serde_json writes a `ProofFile`, so the check can
    // compare the file with its own serialization.
    out.write_all(b"{\"format\":")?;
    serde_json::to_writer(&mut *out, PROOF_FORMAT).map_err(std::io::Error::from)?;
    out.write_all(b",\"record\":")?;
    serde_json::to_writer(&mut *out, &RecordFields::from(record)).map_err(std::io::Error::from)?;
    out.write_all(b",\"links\":[")?;
    let mut after = record.sequence;
    while after < head.sequence {
        let page = ledger.range(after, head.sequence, None, PAGE).await?;
        if page.first().map(|r| r.sequence) != Some(after + 1) {
            return Err(ProveError::Gap(after + 1));
        }
        for r in &page {
            if r.sequence != after + 1 {
                return Err(ProveError::Gap(after + 1));
            }
            if after > record.sequence {
                out.write_all(b",")?;
            }
            out.write_all(b"\"")?;
            out.write_all(
                base64url::encode(&super::canonical_bytes(r.sequence, &r.entry)).as_bytes(),
            )?;
            out.write_all(b"\"")?;
            after = r.sequence;
        }
    }
    out.write_all(b"],\"head\":")?;
    serde_json::to_writer(&mut *out, head).map_err(std::io::Error::from)?;
    out.write_all(b",\"keys\":")?;
    serde_json::to_writer(&mut *out, &Jwks { keys: signers }).map_err(std::io::Error::from)?;
    out.write_all(b"}\n")?;
    Ok(())
}

/// What a proof that checks out shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The proven record.
    pub record: RecordFields,
    /// The head it leads to.
    pub head: ProofHead,
    /// How many later records link it to the head.
    pub links: usize,
    /// The `kid` of the key whose signature on the record's token checked out, or `None`
    /// when the proof carries no key for it (the signature was not checked).
    pub signed_by: Option<String>,
    /// The token's `kid` header.
    pub token_kid: Option<String>,
    /// The signed head's claims and the `kid` that signed it; `None` for an unsigned head.
    pub head_signed: Option<(HeadClaims, String)>,
}

/// Why a proof does not check out. Each message says where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The file is not a proof at all.
    #[error("the file is not a vivus-consent proof: {0}")]
    NotAProof(String),
    /// The file parses, but is not byte for byte what `ledger prove` writes.
    #[error("the file is not byte for byte as `ledger prove` wrote it (a byte was changed, or the JSON was reformatted); check the original file")]
    NotAsWritten,
    /// A field is not of its form.
    #[error("the proof is invalid: {0}")]
    Invalid(String),
    /// The record's fields do not hash to its hash.
    #[error("the record's fields do not hash to its hash: the record in the proof was changed")]
    RecordChanged,
    /// The record's clear user agent or network is not what its salted hashes commit to.
    #[error("the record's user agent or client network does not match the salted hash its hash covers: they were changed")]
    PersonalData,
    /// The record's token does not check out.
    #[error("the record's consent token does not check out: {0}")]
    Token(String),
    /// A link is not the next record.
    #[error("link {index} is not record {expected}: the links were changed, reordered or cut")]
    LinkSequence {
        /// Position in `links`, from 1.
        index: usize,
        /// The sequence it should have.
        expected: i64,
    },
    /// The chain does not arrive at the head.
    #[error("the record and its {links} links hash to {computed}, not to the head {head}: a link or the head was changed")]
    HeadMismatch {
        /// Links walked.
        links: usize,
        /// What the chain hashes to.
        computed: String,
        /// The head's hash in the proof.
        head: String,
    },
    /// The signed head does not check out.
    #[error("the head's signature does not check out: {0}")]
    Head(String),
}

/// Checks a proof file with nothing but its bytes.
///
/// # Errors
///
/// The first [`ProofError`] found.
pub fn check(bytes: &[u8]) -> Result<Checked, ProofError> {
    let file: ProofFile =
        serde_json::from_slice(bytes).map_err(|e| ProofError::NotAProof(e.to_string()))?;
    if file.format != PROOF_FORMAT {
        return Err(ProofError::NotAProof(format!(
            "its format is {:?}, this build checks {PROOF_FORMAT:?}",
            file.format
        )));
    }
    let mut written =
        serde_json::to_vec(&file).map_err(|e| ProofError::NotAProof(e.to_string()))?;
    written.push(b'\n');
    if written != bytes {
        return Err(ProofError::NotAsWritten);
    }
    for key in &file.keys.keys {
        if key.kid.as_deref() != Some(key.thumbprint().as_str()) {
            return Err(ProofError::Invalid(format!(
                "the key {} is not the key with that thumbprint",
                key.kid.as_deref().unwrap_or("without a kid")
            )));
        }
    }
    let record = file.record.to_record()?;
    if record.sequence < 1 {
        return Err(ProofError::Invalid(format!(
            "record sequence {} is not positive",
            record.sequence
        )));
    }
    if super::record_hash(&record.prev_hash, record.sequence, &record.entry) != record.hash {
        return Err(ProofError::RecordChanged);
    }
    if !record
        .entry
        .personal
        .matches(&record.entry.user_agent, &record.entry.client_network)
    {
        return Err(ProofError::PersonalData);
    }
    let token_kid = jws_kid(&record.entry.token);
    let signed_by = check_token(&record, &file.keys, token_kid.as_deref())?;
    let mut prev = record.hash;
    let mut expected = record.sequence;
    for (i, link) in file.links.iter().enumerate() {
        expected += 1;
        let bytes = base64url::decode(link)
            .map_err(|_| ProofError::Invalid(format!("link {} is not base64url", i + 1)))?;
        if canonical_sequence(&bytes) != Some(expected) {
            return Err(ProofError::LinkSequence {
                index: i + 1,
                expected,
            });
        }
        prev = chain_hash(&prev, &bytes);
    }
    let head_hash = parse_hash(&file.head.hash).ok_or_else(|| {
        ProofError::Invalid("head.hash is not 64 lowercase hex digits".to_owned())
    })?;
    if file.head.sequence != expected || head_hash != prev {
        return Err(ProofError::HeadMismatch {
            links: file.links.len(),
            computed: hex(&prev),
            head: file.head.hash,
        });
    }
    let head_signed = match &file.head.signed {
        Some(jws) => {
            let (claims, kid) =
                checkpoint::verify(jws, &file.keys).map_err(|e| ProofError::Head(e.to_string()))?;
            if claims.seq != file.head.sequence || claims.head != file.head.hash {
                return Err(ProofError::Head(format!(
                    "it signs record {} with hash {}, not the proof's head",
                    claims.seq, claims.head
                )));
            }
            Some((claims, kid))
        }
        None => None,
    };
    Ok(Checked {
        record: file.record,
        head: file.head,
        links: file.links.len(),
        signed_by,
        token_kid,
        head_signed,
    })
}

/// Checks the record's token with the ledger's own check (signed by a key of `keys`, its
/// claims the record's columns). `Ok(None)` when the proof has no key named like the
/// token's: its signature is then not checked.
fn check_token(
    record: &Record,
    keys: &Jwks,
    kid: Option<&str>,
) -> Result<Option<String>, ProofError> {
    let Some(kid) = kid else {
        return Err(ProofError::Token("it has no kid header".to_owned()));
    };
    if keys.find(kid).is_none() {
        return Ok(None);
    }
    super::check_token(&record.entry, keys)
        .map_err(|reason| ProofError::Token(reason.to_string()))?;
    Ok(Some(kid.to_owned()))
}

/// The `kid` header of a compact JWS, read without verifying anything.
fn jws_kid(jws: &str) -> Option<String> {
    let header = base64url::decode(jws.split('.').next()?).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&header).ok()?;
    value.get("kid")?.as_str().map(str::to_owned)
}

/// 64 lowercase hex digits as 32 bytes.
pub fn parse_hash(text: &str) -> Option<[u8; 32]> {
    parse_hex(text)
}

/// `2 * N` lowercase hex digits as `N` bytes: a proof's hashes must be in the one form
/// [`hex`] writes, or a changed letter case would go unnoticed.
fn parse_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let bytes = text.as_bytes();
    if bytes.len() != 2 * N {
        return None;
    }
    let mut out = [0_u8; N];
    for (i, pair) in bytes.chunks(2).enumerate() {
        out[i] = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(out)
}
