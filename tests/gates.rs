//! The gates in headless Chromium: gated scripts, iframes and placeholders, `onGranted`,
//! guarded forms, Consent Mode, cookie cleanup and cross-tab sync.
//!
//! `cargo test -p vivus-consent --target wasm32-unknown-unknown --test gates`
//! (with `CHROMEDRIVER=/usr/bin/chromedriver`).
#![cfg(target_arch = "wasm32")]
// A failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use vivus_consent::consent_mode::{self, ConsentModeConfig, Context};
use vivus_consent::controller::TabChoice;
use vivus_consent::cookie_cleanup::{self, CleanupConfig};
use vivus_consent::dom::form::{Backend, FormConfig, FormOptions, Forms, LocalFuture, Refusal};
use vivus_consent::dom::gate::{Gates, ACTIVATED, PLACEHOLDER};
use vivus_consent::tabs::{TabMessage, TabSync, Transport};
use vivus_consent_core::category::{Categories, Category};
use vivus_consent_core::language::Language;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{Document, Element, HtmlElement, HtmlFormElement};

wasm_bindgen_test_configure!(run_in_browser);

fn window() -> web_sys::Window {
    web_sys::window().expect("a browser window")
}

fn document() -> Document {
    window().document().expect("a document")
}

async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        window()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .expect("setTimeout");
    });
    JsFuture::from(promise).await.expect("timer");
}

/// Waits until `done()` holds, up to two seconds.
async fn until(done: impl Fn() -> bool) -> bool {
    for _ in 0..100 {
        if done() {
            return true;
        }
        sleep(20).await;
    }
    done()
}

/// A fresh container in the body, holding `html`; removed by the caller.
fn fixture(html: &str) -> Element {
    let div = document().create_element("div").unwrap();
    div.set_inner_html(html);
    document().body().unwrap().append_child(&div).unwrap();
    div
}

/// Inserts a script element built from parts (innerHTML does not build live scripts, and the
/// gated ones must be real elements, as the parser would make them).
fn gated_script(parent: &Element, attrs: &[(&str, &str)], text: &str) -> Element {
    let script = document().create_element("script").unwrap();
    script.set_attribute("type", "text/plain").unwrap();
    for (k, v) in attrs {
        script.set_attribute(k, v).unwrap();
    }
    script.set_text_content(Some(text));
    parent.append_child(&script).unwrap();
    script
}

fn global(name: &str) -> JsValue {
    js_sys::Reflect::get(&window(), &JsValue::from_str(name)).unwrap()
}

fn counter(name: &str) -> f64 {
    global(name).as_f64().unwrap_or(0.0)
}

fn bump(name: &str) -> String {
    let mut s = String::from("window.");
    s.push_str(name);
    s.push_str("=(window.");
    s.push_str(name);
    s.push_str("||0)+1;");
    s
}

fn marketing() -> Categories {
    [Category::Marketing].into_iter().collect()
}

fn no_hook() -> Box<dyn Fn(Category)> {
    Box::new(|_| {})
}

// ---- scripts ---------------------------------------------------------------------------

#[wasm_bindgen_test]
fn nothing_runs_before_the_first_apply_and_refused_scripts_never_run() {
    let root = fixture("");
    gated_script(&root, &[("data-category", "marketing")], &bump("__t1_m"));
    gated_script(
        &root,
        &[("data-category", "!marketing")],
        &bump("__t1_not_m"),
    );
    let gates = Gates::install(&document(), Language::Ru, no_hook());
    assert_eq!(counter("__t1_m"), 0.0);
    assert_eq!(
        counter("__t1_not_m"),
        0.0,
        "`!marketing` waits for the state to be known"
    );

    gates.apply(Categories::new());
    assert_eq!(counter("__t1_m"), 0.0, "marketing is not granted");
    assert_eq!(
        counter("__t1_not_m"),
        1.0,
        "`!marketing` runs while marketing is not granted"
    );
    root.remove();
}

#[wasm_bindgen_test]
fn a_granted_script_runs_once_even_when_applied_again() {
    let root = fixture("");
    gated_script(&root, &[("data-category", "marketing")], &bump("__t2_m"));
    gated_script(
        &root,
        &[("data-category", "!marketing")],
        &bump("__t2_not_m"),
    );
    let gates = Gates::install(&document(), Language::Ru, no_hook());
    gates.apply(marketing());
    assert_eq!(counter("__t2_m"), 1.0);
    assert_eq!(counter("__t2_not_m"), 0.0);
    gates.apply(marketing());
    gates.apply(Categories::all());
    assert_eq!(counter("__t2_m"), 1.0, "never twice");
    // Revoking lets the `!marketing` script run (it never ran); the marketing one cannot un-run.
    gates.apply(Categories::new());
    assert_eq!(counter("__t2_not_m"), 1.0);
    gates.apply(Categories::new());
    assert_eq!(counter("__t2_not_m"), 1.0);
    let live = root
        .query_selector_all("script[data-vivus-activated=\"1\"]")
        .unwrap();
    assert_eq!(live.length(), 2);
    root.remove();
}

#[wasm_bindgen_test]
fn a_second_copy_of_the_sdk_does_not_run_scripts_again() {
    let root = fixture("");
    gated_script(&root, &[("data-category", "analytics")], &bump("__t3"));
    let first = Gates::install(&document(), Language::Ru, no_hook());
    let second = Gates::install(&document(), Language::Kk, no_hook());
    first.apply(Categories::all());
    second.apply(Categories::all());
    assert_eq!(counter("__t3"), 1.0);
    root.remove();
}

