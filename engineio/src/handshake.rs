use crate::Transport;
use http::{HeaderMap, HeaderValue, Uri};
use std::borrow::Cow;
use std::net::SocketAddr;
use std::time::SystemTime;

/// The HTTP request that opened a session, kept on the socket for the application: Node's
/// `socket.request`.
///
/// The remote address is known when the app is served with
/// `into_make_service_with_connect_info::<SocketAddr>()`.
#[derive(Debug, Clone)]
pub struct Handshake {
    pub uri: Uri,
    pub headers: HeaderMap,
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
        let uri = Uri::try_from(uri.to_string()).unwrap_or(uri);
        let headers = headers
            .iter()
            .map(|(name, value)| {
                let owned =
                    HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
                (name.clone(), owned)
            })
            .collect();
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
    pub fn query(&self, key: &str) -> Option<Cow<'_, str>> {
        self.query_pairs().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Every query parameter in order, URL-decoded.
    pub fn query_pairs(&self) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
        form_urlencoded::parse(self.uri.query().unwrap_or_default().as_bytes())
    }

    /// A header value as text, when it is valid text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}
