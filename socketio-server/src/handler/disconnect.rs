//! Disconnect handlers and what they extract from a departure.

use super::{impl_handlers, Erased, ExtractError, State};
use crate::{DisconnectReason, Socket};
use futures_util::future::BoxFuture;

/// A socket leaving its namespace, as extractors see it: what a [`FromDisconnectParts`] reads
/// to build a disconnect handler's argument.
///
/// ```
/// use socketio::{DisconnectParts, DisconnectReason, ExtractError, FromDisconnectParts};
/// use socketio::{Socket, SocketIo};
///
/// /// Whether the client will be back by itself: it did not leave on purpose, nor was it sent
/// /// away, so its client reconnects.
/// struct WillReconnect(bool);
///
/// impl FromDisconnectParts for WillReconnect {
///     fn from_disconnect_parts(parts: &DisconnectParts) -> Result<Self, ExtractError> {
///         Ok(WillReconnect(matches!(
///             parts.reason(),
///             DisconnectReason::TransportClose
///                 | DisconnectReason::TransportError
///                 | DisconnectReason::PingTimeout
///         )))
///     }
/// }
///
/// let io = SocketIo::new();
/// io.on_connection(|socket: Socket| async move {
///     socket.on_disconnecting(|socket: Socket, WillReconnect(back): WillReconnect| async move {
///         if !back {
///             let _ = socket.to(socket.rooms()).emit("left", socket.id());
///         }
///     });
/// });
/// ```
#[derive(Debug)]
pub struct DisconnectParts {
    pub(crate) socket: Socket,
    pub(crate) reason: DisconnectReason,
}

impl DisconnectParts {
    /// The socket that is leaving.
    #[must_use]
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// Why it is leaving.
    #[must_use]
    pub fn reason(&self) -> DisconnectReason {
        self.reason
    }
}

/// Something a disconnect handler can take from a departure (see [`DisconnectParts`] for
/// an example).
pub trait FromDisconnectParts: Sized {
    /// Builds the value, or refuses, and the handler is not called.
    fn from_disconnect_parts(parts: &DisconnectParts) -> Result<Self, ExtractError>;
}

impl FromDisconnectParts for Socket {
    fn from_disconnect_parts(parts: &DisconnectParts) -> Result<Self, ExtractError> {
        Ok(parts.socket.clone())
    }
}

impl FromDisconnectParts for DisconnectReason {
    fn from_disconnect_parts(parts: &DisconnectParts) -> Result<Self, ExtractError> {
        Ok(parts.reason)
    }
}

impl<T: Clone + Send + Sync + 'static> FromDisconnectParts for State<T> {
    fn from_disconnect_parts(parts: &DisconnectParts) -> Result<Self, ExtractError> {
        State::of(&parts.socket)
    }
}

/// What runs when a socket is leaving (`disconnecting`) or has left (`disconnect`): async
/// closures of up to six [`FromDisconnectParts`] extractors.
///
/// ```
/// use socketio::{DisconnectReason, Socket, SocketIo};
///
/// let io = SocketIo::new();
/// io.on_connection(|socket: Socket| async move {
///     socket.on_disconnect(|socket: Socket, reason: DisconnectReason| async move {
///         println!("{} left: {reason}", socket.id());
///     });
/// });
/// ```
pub trait DisconnectHandler<T>: Send + Sync + 'static {
    /// The handler's future, or the extractor's refusal.
    fn call(&self, parts: &DisconnectParts) -> Result<BoxFuture<'static, ()>, ExtractError>;
}

impl_handlers!(
    DisconnectHandler,
    DisconnectParts,
    FromDisconnectParts::from_disconnect_parts,
    ()
);

/// A [`DisconnectHandler`] with its extractor types forgotten.
pub(crate) trait ErasedDisconnectHandler: Send + Sync {
    fn call(&self, parts: &DisconnectParts) -> Result<BoxFuture<'static, ()>, ExtractError>;
}

impl<H: DisconnectHandler<T>, T: 'static> ErasedDisconnectHandler for Erased<H, T> {
    fn call(&self, parts: &DisconnectParts) -> Result<BoxFuture<'static, ()>, ExtractError> {
        self.handler.call(parts)
    }
}
