//! The personal-data processing policy as data.
//!
//! The policy text lives in `crates/core/policy/<version>/{ru,kk}.md`. `build.rs` pins each
//! version to a digest, the lowercase hex SHA-256 of [`canonical_text`] of both languages,
//! so a consent token can name the exact text a person agreed to ([`CURRENT`]).
//!
//! [`Document::parse`] reads the small Markdown subset the policy is written in into
//! blocks the SDK renders as DOM text nodes: the policy is never turned into HTML, so its
//! text cannot inject markup. The parser has no dependencies and no regular expressions,
//! since it ships in the wasm SDK.
//!
//! ```
//! use vivus_consent_core::policy::Document;
//!
//! let doc = Document::parse("# Policy\n\n## 1. Purposes\n\n1.1. We process:\n\n- **contract** data\n")?;
//! assert_eq!(doc.sections[0].title, "Purposes");
//! # Ok::<(), vivus_consent_core::policy::PolicyParseError>(())
//! ```

use core::fmt;

use serde::Serialize;

use crate::language::Language;

#[path = "../policy/canonical.rs"]
mod canonical;

// `const GENERATED_VERSIONS: &[PolicyVersion]`, oldest first; written by build.rs.
include!(concat!(env!("OUT_DIR"), "/policy_versions.rs"));

#[cfg(feature = "policy-text")]
// `fn embedded(version_id: &str, lang: Language) -> Option<&'static str>`.
include!(concat!(env!("OUT_DIR"), "/policy_texts.rs"));

/// A published version of the policy: its id and the digest of its text.
///
/// The fields are `&'static str` because every version is compiled in: there is no
/// version a program could learn about at run time and still vouch for. Serialized as
/// `{"version":"v1","digest":"<hex>"}`, the shape of the consent request's `policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct PolicyVersion {
    /// The version id, the directory name under `crates/core/policy/`: `v1`, `v2`, ...
    #[serde(rename = "version")]
    pub id: &'static str,
    /// Lowercase hex SHA-256 of [`canonical_text`] of this version's Russian and Kazakh
    /// files.
    pub digest: &'static str,
}

/// Every published version, oldest first.
pub const VERSIONS: &[PolicyVersion] = GENERATED_VERSIONS;

/// The version visitors are asked to accept now: the newest one.
pub const CURRENT: PolicyVersion = VERSIONS[VERSIONS.len() - 1];

/// Looks a version up by id; `None` if no such version was published.
pub fn version(id: &str) -> Option<PolicyVersion> {
    VERSIONS.iter().copied().find(|v| v.id == id)
}

/// The Markdown text of a version in a language; `None` for an unknown version.
#[cfg(feature = "policy-text")]
pub fn text(version_id: &str, lang: Language) -> Option<&'static str> {
    embedded(version_id, lang)
}

/// The text the policy digest is the SHA-256 of, given the Russian and Kazakh files.
///
/// It is `ru\n`, the Russian text, `\n`, `kk\n`, the Kazakh text, `\n`, where each text
/// has CRLF turned into LF and the trailing whitespace of every line removed. Anything a
/// reader can see changes it; re-saving a file with CRLF or trailing spaces does not.
pub fn canonical_text(ru: &str, kk: &str) -> String {
    canonical::canonical_text(&[(Language::Ru.as_str(), ru), (Language::Kk.as_str(), kk)])
}

/// The label of the checkbox by which a visitor accepts the policy itself, split so the
/// policy's name can be rendered as a link to the policy viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcceptanceLabel {
    /// The words before the policy's name (may be empty).
    pub before: &'static str,
    /// The policy's name, declined as the sentence needs it.
    pub link: &'static str,
    /// The words after the policy's name (may be empty).
    pub after: &'static str,
    /// The whole sentence: `before`, `link`, `after`.
    pub text: &'static str,
}

macro_rules! label {
    ($before:literal, $link:literal, $after:literal) => {
        AcceptanceLabel {
            before: $before,
            link: $link,
            after: $after,
            text: concat!($before, $link, $after),
        }
    };
}

/// "I agree to the processing of my personal data under the Policy", in `lang`.
pub const fn acceptance_label(lang: Language) -> AcceptanceLabel {
    match lang {
        Language::Ru => label!(
            "Я согласен(на) на обработку моих персональных данных в соответствии с ",
            "Политикой в отношении обработки персональных данных",
            ""
        ),
        Language::Kk => label!(
            "",
            "Дербес деректерді өңдеуге қатысты саясатқа",
            " сәйкес менің дербес деректерімді өңдеуге келісемін"
        ),
    }
}

