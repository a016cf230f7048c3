//! The runtime's end of the seam when the interactive stage is its own wasm module (the
//! package): the `Port` it exports for that module, and [`JsUi`], the runtime's
//! [`crate::seam::Ui`] over the module's exported `Widget`.
//!
//! Data crosses as plain JS objects: the runtime writes them with serde ([`crate::js::to_js`])
//! and, having no deserializer (see [`crate::js`]), reads the three things that come back (a
//! token, a refusal code, a failed send) through [`crate::js`]'s accessors.

use std::rc::Rc;

use vivus_consent_core::category::{Categories, Category};
use vivus_consent_core::consent::Source;
use vivus_consent_core::language::Language;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::{Runtime, RuntimeHost};
use crate::error::NetError;
use crate::js::{member, string_member, to_js};
use crate::seam::{
    Dialog, Host, LocalFuture, Notice, Outgoing, Refusal, SendFailure, Snapshot, Ui,
};

/// The runtime, as the interactive module calls it (its `Host`). Not part of the public API.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Port {
    host: RuntimeHost,
}

#[wasm_bindgen]
impl Port {
    /// The consent state ([`Snapshot`]).
    pub fn snapshot(&self) -> JsValue {
        to_js(&self.host.snapshot())
    }

    /// A choice: the optional categories granted, the policy acceptance (`null` keeps it),
    /// where it was made.
    pub fn choose(
        &self,
        analytics: bool,
        marketing: bool,
        policy_accepted: Option<bool>,
        source: &str,
    ) {
        let mut categories = Categories::new();
        if analytics {
            categories.insert(Category::Analytics);
        }
        if marketing {
            categories.insert(Category::Marketing);
        }
        let source = match source {
            "banner" => Source::Banner,
            "preferences" => Source::Preferences,
            "form" => Source::Form,
            _ => Source::Api,
        };
        self.host.choose(categories, policy_accepted, source);
    }

    /// Switches the interface language.
    #[wasm_bindgen(js_name = setLanguage)]
    pub fn set_language(&self, lang: &str) {
        if let Ok(lang) = lang.parse::<Language>() {
            self.host.set_language(lang);
        }
    }

    /// Hides the banner.
    #[wasm_bindgen(js_name = hideBanner)]
    pub fn hide_banner(&self) {
        self.host.hide_banner();
    }

    /// Sends the choice in flight again now.
    pub fn retry(&self) {
        self.host.retry();
    }
}

#[wasm_bindgen]
extern "C" {
    /// The interactive module's exported widget (`ui::port::Widget`).
    #[derive(Debug)]
    pub type Widget;
    #[wasm_bindgen(method)]
    fn render(this: &Widget, state: JsValue);
    #[wasm_bindgen(method)]
    fn notice(this: &Widget, notice: JsValue);
    #[wasm_bindgen(method)]
    fn open(this: &Widget, dialog: &str);
    #[wasm_bindgen(method, js_name = closeAll)]
    fn close_all(this: &Widget);
    #[wasm_bindgen(method, js_name = requestAcceptance)]
    fn request_acceptance(this: &Widget) -> js_sys::Promise;
    #[wasm_bindgen(method)]
    fn send(this: &Widget, request: JsValue) -> js_sys::Promise;
    #[wasm_bindgen(method, js_name = verifyEd25519)]
    fn verify_ed25519(this: &Widget, key: &[u8], message: &[u8], signature: &[u8]) -> bool;
}

/// The interactive module's widget as the runtime's [`Ui`].
#[derive(Debug)]
pub struct JsUi(Widget);

impl Ui for JsUi {
    fn render(&self, state: &Snapshot) {
        self.0.render(to_js(state));
    }
    fn notice(&self, notice: &Notice) {
        self.0.notice(to_js(notice));
    }
    fn open(&self, dialog: Dialog) {
        self.0.open(match dialog {
            Dialog::Preferences => "preferences",
            Dialog::Policy => "policy",
        });
    }
    fn close_all(&self) {
        self.0.close_all();
    }
    fn request_acceptance(&self) -> LocalFuture<Result<String, Refusal>> {
        let promise = self.0.request_acceptance();
        Box::pin(async move {
            match JsFuture::from(promise).await {
                Ok(token) => token.as_string().ok_or(Refusal::Unsupported),
                Err(code) => Err(match code.as_string().as_deref() {
                    Some("acceptance_pending") => Refusal::AcceptancePending,
                    Some("declined") => Refusal::Declined,
                    _ => Refusal::Unsupported,
                }),
            }
        })
    }
    fn send(&self, request: Outgoing) -> LocalFuture<Result<String, SendFailure>> {
        let promise = self.0.send(to_js(&request));
        Box::pin(async move {
            match JsFuture::from(promise).await {
                Ok(token) => token.as_string().ok_or(SendFailure {
                    error: NetError::BadResponse,
                    retry_after_ms: 0,
                }),
                Err(failure) => Err(read_failure(&failure)),
            }
        })
    }
    fn verify_ed25519(&self, key: [u8; 32], message: &[u8], signature: [u8; 64]) -> bool {
        self.0.verify_ed25519(&key, message, &signature)
    }
}

/// A [`SendFailure`] as the interactive module wrote it.
fn read_failure(value: &JsValue) -> SendFailure {
    let error = member(value, "error").unwrap_or(JsValue::UNDEFINED);
    let number = |v: &JsValue, name: &str| member(v, name).and_then(|n| n.as_f64()).unwrap_or(0.0);
    let error = match string_member(&error, "kind").as_deref() {
        Some("network") => NetError::Network,
        Some("timeout") => NetError::Timeout,
        Some("status") => NetError::Status {
            status: number(&error, "status") as u16,
            code: string_member(&error, "code").unwrap_or_default(),
        },
        _ => NetError::BadResponse,
    };
    SendFailure {
        error,
        retry_after_ms: number(value, "retryAfterMs") as u32,
    }
}

/// Loads the interactive module through the entry's `load` function and attaches it to `rt`.
pub async fn load(load: &js_sys::Function, rt: &Rc<Runtime>) -> Option<Rc<dyn Ui>> {
    let promise: js_sys::Promise = load.call0(&JsValue::NULL).ok()?.dyn_into().ok()?;
    let module = JsFuture::from(promise).await.ok()?;
    let attach: js_sys::Function = member(&module, "attach")?.dyn_into().ok()?;
    let port = Port {
        host: RuntimeHost(Rc::downgrade(rt)),
    };
    let widget = attach
        .call2(
            &JsValue::NULL,
            &JsValue::from(port),
            &to_js(&rt.ui_settings()),
        )
        .ok()?;
    Some(Rc::new(JsUi(widget.unchecked_into())))
}
