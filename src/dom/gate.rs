//! The gates: scripts, iframes and images that wait for the visitor's consent, and
//! `onGranted(category, fn)` for code that prefers a callback.
//!
//! # Markup (compatible with vanilla-cookieconsent)
//!
//! ```html
//! <script type="text/plain" data-category="marketing" data-service="Meta Pixel"
//!         data-src="https://connect.facebook.net/en_US/fbevents.js" async></script>
//! <script type="text/plain" data-category="analytics">/* inline code */</script>
//! <script type="text/plain" data-category="!marketing">/* runs while marketing is NOT granted */</script>
//! <script type="text/plain" data-category="marketing" data-type="module" data-src="/ads.mjs"></script>
//! <iframe data-category="marketing" data-service="YouTube" data-src="https://www.youtube.com/embed/…"
//!         width="560" height="315"></iframe>
//! <img data-category="marketing" data-src="https://ads.example/pixel.gif" alt="">
//! ```
//!
//! A gated script is activated by replacing it with a fresh `<script>` carrying the same
//! attributes, `data-src` as `src`, `data-type` as `type` (else classic), its CSP nonce (read
//! from the `nonce` property, since browsers hide the attribute) and its text. Scripts run in
//! document order: an external script without `async` is waited for (load or error) before the
//! next gated script is activated, which is what `defer` and plain scripts promise; `async`
//! ones are not waited for. Scripts added to the page later (by the parser after the SDK
//! started, or by other code) are found by a `MutationObserver`.
//!
//! # Never twice
//!
//! Each gated element is marked with `data-vivus-activated` as soon as it is queued, and the
//! activated copy carries the mark too; both this SDK and a second copy of it on the same
//! page (double inclusion) skip marked elements. So a script runs at most once per page view,
//! and `!category` scripts likewise. [`Gates::on_granted`] callbacks run once.
//!
//! # Iframes and images
//!
//! Until their category is granted, a placeholder (in a shadow root, so page CSS cannot break
//! it; none for tracking pixels of width or height 0 or 1, nor with `data-placeholder="false"`)
//! stands before them, in the current language, saying what will load and offering
//! "load" (this element, this time) and "always allow" (grants the category through the
//! consent service, which then activates everything of that category). When a category
//! granted on this page is revoked, its iframes are unloaded and the placeholders come back.
//!
//! # Pending grants (decided here, relied on by the controller)
//!
//! The visitor's explicit click is the consent. On the page where the click happened, granted
//! tags run at once, while the signed token is still pending at the service: making the
//! visitor wait for a network round trip (or, with the service down, forever) for something
//! they just asked for would be wrong, and the choice is recorded anyway. On a later page
//! load only two things count: a *verified* recorded token, or the still-pending choice in
//! `vivus_consent_pending` that the SDK is retrying with the same consent id (it is what the
//! visitor clicked, and the SDK will record exactly it). A rejection always wins at once, on
//! every page and in every tab. Therefore a reload never runs a tag the visitor did not grant
//! and never loses a choice. The gates themselves only take the resulting set through
//! [`Gates::apply`]; the controller decides which set that is by these rules.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gloo_events::EventListener;
#[cfg(feature = "runtime")]
use gloo_events::EventListenerOptions;
use js_sys::Reflect;
use vivus_consent_core::category::{Categories, Category};
use vivus_consent_core::language::Language;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element, HtmlElement};

use super::trusted_types::ScriptPolicy;

/// Whether a URL would run script when navigated to: its scheme, read as the URL parser
/// does (leading C0 controls and spaces dropped, tabs and newlines removed, any case), is
/// `javascript` or `vbscript`.
pub fn is_script_url(url: &str) -> bool {
    let mut scheme = String::new();
    for c in url.trim_start_matches(|c: char| c <= ' ').chars() {
        match c {
            '\t' | '\n' | '\r' => {}
            ':' => break,
            c if c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.') => {
                if scheme.len() > 10 {
                    return false;
                }
                scheme.push(c.to_ascii_lowercase());
            }
            _ => return false,
        }
    }
    url.contains(':') && (scheme == "javascript" || scheme == "vbscript")
}

/// The attribute marking a gated element as handled: `queued` while waiting its turn, `1`
/// once activated (also on the activated copy of a script).
pub const ACTIVATED: &str = "data-vivus-activated";
/// The attribute marking a placeholder host.
pub const PLACEHOLDER: &str = "data-vivus-placeholder";
/// The attribute marking an element the gates hid behind a placeholder.
const HIDDEN_BY_US: &str = "data-vivus-hidden";

