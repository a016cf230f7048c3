//! The Ed25519 signing keys on disk.
//!
//! Each key is a file `<unix-time>-<kid>.key` in the key directory holding the 32-byte
//! seed as 64 hex digits, readable by the owner only. Every key is published in the JWK
//! set, so tokens signed before a rotation keep verifying. A key may have a metadata file
//! beside it, `<unix-time>-<kid>.json`, with its state:
//!
//! - **pending** (`{"activate_at": T}` with `T` in the future): published, not signing yet.
//!   `keys rotate --activate-after D` writes a new key this way, so every instance and every
//!   cache of the JWK set has it before the first token it signs (publish before sign);
//! - **active** (no metadata, or `activate_at` passed): may sign; the active key activated
//!   last signs, chosen at each signature, so a pending key takes over at its time without a
//!   restart;
//! - **retired** (`"retired_at"` set, `keys retire KID`): published, verifies, never signs.
//!
//! On first start, with no key present and an empty ledger, one is generated from the OS
//! random number generator (see `start` for why a ledger that holds tokens refuses that).

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use vivus_consent_core::jwk::Jwks;
use vivus_consent_core::token::SigningKey;

/// A key directory problem. Every variant names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The directory cannot be created or listed.
    #[error(
        "cannot use the key directory {path}: {source}; create it (mode 0700) or pass --key-dir"
    )]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A key file cannot be read.
    #[error("cannot read the signing key {path}: {source}; fix its ownership or remove it")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A key file is readable by group or others.
    #[error("the signing key {path} is readable by others (mode {mode:o}); run `chmod 600 {path}` and rotate the key if it may have leaked")]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A key file is not 64 hex digits, or its name does not match its key.
    #[error("the signing key {path} is malformed: {reason}; restore it from backup or remove it")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A new key cannot be written.
    #[error(
        "cannot write a new signing key in {path}: {source}; check the directory's permissions"
    )]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The OS random number generator failed.
    #[error("the operating system's random number generator failed ({0}); cannot generate a key")]
    Random(String),
    /// No key in the directory has this kid.
    #[error("there is no key {kid} in {dir}; `vivus-consent-server keys list` shows the kids")]
    NoSuchKey {
        /// The directory.
        dir: PathBuf,
        /// The kid asked for.
        kid: String,
    },
    /// Retiring the key would leave nothing to sign with.
    #[error("retiring {kid} would leave no key that signs now or later; run `keys rotate` first and retire it once the new key is active")]
    LastSigner {
        /// The kid asked for.
        kid: String,
    },
    /// The activation delay is shorter than the JWK set's cache lifetime.
    #[error("--activate-after {after_secs} s is shorter than the JWK set's cache lifetime ({max_age_secs} s, --jwks-max-age-secs): browsers and other instances would meet tokens signed by a key they have not fetched yet; give at least {max_age_secs} s plus the time to copy the key to every instance and restart them")]
    ActivatesTooSoon {
        /// The delay asked for.
        after_secs: u64,
        /// The JWK set's `max-age`.
        max_age_secs: u64,
    },
}

/// The state of a key at some time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published, and signs from `activate_at` (unix seconds) on.
    Pending {
        /// When it may start signing.
        activate_at: u64,
    },
    /// May sign; the active key activated last does.
    Active,
    /// Published and verifies; never signs again.
    Retired,
}

/// A key's metadata file: `<unix-time>-<kid>.json`. Absent means active since its time.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyMeta {
    /// Unix seconds from which the key may sign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    activate_at: Option<u64>,
    /// Unix seconds at which it was retired; it never signs again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retired_at: Option<u64>,
}

/// The loaded keys, oldest first.
#[derive(Debug)]
pub struct KeyRing {
    keys: Vec<LoadedKey>,
    jwks: Jwks,
}

