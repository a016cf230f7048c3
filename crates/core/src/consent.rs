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
//! let error = serde_json::from_str::<ConsentRequest>(&invented).unwrap_err();
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
            return Err(ConsentError::PolicyDigestMismatch { version: self.policy.version.clone() });
        }
        Ok(())
    }

    /// The categories granted (always including `necessary`).
    pub fn granted(&self) -> Categories {
        Category::ALL.into_iter().filter(|&category| self.categories.get(category)).collect()
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
            Some(list) if list.contains(&Category::Necessary) => Err(ConsentError::WithdrawNecessary),
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
