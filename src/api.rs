//! The JavaScript API: the only `#[wasm_bindgen]` exports of the crate.
//!
//! ```js
//! import { init } from 'vivus-consent';
//! const consent = await init({ jwks: { keys: [/* the service's keys */] } });
//! consent.on('change', ({ categories }) => console.log(categories));
//! if (consent.has('marketing')) loadPixel();
//! ```

use std::cell::RefCell;
use std::rc::Rc;

use vivus_consent_core::category::{Categories, Category};
use vivus_consent_core::language::Language;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::error::{Result, SdkError};
use crate::runtime::{categories_array, Runtime};

// The generated `vivus_consent.d.ts` names these types in its signatures; they are written
// once, by hand, in `pkg/index.d.ts`.
#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str =
    "import type { Category, Config, ConsentEventName, ConsentState } from './index';";

thread_local! {
    // The page's one consent instance, as the promise `init` returned: a second `init`
    // gets the same promise, hence the same object, even while the first is running.
    static INSTANCE: RefCell<Option<js_sys::Promise>> = const { RefCell::new(None) };
    static RUNTIME: RefCell<Option<Rc<Runtime>>> = const { RefCell::new(None) };
}

/// The page's runtime once `init` has finished, for the SDK's other modules (the gates).
pub fn runtime() -> Option<Rc<Runtime>> {
    RUNTIME.with(|r| r.borrow().clone())
}

/// Starts the SDK: reads and verifies the stored consent, shows the banner if there is
/// none, and resolves with the consent object. Calling it again returns the same object
/// (the later config is ignored).
///
/// Rejects with a `TypeError` whose `code` is `invalid_config` and whose message names the
/// offending member when the config is invalid; unknown members are errors.
#[wasm_bindgen(js_name = init, unchecked_return_type = "Promise<Consent>")]
pub fn init(#[wasm_bindgen(unchecked_param_type = "Config")] config: JsValue) -> js_sys::Promise {
    if let Some(promise) = INSTANCE.with(|i| i.borrow().clone()) {
        return promise;
    }
    #[cfg(feature = "panic-hook")]
    console_error_panic_hook::set_once();
    let promise = wasm_bindgen_futures::future_to_promise(async move {
        let started = match config_from_js(&config) {
            Ok(config) => Runtime::start(config).await,
            Err(err) => Err(err),
        };
        match started {
            Ok(rt) => {
                RUNTIME.with(|r| *r.borrow_mut() = Some(rt.clone()));
                crate::gates::start(&rt);
                Ok(Consent { rt }.into())
            }
            Err(err) => {
                // Let the page call init again with a fixed config.
                INSTANCE.with(|i| *i.borrow_mut() = None);
                Err(err.into())
            }
        }
    });
    INSTANCE.with(|i| *i.borrow_mut() = Some(promise.clone()));
    promise
}

pub use crate::config::from_js as config_from_js;

/// The visitor's consent on this page.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Consent {
    rt: Rc<Runtime>,
}

#[wasm_bindgen]
impl Consent {
    /// Shows the banner.
    pub fn show(&self) {
        self.rt.show();
    }

    /// Hides the banner and any open dialog (the choice, if any, stays as it is).
    pub fn hide(&self) {
        self.rt.hide();
    }

    /// Opens the settings dialog.
    #[wasm_bindgen(js_name = showPreferences)]
    pub fn show_preferences(&self) {
        self.rt.show_preferences();
    }

    /// Opens the policy viewer (the text is fetched on first open).
    #[wasm_bindgen(js_name = showPolicy)]
    pub fn show_policy(&self) {
        self.rt.show_policy();
    }

    /// Grants every category.
    #[wasm_bindgen(js_name = acceptAll)]
    pub fn accept_all(&self) -> Result<(), JsValue> {
        Ok(self.rt.choose(
            Categories::all(),
            None,
            vivus_consent_core::consent::Source::Api,
        )?)
    }

    /// Grants only the necessary category; the optional ones are refused at once.
    #[wasm_bindgen(js_name = rejectAll)]
    pub fn reject_all(&self) -> Result<(), JsValue> {
        Ok(self.rt.choose(
            Categories::new(),
            None,
            vivus_consent_core::consent::Source::Api,
        )?)
    }

    /// Grants exactly the listed categories (plus necessary) and refuses the others.
    pub fn accept(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Category | Category[]")] categories: &JsValue,
    ) -> Result<(), JsValue> {
        let granted = parse_categories(categories)?;
        Ok(self
            .rt
            .choose(granted, None, vivus_consent_core::consent::Source::Api)?)
    }

