//! The Ed25519 signing keys on disk.
//!
//! Each key is a file `<unix-time>-<kid>.key` in the key directory holding the 32-byte
//! seed as 64 hex digits, readable by the owner only. The newest key (largest time)
//! signs; every key is published in the JWK set, so tokens signed before a rotation
//! keep verifying. On first start, with no key present, one is generated from the OS
//! random number generator.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use vivus_consent_core::jwk::Jwks;
use vivus_consent_core::token::SigningKey;

/// A key directory problem. Every variant names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The directory cannot be created or listed.
    #[error("cannot use the key directory {path}: {source}; create it (mode 0700) or pass --key-dir")]
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
    #[error("cannot write a new signing key in {path}: {source}; check the directory's permissions")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The OS random number generator failed.
    #[error("the operating system's random number generator failed ({0}); cannot generate a key")]
    Random(String),
}

/// The loaded keys, oldest first; the last one signs.
#[derive(Debug)]
pub struct KeyRing {
    keys: Vec<LoadedKey>,
    jwks: Jwks,
}

/// One key and where it came from.
#[derive(Debug)]
struct LoadedKey {
    created: u64,
    key: SigningKey,
}

impl KeyRing {
    /// Loads every `*.key` file in `dir`, generating a first key if there is none.
    ///
    /// # Errors
    ///
    /// A [`KeyError`] naming the file when a key is unreadable, malformed or readable
    /// by others, or when the directory cannot be used.
    pub fn load_or_generate(dir: &Path, now_secs: u64) -> Result<Self, KeyError> {
        if !dir.exists() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|source| KeyError::Dir { path: dir.to_owned(), source })?;
        }
        let mut ring = Self::load(dir)?;
        if ring.keys.is_empty() {
            let path = generate(dir, now_secs)?;
            tracing::info!(path = %path.display(), "generated the first signing key");
            ring = Self::load(dir)?;
        }
        Ok(ring)
    }

    /// Loads every `*.key` file in `dir` (possibly none).
    ///
    /// # Errors
    ///
    /// As [`KeyRing::load_or_generate`].
    pub fn load(dir: &Path) -> Result<Self, KeyError> {
        let entries = fs::read_dir(dir).map_err(|source| KeyError::Dir { path: dir.to_owned(), source })?;
        let mut keys = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| KeyError::Dir { path: dir.to_owned(), source })?;
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("key") {
                continue;
            }
            keys.push(load_key(&path)?);
        }
        keys.sort_by(|a, b| (a.created, a.key.kid()).cmp(&(b.created, b.key.kid())));
        let jwks = Jwks { keys: keys.iter().rev().map(|k| k.key.public_jwk()).collect() };
        Ok(Self { keys, jwks })
    }

    /// The key that signs new tokens (the newest). `None` only for an empty ring.
    pub fn signer(&self) -> Option<&SigningKey> {
        self.keys.last().map(|k| &k.key)
    }

    /// Every public key, newest first.
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
    let malformed = |reason: &str| KeyError::Malformed { path: path.to_owned(), reason: reason.to_owned() };
    let meta = fs::metadata(path).map_err(|source| KeyError::Read { path: path.to_owned(), source })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Permissions { path: path.to_owned(), mode });
    }
    let text = fs::read_to_string(path).map_err(|source| KeyError::Read { path: path.to_owned(), source })?;
    let seed = parse_hex_seed(text.trim()).ok_or_else(|| malformed("expected 64 hex digits (a 32-byte seed)"))?;
    if seed == [0; 32] {
        // An all-zero seed is a publicly known key (and ed25519-compact refuses it).
        return Err(malformed("the seed is all zeros"));
    }
    let key = SigningKey::from_seed(seed);
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let (created, kid) = stem
        .split_once('-')
        .ok_or_else(|| malformed("the name must be <unix-time>-<kid>.key"))?;
    let created: u64 = created.parse().map_err(|_| malformed("the name must start with the unix time"))?;
    if kid != key.kid() {
        return Err(malformed("the kid in the file name is not the thumbprint of the key in it"));
    }
    Ok(LoadedKey { created, key })
}

/// Generates a key in `dir` and returns its path. The file is created with mode 0600
/// and never overwrites an existing one.
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
        .map_err(|source| KeyError::Write { path: path.clone(), source })?;
    let hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
    file.write_all(format!("{hex}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|source| KeyError::Write { path: path.clone(), source })?;
    Ok(path)
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
        let files: Vec<_> = fs::read_dir(&keys).expect("dir").map(|e| e.expect("entry").path()).collect();
        assert_eq!(files.len(), 1);
        let mode = fs::metadata(&files[0]).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = KeyRing::load_or_generate(&keys, 1_700_000_100).expect("reloaded");
        assert_eq!(again.len(), 1, "a second start reuses the key");
        assert_eq!(again.signer().map(SigningKey::kid), ring.signer().map(SigningKey::kid));
    }

    #[test]
    fn the_newest_key_signs_and_all_are_published() {
        let dir = tempfile::tempdir().expect("tempdir");
        let old = KeyRing::load_or_generate(dir.path(), 100).expect("first");
        generate(dir.path(), 200).expect("second");
        let ring = KeyRing::load(dir.path()).expect("load");
        assert_eq!(ring.len(), 2);
        assert_ne!(ring.signer().map(SigningKey::kid), old.signer().map(SigningKey::kid));
        assert_eq!(ring.jwks().keys.len(), 2);
        assert_eq!(ring.jwks().keys[0].kid.as_deref(), ring.signer().map(SigningKey::kid));
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
