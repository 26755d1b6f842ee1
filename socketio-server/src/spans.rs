//! The `tracing` spans around the application's handlers: a socket's connection, each of its
//! events, its disconnection, each with the engine's session id, the socket's id and the
//! namespace. They are at DEBUG: with that level off for this crate, making one costs a check
//! of a static, and its fields are not even computed.

use crate::{DisconnectReason, Socket};
use tracing::Span;

/// Around the connection handlers of a socket just admitted.
pub(crate) fn connect(socket: &Socket) -> Span {
    tracing::debug_span!(
        "socketio.connect",
        engine_sid = %socket.engine_id(),
        socket = %socket.id(),
        namespace = %socket.namespace().name(),
    )
}

/// Around the middlewares and the handler of one event.
pub(crate) fn event(socket: &Socket, event: &str) -> Span {
    tracing::debug_span!(
        "socketio.event",
        engine_sid = %socket.engine_id(),
        socket = %socket.id(),
        namespace = %socket.namespace().name(),
        event,
    )
}

/// Around the disconnect handlers (`disconnecting` and `disconnect`).
pub(crate) fn disconnect(socket: &Socket, reason: DisconnectReason) -> Span {
    tracing::debug_span!(
        "socketio.disconnect",
        engine_sid = %socket.engine_id(),
        socket = %socket.id(),
        namespace = %socket.namespace().name(),
        reason = reason.as_str(),
    )
}
