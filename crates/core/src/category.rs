//! Consent categories: what a visitor can allow, in words the policy itself uses.
//!
//! Each category maps to purposes of clause 1.1 of the policy (and its cookie
//! wording), so the banner can say, in both languages, which of the policy's purposes
//! a switch turns on. [`Categories`] is the set a visitor granted; it always holds
//! [`Category::Necessary`], which the policy does not make optional.

use core::fmt;
use core::str::FromStr;

use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::language::Language;

/// A kind of processing a visitor can consent to.
///
/// Serialized as its lowercase name: `"necessary"`, `"analytics"`, `"marketing"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// What the service cannot work without: the loan contract, the personal account
    /// and its security, legal duties. Always granted.
    Necessary,
    /// Statistics about how the site is used, to improve the service.
    Analytics,
    /// Advertising and targeting, including advertising cookies.
    Marketing,
}

impl Category {
    /// Every category, in canonical order.
    pub const ALL: [Category; 3] = [
        Category::Necessary,
        Category::Analytics,
        Category::Marketing,
    ];

    /// The categories a visitor may refuse, in canonical order.
    pub const OPTIONAL: [Category; 2] = [Category::Analytics, Category::Marketing];

    /// The name used in JSON, tokens and configuration.
    pub const fn as_str(self) -> &'static str {
        match self {
            Category::Necessary => "necessary",
            Category::Analytics => "analytics",
            Category::Marketing => "marketing",
        }
    }

    /// Whether a visitor may refuse it (every category but [`Category::Necessary`]).
    pub const fn is_optional(self) -> bool {
        !matches!(self, Category::Necessary)
    }

    /// A short title for a switch or a heading. Kept apart from the longer texts, so a
    /// build that shows only titles (the runtime's placeholders) links only them.
    pub const fn title(self, lang: Language) -> &'static str {
        match (self, lang) {
            (Category::Necessary, Language::Ru) => NECESSARY_RU_TITLE,
            (Category::Necessary, Language::Kk) => NECESSARY_KK_TITLE,
            (Category::Analytics, Language::Ru) => ANALYTICS_RU_TITLE,
            (Category::Analytics, Language::Kk) => ANALYTICS_KK_TITLE,
            (Category::Marketing, Language::Ru) => MARKETING_RU_TITLE,
            (Category::Marketing, Language::Kk) => MARKETING_KK_TITLE,
        }
    }

    /// One sentence, written for people, on what the category is for.
    pub const fn description(self, lang: Language) -> &'static str {
        self.texts(lang).description
    }

    /// The purposes of the policy this category covers, condensed from the policy's
    /// own wording (clause 1.1, and clause 3.4 for advertising offers).
    pub const fn policy_purposes(self, lang: Language) -> &'static [&'static str] {
        self.texts(lang).purposes
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }

    const fn texts(self, lang: Language) -> &'static Texts {
        match (self, lang) {
            (Category::Necessary, Language::Ru) => &NECESSARY_RU,
            (Category::Necessary, Language::Kk) => &NECESSARY_KK,
            (Category::Analytics, Language::Ru) => &ANALYTICS_RU,
            (Category::Analytics, Language::Kk) => &ANALYTICS_KK,
            (Category::Marketing, Language::Ru) => &MARKETING_RU,
            (Category::Marketing, Language::Kk) => &MARKETING_KK,
        }
    }
}

struct Texts {
    // Read only in tests: `title` has its own table (see [`Category::title`]).
    #[allow(dead_code)]
    title: &'static str,
    description: &'static str,
    purposes: &'static [&'static str],
}

const NECESSARY_RU_TITLE: &str = "Необходимые";
const NECESSARY_KK_TITLE: &str = "Қажетті";
const ANALYTICS_RU_TITLE: &str = "Аналитические";
const ANALYTICS_KK_TITLE: &str = "Аналитикалық";
const MARKETING_RU_TITLE: &str = "Маркетинговые";
const MARKETING_KK_TITLE: &str = "Маркетингтік";