#[wasm_bindgen_test]
async fn scripts_run_in_document_order_waiting_for_external_ones() {
    js_sys::Reflect::set(&window(), &"__t4".into(), &js_sys::Array::new()).unwrap();
    let root = fixture("");
    // A slow-ish external script (a data: URL still loads asynchronously), then inline code
    // that depends on it, then an async external one that nobody waits for.
    gated_script(
        &root,
        &[
            ("data-category", "analytics"),
            (
                "data-src",
                "data:text/javascript,window.__t4.push('external')",
            ),
        ],
        "",
    );
    gated_script(
        &root,
        &[("data-category", "analytics")],
        "window.__t4.push('inline')",
    );
    gated_script(
        &root,
        &[
            ("data-category", "analytics"),
            ("data-src", "data:text/javascript,window.__t4.push('async')"),
            ("async", ""),
        ],
        "",
    );
    let gates = Gates::install(&document(), Language::Ru, no_hook());
    gates.apply(Categories::all());
    let order = || {
        js_sys::Array::from(&global("__t4"))
            .iter()
            .filter_map(|v| v.as_string())
            .collect::<Vec<_>>()
    };
    assert!(
        order().is_empty(),
        "the inline script waits for the external one before it"
    );
    assert!(until(|| order().len() == 3).await, "{:?}", order());
    let order = order();
    let ext = order.iter().position(|s| s == "external").unwrap();
    let inline = order.iter().position(|s| s == "inline").unwrap();
    assert!(ext < inline, "{order:?}");
    let copy = root
        .query_selector("script[async][data-vivus-activated]")
        .unwrap()
        .unwrap();
    assert!(
        copy.unchecked_ref::<web_sys::HtmlScriptElement>().r#async(),
        "async intent kept"
    );
    root.remove();
}

#[wasm_bindgen_test]
fn activated_copies_keep_nonce_module_type_and_attributes() {
    let root = fixture("");
    let script = gated_script(
        &root,
        &[
            ("data-category", "marketing"),
            ("data-type", "module"),
            ("data-service", "Ads"),
            ("id", "t5"),
        ],
        "window.__t5 = 1;",
    );
    script.unchecked_ref::<HtmlElement>().set_nonce("n0nce");
    let gates = Gates::install(&document(), Language::Ru, no_hook());
    gates.apply(marketing());
    let copy: HtmlElement = document().get_element_by_id("t5").unwrap().unchecked_into();
    assert_eq!(copy.get_attribute("type").as_deref(), Some("module"));
    assert_eq!(copy.get_attribute("data-service").as_deref(), Some("Ads"));
    assert_eq!(copy.get_attribute(ACTIVATED).as_deref(), Some("1"));
    assert_eq!(copy.nonce(), "n0nce");
    assert!(!script.is_connected(), "the inert original is replaced");
    root.remove();
}

#[wasm_bindgen_test]
async fn scripts_added_after_init_are_found() {
    let root = fixture("");
    let gates = Gates::install(&document(), Language::Ru, no_hook());
    gates.apply(marketing());
    gated_script(&root, &[("data-category", "marketing")], &bump("__t6"));
    gated_script(&root, &[("data-category", "analytics")], &bump("__t6_a"));
    assert!(
        until(|| counter("__t6") == 1.0).await,
        "the observer activates late scripts"
    );
    sleep(50).await;
    assert_eq!(counter("__t6"), 1.0);
    assert_eq!(counter("__t6_a"), 0.0, "not granted");
    root.remove();
}

#[wasm_bindgen_test]
fn unknown_categories_stay_blocked() {
    let root = fixture("");
    gated_script(&root, &[("data-category", "ads")], &bump("__t7"));
    let gates = Gates::install(&document(), Language::Ru, no_hook());
    gates.apply(Categories::all());
    assert_eq!(counter("__t7"), 0.0);
    root.remove();
}

// ---- iframes, images, placeholders -----------------------------------------------------

fn placeholder_button(host: &Element, action: &str) -> HtmlElement {
    let mut selector = String::from("button[data-vivus-action=");
    selector.push_str(action);
    selector.push(']');
    host.shadow_root()
        .unwrap()
        .query_selector(&selector)
        .unwrap()
        .unwrap()
        .unchecked_into()
}

#[wasm_bindgen_test]
fn refused_iframes_get_a_placeholder_and_load_once_on_request() {
    let root = fixture(
        r#"<iframe id="t8" data-category="marketing" data-service="YouTube" data-src="about:blank#video" width="320" height="180"></iframe>"#,
    );
    let gates = Gates::install(&document(), Language::Ru, no_hook());
    gates.apply(Categories::new());
    let frame = document().get_element_by_id("t8").unwrap();
    assert!(frame.get_attribute("src").is_none());
    assert!(frame.has_attribute("hidden"));
    let host = frame.previous_element_sibling().unwrap();
    assert!(host.has_attribute(PLACEHOLDER));
    let text = host.shadow_root().unwrap().text_content().unwrap();
    assert!(
        text.contains("YouTube") && text.contains("Маркетинговые"),
        "{text}"
    );
    assert_eq!(
        placeholder_button(&host, "load").text_content().as_deref(),
        Some("Загрузить")
    );
    assert_eq!(
        host.get_attribute("style").as_deref(),
        Some("width: 320px; min-height: 180px;"),
        "sized like the frame"
    );
    let shadow = host.shadow_root().unwrap();
    assert_eq!(
        shadow.adopted_style_sheets().length(),
        1,
        "a constructed sheet, fine under a strict CSP"
    );
    assert!(shadow.query_selector("style").unwrap().is_none());

    // Applying again does not add a second placeholder.
    gates.apply(Categories::new());
    assert_eq!(
        root.query_selector_all("[data-vivus-placeholder]")
            .unwrap()
            .length(),
        1
    );

    gates.set_language(Language::Kk);
    let text = host.shadow_root().unwrap().text_content().unwrap();
    assert!(
        text.contains("Маркетингтік") && text.contains("Жүктеу"),
        "{text}"
    );

    placeholder_button(&host, "load").click();
    assert_eq!(
        frame.get_attribute("src").as_deref(),
        Some("about:blank#video")
    );
    assert!(!frame.has_attribute("hidden"));
    assert!(!host.is_connected());
    // "Load" was for this time: an unrelated re-apply keeps it loaded.
    gates.apply(Categories::new());
    assert_eq!(
        frame.get_attribute("src").as_deref(),
        Some("about:blank#video")
    );
    root.remove();
}

