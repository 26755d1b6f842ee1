use engineio::{EngineIoConfig, Transport};
use std::time::Duration;

/// Server settings, with the option names and defaults of Node's `socket.io`; build them
/// with [`SocketIoConfig::builder`] and give them to
/// [`SocketIoBuilder::config`](crate::SocketIoBuilder::config).
///
/// ```
/// use socketio::{SocketIo, SocketIoConfig};
/// use std::time::Duration;
///
/// let config = SocketIoConfig::builder()
///     .path("/realtime")                        // Node's `path`; a trailing `/` is added
///     .ping_interval(Duration::from_secs(10))   // `pingInterval`
///     .max_http_buffer_size(100_000)            // `maxHttpBufferSize`
///     .ack_timeout(Duration::from_secs(2))      // for emit_with_ack without a timeout
///     .build();
/// assert_eq!(config.engine.path, "/realtime/");
/// assert_eq!(config.connect_timeout, Duration::from_secs(45)); // Node's default, untouched
/// let io = SocketIo::builder().config(config).build();
/// ```
#[derive(Debug, Clone)]
pub struct SocketIoConfig {
    /// The engine's settings; its `path` defaults to `/socket.io/` here.
    pub engine: EngineIoConfig,
    /// How long a client may stay connected without joining a namespace (Node:
    /// `connectTimeout`, 45 s).
    pub connect_timeout: Duration,
    /// How long `emit_with_ack` waits when no `timeout` is given. Node waits forever; a server
    /// should not hold a pending ack for a client that will never answer.
    pub ack_timeout: Duration,
    /// The most binary attachments one packet may announce (Node's parser: 10).
    pub max_attachments: usize,
    /// Connection state recovery (Node: `connectionStateRecovery`, off): see
    /// [`ConnectionStateRecovery`](crate::ConnectionStateRecovery).
    pub connection_state_recovery: Option<crate::ConnectionStateRecovery>,
    /// The parser every client of the server speaks (Node: `parser`, the default one): see
    /// [`Parser`](crate::Parser).
    pub parser: crate::Parser,
}

impl Default for SocketIoConfig {
    fn default() -> Self {
        Self {
            engine: EngineIoConfig::builder().path("/socket.io/").build(),
            connect_timeout: Duration::from_secs(45),
            ack_timeout: Duration::from_secs(5),
            max_attachments: parser::socketio::DEFAULT_MAX_ATTACHMENTS,
            parser: crate::Parser::Default,
            connection_state_recovery: None,
        }
    }
}

/// Builds a [`SocketIoConfig`]; what is not set keeps Node's default.
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct SocketIoConfigBuilder(SocketIoConfig);

macro_rules! engine_option {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.0.engine.$name = value;
            self
        }
    };
}

impl SocketIoConfigBuilder {
    /// The mount path (Node: `path`, `/socket.io/`); a trailing `/` is added when missing.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        // The engine's builder knows how a path is written; every other setting stays.
        self.0.engine.path = EngineIoConfig::builder().path(path).build().path;
        self
    }
    engine_option!(/// Node: `pingInterval`, 25 s.
        ping_interval: Duration);
    engine_option!(/// Node: `pingTimeout`, 20 s.
        ping_timeout: Duration);
    engine_option!(/// Node: `upgradeTimeout`, 10 s.
        upgrade_timeout: Duration);
    engine_option!(/// Node: `maxHttpBufferSize`, 1e6 bytes.
        max_http_buffer_size: usize);
    engine_option!(/// Node: `allowUpgrades`, true.
        allow_upgrades: bool);
    engine_option!(/// The per-socket send queue bound, in bytes (4 MiB).
        max_buffer_size: usize);
    engine_option!(/// The read buffer tungstenite keeps for each WebSocket, in bytes (256): what
        /// an idle connection holds. Syscalls read through a per-thread buffer, whatever this is.
        ws_read_buffer_size: usize);
    engine_option!(/// Node: `httpCompression`, on: polling answers of 1024 bytes and more go
        /// gzip- or deflate-encoded when the client accepts it; `None` turns it off.
        http_compression: Option<engineio::HttpCompression>);
    engine_option!(/// Node: `perMessageDeflate`, off: WebSocket messages of 1024 bytes and
        /// more compressed when the client offers it (browsers and Node's clients do);
        /// `Some(PerMessageDeflate::default())` is Node's `perMessageDeflate: true`.
        per_message_deflate: Option<engineio::PerMessageDeflate>);
    engine_option!(/// Node: `allowEIO3`, off: also serves clients of engine.io v3 and socket.io
        /// protocol v4 (socket.io-client 2.x, python-socketio 4.x). Each is in `/` from the
        /// start, its socket's id is made from the engine's id, and it never recovers a session.
        allow_eio3: bool);

    /// Node: `cookie`, off: the session cookie (`io=<engine sid>`) set on the response that
    /// opens a connection, for load balancers that keep a client on one server.
    /// `engineio::SessionCookie::default()` is Node's `cookie: true`.
    pub fn cookie(mut self, cookie: engineio::SessionCookie) -> Self {
        self.0.engine.cookie = Some(cookie);
        self
    }
    /// Node: `transports`, both.
    pub fn transports(mut self, transports: impl IntoIterator<Item = Transport>) -> Self {
        self.0.engine.transports = transports.into_iter().collect();
        self
    }
    /// How long a connection may stay without joining a namespace before it is closed (Node:
    /// `connectTimeout`, 45 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.0.connect_timeout = d;
        self
    }
    /// How long `emit_with_ack` waits when no `timeout` is given (5 s; Node waits forever).
    pub fn ack_timeout(mut self, d: Duration) -> Self {
        self.0.ack_timeout = d;
        self
    }
    /// The most binary attachments one packet may announce (10, as Node's parser); a packet
    /// announcing more closes its connection.
    pub fn parser(mut self, parser: crate::Parser) -> Self {
        self.0.parser = parser;
        self
    }
    /// Node: the default parser's bound on binary attachments per packet, 10; with msgpack,
    /// the bound on pieces of binary data in one packet.
    pub fn max_attachments(mut self, n: usize) -> Self {
        self.0.max_attachments = n;
        self
    }
    /// Turns connection state recovery on (Node's `connectionStateRecovery`): a client that
    /// comes back within `max_disconnection_duration` gets its id, rooms and data back, and
    /// the broadcasts it missed. `ConnectionStateRecovery::default()` is Node's defaults.
    pub fn connection_state_recovery(mut self, recovery: crate::ConnectionStateRecovery) -> Self {
        self.0.connection_state_recovery = Some(recovery);
        self
    }
    /// The settings, for [`SocketIoBuilder::config`](crate::SocketIoBuilder::config).
    #[must_use]
    pub fn build(self) -> SocketIoConfig {
        self.0
    }
}

impl SocketIoConfig {
    /// A builder starting from Node's defaults.
    pub fn builder() -> SocketIoConfigBuilder {
        SocketIoConfigBuilder::default()
    }
}
