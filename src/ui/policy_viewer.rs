//! The policy viewer: the full structured policy in the current language, fetched and
//! parsed (by the core) only when the viewer is first opened, rendered as headings,
//! paragraphs and lists through text nodes.

use std::rc::Rc;

use vivus_consent_core::language::Language;
use vivus_consent_core::policy::{Block, Document, Inline};
use web_sys::{Element, ShadowRoot};

use super::modal::frame;
use super::Widget;
use super::{attr, button, child, on_click, text_child, Kind, View};

pub(crate) fn build(w: &Widget, root: &ShadowRoot) -> (View, Element, Option<Element>) {
    let t = crate::i18n::text(w.language());
    let mut f = frame(w, root, Kind::Policy, t.banner.policy_link, "vc-vt");
    let _ = f.body.class_list().add_1("policy");
    let close = button(&f.footer, "btn", t.close, "done");
    f.listeners
        .push(on_click(w, &close, |w| super::close(w, Kind::Policy)));
    (
        View {
            el: f.backdrop,
            listeners: f.listeners,
        },
        f.body,
        None,
    )
}

/// The policy URL: `<policyUrl><version>/<lang>.md`.
pub(crate) fn url(base: &str, version: &str, lang: Language) -> String {
    let mut url = String::from(base);
    if !url.ends_with('/') {
        url.push('/');
    }
    url.push_str(version);
    url.push('/');
    url.push_str(lang.as_str());
    url.push_str(".md");
    url
}

/// Fills the open viewer: the cached document, or a loading line while it is fetched.
pub(crate) fn refresh(w: &Widget) {
    let lang = w.language();
    let cached = w
        .policy_cache
        .borrow()
        .iter()
        .find(|(l, _)| *l == lang)
        .map(|(_, d)| d.clone());
    let body = {
        let ui = w.ui.borrow();
        let Some(modal) = ui
            .as_ref()
            .and_then(|ui| ui.modals.iter().find(|m| m.kind == Kind::Policy))
        else {
            return;
        };
        modal.body.clone()
    };
    body.set_text_content(None);
    match cached {
        Some(doc) => render(&body, &doc),
        None => {
            let t = crate::i18n::text(lang);
            let line = text_child(&body, "p", "status", t.loading);
            attr(&line, "role", "status");
            if w.policy_loading.get() != Some(lang) {
                w.policy_loading.set(Some(lang));
                let weak = w.weak();
                let url = url(&w.settings().policy_url, &w.settings().policy_version, lang);
                let timeout = w.settings().timeout_ms;
                crate::task::spawn(async move {
                    let loaded = fetch_text(&url, timeout)
                        .await
                        .and_then(|md| Document::parse(&md).ok());
                    let Some(w) = weak.upgrade() else { return };
                    w.policy_loading.set(None);
                    match loaded {
                        Some(doc) => {
                            w.policy_cache.borrow_mut().push((lang, Rc::new(doc)));
                            refresh(&w);
                        }
                        None => failed(&w, &body),
                    }
                });
            }
        }
    }
}

/// The policy markdown at `url`, `None` when it could not be fetched.
async fn fetch_text(url: &str, timeout_ms: u32) -> Option<String> {
    let request = crate::net::Request {
        method: "GET",
        url,
        body: None,
        bearer: None,
        cache: None,
        timeout_ms,
    };
    let response = crate::net::send(request)
        .await
        .ok()
        .filter(web_sys::Response::ok)?;
    crate::net::text(&response).await.ok()
}

fn failed(w: &Widget, body: &Element) {
    let t = crate::i18n::text(w.language());
    body.set_text_content(None);
    let line = text_child(body, "p", "status error", t.policy_failed);
    attr(&line, "role", "alert");
    let retry = button(body, "btn", t.retry, "retry");
    let listener = on_click(w, &retry, refresh);
    // The listener lives as long as the viewer's body: keep it with the open modal.
    if let Some(modal) =
        w.ui.borrow_mut()
            .as_mut()
            .and_then(|ui| ui.modals.iter_mut().find(|m| m.kind == Kind::Policy))
    {
        modal.view.listeners.push(listener);
    }
}

fn render(body: &Element, doc: &Document) {
    let title = child(body, "p", "");
    text_child(&title, "strong", "", &doc.title);
    if let Some(subtitle) = &doc.subtitle {
        text_child(body, "p", "", subtitle);
    }
    blocks(body, &doc.preamble);
    for section in &doc.sections {
        let mut heading = String::new();
        crate::storage::push_u64(&mut heading, section.number.into());
        heading.push_str(". ");
        heading.push_str(&section.title);
        text_child(body, "h3", "", &heading);
        blocks(body, &section.blocks);
    }
}

fn blocks(parent: &Element, blocks: &[Block]) {
    for block in blocks {
        match block {
            Block::Paragraph(inlines) => inline(&child(parent, "p", ""), inlines),
            Block::Clause { number, inlines } => {
                let p = child(parent, "p", "");
                let mut label = String::new();
                crate::storage::push_u64(&mut label, number.section.into());
                label.push('.');
                crate::storage::push_u64(&mut label, number.item.into());
                label.push_str(". ");
                text_child(&p, "span", "num", &label);
                inline(&p, inlines);
            }
            Block::List(items) => {
                let list = child(parent, "ul", "");
                for item in items {
                    inline(&child(&list, "li", ""), item);
                }
            }
        }
    }
}

fn inline(parent: &Element, inlines: &[Inline]) {
    for run in inlines {
        match run {
            Inline::Text(text) => super::append_text(parent, text),
            Inline::Bold(text) => {
                text_child(parent, "strong", "", text);
            }
            // The core only produces http(s) autolinks, so the href cannot be `javascript:`.
            Inline::Link(url) => {
                let a = text_child(parent, "a", "", url);
                attr(&a, "href", url);
                attr(&a, "target", "_blank");
                attr(&a, "rel", "noopener noreferrer");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn url_joins_base_version_and_language() {
        use vivus_consent_core::language::Language;
        assert_eq!(
            super::url("/pkg/policy/", "v1", Language::Kk),
            "/pkg/policy/v1/kk.md"
        );
        assert_eq!(
            super::url("https://cdn/x", "v2", Language::Ru),
            "https://cdn/x/v2/ru.md"
        );
    }
}
