//! Cross-tab sync: a choice made in one tab applies in the site's other open tabs without
//! a reload.
//!
//! The tab that changed the stored consent calls [`TabSync::notify`] with a [`TabMessage`]:
//! its token, and the choice it still has in flight. The others get their handler called
//! with it and apply it as on a page load: the token is verified, never taken on another
//! tab's word, and a choice in flight only restricts (`Msg::Follow`). The message carries
//! the values because Chromium syncs localStorage between tab processes asynchronously, so a
//! channel message can arrive before the write is visible there.
//!
//! The channel is a `BroadcastChannel` named [`CHANNEL`]. Where it does not exist (or cannot
//! be opened), the `storage` event on the storage keys stands in: the browser fires it in
//! every other tab of the origin when localStorage changes, which the SDK's own writes do;
//! the handler then gets `None` and re-reads the storage under the same rules.

use std::rc::Rc;

use gloo_events::EventListener;
use serde::Serialize;
use vivus_consent_core::category::{Categories, Category};
use vivus_consent_core::consent::ConsentId;
use wasm_bindgen::{JsCast, JsValue};

use crate::controller::TabChoice;
use crate::js::{member, string_member, to_js};

/// The `BroadcastChannel` name.
pub const CHANNEL: &str = "vivus_consent";

/// The `kind` of the object a tab posts on the channel.
const MESSAGE: &str = "vivus-consent:changed";

/// What a tab posts to the others after a change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TabMessage {
    /// The signed token it stored (`None` when cleared).
    pub token: Option<String>,
    /// The choice it has in flight, if any.
    pub choice: Option<TabChoice>,
}

/// A [`TabMessage`] as posted: plain data with its `kind`.
#[derive(Serialize)]
struct Posted<'a> {
    kind: &'static str,
    token: Option<&'a str>,
    choice: Option<&'a TabChoice>,
}

/// Reads a posted message (`None` for anything that is not one). The runtime links no
/// deserializer (see [`crate::js`]): the four members are read one by one.
fn read(data: &JsValue) -> Option<TabMessage> {
    if string_member(data, "kind").as_deref() != Some(MESSAGE) {
        return None;
    }
    let choice = match member(data, "choice").filter(|c| !c.is_null()) {
        None => None,
        Some(choice) => {
            let mut granted = Categories::new();
            for name in js_sys::Array::from(&member(&choice, "granted")?).iter() {
                granted.insert(name.as_string()?.parse::<Category>().ok()?);
            }
            Some(TabChoice {
                id: ConsentId::parse(&string_member(&choice, "id")?).ok()?,
                granted,
                policy_accepted: member(&choice, "policyAccepted")?.as_bool()?,
            })
        }
    };
    Some(TabMessage {
        token: string_member(data, "token"),
        choice,
    })
}

/// The handler of changes made in other tabs: `Some` with what the other tab posted, or
/// `None` when only "something changed" is known (the storage-event fallback).
pub type OnChange = Rc<dyn Fn(Option<TabMessage>)>;

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
    channel: Option<web_sys::BroadcastChannel>,
    _listener: EventListener,
}

impl core::fmt::Debug for TabSync {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TabSync")
            .field("transport", &self.transport())
            .finish()
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
        let listener = EventListener::new(&channel, "message", move |event| {
            // Only message events arrive here.
            if let Some(message) = read(&event.unchecked_ref::<web_sys::MessageEvent>().data()) {
                on_change(Some(message));
            }
        });
        TabSync {
            channel: Some(channel),
            _listener: listener,
        }
    }

    /// Like [`TabSync::start`] but always on the `storage` event, for browsers (and tests)
    /// without `BroadcastChannel`. The browser fires it only in the *other* tabs, so a tab
    /// does not react to its own writes.
    pub fn start_storage_fallback(
        window: &web_sys::Window,
        keys: Vec<String>,
        on_change: OnChange,
    ) -> TabSync {
        let listener = EventListener::new(window, "storage", move |event| {
            // The event carries nothing the handler believes: it re-reads the storage, where
            // a choice only restricts and a token must verify, so a synthetic event a page
            // script dispatches can at most take grants away.
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
        TabSync {
            channel: None,
            _listener: listener,
        }
    }

    /// The transport in use.
    pub fn transport(&self) -> Transport {
        if self.channel.is_some() {
            Transport::BroadcastChannel
        } else {
            Transport::StorageEvent
        }
    }

    /// Tells the other tabs what this tab stored and has in flight after a change. Call it
    /// after the storage writes. With the storage-event fallback the writes themselves are the
    /// message, so this does nothing.
    pub fn notify(&self, message: &TabMessage) {
        if let Some(channel) = &self.channel {
            let posted = Posted {
                kind: MESSAGE,
                token: message.token.as_deref(),
                choice: message.choice.as_ref(),
            };
            // A closed channel throws; the other tabs then learn of it on their next load.
            let _ = channel.post_message(&to_js(&posted));
        }
    }
}

impl Drop for TabSync {
    fn drop(&mut self) {
        if let Some(channel) = &self.channel {
            channel.close();
        }
    }
}
