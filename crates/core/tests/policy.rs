//! The published policy texts: they parse, the two languages agree in structure, nothing
//! of the source export was lost, no markup leaked, and the digest pins the text.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};
use vivus_consent_core::category::Category;
use vivus_consent_core::language::Language;
use vivus_consent_core::policy::{self, plain_text, Block, Document, CURRENT, VERSIONS};

const V1_CLAUSES: [&str; 23] = [
    "1.1", "2.1", "2.2", "2.3", "3.1", "3.2", "3.3", "3.4", "4.1", "4.2", "4.3", "5.1", "5.2",
    "5.3", "5.4", "5.5", "5.6", "6.1", "6.2", "7.1", "8.1", "9.1", "9.2",
];

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn policy_file(version: &str, lang: Language) -> String {
    let path = manifest_dir()
        .join("policy")
        .join(version)
        .join(format!("{lang}.md"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parsed(version: &str, lang: Language) -> Document {
    Document::parse(&policy_file(version, lang))
        .unwrap_or_else(|e| panic!("{version}/{lang}.md: {e}"))
}

/// The two-column export v1 was extracted from, kept verbatim beside the Markdown.
fn source_export() -> (PathBuf, String) {
    let path = manifest_dir().join("policy/source-v1-ru-kk.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (path, text)
}

fn normalize(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn hex_sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn both_languages_parse_with_the_same_sections_and_clauses() {
    for v in VERSIONS {
        let [ru, kk] = Language::ALL.map(|lang| parsed(v.id, lang));
        let sections = |d: &Document| d.sections.iter().map(|s| s.number).collect::<Vec<_>>();
        let clauses = |d: &Document| {
            d.clause_numbers()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(sections(&ru), sections(&kk), "{}: section numbers", v.id);
        assert_eq!(clauses(&ru), clauses(&kk), "{}: clause numbers", v.id);
        for doc in [&ru, &kk] {
            assert!(!doc.title.is_empty());
            assert!(doc
                .sections
                .iter()
                .all(|s| !s.title.is_empty() && !s.blocks.is_empty()));
        }
    }
}

#[test]
fn v1_has_the_clauses_of_the_signed_policy() {
    for lang in Language::ALL {
        let doc = parsed("v1", lang);
        let clauses: Vec<String> = doc.clause_numbers().map(|n| n.to_string()).collect();
        assert_eq!(clauses, V1_CLAUSES, "{lang}");
        assert_eq!(doc.sections.len(), 9, "{lang}");
        // Same number of list items per section in both languages (they differ in content
        // in clause 1.1, not in count).
        assert_eq!(doc.list_items().count(), 54, "{lang}");
    }
    let ru = parsed("v1", Language::Ru);
    assert_eq!(
        ru.title,
        "Политика в отношении обработки персональных данных"
    );
    assert_eq!(
        ru.subtitle.as_deref(),
        Some("ТОО «Микрофинансовая организация «Вивус»")
    );
    // The Kazakh title names the company itself; the source has no separate company line.
    let kk = parsed("v1", Language::Kk);
    assert_eq!(
        kk.title,
        "«Вивус» Шағын қаржы ұйымы» ЖШС дербес деректерді өңдеуге қатысты саясаты"
    );
    assert_eq!(kk.subtitle, None);
}

#[test]
fn no_html_entities_or_bullets_remain() {
    for v in VERSIONS {
        for lang in Language::ALL {
            let text = policy_file(v.id, lang);
            let mut rest = text.as_str();
            let mut outside_autolinks = String::new();
            while let Some(start) = rest.find("<http") {
                outside_autolinks.push_str(&rest[..start]);
                let end = rest[start..]
                    .find('>')
                    .map_or(rest.len(), |e| start + e + 1);
                rest = &rest[end..];
            }
            outside_autolinks.push_str(rest);
            for bad in ['<', '>', '•', '\t', '\r', '\u{a0}'] {
                assert!(
                    !outside_autolinks.contains(bad),
                    "{}/{lang}.md contains {bad:?}",
                    v.id
                );
            }
            for (i, _) in outside_autolinks.match_indices('&') {
                let entity = outside_autolinks[i + 1..]
                    .split(';')
                    .next()
                    .unwrap_or_default();
                let looks_like_entity = !entity.is_empty()
                    && entity.len() <= 8
                    && entity
                        .trim_start_matches('#')
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric());
                assert!(!looks_like_entity, "{}/{lang}.md contains &{entity};", v.id);
            }
            assert!(
                text.lines().all(|l| l == l.trim_end()),
                "{}/{lang}.md has trailing whitespace",
                v.id
            );
        }
    }
}

/// Every word of the document, as the SDK would render it.
fn rendered_words(doc: &Document) -> Vec<String> {
    let mut text = String::new();
    let mut push = |s: &str| {
        text.push_str(s);
        text.push('\n');
    };
    let blocks = |blocks: &[Block], push: &mut dyn FnMut(&str)| {
        for block in blocks {
            match block {
                Block::Paragraph(inlines) => push(&plain_text(inlines)),
                Block::Clause { number, inlines } => {
                    push(&number.to_string());
                    push(&plain_text(inlines));
                }
                Block::List(items) => items.iter().for_each(|item| push(&plain_text(item))),
            }
        }
    };
    push(&doc.title);
    if let Some(subtitle) = &doc.subtitle {
        push(subtitle);
    }
    blocks(&doc.preamble, &mut push);
    for section in &doc.sections {
        push(&section.number.to_string());
        push(&section.title);
        blocks(&section.blocks, &mut push);
    }
    words(&text)
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn parsing_keeps_every_word_in_order() {
    for v in VERSIONS {
        for lang in Language::ALL {
            let file = policy_file(v.id, lang);
            assert_eq!(
                rendered_words(&parsed(v.id, lang)),
                words(&file),
                "{}/{lang}.md",
                v.id
            );
        }
    }
}

/// List items of the export: `<li>• ...</li>` in table cells and `- ` lines elsewhere.
fn source_list_items(source: &str) -> Vec<String> {
    let mut items = Vec::new();
    for line in source.lines() {
        if let Some(item) = line.strip_prefix("- ") {
            items.push(normalize(item));
        }
        let mut rest = line;
        while let Some(start) = rest.find("<li>") {
            let after = &rest[start + 4..];
            let end = after
                .find("</li>")
                .expect("every <li> of the export is closed on its line");
            items.push(normalize(after[..end].trim().trim_start_matches('•')));
            rest = &after[end..];
        }
    }
    items
}

/// Paragraphs of the export's table cells, `<p>...</p>`.
fn source_paragraphs(source: &str) -> Vec<String> {
    source
        .split("<p>")
        .skip(1)
        .filter_map(|chunk| chunk.split("</p>").next())
        .map(normalize)
        .collect()
}

#[test]
fn every_list_item_of_the_source_appears_exactly_once() {
    let (path, source) = source_export();
    let mut expected: HashMap<String, usize> = HashMap::new();
    for item in source_list_items(&source) {
        *expected.entry(item).or_default() += 1;
    }
    assert!(
        expected.len() > 100,
        "{} list items found in {}",
        expected.len(),
        path.display()
    );

    let mut actual: HashMap<String, usize> = HashMap::new();
    for lang in Language::ALL {
        for item in parsed("v1", lang).list_items() {
            *actual.entry(normalize(&plain_text(item))).or_default() += 1;
        }
    }
    for (item, count) in &expected {
        assert_eq!(actual.get(item), Some(count), "source item {item:?}");
    }
    // An output item the source does not have as an item must be a source paragraph
    // whose bullet the export lost, not new text.
    let paragraphs = source_paragraphs(&source);
    let extra: Vec<&String> = actual
        .keys()
        .filter(|item| !expected.contains_key(*item))
        .collect();
    for item in &extra {
        assert!(
            paragraphs.contains(item),
            "output item not in the source: {item:?}"
        );
    }
    assert_eq!(extra.len(), 1, "restored items: {extra:?}");
}

#[test]
fn markdown_is_what_extract_py_makes_of_the_source() {
    let (path, _) = source_export();
    let script = manifest_dir().join("policy/extract.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg("--check")
        .arg("--source")
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("python3 is needed to check extract.py: {e}"));
    assert!(
        output.status.success(),
        "extract.py --check failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn digest_is_the_sha256_of_the_canonical_text_of_the_files() {
    for v in VERSIONS {
        let [ru, kk] = Language::ALL.map(|lang| policy_file(v.id, lang));
        assert_eq!(
            hex_sha256(&policy::canonical_text(&ru, &kk)),
            v.digest,
            "{}",
            v.id
        );
    }
}

#[test]
fn digest_changes_with_the_text_and_not_with_line_endings() {
    let [ru, kk] = Language::ALL.map(|lang| policy_file(CURRENT.id, lang));
    let digest = |ru: &str, kk: &str| hex_sha256(&policy::canonical_text(ru, kk));
    assert_eq!(digest(&ru, &kk), CURRENT.digest);

    let crlf = ru.replace('\n', "  \r\n");
    assert_eq!(
        digest(&crlf, &kk),
        CURRENT.digest,
        "CRLF and trailing spaces are not text"
    );

    let one_word = ru.replacen("безоговорочное", "безусловное", 1);
    assert_ne!(one_word, ru);
    assert_ne!(digest(&one_word, &kk), CURRENT.digest);
    let one_comma = kk.replacen("Қарыз беруші,", "Қарыз беруші", 1);
    assert_ne!(one_comma, kk);
    assert_ne!(digest(&ru, &one_comma), CURRENT.digest);
    assert_ne!(
        digest(&kk, &ru),
        CURRENT.digest,
        "the language order is part of the digest"
    );
}

#[cfg(feature = "policy-text")]
#[test]
fn embedded_text_is_the_file() {
    for v in VERSIONS {
        for lang in Language::ALL {
            assert_eq!(
                policy::text(v.id, lang),
                Some(policy_file(v.id, lang).as_str()),
                "{}/{lang}",
                v.id
            );
        }
    }
    assert_eq!(policy::text("v0", Language::Ru), None);
}

/// Lowercase stems of the words (5+ letters) of a text.
fn stems(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '-')
        .filter(|w| w.chars().count() >= 5)
        .map(|w| w.to_lowercase().chars().take(5).collect())
        .collect()
}

#[test]
fn category_purposes_use_the_policys_own_words() {
    for lang in Language::ALL {
        let policy = policy_file("v1", lang).to_lowercase();
        let mut foreign = Vec::new();
        for category in Category::ALL {
            assert!(
                !category.policy_purposes(lang).is_empty(),
                "{category} {lang}"
            );
            for purpose in category.policy_purposes(lang) {
                foreign.extend(
                    stems(purpose)
                        .into_iter()
                        .filter(|s| !policy.contains(s))
                        .map(|s| (category, s)),
                );
            }
        }
        assert!(
            foreign.is_empty(),
            "{lang}: purpose words the policy does not use: {foreign:?}"
        );
    }
}