const SCRIPTS: &str = "script[type=\"text/plain\"][data-category]";
const MEDIA: &str = "[data-category][data-src]:not(script)";

/// What a `data-category` attribute asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// `category`: run or load while it is granted.
    Granted(Category),
    /// `!category`: run while it is not granted.
    Refused(Category),
}

impl Requirement {
    /// Parses `marketing` or `!marketing` (surrounding spaces ignored); `None` if the name is
    /// no category.
    pub fn parse(value: &str) -> Option<Requirement> {
        let value = value.trim();
        match value.strip_prefix('!') {
            Some(name) => name.trim().parse().ok().map(Requirement::Refused),
            None => value.parse().ok().map(Requirement::Granted),
        }
    }

    /// Whether the requirement holds for a granted set.
    pub fn holds(self, granted: Categories) -> bool {
        match self {
            Requirement::Granted(c) => granted.contains(c),
            Requirement::Refused(c) => !granted.contains(c),
        }
    }

    /// The category it names.
    pub fn category(self) -> Category {
        match self {
            Requirement::Granted(c) | Requirement::Refused(c) => c,
        }
    }
}

/// The placeholder's words in one language.
struct Words {
    /// Before the service name.
    lead: &'static str,
    /// Between the service name and the category title.
    middle: &'static str,
    /// After the category title.
    end: &'static str,
    load: &'static str,
    allow: &'static str,
}

const RU: Words = Words {
    lead: "Здесь будет содержимое сервиса «",
    middle: "». Оно загружается с внешнего сайта, который может сохранить cookie-файлы категории «",
    end: "». Загрузить его?",
    load: "Загрузить",
    allow: "Всегда разрешать",
};

const KK: Words = Words {
    lead: "Мұнда «",
    middle: "» қызметінің мазмұны болады. Ол «",
    end: "» санатындағы cookie-файлдарды сақтай алатын сыртқы сайттан жүктеледі. Жүктеу керек пе?",
    load: "Жүктеу",
    allow: "Әрқашан рұқсат ету",
};

/// The placeholder sentence for a service and category, in `lang`.
pub fn placeholder_text(lang: Language, service: &str, category: Category) -> String {
    let w = words(lang);
    let title = category.title(lang);
    let mut text = String::with_capacity(
        w.lead.len() + service.len() + w.middle.len() + title.len() + w.end.len(),
    );
    text.push_str(w.lead);
    text.push_str(service);
    text.push_str(w.middle);
    text.push_str(title);
    text.push_str(w.end);
    text
}

fn words(lang: Language) -> &'static Words {
    match lang {
        Language::Ru => &RU,
        Language::Kk => &KK,
    }
}