const NECESSARY_RU: Texts = Texts {
    title: NECESSARY_RU_TITLE,
    description: "Нужны для работы сайта, входа в Личный кабинет, оформления договора микрокредита \
                  и защиты ваших данных, поэтому их нельзя отключить.",
    purposes: &[
        "заключение и исполнение договора о предоставлении микрокредита",
        "идентификация и предоставление доступа в Личный кабинет на Сайте, обеспечение безопасности \
         (включая информационную безопасность и кибербезопасность)",
        "исполнение законных обязательств МФО, в том числе по хранению документов, установленных \
         нормативными правовыми актами Республики Казахстан",
    ],
};

const NECESSARY_KK: Texts = Texts {
    title: NECESSARY_KK_TITLE,
    description: "Сайттың жұмысы, Жеке кабинетке кіру, шағын кредит шартын ресімдеу және деректеріңізді \
                  қорғау үшін қажет, сондықтан оларды өшіру мүмкін емес.",
    purposes: &[
        "шағын кредит беру туралы шарт жасау және орындау",
        "Сайттағы Жеке кабинетке кіру, қауіпсіздікті қамтамасыз ету (ақпараттық қауіпсіздік пен \
         киберқауіпсіздікті қоса алғанда)",
        "ШҚҰ заңды міндеттемелерін, оның ішінде Қазақстан Республикасының нормативтік құқықтық актілері \
         белгілеген құжаттарды сақтау бойынша міндеттемелерін орындау",
    ],
};

const ANALYTICS_RU: Texts = Texts {
    title: ANALYTICS_RU_TITLE,
    description:
        "Помогают понять, как посетители пользуются сайтом, чтобы мы могли улучшать качество \
                  наших услуг.",
    purposes: &[
        "проведение статистических и иных исследований на основании предоставленных данных",
        "улучшение качества предоставляемых услуг",
    ],
};

const ANALYTICS_KK: Texts = Texts {
    title: ANALYTICS_KK_TITLE,
    description: "Келушілердің сайтты қалай пайдаланатынын түсінуге көмектеседі, осылайша біз \
                  қызметтеріміздің сапасын жақсарта аламыз.",
    purposes: &[
        "ұсынылған деректер негізінде статистикалық және өзге де зерттеулер жүргізу",
        "көрсетілетін қызметтердің сапасын жақсарту",
    ],
};

const MARKETING_RU: Texts = Texts {
    title: MARKETING_RU_TITLE,
    description: "Позволяют показывать вам рекламу и предложения МФО и третьих лиц, подобранные \
                  с учётом ваших интересов.",
    purposes: &[
        "реклама: коммуникация в целях рекламы услуг, организация мероприятий для пользователей",
        "таргетинг, использование cookie-файлов",
        "показ рекламных предложений, в том числе третьих лиц",
    ],
};

const MARKETING_KK: Texts = Texts {
    title: MARKETING_KK_TITLE,
    description: "Сізге қызығушылықтарыңызды ескере отырып іріктелген ШҚҰ мен үшінші тұлғалардың \
                  жарнамасы мен ұсыныстарын көрсетуге мүмкіндік береді.",
    purposes: &[
        "жарнама: қызметтерді жарнамалау мақсатында байланыс, пайдаланушыларға арналған іс-шараларды \
         ұйымдастыру",
        "таргетинг, cookie-файлдарды пайдалану",
        "жарнамалық ұсыныстарды, оның ішінде үшінші тұлғалардың ұсыныстарын көрсету",
    ],
};

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string named no consent category.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown consent category {0:?}: use \"necessary\", \"analytics\" or \"marketing\"")]
pub struct ParseCategoryError(String);

impl FromStr for Category {
    type Err = ParseCategoryError;

    /// Parses the exact lowercase name, as in JSON.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| ParseCategoryError(s.to_owned()))
    }
}

