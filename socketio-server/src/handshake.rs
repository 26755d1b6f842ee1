use crate::client::EngineSocket;
use engineio::Headers;
use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

/// What a socket was opened with (Node's `socket.handshake`): the headers, query and address of
/// the engine's first request, and the `auth` payload of the CONNECT packet.
///
/// A socket of this server reads all but `auth` from its engine connection's handshake when
/// asked, rather than keeping copies per socket; a socket of another server of the cluster
/// (from `fetch_sockets`) carries what that server described.
///
/// ```
/// use socketio::{Handshake, Socket, SocketIo};
///
/// let io = SocketIo::new();
/// io.on_connection(|socket: Socket| async move {
///     let handshake: &Handshake = socket.handshake();
///     let token = handshake.query("token").unwrap_or_default();
///     let agent = handshake.header("user-agent").unwrap_or("unknown");
///     println!("{} from {:?} ({agent}), token {token}", handshake.url(), handshake.address());
/// });
///
/// let described = Handshake::described(
///     Default::default(),
///     "/socket.io/?EIO=4&transport=websocket&room=a",
///     None,
///     std::time::SystemTime::now(),
///     serde_json::json!({"user": "ann"}),
/// );
/// assert_eq!(described.query("room").as_deref(), Some("a"));
/// assert_eq!(described.auth["user"], "ann");
/// ```
#[derive(Debug, Clone)]
pub struct Handshake {
    source: Source,
    /// The `auth` payload of the CONNECT packet (`{}` when none was sent).
    pub auth: serde_json::Value,
}

#[derive(Clone)]
enum Source {
    /// This server's engine connection, shared with the socket that holds it.
    Engine(Arc<EngineSocket>),
    /// Another server's description of one of its sockets.
    Described(Arc<Described>),
}

#[derive(Debug)]
struct Described {
    headers: Headers,
    url: String,
    address: Option<SocketAddr>,
    time: SystemTime,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Engine(conn) => f.debug_tuple("Engine").field(conn.handshake()).finish(),
            Source::Described(described) => described.fmt(f),
        }
    }
}

impl Handshake {
    pub(crate) fn new(conn: Arc<EngineSocket>, auth: serde_json::Value) -> Self {
        Self {
            source: Source::Engine(conn),
            auth,
        }
    }

    /// A handshake as another server describes it: for an adapter that builds the sockets of
    /// `fetch_sockets` from other servers' answers. `url` is the path and query of the first
    /// request, from which [`query`](Self::query) reads.
    #[must_use]
    pub fn described(
        headers: Headers,
        url: impl Into<String>,
        address: Option<SocketAddr>,
        time: SystemTime,
        auth: serde_json::Value,
    ) -> Self {
        Self {
            source: Source::Described(Arc::new(Described {
                headers,
                url: url.into(),
                address,
                time,
            })),
            auth,
        }
    }

    /// The headers of the engine's first request, shared by every socket of the connection.
    #[must_use]
    pub fn headers(&self) -> &Headers {
        match &self.source {
            Source::Engine(conn) => &conn.handshake().headers,
            Source::Described(described) => &described.headers,
        }
    }

    /// A header as text, when it is valid text.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers().get(name)
    }

    /// The path and query of the engine's first request (Node's `handshake.url`).
    #[must_use]
    pub fn url(&self) -> &str {
        match &self.source {
            Source::Engine(conn) => {
                let uri = &conn.handshake().uri;
                uri.path_and_query().map_or(uri.path(), |pq| pq.as_str())
            }
            Source::Described(described) => &described.url,
        }
    }

    /// The first value of a query parameter of the engine's first request, URL-decoded
    /// (Node's `handshake.query[key]`).
    #[must_use]
    pub fn query(&self, key: &str) -> Option<Cow<'_, str>> {
        engineio::handshake::query_param(self.raw_query(), key)
    }

    /// Every query parameter in order, URL-decoded.
    pub fn query_pairs(&self) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
        engineio::handshake::query_pairs(self.raw_query())
    }

    /// The query string of the first request, still URL-encoded.
    fn raw_query(&self) -> &str {
        self.url().split_once('?').map_or("", |(_, q)| q)
    }

    /// The client's address, when the app is served with connect info.
    #[must_use]
    pub fn address(&self) -> Option<SocketAddr> {
        match &self.source {
            Source::Engine(conn) => conn.handshake().remote_addr,
            Source::Described(described) => described.address,
        }
    }

    /// When the engine connection was opened.
    #[must_use]
    pub fn time(&self) -> SystemTime {
        match &self.source {
            Source::Engine(conn) => conn.handshake().issued,
            Source::Described(described) => described.time,
        }
    }
}