/// A policy text, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The `# ` heading.
    pub title: String,
    /// A bold-only paragraph right after the title (the company's name), if any.
    pub subtitle: Option<String>,
    /// What comes before the first section.
    pub preamble: Vec<Block>,
    /// The `## N. ` sections, numbered 1, 2, 3, ...
    pub sections: Vec<Section>,
}

/// A numbered section: `## 3. Title`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The section number.
    pub number: u8,
    /// The heading without its number.
    pub title: String,
    /// The section's content.
    pub blocks: Vec<Block>,
}

/// A block of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A paragraph.
    Paragraph(Vec<Inline>),
    /// A paragraph that starts with a clause number such as `2.3.`.
    Clause {
        /// The clause number, taken off the text.
        number: ClauseNumber,
        /// The text after the number.
        inlines: Vec<Inline>,
    },
    /// A bulleted list: one entry per item.
    List(Vec<Vec<Inline>>),
}

/// A clause number: `section.item`, as in `5.3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClauseNumber {
    /// The section the clause belongs to.
    pub section: u8,
    /// The clause's position in the section, from 1.
    pub item: u8,
}

impl fmt::Display for ClauseNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.section, self.item)
    }
}

/// A run of text inside a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inline {
    /// Plain text.
    Text(String),
    /// Bold text (`**...**`).
    Bold(String),
    /// An `http(s)` autolink (`<http://...>`); the URL is also the visible text.
    Link(String),
}

impl Inline {
    /// The visible text.
    pub fn as_str(&self) -> &str {
        match self {
            Inline::Text(s) | Inline::Bold(s) | Inline::Link(s) => s,
        }
    }
}

/// The visible text of a run of inlines, for tests, search and `aria-label`s.
pub fn plain_text(inlines: &[Inline]) -> String {
    let mut out = String::new();
    for inline in inlines {
        out.push_str(inline.as_str());
    }
    out
}

/// Why a text is not a policy document. Line numbers count from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PolicyParseError {
    /// The text does not start with a `# ` title.
    #[error("the policy does not start with a `# title` line: put the title first")]
    MissingTitle,
    /// A heading other than the title and `## ` sections.
    #[error("line {line}: only one `# title` and `## N. title` sections are allowed: make it a paragraph or a section")]
    Heading {
        /// Where.
        line: usize,
    },
    /// A `## ` heading whose number is missing or out of sequence.
    #[error("line {line}: expected section heading `## {expected}. title`: number sections 1, 2, 3, ... in order")]
    SectionNumber {
        /// Where.
        line: usize,
        /// The number it should have had.
        expected: u8,
    },
    /// A clause number outside its section or out of sequence.
    #[error("line {line}: expected clause {expected}: number clauses within their section 1, 2, 3, ... in order")]
    ClauseNumber {
        /// Where the paragraph starts.
        line: usize,
        /// The number it should have had (`0.0` when there is no section to be in).
        expected: ClauseNumber,
    },
    /// `**` without its closing `**`.
    #[error("line {line}: a `**` bold run is not closed: add the closing `**`")]
    UnclosedBold {
        /// Where the paragraph starts.
        line: usize,
    },
    /// A `<` that does not open an `http(s)` autolink.
    #[error("line {line}: `<` only opens an autolink like `<https://vivus.kz/>`: html is not allowed, write the text plainly")]
    Html {
        /// Where the paragraph starts.
        line: usize,
    },
}

impl Document {
    /// Parses the Markdown subset the policy is written in:
    ///
    /// - `# Title` first; a paragraph that is all `**bold**` right after it is the subtitle;
    /// - `## N. Title` sections, numbered from 1;
    /// - paragraphs (consecutive lines join with a space); a paragraph starting with
    ///   `N.M.` or `N.M` is clause `N.M` of section `N`, numbered from 1;
    /// - `- ` list items (a blank line between items keeps the list going; a line that
    ///   follows an item directly continues it);
    /// - inside text, `**bold**` and `<http(s)://...>` autolinks; everything else,
    ///   including `*`, `_`, `&`, `>`, is literal text.
    ///
    /// # Errors
    ///
    /// [`PolicyParseError`] for anything outside that subset, in particular any HTML,
    /// or for out-of-order section and clause numbers.
    pub fn parse(markdown: &str) -> Result<Document, PolicyParseError> {
        let mut parser = Parser::default();
        for (index, line) in markdown.lines().enumerate() {
            parser.line(index + 1, line.trim_end())?;
        }
        parser.finish()
    }

