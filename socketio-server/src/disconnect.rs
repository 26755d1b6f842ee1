use engineio::CloseReason;
use std::fmt;

/// Why a socket left its namespace, named as Node's socket.io names it (what `disconnecting` and
/// `disconnect` handlers receive). It displays as Node's text, e.g. `transport close`.
///
/// ```
/// use socketio::{DisconnectReason, Socket, SocketIo};
///
/// let io = SocketIo::new();
/// io.on_connection(|socket: Socket| async move {
///     socket.on_disconnect(|socket: Socket, reason: DisconnectReason| async move {
///         match reason {
///             DisconnectReason::ClientNamespaceDisconnect => println!("{} said goodbye", socket.id()),
///             DisconnectReason::PingTimeout | DisconnectReason::TransportClose => {
///                 println!("{} lost ({reason}), may come back", socket.id())
///             }
///             _ => println!("{} gone: {reason}", socket.id()),
///         }
///     });
/// });
/// assert_eq!(DisconnectReason::PingTimeout.to_string(), "ping timeout");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisconnectReason {
    /// The connection failed.
    TransportError,
    /// The client closed the connection.
    TransportClose,
    /// The connection was closed by the engine from the server side.
    ForcedClose,
    /// The client stopped answering pings.
    PingTimeout,
    /// The client sent something that is not engine.io.
    ParseError,
    /// The server is closing (`SocketIo::close`).
    ServerShuttingDown,
    /// The server closed the whole connection (`disconnect(true)`, a protocol error, or no
    /// namespace joined within `connect_timeout`).
    ForcedServerClose,
    /// The client left the namespace.
    ClientNamespaceDisconnect,
    /// The server removed the socket from the namespace (`disconnect(false)`).
    ServerNamespaceDisconnect,
}

impl DisconnectReason {
    /// Node's text for the reason, e.g. `"transport close"`: what a Node client's `disconnect`
    /// listener receives, and what [`Display`](fmt::Display) writes.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TransportError => "transport error",
            Self::TransportClose => "transport close",
            Self::ForcedClose => "forced close",
            Self::PingTimeout => "ping timeout",
            Self::ParseError => "parse error",
            Self::ServerShuttingDown => "server shutting down",
            Self::ForcedServerClose => "forced server close",
            Self::ClientNamespaceDisconnect => "client namespace disconnect",
            Self::ServerNamespaceDisconnect => "server namespace disconnect",
        }
    }

    /// Whether a socket that left for this reason may come back to its session under
    /// connection state recovery: it lost its connection rather than being sent away or
    /// leaving (Node's `RECOVERABLE_DISCONNECT_REASONS`).
    #[must_use]
    pub fn keeps_session(self) -> bool {
        matches!(
            self,
            Self::TransportError
                | Self::TransportClose
                | Self::ForcedClose
                | Self::PingTimeout
                | Self::ServerShuttingDown
                | Self::ForcedServerClose
        )
    }
}

impl From<CloseReason> for DisconnectReason {
    fn from(reason: CloseReason) -> Self {
        match reason {
            CloseReason::TransportClose => Self::TransportClose,
            CloseReason::TransportError => Self::TransportError,
            CloseReason::PingTimeout => Self::PingTimeout,
            CloseReason::ParseError => Self::ParseError,
            CloseReason::ForcedClose => Self::ForcedClose,
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