#[wasm_bindgen_test]
fn always_allow_asks_the_controller_and_revoking_unloads_again() {
    let root = fixture(
        r#"<iframe id="t9" data-category="marketing" data-src="https://video.example/embed/1"></iframe>
           <img id="t9i" data-category="marketing" data-src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="">
           <div><img id="t9p" data-category="marketing" data-src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width="1" height="1" alt=""></div>"#,
    );
    let asked = Rc::new(Cell::new(None));
    let hook = {
        let asked = Rc::clone(&asked);
        Box::new(move |c: Category| asked.set(Some(c)))
    };
    let gates = Gates::install(&document(), Language::Ru, hook);
    gates.apply(Categories::new());
    assert_eq!(
        root.query_selector_all("[data-vivus-placeholder]")
            .unwrap()
            .length(),
        2
    );
    assert!(
        document()
            .get_element_by_id("t9p")
            .unwrap()
            .previous_element_sibling()
            .is_none(),
        "no placeholder for a pixel"
    );
    let frame = document().get_element_by_id("t9").unwrap();
    let host = frame.previous_element_sibling().unwrap();
    let text = host.shadow_root().unwrap().text_content().unwrap();
    assert!(
        text.contains("video.example"),
        "the host names an unnamed service: {text}"
    );
    placeholder_button(&host, "allow").click();
    assert_eq!(asked.get(), Some(Category::Marketing));

    // The controller records the grant and re-applies: everything of the category loads.
    gates.apply(marketing());
    let img = document().get_element_by_id("t9i").unwrap();
    assert!(img
        .get_attribute("src")
        .unwrap()
        .starts_with("data:image/gif"));
    assert_eq!(
        root.query_selector_all("[data-vivus-placeholder]")
            .unwrap()
            .length(),
        0
    );
    assert!(
        document()
            .get_element_by_id("t9p")
            .unwrap()
            .get_attribute("src")
            .is_some(),
        "the pixel loads when granted"
    );

    gates.apply(Categories::new());
    assert_eq!(
        frame.get_attribute("src").as_deref(),
        Some("about:blank"),
        "the frame is unloaded"
    );
    assert!(img.get_attribute("src").is_none());
    assert_eq!(
        root.query_selector_all("[data-vivus-placeholder]")
            .unwrap()
            .length(),
        2
    );
    root.remove();
}

// ---- onGranted -------------------------------------------------------------------------

#[wasm_bindgen_test]
fn on_granted_calls_once_when_the_category_is_granted() {
    let calls = Rc::new(RefCell::new(Vec::<String>::new()));
    let callback = {
        let calls = Rc::clone(&calls);
        Closure::<dyn FnMut(JsValue)>::new(move |c: JsValue| {
            calls.borrow_mut().push(c.as_string().unwrap())
        })
    };
    let f: &js_sys::Function = callback.as_ref().unchecked_ref();
    let gates = Gates::install(&document(), Language::Ru, no_hook());
    gates.on_granted(Category::Marketing, f.clone());
    assert!(
        calls.borrow().is_empty(),
        "nothing is known before the first apply"
    );
    gates.apply(Categories::new());
    assert!(calls.borrow().is_empty());
    gates.apply(marketing());
    assert_eq!(*calls.borrow(), ["marketing"]);
    gates.apply(Categories::new());
    gates.apply(marketing());
    assert_eq!(calls.borrow().len(), 1, "once");
    gates.on_granted(Category::Marketing, f.clone());
    assert_eq!(calls.borrow().len(), 2, "at once when already granted");
    gates.on_granted(Category::Analytics, f.clone());
    assert_eq!(calls.borrow().len(), 2);
}

// ---- Consent Mode ----------------------------------------------------------------------