    /// Every clause number, in document order.
    pub fn clause_numbers(&self) -> impl Iterator<Item = ClauseNumber> + '_ {
        self.sections
            .iter()
            .flat_map(|s| &s.blocks)
            .filter_map(|b| match b {
                Block::Clause { number, .. } => Some(*number),
                _ => None,
            })
    }

    /// Every list item of the document (preamble and sections), in order.
    pub fn list_items(&self) -> impl Iterator<Item = &[Inline]> + '_ {
        let blocks = self
            .preamble
            .iter()
            .chain(self.sections.iter().flat_map(|s| &s.blocks));
        blocks
            .flat_map(|b| match b {
                Block::List(items) => items.as_slice(),
                _ => &[],
            })
            .map(Vec::as_slice)
    }
}

/// The block being read: lines accumulate until a blank line or another block starts.
#[derive(Debug, Default)]
enum Pending {
    #[default]
    None,
    Paragraph {
        line: usize,
        text: String,
    },
    List {
        items: Vec<(usize, String)>,
        after_blank: bool,
    },
}

#[derive(Debug, Default)]
struct Parser {
    title: Option<String>,
    preamble: Vec<Block>,
    sections: Vec<Section>,
    pending: Pending,
}

impl Parser {
    fn line(&mut self, number: usize, line: &str) -> Result<(), PolicyParseError> {
        if line.trim_start().is_empty() {
            match &mut self.pending {
                Pending::List { after_blank, .. } => *after_blank = true,
                _ => self.flush()?,
            }
            return Ok(());
        }
        if self.title.is_none() {
            return match line.strip_prefix("# ") {
                Some(title) => {
                    self.title = Some(title.trim().to_owned());
                    Ok(())
                }
                None => Err(PolicyParseError::MissingTitle),
            };
        }
        if line.starts_with('#') {
            self.flush()?;
            return self.heading(number, line);
        }
        if let Some(item) = line.strip_prefix("- ") {
            if let Pending::Paragraph { .. } = self.pending {
                self.flush()?;
            }
            match &mut self.pending {
                Pending::List { items, after_blank } => {
                    items.push((number, item.trim().to_owned()));
                    *after_blank = false;
                }
                _ => {
                    self.pending = Pending::List {
                        items: vec![(number, item.trim().to_owned())],
                        after_blank: false,
                    }
                }
            }
            return Ok(());
        }
        match &mut self.pending {
            // A line right after an item continues it (CommonMark's lazy continuation).
            Pending::List {
                items,
                after_blank: false,
            } => {
                if let Some((_, text)) = items.last_mut() {
                    text.push(' ');
                    text.push_str(line.trim());
                }
            }
            Pending::Paragraph { text, .. } => {
                text.push(' ');
                text.push_str(line.trim());
            }
            _ => {
                self.flush()?;
                self.pending = Pending::Paragraph {
                    line: number,
                    text: line.trim().to_owned(),
                };
            }
        }
        Ok(())
    }

    fn heading(&mut self, line: usize, text: &str) -> Result<(), PolicyParseError> {
        let Some(rest) = text.strip_prefix("## ") else {
            return Err(PolicyParseError::Heading { line });
        };
        let expected = match u8::try_from(self.sections.len() + 1) {
            Ok(n) => n,
            Err(_) => {
                return Err(PolicyParseError::SectionNumber {
                    line,
                    expected: u8::MAX,
                })
            }
        };
        let (digits, rest) = split_number(rest.trim_start());
        match (parse_u8(digits), rest.strip_prefix(". ")) {
            (Some(n), Some(title)) if n == expected && !title.trim().is_empty() => {
                self.sections.push(Section {
                    number: n,
                    title: title.trim().to_owned(),
                    blocks: Vec::new(),
                });
                Ok(())
            }
            _ => Err(PolicyParseError::SectionNumber { line, expected }),
        }
    }

    fn flush(&mut self) -> Result<(), PolicyParseError> {
        let block = match core::mem::take(&mut self.pending) {
            Pending::None => return Ok(()),
            Pending::Paragraph { line, text } => self.paragraph(line, &text)?,
            Pending::List { items, .. } => {
                let mut parsed = Vec::with_capacity(items.len());
                for (line, text) in items {
                    parsed.push(inlines(line, &text)?);
                }
                Block::List(parsed)
            }
        };
        match self.sections.last_mut() {
            Some(section) => section.blocks.push(block),
            None => self.preamble.push(block),
        }
        Ok(())
    }