/// The set of categories a visitor granted; [`Category::Necessary`] is always in it.
///
/// Serialized as a JSON array of names in canonical order (necessary, analytics,
/// marketing). Deserializing rejects unknown names, tolerates duplicates and adds
/// `necessary` if it is missing, since it cannot be refused.
///
/// ```
/// use vivus_consent_core::category::{Categories, Category};
/// let mut granted = Categories::new();
/// granted.insert(Category::Marketing);
/// assert_eq!(serde_json::to_string(&granted)?, r#"["necessary","marketing"]"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Categories(u8);

impl Categories {
    /// Only [`Category::Necessary`]: what a visitor who refuses everything grants.
    pub const fn new() -> Self {
        Categories(Category::Necessary.bit())
    }

    /// Every category: what "accept all" grants.
    pub const fn all() -> Self {
        Categories(
            Category::Necessary.bit() | Category::Analytics.bit() | Category::Marketing.bit(),
        )
    }

    /// The set as bits (bit `n` for the `n`-th of [`Category::ALL`]): a compact form for
    /// handing the set between the SDK's wasm modules.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// The set of `bits` (see [`Categories::bits`]); unknown bits are ignored and necessary
    /// is always in it.
    pub const fn from_bits(bits: u8) -> Self {
        Categories((bits & Categories::all().0) | Category::Necessary.bit())
    }

    /// Adds a category; `true` if it was not there yet.
    pub fn insert(&mut self, category: Category) -> bool {
        let added = !self.contains(category);
        self.0 |= category.bit();
        added
    }

    /// Removes an optional category; `true` if it was there. Removing
    /// [`Category::Necessary`] does nothing and returns `false`.
    pub fn remove(&mut self, category: Category) -> bool {
        if !category.is_optional() {
            return false;
        }
        let removed = self.contains(category);
        self.0 &= !category.bit();
        removed
    }

    /// Whether the category is granted.
    pub const fn contains(self, category: Category) -> bool {
        self.0 & category.bit() != 0
    }

    /// The granted categories in canonical order.
    pub fn iter(self) -> Iter {
        Iter { set: self, next: 0 }
    }

    /// How many categories are granted, at least 1.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Always `false`: the set holds [`Category::Necessary`] at least.
    pub const fn is_empty(self) -> bool {
        false
    }
}

impl Default for Categories {
    fn default() -> Self {
        Categories::new()
    }
}

impl fmt::Debug for Categories {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl FromIterator<Category> for Categories {
    fn from_iter<I: IntoIterator<Item = Category>>(iter: I) -> Self {
        let mut set = Categories::new();
        set.extend(iter);
        set
    }
}

impl Extend<Category> for Categories {
    fn extend<I: IntoIterator<Item = Category>>(&mut self, iter: I) {
        for category in iter {
            self.insert(category);
        }
    }
}

impl IntoIterator for Categories {
    type Item = Category;
    type IntoIter = Iter;

    fn into_iter(self) -> Iter {
        self.iter()
    }
}

/// The categories of a [`Categories`] set, in canonical order.
#[derive(Debug, Clone)]
pub struct Iter {
    set: Categories,
    next: usize,
}

impl Iterator for Iter {
    type Item = Category;

    fn next(&mut self) -> Option<Category> {
        while let Some(&category) = Category::ALL.get(self.next) {
            self.next += 1;
            if self.set.contains(category) {
                return Some(category);
            }
        }
        None
    }
}

impl Serialize for Categories {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Categories {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SetVisitor;

        impl<'de> Visitor<'de> for SetVisitor {
            type Value = Categories;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "an array of category names (\"necessary\", \"analytics\", \"marketing\")",
                )
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Categories, A::Error> {
                let mut set = Categories::new();
                while let Some(category) = seq.next_element::<Category>()? {
                    set.insert(category);
                }
                Ok(set)
            }
        }