#[wasm_bindgen_test]
fn consent_mode_defaults_come_first_then_updates_and_the_event() {
    // The shipped snippet, run as an inline script with its data-* options, as a page would.
    let _ = js_sys::Reflect::delete_property(&window(), &"gtag".into());
    let _ = js_sys::Reflect::delete_property(&window(), &"dataLayer".into());
    let snippet = document().create_element("script").unwrap();
    snippet
        .set_attribute("data-wait-for-update", "300")
        .unwrap();
    snippet.set_text_content(Some(include_str!("../pkg/consent-mode.js")));
    document().body().unwrap().append_child(&snippet).unwrap();
    let layer = js_sys::Array::from(&global("dataLayer"));
    assert_eq!(layer.length(), 1);
    let first = js_sys::Array::from(&layer.get(0));
    assert_eq!(first.get(0).as_string().as_deref(), Some("consent"));
    assert_eq!(first.get(1).as_string().as_deref(), Some("default"));
    let defaults = first.get(2);
    let get = |o: &JsValue, k: &str| js_sys::Reflect::get(o, &k.into()).unwrap();
    assert_eq!(
        get(&defaults, "ad_storage").as_string().as_deref(),
        Some("denied")
    );
    assert_eq!(
        get(&defaults, "analytics_storage").as_string().as_deref(),
        Some("denied")
    );
    assert_eq!(
        get(&defaults, "security_storage").as_string().as_deref(),
        Some("granted")
    );
    assert_eq!(get(&defaults, "wait_for_update").as_f64(), Some(300.0));

    let sent = consent_mode::update(
        &window(),
        &ConsentModeConfig::default(),
        marketing(),
        Context {
            consent_id: Some("AAAAAAAAAAAAAAAAAAAAAA"),
            policy_version: Some("v1"),
        },
    );
    assert!(sent.gtag && sent.data_layer);
    let layer = js_sys::Array::from(&global("dataLayer"));
    assert_eq!(layer.length(), 3);
    let update = js_sys::Array::from(&layer.get(1));
    assert_eq!(update.get(1).as_string().as_deref(), Some("update"));
    let states = update.get(2);
    assert_eq!(
        get(&states, "ad_storage").as_string().as_deref(),
        Some("granted")
    );
    assert_eq!(
        get(&states, "ad_personalization").as_string().as_deref(),
        Some("granted")
    );
    assert_eq!(
        get(&states, "analytics_storage").as_string().as_deref(),
        Some("denied")
    );
    let event = layer.get(2);
    assert_eq!(
        get(&event, "event").as_string().as_deref(),
        Some("vivus_consent_update")
    );
    assert_eq!(
        get(&event, "consentId").as_string().as_deref(),
        Some("AAAAAAAAAAAAAAAAAAAAAA")
    );
    assert_eq!(
        get(&event, "policyVersion").as_string().as_deref(),
        Some("v1")
    );
    let cats: Vec<String> = js_sys::Array::from(&get(&event, "categories"))
        .iter()
        .filter_map(|v| v.as_string())
        .collect();
    assert_eq!(cats, ["necessary", "marketing"]);
    snippet.remove();
}

#[wasm_bindgen_test]
fn consent_mode_without_the_snippet_still_pushes_the_event() {
    let _ = js_sys::Reflect::delete_property(&window(), &"gtag".into());
    let _ = js_sys::Reflect::delete_property(&window(), &"dataLayer".into());
    let sent = consent_mode::update(
        &window(),
        &ConsentModeConfig::default(),
        Categories::new(),
        Context::default(),
    );
    assert!(!sent.gtag && sent.data_layer);
    let layer = js_sys::Array::from(&global("dataLayer"));
    assert_eq!(layer.length(), 1);
    assert!(js_sys::Reflect::get(&layer.get(0), &"consentId".into())
        .unwrap()
        .is_null());
}

// ---- cookie cleanup --------------------------------------------------------------------

fn cookies() -> String {
    document()
        .unchecked_into::<web_sys::HtmlDocument>()
        .cookie()
        .unwrap()
}

fn set_cookie(line: &str) {
    document()
        .unchecked_into::<web_sys::HtmlDocument>()
        .set_cookie(line)
        .unwrap();
}

#[wasm_bindgen_test]
fn refused_cookies_are_deleted_and_granted_ones_kept() {
    let path = window().location().pathname().unwrap();
    set_cookie("_ga=GA1.1.1; path=/");
    set_cookie("_ga_ABC=GS1; path=/");
    set_cookie("_fbp=fb.1; path=/");
    // Set on the page's own path (the default a tag gets when it gives none).
    let mut line = String::from("_gcl_au=1; path=");
    line.push_str(&path);
    set_cookie(&line);
    set_cookie("vivus_consent=keep; path=/");
    set_cookie("session=keep; path=/");
    let config = CleanupConfig::default();

    let analytics: Categories = [Category::Analytics].into_iter().collect();
    let report = cookie_cleanup::delete_refused(&document(), &config, analytics, "vivus_consent");
    let mut deleted = report.deleted.clone();
    deleted.sort();
    assert_eq!(deleted, ["_fbp", "_gcl_au"]);
    assert!(report.remaining.is_empty(), "{report:?}");
    let left = cookies();
    assert!(
        left.contains("_ga=")
            && left.contains("_ga_ABC=")
            && !left.contains("_fbp")
            && !left.contains("_gcl_au"),
        "{left}"
    );

    let report = cookie_cleanup::after_decision(
        &window(),
        &config,
        analytics,
        Categories::new(),
        "vivus_consent",
    );
    assert_eq!(report.deleted.len(), 2, "{report:?}");
    let left = cookies();
    assert!(!left.contains("_ga"), "{left}");
    assert!(
        left.contains("vivus_consent=keep") && left.contains("session=keep"),
        "{left}"
    );
    set_cookie("vivus_consent=; max-age=0; path=/");
    set_cookie("session=; max-age=0; path=/");
}

// ---- tabs ------------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn a_change_in_one_tab_reaches_the_others() {
    let keys = vec![
        "vivus_consent".to_owned(),
        "vivus_consent_pending".to_owned(),
    ];
    let a_seen = Rc::new(RefCell::new(Vec::new()));
    let b_seen = Rc::new(RefCell::new(Vec::new()));
    let a = {
        let a_seen = Rc::clone(&a_seen);
        TabSync::start(
            &window(),
            keys.clone(),
            Rc::new(move |s: Option<TabMessage>| a_seen.borrow_mut().push(s)),
        )
    };
    let b = {
        let b_seen = Rc::clone(&b_seen);
        TabSync::start(
            &window(),
            keys,
            Rc::new(move |s: Option<TabMessage>| b_seen.borrow_mut().push(s)),
        )
    };
    assert_eq!(a.transport(), Transport::BroadcastChannel);
    let stored = TabMessage {
        token: Some("h.c.s".into()),
        choice: None,
    };
    a.notify(&stored);
    assert!(until(|| b_seen.borrow().len() == 1).await);
    assert_eq!(
        b_seen.borrow()[0],
        Some(stored),
        "the values travel with the message"
    );
    sleep(30).await;
    assert!(a_seen.borrow().is_empty(), "a tab does not hear itself");
    drop(b);
    a.notify(&TabMessage::default());
    sleep(50).await;
    assert_eq!(b_seen.borrow().len(), 1, "a dropped sync listens no more");
}

