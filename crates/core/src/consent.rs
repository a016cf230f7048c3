//! The consent request the SDK sends and the service validates, shared so both agree on it.
//!
//! Every type here deserialises strictly (`deny_unknown_fields`, camelCase members): a
//! misspelt or extra member is an error that names it, never silently dropped. Ids are parsed
//! into [`ConsentId`] and [`SubjectId`] while deserialising, so a request that parses has
//! well-formed ids; [`ConsentRequest::validate`] adds the checks that need the current policy.
//!
//! ```
//! use vivus_consent_core::category::Category;
//! use vivus_consent_core::consent::{ConsentError, ConsentRequest, Source};
//! use vivus_consent_core::policy;
//!
//! let body = format!(
//!     r#"{{"id":"AAECAwQFBgcICQoLDA0ODw","subject":"q83vEjRWeJCrze8SNFZ4kA",
//!         "policy":{{"version":"{}","digest":"{}"}},
//!         "language":"ru","categories":{{"necessary":true,"analytics":false,"marketing":true}},
//!         "policyAccepted":true,"source":"banner","gpc":false}}"#,
//!     policy::CURRENT.id,
//!     policy::CURRENT.digest,
//! );
//! let request: ConsentRequest = serde_json::from_str(&body)?;
//! assert_eq!(request.source, Source::Banner);
//! request.validate(&policy::CURRENT)?;
//! assert!(request.granted().contains(Category::Marketing));
//!
//! let refused = body.replace(r#""necessary":true"#, r#""necessary":false"#);
//! let refused: ConsentRequest = serde_json::from_str(&refused)?;
//! assert_eq!(refused.validate(&policy::CURRENT), Err(ConsentError::NecessaryRefused));
//!
//! let invented = body.replace(r#""marketing":true"#, r#""marketing":true,"ads":true"#);
//! let error = serde_json::from_str::<ConsentRequest>(&invented).expect_err("an invented category");
//! assert!(error.to_string().contains("unknown field `ads`"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::base64url;
use crate::category::{Categories, Category};
use crate::language::Language;
use crate::policy::PolicyVersion;

/// Characters in an id: base64url of 16 bytes, unpadded.
const ID_LEN: usize = base64url::encoded_len(16);

/// Why a consent or withdrawal request is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConsentError {
    /// `field` is not 22 base64url characters encoding 16 bytes.
    #[error("{field} must be 22 base64url characters encoding 16 random bytes; generate a new id")]
    InvalidId {
        /// The member that holds the bad id: `"id"` or `"subject"`.
        field: &'static str,
    },
    /// `categories.necessary` was `false`.
    #[error("categories.necessary must be true: strictly necessary cookies cannot be refused; send necessary: true")]
    NecessaryRefused,
    /// `policy.version` is not the current policy version.
    #[error("policy.version {got:?} is not the current policy {current:?}; show the visitor the current policy and ask again")]
    StalePolicy {
        /// The version the request names.
        got: String,
        /// The current version.
        current: String,
    },
    /// `policy.digest` does not match the current policy's text.
    #[error("policy.digest does not match the text of policy {version:?}; reload the policy and ask again")]
    PolicyDigestMismatch {
        /// The policy version whose digest differs.
        version: String,
    },
    /// A withdrawal named `necessary`, which cannot be withdrawn.
    #[error("categories must not contain \"necessary\": strictly necessary cookies cannot be withdrawn; name only optional categories")]
    WithdrawNecessary,
    /// A withdrawal named an empty list of categories.
    #[error("categories is empty, which withdraws nothing; name the categories to withdraw or omit the member to withdraw all optional ones")]
    NothingToWithdraw,
}

impl ConsentError {
    /// A stable snake_case code for the HTTP API's `{"code", "message"}` errors.
    pub fn code(&self) -> &'static str {
        match self {
            ConsentError::InvalidId { .. } => "invalid_id",
            ConsentError::NecessaryRefused => "necessary_refused",
            ConsentError::StalePolicy { .. } => "stale_policy",
            ConsentError::PolicyDigestMismatch { .. } => "policy_digest_mismatch",
            ConsentError::WithdrawNecessary => "withdraw_necessary",
            ConsentError::NothingToWithdraw => "nothing_to_withdraw",
        }
    }
}

