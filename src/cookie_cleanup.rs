//! Deleting the cookies of refused categories, on reject and on withdrawal.
//!
//! A tag that ran before the visitor refused (or that a previous visit let run) leaves its
//! cookies behind, and a cookie is only deleted by a write with the *same* name, domain and
//! path it was set with. `document.cookie` shows names only, so every variant the page can
//! reach is written: host-only, then each parent domain of `location.hostname` with and
//! without a leading dot, times the path `/` and each prefix of `location.pathname` (with and
//! without a trailing slash). Writes the browser refuses (a public suffix as domain) are
//! harmless.
//!
//! Patterns are per category (defaults: Google Analytics and Yandex Metrica under analytics,
//! Google Ads and Meta under marketing), so refusing marketing while keeping analytics leaves
//! the analytics cookies alone. A pattern is a cookie name where `*` matches any run of
//! characters. The consent cookie itself is never deleted here.
//!
//! Tags already running on the page keep running after their cookies are gone (they may even
//! set them again); [`CleanupConfig::reload`] reloads the page when a category that was
//! granted on this page is revoked, so they stop.

use vivus_consent_core::category::{Categories, Category};
use wasm_bindgen::JsCast;

/// Configuration of the cleanup (the `cleanup` member of the SDK config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanupConfig {
    /// Cookie name patterns deleted when analytics is refused or withdrawn.
    /// Default `["_ga", "_ga_*", "_gid", "_gat*", "_ym_*"]`.
    pub analytics: Vec<String>,
    /// Cookie name patterns deleted when marketing is refused or withdrawn.
    /// Default `["_gcl_*", "_fbp", "_fbc"]`.
    pub marketing: Vec<String>,
    /// Reload the page when a category granted on this page is revoked, so tags already
    /// running stop. Default `false`.
    pub reload: bool,
}

impl Default for CleanupConfig {
    fn default() -> Self {
        let owned = |names: &[&str]| names.iter().map(|&n| n.to_owned()).collect();
        CleanupConfig {
            analytics: owned(&["_ga", "_ga_*", "_gid", "_gat*", "_ym_*"]),
            marketing: owned(&["_gcl_*", "_fbp", "_fbc"]),
            reload: false,
        }
    }
}

impl CleanupConfig {
    /// The patterns of one category (none for necessary).
    pub fn patterns(&self, category: Category) -> &[String] {
        match category {
            Category::Necessary => &[],
            Category::Analytics => &self.analytics,
            Category::Marketing => &self.marketing,
        }
    }

    /// Whether a cookie name matches a pattern of a category that is not granted.
    pub fn refused(&self, name: &str, granted: Categories) -> bool {
        Category::OPTIONAL
            .into_iter()
            .filter(|&c| !granted.contains(c))
            .any(|c| self.patterns(c).iter().any(|p| glob(p, name)))
    }
}

