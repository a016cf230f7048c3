//! What the SDK and the first-paint build (`crate::boot`) draw alike: the host element and its
//! shadow root, the body padding under the banner, the language switch's buttons, and the
//! hand-over from the first-paint banner to the SDK's.

// Each build uses its part: the first-paint build draws and hands over, the SDK takes over.
#![allow(dead_code)]

use vivus_consent_core::language::Language;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, HtmlElement, ShadowRoot};

use super::{attr, button, child};

/// The banner's rules: all the first-paint build adopts. Its `:host` rule is the theme: each
/// internal `--vc-*` colour is the page's `--vivus-*` property when set (inherited through the
/// host, as the embed placeholders read them), else the light or dark default (pkg/README.md,
/// "Theming"). The banner has no entrance animation: it is readable the frame it is built,
/// and reduced motion is honoured by having none. Said here rather than in the sheet, whose
/// text ships in the wasm.
pub(crate) const BANNER_CSS: &str = include_str!("banner.css");

/// The host element with its open shadow root and `css` adopted, not yet in the page. The
/// SDK and the first-paint build both make their host here, so the two are the same.
pub(crate) fn host(doc: &Document, css: &str) -> Option<(HtmlElement, ShadowRoot)> {
    // An element of a name no one defines is an HTMLElement.
    let host: HtmlElement = doc.create_element("vivus-consent").ok()?.unchecked_into();
    let root = host
        .attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open))
        .ok()?;
    // A constructed sheet is not inline CSS, so it works under `style-src 'self'`; old
    // browsers without constructable sheets get a <style>.
    match web_sys::CssStyleSheet::new() {
        Ok(sheet) if sheet.replace_sync(css).is_ok() => {
            root.set_adopted_style_sheets(&js_sys::Array::of1(&sheet));
        }
        _ => {
            let style = doc.create_element("style").ok()?;
            style.set_text_content(Some(css));
            root.append_child(&style).ok()?;
        }
    }
    Some((host, root))
}

/// Keeps the page scrollable above the banner: pads the body by the banner's height.
/// `saved` keeps the page's own inline `padding-bottom` (the first call saves it).
pub(crate) fn pad_body(doc: &Document, banner: &Element, saved: &mut Option<String>) {
    let Some(body) = doc.body() else { return };
    // The banner is the `div` `super::banner::draw` made.
    let height = banner.unchecked_ref::<HtmlElement>().offset_height().max(0);
    let style = body.style();
    if saved.is_none() {
        *saved = Some(
            style
                .get_property_value("padding-bottom")
                .unwrap_or_default(),
        );
    }
    let mut value = String::new();
    crate::storage::push_u64(&mut value, height as u64);
    value.push_str("px");
    let _ = style.set_property("padding-bottom", &value);
}

/// Gives the body its own `padding-bottom` back.
pub(crate) fn unpad_body(doc: &Document, saved: Option<String>) {
    if let (Some(original), Some(body)) = (saved, doc.body()) {
        let _ = body.style().set_property("padding-bottom", &original);
    }
}

/// What the first-paint build leaves for the SDK on its host (see `crate::boot`).
pub(crate) mod boot_host {
    /// Marks the first-paint build's host.
    pub(crate) const MARK: &str = "data-vc-boot";
    /// Finds that host.
    pub(crate) const SELECTOR: &str = "vivus-consent[data-vc-boot]";
    /// The page's own inline `padding-bottom`, from before the banner padded it.
    pub(crate) const PADDING: &str = "data-vc-pad";
    /// The `data-vc` hooks the visitor clicked, in order, separated by spaces.
    pub(crate) const CLICKS: &str = "data-vc-clicks";
    /// The hook a pointer is pressed on (set by the entry on `pointerdown`, removed on
    /// `pointerup`): a press the SDK's takeover splits in two.
    pub(crate) const PRESSED: &str = "data-vc-pressed";
}

/// The visitor's doings on the first-paint banner, for the SDK to carry on.
#[derive(Debug)]
pub(crate) struct BootLeftover {
    /// The hooks clicked, in order.
    pub(crate) clicks: Vec<String>,
    /// The hook that had keyboard focus.
    pub(crate) focus: Option<String>,
    /// The hook a pointer was still pressed on.
    pub(crate) pressed: Option<String>,
    /// The first stage's host, out of the page: a browser that keeps a press's implicit pointer
    /// capture on the removed button (WebKit) sends the release there, not to the document.
    pub(crate) host: Element,
}

/// Removes the first-paint build's host, if there is one, gives the body its padding back
/// and says what the visitor did there. The caller renders its own banner in the same task,
/// so no frame is painted without a banner and nothing moves.
pub(crate) fn take_boot_host(doc: &Document) -> Option<BootLeftover> {
    let host = doc.query_selector(boot_host::SELECTOR).ok().flatten()?;
    let focus = host
        .shadow_root()
        .and_then(|root| root.active_element())
        .and_then(|e| e.get_attribute("data-vc"));
    let clicks = host
        .get_attribute(boot_host::CLICKS)
        .unwrap_or_default()
        .split_ascii_whitespace()
        .map(str::to_owned)
        .collect();
    let pressed = host
        .get_attribute(boot_host::PRESSED)
        .filter(|h| !h.is_empty());
    unpad_body(doc, host.get_attribute(boot_host::PADDING));
    host.remove();
    Some(BootLeftover {
        clicks,
        focus,
        pressed,
        host,
    })
}

/// The Русский / Қазақша switch's elements: each button with its language and hook.
pub(crate) fn language_buttons(
    parent: &Element,
    current: Language,
) -> [(Element, Language, &'static str); 2] {
    let group = child(parent, "div", "langs");
    attr(&group, "role", "group");
    attr(&group, "aria-label", crate::i18n::banner(current).language);
    Language::ALL.map(|lang| {
        let hook = language_hook(lang);
        let b = button(&group, "", lang.native_name(), hook);
        attr(&b, "lang", lang.as_str());
        attr(
            &b,
            "aria-pressed",
            if lang == current { "true" } else { "false" },
        );
        (b, lang, hook)
    })
}

/// The `data-vc` hook of a language button.
pub(crate) fn language_hook(lang: Language) -> &'static str {
    match lang {
        Language::Ru => "lang-ru",
        Language::Kk => "lang-kk",
    }
}
