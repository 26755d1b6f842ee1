use crate::{CloseReason, Message, Socket};
use parser::engineio::Frame;
use std::sync::Arc;

/// What the application does with sessions: the engine calls these as events happen.
///
/// The calls for one socket come in order from that socket's transport, and they must not block:
/// spawn a task for slow work. `Data` is created with `Default` for each socket and reachable as
/// [`Socket::data`].
///
/// ```
/// use engineio::{CloseReason, EngineIoHandler, Message, Socket};
/// use std::sync::Arc;
///
/// struct Echo;
///
/// impl EngineIoHandler for Echo {
///     type Data = ();
///     fn on_connect(&self, socket: Arc<Socket>) {
///         println!("{} connected from {:?}", socket.id(), socket.handshake().remote_addr);
///     }
///     fn on_message(&self, socket: &Arc<Socket>, message: Message) {
///         let _ = socket.send(message);
///     }
///     fn on_close(&self, socket: &Arc<Socket>, reason: CloseReason) {
///         println!("{} closed: {reason}", socket.id());
///     }
/// }
/// ```
pub trait EngineIoHandler: Send + Sync + 'static {
    /// Per-socket application data.
    type Data: Default + Send + Sync + 'static;

    /// A session opened (Node's `connection` event).
    fn on_connect(&self, socket: Arc<Socket<Self::Data>>);

    /// A message arrived (the socket's `message` event).
    fn on_message(&self, socket: &Arc<Socket<Self::Data>>, message: Message);

    /// The session ended; called exactly once per socket (the socket's `close` event).
    fn on_close(&self, socket: &Arc<Socket<Self::Data>>, reason: CloseReason);

    /// The transport is about to write these frames (the socket's `flush` event).
    fn on_flush(&self, _socket: &Arc<Socket<Self::Data>>, _frames: &[Frame]) {}

    /// Everything queued has been written out (the socket's `drain` event).
    fn on_drain(&self, _socket: &Arc<Socket<Self::Data>>) {}

    /// The session moved from polling to WebSocket (the socket's `upgrade` event).
    fn on_upgrade(&self, _socket: &Arc<Socket<Self::Data>>) {}
}