/// Checks the shape of an id: 22 characters of canonical unpadded base64url of 16 bytes.
fn check_id(text: &str, field: &'static str) -> Result<(), ConsentError> {
    if text.len() != ID_LEN || base64url::decode_array::<16>(text).is_err() {
        return Err(ConsentError::InvalidId { field });
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// The id of 16 bytes, which the caller draws from a CSPRNG (core has none).
            pub fn from_bytes(bytes: [u8; 16]) -> Self {
                $name(base64url::encode(&bytes))
            }

            /// Parses the 22-character base64url form.
            ///
            /// # Errors
            ///
            #[doc = concat!("[`ConsentError::InvalidId`] naming `", $field, "` when `text` is not 22")]
            /// canonical base64url characters.
            pub fn parse(text: &str) -> Result<Self, ConsentError> {
                check_id(text, $field)?;
                Ok($name(text.to_owned()))
            }

            /// The 22-character base64url form.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = ConsentError;
            fn from_str(text: &str) -> Result<Self, ConsentError> {
                $name::parse(text)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                check_id(&text, $field).map_err(serde::de::Error::custom)?;
                Ok($name(text))
            }
        }
    };
}

id_type!(
    /// The id of one consent decision (the token's `jti`), chosen by the browser so a retried
    /// request is recognised: the service's idempotency key.
    ConsentId,
    "id"
);

id_type!(
    /// The pseudonymous, browser-scoped id of the visitor (the token's `sub`): random, kept in
    /// localStorage, not linked to any account.
    SubjectId,
    "subject"
);

/// Which policy text the visitor was shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyRef {
    /// The policy version id, e.g. `"v1"`.
    pub version: String,
    /// The lowercase hex SHA-256 of the policy's canonical text.
    pub digest: String,
}

/// The visitor's choice for each category. All three members are required and no others are
/// allowed, so a banner that forgets or invents a category is caught.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CategoryChoices {
    /// Strictly necessary cookies; must be `true`.
    pub necessary: bool,
    /// Analytics (web analytics, performance measurement).
    pub analytics: bool,
    /// Marketing (advertising, remarketing).
    pub marketing: bool,
}

impl CategoryChoices {
    /// Whether the visitor chose `category`.
    pub fn get(&self, category: Category) -> bool {
        match category {
            Category::Necessary => self.necessary,
            Category::Analytics => self.analytics,
            Category::Marketing => self.marketing,
        }
    }
}

/// Where on the site the decision was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The first-visit banner.
    Banner,
    /// The preferences dialog.
    Preferences,
    /// The consent checkbox of the loan-application form.
    Form,
    /// A direct API call (support tools, tests).
    Api,
}

impl Source {
    /// The wire name: `"banner"`, `"preferences"`, `"form"` or `"api"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Source::Banner => "banner",
            Source::Preferences => "preferences",
            Source::Form => "form",
            Source::Api => "api",
        }
    }
}

/// One consent decision, as `POST /v1/consents` receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConsentRequest {
    /// The consent id; retrying with the same id and body is idempotent.
    pub id: ConsentId,
    /// The visitor.
    pub subject: SubjectId,
    /// The policy the visitor was shown.
    pub policy: PolicyRef,
    /// The language the banner and policy were shown in.
    pub language: Language,
    /// The choice per category.
    pub categories: CategoryChoices,
    /// Whether the visitor accepted the privacy policy (consent to personal-data processing).
    pub policy_accepted: bool,
    /// Where the decision was made.
    pub source: Source,
    /// Whether the browser sent Global Privacy Control (`Sec-GPC: 1`).
    pub gpc: bool,
}

impl ConsentRequest {
    /// Checks what parsing cannot: `necessary` is granted and the policy is the current one.
    /// (The ids need no check here: [`ConsentId`] and [`SubjectId`] only hold well-formed ids.)
    ///
    /// # Errors
    ///
    /// [`ConsentError::NecessaryRefused`], [`ConsentError::StalePolicy`] or
    /// [`ConsentError::PolicyDigestMismatch`], checked in that order.
    pub fn validate(&self, current: &PolicyVersion) -> Result<(), ConsentError> {
        if !self.categories.necessary {
            return Err(ConsentError::NecessaryRefused);
        }
        if self.policy.version != current.id {
            return Err(ConsentError::StalePolicy {
                got: self.policy.version.clone(),
                current: current.id.to_owned(),
            });
        }
        if self.policy.digest != current.digest {
            return Err(ConsentError::PolicyDigestMismatch {
                version: self.policy.version.clone(),
            });
        }
        Ok(())
    }

