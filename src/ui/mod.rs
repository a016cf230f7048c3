//! The interactive stage (feature `ui`): everything the visitor does beyond reading the state.
//! The widget (one `<vivus-consent>` host with an open shadow root holding the banner and a
//! stack of modal dialogs: settings, policy viewer, policy acceptance), the recorder that
//! posts choices to the service ([`record`]), and Ed25519 in wasm for browsers whose WebCrypto
//! lacks it.
//!
//! It knows the runtime only as a [`Host`] (`crate::seam`): it asks for the state, and
//! reports the visitor's decisions; the runtime decides what they mean.
//!
//! All text goes in through `textContent` and text nodes, never markup. Event listeners are
//! gloo's, removed when the view that owns them is dropped, and views remove their elements
//! on drop, so re-rendering is "build the new view, drop the old".

mod acceptance;
mod modal;
mod policy_viewer;
#[cfg(not(feature = "runtime"))]
pub mod port;
mod preferences;
pub mod record;
mod widget;

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gloo_events::EventListener;
use vivus_consent_core::category::Categories;
use vivus_consent_core::consent::Source;
use vivus_consent_core::language::Language;
use web_sys::Element;

pub(crate) use crate::dom::*;
use crate::seam::{
    Dialog, Host, LocalFuture, Notice, Outgoing, Refusal, SendFailure, Snapshot, UiSettings,
};
pub(crate) use widget::*;

/// The widget's sheet: the banner's rules, then the dialogs'.
pub(crate) const CSS: &str = concat!(
    include_str!("../dom/banner.css"),
    include_str!("dialogs.css")
);

/// An event listener of the widget's (gloo's: it removes itself when dropped).
pub(crate) type Listener = EventListener;

/// A rendered piece of UI: its root element and listeners. Dropping it removes both.
pub(crate) struct View {
    pub(crate) el: Element,
    pub(crate) listeners: Vec<Listener>,
}

impl Drop for View {
    fn drop(&mut self) {
        self.el.remove();
    }
}

/// Runs `action` on click, after the handler returns: the action may re-render and drop the
/// listener that is running.
pub(crate) fn on_click(
    w: &Widget,
    target: &Element,
    action: impl Fn(&Widget) + 'static,
) -> Listener {
    let weak = w.weak();
    let action = Rc::new(action);
    EventListener::new(target, "click", move |_| {
        let (weak, action) = (weak.clone(), action.clone());
        crate::task::spawn(async move {
            if let Some(w) = weak.upgrade() {
                action(&w);
            }
        });
    })
}

/// The widget: what the runtime renders into and asks for dialogs and recording.
pub struct Widget {
    host: Rc<dyn Host>,
    settings: UiSettings,
    /// The elements, once something is shown.
    pub(crate) ui: RefCell<Option<widget::Ui>>,
    /// Callers waiting for the policy acceptance.
    pub(crate) acceptance: RefCell<Option<acceptance::Pending>>,
    /// The policy texts fetched so far, parsed.
    pub(crate) policy_cache: RefCell<Vec<(Language, Rc<vivus_consent_core::policy::Document>)>>,
    /// The language whose policy text is being fetched, so reopening the viewer does not
    /// start a second request.
    pub(crate) policy_loading: Cell<Option<Language>>,
    /// Whether the first render happened (it takes over the first stage's banner).
    rendered: Cell<bool>,
    this: Weak<Widget>,
}

impl core::fmt::Debug for Widget {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Widget")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Widget {
    /// A widget for `host`, showing nothing until the first [`crate::seam::Ui::render`].
    pub fn new(host: Rc<dyn Host>, settings: UiSettings) -> Rc<Widget> {
        Rc::new_cyclic(|this| Widget {
            host,
            settings,
            ui: RefCell::new(None),
            acceptance: RefCell::new(None),
            policy_cache: RefCell::new(Vec::new()),
            policy_loading: Cell::new(None),
            rendered: Cell::new(false),
            this: this.clone(),
        })
    }

    /// A weak handle, for callbacks that must not keep the widget alive.
    pub(crate) fn weak(&self) -> Weak<Widget> {
        self.this.clone()
    }

    /// The config members the widget uses.
    pub(crate) fn settings(&self) -> &UiSettings {
        &self.settings
    }

    /// The consent state now.
    pub(crate) fn snapshot(&self) -> Snapshot {
        self.host.snapshot()
    }

    /// The interface language.
    pub(crate) fn language(&self) -> Language {
        self.snapshot().language
    }

    /// Whether no place in the browser could keep the recorded choice.
    pub(crate) fn storage_failed(&self) -> bool {
        self.snapshot().storage_failed
    }

    /// The visitor decided.
    pub(crate) fn choose(
        &self,
        categories: Categories,
        policy_accepted: Option<bool>,
        source: Source,
    ) {
        self.host.choose(categories, policy_accepted, source);
    }

    /// The visitor switched the language.
    pub(crate) fn set_language(&self, lang: Language) {
        self.host.set_language(lang);
    }

    /// The visitor asked to send the choice again now.
    pub(crate) fn retry_now(&self) {
        self.host.retry();
    }
}

impl crate::seam::Ui for Widget {
    fn render(&self, _state: &Snapshot) {
        let first = !self.rendered.replace(true);
        // The first-paint build's banner gives way to ours in this same task, so no frame
        // shows neither and nothing moves; what the visitor did on it is carried on.
        let boot = if first {
            web_sys::window()
                .and_then(|w| w.document())
                .and_then(|doc| crate::dom::take_boot_host(&doc))
        } else {
            None
        };
        widget::render(self);
        if let Some(boot) = boot {
            widget::resume(self, &boot);
        }
    }

    fn notice(&self, notice: &Notice) {
        acceptance::on_notice(self, notice);
    }

    fn open(&self, dialog: Dialog) {
        widget::open(
            self,
            match dialog {
                Dialog::Preferences => Kind::Preferences,
                Dialog::Policy => Kind::Policy,
            },
        );
    }

    fn close_all(&self) {
        widget::close_all(self);
    }

    fn request_acceptance(&self) -> LocalFuture<Result<String, Refusal>> {
        let weak = self.weak();
        Box::pin(async move {
            match weak.upgrade() {
                Some(w) => acceptance::open(&w).await,
                None => Err(Refusal::Unsupported),
            }
        })
    }

    fn send(&self, request: Outgoing) -> LocalFuture<Result<String, SendFailure>> {
        Box::pin(async move { record::send(&request).await })
    }

    fn verify_ed25519(&self, key: [u8; 32], message: &[u8], signature: [u8; 64]) -> bool {
        ed25519_compact::PublicKey::new(key)
            .verify(message, &ed25519_compact::Signature::new(signature))
            .is_ok()
    }
}