/// One key and where it came from.
#[derive(Debug)]
struct LoadedKey {
    created: u64,
    /// From its metadata; a key without one is active and ranks by `created`.
    activate_at: Option<u64>,
    retired: bool,
    key: SigningKey,
}

impl LoadedKey {
    fn state(&self, now_secs: u64) -> KeyState {
        match self.activate_at {
            _ if self.retired => KeyState::Retired,
            Some(activate_at) if activate_at > now_secs => KeyState::Pending { activate_at },
            _ => KeyState::Active,
        }
    }

    /// The order in which active keys take over: the one activated last signs.
    fn rank(&self) -> (u64, u64) {
        (self.activate_at.unwrap_or(self.created), self.created)
    }
}

/// One key as `keys list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStatus {
    /// Its kid.
    pub kid: String,
    /// Unix seconds in its file name.
    pub created: u64,
    /// Its state now.
    pub state: KeyState,
    /// Whether it is the key that signs now.
    pub signing: bool,
}

impl KeyRing {
    /// Loads every `*.key` file in `dir` (creating the directory, mode 0700, if it does not
    /// exist), generating a first key if there is none. The service itself calls
    /// [`KeyRing::load`] and generates only when the ledger holds no tokens.
    ///
    /// # Errors
    ///
    /// A [`KeyError`] naming the file when a key is unreadable, malformed or readable
    /// by others, or when the directory cannot be used.
    pub fn load_or_generate(dir: &Path, now_secs: u64) -> Result<Self, KeyError> {
        let mut ring = Self::load_or_create_dir(dir)?;
        if ring.keys.is_empty() {
            let path = generate(dir, now_secs)?;
            tracing::info!(path = %path.display(), "generated the first signing key");
            ring = Self::load(dir)?;
        }
        Ok(ring)
    }

    /// [`KeyRing::load`], creating the directory (mode 0700) first if it does not exist.
    ///
    /// # Errors
    ///
    /// As [`KeyRing::load_or_generate`].
    pub fn load_or_create_dir(dir: &Path) -> Result<Self, KeyError> {
        if !dir.exists() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|source| KeyError::Dir {
                    path: dir.to_owned(),
                    source,
                })?;
        }
        Self::load(dir)
    }

    /// Loads every `*.key` file in `dir` (possibly none) and its metadata.
    ///
    /// # Errors
    ///
    /// As [`KeyRing::load_or_generate`].
    pub fn load(dir: &Path) -> Result<Self, KeyError> {
        let entries = fs::read_dir(dir).map_err(|source| KeyError::Dir {
            path: dir.to_owned(),
            source,
        })?;
        let mut keys = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| KeyError::Dir {
                path: dir.to_owned(),
                source,
            })?;
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("key") {
                continue;
            }
            keys.push(load_key(&path)?);
        }
        keys.sort_by(|a, b| (a.created, a.key.kid()).cmp(&(b.created, b.key.kid())));
        let jwks = Jwks {
            keys: keys.iter().rev().map(|k| k.key.public_jwk()).collect(),
        };
        Ok(Self { keys, jwks })
    }

    /// The key that signs at `now_secs`: of the keys neither retired nor pending, the one
    /// activated last. `None` when every key is pending or retired (or there is none).
    pub fn signer_at(&self, now_secs: u64) -> Option<&SigningKey> {
        self.keys
            .iter()
            .filter(|k| k.state(now_secs) == KeyState::Active)
            .max_by_key(|k| k.rank())
            .map(|k| &k.key)
    }

    /// The key that signs now (see [`KeyRing::signer_at`]).
    pub fn signer(&self) -> Option<&SigningKey> {
        self.signer_at(crate::now_secs())
    }

    /// Every key's state at `now_secs`, oldest first.
    pub fn statuses(&self, now_secs: u64) -> Vec<KeyStatus> {
        let signing = self.signer_at(now_secs).map(SigningKey::kid);
        self.keys
            .iter()
            .map(|k| KeyStatus {
                kid: k.key.kid().to_owned(),
                created: k.created,
                state: k.state(now_secs),
                signing: signing == Some(k.key.kid()),
            })
            .collect()
    }

    /// Whether a key with this kid is loaded (in any state).
    pub fn contains(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.key.kid() == kid)
    }

    /// Every public key, newest first, in every state: a pending key must be published
    /// before it signs, and a retired one still verifies what it signed.
    pub fn jwks(&self) -> &Jwks {
        &self.jwks
    }

    /// How many keys are loaded.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is loaded.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