        deserializer.deserialize_seq(SetVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_json(json: &str) -> Result<Categories, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn names_round_trip() {
        for category in Category::ALL {
            assert_eq!(category.as_str().parse::<Category>(), Ok(category));
            assert_eq!(category.to_string(), category.as_str());
            let json = serde_json::to_string(&category).expect("serializes");
            assert_eq!(json, ["\"", category.as_str(), "\""].concat());
        }
        let err = "Marketing"
            .parse::<Category>()
            .expect_err("names are lowercase");
        assert_eq!(
            err.to_string(),
            "unknown consent category \"Marketing\": use \"necessary\", \"analytics\" or \"marketing\""
        );
    }

    #[test]
    fn only_necessary_is_mandatory() {
        assert_eq!(
            Category::ALL
                .iter()
                .filter(|c| !c.is_optional())
                .collect::<Vec<_>>(),
            [&Category::Necessary]
        );
        assert!(Category::OPTIONAL.iter().all(|c| c.is_optional()));
    }

    #[test]
    fn necessary_cannot_be_removed() {
        let mut set = Categories::new();
        assert_eq!(set.iter().collect::<Vec<_>>(), [Category::Necessary]);
        assert!(!set.remove(Category::Necessary));
        assert!(set.contains(Category::Necessary));
        assert!(set.insert(Category::Analytics));
        assert!(!set.insert(Category::Analytics));
        assert!(set.remove(Category::Analytics));
        assert!(!set.remove(Category::Analytics));
        assert_eq!(set, Categories::default());
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn iterates_in_canonical_order() {
        let set: Categories = [Category::Marketing, Category::Analytics]
            .into_iter()
            .collect();
        assert_eq!(set.into_iter().collect::<Vec<_>>(), Category::ALL);
        assert_eq!(set, Categories::all());
        assert_eq!(format!("{set:?}"), "{Necessary, Analytics, Marketing}");
    }

    #[test]
    fn serde_is_an_array_of_names_in_canonical_order() {
        let set: Categories = [Category::Marketing].into_iter().collect();
        assert_eq!(
            serde_json::to_string(&set).expect("serializes"),
            r#"["necessary","marketing"]"#
        );
        for set in [Categories::new(), Categories::all(), set] {
            let json = serde_json::to_string(&set).expect("serializes");
            assert_eq!(from_json(&json).expect("round trip"), set, "{json}");
        }
    }

    #[test]
    fn deserializing_adds_necessary_and_tolerates_duplicates() {
        assert_eq!(from_json("[]").expect("empty"), Categories::new());
        let set = from_json(r#"["marketing","analytics","marketing"]"#).expect("duplicates");
        assert_eq!(set, Categories::all());
    }

    #[test]
    fn deserializing_rejects_unknown_names_and_other_shapes() {
        for json in [
            r#"["necessary","ads"]"#,
            r#"["Analytics"]"#,
            r#""necessary""#,
            r#"{"necessary":true}"#,
            "[1]",
            "null",
        ] {
            assert!(from_json(json).is_err(), "{json}");
        }
        let err = from_json(r#"["ads"]"#).expect_err("unknown").to_string();
        assert!(err.contains("unknown variant `ads`"), "{err}");
    }

    #[test]
    fn every_text_exists_in_both_languages() {
        let kazakh_letters = |s: &str| s.chars().any(|c| "әғқңөұүһіӘҒҚҢӨҰҮҺІ".contains(c));
        for category in Category::ALL {
            for lang in Language::ALL {
                let description = category.description(lang);
                assert!(!category.title(lang).is_empty(), "{category} {lang}");
                assert!(
                    description.ends_with('.') && !description.contains("  "),
                    "{category} {lang}"
                );
                assert!(
                    !category.policy_purposes(lang).is_empty(),
                    "{category} {lang}"
                );
            }
            // The Kazakh description is Kazakh, not a copy of the Russian one.
            assert!(
                kazakh_letters(category.description(Language::Kk)),
                "{category}"
            );
            assert!(
                !kazakh_letters(category.description(Language::Ru)),
                "{category}"
            );
            assert_eq!(
                category.policy_purposes(Language::Ru).len(),
                category.policy_purposes(Language::Kk).len()
            );
        }
    }
}
