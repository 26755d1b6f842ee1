//! The request that opened a session, and the lookups into a handshake's query and headers.
//!
//! [`query_pairs`] and [`query_param`] are the one way the engine reads a query string, and
//! [`Headers`] the one way it keeps and reads a handshake's headers; they are public so that
//! crates built on the engine (socket.io's own handshake, which may come from another server as
//! a URL) read them the same way.

pub use crate::headers::{Headers, Iter};
use crate::Transport;
use bytes::Bytes;
use http::{HeaderMap, Uri};
use std::borrow::Cow;
use std::net::SocketAddr;
use std::time::SystemTime;

/// The HTTP request that opened a session, kept on the socket for the application: Node's
/// `socket.request`.
///
/// ```
/// use engineio::{EngineIo, EngineIoHandler, Handshake};
///
/// /// Lets in handshakes that carry the right token in the query or in a header.
/// fn allowed(handshake: &Handshake) -> bool {
///     let token = handshake.query("token");
///     token.as_deref() == Some("secret") || handshake.header("x-token") == Some("secret")
/// }
///
/// # fn build<H: EngineIoHandler>(handler: H) -> EngineIo<H> {
/// EngineIo::builder(handler)
///     .allow_request(|handshake| {
///         let ok = allowed(handshake);
///         async move { if ok { Ok(()) } else { Err("who are you?".to_owned()) } }
///     })
///     .build()
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Handshake {
    /// The request's URI: the engine's path and the query (`EIO`, `transport`, and whatever
    /// the client added).
    pub uri: Uri,
    /// The request's headers.
    pub headers: Headers,
    /// The client's address: known when the request carries axum's
    /// `ConnectInfo<SocketAddr>` (serve the app with
    /// `into_make_service_with_connect_info::<SocketAddr>()`) or a plain [`SocketAddr`]
    /// extension (as a hyper server can insert; see `examples/hyper-only`).
    pub remote_addr: Option<SocketAddr>,
    /// When the handshake was received.
    pub issued: SystemTime,
    /// The transport the session was opened with.
    pub transport: Transport,
}

impl Handshake {
    pub(crate) fn new(
        uri: Uri,
        headers: HeaderMap,
        remote_addr: Option<SocketAddr>,
        transport: Transport,
    ) -> Self {
        // hyper parses the URI and header values as slices of the connection's read buffer
        // (16 KiB): kept for the session's life they would pin that buffer, so the handshake
        // keeps copies of its own.
        let text = uri.to_string();
        let uri = Uri::from_maybe_shared(Bytes::from(text)).unwrap_or(uri);
        let headers = Headers::from(&headers);
        Self {
            uri,
            headers,
            remote_addr,
            issued: SystemTime::now(),
            transport,
        }
    }

    /// The first value of a query parameter, URL-decoded. The query is decoded from the URI
    /// on each call rather than kept decoded beside it for the session's life.
    #[must_use]
    pub fn query(&self, key: &str) -> Option<Cow<'_, str>> {
        query_param(self.uri.query().unwrap_or_default(), key)
    }

    /// Every query parameter in order, URL-decoded.
    pub fn query_pairs(&self) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
        query_pairs(self.uri.query().unwrap_or_default())
    }

    /// A header value as text, when it is valid text.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }
}

/// Every parameter of a query string (what follows the `?`, without it), in order,
/// URL-decoded as a form (`+` is a space).
///
/// ```
/// let pairs: Vec<_> = engineio::handshake::query_pairs("EIO=4&name=J%C3%B6rg+B").collect();
/// assert_eq!(pairs[1], ("name".into(), "Jörg B".into()));
/// ```
pub fn query_pairs(query: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    form_urlencoded::parse(query.as_bytes())
}

/// The first value of `key` in a query string, URL-decoded; borrowed from `query` unless
/// decoding changed it.
///
/// ```
/// use engineio::handshake::query_param;
///
/// assert_eq!(query_param("EIO=4&transport=polling", "transport").as_deref(), Some("polling"));
/// assert_eq!(query_param("EIO=4", "sid"), None);
/// ```
#[must_use]
pub fn query_param<'a>(query: &'a str, key: &str) -> Option<Cow<'a, str>> {
    query_pairs(query).find(|(k, _)| k == key).map(|(_, v)| v)
}