    /// The categories granted (always including `necessary`).
    pub fn granted(&self) -> Categories {
        Category::ALL
            .into_iter()
            .filter(|&category| self.categories.get(category))
            .collect()
    }

    /// The canonical bytes of the request, for hashing into the ledger and for telling an
    /// idempotent retry (same bytes) from a conflicting reuse of the id.
    ///
    /// This is the compact JSON serialisation: members in declaration order, no whitespace,
    /// ids and strings as parsed. Two requests are equal exactly when these bytes are equal,
    /// whatever the member order or spacing of the JSON they were parsed from.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        // Serialising strings, booleans and unit enums into a Vec cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// A withdrawal, as `POST /v1/consents/{id}/withdraw` receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WithdrawRequest {
    /// The id of the new consent record the withdrawal creates: the idempotency key.
    pub id: ConsentId,
    /// Categories to withdraw; absent (or `null`) withdraws every optional category.
    #[serde(default)]
    pub categories: Option<Vec<Category>>,
    /// Also withdraw the acceptance of the privacy policy. Absent means `false`.
    #[serde(default)]
    pub policy_acceptance: bool,
}

impl WithdrawRequest {
    /// Checks that the withdrawal names something it may withdraw.
    ///
    /// # Errors
    ///
    /// [`ConsentError::WithdrawNecessary`] when `categories` contains `necessary`,
    /// [`ConsentError::NothingToWithdraw`] when it is an empty list.
    pub fn validate(&self) -> Result<(), ConsentError> {
        match &self.categories {
            Some(list) if list.contains(&Category::Necessary) => {
                Err(ConsentError::WithdrawNecessary)
            }
            Some(list) if list.is_empty() => Err(ConsentError::NothingToWithdraw),
            _ => Ok(()),
        }
    }

    /// The categories withdrawn: the listed ones, or every optional category when none are
    /// listed. Never contains `necessary` (after [`WithdrawRequest::validate`]).
    pub fn withdrawn(&self) -> Vec<Category> {
        match &self.categories {
            Some(list) => Category::OPTIONAL
                .into_iter()
                .filter(|category| list.contains(category))
                .collect(),
            None => Category::OPTIONAL.to_vec(),
        }
    }

    /// The canonical bytes of the request (compact JSON, declaration order), as
    /// [`ConsentRequest::canonical_bytes`].
    pub fn canonical_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy;

    fn body() -> serde_json::Value {
        serde_json::json!({
            "id": "AAECAwQFBgcICQoLDA0ODw",
            "subject": "q83vEjRWeJCrze8SNFZ4kA",
            "policy": {"version": policy::CURRENT.id, "digest": policy::CURRENT.digest},
            "language": "kk",
            "categories": {"necessary": true, "analytics": false, "marketing": true},
            "policyAccepted": true,
            "source": "preferences",
            "gpc": false,
        })
    }

    fn parse(value: &serde_json::Value) -> Result<ConsentRequest, String> {
        serde_json::from_value(value.clone()).map_err(|e| e.to_string())
    }

    fn request() -> ConsentRequest {
        parse(&body()).expect("the contract's example parses")
    }

    #[test]
    fn the_contract_example_parses_and_validates() {
        let request = request();
        assert_eq!(request.id.as_str(), "AAECAwQFBgcICQoLDA0ODw");
        assert_eq!(request.language, Language::Kk);
        assert_eq!(request.source, Source::Preferences);
        assert!(request.policy_accepted && !request.gpc);
        assert_eq!(request.validate(&policy::CURRENT), Ok(()));
        assert_eq!(
            request.granted(),
            [Category::Necessary, Category::Marketing]
                .into_iter()
                .collect()
        );
    }

    #[test]
    fn serialisation_round_trips_in_camel_case() {
        let json = serde_json::to_value(request()).expect("serialises");
        assert_eq!(json, body());
    }

