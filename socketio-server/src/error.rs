use std::fmt;

/// Why an emit did not go out. Every emit method returns it; `let _ =` says the caller does
/// not mind.
///
/// ```
/// use socketio::{EmitError, Socket};
///
/// fn tell(socket: &Socket, text: &str) {
///     match socket.emit("news", text) {
///         Ok(()) => {}
///         // The client is not reading: it will be reaped by the heartbeat, skip it.
///         Err(EmitError::Full) => tracing::debug!(id = %socket.id(), "slow client"),
///         Err(EmitError::Disconnected) => {}
///         Err(e) => tracing::warn!(%e, "news not sent"),
///     }
/// }
/// ```
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    /// The data could not be serialized to JSON.
    #[error("cannot serialize the payload: {0}")]
    Serialize(#[from] serde_json::Error),
    /// The socket is disconnected.
    #[error("socket disconnected")]
    Disconnected,
    /// The client is not reading fast enough: its send queue is full.
    #[error("socket send queue full")]
    Full,
    /// The event name is one the protocol reserves.
    #[error("\"{0}\" is a reserved event name")]
    Reserved(String),
    /// A volatile emit the transport could not take right away, dropped as volatile asks.
    #[error("volatile packet dropped: the transport was not ready")]
    Dropped,
    /// The cluster adapter could not pass the emit on to the other servers; this server's
    /// sockets had it all the same.
    #[error(transparent)]
    Adapter(#[from] crate::adapter::AdapterError),
}

/// Why an acknowledgement did not come, from `emit_with_ack` on a socket.
///
/// ```no_run
/// use socketio::{AckError, Socket};
/// use std::time::Duration;
///
/// async fn ask_name(socket: &Socket) -> Option<String> {
///     match socket.timeout(Duration::from_secs(3)).emit_with_ack("name?", &()).await {
///         Ok(name) => Some(name),
///         Err(AckError::Timeout) => None, // the client never called back
///         Err(AckError::Deserialize(e)) => {
///             tracing::debug!(%e, "answer is not a string");
///             None
///         }
///         Err(e) => {
///             tracing::debug!(%e, "not asked");
///             None
///         }
///     }
/// }
/// ```
#[derive(Debug, thiserror::Error)]
pub enum AckError {
    /// The event did not go out, so no answer can come.
    #[error(transparent)]
    Emit(#[from] EmitError),
    /// No answer within the timeout (Node: "operation has timed out").
    #[error("operation has timed out")]
    Timeout,
    /// The socket disconnected before answering.
    #[error("socket disconnected before acknowledging")]
    Disconnected,
    /// The answer did not deserialize into the expected type.
    #[error("cannot deserialize the acknowledgement: {0}")]
    Deserialize(serde_json::Error),
    /// The cluster adapter failed (a timeout of the other servers is [`AckError::Timeout`]).
    #[error("cluster adapter: {0}")]
    Adapter(crate::adapter::AdapterError),
}

impl From<crate::adapter::AdapterError> for AckError {
    fn from(error: crate::adapter::AdapterError) -> Self {
        match error {
            crate::adapter::AdapterError::Timeout => AckError::Timeout,
            other => AckError::Adapter(other),
        }
    }
}

/// What a connect middleware answers to refuse a socket: the client's `connect_error` gets
/// `message` and, when set, `data` (Node's `next(err)` with `err.data`).
///
/// ```
/// use socketio::{ConnectError, Data, SocketIo};
///
/// #[derive(serde::Deserialize)]
/// struct Auth { token: Option<String> }
///
/// let io = SocketIo::new();
/// io.use_middleware(|Data(auth): Data<Auth>| async move {
///     match auth.token.as_deref() {
///         Some("secret") => Ok(()),
///         // The client's `connect_error` sees err.message "bad token", err.data.retry false.
///         Some(_) => Err(ConnectError::new("bad token").with_data(serde_json::json!({ "retry": false }))),
///         None => Err(ConnectError::new("token required")),
///     }
/// });
/// ```
#[derive(Debug, Clone)]
pub struct ConnectError {
    /// What the client reads as `err.message`.
    pub message: String,
    /// What the client reads as `err.data`; left out of the packet when `None`.
    pub data: Option<serde_json::Value>,
}

impl ConnectError {
    /// A refusal with this message and no data.
    #[must_use]
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            data: None,
        }
    }

    /// Extra details the client reads as `err.data`.
    #[must_use]
    pub fn with_data(mut self, data: impl serde::Serialize) -> Self {
        self.data = serde_json::to_value(data).ok();
        self
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConnectError {}