    fn paragraph(&self, line: usize, text: &str) -> Result<Block, PolicyParseError> {
        let Some((number, rest)) = clause_prefix(text) else {
            return Ok(Block::Paragraph(inlines(line, text)?));
        };
        let expected = match self.sections.last() {
            Some(section) => {
                let previous = section.blocks.iter().rev().find_map(|b| match b {
                    Block::Clause { number, .. } => Some(number.item),
                    _ => None,
                });
                ClauseNumber {
                    section: section.number,
                    item: previous.unwrap_or(0).saturating_add(1),
                }
            }
            None => ClauseNumber {
                section: 0,
                item: 0,
            },
        };
        if number != expected {
            return Err(PolicyParseError::ClauseNumber { line, expected });
        }
        Ok(Block::Clause {
            number,
            inlines: inlines(line, rest)?,
        })
    }

    fn finish(mut self) -> Result<Document, PolicyParseError> {
        self.flush()?;
        let title = self.title.ok_or(PolicyParseError::MissingTitle)?;
        let mut preamble = self.preamble;
        let subtitle = match preamble.first() {
            Some(Block::Paragraph(inlines)) => match inlines.as_slice() {
                [Inline::Bold(text)] => Some(text.clone()),
                _ => None,
            },
            _ => None,
        };
        if subtitle.is_some() {
            preamble.remove(0);
        }
        Ok(Document {
            title,
            subtitle,
            preamble,
            sections: self.sections,
        })
    }
}

/// Splits leading ASCII digits off `text`.
fn split_number(text: &str) -> (&str, &str) {
    let end = text
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(text.len());
    text.split_at(end)
}

fn parse_u8(digits: &str) -> Option<u8> {
    if digits.is_empty() || digits.len() > 3 {
        return None;
    }
    digits.parse().ok()
}

/// `"2.3. Text"` or `"2.3 Text"` → `(2.3, "Text")`.
fn clause_prefix(text: &str) -> Option<(ClauseNumber, &str)> {
    let (section, rest) = split_number(text);
    let section = parse_u8(section)?;
    let (item, rest) = split_number(rest.strip_prefix('.')?);
    let item = parse_u8(item)?;
    let rest = rest.strip_prefix('.').unwrap_or(rest);
    let rest = rest.strip_prefix(' ')?;
    Some((ClauseNumber { section, item }, rest.trim_start()))
}

/// Splits text into plain, `**bold**` and `<autolink>` runs.
fn inlines(line: usize, text: &str) -> Result<Vec<Inline>, PolicyParseError> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut bold = false;
    let mut run = String::new();
    while let Some(at) = rest.find(['*', '<']) {
        let (before, marker) = rest.split_at(at);
        run.push_str(before);
        if let Some(after) = marker.strip_prefix("**") {
            push_run(&mut out, &mut run, bold);
            bold = !bold;
            rest = after;
        } else if let Some(after) = marker.strip_prefix('<') {
            let end = after.find('>').ok_or(PolicyParseError::Html { line })?;
            let url = &after[..end];
            let is_url = (url.starts_with("https://") || url.starts_with("http://"))
                && !url.contains(|c: char| c.is_whitespace() || c == '<');
            if !is_url {
                return Err(PolicyParseError::Html { line });
            }
            push_run(&mut out, &mut run, bold);
            out.push(Inline::Link(url.to_owned()));
            rest = &after[end + 1..];
        } else {
            // A single `*` is literal text.
            run.push('*');
            rest = &marker[1..];
        }
    }
    if bold {
        return Err(PolicyParseError::UnclosedBold { line });
    }
    run.push_str(rest);
    push_run(&mut out, &mut run, false);
    Ok(out)
}

fn push_run(out: &mut Vec<Inline>, run: &mut String, bold: bool) {
    if run.is_empty() {
        return;
    }
    let text = core::mem::take(run);
    out.push(if bold {
        Inline::Bold(text)
    } else {
        Inline::Text(text)
    });
}

/// The policy's text in both languages, for tests that need the real thing.
#[cfg(all(test, feature = "policy-text"))]
mod embedded_tests {
    use super::*;

