//! Where consent lives in the browser: the token cookie, mirrored in localStorage, and the
//! pending choice and subject id in localStorage; beside them, the service's key set as
//! last fetched.
//!
//! Every access is fallible and none panics: a browser with cookies blocked, localStorage
//! disabled, or a page that redefines `localStorage` to throw still gets a working widget,
//! whose consent then lasts as long as what did work (the cookie, the mirror, or the page).

use std::cell::RefCell;

use wasm_bindgen::JsCast;

use crate::error::StorageError;

/// localStorage key of the subject id (one per browser, whatever the cookie's name).
pub const SUBJECT_KEY: &str = "vivus_consent_subject";
/// What [`local_key`] appends to the cookie's name for the choice not yet recorded.
const PENDING_SUFFIX: &str = "_pending";

/// Where the consent token cookie lives (the `cookie` member of the config).
#[derive(Debug, Clone)]
pub struct CookieConfig {
    /// The cookie name. Default `"vivus_consent"`.
    pub name: String,
    /// The `Domain` attribute, e.g. `".vivus.kz"` to share consent across subdomains.
    /// Default `null`: this host only.
    pub domain: Option<String>,
    /// The `Path` attribute. Default `"/"`.
    pub path: String,
}

impl Default for CookieConfig {
    fn default() -> Self {
        CookieConfig {
            name: "vivus_consent".into(),
            domain: None,
            path: "/".into(),
        }
    }
}

/// What is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    /// The signed consent token.
    Token,
    /// The pending consent request.
    Pending,
    /// The browser-scoped subject id.
    Subject,
}

/// Reads and writes consent state; the browser implementation uses cookies and
/// localStorage, [`MemoryStore`] a map.
pub trait ConsentStore {
    /// The stored value, `None` if there is none.
    ///
    /// # Errors
    ///
    /// [`StorageError`] when no place that could hold it can be read.
    fn read(&self, key: Key) -> Result<Option<String>, StorageError>;

    /// Stores a value; `max_age` (seconds) limits the token cookie's life.
    ///
    /// # Errors
    ///
    /// [`StorageError`] when no place could store it.
    fn write(&self, key: Key, value: &str, max_age: u64) -> Result<(), StorageError>;

    /// Removes a value from every place it is kept.
    ///
    /// # Errors
    ///
    /// [`StorageError`] when a place that may hold it cannot be written.
    fn remove(&self, key: Key) -> Result<(), StorageError>;
}

/// A store in memory, for tests and for pages where the browser stores nothing.
#[derive(Debug, Default)]
pub struct MemoryStore {
    // Three keys at most: a Vec costs far fewer wasm bytes than a map.
    values: RefCell<Vec<(Key, String)>>,
}

impl ConsentStore for MemoryStore {
    fn read(&self, key: Key) -> Result<Option<String>, StorageError> {
        Ok(self
            .values
            .borrow()
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone()))
    }
    fn write(&self, key: Key, value: &str, max_age: u64) -> Result<(), StorageError> {
        self.remove(key)?;
        // A token written with no lifetime left is a removal (as for the cookie).
        if !(key == Key::Token && max_age == 0) {
            self.values.borrow_mut().push((key, value.into()));
        }
        Ok(())
    }
    fn remove(&self, key: Key) -> Result<(), StorageError> {
        self.values.borrow_mut().retain(|(k, _)| *k != key);
        Ok(())
    }
}

/// The browser's cookie and localStorage, with a memory fallback so a page whose storage
/// throws still remembers the choice until it is left.
#[derive(Debug)]
pub struct BrowserStore {
    cookie: CookieConfig,
    secure: bool,
    memory: MemoryStore,
}

impl BrowserStore {
    /// A store for the configured cookie; `secure` adds the `Secure` attribute (on https).
    pub fn new(cookie: CookieConfig, secure: bool) -> Self {
        BrowserStore {
            cookie,
            secure,
            memory: MemoryStore::default(),
        }
    }

