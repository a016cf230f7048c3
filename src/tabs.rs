//! Cross-tab sync: a choice made in one tab applies in the site's other open tabs without
//! a reload.
//!
//! The tab that changed the stored consent calls [`TabSync::notify`] with what it stored (the
//! token and the pending choice); the others get their handler called with it and apply it
//! as on a page load: the token is verified, never taken on another tab's word, and a
//! choice still in flight there only restricts (`Msg::Follow`). The message
//! carries the values because Chromium syncs localStorage between tab processes
//! asynchronously, so a channel message can arrive before the write is visible there.
//!
//! The channel is a `BroadcastChannel` named [`CHANNEL`]. Where it does not exist (or cannot
//! be opened), the `storage` event on the storage keys stands in: the browser fires it in
//! every other tab of the origin when localStorage changes, which the SDK's own writes do;
//! the handler then gets `None` and re-reads the storage.

use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

/// The `BroadcastChannel` name.
pub const CHANNEL: &str = "vivus_consent";

/// The `kind` of the object a tab posts on the channel.
const MESSAGE: &str = "vivus-consent:changed";

/// What a tab stored after a change, as posted to the others.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stored {
    /// The signed token (`null` when cleared).
    pub token: Option<String>,
    /// The pending choice, as the JSON stored in localStorage (`null` when none).
    pub pending: Option<String>,
}

/// The handler of changes made in other tabs: `Some` with what the other tab stored, or
/// `None` when only "something changed" is known (the storage-event fallback).
pub type OnChange = Rc<dyn Fn(Option<Stored>)>;

fn field(data: &JsValue, name: &str) -> Option<String> {
    js_sys::Reflect::get(data, &JsValue::from_str(name)).ok().and_then(|v| v.as_string())
}

/// Which transport a [`TabSync`] listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// A `BroadcastChannel`.
    BroadcastChannel,
    /// The `storage` event of `window`.
    StorageEvent,
}

/// Listens for consent changes made in other tabs; stops listening when dropped.
pub struct TabSync {
    window: web_sys::Window,
    channel: Option<web_sys::BroadcastChannel>,
    listener: Closure<dyn FnMut(web_sys::Event)>,
}

impl core::fmt::Debug for TabSync {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TabSync").field("transport", &self.transport()).finish()
    }
}

impl TabSync {
    /// Starts listening; `on_change` runs once per change made in another tab.
    ///
    /// `keys` are the localStorage keys the fallback watches (the token's mirror and the
    /// pending choice: `crate::storage::local_key`).
    pub fn start(window: &web_sys::Window, keys: Vec<String>, on_change: OnChange) -> TabSync {
        let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL) else {
            return TabSync::start_storage_fallback(window, keys, on_change);
        };
        // A channel never delivers a message to the object that posted it, so a tab does not
        // react to its own notify.
        let listener: Closure<dyn FnMut(web_sys::Event)> = Closure::new(move |event: web_sys::Event| {
            // Only message events arrive here.
            let data = event.unchecked_ref::<web_sys::MessageEvent>().data();
            if field(&data, "kind").as_deref() == Some(MESSAGE) {
                on_change(Some(Stored { token: field(&data, "token"), pending: field(&data, "pending") }));
            }
        });
        let _ = channel.add_event_listener_with_callback("message", listener.as_ref().unchecked_ref());
        TabSync { window: window.clone(), channel: Some(channel), listener }
    }

    /// Like [`TabSync::start`] but always on the `storage` event, for browsers (and tests)
    /// without `BroadcastChannel`. The browser fires it only in the *other* tabs, so a tab
    /// does not react to its own writes.
    pub fn start_storage_fallback(window: &web_sys::Window, keys: Vec<String>, on_change: OnChange) -> TabSync {
        let listener: Closure<dyn FnMut(web_sys::Event)> = Closure::new(move |event: web_sys::Event| {
            // The event carries nothing the handler believes: it re-reads the storage, where
            // a choice only restricts and a token must verify, so a synthetic event a page
            // script dispatches can at most take grants away.
            // Only storage events arrive here.
            let event = event.unchecked_ref::<web_sys::StorageEvent>();
            // `key` is null when another tab cleared the whole storage: that drops consent too.
            let relevant = match event.key() {
                Some(key) => keys.contains(&key),
                None => true,
            };
            if relevant {
                on_change(None);
            }
        });
        let _ = window.add_event_listener_with_callback("storage", listener.as_ref().unchecked_ref());
        TabSync { window: window.clone(), channel: None, listener }
    }

    /// The transport in use.
    pub fn transport(&self) -> Transport {
        if self.channel.is_some() {
            Transport::BroadcastChannel
        } else {
            Transport::StorageEvent
        }
    }

    /// Tells the other tabs what this tab stored after a change. Call it after the storage
    /// writes. With the storage-event fallback the writes themselves are the message, so this
    /// does nothing.
    pub fn notify(&self, stored: &Stored) {
        if let Some(channel) = &self.channel {
            let message = js_sys::Object::new();
            let set = |name: &str, value: &JsValue| {
                let _ = js_sys::Reflect::set(&message, &JsValue::from_str(name), value);
            };
            set("kind", &JsValue::from_str(MESSAGE));
            set("token", &stored.token.as_deref().map_or(JsValue::NULL, JsValue::from_str));
            set("pending", &stored.pending.as_deref().map_or(JsValue::NULL, JsValue::from_str));
            // A closed channel throws; the other tabs then learn of it on their next load.
            let _ = channel.post_message(&message);
        }
    }
}

impl Drop for TabSync {
    fn drop(&mut self) {
        match &self.channel {
            Some(channel) => {
                let _ = channel.remove_event_listener_with_callback("message", self.listener.as_ref().unchecked_ref());
                channel.close();
            }
            None => {
                let _ = self
                    .window
                    .remove_event_listener_with_callback("storage", self.listener.as_ref().unchecked_ref());
            }
        }
    }
}
