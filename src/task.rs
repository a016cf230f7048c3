//! One way to run a future on the page's event loop, and to wait for a JS promise.
//!
//! `wasm_bindgen_futures::spawn_local` is generic: every call site with its own future type
//! links its own copy of the task machinery (about 5 kB raw over the SDK's click handlers).
//! Boxing the future first gives one copy.
//!
//! The runtime and the interactive stage use wasm-bindgen-futures. The returning visitor's
//! stage, whose whole budget is a few kB, runs its one sequence of awaits on the small
//! executor below instead: wasm-bindgen-futures' task queue, wakers and promise bridge cost
//! that build 2.8 kB brotli (an empty `async` export against an empty sync one, nightly,
//! `-Oz`), this one a fraction of it. Shared code waits through [`settled`] and spawns through
//! [`spawn`], so it runs on either.

use std::future::Future;
use std::pin::Pin;

/// A boxed future that needs no `Send`, as everything in the browser.
pub type LocalFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// Runs `future` to completion on the page's event loop.
pub fn spawn(future: impl Future<Output = ()> + 'static) {
    spawn_boxed(Box::pin(future));
}

#[cfg(any(feature = "runtime", feature = "ui"))]
fn spawn_boxed(future: LocalFuture<()>) {
    wasm_bindgen_futures::spawn_local(future);
}

/// What a JS promise settled with: `Ok` with its value, `Err` with its rejection reason.
#[cfg(any(feature = "runtime", feature = "ui"))]
pub fn settled(
    promise: js_sys::Promise,
) -> impl Future<Output = Result<wasm_bindgen::JsValue, wasm_bindgen::JsValue>> {
    wasm_bindgen_futures::JsFuture::from(promise)
}

#[cfg(not(any(feature = "runtime", feature = "ui")))]
use small::spawn_boxed;
/// A promise of what `future` gives; the future starts at once.
#[cfg(any(feature = "runtime", feature = "ui"))]
pub fn to_promise(
    future: impl Future<Output = wasm_bindgen::JsValue> + 'static,
) -> js_sys::Promise {
    wasm_bindgen_futures::future_to_promise(async move { Ok(future.await) })
}

#[cfg(not(any(feature = "runtime", feature = "ui")))]
pub use small::{settled, to_promise};

#[cfg(not(any(feature = "runtime", feature = "ui")))]
mod small {
    //! A single-threaded executor without a queue: a task is polled when the promise it waits
    //! for settles, in that promise's reaction (a microtask), and never before.

    use std::cell::RefCell;
    use std::future::Future;
    use std::pin::Pin;
    use std::rc::Rc;
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsValue;

    use super::LocalFuture;

    thread_local! {
        /// The tasks not yet finished, by id; a task is taken out while it is polled.
        static TASKS: RefCell<Vec<Option<LocalFuture<()>>>> = const { RefCell::new(Vec::new()) };
    }

    /// Wakes task `.0`: polls it again.
    struct Wakeup(usize);

    impl Wake for Wakeup {
        fn wake(self: Arc<Self>) {
            poll(self.0);
        }
    }

    fn poll(id: usize) {
        let Some(mut task) = TASKS.with(|t| t.borrow_mut().get_mut(id).and_then(Option::take))
        else {
            return;
        };
        let waker = Waker::from(Arc::new(Wakeup(id)));
        if task
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
        {
            TASKS.with(|t| t.borrow_mut()[id] = Some(task));
        }
    }

    /// Starts `future` in a microtask, as `spawn_local` does: never inside its caller.
    pub(super) fn spawn_boxed(future: LocalFuture<()>) {
        start(Box::pin(async move {
            let _ = settled(js_sys::Promise::resolve(&JsValue::UNDEFINED)).await;
            future.await;
        }));
    }

    fn start(future: LocalFuture<()>) {
        let id = TASKS.with(|t| {
            let mut tasks = t.borrow_mut();
            tasks.push(Some(future));
            tasks.len() - 1
        });
        poll(id);
    }

    /// A promise of what `future` gives; the future starts at once.
    pub fn to_promise(future: impl Future<Output = JsValue> + 'static) -> js_sys::Promise {
        let mut future = Some(future);
        js_sys::Promise::new(&mut |resolve, _reject| {
            if let Some(future) = future.take() {
                start(Box::pin(async move {
                    let _ = resolve.call1(&JsValue::UNDEFINED, &future.await);
                }));
            }
        })
    }

    /// What a JS promise settled with: `Ok` with its value, `Err` with its rejection reason.
    pub fn settled(promise: js_sys::Promise) -> Settled {
        Settled {
            promise: Some(promise),
            slot: Rc::default(),
            _reactions: None,
        }
    }

    /// What a promise calls when it settles.
    type Reaction = Closure<dyn FnMut(JsValue)>;

    /// The future of [`settled`].
    #[derive(Debug)]
    pub struct Settled {
        promise: Option<js_sys::Promise>,
        slot: Rc<Slot>,
        /// The functions the promise calls, dropped with the future (the one running then is
        /// released by wasm-bindgen when it returns).
        _reactions: Option<[Reaction; 2]>,
    }

    #[derive(Debug, Default)]
    struct Slot {
        result: RefCell<Option<Result<JsValue, JsValue>>>,
        waker: RefCell<Option<Waker>>,
    }

    impl Future for Settled {
        type Output = Result<JsValue, JsValue>;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            let this = self.get_mut();
            if let Some(result) = this.slot.result.borrow_mut().take() {
                return Poll::Ready(result);
            }
            *this.slot.waker.borrow_mut() = Some(cx.waker().clone());
            if let Some(promise) = this.promise.take() {
                let reactions = [true, false].map(|ok| reaction(this.slot.clone(), ok));
                let _ = promise.then2(&reactions[0], &reactions[1]);
                this._reactions = Some(reactions);
            }
            Poll::Pending
        }
    }

    /// The function a promise calls when it settles (`ok`: fulfilled): it keeps the outcome
    /// and wakes the task.
    fn reaction(slot: Rc<Slot>, ok: bool) -> Reaction {
        // Builds abort on panic (immediate-abort): nothing to catch.
        Closure::once_aborting(move |value: JsValue| {
            *slot.result.borrow_mut() = Some(if ok { Ok(value) } else { Err(value) });
            let waker = slot.waker.borrow_mut().take();
            if let Some(waker) = waker {
                waker.wake();
            }
        })
    }
}