/// The host part of a URL, for naming a service nobody named (`https://www.youtube.com/x` →
/// `www.youtube.com`); the URL itself if it has no scheme.
pub fn host_of(url: &str) -> &str {
    // Byte scans rather than `split_once("//")`: a substring search pulls the two-way
    // searcher into the wasm for one call.
    let b = url.as_bytes();
    let Some(slashes) = b.windows(2).position(|w| w == b"//") else {
        return url;
    };
    let scheme = &b[..slashes];
    let is_scheme = match scheme.split_last() {
        None => true,
        Some((&b':', name)) => name
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')),
        Some(_) => false,
    };
    if !is_scheme {
        return url;
    }
    let rest = &url[slashes + 2..];
    let end = rest
        .bytes()
        .position(|c| matches!(c, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let host = &rest[..end];
    // Drop credentials, if any.
    match host.bytes().rposition(|c| c == b'@') {
        Some(at) => &host[at + 1..],
        None => host,
    }
}

const PLACEHOLDER_CSS: &str = ":host{display:block;box-sizing:border-box;max-width:100%;\
padding:1rem;border-radius:var(--vivus-radius,8px);background:var(--vivus-placeholder-bg,#f1f3f5);\
color:var(--vivus-placeholder-fg,#1d2125);font:var(--vivus-font,15px/1.45 system-ui,sans-serif)}\
@media (prefers-color-scheme:dark){:host{background:var(--vivus-placeholder-bg,#25292e);color:var(--vivus-placeholder-fg,#eef0f2)}}\
p{margin:0 0 .75rem}div{display:flex;flex-wrap:wrap;gap:.5rem}\
button{font:inherit;padding:.5rem 1rem;border-radius:6px;cursor:pointer;border:1px solid currentColor;\
background:transparent;color:inherit}button[data-vivus-action=allow]{background:var(--vivus-accent,#0a6b3d);\
color:var(--vivus-accent-fg,#fff);border-color:transparent}\
button:focus-visible{outline:3px solid var(--vivus-focus,#1a73e8);outline-offset:2px}";

/// A callback the gates call when the visitor clicks "always allow" on a placeholder: the
/// controller records the category (adding it to what is granted) and calls
/// [`Gates::apply`] with the new set.
pub type AllowHook = Box<dyn Fn(Category)>;

struct State {
    granted: Categories,
    /// `apply` ran at least once: before that nothing is known, so nothing (not even a
    /// `!category` script) runs.
    applied: bool,
    lang: Language,
    /// `onGranted` callbacks still to run (the runtime's API; the returning visitor's stage
    /// takes none).
    #[cfg(feature = "runtime")]
    callbacks: Vec<(Category, js_sys::Function)>,
    /// Gated scripts waiting their turn, in document order.
    queue: Vec<Element>,
}

struct Inner {
    document: Document,
    /// The placeholders' style sheet, made on first use (`Some(None)`: not supported).
    sheet: RefCell<Option<Option<web_sys::CssStyleSheet>>>,
    state: RefCell<State>,
    on_allow: AllowHook,
    /// An external script is loading; the queue waits for it.
    waiting: Cell<bool>,
    /// The queue is being worked through (an inline script may re-enter the gates).
    pumping: Cell<bool>,
    /// The script waited for, and its load and error listeners; dropping them unhooks it.
    waited: RefCell<Option<(Element, [EventListener; 2])>>,
    /// The Trusted Types policy for activated scripts, made on first use (`Some(None)`: none).
    trusted: RefCell<Option<Option<ScriptPolicy>>>,
    /// The shadow roots of the placeholders this page's gates drew: only a click inside one
    /// of them loads or allows anything, never one on markup the page made look alike.
    ours: js_sys::WeakSet,
    this: Weak<Inner>,
}

/// The gates of one page: build with [`Gates::install`], feed with [`Gates::apply`].
/// Dropping it stops watching the page.
pub struct Gates {
    inner: Rc<Inner>,
    observer: Option<web_sys::MutationObserver>,
    _observed: Closure<dyn FnMut(js_sys::Array)>,
    _click: Option<EventListener>,
}

impl core::fmt::Debug for Gates {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let state = self.inner.state.borrow();
        f.debug_struct("Gates")
            .field("granted", &state.granted)
            .field("applied", &state.applied)
            .field("queued", &state.queue.len())
            .finish()
    }
}

impl Gates {
    /// Starts watching `document` for gated elements added later and for placeholder clicks.
    /// Nothing runs until the first [`Gates::apply`].
    pub fn install(document: &Document, lang: Language, on_allow: AllowHook) -> Gates {
        let inner = Rc::new_cyclic(|this| Inner {
            document: document.clone(),
            sheet: RefCell::new(None),
            state: RefCell::new(State {
                granted: Categories::new(),
                applied: false,
                lang,
                #[cfg(feature = "runtime")]
                callbacks: Vec::new(),
                queue: Vec::new(),
            }),
            on_allow,
            waiting: Cell::new(false),
            pumping: Cell::new(false),
            waited: RefCell::new(None),
            trusted: RefCell::new(None),
            ours: js_sys::WeakSet::new(),
            this: this.clone(),
        });

        let weak = Rc::downgrade(&inner);
        // Any batch of added nodes triggers a re-scan: two selector queries cost less than
        // walking the records, and marked elements make the scan idempotent.
        let observed = Closure::new(move |_records: js_sys::Array| {
            if let Some(inner) = weak.upgrade() {
                inner.scan(None);
            }
        });
        let observer = web_sys::MutationObserver::new(observed.as_ref().unchecked_ref()).ok();
        if let Some(observer) = &observer {
            let init = web_sys::MutationObserverInit::new();
            init.set_child_list(true);
            init.set_subtree(true);
            let _ = observer.observe_with_options(document, &init);
        }

        // Not passive: a click the gates handle is marked (preventDefault) so a second copy
        // of the SDK on the page leaves it alone.
        #[cfg(feature = "runtime")]
        let click = {
            let weak = Rc::downgrade(&inner);
            Some(EventListener::new_with_options(
                document,
                "click",
                EventListenerOptions::enable_prevent_default(),
                move |event| {
                    if let Some(inner) = weak.upgrade() {
                        inner.placeholder_click(event);
                    }
                },
            ))
        };
        // The returning visitor's stage draws no placeholders: the runtime, which takes over
        // right after it, does.
        #[cfg(not(feature = "runtime"))]
        let click = None;

        Gates {
            inner,
            observer,
            _observed: observed,
            _click: click,
        }
    }

    /// Uses the Trusted Types policy another stage made (see `trusted_types::ScriptPolicy::adopt`).
    pub fn adopt_policy(&self, policy: JsValue) {
        *self.inner.trusted.borrow_mut() = Some(ScriptPolicy::adopt(policy));
    }

    /// The Trusted Types policy these gates made, if they made one, for the stage that takes over.
    pub fn policy(&self) -> Option<JsValue> {
        self.inner
            .trusted
            .borrow()
            .as_ref()?
            .as_ref()
            .map(|p| p.object().clone())
    }

    /// Applies the granted set: activates every gated element whose requirement now holds,
    /// shows placeholders for the others, unloads iframes and images of categories revoked
    /// since the last call, and runs the `onGranted` callbacks of newly granted categories.
    ///
    /// Call it on page load with the verified (or still-pending) consent and on every change.
    pub fn apply(&self, granted: Categories) {
        let previous = {
            let mut state = self.inner.state.borrow_mut();
            let previous = if state.applied {
                Some(state.granted)
            } else {
                None
            };
            state.granted = granted;
            state.applied = true;
            previous
        };
        self.inner.scan(previous);
        #[cfg(feature = "runtime")]
        self.inner.run_callbacks();
    }

    /// The set last applied.
    pub fn granted(&self) -> Categories {
        self.inner.state.borrow().granted
    }

    /// Calls `callback(categoryName)` once, when `category` is granted: at once (in this call)
    /// if it already is, else on the [`Gates::apply`] that grants it. A callback that throws is
    /// reported on the console and does not stop the others.
    #[cfg(feature = "runtime")]
    pub fn on_granted(&self, category: Category, callback: js_sys::Function) {
        self.inner
            .state
            .borrow_mut()
            .callbacks
            .push((category, callback));
        self.inner.run_callbacks();
    }

    /// Switches the placeholders to another language.
    #[cfg(feature = "runtime")]
    pub fn set_language(&self, lang: Language) {
        self.inner.state.borrow_mut().lang = lang;
        let Ok(hosts) = self
            .inner
            .document
            .query_selector_all("[data-vivus-placeholder]")
        else {
            return;
        };
        for i in 0..hosts.length() {
            let Some(host) = hosts.item(i).map(JsCast::unchecked_into::<Element>) else {
                continue;
            };
            if let Some(target) = host.next_element_sibling() {
                self.inner.render_placeholder(&host, &target);
            }
        }
    }

    /// Stops these gates for others to take over the page (the returning visitor's stage's,
    /// when the runtime starts): the scripts still queued are unmarked, for the next gates to
    /// activate, and the script still loading, which the next gates must wait for before
    /// them, is returned.
    pub fn hand_over(self) -> Option<Element> {
        let queued = core::mem::take(&mut self.inner.state.borrow_mut().queue);
        for script in queued {
            let _ = script.remove_attribute(ACTIVATED);
        }
        let waited = self.inner.waited.borrow();
        let loading = waited.as_ref().filter(|_| self.inner.waiting.get());
        loading.map(|(script, _)| script.clone())
    }

    /// Waits for `script`, activated by the gates these took over from and still loading,
    /// before activating the next script (see [`Gates::hand_over`]).
    pub fn wait_for(&self, script: Element) {
        let listeners = self.inner.resume_after(&script);
        self.inner.waiting.set(true);
        *self.inner.waited.borrow_mut() = Some((script, listeners));
    }

    /// Activates one gated element now, whatever is granted: what the placeholder's "load"
    /// does, for integrators who build their own.
    pub fn load_once(&self, element: &Element) {
        if element.tag_name().eq_ignore_ascii_case("script") {
            self.inner.enqueue(element, "once");
            self.inner.pump();
        } else {
            self.inner.activate_media(element);
        }
    }
}

impl Drop for Gates {
    fn drop(&mut self) {
        // The load handler dies with the gates: unhook the script still loading.
        let waited = self.inner.waited.borrow_mut().take();
        drop(waited);
        if let Some(observer) = &self.observer {
            observer.disconnect();
        }
    }
}

impl Inner {
    /// Removes the load/error listeners of `script`, if it is the one waited for (the queue
    /// may have moved on to the next one already).
    fn unhook_waited(&self, script: &Element) {
        let mut waited = self.waited.borrow_mut();
        let ours = waited.as_ref().is_some_and(|(waited, _)| waited == script);
        let listeners = if ours { waited.take() } else { None };
        drop(waited);
        // Dropped after the borrow ends: a listener may be the one running.
        drop(listeners);
    }

    /// Walks the page's gated elements. `previous` is the set granted before this change, if
    /// this is a change (not a re-scan for added elements).
    #[cfg_attr(not(feature = "runtime"), allow(unused_variables))]
    fn scan(&self, previous: Option<Categories>) {
        let (granted, applied) = {
            let state = self.state.borrow();
            (state.granted, state.applied)
        };
        if !applied {
            return;
        }
        for script in elements(&self.document, SCRIPTS) {
            if script.get_attribute(ACTIVATED).is_some() {
                continue;
            }
            match requirement(&script) {
                Some(req) if req.holds(granted) => self.enqueue(&script, "queued"),
                Some(_) => {}
                None => warn_unknown(&script),
            }
        }
        self.pump();

        for element in elements(&self.document, MEDIA) {
            let Some(req) = requirement(&element) else {
                warn_unknown(&element);
                continue;
            };
            let active = element.get_attribute(ACTIVATED).is_some();
            if req.holds(granted) {
                if !active {
                    self.activate_media(&element);
                }
            } else if active {
                // Unload only on a real revocation: an element loaded "once" stays loaded
                // while nothing changes. (The returning visitor's stage applies one set once:
                // it never revokes.)
                #[cfg(feature = "runtime")]
                if previous.is_some_and(|before| req.holds(before)) {
                    self.deactivate_media(&element);
                }
            } else if !has_placeholder(&element) {
                self.show_placeholder(&element);
            }
        }
    }

    /// Queues a script; `mark` is `queued` (runs if its requirement still holds on its turn)
    /// or `once` (the visitor asked for it).
    fn enqueue(&self, script: &Element, mark: &str) {
        if script.get_attribute(ACTIVATED).is_some() {
            return;
        }
        let _ = script.set_attribute(ACTIVATED, mark);
        self.state.borrow_mut().queue.push(script.clone());
    }

    /// Activates queued scripts in order until one must be waited for.
    fn pump(&self) {
        if self.pumping.get() {
            return;
        }
        self.pumping.set(true);
        while !self.waiting.get() {
            let next = {
                let mut state = self.state.borrow_mut();
                if state.queue.is_empty() {
                    None
                } else {
                    Some((state.queue.remove(0), state.granted))
                }
            };
            let Some((script, granted)) = next else { break };
            // The choice may have changed while this script waited its turn; "load once"
            // scripts have no requirement to re-check (the visitor asked for them).
            let still_wanted = script.get_attribute(ACTIVATED).as_deref() == Some("once")
                || requirement(&script).is_some_and(|r| r.holds(granted));
            if !still_wanted || !script.is_connected() {
                let _ = script.remove_attribute(ACTIVATED);
                continue;
            }
            self.activate_script(&script);
        }
        self.pumping.set(false);
    }

    /// Replaces a gated script with a live copy; an external, ordered one makes the queue wait
    /// for its load or error.
    fn activate_script(&self, script: &Element) {
        let Ok(copy) = self.document.create_element("script") else {
            return;
        };
        let mut trusted = self.trusted.borrow_mut();
        let policy = trusted.get_or_insert_with(ScriptPolicy::create).as_ref();
        let mut external = false;
        for name in script.get_attribute_names().iter() {
            let Some(name) = name.as_string() else {
                continue;
            };
            let value = script.get_attribute(&name).unwrap_or_default();
            match name.as_str() {
                "type" | ACTIVATED => {}
                "data-type" => {
                    let _ = copy.set_attribute("type", &value);
                }
                "data-src" | "src" => {
                    external = true;
                    // Under Trusted Types `src` takes a TrustedScriptURL (see trusted_types).
                    match policy.and_then(|p| p.script_url(&value)) {
                        Some(url) => {
                            let _ = Reflect::set(&copy, &JsValue::from_str("src"), &url);
                        }
                        None => {
                            let _ = copy.set_attribute("src", &value);
                        }
                    }
                }
                _ => {
                    let _ = copy.set_attribute(&name, &value);
                }
            }
        }
        let _ = copy.set_attribute(ACTIVATED, "1");
        // Only <script> elements get here (the selector, or `load_once` checked the tag).
        // Browsers blank the nonce attribute once the element is parsed; the property keeps it.
        let nonce = script.unchecked_ref::<HtmlElement>().nonce();
        if !nonce.is_empty() {
            copy.unchecked_ref::<HtmlElement>().set_nonce(&nonce);
        }
        let is_async = script.get_attribute("async").is_some();
        // Inserted scripts are async unless told otherwise; keep the author's intent.
        copy.unchecked_ref::<web_sys::HtmlScriptElement>()
            .set_async(is_async);
        if !external {
            let text = script.text_content().unwrap_or_default();
            match policy.and_then(|p| p.script(&text)) {
                Some(text) => {
                    let _ = Reflect::set(&copy, &JsValue::from_str("text"), &text);
                }
                None => copy.set_text_content(Some(&text)),
            }
        }
        drop(trusted);
        let wait = external && !is_async;
        // Listen before insertion: a cached script may load very fast.
        let listeners = wait.then(|| self.resume_after(&copy));
        if script.replace_with_with_node_1(&copy).is_ok() && wait {
            self.waiting.set(true);
            *self.waited.borrow_mut() = listeners.map(|listeners| (copy, listeners));
        }
    }

    /// The listeners that resume the queue once `script` has loaded or failed.
    fn resume_after(&self, script: &Element) -> [EventListener; 2] {
        ["load", "error"].map(|kind| {
            let weak = self.this.clone();
            let loaded = script.clone();
            EventListener::once(script, kind, move |_| {
                if let Some(inner) = weak.upgrade() {
                    // At once, not in the task: gates taking over from these in the meantime
                    // must not wait for a script that has loaded.
                    inner.waiting.set(false);
                    crate::task::spawn(async move {
                        inner.unhook_waited(&loaded);
                        inner.pump();
                    });
                }
            })
        })
    }

    fn activate_media(&self, element: &Element) {
        if element.get_attribute(ACTIVATED).as_deref() == Some("1") {
            return;
        }
        let _ = element.set_attribute(ACTIVATED, "1");
        for (from, to) in [("data-srcset", "srcset"), ("data-src", "src")] {
            if let Some(value) = element.get_attribute(from) {
                // HTML sanitizers keep data-* attributes but strip javascript: from src; the
                // gate must not be the gadget that puts it back (an iframe would run it).
                if is_script_url(&value) {
                    web_sys::console::warn_1(&JsValue::from_str(
                        "vivus-consent: a javascript: data-src is never activated",
                    ));
                    continue;
                }
                let _ = element.set_attribute(to, &value);
            }
        }
        if element.get_attribute(HIDDEN_BY_US).is_some() {
            let _ = element.remove_attribute(HIDDEN_BY_US);
            let _ = element.remove_attribute("hidden");
        }
        if let Some(host) = placeholder_of(element) {
            host.remove();
        }
    }

    #[cfg(feature = "runtime")]
    fn deactivate_media(&self, element: &Element) {
        let _ = element.remove_attribute(ACTIVATED);
        if element.tag_name().eq_ignore_ascii_case("iframe") {
            // Removing `src` does not unload a frame; navigating it to a blank page does.
            let _ = element.set_attribute("src", "about:blank");
        } else {
            let _ = element.remove_attribute("src");
            let _ = element.remove_attribute("srcset");
        }
        self.show_placeholder(element);
    }

    #[cfg(not(feature = "runtime"))]
    fn show_placeholder(&self, _element: &Element) {}

    #[cfg(feature = "runtime")]
    fn show_placeholder(&self, element: &Element) {
        if !wants_placeholder(element) {
            return;
        }
        let Ok(host) = self.document.create_element("div") else {
            return;
        };
        let _ = host.set_attribute(PLACEHOLDER, "");
        let _ = host.set_attribute("class", "vivus-consent-placeholder");
        let _ = host.set_attribute("role", "region");
        let Ok(root) =
            host.attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open))
        else {
            return;
        };
        self.ours.add(&root);
        // Through the CSSOM, not a `style` attribute, which a strict CSP (style-src without
        // 'unsafe-inline') would refuse.
        let style = host.unchecked_ref::<HtmlElement>().style();
        for (attr, property) in [("width", "width"), ("height", "min-height")] {
            if let Some(mut value) = element.get_attribute(attr).filter(|v| is_number(v)) {
                value.push_str("px");
                let _ = style.set_property(property, &value);
            }
        }
        self.render_placeholder(&host, element);
        if element.get_attribute("hidden").is_none() {
            let _ = element.set_attribute("hidden", "");
            let _ = element.set_attribute(HIDDEN_BY_US, "");
        }
        let _ = element.before_with_node_1(&host);
    }

    /// Fills (or refills, on a language change) a placeholder's shadow root.
    #[cfg(feature = "runtime")]
    fn render_placeholder(&self, host: &Element, element: &Element) {
        let Some(root) = host.shadow_root() else {
            return;
        };
        let Some(category) = requirement(element).map(Requirement::category) else {
            return;
        };
        let lang = self.state.borrow().lang;
        let w = words(lang);
        let service = match element.get_attribute("data-service") {
            Some(name) if !name.trim().is_empty() => name,
            _ => host_of(&element.get_attribute("data-src").unwrap_or_default()).to_owned(),
        };
        let text = placeholder_text(lang, &service, category);
        let _ = host.set_attribute("aria-label", &service);
        let _ = host.set_attribute("lang", lang.as_str());
        root.set_text_content(None);
        let doc = &self.document;
        let build = || -> Result<(), JsValue> {
            // One constructed sheet shared by every placeholder: not inline CSS, so it works
            // under `style-src 'self'`. Browsers without constructable sheets get a <style>.
            let sheet = self
                .sheet
                .borrow_mut()
                .get_or_insert_with(placeholder_sheet)
                .clone();
            match sheet {
                Some(sheet) => root.set_adopted_style_sheets(&js_sys::Array::of1(&sheet)),
                None => {
                    let style = doc.create_element("style")?;
                    style.set_text_content(Some(PLACEHOLDER_CSS));
                    root.append_child(&style)?;
                }
            }
            let p = doc.create_element("p")?;
            p.set_text_content(Some(&text));
            let actions = doc.create_element("div")?;
            for (action, label) in [("load", w.load), ("allow", w.allow)] {
                let button = doc.create_element("button")?;
                button.set_attribute("type", "button")?;
                button.set_attribute("data-vivus-action", action)?;
                button.set_text_content(Some(label));
                actions.append_child(&button)?;
            }
            root.append_child(&p)?;
            root.append_child(&actions)?;
            Ok(())
        };
        let _ = build();
    }

    #[cfg(feature = "runtime")]
    fn placeholder_click(&self, event: &web_sys::Event) {
        if event.default_prevented() {
            // Another copy of the SDK on this page handled it.
            return;
        }
        // A click on a button in one of our placeholders: page markup can copy the
        // attributes, not the shadow root. (A page script clicking our own button does no
        // more than its call of the API could.)
        let path = event.composed_path();
        let Some(button) = path.get(0).dyn_into::<Element>().ok() else {
            return;
        };
        if !self.ours.has(button.get_root_node().unchecked_ref()) {
            return;
        }
        let Some(action) = button.get_attribute("data-vivus-action") else {
            return;
        };
        // The host is the first path entry that is a placeholder; its gated element follows it.
        let Some(host) = path
            .iter()
            .filter_map(|n| n.dyn_into::<Element>().ok())
            .find(|e| e.get_attribute(PLACEHOLDER).is_some())
        else {
            return;
        };
        let Some(element) = host.next_element_sibling() else {
            return;
        };
        event.prevent_default();
        match action.as_str() {
            "load" => self.activate_media(&element),
            "allow" => {
                let Some(req) = requirement(&element) else {
                    return;
                };
                (self.on_allow)(req.category());
                // The hook normally grants the category and re-applies; if it could not (no
                // controller wired), still honour the click for this element.
                if !req.holds(self.state.borrow().granted) {
                    self.activate_media(&element);
                }
            }
            _ => {}
        }
    }

    #[cfg(feature = "runtime")]
    fn run_callbacks(&self) {
        let due: Vec<(Category, js_sys::Function)> = {
            let mut state = self.state.borrow_mut();
            if !state.applied {
                return;
            }
            let granted = state.granted;
            let (due, later) = state
                .callbacks
                .drain(..)
                .partition(|(c, _)| granted.contains(*c));
            state.callbacks = later;
            due
        };
        // Called with no borrow held: a callback may call back into the gates.
        for (category, callback) in due {
            if let Err(error) =
                callback.call1(&JsValue::UNDEFINED, &JsValue::from_str(category.as_str()))
            {
                web_sys::console::error_1(&error);
            }
        }
    }
}