#[wasm_bindgen_test]
fn the_storage_event_stands_in_for_broadcast_channel() {
    let seen = Rc::new(Cell::new(0));
    let sync = {
        let seen = Rc::clone(&seen);
        TabSync::start_storage_fallback(
            &window(),
            vec!["vivus_consent".into()],
            Rc::new(move |stored: Option<TabMessage>| {
                assert!(stored.is_none(), "the fallback re-reads the storage");
                seen.set(seen.get() + 1);
            }),
        )
    };
    assert_eq!(sync.transport(), Transport::StorageEvent);
    let fire = |key: Option<&str>| {
        let init = web_sys::StorageEventInit::new();
        init.set_key(key);
        let event = web_sys::StorageEvent::new_with_event_init_dict("storage", &init).unwrap();
        window().dispatch_event(&event).unwrap();
    };
    fire(Some("unrelated"));
    assert_eq!(seen.get(), 0);
    fire(Some("vivus_consent"));
    assert_eq!(seen.get(), 1);
    fire(None);
    assert_eq!(seen.get(), 2, "clearing the whole storage counts");
    drop(sync);
    fire(Some("vivus_consent"));
    assert_eq!(seen.get(), 2);
}

// ---- guarded forms ---------------------------------------------------------------------

/// A stand-in for the SDK runtime: a token once "recorded", answers queued by the test.
struct FakeBackend {
    token: RefCell<Option<String>>,
    answers: RefCell<Vec<Result<String, Refusal>>>,
    asked: Cell<u32>,
}

impl FakeBackend {
    fn new() -> Rc<FakeBackend> {
        Rc::new(FakeBackend {
            token: RefCell::new(None),
            answers: RefCell::new(Vec::new()),
            asked: Cell::new(0),
        })
    }
}

impl Backend for FakeBackend {
    fn language(&self) -> Language {
        Language::Ru
    }
    fn policy_token(&self) -> Option<String> {
        self.token.borrow().clone()
    }
    fn request_acceptance(&self) -> LocalFuture<Result<String, Refusal>> {
        self.asked.set(self.asked.get() + 1);
        let answer = if self.answers.borrow().is_empty() {
            Err(Refusal::Declined)
        } else {
            self.answers.borrow_mut().remove(0)
        };
        Box::pin(async move {
            // The dialog and the service take a while.
            sleep(60).await;
            answer
        })
    }
}

/// What the page saw: each submit event that reached a bubbling listener on the document,
/// with the submitter's name and the token field. The listener cancels navigation, so the
/// test page stays.
/// (submitter value, token field value) per submission.
type Submissions = Rc<RefCell<Vec<(Option<String>, Option<String>)>>>;

struct Seen {
    submits: Submissions,
    _listener: Closure<dyn FnMut(web_sys::Event)>,
}

impl Drop for Seen {
    fn drop(&mut self) {
        let _ = document()
            .remove_event_listener_with_callback("submit", self._listener.as_ref().unchecked_ref());
    }
}

fn watch_submits(field: &'static str) -> Seen {
    let submits = Rc::new(RefCell::new(Vec::new()));
    let listener = {
        let submits = Rc::clone(&submits);
        Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            event.prevent_default();
            let submitter = event
                .dyn_ref::<web_sys::SubmitEvent>()
                .and_then(|e| e.submitter())
                .and_then(|b| b.get_attribute("value"));
            let form: HtmlFormElement = event.target().unwrap().unchecked_into();
            let token = form
                .elements()
                .named_item(field)
                .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
                .map(|i| i.value());
            submits.borrow_mut().push((submitter, token));
        })
    };
    document()
        .add_event_listener_with_callback("submit", listener.as_ref().unchecked_ref())
        .unwrap();
    Seen {
        submits,
        _listener: listener,
    }
}

const FORM: &str = r#"<form id="app" data-vivus-consent="policy" action="/nowhere" method="post">
  <input name="name" value="">
  <button type="submit" name="action" value="draft" id="draft">Черновик</button>
  <button type="submit" name="action" value="apply" id="apply">Отправить</button>
</form>"#;

fn form_parts(root: &Element) -> (HtmlFormElement, HtmlElement, web_sys::HtmlInputElement) {
    let form: HtmlFormElement = root
        .query_selector("#app")
        .unwrap()
        .unwrap()
        .unchecked_into();
    let apply: HtmlElement = root
        .query_selector("#apply")
        .unwrap()
        .unwrap()
        .unchecked_into();
    let name: web_sys::HtmlInputElement = root
        .query_selector("[name=name]")
        .unwrap()
        .unwrap()
        .unchecked_into();
    (form, apply, name)
}

#[wasm_bindgen_test]
fn a_form_with_recorded_consent_submits_at_once_with_the_token() {
    let root = fixture(FORM);
    let backend = FakeBackend::new();
    *backend.token.borrow_mut() = Some("header.claims.sig".into());
    let forms = Forms::install(&document(), backend.clone(), FormConfig::default());
    let seen = watch_submits("consent_token");
    let (form, apply, _) = form_parts(&root);
    assert!(form.has_attribute("data-vivus-guarded"));
    apply.click();
    assert_eq!(
        *seen.submits.borrow(),
        [(Some("apply".into()), Some("header.claims.sig".into()))]
    );
    assert_eq!(backend.asked.get(), 0, "no dialog");
    drop(forms);
    assert!(
        !form.has_attribute("data-vivus-guarded"),
        "released on drop"
    );
    root.remove();
}