    #[test]
    fn unknown_and_missing_members_are_named() {
        let mut extra = body();
        extra["referrer"] = "x".into();
        assert!(parse(&extra)
            .expect_err("rejected")
            .contains("unknown field `referrer`"));

        let mut category = body();
        category["categories"]["ads"] = true.into();
        assert!(parse(&category)
            .expect_err("rejected")
            .contains("unknown field `ads`"));

        let mut missing = body();
        missing["categories"]
            .as_object_mut()
            .expect("object")
            .remove("analytics");
        assert!(parse(&missing)
            .expect_err("rejected")
            .contains("missing field `analytics`"));

        let mut snake = body();
        let accepted = snake
            .as_object_mut()
            .expect("object")
            .remove("policyAccepted");
        snake["policy_accepted"] = accepted.expect("present");
        assert!(parse(&snake)
            .expect_err("rejected")
            .contains("unknown field `policy_accepted`"));

        let mut policy = body();
        policy["policy"]["text"] = "…".into();
        assert!(parse(&policy)
            .expect_err("rejected")
            .contains("unknown field `text`"));
    }

    #[test]
    fn enums_take_only_their_wire_names() {
        for source in ["banner", "preferences", "form", "api"] {
            let mut ok = body();
            ok["source"] = source.into();
            assert_eq!(parse(&ok).map(|r| r.source.as_str()), Ok(source));
        }
        for (member, value) in [
            ("source", "Banner"),
            ("source", "popup"),
            ("language", "en"),
        ] {
            let mut bad = body();
            bad[member] = value.into();
            assert!(
                parse(&bad)
                    .expect_err("rejected")
                    .contains("unknown variant"),
                "{member}: {value}"
            );
        }
    }

    #[test]
    fn malformed_ids_are_rejected_naming_the_member() {
        let bad_ids = [
            "AAECAwQFBgcICQoLDA0OD",   // 21 characters
            "AAECAwQFBgcICQoLDA0ODwA", // 23 characters
            "AAECAwQFBgcICQoLDA0ODx",  // non-zero trailing bits: not canonical
            "AAECAwQFBgcICQoLDA0OD+",  // standard alphabet
            "AAECAwQFBgcICQoLDA0O==",  // padding
            "",
        ];
        for bad in bad_ids {
            assert_eq!(
                ConsentId::parse(bad),
                Err(ConsentError::InvalidId { field: "id" }),
                "{bad}"
            );
            assert_eq!(
                SubjectId::parse(bad),
                Err(ConsentError::InvalidId { field: "subject" }),
                "{bad}"
            );
            for member in ["id", "subject"] {
                let mut body = body();
                body[member] = bad.into();
                let error = parse(&body).expect_err("rejected");
                assert!(
                    error.starts_with(&format!("{member} must be 22 base64url")),
                    "{error}"
                );
            }
        }
        let mut number = body();
        number["id"] = 7.into();
        assert!(parse(&number).is_err());
    }

    #[test]
    fn ids_round_trip_through_their_bytes() {
        let id = ConsentId::from_bytes([0xff; 16]);
        assert_eq!(id.as_str(), "_____________________w");
        assert_eq!(ConsentId::parse(id.as_str()), Ok(id.clone()));
        assert_eq!(id.as_str().parse::<ConsentId>(), Ok(id));
        assert_eq!(
            SubjectId::from_bytes([0; 16]).to_string(),
            "AAAAAAAAAAAAAAAAAAAAAA"
        );
    }

    #[test]
    fn necessary_must_be_granted() {
        let mut request = request();
        request.categories.necessary = false;
        let error = request.validate(&policy::CURRENT).expect_err("rejected");
        assert_eq!(error, ConsentError::NecessaryRefused);
        assert_eq!(error.code(), "necessary_refused");
        assert!(error
            .to_string()
            .starts_with("categories.necessary must be true"));
    }

    #[test]
    fn the_policy_must_be_the_current_one() {
        let mut stale = request();
        stale.policy.version = "v0".into();
        let error = stale.validate(&policy::CURRENT).expect_err("rejected");
        assert_eq!(error.code(), "stale_policy");
        assert!(error
            .to_string()
            .starts_with("policy.version \"v0\" is not the current policy"));

        let mut edited = request();
        edited.policy.digest = "0".repeat(64);
        let error = edited.validate(&policy::CURRENT).expect_err("rejected");
        assert_eq!(
            error,
            ConsentError::PolicyDigestMismatch {
                version: policy::CURRENT.id.to_owned()
            }
        );
        assert!(error
            .to_string()
            .starts_with("policy.digest does not match"));

        let mut upper = request();
        upper.policy.digest = policy::CURRENT.digest.to_uppercase();
        assert_eq!(
            upper.validate(&policy::CURRENT).map_err(|e| e.code()),
            Err("policy_digest_mismatch")
        );
    }