#[cfg(feature = "runtime")]
fn placeholder_sheet() -> Option<web_sys::CssStyleSheet> {
    let sheet = web_sys::CssStyleSheet::new().ok()?;
    sheet.replace_sync(PLACEHOLDER_CSS).ok()?;
    Some(sheet)
}

fn elements(document: &Document, selector: &str) -> Vec<Element> {
    let Ok(list) = document.query_selector_all(selector) else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i).map(JsCast::unchecked_into::<Element>))
        .collect()
}

fn requirement(element: &Element) -> Option<Requirement> {
    Requirement::parse(&element.get_attribute("data-category")?)
}

fn placeholder_of(element: &Element) -> Option<Element> {
    element
        .previous_element_sibling()
        .filter(|e| e.get_attribute(PLACEHOLDER).is_some())
}

fn has_placeholder(element: &Element) -> bool {
    placeholder_of(element).is_some()
}

/// Whether a blocked element gets a placeholder: not with `data-placeholder="false"`, and not
/// for tracking pixels (a `width` or `height` of 0 or 1), which nobody should be asked about.
fn wants_placeholder(element: &Element) -> bool {
    if element.get_attribute("data-placeholder").as_deref() == Some("false") {
        return false;
    }
    let tiny = |name: &str| {
        element
            .get_attribute(name)
            .is_some_and(|v| matches!(v.trim(), "0" | "1"))
    };
    !(tiny("width") || tiny("height"))
}