#[wasm_bindgen_test]
async fn without_consent_the_form_waits_and_then_submits_exactly_once_with_the_same_submitter() {
    let root = fixture(FORM);
    let backend = FakeBackend::new();
    backend
        .answers
        .borrow_mut()
        .push(Ok("signed.token.here".into()));
    let _forms = Forms::install(&document(), backend.clone(), FormConfig::default());
    let seen = watch_submits("consent_token");
    let (form, apply, name) = form_parts(&root);
    name.set_value("Айгерим Сапарова");

    apply.click();
    // Enter pressed again and requestSubmit from page code while the dialog is open.
    form.request_submit().unwrap();
    apply.click();
    assert!(
        seen.submits.borrow().is_empty(),
        "the page sees no submission before the token"
    );
    sleep(10).await;
    assert_eq!(backend.asked.get(), 1, "one acceptance flow per form");
    assert!(seen.submits.borrow().is_empty());

    assert!(until(|| !seen.submits.borrow().is_empty()).await);
    sleep(100).await;
    assert_eq!(
        *seen.submits.borrow(),
        [(Some("apply".into()), Some("signed.token.here".into()))],
        "exactly once, same submitter"
    );
    assert_eq!(name.value(), "Айгерим Сапарова", "nothing typed is lost");
    root.remove();
}

#[wasm_bindgen_test]
async fn listeners_the_page_added_first_see_only_the_released_submission() {
    let root = fixture(FORM);
    let (form, apply, _) = form_parts(&root);
    // Capture listeners on the form itself, registered before the SDK started.
    let seen = Rc::new(Cell::new(0));
    let early = {
        let seen = Rc::clone(&seen);
        Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            event.prevent_default();
            seen.set(seen.get() + 1);
        })
    };
    form.add_event_listener_with_callback_and_bool("submit", early.as_ref().unchecked_ref(), true)
        .unwrap();
    let backend = FakeBackend::new();
    backend
        .answers
        .borrow_mut()
        .push(Ok("late.but.here".into()));
    let _forms = Forms::install(&document(), backend.clone(), FormConfig::default());
    apply.click();
    sleep(10).await;
    assert_eq!(
        seen.get(),
        0,
        "the blocked submission never reaches the page"
    );
    assert!(until(|| seen.get() == 1).await);
    sleep(50).await;
    assert_eq!(seen.get(), 1);
    root.remove();
}

#[wasm_bindgen_test]
async fn declining_keeps_the_visitor_on_the_form_with_the_reason() {
    let root = fixture(FORM);
    let backend = FakeBackend::new();
    backend.answers.borrow_mut().push(Err(Refusal::Declined));
    let _forms = Forms::install(&document(), backend.clone(), FormConfig::default());
    let seen = watch_submits("consent_token");
    let (_, apply, name) = form_parts(&root);
    name.set_value("Ерлан");
    apply.click();
    let notice = || root.query_selector("[data-vivus-form-notice]").unwrap();
    assert!(until(|| notice().is_some()).await);
    let text = notice().unwrap().text_content().unwrap();
    assert!(text.contains("6.2"), "{text}");
    assert_eq!(
        notice().unwrap().get_attribute("role").as_deref(),
        Some("alert")
    );
    assert!(seen.submits.borrow().is_empty());
    assert_eq!(name.value(), "Ерлан");

    // Accepting the second time sends it and clears the notice.
    backend.answers.borrow_mut().push(Ok("t.o.k".into()));
    apply.click();
    assert!(until(|| !seen.submits.borrow().is_empty()).await);
    assert!(notice().is_none());
    assert_eq!(seen.submits.borrow()[0].1.as_deref(), Some("t.o.k"));
    root.remove();
}

#[wasm_bindgen_test]
async fn closing_the_dialog_while_the_service_fails_says_the_choice_is_kept() {
    let root = fixture(FORM);
    let backend = FakeBackend::new();
    backend
        .answers
        .borrow_mut()
        .push(Err(Refusal::AcceptancePending));
    let _forms = Forms::install(&document(), backend.clone(), FormConfig::default());
    let seen = watch_submits("consent_token");
    let (_, apply, _) = form_parts(&root);
    apply.click();
    let notice = || root.query_selector("[data-vivus-form-notice]").unwrap();
    assert!(until(|| notice().is_some()).await);
    let text = notice().unwrap().text_content().unwrap();
    assert!(text.contains("сервис согласий недоступен"), "{text}");

    // The next submit asks again (the runtime reopens the dialog ticked and resends).
    backend
        .answers
        .borrow_mut()
        .push(Ok("kept.then.recorded".into()));
    apply.click();
    assert!(until(|| !seen.submits.borrow().is_empty()).await);
    assert_eq!(backend.asked.get(), 2);
    assert_eq!(
        seen.submits.borrow()[0].1.as_deref(),
        Some("kept.then.recorded")
    );
    root.remove();
}

