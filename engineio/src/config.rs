use std::time::Duration;

/// The two transports a client can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// HTTP long-polling: GET to receive, POST to send.
    Polling,
    /// One WebSocket carrying one packet per frame.
    Websocket,
}

impl Transport {
    /// The name used in the `transport` query parameter.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Transport::Polling => "polling",
            Transport::Websocket => "websocket",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            "polling" => Some(Transport::Polling),
            "websocket" => Some(Transport::Websocket),
            _ => None,
        }
    }
}

/// Engine settings, with the option names and defaults of Node's `engine.io`.
///
/// ```
/// use engineio::{EngineIoConfig, Transport};
/// use std::time::Duration;
///
/// let config = EngineIoConfig::builder()
///     .path("/realtime/")
///     .ping_interval(Duration::from_secs(10))
///     .transports([Transport::Websocket])
///     .build();
/// assert_eq!(config.path, "/realtime/");
/// assert_eq!(config.ping_timeout, Duration::from_secs(20));
/// ```
#[derive(Debug, Clone)]
pub struct EngineIoConfig {
    /// Where the engine answers; Node's default for a bare engine is `/engine.io/`.
    pub path: String,
    /// How often the server pings (Node: `pingInterval`, 25 s).
    pub ping_interval: Duration,
    /// How long the server waits for the pong before closing (Node: `pingTimeout`, 20 s).
    pub ping_timeout: Duration,
    /// How long a polling to WebSocket upgrade may take (Node: `upgradeTimeout`, 10 s).
    pub upgrade_timeout: Duration,
    /// The largest POST body or WebSocket message accepted, in bytes (Node: `maxHttpBufferSize`,
    /// 1e6). Announced to clients as `maxPayload`.
    pub max_http_buffer_size: usize,
    /// Which transports clients may use (Node: `transports`, both).
    pub transports: Vec<Transport>,
    /// Whether polling clients may upgrade to WebSocket (Node: `allowUpgrades`, true).
    pub allow_upgrades: bool,
    /// The most bytes a socket may have queued for sending. Node has no such bound; here a client
    /// that stops reading cannot make the server hold unbounded memory: once the queue holds this
    /// much, [`Socket::send`](crate::Socket::send) fails with [`SendError::Full`](crate::SendError)
    /// instead. What the transport has taken and not yet written counts too. A single message
    /// larger than the bound is still accepted when nothing is queued or being written.
    pub max_buffer_size: usize,
    /// The read buffer tungstenite keeps for each WebSocket, in bytes: every idle connection
    /// holds one. Reads from the network go through a per-thread 64 KiB buffer first, so this
    /// sets how much tungstenite takes per step, not how much one syscall reads.
    pub ws_read_buffer_size: usize,
    /// The session cookie set on the response that opens a polling session, for sticky load
    /// balancing (Node: `cookie`, off). See [`SessionCookie`](crate::SessionCookie).
    pub cookie: Option<crate::SessionCookie>,
    /// Compression of polling answers (Node: `httpCompression`, on above 1024 bytes); `None`
    /// turns it off. See [`HttpCompression`](crate::HttpCompression).
    pub http_compression: Option<crate::HttpCompression>,
    /// Whether clients of engine.io protocol v3 are served (Node: `allowEIO3`, false):
    /// socket.io-client 2.x, python-socketio 4.x and their kin. Without it their handshake gets
    /// `{"code":5,"message":"Unsupported protocol version"}`. See [`Protocol`](crate::Protocol).
    pub allow_eio3: bool,
    /// WebSocket messages compressed with per-message deflate when the client offers it
    /// (Node: `perMessageDeflate`, off). See [`PerMessageDeflate`](crate::PerMessageDeflate).
    pub per_message_deflate: Option<crate::PerMessageDeflate>,
}

impl Default for EngineIoConfig {
    fn default() -> Self {
        Self {
            path: "/engine.io/".into(),
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            upgrade_timeout: Duration::from_millis(10_000),
            max_http_buffer_size: 1_000_000,
            transports: vec![Transport::Polling, Transport::Websocket],
            allow_upgrades: true,
            max_buffer_size: 4 << 20,
            ws_read_buffer_size: 256,
            cookie: None,
            http_compression: Some(crate::HttpCompression::default()),
            allow_eio3: false,
            per_message_deflate: None,
        }
    }
}

impl EngineIoConfig {
    /// A builder starting from Node's defaults.
    pub fn builder() -> EngineIoConfigBuilder {
        EngineIoConfigBuilder(Self::default())
    }