    #[test]
    fn every_version_embeds_both_languages_and_nothing_else() {
        for v in VERSIONS {
            for lang in Language::ALL {
                assert!(
                    text(v.id, lang).is_some_and(|t| t.starts_with("# ")),
                    "{} {lang}",
                    v.id
                );
            }
        }
        assert_eq!(text("v0", Language::Ru), None);
        assert_eq!(text("", Language::Kk), None);
        assert_eq!(text("V1", Language::Kk), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(md: &str) -> Document {
        Document::parse(md).expect("valid policy markdown")
    }

    fn text(s: &str) -> Inline {
        Inline::Text(s.to_owned())
    }

    #[test]
    fn parses_every_construct_of_the_subset() {
        let doc = parse(
            "# Title\n\n**Company**\n\nIntro <http://vivus.kz/> (the Site).\n\n**Policy:**\n\n- one;\n- two.\n\n\
             ## 1. First\n\n1.1. Clause **bold** text:\n\n- a\n\n- b\ncontinued\n\nFree paragraph\nover two lines.\n\n\
             1.2 Second clause\n\n## 2. Second\n\n2.1. Last.\n",
        );
        assert_eq!(doc.title, "Title");
        assert_eq!(doc.subtitle.as_deref(), Some("Company"));
        assert_eq!(
            doc.preamble,
            vec![
                Block::Paragraph(vec![
                    text("Intro "),
                    Inline::Link("http://vivus.kz/".into()),
                    text(" (the Site).")
                ]),
                Block::Paragraph(vec![Inline::Bold("Policy:".into())]),
                Block::List(vec![vec![text("one;")], vec![text("two.")]]),
            ]
        );
        assert_eq!(doc.sections.len(), 2);
        let first = &doc.sections[0];
        assert_eq!((first.number, first.title.as_str()), (1, "First"));
        assert_eq!(
            first.blocks,
            vec![
                Block::Clause {
                    number: ClauseNumber {
                        section: 1,
                        item: 1
                    },
                    inlines: vec![text("Clause "), Inline::Bold("bold".into()), text(" text:")],
                },
                Block::List(vec![vec![text("a")], vec![text("b continued")]]),
                Block::Paragraph(vec![text("Free paragraph over two lines.")]),
                Block::Clause {
                    number: ClauseNumber {
                        section: 1,
                        item: 2
                    },
                    inlines: vec![text("Second clause")]
                },
            ]
        );
        let numbers: Vec<String> = doc.clause_numbers().map(|n| n.to_string()).collect();
        assert_eq!(numbers, ["1.1", "1.2", "2.1"]);
        assert_eq!(doc.list_items().count(), 4);
    }

    #[test]
    fn subtitle_is_only_a_bold_only_first_paragraph() {
        let doc = parse("# T\n\nPlain **start**\n");
        assert_eq!(doc.subtitle, None);
        assert_eq!(doc.preamble.len(), 1);
        let doc = parse("# T\n\n## 1. S\n");
        assert_eq!(doc.subtitle, None);
        assert!(doc.preamble.is_empty());
    }

    #[test]
    fn crlf_and_trailing_spaces_do_not_matter() {
        let unix = parse("# T\n\n## 1. S\n\n1.1. Text\n- item\n");
        let dos = parse("# T  \r\n\r\n## 1. S\r\n\r\n1.1. Text \r\n- item\t\r\n");
        assert_eq!(unix, dos);
    }

    #[test]
    fn literal_characters_stay_text() {
        let doc = parse("# T\n\n2 * 3 > 5 & a_b *c* 10.5% 1.1x\n");
        assert_eq!(
            doc.preamble,
            vec![Block::Paragraph(vec![text(
                "2 * 3 > 5 & a_b *c* 10.5% 1.1x"
            )])]
        );
    }

    #[test]
    fn rejects_html_and_anything_outside_the_subset() {
        type E = PolicyParseError;
        let clause = |section, item| ClauseNumber { section, item };
        let cases: &[(&str, PolicyParseError)] = &[
            ("", E::MissingTitle),
            ("Text first\n", E::MissingTitle),
            ("## 1. Section first\n", E::MissingTitle),
            ("# T\n\n<p>para</p>\n", E::Html { line: 3 }),
            ("# T\n\nsee <b>this</b>\n", E::Html { line: 3 }),
            ("# T\n\n- <li>item\n", E::Html { line: 3 }),
            ("# T\n\na < b\n", E::Html { line: 3 }),
            ("# T\n\n<javascript:alert(1)>\n", E::Html { line: 3 }),
            ("# T\n\n<http://a b>\n", E::Html { line: 3 }),
            ("# T\n\n**open\n", E::UnclosedBold { line: 3 }),
            ("# T\n\n# Second title\n", E::Heading { line: 3 }),
            ("# T\n\n### Deep\n", E::Heading { line: 3 }),
            (
                "# T\n\n## Unnumbered\n",
                E::SectionNumber {
                    line: 3,
                    expected: 1,
                },
            ),
            (
                "# T\n\n## 2. Skips one\n",
                E::SectionNumber {
                    line: 3,
                    expected: 1,
                },
            ),
            (
                "# T\n\n## 1. A\n\n## 1. Again\n",
                E::SectionNumber {
                    line: 5,
                    expected: 2,
                },
            ),
            (
                "# T\n\n## 1.\n",
                E::SectionNumber {
                    line: 3,
                    expected: 1,
                },
            ),
            (
                "# T\n\n1.1. Before any section\n",
                E::ClauseNumber {
                    line: 3,
                    expected: clause(0, 0),
                },
            ),
            (
                "# T\n\n## 1. A\n\n2.1. Wrong section\n",
                E::ClauseNumber {
                    line: 5,
                    expected: clause(1, 1),
                },
            ),
            (
                "# T\n\n## 1. A\n\n1.1. a\n\n1.1. again\n",
                E::ClauseNumber {
                    line: 7,
                    expected: clause(1, 2),
                },
            ),
            (
                "# T\n\n## 1. A\n\n1.2. skips\n",
                E::ClauseNumber {
                    line: 5,
                    expected: clause(1, 1),
                },
            ),
        ];
        for (md, expected) in cases {
            assert_eq!(Document::parse(md).as_ref().err(), Some(expected), "{md:?}");
        }
    }

    #[test]
    fn errors_say_what_to_do() {
        let err = Document::parse("# T\n\n<p>x</p>\n").expect_err("html");
        let message = err.to_string();
        assert!(message.starts_with("line 3: "), "{message}");
        assert!(message.contains("html is not allowed"), "{message}");
        assert!(!message.ends_with('.'), "{message}");
    }

    #[test]
    fn canonical_text_follows_its_definition() {
        assert_eq!(
            canonical_text("# Р\n\nтекст\n", "# Қ\n"),
            "ru\n# Р\n\nтекст\n\nkk\n# Қ\n\n"
        );
        // CRLF, trailing spaces and tabs are not part of the text...
        assert_eq!(
            canonical_text("# Р \r\n\r\nтекст\t\r\n", "# Қ\n"),
            canonical_text("# Р\n\nтекст\n", "# Қ\n")
        );
        // ...but a changed word, a moved line break or swapped languages are.
        let base = canonical_text("# Р\n\nтекст\n", "# Қ\n");
        assert_ne!(canonical_text("# Р\n\nтекст!\n", "# Қ\n"), base);
        assert_ne!(canonical_text("# Р\nтекст\n", "# Қ\n"), base);
        assert_ne!(canonical_text("# Р\n\n текст\n", "# Қ\n"), base);
        assert_ne!(canonical_text("# Қ\n", "# Р\n\nтекст\n"), base);
    }

    #[test]
    fn current_is_the_newest_version() {
        assert_eq!(Some(CURRENT), VERSIONS.last().copied());
        assert_eq!(version(CURRENT.id), Some(CURRENT));
        assert_eq!(version("v999"), None);
        for v in VERSIONS {
            assert_eq!(v.digest.len(), 64, "{}", v.id);
            assert!(
                v.digest
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
                "{}",
                v.id
            );
        }
    }

    #[test]
    fn version_serializes_as_the_request_expects() {
        let json = serde_json::to_value(CURRENT).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({"version": CURRENT.id, "digest": CURRENT.digest})
        );
    }

    #[test]
    fn acceptance_labels_are_whole_sentences() {
        for lang in Language::ALL {
            let label = acceptance_label(lang);
            assert_eq!([label.before, label.link, label.after].concat(), label.text);
            assert!(!label.link.is_empty());
        }
        assert!(acceptance_label(Language::Ru)
            .text
            .starts_with("Я согласен(на) на обработку моих персональных данных"));
        assert!(acceptance_label(Language::Kk)
            .text
            .ends_with("өңдеуге келісемін"));
    }
}