    fn local(&self) -> Result<web_sys::Storage, StorageError> {
        local_storage().ok_or(StorageError::Unavailable)
    }

    fn html_document() -> Result<web_sys::HtmlDocument, StorageError> {
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.dyn_into::<web_sys::HtmlDocument>().ok())
            .ok_or(StorageError::Cookie)
    }

    fn read_cookie(&self) -> Result<Option<String>, StorageError> {
        let all = Self::html_document()?
            .cookie()
            .map_err(|_| StorageError::Cookie)?;
        Ok(cookie_value(&all, &self.cookie.name).map(str::to_owned))
    }

    fn write_cookie(&self, value: &str, max_age: u64) -> Result<(), StorageError> {
        let line = cookie_line(&self.cookie, value, max_age, self.secure);
        Self::html_document()?
            .set_cookie(&line)
            .map_err(|_| StorageError::Cookie)
    }

    fn read_local(&self, key: Key) -> Result<Option<String>, StorageError> {
        self.local()?
            .get_item(&local_key(&self.cookie.name, key))
            .map_err(|_| StorageError::Access)
    }

    fn write_local(&self, key: Key, value: &str) -> Result<(), StorageError> {
        self.local()?
            .set_item(&local_key(&self.cookie.name, key), value)
            .map_err(|_| StorageError::Access)
    }

    fn remove_local(&self, key: Key) -> Result<(), StorageError> {
        self.local()?
            .remove_item(&local_key(&self.cookie.name, key))
            .map_err(|_| StorageError::Access)
    }
}

impl ConsentStore for BrowserStore {
    fn read(&self, key: Key) -> Result<Option<String>, StorageError> {
        // The memory copy is only ever set when the browser refused to store; it is what
        // this page decided, so it wins.
        if let Ok(Some(value)) = self.memory.read(key) {
            return Ok(Some(value));
        }
        if key == Key::Token {
            match self.read_cookie() {
                Ok(Some(token)) => return Ok(Some(token)),
                Ok(None) => return Ok(self.read_local(key).ok().flatten()),
                Err(cookie_err) => return self.read_local(key).map_err(|_| cookie_err),
            }
        }
        self.read_local(key)
    }

    fn write(&self, key: Key, value: &str, max_age: u64) -> Result<(), StorageError> {
        let local = self.write_local(key, value);
        let stored = if key == Key::Token {
            // Cookies can be "set" without sticking (blocked, too long): read it back.
            let cookie = self.write_cookie(value, max_age);
            let stuck = matches!(self.read_cookie(), Ok(Some(ref v)) if v == value);
            local.is_ok() || (cookie.is_ok() && stuck)
        } else {
            local.is_ok()
        };
        if stored {
            let _ = self.memory.remove(key);
            Ok(())
        } else {
            let _ = self.memory.write(key, value, max_age);
            Err(local.err().unwrap_or(StorageError::Cookie))
        }
    }

    fn remove(&self, key: Key) -> Result<(), StorageError> {
        let _ = self.memory.remove(key);
        let local = self.remove_local(key);
        if key == Key::Token {
            let cookie = self.write_cookie("", 0);
            return cookie.and(local.or(Ok(())));
        }
        local
    }
}

/// The page's localStorage, `None` when there is none or its getter throws.
fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The localStorage key of `key` for the token cookie `cookie_name`. The token's mirror and
/// the pending choice are named after the cookie, so two configs with their own cookie on
/// one origin do not read each other's consent when their cookie is absent; the default
/// name gives the keys used before (`vivus_consent`, `vivus_consent_pending`), so stored
/// consent is still found. `pkg/vivus-consent.js` (`mayBeStored`) derives the same names.
pub fn local_key(cookie_name: &str, key: Key) -> String {
    match key {
        Key::Token => String::from(cookie_name),
        Key::Pending => {
            let mut name = String::from(cookie_name);
            name.push_str(PENDING_SUFFIX);
            name
        }
        Key::Subject => String::from(SUBJECT_KEY),
    }
}

