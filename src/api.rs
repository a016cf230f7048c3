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
use crate::gates::Connection;
use crate::runtime::{Loader, Runtime};
use crate::seam::Dialog;

// The generated `vivus_consent.d.ts` names these types in its signatures; they are written
// once, by hand, in `pkg/index.d.ts`.
#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str =
    "import type { Category, Config, ConsentEventName, ConsentState } from './index';";

thread_local! {
    // The page's one consent instance, as the promise `init` returned: a second `init`
    // gets the same promise, hence the same object, even while the first is running. (The
    // only page-wide state of the SDK: everything else hangs off the runtime.)
    static INSTANCE: RefCell<Option<js_sys::Promise>> = const { RefCell::new(None) };
    static RUNTIME: RefCell<Option<Rc<Runtime>>> = const { RefCell::new(None) };
}

/// The page's runtime once `init` has finished (tests and debugging).
pub fn runtime() -> Option<Rc<Runtime>> {
    RUNTIME.with(|r| r.borrow().clone())
}

/// Starts the SDK: reads and verifies the stored consent, shows the banner if there is
/// none, and resolves with the consent object. Calling it again returns the same object
/// (the later config is ignored). `load_ui` is the entry's loader of the interactive stage
/// (`pkg/vivus-consent.js`); without it, in a build that does not link that stage, nothing
/// that needs it (the banner, dialogs, recording) can happen. `early` is what the returning
/// visitor's stage did, when it ran first (`crate::returning::Early`), for the gates to take
/// over from.
///
/// Rejects with a `TypeError` whose `code` is `invalid_config` and whose message names the
/// offending member when the config is invalid; unknown members are errors.
#[wasm_bindgen(js_name = start, unchecked_return_type = "Promise<Consent>")]
#[allow(clippy::needless_pass_by_value)] // `load_ui` is kept only by the build without the ui stage
pub fn start(
    #[wasm_bindgen(unchecked_param_type = "Config")] config: JsValue,
    #[wasm_bindgen(unchecked_param_type = "() => Promise<unknown>")] load_ui: Option<
        js_sys::Function,
    >,
    #[wasm_bindgen(unchecked_param_type = "unknown")] early: JsValue,
) -> js_sys::Promise {
    if let Some(promise) = INSTANCE.with(|i| i.borrow().clone()) {
        return promise;
    }
    #[cfg(feature = "panic-hook")]
    console_error_panic_hook::set_once();
    #[cfg(feature = "ui")]
    let loader = {
        let _ = load_ui;
        Loader::Linked
    };
    #[cfg(not(feature = "ui"))]
    let loader = Loader::Module(load_ui);
    let promise = wasm_bindgen_futures::future_to_promise(async move {
        let started = match config_from_js(&config) {
            Ok(config) => Runtime::start_with(config, loader).await,
            Err(err) => Err(err),
        };
        match started {
            Ok(rt) => {
                RUNTIME.with(|r| *r.borrow_mut() = Some(rt.clone()));
                let connection = crate::gates::connect_after(&rt, &early);
                Ok(Consent { rt, connection }.into())
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

/// [`start`] from Rust, without a loader (the combined build links the interactive stage).
pub fn init(config: JsValue) -> js_sys::Promise {
    start(config, None, JsValue::UNDEFINED)
}

/// Reads and checks the JS config object (see [`crate::config`]).
///
/// # Errors
///
/// [`SdkError::Config`] naming the offending member.
pub fn config_from_js(value: &JsValue) -> Result<crate::config::Config> {
    crate::config::Config::read(value)
}

/// The visitor's consent on this page.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Consent {
    rt: Rc<Runtime>,
    /// The page's gates (none for an object made in tests without them).
    connection: Option<Rc<Connection>>,
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
        self.rt.open(Dialog::Preferences);
    }

    /// Opens the policy viewer (the text is fetched on first open).
    #[wasm_bindgen(js_name = showPolicy)]
    pub fn show_policy(&self) {
        self.rt.open(Dialog::Policy);
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
        self.rt.state_js()
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
        let rt = self.rt.clone();
        wasm_bindgen_futures::future_to_promise(
            async move { Ok(JsValue::from(rt.recorded().await)) },
        )
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
        if let Some(gates) = &self.connection {
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
        let field = crate::js::member(options, "tokenField").filter(|v| !v.is_null());
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
        Ok(self
            .connection
            .as_ref()
            .is_some_and(|gates| gates.guard_form(form, token_field)))
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
            let set = crate::js::member(&target, "set")
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
        Consent {
            rt,
            connection: None,
        }
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