/// Whether `name` matches `pattern`, where `*` matches any run of characters (also none).
pub fn glob(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut pi, mut ni) = (0, 0);
    // Where the last `*` was and which name position it is currently matched up to.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ni));
            pi += 1;
        } else if pi < p.len() && p[pi] == n[ni] {
            pi += 1;
            ni += 1;
        } else if let Some((sp, sn)) = star {
            // Let the last star swallow one more character and retry.
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

/// The cookie names in a `document.cookie` string, in order, without duplicates.
pub fn cookie_names(cookie_string: &str) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for pair in cookie_string.split(';') {
        let name = pair.split('=').next().unwrap_or("").trim();
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// The `Domain` attributes a cookie of this page could have been set with: `None` (host-only)
/// first, then the host and each parent domain, each without and with a leading dot.
/// IP addresses and single-label hosts (`localhost`) have no parents.
pub fn domain_variants(hostname: &str) -> Vec<Option<String>> {
    let mut variants = vec![None];
    let host = hostname.trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() {
        return variants;
    }
    let is_ip = host.contains(':')
        || host
            .split('.')
            .all(|label| label.bytes().all(|b| b.is_ascii_digit()));
    if is_ip {
        variants.push(Some(host));
        return variants;
    }
    let mut rest = host.as_str();
    loop {
        variants.push(Some(rest.to_owned()));
        let mut dotted = String::with_capacity(rest.len() + 1);
        dotted.push('.');
        dotted.push_str(rest);
        variants.push(Some(dotted));
        match rest.split_once('.') {
            // Stop before the top-level label: no browser lets a site set a cookie there.
            Some((_, parent)) if parent.contains('.') => rest = parent,
            _ => break,
        }
    }
    variants
}

/// The `Path` attributes a cookie of this page could have been set with: `/`, then each
/// prefix of `pathname` ending before and at each `/`.
pub fn path_variants(pathname: &str) -> Vec<String> {
    let mut variants = vec!["/".to_owned()];
    let mut push = |path: &str| {
        if !path.is_empty() && !variants.iter().any(|v| v == path) {
            variants.push(path.to_owned());
        }
    };
    for (i, b) in pathname.bytes().enumerate() {
        if b == b'/' && i > 0 {
            push(&pathname[..i]);
            push(&pathname[..=i]);
        }
    }
    push(pathname);
    variants
}

/// The `document.cookie` assignments that delete `name` on every variant.
pub fn deletions(name: &str, hostname: &str, pathname: &str) -> Vec<String> {
    let domains = domain_variants(hostname);
    let paths = path_variants(pathname);
    let secure = name.starts_with("__Secure-") || name.starts_with("__Host-");
    let mut out = Vec::with_capacity(domains.len() * paths.len());
    for path in &paths {
        for domain in &domains {
            // `__Host-` cookies only exist host-only on `/`; other writes would be refused anyway.
            if name.starts_with("__Host-") && (domain.is_some() || path != "/") {
                continue;
            }
            let mut line = String::with_capacity(name.len() + 80);
            line.push_str(name);
            line.push_str("=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=");
            line.push_str(path);
            if let Some(domain) = domain {
                line.push_str("; Domain=");
                line.push_str(domain);
            }
            if secure {
                line.push_str("; Secure");
            }
            out.push(line);
        }
    }
    out
}

/// What [`delete_refused`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Cookie names that matched a refused pattern and are gone now.
    pub deleted: Vec<String>,
    /// Cookie names that matched a refused pattern but are still readable (set on a domain or
    /// path this page cannot reach, or re-set at once by a running tag).
    pub remaining: Vec<String>,
}

/// Deletes every cookie readable by this page whose name matches a pattern of a category not
/// in `granted`, never the consent cookie `keep`.
///
/// Cookies that are blocked or throw are skipped: cleanup is best effort and never fails
/// the consent flow.
pub fn delete_refused(
    document: &web_sys::Document,
    config: &CleanupConfig,
    granted: Categories,
    keep: &str,
) -> Report {
    let mut report = Report::default();
    let Some(html) = document.dyn_ref::<web_sys::HtmlDocument>() else {
        return report;
    };
    let Ok(before) = html.cookie() else {
        return report;
    };
    let (hostname, pathname) = match document.location() {
        Some(location) => (
            location.hostname().unwrap_or_default(),
            location.pathname().unwrap_or_default(),
        ),
        None => return report,
    };
    let targets: Vec<&str> = cookie_names(&before)
        .into_iter()
        .filter(|&name| name != keep && config.refused(name, granted))
        .collect();
    for name in &targets {
        for line in deletions(name, &hostname, &pathname) {
            let _ = html.set_cookie(&line);
        }
    }
    let after = html.cookie().unwrap_or_default();
    let left = cookie_names(&after);
    for name in targets {
        if left.contains(&name) {
            report.remaining.push(name.to_owned());
        } else {
            report.deleted.push(name.to_owned());
        }
    }
    report
}

/// Runs the cleanup after a decision: deletes the cookies of every category not in `now`,
/// and reloads the page if configured and a category in `before` (granted on this page, so
/// its tags may be running) is not in `now`. Returns the report (the page may be reloading).
pub fn after_decision(
    window: &web_sys::Window,
    config: &CleanupConfig,
    before: Categories,
    now: Categories,
    keep: &str,
) -> Report {
    let Some(document) = window.document() else {
        return Report::default();
    };
    let report = delete_refused(&document, config, now, keep);
    let revoked = Category::OPTIONAL
        .into_iter()
        .any(|c| before.contains(c) && !now.contains(c));
    if config.reload && revoked {
        let _ = window.location().reload();
    }
    report
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn glob_matches_stars_anywhere() {
        assert!(glob("_ga", "_ga"));
        assert!(!glob("_ga", "_gat"));
        assert!(glob("_ga_*", "_ga_ABC123"));
        assert!(!glob("_ga_*", "_ga"));
        assert!(glob("_gat*", "_gat"));
        assert!(glob("_gat*", "_gat_UA-1"));
        assert!(glob("*_id*", "user_id_x"));
        assert!(glob("a*b*c", "aXXbYYbc"));
        assert!(!glob("a*b*c", "aXXbYY"));
        assert!(glob("*", "anything"));
        assert!(!glob("_fbp", "_fbc"));
    }

    #[test]
    fn names_from_document_cookie() {
        assert_eq!(
            cookie_names("_ga=GA1.1; vivus_consent=x.y.z;_fbp=fb.1; _ga=dup; novalue"),
            vec!["_ga", "vivus_consent", "_fbp", "novalue"]
        );
        assert!(cookie_names("").is_empty());
    }

    #[test]
    fn defaults_delete_only_refused_categories() {
        let config = CleanupConfig::default();
        let analytics_only: Categories = [Category::Analytics].into_iter().collect();
        assert!(config.refused("_fbp", analytics_only));
        assert!(config.refused("_gcl_au", analytics_only));
        assert!(!config.refused("_ga", analytics_only));
        assert!(config.refused("_ga_XYZ", Categories::new()));
        assert!(config.refused("_ym_uid", Categories::new()));
        assert!(config.refused("_gat_gtag_UA_1", Categories::new()));
        assert!(!config.refused("vivus_consent", Categories::new()));
        assert!(!config.refused("session", Categories::new()));
        assert!(!config.refused("_fbp", Categories::all()));
    }

    #[test]
    fn every_parent_domain_with_and_without_dot() {
        let d = domain_variants("www.vivus.kz");
        let d: Vec<_> = d.iter().map(|d| d.as_deref()).collect();
        assert_eq!(
            d,
            vec![
                None,
                Some("www.vivus.kz"),
                Some(".www.vivus.kz"),
                Some("vivus.kz"),
                Some(".vivus.kz")
            ]
        );
        let d = domain_variants("a.b.vivus.kz");
        assert_eq!(d.len(), 1 + 2 * 3);
        assert_eq!(
            domain_variants("localhost"),
            vec![None, Some("localhost".into()), Some(".localhost".into())]
        );
        assert_eq!(
            domain_variants("127.0.0.1"),
            vec![None, Some("127.0.0.1".into())]
        );
        assert_eq!(domain_variants("[::1]"), vec![None, Some("[::1]".into())]);
        assert_eq!(domain_variants(""), vec![None]);
    }

    #[test]
    fn every_path_prefix_with_and_without_slash() {
        assert_eq!(path_variants("/"), vec!["/"]);
        assert_eq!(
            path_variants("/loan/apply"),
            vec!["/", "/loan", "/loan/", "/loan/apply"]
        );
        assert_eq!(
            path_variants("/loan/apply/"),
            vec!["/", "/loan", "/loan/", "/loan/apply", "/loan/apply/"]
        );
        assert_eq!(path_variants(""), vec!["/"]);
    }

    #[test]
    fn deletions_cover_the_cross_product() {
        let lines = deletions("_ga", "www.vivus.kz", "/loan/apply");
        assert_eq!(lines.len(), 5 * 4);
        assert!(lines.contains(
            &"_ga=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; Domain=.vivus.kz"
                .to_owned()
        ));
        assert!(lines.contains(
            &"_ga=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/loan".to_owned()
        ));
        let host = deletions("__Host-x", "www.vivus.kz", "/a");
        assert_eq!(
            host,
            vec![
                "__Host-x=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; Secure"
                    .to_owned()
            ]
        );
    }
}
