//! The SDK in headless Chromium: the banner in both languages, each button, the settings
//! and policy dialogs (each: focus trap, Escape, focus restore; focus kept from the page
//! behind; restore after a language switch), stored tokens valid and not,
//! storage that throws, cookies that do not stick, invalid config, an unreachable service.
//!
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test -p vivus-consent --target wasm32-unknown-unknown --test browser`
#![cfg(target_arch = "wasm32")]
// Test assertions: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::cell::RefCell;
use std::rc::Rc;

use vivus_consent::config::Config;
use vivus_consent::controller::{Event, Status};
use vivus_consent::i18n;
use vivus_consent::runtime::Runtime;
use vivus_consent_core::category::{Categories, Category};
use vivus_consent_core::consent::{ConsentId, SubjectId};
use vivus_consent_core::language::Language;
use vivus_consent_core::policy;
use vivus_consent_core::token::{Claims, SigningKey};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, HtmlInputElement};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
export function shadow() {
  const host = document.querySelector('vivus-consent');
  return host ? host.shadowRoot : null;
}
export function hosts() { return document.querySelectorAll('vivus-consent').length; }
export function reset_page() {
  try { localStorage.clear(); } catch (e) {}
  document.cookie = 'vivus_consent=; Path=/; Max-Age=0';
  document.querySelectorAll('vivus-consent, .vc-test').forEach((e) => e.remove());
  document.body.style.paddingBottom = '';
}
export function block_local_storage() {
  window.__vcLocal = Object.getOwnPropertyDescriptor(window, 'localStorage');
  Object.defineProperty(window, 'localStorage', {
    configurable: true,
    get() { throw new DOMException('storage is disabled', 'SecurityError'); },
  });
}
export function restore_local_storage() {
  if (window.__vcLocal) Object.defineProperty(window, 'localStorage', window.__vcLocal);
  else delete window.localStorage;
}
export function block_cookies() {
  Object.defineProperty(document, 'cookie', { configurable: true, get() { return ''; }, set(v) {} });
}
export function restore_cookies() { delete document.cookie; }
export function fake_user_agent(ua) {
  Object.defineProperty(navigator, 'userAgent', { configurable: true, get() { return ua; } });
}
export function restore_user_agent() { delete navigator.userAgent; }
export function press(target, key, shift) {
  return target.dispatchEvent(new KeyboardEvent('keydown', { key, shiftKey: shift, bubbles: true, composed: true, cancelable: true }));
}
export function record(name) {
  const log = [];
  document.addEventListener('vivus-consent:' + name, (e) => log.push(e.detail));
  return log;
}
export function page_button() {
  const b = document.createElement('button');
  b.className = 'vc-test';
  b.textContent = 'page';
  document.body.appendChild(b);
  b.focus();
  return b;
}
export function active() { return document.activeElement; }
export function local(key) { try { return localStorage.getItem(key); } catch (e) { return null; } }
export function set_local(key, value) { localStorage.setItem(key, value); }
export function cookie() { return document.cookie; }
export function fake_first_stage(clicks, focus) {
  // What the first-paint build leaves (src/boot.rs): its host with the banner, the body padded,
  // the page's own padding and the clicks made on its banner noted on the host.
  document.body.style.paddingBottom = '7px';
  const host = document.createElement('vivus-consent');
  host.setAttribute('data-vc-boot', '');
  host.setAttribute('data-vc-pad', '7px');
  if (clicks) host.setAttribute('data-vc-clicks', clicks);
  const root = host.attachShadow({ mode: 'open' });
  root.innerHTML = '<div class="banner" role="region"><button data-vc="accept">a</button><button data-vc="reject">r</button></div>';
  document.body.appendChild(host);
  document.body.style.paddingBottom = '150px';
  if (focus) root.querySelector('[data-vc=' + focus + ']').focus();
}
export function set_cookie(line) { document.cookie = line; }
export function exercise(consent) {
  const out = {};
  out.stateKeys = Object.keys(consent.state()).sort().join(',');
  try { consent.has('ads'); } catch (e) { out.hasError = e.name + ':' + e.code; }
  const seen = [];
  const handler = (d) => seen.push(d.changed.join('+'));
  consent.on('change', handler);
  consent.accept(['analytics']);
  out.analytics = consent.has('analytics');
  out.marketing = consent.has('marketing');
  consent.off('change', handler);
  consent.acceptAll();
  out.seen = seen.join('|');
  consent.withdraw('marketing');
  out.afterWithdraw = consent.state().categories.join(',');
  out.status = consent.state().status;
  out.token = consent.token();
  try { consent.setLanguage('en'); } catch (e) { out.languageError = e.code; }
  consent.setLanguage('ru');
  out.language = consent.state().language;
  try { consent.on('nope', () => {}); } catch (e) { out.eventError = e.code; }
  try { consent.accept([1]); } catch (e) { out.acceptError = e.code; }
  return out;
}
export function hide_abort_signal_timeout() {
  window.__vcTimeout = AbortSignal.timeout;
  delete AbortSignal.timeout;
  return !('timeout' in AbortSignal);
}
export function restore_abort_signal_timeout() { AbortSignal.timeout = window.__vcTimeout; }
export function data_url(text) { return 'data:text/markdown;charset=utf-8,' + encodeURIComponent(text) + '#'; }
"#)]
extern "C" {
    fn shadow() -> Option<web_sys::ShadowRoot>;
    fn hosts() -> u32;
    fn reset_page();
    fn block_local_storage();
    fn restore_local_storage();
    fn block_cookies();
    fn restore_cookies();
    fn fake_user_agent(ua: &str);
    fn restore_user_agent();
    fn press(target: &Element, key: &str, shift: bool) -> bool;
    fn record(name: &str) -> js_sys::Array;
    fn page_button() -> HtmlElement;
    fn active() -> Option<Element>;
    fn local(key: &str) -> Option<String>;
    fn fake_first_stage(clicks: &str, focus: &str);
    fn set_local(key: &str, value: &str);
    fn cookie() -> String;
    fn set_cookie(line: &str);
    fn data_url(text: &str) -> String;
    fn exercise(consent: &JsValue) -> JsValue;
    fn hide_abort_signal_timeout() -> bool;
    fn restore_abort_signal_timeout();
}

const UNREACHABLE: &str = "http://127.0.0.1:9/v1/consents";

fn key() -> SigningKey {
    SigningKey::from_seed([7; 32])
}

/// A config with the test key inline, an unreachable service and one attempt per choice.
fn config(extra: &str) -> Config {
    let jwk = serde_json::to_string(&key().public_jwk()).expect("jwk");
    let mut json = String::from(r#"{"jwks":{"keys":["#);
    json.push_str(&jwk);
    json.push_str(r#"]},"jwksUrl":null,"endpoint":""#);
    json.push_str(UNREACHABLE);
    json.push_str(r#"","net":{"maxAttempts":1,"timeoutMs":3000}"#);
    if !extra.is_empty() {
        json.push(',');
        json.push_str(extra);
    }
    json.push('}');
    Config::from_json(&json).expect("test config")
}

fn now() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

fn claims(categories: Categories) -> Claims {
    Claims {
        iss: "vivus-consent".into(),
        sub: SubjectId::from_bytes([3; 16]),
        jti: ConsentId::from_bytes([4; 16]),
        iat: now() - 10,
        exp: now() + 3600,
        pv: policy::CURRENT.id.into(),
        pd: policy::CURRENT.digest.into(),
        lang: Language::Ru,
        cat: categories,
        pa: false,
    }
}

fn store_token(token: &str) {
    let mut line = String::from("vivus_consent=");
    line.push_str(token);
    line.push_str("; Path=/");
    set_cookie(&line);
}

async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = web_sys::window()
            .expect("window")
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = JsFuture::from(promise).await;
}

/// Clicks run their action after the handler returns: give it a turn.
async fn click(selector: &str) {
    let target: HtmlElement = find(selector).dyn_into().expect("clickable");
    target.click();
    sleep(10).await;
}

fn find(selector: &str) -> Element {
    try_find(selector).unwrap_or_else(|| panic!("no {selector} in the widget"))
}

fn try_find(selector: &str) -> Option<Element> {
    shadow()?.query_selector(selector).ok().flatten()
}

fn text(selector: &str) -> String {
    find(selector).text_content().unwrap_or_default()
}

fn inner_active() -> Option<Element> {
    shadow()?.active_element()
}

async fn start(config: Config) -> Rc<Runtime> {
    Runtime::start(config).await.expect("runtime starts")
}

fn set(names: &[Category]) -> Categories {
    names.iter().copied().collect()
}

#[wasm_bindgen_test]
async fn banner_renders_in_russian_and_switches_to_kazakh() {
    reset_page();
    let rt = start(config(r#""language":"ru""#)).await;
    let region = find("[role=region]");
    assert_eq!(
        region.get_attribute("aria-labelledby").as_deref(),
        Some("vc-bt")
    );
    assert_eq!(text("#vc-bt"), i18n::banner(Language::Ru).banner_title);
    let buttons = shadow()
        .expect("shadow")
        .query_selector_all(".actions button")
        .expect("buttons");
    assert_eq!(buttons.length(), 3, "accept, reject, settings");
    assert_eq!(text("[data-vc=accept]"), "Принять все");
    assert_eq!(text("[data-vc=reject]"), "Только необходимые");
    assert_eq!(text("[data-vc=settings]"), "Настроить");
    assert_eq!(
        find("[data-vc=lang-ru]")
            .get_attribute("aria-pressed")
            .as_deref(),
        Some("true")
    );
    // The page can still scroll everything above the banner.
    let padding = web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .body()
        .unwrap()
        .style()
        .get_property_value("padding-bottom")
        .unwrap();
    assert!(padding.ends_with("px") && padding != "0px", "{padding}");

    click("[data-vc=lang-kk]").await;
    assert_eq!(text("#vc-bt"), i18n::banner(Language::Kk).banner_title);
    assert_eq!(text("[data-vc=accept]"), "Барлығын қабылдау");
    assert_eq!(
        find("[role=region]").get_attribute("lang").as_deref(),
        Some("kk")
    );
    assert_eq!(rt.language(), Language::Kk);
    // Focus stays on the switch the visitor used.
    assert_eq!(
        inner_active()
            .and_then(|e| e.get_attribute("data-vc"))
            .as_deref(),
        Some("lang-kk")
    );
    drop(rt);
}

#[wasm_bindgen_test]
async fn the_sdk_takes_over_the_first_stage_banner_with_its_focus() {
    reset_page();
    fake_first_stage("", "reject");
    let rt = start(config(r#""language":"ru""#)).await;
    assert_eq!(
        hosts(),
        1,
        "the first stage's host is gone, the SDK's is there"
    );
    assert!(find("[role=region]").is_connected());
    assert_eq!(
        inner_active()
            .and_then(|e| e.get_attribute("data-vc"))
            .as_deref(),
        Some("reject"),
        "focus on the SDK's button with the same hook"
    );
    drop(rt);
    let body = web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .body()
        .unwrap();
    assert_eq!(
        body.style().get_property_value("padding-bottom").unwrap(),
        "7px",
        "the page's own padding comes back, not the first stage's"
    );
}

#[wasm_bindgen_test]
async fn clicks_on_the_first_stage_banner_are_repeated_on_the_sdks() {
    reset_page();
    fake_first_stage("lang-kk accept", "");
    let rt = start(config(r#""language":"ru""#)).await;
    sleep(10).await;
    assert_eq!(hosts(), 1);
    assert_eq!(rt.language(), Language::Kk, "the language chosen first");
    assert_eq!(rt.granted(), Categories::all(), "then accept all");
    assert_eq!(rt.status(), Status::Pending);
    assert!(
        try_find("[role=region]").is_none(),
        "banner hidden after the choice"
    );
    let pending = local("vivus_consent_pending").expect("the choice is persisted");
    assert!(
        pending.contains(r#""source":"banner""#),
        "a banner choice: {pending}"
    );
    drop(rt);
}

#[wasm_bindgen_test]
async fn accept_all_grants_everything_at_once_and_persists_the_pending_choice() {
    reset_page();
    let changes = record("change");
    let rt = start(config(r#""language":"kk""#)).await;
    click("[data-vc=accept]").await;
    assert_eq!(rt.granted(), Categories::all());
    assert_eq!(rt.status(), Status::Pending);
    assert!(
        try_find("[role=region]").is_none(),
        "banner hidden after a choice"
    );
    let body = web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .body()
        .unwrap();
    assert_eq!(
        body.style().get_property_value("padding-bottom").unwrap(),
        "",
        "the page's padding is restored"
    );
    let pending = local("vivus_consent_pending").expect("pending persisted");
    let state = rt.snapshot();
    let id = state.consent_id().expect("an id").as_str().to_owned();
    assert!(pending.contains(&id), "{pending}");
    assert!(
        pending.contains(r#""marketing":true"#) && pending.contains(r#""language":"kk""#),
        "{pending}"
    );
    assert_eq!(changes.length(), 1);
    let detail = changes.get(0);
    let changed: js_sys::Array = js_sys::Reflect::get(&detail, &"changed".into())
        .unwrap()
        .into();
    assert_eq!(changed.length(), 2);
}

#[wasm_bindgen_test]
async fn reject_all_keeps_only_necessary() {
    reset_page();
    let rt = start(config("")).await;
    click("[data-vc=reject]").await;
    assert_eq!(rt.granted(), Categories::new());
    assert_eq!(rt.status(), Status::Pending);
    assert!(try_find("[role=region]").is_none());
}

#[wasm_bindgen_test]
async fn settings_toggle_categories_and_save_exactly_those() {
    reset_page();
    let rt = start(config(r#""language":"ru","categories":{"analytics":{"services":[{"name":"Яндекс Метрика","cookies":["_ym_*"]}]}}"#)).await;
    click("[data-vc=settings]").await;
    let dialog = find("[role=dialog]");
    assert_eq!(dialog.get_attribute("aria-modal").as_deref(), Some("true"));
    assert_eq!(text("#vc-pt"), "Настройки cookie-файлов");
    assert_eq!(
        inner_active().as_ref(),
        Some(&dialog),
        "focus moved into the dialog"
    );

    let necessary: HtmlInputElement = find("#vc-sw-necessary").dyn_into().unwrap();
    assert!(necessary.checked() && necessary.disabled());
    assert_eq!(necessary.get_attribute("role").as_deref(), Some("switch"));
    let analytics: HtmlInputElement = find("#vc-sw-analytics").dyn_into().unwrap();
    let marketing: HtmlInputElement = find("#vc-sw-marketing").dyn_into().unwrap();
    assert!(
        !analytics.checked() && !marketing.checked(),
        "optional categories start off"
    );
    assert_eq!(
        text("label[for=vc-sw-marketing]"),
        Category::Marketing.title(Language::Ru)
    );
    assert!(dialog.text_content().unwrap().contains("Яндекс Метрика"));

    analytics.click();
    assert!(analytics.checked());
    click("[data-vc=save]").await;
    assert_eq!(rt.granted(), set(&[Category::Analytics]));
    assert!(try_find("[role=dialog]").is_none(), "dialog closed");

    // Reopened, the switches show what is granted.
    rt.show_preferences();
    let analytics: HtmlInputElement = find("#vc-sw-analytics").dyn_into().unwrap();
    assert!(analytics.checked());
    click("[data-vc=reject]").await;
    assert_eq!(rt.granted(), Categories::new());
}

/// The open dialog traps Tab and Shift+Tab at its ends, Escape closes it, and focus goes
/// back to `opener`.
async fn assert_trapped_then_closed_by_escape(opener: &HtmlElement) {
    let dialog = find("[role=dialog]");
    let focusable = dialog
        .query_selector_all(
            "button:not([disabled]):not([hidden]),input:not([disabled]),a[href],summary",
        )
        .unwrap();
    assert!(focusable.length() > 1, "the dialog has controls");
    let first: HtmlElement = focusable.item(0).unwrap().dyn_into().unwrap();
    let last: HtmlElement = focusable
        .item(focusable.length() - 1)
        .unwrap()
        .dyn_into()
        .unwrap();

    last.focus().unwrap();
    let not_prevented = press(&last, "Tab", false);
    assert!(!not_prevented, "Tab on the last control is handled");
    assert_eq!(
        inner_active().as_ref(),
        Some(first.as_ref()),
        "Tab wraps to the first control"
    );
    press(&first, "Tab", true);
    assert_eq!(
        inner_active().as_ref(),
        Some(last.as_ref()),
        "Shift+Tab wraps to the last control"
    );

    press(&last, "Escape", false);
    sleep(10).await;
    assert!(
        try_find("[role=dialog]").is_none(),
        "Escape closed the dialog"
    );
    assert_eq!(
        active().as_ref(),
        Some(opener.as_ref()),
        "focus is back on the opener"
    );
}

#[wasm_bindgen_test]
async fn focus_is_trapped_escape_closes_and_focus_returns() {
    reset_page();
    let rt = start(config(r#""ui":{"autoShow":false}"#)).await;
    let opener = page_button();
    rt.show_preferences();
    assert_trapped_then_closed_by_escape(&opener).await;
}

#[wasm_bindgen_test]
async fn the_policy_viewer_traps_focus_closes_on_escape_and_restores_focus() {
    reset_page();
    let markdown = policy::text(policy::CURRENT.id, Language::Ru).expect("policy text");
    let mut extra = String::from(r#""ui":{"autoShow":false},"policyUrl":""#);
    extra.push_str(&data_url(markdown));
    extra.push('"');
    let rt = start(config(&extra)).await;
    let opener = page_button();
    rt.show_policy();
    // Trap the loaded text's controls, not the loading state's.
    for _ in 0..50 {
        if try_find(".policy h3").is_some() {
            break;
        }
        sleep(20).await;
    }
    assert!(try_find(".policy h3").is_some(), "the policy loaded");
    assert_trapped_then_closed_by_escape(&opener).await;
}

#[wasm_bindgen_test]
async fn focus_that_lands_outside_an_open_dialog_goes_back_to_it() {
    reset_page();
    let rt = start(config(r#""ui":{"autoShow":false}"#)).await;
    let opener = page_button();
    rt.show_preferences();
    let dialog = find("[role=dialog]");
    // A page script (or Tab from the body) focuses something behind the backdrop.
    opener.focus().unwrap();
    assert_ne!(
        active().as_ref(),
        Some(opener.as_ref()),
        "focus did not stay behind"
    );
    assert_eq!(
        inner_active().as_ref(),
        Some(&dialog),
        "focus is back in the dialog"
    );
    press(&dialog, "Escape", false);
    sleep(10).await;
    assert!(try_find("[role=dialog]").is_none());
    // With no dialog open the page has its focus to itself again.
    let other = page_button();
    opener.focus().unwrap();
    assert_eq!(active().as_ref(), Some(opener.as_ref()));
    other.remove();
}

#[wasm_bindgen_test]
async fn focus_returns_to_the_banner_button_after_a_language_switch_in_the_dialog() {
    reset_page();
    let _rt = start(config(r#""language":"ru""#)).await;
    let settings: HtmlElement = find("[data-vc=settings]").dyn_into().unwrap();
    settings.focus().unwrap();
    click("[data-vc=settings]").await;
    // The switch re-renders the banner behind the dialog: the opener saved is gone.
    click("[role=dialog] [data-vc=lang-kk]").await;
    assert!(!settings.is_connected(), "the banner was rebuilt");
    press(&find("[role=dialog]"), "Escape", false);
    sleep(10).await;
    assert!(try_find("[role=dialog]").is_none());
    let focused = inner_active().expect("focus is in the widget");
    assert_eq!(
        focused.get_attribute("data-vc").as_deref(),
        Some("settings")
    );
    assert_eq!(text("[data-vc=settings]"), focused.text_content().unwrap());
}

#[wasm_bindgen_test]
async fn the_page_themes_the_widget_with_vivus_custom_properties() {
    reset_page();
    let root: HtmlElement = web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .document_element()
        .unwrap()
        .dyn_into()
        .unwrap();
    root.style()
        .set_property("--vivus-accent", "rgb(1, 2, 3)")
        .unwrap();
    let _rt = start(config("")).await;
    let accept = find("[data-vc=accept]");
    let style = web_sys::window()
        .unwrap()
        .get_computed_style(&accept)
        .unwrap()
        .unwrap();
    // The computed style is live: read it before the page takes its property back.
    let background = style.get_property_value("background-color").unwrap();
    root.style().remove_property("--vivus-accent").unwrap();
    assert_eq!(
        background, "rgb(1, 2, 3)",
        "the page's --vivus-accent reaches the shadow root"
    );
}

#[wasm_bindgen_test]
async fn policy_viewer_loads_the_policy_when_opened_and_renders_its_sections() {
    reset_page();
    let markdown = policy::text(policy::CURRENT.id, Language::Ru).expect("policy text");
    let doc = policy::Document::parse(markdown).expect("parses");
    let mut extra = String::from(r#""language":"ru","policyUrl":""#);
    extra.push_str(&data_url(markdown));
    extra.push('"');
    let rt = start(config(&extra)).await;
    click("[data-vc=policy]").await;
    let dialog = find("[role=dialog]");
    assert_eq!(
        dialog.get_attribute("aria-labelledby").as_deref(),
        Some("vc-vt")
    );
    for _ in 0..50 {
        if try_find(".policy h3").is_some() {
            break;
        }
        sleep(20).await;
    }
    let headings = shadow().unwrap().query_selector_all(".policy h3").unwrap();
    assert_eq!(headings.length() as usize, doc.sections.len());
    let first = headings.item(0).unwrap().text_content().unwrap();
    assert!(
        first.starts_with("1. ") && first.ends_with(&doc.sections[0].title),
        "{first}"
    );
    assert!(
        shadow()
            .unwrap()
            .query_selector_all(".policy li")
            .unwrap()
            .length()
            > 5
    );
    // Text only: nothing in the policy became markup other than what the renderer made.
    assert!(try_find(".policy script, .policy img").is_none());
    click("[data-vc=done]").await;
    assert!(try_find("[role=dialog]").is_none());
    drop(rt);
}

#[wasm_bindgen_test]
async fn policy_viewer_reports_a_failed_load_with_a_retry() {
    reset_page();
    let rt = start(config(
        r#""language":"kk","policyUrl":"http://127.0.0.1:9/policy/""#,
    ))
    .await;
    rt.show_policy();
    for _ in 0..100 {
        if try_find("[role=alert]").is_some() {
            break;
        }
        sleep(30).await;
    }
    assert_eq!(text("[role=alert]"), i18n::text(Language::Kk).policy_failed);
    assert!(try_find("[data-vc=retry]").is_some());
}

#[wasm_bindgen_test]
async fn a_stored_valid_token_hides_the_banner_and_restores_the_choice() {
    reset_page();
    let token = key().sign(&claims(set(&[Category::Marketing])));
    store_token(&token);
    let rt = start(config("")).await;
    assert_eq!(rt.status(), Status::Recorded);
    assert_eq!(rt.granted(), set(&[Category::Marketing]));
    assert_eq!(rt.snapshot().token(), Some(token.as_str()));
    assert!(
        try_find("[role=region]").is_none(),
        "no banner for a returning visitor"
    );
    assert_eq!(
        rt.snapshot().subject().as_str(),
        SubjectId::from_bytes([3; 16]).as_str()
    );
}

#[wasm_bindgen_test]
async fn tampered_expired_foreign_and_outdated_tokens_bring_the_banner_back() {
    let good = key().sign(&claims(Categories::all()));
    let mut tampered = good.clone();
    let at = tampered.find('.').unwrap() + 5;
    tampered.replace_range(at..at + 1, if &good[at..at + 1] == "A" { "B" } else { "A" });
    let mut expired = claims(Categories::all());
    expired.iat = now() - 7200;
    expired.exp = now() - 3600;
    let mut outdated = claims(Categories::all());
    outdated.pd = "0".repeat(64);
    let mut foreign = claims(Categories::all());
    foreign.iss = "someone-else".into();
    let other_key = SigningKey::from_seed([8; 32]).sign(&claims(Categories::all()));
    for token in [
        tampered,
        key().sign(&expired),
        key().sign(&outdated),
        key().sign(&foreign),
        other_key,
    ] {
        reset_page();
        store_token(&token);
        let rt = start(config("")).await;
        assert_eq!(rt.status(), Status::None, "{token}");
        assert_eq!(rt.granted(), Categories::new());
        assert!(try_find("[role=region]").is_some(), "banner is back");
        assert!(!cookie().contains(&token), "the bad token was removed");
        drop(rt);
    }
}

#[wasm_bindgen_test]
async fn throwing_local_storage_does_not_break_the_widget() {
    reset_page();
    block_local_storage();
    let rt = Runtime::start(config("")).await;
    let result = async {
        let rt = rt.expect("starts without localStorage");
        assert!(try_find("[role=region]").is_some());
        click("[data-vc=accept]").await;
        assert_eq!(rt.status(), Status::Pending);
        assert_eq!(rt.granted(), Categories::all());
        rt.show_preferences();
        assert!(try_find("[role=dialog]").is_some());
    };
    result.await;
    restore_local_storage();
}

#[wasm_bindgen_test]
async fn cookies_that_do_not_stick_fall_back_to_the_local_storage_mirror() {
    reset_page();
    let token = key().sign(&claims(set(&[Category::Analytics])));
    set_local("vivus_consent", &token);
    block_cookies();
    let rt = start(config("")).await;
    assert_eq!(rt.status(), Status::Recorded);
    assert_eq!(rt.granted(), set(&[Category::Analytics]));
    rt.show();
    click("[data-vc=reject]").await;
    assert_eq!(rt.granted(), Categories::new());
    restore_cookies();
}

#[wasm_bindgen_test]
async fn the_local_storage_mirror_is_named_after_the_cookie() {
    reset_page();
    let token = key().sign(&claims(set(&[Category::Analytics])));
    // Another config's mirror on this origin is not this config's consent.
    set_local("vivus_consent", &token);
    let shop = || config(r#""cookie":{"name":"shop_consent"}"#);
    let rt = start(shop()).await;
    assert_eq!(rt.status(), Status::None, "the default mirror is not read");
    rt.choose(
        Categories::all(),
        None,
        vivus_consent_core::consent::Source::Api,
    )
    .expect("choose");
    assert!(
        local("shop_consent_pending").is_some(),
        "its choice is kept under its own name"
    );
    assert!(local("vivus_consent_pending").is_none());
    drop(rt);

    reset_page();
    set_local("shop_consent", &token);
    let rt = start(shop()).await;
    assert_eq!(rt.status(), Status::Recorded, "its own mirror is read");
    assert_eq!(rt.granted(), set(&[Category::Analytics]));
    drop(rt);
}

#[wasm_bindgen_test]
async fn an_unreachable_service_leaves_the_choice_pending_and_emits_error() {
    reset_page();
    let errors = record("error");
    let seen = Rc::new(RefCell::new(Vec::new()));
    let rt = start(config(r#""language":"ru""#)).await;
    let log = seen.clone();
    rt.subscribe(Rc::new(move |_: &Runtime, event: &Event| {
        log.borrow_mut().push(event.clone())
    }));
    rt.choose(
        Categories::all(),
        None,
        vivus_consent_core::consent::Source::Api,
    )
    .expect("choose");
    for _ in 0..150 {
        if errors.length() > 0 {
            break;
        }
        sleep(20).await;
    }
    assert_eq!(errors.length(), 1, "one :error for one failed attempt");
    let detail = errors.get(0);
    assert_eq!(
        js_sys::Reflect::get(&detail, &"code".into())
            .unwrap()
            .as_string()
            .as_deref(),
        Some("network")
    );
    assert_eq!(
        js_sys::Reflect::get(&detail, &"message".into())
            .unwrap()
            .as_string()
            .as_deref(),
        Some(i18n::text(Language::Ru).error_network)
    );
    assert!(seen.borrow().contains(&Event::Error { code: "network" }));
    assert_eq!(rt.status(), Status::Pending);
    let id = rt.snapshot().consent_id().unwrap().clone();

    // A reload keeps the choice and retries it with the same id.
    drop(rt);
    reset_page_ui_only();
    let again = start(config("")).await;
    assert_eq!(again.status(), Status::Pending);
    assert_eq!(again.snapshot().consent_id(), Some(&id));
    // A choice to send, not a grant: nothing until the service signs it (issue 15).
    assert_eq!(again.granted(), Categories::new());
    assert!(try_find("[role=region]").is_none());
}

fn reset_page_ui_only() {
    if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
        if let Ok(list) = doc.query_selector_all("vivus-consent") {
            for i in 0..list.length() {
                if let Some(node) = list.item(i) {
                    node.unchecked_into::<Element>().remove();
                }
            }
        }
    }
}

#[wasm_bindgen_test]
async fn crawlers_get_no_banner_and_no_grants_but_webdriver_is_not_a_crawler() {
    reset_page();
    fake_user_agent("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)");
    let rt = start(config("")).await;
    restore_user_agent();
    assert_eq!(hosts(), 0, "no banner for a crawler");
    assert_eq!(rt.granted(), Categories::new());
    drop(rt);

    reset_page();
    let webdriver =
        js_sys::Reflect::get(&web_sys::window().unwrap().navigator(), &"webdriver".into()).unwrap();
    assert!(webdriver.is_truthy(), "this browser is automated");
    let rt = start(config("")).await;
    assert!(
        try_find("[role=region]").is_some(),
        "automation is not a crawler"
    );
    drop(rt);
}

#[wasm_bindgen_test]
fn invalid_config_is_rejected_with_a_type_error_naming_the_member() {
    // `init` rejects with exactly this error; it is checked here on the conversion, since
    // the page's one instance may already exist when this test runs.
    for (config, member) in [
        (r#"{"ui":{"autoShow":"yes"}}"#, "ui.autoShow"),
        (r#"{"endpiont":"/v1/consents"}"#, "endpiont"),
        (r#"{"cookie":{"name":"a;b"}}"#, "cookie.name"),
    ] {
        let value = js_sys::JSON::parse(config).unwrap();
        let err = vivus_consent::api::config_from_js(&value).expect_err("invalid");
        let err: js_sys::Error = JsValue::from(err).dyn_into().expect("an Error");
        assert_eq!(String::from(err.name()), "TypeError");
        assert_eq!(
            js_sys::Reflect::get(&err, &"code".into())
                .unwrap()
                .as_string()
                .as_deref(),
            Some("invalid_config")
        );
        let message = String::from(err.message());
        assert!(message.contains(member), "{message}");
    }
    // What JSON.stringify would drop (or make null) without a word, at any depth.
    for (source, message) in [
        (
            "({ onChange() {} })",
            "onChange: functions are not accepted",
        ),
        (
            "({ ui: { onShow() {} } })",
            "ui.onShow: functions are not accepted",
        ),
        (
            "({ categories: { analytics: { services: [], onGrant() {} } } })",
            "categories.analytics.onGrant: functions are not accepted",
        ),
        (
            "({ language: undefined })",
            "language: undefined is not accepted",
        ),
        (
            "({ cookie: { path: undefined } })",
            "cookie.path: undefined is not accepted",
        ),
        (
            "({ cleanup: { analytics: ['_ga', undefined] } })",
            "cleanup.analytics[1]: undefined is not accepted",
        ),
        (
            "({ ui: { autoShow: Symbol('x') } })",
            "ui.autoShow: symbols are not accepted",
        ),
    ] {
        let value = js_sys::eval(source).unwrap();
        let err = vivus_consent::api::config_from_js(&value).expect_err(source);
        let err: js_sys::Error = JsValue::from(err).dyn_into().expect("an Error");
        let text = String::from(err.message());
        assert!(text.contains(message), "{source}: {text}");
    }
}

#[wasm_bindgen_test]
async fn init_twice_returns_the_same_object_and_late_ready_listeners_still_fire() {
    reset_page();
    let config =
        js_sys::JSON::parse(r#"{"ui":{"autoShow":false},"language":"kk","jwksUrl":null}"#).unwrap();
    let first = vivus_consent::api::init(config.clone());
    let second = vivus_consent::api::init(config);
    let (a, b) = (
        JsFuture::from(first).await.expect("init"),
        JsFuture::from(second).await.expect("init"),
    );
    assert!(js_sys::Object::is(&a, &b), "one instance per page");
    let rt = vivus_consent::api::runtime().expect("runtime");
    assert!(rt.is_ready());
    let fired = Rc::new(RefCell::new(0));
    let count = fired.clone();
    let handler = Closure::<dyn FnMut(JsValue)>::new(move |_| *count.borrow_mut() += 1);
    rt.on(
        "ready",
        handler.as_ref().unchecked_ref::<js_sys::Function>().clone(),
    );
    assert_eq!(*fired.borrow(), 1);
    assert_eq!(hosts(), 0, "autoShow false shows nothing");
}

#[wasm_bindgen_test]
async fn policy_acceptance_needs_the_unticked_box_and_cancel_declines() {
    reset_page();
    let rt = start(config(r#""language":"ru","ui":{"autoShow":false}"#)).await;
    let waiting = {
        let rt = rt.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            rt.request_policy_acceptance()
                .await
                .map(JsValue::from)
                .map_err(JsValue::from)
        })
    };
    sleep(10).await;
    let dialog = find("[role=dialog]");
    assert_eq!(
        dialog.get_attribute("aria-labelledby").as_deref(),
        Some("vc-at")
    );
    let checkbox: HtmlInputElement = find("#vc-accept").dyn_into().unwrap();
    assert!(!checkbox.checked(), "acceptance is never pre-ticked");
    let label = text("label[for=vc-accept]");
    assert_eq!(label, policy::acceptance_label(Language::Ru).text);

    click("[data-vc=confirm]").await;
    assert_eq!(
        text("[role=alert]"),
        i18n::text(Language::Ru).acceptance_required
    );
    assert_eq!(
        rt.status(),
        Status::None,
        "nothing was sent without the tick"
    );

    click("[data-vc=cancel]").await;
    let err = JsFuture::from(waiting).await.expect_err("declined");
    assert_eq!(
        js_sys::Reflect::get(&err, &"code".into())
            .unwrap()
            .as_string()
            .as_deref(),
        Some("declined")
    );
    assert!(try_find("[role=dialog]").is_none());
}

#[wasm_bindgen_test]
async fn accepted_policy_with_the_service_down_shows_the_error_and_a_retry_and_survives_a_reload() {
    reset_page();
    let rt = start(config(r#""language":"kk","ui":{"autoShow":false}"#)).await;
    let waiting = {
        let rt = rt.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            rt.request_policy_acceptance()
                .await
                .map(JsValue::from)
                .map_err(JsValue::from)
        })
    };
    sleep(10).await;
    find("#vc-accept")
        .unchecked_into::<HtmlInputElement>()
        .click();
    click("[data-vc=confirm]").await;
    assert_eq!(rt.status(), Status::Pending);
    assert!(rt.snapshot().policy_accepted());
    for _ in 0..150 {
        if try_find("[role=alert]").is_some() {
            break;
        }
        sleep(20).await;
    }
    assert_eq!(text("[role=alert]"), i18n::text(Language::Kk).error_network);
    let retry: HtmlElement = find("[data-vc=retry]").dyn_into().unwrap();
    assert!(!retry.hidden(), "a retry is offered");
    assert!(local("vivus_consent_pending")
        .unwrap_or_default()
        .contains(r#""policyAccepted":true"#));
    drop(waiting);
    drop(rt);

    // After a reload the acceptance is still pending: the dialog opens ticked and resends.
    reset_page_ui_only();
    let again = start(config(r#""language":"kk","ui":{"autoShow":false}"#)).await;
    let waiting = {
        let rt = again.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            rt.request_policy_acceptance()
                .await
                .map(JsValue::from)
                .map_err(JsValue::from)
        })
    };
    sleep(10).await;
    assert!(find("#vc-accept")
        .unchecked_into::<HtmlInputElement>()
        .checked());
    assert_eq!(again.status(), Status::Pending);

    // Closed while the acceptance is still being recorded: the caller is told so (not
    // "declined", and not left waiting forever), and the choice stays pending.
    again.hide();
    let give_up = js_sys::Promise::new(&mut |resolve, _| {
        let _ = web_sys::window()
            .expect("window")
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 1000);
    });
    let err = JsFuture::from(js_sys::Promise::race(&js_sys::Array::of2(
        &waiting, &give_up,
    )))
    .await
    .expect_err("the caller is settled when the dialog closes");
    assert_eq!(
        js_sys::Reflect::get(&err, &"code".into())
            .unwrap()
            .as_string()
            .as_deref(),
        Some("acceptance_pending")
    );
    assert_eq!(again.status(), Status::Pending);
}

#[wasm_bindgen_test]
async fn the_js_api_does_what_its_names_say() {
    reset_page();
    let config =
        js_sys::JSON::parse(r#"{"ui":{"autoShow":false},"language":"kk","jwksUrl":null}"#).unwrap();
    let consent = JsFuture::from(vivus_consent::api::init(config))
        .await
        .expect("init");
    let out = exercise(&consent);
    let get = |key: &str| js_sys::Reflect::get(&out, &key.into()).unwrap();
    assert_eq!(
        get("stateKeys").as_string().as_deref(),
        Some("categories,consentId,expiresAt,issuedAt,language,policyAccepted,policyDigest,policyVersion,status,subjectId")
    );
    assert_eq!(
        get("hasError").as_string().as_deref(),
        Some("TypeError:invalid_argument")
    );
    assert_eq!(get("analytics").as_bool(), Some(true));
    assert_eq!(get("marketing").as_bool(), Some(false));
    assert_eq!(
        get("seen").as_string().as_deref(),
        Some("analytics"),
        "off() removed the handler"
    );
    assert_eq!(
        get("afterWithdraw").as_string().as_deref(),
        Some("necessary,analytics")
    );
    assert_eq!(get("status").as_string().as_deref(), Some("pending"));
    assert!(get("token").is_null(), "no token while pending");
    assert_eq!(
        get("languageError").as_string().as_deref(),
        Some("invalid_argument")
    );
    assert_eq!(get("language").as_string().as_deref(), Some("ru"));
    assert_eq!(
        get("eventError").as_string().as_deref(),
        Some("invalid_argument")
    );
    assert_eq!(
        get("acceptError").as_string().as_deref(),
        Some("invalid_argument")
    );
}

#[wasm_bindgen_test]
async fn requests_time_out_with_or_without_abort_signal_timeout() {
    for native in [true, false] {
        if !native {
            assert!(
                hide_abort_signal_timeout(),
                "AbortSignal.timeout removed for this run"
            );
        }
        let signal = vivus_consent::net::timeout_signal(20).expect("a signal");
        assert!(!signal.aborted());
        sleep(120).await;
        assert!(
            signal.aborted(),
            "aborted after the timeout (native: {native})"
        );
        let name = js_sys::Reflect::get(&signal.reason(), &"name".into())
            .unwrap()
            .as_string();
        assert_eq!(
            name.as_deref(),
            Some(if native { "TimeoutError" } else { "AbortError" })
        );
        if !native {
            restore_abort_signal_timeout();
        }
    }
}

#[wasm_bindgen_test]
async fn a_token_whose_key_cannot_be_fetched_grants_nothing_but_is_kept() {
    reset_page();
    let token = key().sign(&claims(Categories::all()));
    store_token(&token);
    // No inline keys and an unreachable key set: the token cannot be checked on this page.
    let mut config = config("");
    config.jwks = None;
    config.jwks_url = Some("http://127.0.0.1:9/.well-known/jwks.json".into());
    let rt = start(config).await;
    assert_eq!(rt.status(), Status::None);
    assert_eq!(
        rt.granted(),
        Categories::new(),
        "an unchecked token grants nothing"
    );
    assert!(
        cookie().contains(&token),
        "kept for a page that can fetch the keys"
    );
    drop(rt);

    // With the key set inline it verifies again.
    reset_page_ui_only();
    let rt = start(self::config("")).await;
    assert_eq!(rt.status(), Status::Recorded);
    assert_eq!(rt.granted(), Categories::all());
}

#[wasm_bindgen_test]
async fn only_a_fetched_key_set_is_trusted_never_one_planted_in_storage() {
    let jwk = serde_json::to_string(&key().public_jwk()).expect("jwk");
    let mut key_set = String::from(r#"{"keys":["#);
    key_set.push_str(&jwk);
    key_set.push_str("]}");
    let url = data_url(&key_set);
    let fetching = || {
        let mut config = config("");
        config.jwks = None;
        config.jwks_url = Some(url.clone());
        config
    };
    // Where the SDK once kept the fetched set: a page script can write there.
    let mut cache_key = String::from("vivus_consent_jwks:");
    cache_key.push_str(&url);
    let token = key().sign(&claims(set(&[Category::Marketing])));

    reset_page();
    store_token(&token);
    block_local_storage();
    let rt = start(fetching()).await;
    restore_local_storage();
    assert_eq!(
        rt.status(),
        Status::Recorded,
        "verified with the fetched set, storage throwing"
    );
    drop(rt);

    // A key of the attacker's own, planted where the set was kept, and a token it signed.
    let attacker = SigningKey::from_seed([66; 32]);
    let mut planted = String::from(r#"{"keys":["#);
    planted.push_str(&serde_json::to_string(&attacker.public_jwk()).expect("jwk"));
    planted.push_str("]}");
    let forged = attacker.sign(&claims(Categories::all()));
    reset_page();
    store_token(&forged);
    set_local(&cache_key, &planted);
    let rt = start(fetching()).await;
    assert_eq!(rt.status(), Status::None, "a planted key verifies nothing");
    assert_eq!(rt.granted(), Categories::new());
    assert_eq!(
        local(&cache_key).as_deref(),
        Some(planted.as_str()),
        "and the SDK keeps no set of its own there"
    );
    drop(rt);
}