    /// Whether a category is granted (pending or recorded).
    pub fn has(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Category")] category: &str,
    ) -> Result<bool, JsValue> {
        Ok(self.rt.granted().contains(parse_category(category)?))
    }

    /// The consent state: status (`none`, `pending`, `recorded`), ids, policy, categories,
    /// language and the token's issue and expiry times (seconds since the epoch).
    #[wasm_bindgen(unchecked_return_type = "ConsentState")]
    pub fn state(&self) -> JsValue {
        let s = self.rt.snapshot();
        let out = js_sys::Object::new();
        let put = |key: &str, value: JsValue| {
            let _ = js_sys::Reflect::set(&out, &key.into(), &value);
        };
        let opt_str = |v: Option<&str>| v.map_or(JsValue::NULL, JsValue::from_str);
        let opt_num = |v: Option<u64>| v.map_or(JsValue::NULL, |n| JsValue::from_f64(n as f64));
        put("status", s.status().as_str().into());
        put("consentId", opt_str(s.consent_id().map(|id| id.as_str())));
        put("subjectId", s.subject().as_str().into());
        put("policyVersion", s.policy().id.into());
        put("policyDigest", s.policy().digest.into());
        put("categories", categories_array(s.granted()).into());
        put("policyAccepted", s.policy_accepted().into());
        put("language", s.language().as_str().into());
        put("issuedAt", opt_num(s.issued_at()));
        put("expiresAt", opt_num(s.expires_at()));
        out.into()
    }

    /// The signed token of the recorded choice, or `null` (no choice, or still pending).
    #[wasm_bindgen(unchecked_return_type = "string | null")]
    pub fn token(&self) -> JsValue {
        // `Option<String>` would surface as `undefined`; the documented API says `null`.
        self.rt
            .snapshot()
            .token()
            .map_or(JsValue::NULL, JsValue::from_str)
    }

    /// Resolves with the token once the service has recorded the choice in effect.
    #[wasm_bindgen(js_name = whenRecorded, unchecked_return_type = "Promise<string>")]
    pub fn when_recorded(&self) -> js_sys::Promise {
        self.rt.when_recorded()
    }

