use http::HeaderMap;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

/// What a socket was opened with (Node's `socket.handshake`).
#[derive(Debug, Clone)]
pub struct Handshake {
    /// The headers of the engine's first request, shared by every socket of the connection.
    pub headers: Arc<HeaderMap>,
    /// The query string of the engine's first request, decoded.
    pub query: HashMap<String, String>,
    /// The client's address, when the app is served with connect info.
    pub address: Option<SocketAddr>,
    /// When the engine connection was opened.
    pub time: SystemTime,
    /// The path and query of the engine's first request.
    pub url: String,
    /// The `auth` payload of the CONNECT packet (`{}` when none was sent).
    pub auth: serde_json::Value,
}

impl Handshake {
    pub(crate) fn new(engine: &engineio::Handshake, auth: serde_json::Value) -> Self {
        Self {
            headers: engine.headers.clone(),
            query: engine
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
            address: engine.remote_addr,
            time: engine.issued,
            url: engine
                .uri
                .path_and_query()
                .map_or_else(|| engine.uri.path().to_owned(), |pq| pq.to_string()),
            auth,
        }
    }

    /// A header as text, when it is valid text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}
