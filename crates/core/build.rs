//! Pins every policy version under `policy/` to the SHA-256 digest of its canonical text.
//!
//! For each directory `policy/v<N>/` holding `ru.md` and `kk.md` it writes into `OUT_DIR`:
//! `policy_versions.rs` (the versions with their digests, newest last) and
//! `policy_texts.rs` (an `include_str!` per file, used by the `policy-text` feature).
//! Computing the digest here, not at run time, keeps SHA-256 out of the wasm SDK.

// Cargo reads build-script instructions from stdout.
#![allow(clippy::print_stdout)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs, process};

use sha2::{Digest, Sha256};

#[path = "policy/canonical.rs"]
mod canonical;

/// Languages in the order the canonical text lists them.
const LANGUAGES: [(&str, &str); 2] = [("ru", "Ru"), ("kk", "Kk")];

fn main() {
    if let Err(message) = run() {
        eprintln!("error: {message}");
        process::exit(1);
    }
}

struct Version {
    number: u32,
    id: String,
    files: Vec<PathBuf>,
    digest: String,
}

fn run() -> Result<(), String> {
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?;
    let out_dir = PathBuf::from(env::var("OUT_DIR").map_err(|e| e.to_string())?);
    let policy_dir = Path::new(&manifest_dir).join("policy");
    // A directory makes cargo rerun on any change inside it, including new versions.
    println!("cargo:rerun-if-changed=policy");
    println!("cargo:rerun-if-changed=build.rs");

    let mut versions = Vec::new();
    let entries = fs::read_dir(&policy_dir).map_err(|e| {
        format!(
            "cannot read {}: {e}; the policy texts live there",
            policy_dir.display()
        )
    })?;
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let number = match name.strip_prefix('v').map(str::parse::<u32>) {
            Some(Ok(n)) if entry.path().is_dir() => n,
            _ => continue,
        };
        let mut texts = Vec::new();
        let mut files = Vec::new();
        for (code, _) in LANGUAGES {
            let path = entry.path().join(format!("{code}.md"));
            let text = fs::read_to_string(&path).map_err(|e| {
                format!(
                    "policy version {name} needs {}: {e}; every version has ru.md and kk.md",
                    path.display()
                )
            })?;
            texts.push((code, text));
            files.push(path);
        }
        let parts: Vec<(&str, &str)> = texts.iter().map(|(c, t)| (*c, t.as_str())).collect();
        let hash = Sha256::digest(canonical::canonical_text(&parts).as_bytes());
        let mut digest = String::with_capacity(64);
        for byte in hash {
            write!(digest, "{byte:02x}").map_err(|e| e.to_string())?;
        }
        versions.push(Version {
            number,
            id: name,
            files,
            digest,
        });
    }
    if versions.is_empty() {
        return Err(format!(
            "no policy version (a v<N>/ directory) in {}",
            policy_dir.display()
        ));
    }
    versions.sort_by_key(|v| v.number);

    let mut list = String::from("const GENERATED_VERSIONS: &[PolicyVersion] = &[\n");
    for v in &versions {
        writeln!(
            list,
            "    PolicyVersion {{ id: {:?}, digest: {:?} }},",
            v.id, v.digest
        )
        .map_err(|e| e.to_string())?;
    }
    list.push_str("];\n");
    write_file(&out_dir.join("policy_versions.rs"), &list)?;

    let mut texts = String::from(
        "fn embedded(version_id: &str, lang: Language) -> Option<&'static str> {\n    match (version_id, lang) {\n",
    );
    for v in &versions {
        for ((_, variant), path) in LANGUAGES.iter().zip(&v.files) {
            let path = path
                .to_str()
                .ok_or("the policy path is not UTF-8; move the checkout")?;
            writeln!(
                texts,
                "        ({:?}, Language::{variant}) => Some(include_str!({path:?})),",
                v.id
            )
            .map_err(|e| e.to_string())?;
        }
    }
    texts.push_str("        _ => None,\n    }\n}\n");
    write_file(&out_dir.join("policy_texts.rs"), &texts)
}

fn write_file(path: &Path, contents: &str) -> Result<(), String> {
    fs::write(path, contents).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