/// The value of cookie `name` in a `document.cookie` string.
pub fn cookie_value<'a>(all: &'a str, name: &str) -> Option<&'a str> {
    all.split(';').find_map(|pair| {
        let (key, value) = pair.trim_start().split_once('=')?;
        (key == name).then_some(value.trim())
    })
}

/// The `document.cookie` assignment that stores `value` (removes it when `max_age` is 0).
pub fn cookie_line(cookie: &CookieConfig, value: &str, max_age: u64, secure: bool) -> String {
    let mut line = String::with_capacity(value.len() + 96);
    line.push_str(&cookie.name);
    line.push('=');
    line.push_str(value);
    line.push_str("; Path=");
    line.push_str(&cookie.path);
    line.push_str("; Max-Age=");
    push_u64(&mut line, max_age);
    if let Some(domain) = &cookie.domain {
        line.push_str("; Domain=");
        line.push_str(domain);
    }
    line.push_str("; SameSite=Lax");
    if secure {
        line.push_str("; Secure");
    }
    line
}

/// Appends a number in decimal without the formatting machinery (it costs wasm bytes).
pub fn push_u64(out: &mut String, n: u64) {
    // Most significant digit first, by recursion (at most 20 deep): no buffer to index, so
    // no bounds checks and no panic formatting linked into the first-paint build.
    if n >= 10 {
        push_u64(out, n / 10);
    }
    out.push(char::from(b'0' + (n % 10) as u8));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_value_finds_the_exact_name() {
        let all = "a=1; vivus_consent_x=2; vivus_consent=abc.def.ghi; z=";
        assert_eq!(cookie_value(all, "vivus_consent"), Some("abc.def.ghi"));
        assert_eq!(cookie_value(all, "z"), Some(""));
        assert_eq!(cookie_value(all, "vivus"), None);
        assert_eq!(cookie_value("", "a"), None);
    }

    #[test]
    fn cookie_line_has_every_attribute() {
        let mut cookie = CookieConfig::default();
        assert_eq!(
            cookie_line(&cookie, "t", 3600, false),
            "vivus_consent=t; Path=/; Max-Age=3600; SameSite=Lax"
        );
        cookie.domain = Some(".vivus.kz".into());
        cookie.path = "/kz".into();
        assert_eq!(
            cookie_line(&cookie, "", 0, true),
            "vivus_consent=; Path=/kz; Max-Age=0; Domain=.vivus.kz; SameSite=Lax; Secure"
        );
    }

    #[test]
    fn local_keys_follow_the_cookie_name_and_keep_the_default_names() {
        let default = CookieConfig::default().name;
        assert_eq!(local_key(&default, Key::Token), "vivus_consent");
        assert_eq!(local_key(&default, Key::Pending), "vivus_consent_pending");
        assert_eq!(local_key("shop_consent", Key::Token), "shop_consent");
        assert_eq!(
            local_key("shop_consent", Key::Pending),
            "shop_consent_pending"
        );
        assert_eq!(
            local_key("shop_consent", Key::Subject),
            "vivus_consent_subject"
        );
    }

    #[test]
    fn push_u64_writes_decimal() {
        for n in [0u64, 7, 10, 31_536_000, u64::MAX] {
            let mut s = String::new();
            push_u64(&mut s, n);
            assert_eq!(s, n.to_string());
        }
    }

    #[test]
    fn memory_store_round_trips() {
        let store = MemoryStore::default();
        assert_eq!(store.read(Key::Token), Ok(None));
        store.write(Key::Token, "t", 1).expect("memory");
        assert_eq!(store.read(Key::Token), Ok(Some("t".into())));
        store.remove(Key::Token).expect("memory");
        assert_eq!(store.read(Key::Token), Ok(None));
    }
}