    /// Asks the visitor to accept the personal data policy and resolves with the recorded
    /// token; rejects with `code: 'declined'` if the dialog is closed without accepting, and
    /// `'acceptance_pending'` if it is closed after accepting, before the service recorded it.
    #[wasm_bindgen(js_name = requestPolicyAcceptance, unchecked_return_type = "Promise<string>")]
    pub fn request_policy_acceptance(&self) -> js_sys::Promise {
        let rt = self.rt.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            rt.request_policy_acceptance()
                .await
                .map(JsValue::from)
                .map_err(JsValue::from)
        })
    }

    /// Withdraws optional categories (all of them when omitted); takes effect at once and is
    /// recorded by the service as a withdrawal of the recorded consent (or as a new decision
    /// while none is recorded).
    pub fn withdraw(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Category | Category[] | undefined")]
        categories: &JsValue,
    ) -> Result<(), JsValue> {
        if categories.is_undefined() || categories.is_null() {
            return Ok(self.rt.withdraw(None)?);
        }
        let list: Vec<Category> = parse_categories(categories)?
            .iter()
            .filter(|c| c.is_optional())
            .collect();
        Ok(self.rt.withdraw(Some(&list))?)
    }

    /// Switches the interface language (`"ru"` or `"kk"`).
    #[wasm_bindgen(js_name = setLanguage)]
    pub fn set_language(
        &self,
        #[wasm_bindgen(unchecked_param_type = "'ru' | 'kk'")] lang: &str,
    ) -> Result<(), JsValue> {
        let lang: Language = lang.parse().map_err(|_| {
            SdkError::Argument("setLanguage: unknown language; use \"ru\" or \"kk\"")
        })?;
        self.rt.set_language(lang);
        Ok(())
    }

    /// Calls `callback(category)` once, when `category` is granted: at once if it already
    /// is, else when the visitor grants it. For code that prefers a callback to
    /// `<script type="text/plain" data-category="…">`.
    #[wasm_bindgen(js_name = onGranted)]
    pub fn on_granted(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Category")] category: &str,
        #[wasm_bindgen(unchecked_param_type = "(category: Category) => void")]
        callback: js_sys::Function,
    ) -> Result<(), JsValue> {
        let category = parse_category(category)?;
        if let Some(gates) = crate::gates::current() {
            gates.on_granted(category, callback);
        }
        Ok(())
    }

    /// Guards a form: its submission waits for recorded consent that includes acceptance of
    /// the policy, and carries the signed token in a hidden field (`options.tokenField`,
    /// default `consent_token`). Returns `false` if another copy of the SDK guards it already.
    /// `<form data-vivus-consent="policy">` is guarded without calling this.
    #[wasm_bindgen(js_name = guardForm)]
    pub fn guard_form(
        &self,
        form: &web_sys::HtmlFormElement,
        #[wasm_bindgen(unchecked_param_type = "{ tokenField?: string } | undefined")]
        options: &JsValue,
    ) -> Result<bool, JsValue> {
        let field = js_sys::Reflect::get(options, &"tokenField".into())
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_null());
        let token_field = match field {
            None => None,
            Some(v) => match v.as_string().filter(|n| !n.trim().is_empty()) {
                Some(name) => Some(name),
                None => {
                    return Err(SdkError::Argument(
                        "guardForm: options.tokenField must be a non-empty string",
                    )
                    .into())
                }
            },
        };
        Ok(crate::gates::current().is_some_and(|gates| gates.guard_form(form, token_field)))
    }

    /// For forms that post with `fetch`: gets the recorded token that includes policy
    /// acceptance (asking the visitor through the acceptance dialog if there is none yet)
    /// and sets it on `target` with `target.set(name, token)`: a `FormData`,
    /// `URLSearchParams` or `Headers`. Resolves with `target`; rejects with `code:
    /// 'declined'` if the visitor declines.
    ///
    /// ```js
    /// form.addEventListener('submit', async (event) => {
    ///   event.preventDefault();
    ///   const body = await consent.attachToken(new FormData(form));  // field consent_token
    ///   await fetch(form.action, { method: 'POST', body });
    /// });
    /// ```
    #[wasm_bindgen(js_name = attachToken, unchecked_return_type = "Promise<FormData | URLSearchParams | Headers>")]
    pub fn attach_token(
        &self,
        #[wasm_bindgen(unchecked_param_type = "FormData | URLSearchParams | Headers")]
        target: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string | undefined")] name: Option<String>,
    ) -> js_sys::Promise {
        let rt = self.rt.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let set = js_sys::Reflect::get(&target, &"set".into())
                .ok()
                .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
                .ok_or(SdkError::Argument("attachToken: pass a FormData, URLSearchParams or Headers (something with set(name, value))"))?;
            let token = rt.request_policy_acceptance().await?;
            let name = name.unwrap_or_else(|| rt.config().forms.token_field.clone());
            set.call2(
                &target,
                &JsValue::from_str(&name),
                &JsValue::from_str(&token),
            )?;
            Ok(target)
        })
    }

    /// Sends a pending choice again now instead of waiting for the next retry.
    pub fn retry(&self) {
        self.rt.retry_now();
    }

    /// Adds a listener: `ready`, `change`, `recorded` or `error`. The same events are
    /// dispatched on `document` as `vivus-consent:<name>` `CustomEvent`s.
    pub fn on(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ConsentEventName")] event: &str,
        handler: js_sys::Function,
    ) -> Result<(), JsValue> {
        self.rt.on(event_name(event)?, handler);
        Ok(())
    }

    /// Removes a listener added with `on`.
    pub fn off(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ConsentEventName")] event: &str,
        handler: &js_sys::Function,
    ) -> Result<(), JsValue> {
        self.rt.off(event_name(event)?, handler);
        Ok(())
    }
}

impl Consent {
    /// The JS object for a runtime started from Rust (tests; `init` makes the page's own).
    pub fn from_runtime(rt: Rc<Runtime>) -> Consent {
        Consent { rt }
    }

    /// The runtime behind this object (Rust-side API).
    pub fn runtime(&self) -> &Rc<Runtime> {
        &self.rt
    }
}

fn event_name(name: &str) -> Result<&'static str> {
    ["ready", "change", "recorded", "error"]
        .into_iter()
        .find(|n| *n == name)
        .ok_or(SdkError::Argument(
            "on/off: unknown event; use \"ready\", \"change\", \"recorded\" or \"error\"",
        ))
}

fn parse_category(name: &str) -> Result<Category> {
    name.parse().map_err(|_| {
        SdkError::Argument("unknown category; use \"necessary\", \"analytics\" or \"marketing\"")
    })
}

fn parse_categories(value: &JsValue) -> Result<Categories> {
    let mut set = Categories::new();
    if let Some(name) = value.as_string() {
        set.insert(parse_category(&name)?);
        return Ok(set);
    }
    if !js_sys::Array::is_array(value) {
        return Err(SdkError::Argument(
            "categories: pass a category name or an array of names",
        ));
    }
    for item in js_sys::Array::from(value).iter() {
        let name = item.as_string().ok_or(SdkError::Argument(
            "categories: every entry must be a string",
        ))?;
        set.insert(parse_category(&name)?);
    }
    Ok(set)
}