fn load_key(path: &Path) -> Result<LoadedKey, KeyError> {
    let malformed = |reason: &str| KeyError::Malformed {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let meta = fs::metadata(path).map_err(|source| KeyError::Read {
        path: path.to_owned(),
        source,
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Permissions {
            path: path.to_owned(),
            mode,
        });
    }
    let text = fs::read_to_string(path).map_err(|source| KeyError::Read {
        path: path.to_owned(),
        source,
    })?;
    let seed = parse_hex_seed(text.trim())
        .ok_or_else(|| malformed("expected 64 hex digits (a 32-byte seed)"))?;
    if seed == [0; 32] {
        // An all-zero seed is a publicly known key (and ed25519-compact refuses it).
        return Err(malformed("the seed is all zeros"));
    }
    let key = SigningKey::from_seed(seed);
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let (created, kid) = stem
        .split_once('-')
        .ok_or_else(|| malformed("the name must be <unix-time>-<kid>.key"))?;
    let created: u64 = created
        .parse()
        .map_err(|_| malformed("the name must start with the unix time"))?;
    if kid != key.kid() {
        return Err(malformed(
            "the kid in the file name is not the thumbprint of the key in it",
        ));
    }
    let meta = read_meta(&path.with_extension("json"))?;
    Ok(LoadedKey {
        created,
        activate_at: meta.activate_at,
        retired: meta.retired_at.is_some(),
        key,
    })
}

/// The metadata beside a key; none means active since the key's time.
fn read_meta(path: &Path) -> Result<KeyMeta, KeyError> {
    match fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| KeyError::Malformed {
            path: path.to_owned(),
            reason: format!("{e} (expected {{\"activate_at\": <unix seconds>}} and/or {{\"retired_at\": <unix seconds>}})"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(KeyMeta::default()),
        Err(source) => Err(KeyError::Read { path: path.to_owned(), source }),
    }
}

/// Writes a key's metadata through a temporary file and a rename, so a reader sees the old
/// or the new state, never half of one.
fn write_meta(path: &Path, meta: &KeyMeta) -> Result<(), KeyError> {
    let tmp = path.with_extension("json.tmp");
    let write = || -> std::io::Result<()> {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(serde_json::to_string(meta).unwrap_or_default().as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    };
    write().map_err(|source| KeyError::Write {
        path: path.to_owned(),
        source,
    })
}

/// Generates a key in `dir` that signs at once, and returns its path. The file is created
/// with mode 0600 and never overwrites an existing one.
///
/// # Errors
///
/// [`KeyError::Random`] or [`KeyError::Write`].
pub fn generate(dir: &Path, now_secs: u64) -> Result<PathBuf, KeyError> {
    let mut seed = [0_u8; 32];
    getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
    let key = SigningKey::from_seed(seed);
    let path = dir.join(format!("{now_secs}-{}.key", key.kid()));
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|source| KeyError::Write {
            path: path.clone(),
            source,
        })?;
    let hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
    file.write_all(format!("{hex}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|source| KeyError::Write {
            path: path.clone(),
            source,
        })?;
    Ok(path)
}

/// `keys rotate`: generates a key in `dir` that is published from the next start and
/// signs from `now_secs + activate_after_secs` on. The delay must be at least the JWK
/// set's cache lifetime (`max_age_secs`): a verifier that cached the set just before this
/// key was published learns it only when its copy expires.
///
/// # Errors
///
/// [`KeyError::ActivatesTooSoon`], or as [`generate`].
pub fn rotate(
    dir: &Path,
    now_secs: u64,
    activate_after_secs: u64,
    max_age_secs: u64,
) -> Result<PathBuf, KeyError> {
    if activate_after_secs < max_age_secs {
        return Err(KeyError::ActivatesTooSoon {
            after_secs: activate_after_secs,
            max_age_secs,
        });
    }
    let path = generate(dir, now_secs)?;
    let meta = KeyMeta {
        activate_at: Some(now_secs.saturating_add(activate_after_secs)),
        retired_at: None,
    };
    if let Err(e) = write_meta(&path.with_extension("json"), &meta) {
        // Without its metadata the key would sign at once: do not leave it behind.
        let _ = fs::remove_file(&path);
        return Err(e);
    }
    Ok(path)
}

/// `keys retire KID`: marks the key retired, so it keeps verifying and never signs again.
/// Refuses to retire the last key that signs now or will sign later.
///
/// # Errors
///
/// [`KeyError::NoSuchKey`], [`KeyError::LastSigner`], or a read or write error.
pub fn retire(dir: &Path, kid: &str, now_secs: u64) -> Result<PathBuf, KeyError> {
    let ring = KeyRing::load(dir)?;
    let Some(target) = ring.keys.iter().find(|k| k.key.kid() == kid) else {
        return Err(KeyError::NoSuchKey {
            dir: dir.to_owned(),
            kid: kid.to_owned(),
        });
    };
    if !ring.keys.iter().any(|k| k.key.kid() != kid && !k.retired) {
        return Err(KeyError::LastSigner {
            kid: kid.to_owned(),
        });
    }
    let path = dir.join(format!("{}-{kid}.json", target.created));
    let mut meta = read_meta(&path)?;
    meta.retired_at.get_or_insert(now_secs);
    write_meta(&path, &meta)?;
    Ok(path)
}

/// The `kid` in a compact JWS's header, unverified (to name a key in a message).
pub fn kid_of(jws: &str) -> Option<String> {
    let header = vivus_consent_core::base64url::decode(jws.split('.').next()?).ok()?;
    let header: serde_json::Value = serde_json::from_slice(&header).ok()?;
    header.get("kid")?.as_str().map(str::to_owned)
}

fn parse_hex_seed(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut seed = [0_u8; 32];
    for (i, pair) in text.as_bytes().chunks(2).enumerate() {
        let pair = std::str::from_utf8(pair).ok()?;
        seed[i] = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_start_generates_an_owner_only_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = dir.path().join("keys");
        let ring = KeyRing::load_or_generate(&keys, 1_700_000_000).expect("generated");
        assert_eq!(ring.len(), 1);
        let files: Vec<_> = fs::read_dir(&keys)
            .expect("dir")
            .map(|e| e.expect("entry").path())
            .collect();
        assert_eq!(files.len(), 1);
        let mode = fs::metadata(&files[0]).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = KeyRing::load_or_generate(&keys, 1_700_000_100).expect("reloaded");
        assert_eq!(again.len(), 1, "a second start reuses the key");
        assert_eq!(
            again.signer().map(SigningKey::kid),
            ring.signer().map(SigningKey::kid)
        );
    }

    #[test]
    fn the_newest_key_signs_and_all_are_published() {
        let dir = tempfile::tempdir().expect("tempdir");
        let old = KeyRing::load_or_generate(dir.path(), 100).expect("first");
        generate(dir.path(), 200).expect("second");
        let ring = KeyRing::load(dir.path()).expect("load");
        assert_eq!(ring.len(), 2);
        assert_ne!(
            ring.signer().map(SigningKey::kid),
            old.signer().map(SigningKey::kid)
        );
        assert_eq!(ring.jwks().keys.len(), 2);
        assert_eq!(
            ring.jwks().keys[0].kid.as_deref(),
            ring.signer().map(SigningKey::kid)
        );
    }

    #[test]
    fn a_pending_key_is_published_and_signs_only_from_its_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        let old = KeyRing::load_or_generate(dir.path(), 100).expect("first");
        let old_kid = old.signer_at(100).expect("signs").kid().to_owned();
        let err = rotate(dir.path(), 200, 299, 300).expect_err("shorter than the cache lifetime");
        assert!(
            matches!(
                err,
                KeyError::ActivatesTooSoon {
                    after_secs: 299,
                    max_age_secs: 300
                }
            ),
            "{err}"
        );
        assert_eq!(
            KeyRing::load(dir.path()).expect("load").len(),
            1,
            "nothing was left behind"
        );

        rotate(dir.path(), 200, 300, 300).expect("rotate");
        let ring = KeyRing::load(dir.path()).expect("load");
        assert_eq!(
            ring.jwks().keys.len(),
            2,
            "the pending key is published at once"
        );
        let new_kid = ring.jwks().keys[0].kid.clone().expect("kid");
        assert_ne!(new_kid, old_kid);
        assert_eq!(
            ring.signer_at(499).map(SigningKey::kid),
            Some(old_kid.as_str()),
            "not before its time"
        );
        assert_eq!(
            ring.signer_at(500).map(SigningKey::kid),
            Some(new_kid.as_str()),
            "from its time on"
        );
        let states: Vec<KeyState> = ring.statuses(499).iter().map(|s| s.state).collect();
        assert_eq!(
            states,
            [KeyState::Active, KeyState::Pending { activate_at: 500 }]
        );
    }

    #[test]
    fn a_retired_key_is_published_and_never_signs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = KeyRing::load_or_generate(dir.path(), 100).expect("first");
        let first_kid = first.signer_at(100).expect("signs").kid().to_owned();
        let err = retire(dir.path(), &first_kid, 150).expect_err("the only key");
        assert!(matches!(err, KeyError::LastSigner { .. }), "{err}");
        generate(dir.path(), 200).expect("second");
        let second_kid = KeyRing::load(dir.path())
            .expect("load")
            .signer_at(200)
            .expect("signs")
            .kid()
            .to_owned();
        // Retire the newest: the older active key signs again, the retired one is still published.
        retire(dir.path(), &second_kid, 300).expect("retire");
        let ring = KeyRing::load(dir.path()).expect("load");
        assert_eq!(
            ring.signer_at(10_000).map(SigningKey::kid),
            Some(first_kid.as_str())
        );
        assert!(ring
            .jwks()
            .keys
            .iter()
            .any(|k| k.kid.as_deref() == Some(second_kid.as_str())));
        assert!(ring
            .statuses(300)
            .iter()
            .any(|s| s.kid == second_kid && s.state == KeyState::Retired && !s.signing));
        assert!(matches!(
            retire(dir.path(), "nope", 300),
            Err(KeyError::NoSuchKey { .. })
        ));
    }

    #[test]
    fn unsafe_or_broken_key_files_are_refused_by_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = generate(dir.path(), 1).expect("key");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = KeyRing::load(dir.path()).expect_err("world-readable");
        assert!(matches!(err, KeyError::Permissions { .. }));
        assert!(err.to_string().contains(&path.display().to_string()));

        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
        fs::write(&path, "not hex").expect("write");
        let err = KeyRing::load(dir.path()).expect_err("malformed");
        assert!(matches!(err, KeyError::Malformed { .. }), "{err}");

        let renamed = dir.path().join("1-notthekid.key");
        fs::write(&path, "11".repeat(32)).expect("write");
        fs::rename(&path, &renamed).expect("rename");
        let err = KeyRing::load(dir.path()).expect_err("wrong kid");
        assert!(err.to_string().contains("thumbprint"), "{err}");
    }
}
