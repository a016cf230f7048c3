//! The languages the policy and the banner are published in: Russian and Kazakh.
//!
//! On the wire (JSON, token claims) a language is exactly `"ru"` or `"kk"`. Parsing
//! from a string ([`FromStr`], [`Language::from_tag`]) is lenient instead, because its
//! input comes from people and browsers: BCP 47 tags such as `ru-RU` or `kk-Cyrl-KZ`
//! and POSIX locales such as `kk_KZ` name a language by their first subtag.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

/// A language of the policy and the consent interface.
///
/// Serialized as its lowercase ISO 639-1 code. The default is Russian, the language
/// most visitors of vivus.kz read and the left column of the signed policy.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Russian, `ru`.
    #[default]
    Ru,
    /// Kazakh, `kk`.
    Kk,
}

impl Language {
    /// Every language, in the order the policy digest lists them.
    pub const ALL: [Language; 2] = [Language::Ru, Language::Kk];

    /// The ISO 639-1 code: `"ru"` or `"kk"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Language::Ru => "ru",
            Language::Kk => "kk",
        }
    }

    /// The language's name in itself, for a language switcher: `Русский`, `Қазақша`.
    pub const fn native_name(self) -> &'static str {
        match self {
            Language::Ru => "Русский",
            Language::Kk => "Қазақша",
        }
    }

    /// Reads a language tag leniently; `None` if it names neither Russian nor Kazakh.
    ///
    /// Only the primary subtag counts, case-insensitively and without surrounding ASCII
    /// whitespace: `ru`, `RU-ru`, `ru_KZ` are Russian; `kk`, `kk-KZ`, `kk-Cyrl-KZ` are
    /// Kazakh. `kz` is also read as Kazakh: it is the country code, not a language code, but
    /// Kazakh sites use it for the Kazakh version (`/kz/` paths, `?lang=kz`), so people type it.
    ///
    /// ```
    /// use vivus_consent_core::language::Language;
    /// assert_eq!(Language::from_tag("kk-KZ"), Some(Language::Kk));
    /// assert_eq!(Language::from_tag("en-US"), None);
    /// ```
    pub fn from_tag(tag: &str) -> Option<Language> {
        // Bytes, not chars: the separators are ASCII, and the char searcher and Unicode
        // whitespace tables of `trim().split(['-', '_'])` cost the first-paint wasm 0.5 kB
        // brotli. A tag is ASCII, and the places it comes from (an attribute, a URL, the
        // config) pad it with ASCII whitespace if with any.
        let primary = tag
            .as_bytes()
            .trim_ascii()
            .split(|&b| b == b'-' || b == b'_')
            .next()
            .unwrap_or_default();
        if primary.eq_ignore_ascii_case(b"ru") {
            Some(Language::Ru)
        } else if primary.eq_ignore_ascii_case(b"kk") || primary.eq_ignore_ascii_case(b"kz") {
            Some(Language::Kk)
        } else {
            None
        }
    }

    /// Picks the first supported language from tags in order of preference, such as
    /// `navigator.languages`; `None` if none is supported (the caller then falls back,
    /// usually to [`Language::default`]).
    ///
    /// ```
    /// use vivus_consent_core::language::Language;
    /// let preferred = Language::from_tags(["en-GB", "kk-KZ", "ru"]);
    /// assert_eq!(preferred, Some(Language::Kk));
    /// ```
    pub fn from_tags<'a, I>(tags: I) -> Option<Language>
    where
        I: IntoIterator<Item = &'a str>,
    {
        tags.into_iter().find_map(Language::from_tag)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string named no supported language.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language {0:?}: use \"ru\" or \"kk\" (a tag such as \"kk-KZ\" also works)")]
pub struct ParseLanguageError(String);

impl FromStr for Language {
    type Err = ParseLanguageError;

    /// Parses like [`Language::from_tag`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Language::from_tag(s).ok_or_else(|| ParseLanguageError(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_display_and_from_str() {
        for lang in Language::ALL {
            assert_eq!(lang.to_string(), lang.as_str());
            assert_eq!(lang.as_str().parse::<Language>(), Ok(lang));
        }
    }

    #[test]
    fn tags_are_read_by_their_primary_subtag() {
        for (tag, lang) in [
            ("ru", Language::Ru),
            ("RU", Language::Ru),
            ("ru-RU", Language::Ru),
            ("ru-KZ", Language::Ru),
            ("ru_RU.UTF-8", Language::Ru),
            ("kk", Language::Kk),
            ("kk-KZ", Language::Kk),
            ("kk-Cyrl-KZ", Language::Kk),
            ("KK_kz", Language::Kk),
            ("kz", Language::Kk),
            (" kk ", Language::Kk),
            ("\tru-RU\n", Language::Ru),
        ] {
            assert_eq!(Language::from_tag(tag), Some(lang), "{tag}");
        }
        for tag in ["", "-", "en", "en-KZ", "rus", "kaz", "k", "uk", "*"] {
            assert_eq!(Language::from_tag(tag), None, "{tag}");
        }
    }

    #[test]
    fn from_tags_takes_the_first_supported() {
        assert_eq!(
            Language::from_tags(["en-US", "de", "kk-KZ", "ru-RU"]),
            Some(Language::Kk)
        );
        assert_eq!(Language::from_tags(["ru-RU", "kk"]), Some(Language::Ru));
        assert_eq!(Language::from_tags(["en-US", "fr"]), None);
        assert_eq!(Language::from_tags([]), None);
        let owned = [String::from("en"), String::from("ru")];
        assert_eq!(
            Language::from_tags(owned.iter().map(String::as_str)),
            Some(Language::Ru)
        );
    }

    #[test]
    fn from_str_names_the_bad_input() {
        let err = "english".parse::<Language>().expect_err("not a language");
        assert_eq!(err.to_string(), "unknown language \"english\": use \"ru\" or \"kk\" (a tag such as \"kk-KZ\" also works)");
    }

    #[test]
    fn serde_uses_the_exact_code() {
        assert_eq!(
            serde_json::to_string(&Language::Kk).expect("serializes"),
            "\"kk\""
        );
        assert_eq!(
            serde_json::from_str::<Language>("\"ru\"").expect("a code"),
            Language::Ru
        );
        // The wire format is strict: lenient parsing is only for human and browser input.
        assert!(serde_json::from_str::<Language>("\"kk-KZ\"").is_err());
        assert!(serde_json::from_str::<Language>("\"RU\"").is_err());
    }

    #[test]
    fn default_is_russian() {
        assert_eq!(Language::default(), Language::Ru);
    }
}
