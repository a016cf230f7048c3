//! The interactive stage, loaded on first need and kept for the page.
//!
//! Whatever needs it (the banner to show, a dialog to open, a choice to send) awaits
//! [`Stage::get`]; the first caller starts the load and the others wait for the same one, in
//! the order they asked, so a click, a submit or an API call made while it loads is carried
//! out once it is there, never lost. The first thing a loaded stage does is render the state
//! of that moment (taking over the first stage's banner, if one is shown).

use std::cell::RefCell;
use std::rc::Rc;

use futures_channel::oneshot;

use super::Runtime;
use crate::seam::Ui;

/// How the interactive stage is reached.
pub enum Loader {
    /// Linked into this build (the combined build the tests use): made on first need.
    #[cfg(feature = "ui")]
    Linked,
    /// A JS function (the package's entry) that imports the stage's module and resolves with
    /// its exports; `None` when the page gave none (the stage cannot load).
    #[cfg(not(feature = "ui"))]
    Module(Option<js_sys::Function>),
}

impl Default for Loader {
    /// The stage linked into this build, or none.
    fn default() -> Loader {
        #[cfg(feature = "ui")]
        return Loader::Linked;
        #[cfg(not(feature = "ui"))]
        Loader::Module(None)
    }
}

impl core::fmt::Debug for Loader {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Loader")
    }
}

enum Slot {
    Absent,
    Loading(Vec<oneshot::Sender<()>>),
    Ready(Rc<dyn Ui>),
}

/// The page's interactive stage, once loaded.
pub struct Stage {
    loader: Loader,
    slot: RefCell<Slot>,
}

impl core::fmt::Debug for Stage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let state = match &*self.slot.borrow() {
            Slot::Absent => "absent",
            Slot::Loading(_) => "loading",
            Slot::Ready(_) => "ready",
        };
        f.debug_struct("Stage").field("state", &state).finish()
    }
}

impl Stage {
    /// Not loaded yet.
    pub fn new(loader: Loader) -> Stage {
        Stage {
            loader,
            slot: RefCell::new(Slot::Absent),
        }
    }

    /// The stage, if it is loaded.
    pub fn current(&self) -> Option<Rc<dyn Ui>> {
        match &*self.slot.borrow() {
            Slot::Ready(ui) => Some(ui.clone()),
            _ => None,
        }
    }

    /// The stage, loading it if need be; `None` when it cannot load (the next call tries again).
    pub async fn get(&self, rt: &Rc<Runtime>) -> Option<Rc<dyn Ui>> {
        let wait = {
            let mut slot = self.slot.borrow_mut();
            match &mut *slot {
                Slot::Ready(ui) => return Some(ui.clone()),
                Slot::Loading(waiters) => {
                    let (sender, receiver) = oneshot::channel();
                    waiters.push(sender);
                    Some(receiver)
                }
                Slot::Absent => {
                    *slot = Slot::Loading(Vec::new());
                    None
                }
            }
        };
        if let Some(receiver) = wait {
            let _ = receiver.await;
            return self.current();
        }
        let loaded = self.load(rt).await;
        let waiters = match core::mem::replace(
            &mut *self.slot.borrow_mut(),
            match &loaded {
                Some(ui) => Slot::Ready(ui.clone()),
                None => Slot::Absent,
            },
        ) {
            Slot::Loading(waiters) => waiters,
            _ => Vec::new(),
        };
        if let Some(ui) = &loaded {
            ui.render(&rt.view());
        }
        for waiter in waiters {
            let _ = waiter.send(());
        }
        loaded
    }

    /// Whether the stage is linked into this build (made at once, no module to load).
    pub fn is_linked(&self) -> bool {
        #[cfg(feature = "ui")]
        return matches!(self.loader, Loader::Linked);
        #[cfg(not(feature = "ui"))]
        false
    }

    /// Makes the linked stage now and renders the state into it (see [`Stage::is_linked`]).
    pub fn make_linked(&self, rt: &Rc<Runtime>) {
        #[cfg(feature = "ui")]
        if matches!(&*self.slot.borrow(), Slot::Absent) {
            let host = Rc::new(super::RuntimeHost(Rc::downgrade(rt)));
            let ui: Rc<dyn Ui> = crate::ui::Widget::new(host, rt.ui_settings());
            *self.slot.borrow_mut() = Slot::Ready(ui.clone());
            ui.render(&rt.view());
        }
        #[cfg(not(feature = "ui"))]
        let _ = rt;
    }

    async fn load(&self, rt: &Rc<Runtime>) -> Option<Rc<dyn Ui>> {
        match &self.loader {
            #[cfg(feature = "ui")]
            Loader::Linked => {
                let host = Rc::new(super::RuntimeHost(Rc::downgrade(rt)));
                let widget: Rc<dyn Ui> = crate::ui::Widget::new(host, rt.ui_settings());
                Some(widget)
            }
            #[cfg(not(feature = "ui"))]
            Loader::Module(function) => super::port::load(function.as_ref()?, rt).await,
        }
    }
}