fn is_number(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(feature = "runtime")]
fn warn_unknown(element: &Element) {
    // Once per element: mark it so a re-scan does not repeat the warning.
    if element.get_attribute(ACTIVATED).is_some() {
        return;
    }
    let _ = element.set_attribute(ACTIVATED, "unknown-category");
    let mut message = String::from("vivus-consent: data-category=\"");
    message.push_str(&element.get_attribute("data-category").unwrap_or_default());
    message.push_str("\" names no category, so this element stays blocked: use necessary, analytics or marketing, with ! in front to mean \"while not granted\"");
    web_sys::console::warn_2(&JsValue::from_str(&message), element);
}

/// The returning visitor's stage leaves an unknown category unmarked and unsaid: the runtime,
/// which takes over moments later, warns about it once.
#[cfg(not(feature = "runtime"))]
fn warn_unknown(_element: &Element) {}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn requirements_parse_with_and_without_negation() {
        assert_eq!(
            Requirement::parse("marketing"),
            Some(Requirement::Granted(Category::Marketing))
        );
        assert_eq!(
            Requirement::parse(" !analytics "),
            Some(Requirement::Refused(Category::Analytics))
        );
        assert_eq!(
            Requirement::parse("! marketing"),
            Some(Requirement::Refused(Category::Marketing))
        );
        assert_eq!(Requirement::parse("ads"), None);
        assert_eq!(Requirement::parse("!"), None);
        assert_eq!(Requirement::parse("Marketing"), None);
    }

    #[test]
    fn requirements_follow_the_granted_set() {
        let none = Categories::new();
        let marketing: Categories = [Category::Marketing].into_iter().collect();
        let m = Requirement::Granted(Category::Marketing);
        let not_m = Requirement::Refused(Category::Marketing);
        assert!(!m.holds(none) && m.holds(marketing));
        assert!(not_m.holds(none) && !not_m.holds(marketing));
        assert!(Requirement::Granted(Category::Necessary).holds(none));
        assert!(!Requirement::Refused(Category::Necessary).holds(none));
    }

    #[test]
    fn service_names_default_to_the_host() {
        assert_eq!(
            host_of("https://www.youtube.com/embed/x?y=1"),
            "www.youtube.com"
        );
        assert_eq!(host_of("//cdn.example.kz"), "cdn.example.kz");
        assert_eq!(host_of("https://user:pw@maps.example/x"), "maps.example");
        assert_eq!(host_of("/local/widget.html"), "/local/widget.html");
        assert_eq!(host_of("/a//b"), "/a//b");
        assert_eq!(host_of("https://cdn.example.kz#x"), "cdn.example.kz");
    }

    #[test]
    fn placeholder_sentences_name_service_and_category_in_both_languages() {
        let ru = placeholder_text(Language::Ru, "YouTube", Category::Marketing);
        assert!(
            ru.contains("сервиса «YouTube»") && ru.contains("«Маркетинговые»"),
            "{ru}"
        );
        let kk = placeholder_text(Language::Kk, "YouTube", Category::Marketing);
        assert!(
            kk.contains("«YouTube» қызметінің") && kk.contains("«Маркетингтік»"),
            "{kk}"
        );
        assert_ne!(RU.load, KK.load);
        assert_ne!(RU.allow, KK.allow);
    }

    #[test]
    fn script_urls_are_recognised_as_the_url_parser_reads_them() {
        for url in [
            "javascript:alert(1)",
            " JavaScript:x",
            "\u{1}java\tscript:x",
            "java\nscript:x",
            "vbscript:x",
        ] {
            assert!(is_script_url(url), "{url:?}");
        }
        for url in [
            "/embed/video.html",
            "https://x/javascript:",
            "data:text/plain,x",
            "javascript",
            "./javascript:x",
        ] {
            assert!(!is_script_url(url), "{url:?}");
        }
    }
}
