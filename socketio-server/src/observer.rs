//! Watching the engine under a server: its connections opening, upgrading and closing, and the
//! messages crossing them (Node's `io.engine.on("connection")` with the raw socket's
//! `upgrade`, `packet`, `packetCreate` and `close`), for tools that count them, such as the
//! metrics and the admin UI.

use crate::Socket;
use arc_swap::ArcSwap;
use engineio::{CloseReason, Transport};
use std::sync::Arc;

/// What an engine connection does, told as it happens, to the observers given to
/// [`SocketIo::observe_engine`](crate::SocketIo::observe_engine). Every method has an empty
/// default. They run on the connection's path, before its work goes on: keep them to a few
/// atomic operations, and hand anything longer to a task.
///
/// ```
/// use socketio::{EngineObserver, SocketIo, Transport};
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
///
/// #[derive(Default)]
/// struct MessagesIn(AtomicU64);
///
/// impl EngineObserver for MessagesIn {
///     fn received(&self, _bytes: usize) {
///         self.0.fetch_add(1, Ordering::Relaxed);
///     }
/// }
///
/// let io = SocketIo::builder().build();
/// let count = Arc::new(MessagesIn::default());
/// io.observe_engine(count.clone());
/// assert_eq!(count.0.load(Ordering::Relaxed), 0);
/// ```
pub trait EngineObserver: Send + Sync + 'static {
    /// A connection opened (a handshake) on `transport`.
    fn opened(&self, _transport: Transport) {}
    /// A polling connection moved to WebSocket; `sockets` are its sockets, one per namespace
    /// joined.
    fn upgraded(&self, _sockets: &[Socket]) {}
    /// A message of `bytes` bytes came in (text or binary; Node's `packet` with data).
    fn received(&self, _bytes: usize) {}
    /// `messages` messages of `bytes` bytes in all went out together (Node's `packetCreate`
    /// with data, once per message).
    fn sent(&self, _messages: usize, _bytes: usize) {}
    /// A connection that was on `transport` closed for `reason`.
    fn closed(&self, _transport: Transport, _reason: CloseReason) {}
}

/// A server's observers: read on every message, added to a few times in a server's life, so
/// the list is swapped whole rather than locked.
#[derive(Default)]
pub(crate) struct Observers(ArcSwap<Vec<Arc<dyn EngineObserver>>>);

impl Observers {
    pub(crate) fn add(&self, observer: Arc<dyn EngineObserver>) {
        self.0.rcu(|list| {
            let mut list = Vec::clone(list);
            list.push(observer.clone());
            list
        });
    }

    /// The observers now: one read of the list for a whole notification.
    #[inline]
    pub(crate) fn current(&self) -> arc_swap::Guard<Arc<Vec<Arc<dyn EngineObserver>>>> {
        self.0.load()
    }

    /// Calls `tell` on each observer; nothing when there are none.
    #[inline]
    pub(crate) fn each(&self, tell: impl Fn(&dyn EngineObserver)) {
        for observer in self.current().iter() {
            tell(observer.as_ref());
        }
    }
}
