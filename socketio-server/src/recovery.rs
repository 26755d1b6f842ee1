//! Connection state recovery (Node's `connectionStateRecovery`): the settings, and what a
//! disconnected socket leaves behind for its return.

use std::time::Duration;

/// How long and how much a server keeps for clients that may come back (Node's
/// `connectionStateRecovery`, off unless given to
/// [`SocketIoConfigBuilder::connection_state_recovery`](crate::SocketIoConfigBuilder::connection_state_recovery)).
///
/// A client that lost its connection for a reason that keeps its session (a transport error or
/// close, a ping timeout, the server shutting down) and comes back within
/// `max_disconnection_duration` gets the same socket id, its rooms and its data, and every
/// broadcast it missed, in order, before anything new; `socket.recovered()` is true. Node keeps
/// the missed broadcasts for the duration only; here `max_packets` and `max_bytes` bound them
/// too, the oldest going first.
///
/// ```
/// use socketio::{ConnectionStateRecovery, SocketIoConfig};
/// use std::time::Duration;
///
/// let config = SocketIoConfig::builder()
///     .connection_state_recovery(ConnectionStateRecovery {
///         max_disconnection_duration: Duration::from_secs(30),
///         ..ConnectionStateRecovery::default()
///     })
///     .build();
/// assert!(config.connection_state_recovery.unwrap().skip_middlewares);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionStateRecovery {
    /// How long a session and the broadcasts it may miss are kept (Node:
    /// `maxDisconnectionDuration`, 2 minutes).
    pub max_disconnection_duration: Duration,
    /// Whether a recovered socket skips the connect middlewares (Node: `skipMiddlewares`,
    /// true).
    pub skip_middlewares: bool,
    /// The most broadcasts kept per namespace for clients that may come back (10,000; Node
    /// keeps every broadcast of the duration).
    pub max_packets: usize,
    /// The most bytes of broadcasts kept per namespace (16 MiB; Node has no bound).
    pub max_bytes: usize,
}

impl Default for ConnectionStateRecovery {
    fn default() -> Self {
        Self {
            max_disconnection_duration: Duration::from_secs(120),
            skip_middlewares: true,
            max_packets: 10_000,
            max_bytes: 16 << 20,
        }
    }
}