#[wasm_bindgen_test]
async fn forms_added_later_are_guarded_with_their_own_field_name_and_only_once() {
    let root = fixture("");
    let backend = FakeBackend::new();
    *backend.token.borrow_mut() = Some("tok".into());
    let first = Forms::install(&document(), backend.clone(), FormConfig::default());
    let second = Forms::install(&document(), backend.clone(), FormConfig::default());
    root.set_inner_html(
        r#"<form id="late" data-vivus-consent="policy" data-vivus-token-field="ct"><button id="go">go</button></form>"#,
    );
    let form: HtmlFormElement = root
        .query_selector("#late")
        .unwrap()
        .unwrap()
        .unchecked_into();
    assert!(until(|| form.has_attribute("data-vivus-guarded")).await);
    assert_eq!(
        first.len() + second.len(),
        1,
        "a second copy of the SDK leaves it alone"
    );
    let seen = watch_submits("ct");
    root.query_selector("#go")
        .unwrap()
        .unwrap()
        .unchecked_into::<HtmlElement>()
        .click();
    assert_eq!(seen.submits.borrow()[0].1.as_deref(), Some("tok"));

    // guardForm from code on an unmarked form, with options.
    let plain = fixture(r#"<form id="plain"><button id="go2">go</button></form>"#);
    let form: HtmlFormElement = plain
        .query_selector("#plain")
        .unwrap()
        .unwrap()
        .unchecked_into();
    let guarded = first.guard(
        &form,
        FormOptions {
            token_field: "x_token".into(),
        },
    );
    let again = second.guard(
        &form,
        FormOptions {
            token_field: "y".into(),
        },
    );
    assert!(guarded && !again);
    let seen_x = watch_submits("x_token");
    plain
        .query_selector("#go2")
        .unwrap()
        .unwrap()
        .unchecked_into::<HtmlElement>()
        .click();
    assert_eq!(
        seen_x.submits.borrow().last().unwrap().1.as_deref(),
        Some("tok")
    );
    drop(seen);
    root.remove();
    plain.remove();
}

// ---- wired to the runtime --------------------------------------------------------------

mod wired {
    use super::*;
    use vivus_consent::config::Config;
    use vivus_consent::controller::Status;
    use vivus_consent::runtime::Runtime;
    use vivus_consent_core::consent::{ConsentId, SubjectId};
    use vivus_consent_core::policy;
    use vivus_consent_core::token::{Claims, SigningKey};

    fn key() -> SigningKey {
        SigningKey::from_seed([11; 32])
    }

    /// The test key inline and a service nobody listens on: choices stay pending.
    fn config() -> Config {
        let jwk = serde_json::to_string(&key().public_jwk()).unwrap();
        let mut json = String::from(r#"{"jwks":{"keys":["#);
        json.push_str(&jwk);
        json.push_str(
            r#"]},"jwksUrl":null,"endpoint":"http://127.0.0.1:9/v1/consents","net":{"maxAttempts":1,"timeoutMs":2000},
               "ui":{"autoShow":false}}"#,
        );
        Config::from_json(&json).unwrap()
    }

    fn token(categories: Categories, policy_accepted: bool) -> String {
        let now = (js_sys::Date::now() / 1000.0) as u64;
        key().sign(&Claims {
            iss: "vivus-consent".into(),
            sub: SubjectId::from_bytes([5; 16]),
            jti: ConsentId::from_bytes([6; 16]),
            iat: now - 5,
            exp: now + 3600,
            pv: policy::CURRENT.id.into(),
            pd: policy::CURRENT.digest.into(),
            lang: Language::Ru,
            cat: categories,
            pa: policy_accepted,
        })
    }

    fn clear_storage() {
        set_cookie("vivus_consent=; Max-Age=0; Path=/");
        if let Some(storage) = window().local_storage().ok().flatten() {
            for key in [
                "vivus_consent",
                "vivus_consent_pending",
                "vivus_consent_subject",
            ] {
                let _ = storage.remove_item(key);
            }
        }
    }

    #[wasm_bindgen_test]
    async fn a_verified_token_opens_the_gates_at_load_and_a_rejection_closes_them_at_once() {
        clear_storage();
        let _ = js_sys::Reflect::delete_property(&window(), &"dataLayer".into());
        let _ = js_sys::Reflect::delete_property(&window(), &"gtag".into());
        let signed = token(marketing(), true);
        let mut line = String::from("vivus_consent=");
        line.push_str(&signed);
        line.push_str("; Path=/");
        set_cookie(&line);
        set_cookie("_fbp=fb.1.2; Path=/");
        let root = fixture(FORM);
        gated_script(&root, &[("data-category", "marketing")], &bump("__w1_m"));
        gated_script(
            &root,
            &[("data-category", "!marketing")],
            &bump("__w1_not_m"),
        );

        let rt = Runtime::start(config()).await.unwrap();
        assert_eq!(rt.status(), Status::Recorded);
        let connection = vivus_consent::gates::connect(&rt).unwrap();
        assert_eq!(counter("__w1_m"), 1.0, "a verified grant runs at load");
        assert_eq!(counter("__w1_not_m"), 0.0);
        let layer = js_sys::Array::from(&global("dataLayer"));
        let event = layer.get(layer.length() - 1);
        let get = |o: &JsValue, k: &str| js_sys::Reflect::get(o, &k.into()).unwrap();
        assert_eq!(
            get(&event, "event").as_string().as_deref(),
            Some("vivus_consent_update")
        );
        assert_eq!(
            get(&event, "consentId").as_string(),
            Some(ConsentId::from_bytes([6; 16]).as_str().to_owned())
        );

        // The recorded token includes policy acceptance: the form goes at once, with it.
        let seen = watch_submits("consent_token");
        root.query_selector("#apply")
            .unwrap()
            .unwrap()
            .unchecked_into::<HtmlElement>()
            .click();
        assert_eq!(
            *seen.submits.borrow(),
            [(Some("apply".to_owned()), Some(signed.clone()))]
        );
        assert_eq!(rt.policy_token(), Some(signed));

        // A rejection applies at once, before the (unreachable) service answers.
        rt.choose(
            Categories::new(),
            None,
            vivus_consent_core::consent::Source::Api,
        )
        .unwrap();
        assert_eq!(rt.status(), Status::Pending);
        assert_eq!(counter("__w1_not_m"), 1.0, "the fallback runs at once");
        assert!(
            !cookies().contains("_fbp"),
            "marketing cookies are gone: {}",
            cookies()
        );
        let layer = js_sys::Array::from(&global("dataLayer"));
        let event = layer.get(layer.length() - 1);
        assert_eq!(js_sys::Array::from(&get(&event, "categories")).length(), 1);
        assert_eq!(rt.policy_token(), None, "a pending choice has no token");

        drop(connection);
        drop(seen);
        root.remove();
        clear_storage();
    }

    /// The data layer's entries, as `gtag` pushed them: `["consent", "update"]`,
    /// `["config", "G-…"]`, or the SDK's event (no command).
    fn data_layer_commands() -> Vec<String> {
        js_sys::Array::from(&global("dataLayer"))
            .iter()
            .map(|entry| {
                let parts = js_sys::Array::from(&entry);
                let word = |i| parts.get(i).as_string().unwrap_or_default();
                let mut command = word(0);
                command.push(' ');
                command.push_str(&word(1));
                command
            })
            .collect()
    }

    #[wasm_bindgen_test]
    async fn consent_mode_is_updated_before_an_inline_gated_gtag_config_runs() {
        clear_storage();
        let _ = js_sys::Reflect::delete_property(&window(), &"gtag".into());
        let _ = js_sys::Reflect::delete_property(&window(), &"dataLayer".into());
        let snippet = document().create_element("script").unwrap();
        snippet.set_text_content(Some(include_str!("../pkg/consent-mode.js")));
        document().body().unwrap().append_child(&snippet).unwrap();
        let analytics: Categories = [Category::Analytics].into_iter().collect();
        let mut line = String::from("vivus_consent=");
        line.push_str(&token(analytics, false));
        line.push_str("; Path=/");
        set_cookie(&line);
        // The markup docs/gates.md shows: inline tags that call gtag as they run.
        let root = fixture("");
        gated_script(
            &root,
            &[("data-category", "analytics")],
            "gtag('config', 'G-LOAD');",
        );
        gated_script(
            &root,
            &[("data-category", "marketing")],
            "gtag('config', 'AW-CHANGE');",
        );

        let rt = Runtime::start(config()).await.unwrap();
        let _connection = vivus_consent::gates::connect(&rt).unwrap();
        let at = |commands: &[String], wanted: &str| commands.iter().position(|c| c == wanted);
        let commands = data_layer_commands();
        let config = at(&commands, "config G-LOAD").expect("the analytics tag ran at load");
        assert!(
            at(&commands, "consent update").is_some_and(|update| update < config),
            "at load: {commands:?}"
        );

        // A change: the marketing tag runs after the update that grants it.
        rt.choose(
            Categories::all(),
            None,
            vivus_consent_core::consent::Source::Api,
        )
        .unwrap();
        let commands = data_layer_commands();
        let config =
            at(&commands, "config AW-CHANGE").expect("the marketing tag ran on the change");
        let update = commands
            .iter()
            .rposition(|c| c == "consent update")
            .unwrap();
        assert!(
            update < config && update > at(&commands, "config G-LOAD").unwrap(),
            "on a change: {commands:?}"
        );
        snippet.remove();
        root.remove();
        clear_storage();
    }

    #[wasm_bindgen_test]
    async fn a_pending_choice_posted_by_another_tab_grants_here_only_with_its_token() {
        clear_storage();
        let root = fixture("");
        gated_script(&root, &[("data-category", "analytics")], &bump("__w2_a"));
        let rt = Runtime::start(config()).await.unwrap();
        let _connection = vivus_consent::gates::connect(&rt).unwrap();
        assert_eq!(counter("__w2_a"), 0.0);

        // "Another tab": a second runtime state made the choice; what it has in flight travels.
        // Anyone on the site can post that on the channel, so it grants nothing here (issue 15).
        let analytics: Categories = [Category::Analytics].into_iter().collect();
        let choice = TabChoice {
            id: ConsentId::from_bytes([6; 16]),
            granted: analytics,
            policy_accepted: false,
        };
        let other = TabSync::start(&window(), Vec::new(), Rc::new(|_| {}));
        other.notify(&TabMessage {
            token: None,
            choice: Some(choice),
        });
        assert!(
            until(|| rt.status() == Status::Pending).await,
            "this tab waits for the other tab's choice"
        );
        sleep(50).await;
        assert_eq!(
            counter("__w2_a"),
            0.0,
            "the other tab's word grants nothing"
        );
        assert!(!rt.granted().contains(Category::Analytics));

        // Then the other tab's token for that same choice: it verifies here, and grants.
        other.notify(&TabMessage {
            token: Some(token(analytics, false)),
            choice: None,
        });
        assert!(until(|| rt.status() == Status::Recorded).await);
        assert!(
            until(|| counter("__w2_a") == 1.0).await,
            "the token's grant applies here"
        );
        assert!(rt.granted().contains(Category::Analytics));
        sleep(20).await;
        assert_eq!(counter("__w2_a"), 1.0, "once");
        root.remove();
        clear_storage();
    }

    #[wasm_bindgen_test]
    async fn attach_token_sets_the_recorded_token_on_form_data() {
        clear_storage();
        let signed = token(Categories::new(), true);
        let mut line = String::from("vivus_consent=");
        line.push_str(&signed);
        line.push_str("; Path=/");
        set_cookie(&line);
        let rt = Runtime::start(config()).await.unwrap();
        let consent = vivus_consent::api::Consent::from_runtime(rt);
        let data = web_sys::FormData::new().unwrap();
        let out = JsFuture::from(consent.attach_token(data.clone().into(), None))
            .await
            .unwrap();
        assert_eq!(data.get("consent_token").as_string(), Some(signed.clone()));
        assert!(out == JsValue::from(data));
        let err = JsFuture::from(consent.attach_token(JsValue::from_f64(1.0), None))
            .await
            .unwrap_err();
        let message = js_sys::Reflect::get(&err, &"message".into())
            .unwrap()
            .as_string()
            .unwrap();
        assert!(
            message.contains("attachToken: pass a FormData"),
            "{message}"
        );
        clear_storage();
    }
}
