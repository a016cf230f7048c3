//! Trusted Types for activated gated scripts.
//!
//! Under `require-trusted-types-for 'script'` a script's `src` and text only take
//! `TrustedScriptURL` / `TrustedScript` values. The SDK makes them with its own policy,
//! `vivus-consent`, whose functions pass their input through unchanged. That is safe because
//! the policy object never leaves this module: other code on the page cannot call it, and
//! the SDK only calls it with the `data-src` and text of the page's own gated `<script>`
//! elements (markup the site wrote, which would have run as it is without the gate). A site
//! that lists its policies in a `trusted-types` directive must name `vivus-consent` (and add
//! `'allow-duplicates'` if the SDK may be included twice on a page).
//!
//! Without Trusted Types (Firefox, Safari) or when the site's directive refuses the name,
//! there is no policy and plain strings are used: where Trusted Types are enforced, the
//! browser then blocks the script and reports the violation, which is the site's call.

use js_sys::{Function, Object, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

/// The policy's name, for the site's `trusted-types` directive.
pub(crate) const POLICY_NAME: &str = "vivus-consent";

/// The SDK's `vivus-consent` policy.
pub(crate) struct ScriptPolicy {
    policy: JsValue,
    create_script: Function,
    create_script_url: Function,
    /// The pass-through function, while this stage owns the policy (`None` when adopted from
    /// the stage that made it, which keeps its own alive).
    _pass: Option<Closure<dyn Fn(JsValue) -> JsValue>>,
}

impl ScriptPolicy {
    /// The policy, or `None` where the browser has no Trusted Types or refuses the name.
    pub(crate) fn create() -> Option<ScriptPolicy> {
        let factory = Reflect::get(&js_sys::global(), &JsValue::from_str("trustedTypes")).ok()?;
        if factory.is_undefined() || factory.is_null() {
            return None;
        }
        let create_policy: Function = Reflect::get(&factory, &JsValue::from_str("createPolicy"))
            .ok()?
            .dyn_into()
            .ok()?;
        let pass: Closure<dyn Fn(JsValue) -> JsValue> = Closure::new(|value: JsValue| value);
        let rules = Object::new();
        Reflect::set(&rules, &JsValue::from_str("createScript"), pass.as_ref()).ok()?;
        Reflect::set(&rules, &JsValue::from_str("createScriptURL"), pass.as_ref()).ok()?;
        let policy = match create_policy.call2(&factory, &JsValue::from_str(POLICY_NAME), &rules) {
            Ok(policy) => policy,
            Err(_) => {
                web_sys::console::warn_1(&JsValue::from_str(
                    "vivus-consent: the Trusted Types policy \"vivus-consent\" could not be created; \
                     allow it in the site's trusted-types directive (see docs/security.md), or gated \
                     scripts stay blocked",
                ));
                return None;
            }
        };
        let mut made = Self::adopt(policy)?;
        made._pass = Some(pass);
        Some(made)
    }

    /// The policy another stage of the SDK made (the returning visitor's stage activates the
    /// first scripts; a site's `trusted-types vivus-consent` allows the name only once). The
    /// object travels from stage to stage through the SDK's own entry, never through a global.
    pub(crate) fn adopt(policy: JsValue) -> Option<ScriptPolicy> {
        let method = |name: &str| -> Option<Function> {
            Reflect::get(&policy, &JsValue::from_str(name))
                .ok()?
                .dyn_into()
                .ok()
        };
        Some(ScriptPolicy {
            create_script: method("createScript")?,
            create_script_url: method("createScriptURL")?,
            policy,
            _pass: None,
        })
    }

    /// The policy object, for the stage that takes over.
    pub(crate) fn object(&self) -> &JsValue {
        &self.policy
    }

    /// `text` as a `TrustedScript`.
    pub(crate) fn script(&self, text: &str) -> Option<JsValue> {
        self.create_script
            .call1(&self.policy, &JsValue::from_str(text))
            .ok()
    }

    /// `url` as a `TrustedScriptURL`.
    pub(crate) fn script_url(&self, url: &str) -> Option<JsValue> {
        self.create_script_url
            .call1(&self.policy, &JsValue::from_str(url))
            .ok()
    }
}