    #[test]
    fn canonical_bytes_ignore_member_order_and_spacing() {
        let reordered = r#"{ "gpc": false, "source": "preferences", "policyAccepted": true,
            "categories": {"marketing": true, "analytics": false, "necessary": true},
            "language": "kk", "subject": "q83vEjRWeJCrze8SNFZ4kA", "id": "AAECAwQFBgcICQoLDA0ODw",
            "policy": {"digest": "DIGEST", "version": "VERSION"} }"#
            .replace("DIGEST", policy::CURRENT.digest)
            .replace("VERSION", policy::CURRENT.id);
        let reordered: ConsentRequest = serde_json::from_str(&reordered).expect("parses");
        assert_eq!(reordered.canonical_bytes(), request().canonical_bytes());
        assert!(request()
            .canonical_bytes()
            .starts_with(br#"{"id":"AAECAwQFBgcICQoLDA0ODw","subject":"#));

        let mut other = request();
        other.categories.analytics = true;
        assert_ne!(other.canonical_bytes(), request().canonical_bytes());
    }

    #[test]
    fn withdrawals_name_optional_categories_or_none() {
        let all: WithdrawRequest =
            serde_json::from_str(r#"{"id":"AAECAwQFBgcICQoLDA0ODw"}"#).expect("minimal withdrawal");
        assert_eq!(all.validate(), Ok(()));
        assert_eq!(all.withdrawn(), Category::OPTIONAL.to_vec());
        assert!(!all.policy_acceptance);

        let one: WithdrawRequest = serde_json::from_str(
            r#"{"id":"AAECAwQFBgcICQoLDA0ODw","categories":["marketing"],"policyAcceptance":true}"#,
        )
        .expect("withdrawal of marketing");
        assert_eq!(one.validate(), Ok(()));
        assert_eq!(one.withdrawn(), vec![Category::Marketing]);
        assert!(one.policy_acceptance);

        let necessary: WithdrawRequest = serde_json::from_str(
            r#"{"id":"AAECAwQFBgcICQoLDA0ODw","categories":["analytics","necessary"]}"#,
        )
        .expect("parses");
        assert_eq!(
            necessary.validate().map_err(|e| e.code()),
            Err("withdraw_necessary")
        );

        let empty: WithdrawRequest =
            serde_json::from_str(r#"{"id":"AAECAwQFBgcICQoLDA0ODw","categories":[]}"#)
                .expect("parses");
        assert_eq!(empty.validate(), Err(ConsentError::NothingToWithdraw));

        for bad in [
            r#"{"id":"AAECAwQFBgcICQoLDA0ODw","categories":["ads"]}"#,
            r#"{"id":"AAECAwQFBgcICQoLDA0ODw","all":true}"#,
            r#"{"id":"short"}"#,
            r#"{"categories":["marketing"]}"#,
        ] {
            assert!(
                serde_json::from_str::<WithdrawRequest>(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn error_messages_are_lowercase_and_say_what_to_do() {
        let errors = [
            ConsentError::InvalidId { field: "subject" },
            ConsentError::NecessaryRefused,
            ConsentError::StalePolicy {
                got: "v0".into(),
                current: "v1".into(),
            },
            ConsentError::PolicyDigestMismatch {
                version: "v1".into(),
            },
            ConsentError::WithdrawNecessary,
            ConsentError::NothingToWithdraw,
        ];
        let mut codes: Vec<&str> = errors.iter().map(ConsentError::code).collect();
        codes.dedup();
        assert_eq!(codes.len(), errors.len());
        for error in errors {
            let message = error.to_string();
            assert!(
                message.starts_with(|c: char| c.is_ascii_lowercase()),
                "{message}"
            );
            assert!(
                !message.ends_with('.') && message.contains("; "),
                "{message}"
            );
        }
    }
}
