//! Cross-tab sync: a choice made in one tab applies in the site's other open tabs without
//! a reload.
//!
//! The tab that changed the stored consent calls [`TabSync::notify`]; the others get their
//! handler called and re-read the storage themselves (cookie, localStorage mirror, pending
//! choice), verifying the token as on a page load. The message carries no consent data on
//! purpose: a tab never trusts another tab's word, only the signed token in storage.
//!
//! The channel is a `BroadcastChannel` named [`CHANNEL`]. Where it does not exist (or cannot
//! be opened), the `storage` event on the storage keys stands in: the browser fires it in
//! every other tab of the origin when localStorage changes, which the SDK's own writes do.

use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

/// The `BroadcastChannel` name.
pub const CHANNEL: &str = "vivus_consent";

/// The localStorage keys whose change means "consent changed" to the fallback.
pub const STORAGE_KEYS: [&str; 2] = ["vivus_consent", "vivus_consent_pending"];

/// What a tab posts on the channel: only a marker, so an old tab and a new one agree.
const MESSAGE: &str = "vivus-consent:changed";

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
    /// `keys` are the localStorage keys the fallback watches (the configured names of
    /// [`STORAGE_KEYS`]).
    pub fn start(window: &web_sys::Window, keys: Vec<String>, on_change: Rc<dyn Fn()>) -> TabSync {
        let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL) else {
            return TabSync::start_storage_fallback(window, keys, on_change);
        };
        // A channel never delivers a message to the object that posted it, so a tab does not
        // react to its own notify.
        let listener: Closure<dyn FnMut(web_sys::Event)> = Closure::new(move |event: web_sys::Event| {
            let is_ours = event
                .dyn_ref::<web_sys::MessageEvent>()
                .and_then(|m| m.data().as_string())
                .is_some_and(|d| d == MESSAGE);
            if is_ours {
                on_change();
            }
        });
        channel.set_onmessage(Some(listener.as_ref().unchecked_ref()));
        TabSync { window: window.clone(), channel: Some(channel), listener }
    }

    /// Like [`TabSync::start`] but always on the `storage` event, for browsers (and tests)
    /// without `BroadcastChannel`. The browser fires it only in the *other* tabs, so a tab
    /// does not react to its own writes.
    pub fn start_storage_fallback(window: &web_sys::Window, keys: Vec<String>, on_change: Rc<dyn Fn()>) -> TabSync {
        let listener: Closure<dyn FnMut(web_sys::Event)> = Closure::new(move |event: web_sys::Event| {
            let Some(event) = event.dyn_ref::<web_sys::StorageEvent>() else { return };
            // `key` is null when another tab cleared the whole storage: that drops consent too.
            let relevant = match event.key() {
                Some(key) => keys.iter().any(|k| *k == key),
                None => true,
            };
            if relevant {
                on_change();
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

    /// Tells the other tabs that this tab changed the stored consent. Call it after the
    /// storage writes. With the storage-event fallback the writes themselves are the message,
    /// so this does nothing.
    pub fn notify(&self) {
        if let Some(channel) = &self.channel {
            // A closed channel throws; the other tabs then learn of it on their next load.
            let _ = channel.post_message(&JsValue::from_str(MESSAGE));
        }
    }
}

impl Drop for TabSync {
    fn drop(&mut self) {
        match &self.channel {
            Some(channel) => {
                channel.set_onmessage(None);
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