    pub(crate) fn allows(&self, transport: Transport) -> bool {
        self.transports.contains(&transport)
    }

    /// The `upgrades` announced to a client that opened with `transport`.
    pub(crate) fn upgrades_from(&self, transport: Transport) -> &'static [&'static str] {
        if transport == Transport::Polling
            && self.allow_upgrades
            && self.allows(Transport::Websocket)
        {
            &["websocket"]
        } else {
            &[]
        }
    }
}

/// Builds an [`EngineIoConfig`]; every setting not given keeps Node's default. Each setting is
/// described on the [`EngineIoConfig`] field of the same name.
///
/// ```
/// use engineio::EngineIoConfig;
/// use std::time::Duration;
///
/// let config = EngineIoConfig::builder()
///     .path("realtime")
///     .ping_timeout(Duration::from_secs(5))
///     .max_http_buffer_size(64 * 1024)
///     .allow_upgrades(false)
///     .build();
/// assert_eq!(config.path, "/realtime/");
/// assert_eq!(config.ping_interval, Duration::from_secs(25));
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct EngineIoConfigBuilder(EngineIoConfig);

impl EngineIoConfigBuilder {
    /// The mount path (Node: `path`, `/engine.io/`). A trailing `/` is added when missing, as
    /// Node does, and a leading one too.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        let mut path = path.into();
        if !path.ends_with('/') {
            path.push('/');
        }
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        self.0.path = path;
        self
    }
    /// How often the server pings (Node: `pingInterval`, 25 s).
    pub fn ping_interval(mut self, d: Duration) -> Self {
        self.0.ping_interval = d;
        self
    }
    /// How long the server waits for a pong (Node: `pingTimeout`, 20 s).
    pub fn ping_timeout(mut self, d: Duration) -> Self {
        self.0.ping_timeout = d;
        self
    }
    /// How long a polling to WebSocket upgrade may take (Node: `upgradeTimeout`, 10 s).
    pub fn upgrade_timeout(mut self, d: Duration) -> Self {
        self.0.upgrade_timeout = d;
        self
    }
    /// The largest POST body or WebSocket message accepted, in bytes (Node:
    /// `maxHttpBufferSize`, 1e6).
    pub fn max_http_buffer_size(mut self, bytes: usize) -> Self {
        self.0.max_http_buffer_size = bytes;
        self
    }
    /// Sets the session cookie on each handshake's response (Node's `cookie`):
    /// `SessionCookie::default()` is Node's `cookie: true`.
    pub fn cookie(mut self, cookie: crate::SessionCookie) -> Self {
        self.0.cookie = Some(cookie);
        self
    }
    /// Compression of polling answers (Node's `httpCompression`; on above 1024 bytes):
    /// `None` turns it off.
    pub fn http_compression(mut self, compression: Option<crate::HttpCompression>) -> Self {
        self.0.http_compression = compression;
        self
    }
    /// Serves clients of engine.io protocol v3 too (Node's `allowEIO3`; off).
    pub fn allow_eio3(mut self, allow: bool) -> Self {
        self.0.allow_eio3 = allow;
        self
    }
    /// Per-message deflate on WebSockets (Node's `perMessageDeflate`; off):
    /// `Some(PerMessageDeflate::default())` is Node's `perMessageDeflate: true`.
    pub fn per_message_deflate(mut self, deflate: Option<crate::PerMessageDeflate>) -> Self {
        self.0.per_message_deflate = deflate;
        self
    }
    /// Which transports clients may use (Node: `transports`, both).
    pub fn transports(mut self, transports: impl IntoIterator<Item = Transport>) -> Self {
        self.0.transports = transports.into_iter().collect();
        self
    }
    /// Whether polling clients may upgrade to WebSocket (Node: `allowUpgrades`, true).
    pub fn allow_upgrades(mut self, allow: bool) -> Self {
        self.0.allow_upgrades = allow;
        self
    }
    /// The most bytes a socket may have queued for sending (4 MiB; Node has no such bound).
    pub fn max_buffer_size(mut self, bytes: usize) -> Self {
        self.0.max_buffer_size = bytes;
        self
    }
    /// The read buffer tungstenite keeps for each WebSocket, in bytes (256).
    pub fn ws_read_buffer_size(mut self, bytes: usize) -> Self {
        self.0.ws_read_buffer_size = bytes;
        self
    }
    /// The config.
    #[must_use]
    pub fn build(self) -> EngineIoConfig {
        self.0
    }
}
