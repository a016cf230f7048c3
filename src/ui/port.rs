//! The interactive module's end of the seam when it is its own wasm (the package): its
//! exports (`attach`, the `Widget` class the runtime drives) and [`JsHost`], the widget's
//! [`crate::seam::Host`] over the runtime's exported `Port`.
//!
//! What the runtime sends is read with serde-wasm-bindgen (this module links it anyway for the
//! service's answers); what goes back is written with serde ([`crate::js::to_js`]).

use std::rc::Rc;

use serde::de::DeserializeOwned;
use vivus_consent_core::category::{Categories, Category};
use vivus_consent_core::consent::Source;
use vivus_consent_core::language::Language;
use wasm_bindgen::prelude::*;

use crate::js::to_js;
use crate::seam::{Dialog, Host, Notice, Outgoing, Snapshot, Ui, UiSettings};

#[wasm_bindgen]
extern "C" {
    /// The runtime's exported port (`runtime::port::Port`).
    #[derive(Debug)]
    pub type Port;
    #[wasm_bindgen(method)]
    fn snapshot(this: &Port) -> JsValue;
    #[wasm_bindgen(method)]
    fn choose(
        this: &Port,
        analytics: bool,
        marketing: bool,
        policy_accepted: Option<bool>,
        source: &str,
    );
    #[wasm_bindgen(method, js_name = setLanguage)]
    fn set_language(this: &Port, lang: &str);
    #[wasm_bindgen(method, js_name = hideBanner)]
    fn hide_banner(this: &Port);
    #[wasm_bindgen(method)]
    fn retry(this: &Port);
}

/// The runtime's port as the widget's [`Host`].
#[derive(Debug)]
pub struct JsHost(Port);

fn read<T: DeserializeOwned>(value: JsValue) -> Option<T> {
    serde_wasm_bindgen::from_value(value).ok()
}

impl Host for JsHost {
    fn snapshot(&self) -> Snapshot {
        // The runtime writes it with the same type; a mismatch would be a build mix-up, shown
        // as "nothing granted, no banner" rather than a crash.
        read(self.0.snapshot()).unwrap_or(Snapshot {
            status: crate::controller::Status::None,
            language: Language::Ru,
            granted: Categories::new(),
            policy_accepted: false,
            banner: false,
            gpc: false,
            storage_failed: false,
        })
    }
    fn choose(&self, categories: Categories, policy_accepted: Option<bool>, source: Source) {
        self.0.choose(
            categories.contains(Category::Analytics),
            categories.contains(Category::Marketing),
            policy_accepted,
            source.as_str(),
        );
    }
    fn set_language(&self, lang: Language) {
        self.0.set_language(lang.as_str());
    }
    fn hide_banner(&self) {
        self.0.hide_banner();
    }
    fn retry(&self) {
        self.0.retry();
    }
}

/// The widget as the runtime module drives it. Not part of the public API.
#[wasm_bindgen(js_name = Widget)]
#[derive(Debug)]
pub struct WidgetExport(Rc<super::Widget>);

/// Attaches the widget to the runtime's `port` with the config members it uses.
#[wasm_bindgen]
pub fn attach(port: Port, settings: JsValue) -> Result<WidgetExport, JsValue> {
    let settings: UiSettings = read(settings).ok_or_else(|| {
        JsValue::from_str("vivus-consent: the runtime and the ui stage are from different builds")
    })?;
    Ok(WidgetExport(super::Widget::new(
        Rc::new(JsHost(port)),
        settings,
    )))
}

#[wasm_bindgen(js_class = Widget)]
impl WidgetExport {
    /// Renders the state.
    pub fn render(&self, state: JsValue) {
        if let Some(state) = read::<Snapshot>(state) {
            self.0.render(&state);
        }
    }

    /// What happened to the choice in flight.
    pub fn notice(&self, notice: JsValue) {
        if let Some(notice) = read::<Notice>(notice) {
            self.0.notice(&notice);
        }
    }

    /// Opens `"preferences"` or `"policy"`.
    pub fn open(&self, dialog: &str) {
        match dialog {
            "preferences" => self.0.open(Dialog::Preferences),
            "policy" => self.0.open(Dialog::Policy),
            _ => {}
        }
    }

    /// Closes every dialog.
    #[wasm_bindgen(js_name = closeAll)]
    pub fn close_all(&self) {
        self.0.close_all();
    }

    /// The acceptance dialog: resolves with the token, rejects with the refusal's code.
    #[wasm_bindgen(js_name = requestAcceptance)]
    pub fn request_acceptance(&self) -> js_sys::Promise {
        let answer = self.0.request_acceptance();
        wasm_bindgen_futures::future_to_promise(async move {
            answer
                .await
                .map(JsValue::from)
                .map_err(|refusal| to_js(&refusal))
        })
    }

    /// Posts a request: resolves with the token, rejects with the failure.
    pub fn send(&self, request: JsValue) -> js_sys::Promise {
        let widget = self.0.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let request: Outgoing = read(request).ok_or(JsValue::NULL)?;
            widget
                .send(request)
                .await
                .map(JsValue::from)
                .map_err(|failure| to_js(&failure))
        })
    }

    /// Ed25519 for browsers whose WebCrypto lacks it.
    #[wasm_bindgen(js_name = verifyEd25519)]
    pub fn verify_ed25519(&self, key: &[u8], message: &[u8], signature: &[u8]) -> bool {
        match (<[u8; 32]>::try_from(key), <[u8; 64]>::try_from(signature)) {
            (Ok(key), Ok(signature)) => self.0.verify_ed25519(key, message, signature),
            _ => false,
        }
    }
}
