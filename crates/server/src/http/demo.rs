//! The demo loan-application endpoint: the form posts here with the visitor's consent
//! token, and the application is accepted only with a valid token whose policy
//! acceptance is recorded. A stand-in for the lender's real backend, showing how a
//! backend checks consent.

use axum::extract::{Form, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use vivus_consent_core::policy;
use vivus_consent_core::token::{self, Claims, Expected};

use super::jwks::now_secs;
use super::AppState;

/// Fields echoed back on the accepted page. Everything else (phone, IIN, e-mail …) is
/// personal data the demo neither stores nor repeats.
const ECHOED: [(&str, &str, &str); 4] = [
    ("name", "Имя", "Аты"),
    ("amount", "Сумма, ₸", "Сомасы, ₸"),
    ("term", "Срок, дней", "Мерзімі, күн"),
    ("purpose", "Цель", "Мақсаты"),
];

/// `POST /demo/applications` (an urlencoded form with a `consent_token` field).
pub async fn application(
    State(state): State<AppState>,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let fields = match form {
        Ok(Form(fields)) => fields,
        Err(rejection) => {
            return page(
                StatusCode::BAD_REQUEST,
                "ru",
                "Заявка не прочитана",
                "Өтінім оқылмады",
                &format!(
                "<p lang=\"ru\">Форма не распознана: {}.</p><p lang=\"kk\">Пішін танылмады.</p>",
                escape(&rejection.body_text())
            ),
            )
        }
    };
    let token = fields
        .iter()
        .find(|(k, _)| k == "consent_token")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    let expected = Expected {
        issuer: &state.settings.issuer,
        policy_digest: policy::CURRENT.digest,
        now: now_secs(),
    };
    let claims = match token::verify(token, state.keys.jwks(), &expected) {
        Ok(claims) if claims.pa => claims,
        Ok(_) => {
            return refused(
                page_lang(&fields),
                "policy_not_accepted",
                "согласие с политикой конфиденциальности не дано",
                "құпиялылық саясатымен келісім берілмеген",
            )
        }
        Err(e) => {
            return refused(
                page_lang(&fields),
                e.code(),
                "действительное согласие не найдено",
                "жарамды келісім табылмады",
            )
        }
    };
    accepted(&claims, &fields)
}

/// The page's language: the form's `lang` field (the site's current language), else Russian.
fn page_lang(fields: &[(String, String)]) -> &'static str {
    match fields
        .iter()
        .find(|(k, _)| k == "lang")
        .map(|(_, v)| v.as_str())
    {
        Some("kk") => "kk",
        _ => "ru",
    }
}

fn accepted(claims: &Claims, fields: &[(String, String)]) -> Response {
    let mut rows = String::new();
    for (name, ru, kk) in ECHOED {
        if let Some((_, value)) = fields.iter().find(|(k, _)| k == name) {
            let value: String = value.chars().take(200).collect();
            rows.push_str(&format!(
                "<tr><th><span lang=\"ru\">{ru}</span> / <span lang=\"kk\">{kk}</span></th><td>{}</td></tr>",
                escape(&value)
            ));
        }
    }
    let body = format!(
        "<p lang=\"ru\">Заявка принята. Согласие <code data-consent-id>{jti}</code> от {iat} (политика {pv}) проверено.</p>\
         <p lang=\"kk\">Өтінім қабылданды. <code>{jti}</code> келісімі ({pv} саясаты) тексерілді.</p>\
         <table>{rows}</table>",
        jti = escape(claims.jti.as_str()),
        iat = claims.iat,
        pv = escape(&claims.pv),
    );
    page(
        StatusCode::OK,
        page_lang(fields),
        "Заявка принята",
        "Өтінім қабылданды",
        &body,
    )
}

fn refused(lang: &str, code: &str, ru: &str, kk: &str) -> Response {
    let body = format!(
        "<p lang=\"ru\">Заявка не принята: {ru}. Примите политику конфиденциальности в баннере согласия и отправьте форму снова.</p>\
         <p lang=\"kk\">Өтінім қабылданбады: {kk}. Келісім баннерінде құпиялылық саясатын қабылдап, пішінді қайта жіберіңіз.</p>\
         <p><code>{}</code></p>",
        escape(code)
    );
    page(
        StatusCode::FORBIDDEN,
        lang,
        "Заявка не принята",
        "Өтінім қабылданбады",
        &body,
    )
}

fn page(status: StatusCode, lang: &str, title_ru: &str, title_kk: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title_ru} / {title_kk}</title><link rel=\"stylesheet\" href=\"/css/site.css\"></head>\
         <body><main><h1><span lang=\"ru\">{title_ru}</span> / <span lang=\"kk\">{title_kk}</span></h1>{body}\
         <p><a href=\"/\">← На главную / Басты бетке</a></p></main></body></html>"
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        html,
    )
        .into_response()
}

/// HTML-escapes text for element content and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape("<script>alert('x')&\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&amp;&quot;&lt;/script&gt;"
        );
    }
}
