//! Node's `cookie` option: the `io` cookie that carries the session id, set on the response that
//! opens a polling session, which load balancers read to keep a client's requests on one server
//! (sticky sessions). As in Node, a WebSocket opened directly gets none: it is one connection.

use std::time::Duration;

pub use cookie::SameSite;

/// The session cookie set on a handshake's response (Node's `cookie` option, off by default),
/// Node's defaults when built with [`Default`]: `io=<sid>; Path=/; HttpOnly; SameSite=Lax`.
///
/// ```
/// use engineio::{EngineIoConfig, SessionCookie, SameSite};
///
/// let config = EngineIoConfig::builder()
///     .cookie(SessionCookie {
///         name: "sticky".into(),
///         same_site: Some(SameSite::Strict),
///         secure: true,
///         ..SessionCookie::default()
///     })
///     .build();
/// assert_eq!(
///     config.cookie.unwrap().header_value("abc"),
///     "sticky=abc; HttpOnly; SameSite=Strict; Secure; Path=/"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCookie {
    /// The cookie's name (Node: `name`, `io`).
    pub name: String,
    /// Its `Path` (Node: `path`, `/`); `None` leaves it out.
    pub path: Option<String>,
    /// Its `Domain`; none by default.
    pub domain: Option<String>,
    /// `HttpOnly` (Node: `httpOnly`, true): the page's scripts cannot read it.
    pub http_only: bool,
    /// `SameSite` (Node: `sameSite`, `Lax`); `None` leaves it out.
    pub same_site: Option<SameSite>,
    /// `Secure`: sent over HTTPS only; off by default, as in Node.
    pub secure: bool,
    /// `Max-Age`; none by default, so the cookie lasts the browser session.
    pub max_age: Option<Duration>,
}

impl Default for SessionCookie {
    fn default() -> Self {
        Self {
            name: "io".into(),
            path: Some("/".into()),
            domain: None,
            http_only: true,
            same_site: Some(SameSite::Lax),
            secure: false,
            max_age: None,
        }
    }
}

impl SessionCookie {
    /// The `Set-Cookie` value for the session `sid`.
    #[must_use]
    pub fn header_value(&self, sid: &str) -> String {
        let mut cookie = cookie::Cookie::new(self.name.clone(), sid.to_owned());
        cookie.set_http_only(self.http_only);
        cookie.set_same_site(self.same_site);
        cookie.set_secure(self.secure);
        if let Some(path) = &self.path {
            cookie.set_path(path.clone());
        }
        if let Some(domain) = &self.domain {
            cookie.set_domain(domain.clone());
        }
        if let Some(max_age) = self.max_age {
            let seconds = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
            cookie.set_max_age(cookie::time::Duration::seconds(seconds));
        }
        cookie.to_string()
    }
}
