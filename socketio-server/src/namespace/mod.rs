use crate::adapter::{Adapter, Room, Sid};
use crate::client::EngineSocket;
use crate::error::ConnectError;
use crate::expiry::{ExpiredSession, ExpiryWatch};
use crate::handler::{
    ConnectHandler, ConnectMiddleware, ConnectParts, Erased, ErasedConnectHandler,
    ErasedConnectMiddleware,
};
use crate::inline::run_inline;
use crate::io::ServerInner;
use crate::operators::BroadcastOperator;
use crate::{DisconnectReason, Handshake, RemoteSocket, Socket};
use engineio::sync::{read, write};
use futures_util::future::BoxFuture;
use parser::socketio::Packet;
use parser::Str;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};

mod connect;

pub(crate) type ConnectionHandler = Arc<dyn ErasedConnectHandler>;
/// A server-side event's handler: its arguments, and whether the sender waits for an answer.
pub(crate) type ServerSideHandler = Arc<
    dyn Fn(Vec<serde_json::Value>, bool) -> BoxFuture<'static, Option<serde_json::Value>>
        + Send
        + Sync,
>;
pub(crate) type Middleware = Arc<dyn ErasedConnectMiddleware>;

/// A namespace: its sockets, its rooms (through its adapter), and what happens when a socket
/// connects (Node's `io.of(name)`).
///
/// ```no_run
/// # use socketio::{SocketIo, Socket, ConnectError, Data};
/// #[derive(serde::Deserialize)]
/// struct Auth { token: Option<String> }
///
/// let io = SocketIo::new();
/// let admin = io.of("/admin");
/// admin.use_middleware(|Data(auth): Data<Auth>| async move {
///     match auth.token.as_deref() {
///         Some("secret") => Ok(()),
///         _ => Err(ConnectError::new("unauthorized")),
///     }
/// });
/// admin.on_connection(|socket: Socket| async move {
///     let _ = socket.emit("welcome", "admin");
/// });
/// ```
#[derive(Clone)]
pub struct Namespace(Arc<NamespaceInner>);

/// An adapter's handle on its namespace: it does not keep the namespace alive, and it offers
/// what a cluster adapter needs from the namespace and nothing an application uses.
#[derive(Clone)]
pub struct NamespaceRef(Weak<NamespaceInner>);

pub(crate) struct NamespaceInner {
    name: Str,
    server: Weak<ServerInner>,
    sockets: RwLock<HashMap<Sid, Socket>>,
    adapter: Arc<dyn Adapter>,
    handlers: RwLock<Vec<ConnectionHandler>>,
    middlewares: RwLock<Vec<Middleware>>,
    server_side: RwLock<HashMap<Str, ServerSideHandler>>,
    /// The sessions left behind, watched for expiry when the app asks to hear of it.
    expiry: ExpiryWatch,
    /// Ack ids come from one counter per namespace, so a broadcast can give every recipient the
    /// same id, and the same encoded packet.
    next_ack_id: AtomicU64,
    /// The namespace's metrics, when the server keeps them.
    counters: Option<crate::metrics::NamespaceCounters>,
    /// Who hears of sockets joining and leaving rooms.
    room_listeners: crate::room_events::RoomListeners,
}

impl NamespaceRef {
    pub(crate) fn upgrade(&self) -> Option<Namespace> {
        self.0.upgrade().map(Namespace)
    }

    /// Runs this server's handler for an event another server sent with `server_side_emit`,
    /// with `ack_requested` when the sender waits for an answer. Resolves to the handler's
    /// answer (`None` without a handler or an answer, or once the namespace is gone).
    #[must_use = "the handler runs to its end only when the future is awaited"]
    pub fn dispatch_server_side(
        &self,
        event: &str,
        args: Vec<serde_json::Value>,
        ack_requested: bool,
    ) -> BoxFuture<'static, Option<serde_json::Value>> {
        match self.upgrade() {
            Some(namespace) => namespace.dispatch_server_side(event, args, ack_requested),
            None => Box::pin(std::future::ready(None)),
        }
    }

    /// A fresh acknowledgement id of the namespace: for delivering another server's broadcast
    /// with acknowledgements to this server's sockets, all under one id.
    #[must_use]
    pub fn next_ack_id(&self) -> u64 {
        self.upgrade()
            .map_or(0, |namespace| namespace.next_ack_id())
    }

    /// Stops waiting for the acknowledgements of the broadcast with id `id` on every local
    /// socket: for a forwarded broadcast whose wait is over.
    pub fn forget_ack(&self, id: u64) {
        if let Some(namespace) = self.upgrade() {
            namespace.forget_ack(id);
        }
    }

    /// The server's connection state recovery settings, `None` when recovery is off (or the
    /// namespace is gone): for a cluster adapter that keeps sessions and offsets itself (Node's
    /// `nsp.server.opts.connectionStateRecovery`), to know whether broadcasts get an offset and
    /// how long a session is kept.
    #[must_use]
    pub fn connection_state_recovery(&self) -> Option<crate::ConnectionStateRecovery> {
        self.upgrade()?.recovery()
    }

    /// A socket of another server, as that server described it, whose operations (emit, join,
    /// leave, disconnect) reach it through this namespace's adapter; `None` once the namespace
    /// is gone.
    #[must_use]
    pub fn remote_socket(
        &self,
        id: Sid,
        rooms: Vec<Room>,
        handshake: Handshake,
        data: serde_json::Value,
    ) -> Option<RemoteSocket> {
        let namespace = self.upgrade()?;
        Some(RemoteSocket::new(namespace, id, rooms, handshake, data))
    }
}

impl std::fmt::Debug for NamespaceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.upgrade() {
            Some(namespace) => f
                .debug_tuple("NamespaceRef")
                .field(namespace.name())
                .finish(),
            None => f.write_str("NamespaceRef(gone)"),
        }
    }
}

impl Namespace {
    pub(crate) fn new(name: Str, server: &Arc<ServerInner>) -> Self {
        Self::with_adapter(name, server, |name, namespace| {
            server.adapter_factory.create(name, namespace)
        })
    }

    /// A namespace that only keeps connection handlers and middlewares for others to copy: a
    /// dynamic parent's. No socket ever joins it, and its adapter is an in-memory one made here
    /// rather than by the server's factory, so that a cluster adapter knows nothing of it.
    pub(crate) fn template(name: Str, server: &Arc<ServerInner>) -> Self {
        Self::with_adapter(name, server, |_, namespace| {
            Arc::new(crate::adapter::LocalAdapter::new(namespace))
        })
    }

    fn with_adapter(
        name: Str,
        server: &Arc<ServerInner>,
        adapter: impl FnOnce(&Str, NamespaceRef) -> Arc<dyn Adapter>,
    ) -> Self {
        let counters = server.counters.as_ref().map(|c| c.namespace(&name));
        Namespace(Arc::new_cyclic(|weak| NamespaceInner {
            adapter: match &counters {
                Some(counters) => crate::adapter::Metered::wrap(
                    adapter(&name, NamespaceRef(weak.clone())),
                    counters.adapter.clone(),
                ),
                None => adapter(&name, NamespaceRef(weak.clone())),
            },
            counters,
            name,
            server: Arc::downgrade(server),
            sockets: RwLock::default(),
            handlers: RwLock::default(),
            middlewares: RwLock::default(),
            server_side: RwLock::default(),
            expiry: ExpiryWatch::default(),
            next_ack_id: AtomicU64::new(0),
            room_listeners: crate::room_events::RoomListeners::default(),
        }))
    }

    pub(crate) fn room_listeners(&self) -> &crate::room_events::RoomListeners {
        &self.0.room_listeners
    }

    /// The namespace's metrics, when the server keeps them.
    pub(crate) fn counters(&self) -> Option<&crate::metrics::NamespaceCounters> {
        self.0.counters.as_ref()
    }

    /// A handle that does not keep the namespace alive.
    pub(crate) fn downgrade(&self) -> NamespaceRef {
        NamespaceRef(Arc::downgrade(&self.0))
    }

    pub(crate) fn expiry(&self) -> &ExpiryWatch {
        &self.0.expiry
    }

    /// Whether two handles are the same namespace (a dynamic child removed and made again
    /// has the same name, not the same namespace).
    pub(crate) fn ptr_eq(&self, other: &Namespace) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Whether no socket of this server is in the namespace.
    pub(crate) fn is_empty(&self) -> bool {
        read(&self.0.sockets).is_empty()
    }

    /// A namespace created on demand for a dynamic parent: it starts with the parent's
    /// middlewares and connection handlers, as Node's child namespaces do.
    pub(crate) fn child_of(parent: &Namespace, name: Str, server: &Arc<ServerInner>) -> Self {
        let child = Namespace::new(name, server);
        *write(&child.0.handlers) = read(&parent.0.handlers).clone();
        *write(&child.0.middlewares) = read(&parent.0.middlewares).clone();
        child
    }

    pub(crate) fn server(&self) -> Option<Arc<ServerInner>> {
        self.0.server.upgrade()
    }

    /// The server's connection state recovery settings; `None` when recovery is off.
    pub(crate) fn recovery(&self) -> Option<crate::ConnectionStateRecovery> {
        self.server()?.config.connection_state_recovery.clone()
    }

    /// The namespace's name, e.g. `/` or `/admin`.
    #[must_use]
    pub fn name(&self) -> &Str {
        &self.0.name
    }

    /// The adapter that keeps this namespace's rooms.
    pub(crate) fn adapter(&self) -> &Arc<dyn Adapter> {
        &self.0.adapter
    }

    /// How many servers of the cluster serve this namespace, this one included (Node's
    /// `adapter.serverCount()`); 1 without a cluster adapter.
    pub async fn server_count(&self) -> usize {
        self.0.adapter.server_count().await
    }

    /// Runs `handler` for every socket that connects (Node's `connection` event). Its code up
    /// to its first `.await` runs before the socket's first event is handled: register event
    /// handlers there.
    ///
    /// Its arguments are extractors ([`Socket`], [`Data`](crate::Data) of the CONNECT's
    /// `auth`, [`State`](crate::State), or your own [`FromConnectParts`](crate::FromConnectParts)):
    /// when one fails the handler does not run and the socket is disconnected ("server namespace
    /// disconnect"). To refuse a socket with a message the client sees, check in a middleware.
    pub fn on_connection<H, T>(&self, handler: H)
    where
        H: ConnectHandler<T>,
        T: Send + Sync + 'static,
    {
        write(&self.0.handlers).push(Arc::new(Erased::new(handler)));
    }

    /// Adds a connect middleware (Node's `namespace.use`): each runs in order before a socket
    /// is admitted; an `Err` refuses it, and the client's `connect_error` gets the message and
    /// data.
    ///
    /// It takes the same extractors as [`on_connection`](Self::on_connection); one that fails
    /// refuses the socket with its message. The socket is not
    /// [`connected`](Socket::connected) yet while middlewares run, as in Node.
    pub fn use_middleware<M, T>(&self, middleware: M)
    where
        M: ConnectMiddleware<T>,
        T: Send + Sync + 'static,
    {
        write(&self.0.middlewares).push(Arc::new(Erased::new(middleware)));
    }

    /// Runs `handler` for each session of this namespace that expires unrecovered, under
    /// connection state recovery: its socket left for a reason that keeps the session, and its
    /// client did not come back within `max_disconnection_duration`, to this server or another
    /// of the cluster. It runs on the server the socket left, once, shortly after the duration.
    /// Node has no such event (its issue #5250): use it to tell "away" from "gone".
    ///
    /// Only sessions persisted while a handler is registered are watched. In a cluster, a
    /// session restored by another server is recognised by its socket being connected there
    /// when the duration ends.
    pub fn on_session_expired<F, Fut>(&self, handler: F)
    where
        F: Fn(ExpiredSession) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.0.expiry.on_expired(handler);
    }

    /// Handles an event sent by another server of the cluster with `server_side_emit` (Node's
    /// `namespace.on(event)` for server-side events). What the handler returns answers a sender
    /// that asked for acknowledgements.
    pub fn on_server_side<F, Fut>(&self, event: impl Into<Str>, handler: F)
    where
        F: Fn(Vec<serde_json::Value>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<serde_json::Value>> + Send + 'static,
    {
        write(&self.0.server_side).insert(
            event.into(),
            Arc::new(move |args, _| Box::pin(handler(args))),
        );
    }

    /// As [`on_server_side`](Self::on_server_side), the handler also told whether the sender
    /// waits for an answer (`server_side_emit_with_ack`, Node's `serverSideEmitWithAck`): a
    /// Node handler sees a callback as its last argument only then. The answer is sent only
    /// then.
    ///
    /// ```
    /// use serde_json::Value;
    /// let io = socketio::SocketIo::new();
    /// let server = io.clone();
    /// // Node's cluster tests: answer with the first argument, or broadcast the event.
    /// io.on_server_side_with_ack("hello", move |args: Vec<Value>, ack_requested| {
    ///     if !ack_requested {
    ///         let _ = server.broadcast().emit_args("hello", &args);
    ///     }
    ///     async move { args.into_iter().next() }
    /// });
    /// ```
    pub fn on_server_side_with_ack<F, Fut>(&self, event: impl Into<Str>, handler: F)
    where
        F: Fn(Vec<serde_json::Value>, bool) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<serde_json::Value>> + Send + 'static,
    {
        write(&self.0.server_side).insert(
            event.into(),
            Arc::new(move |args, ack_requested| Box::pin(handler(args, ack_requested))),
        );
    }

    /// Sends an event to the other servers of the cluster (Node's `serverSideEmit`): a tuple
    /// or sequence is several arguments, anything else one. A single server has no one to
    /// tell.
    ///
    /// # Errors
    ///
    /// [`EmitError::Serialize`](crate::EmitError::Serialize) when the arguments do not
    /// serialize.
    pub fn server_side_emit<T: serde::Serialize + ?Sized>(
        &self,
        event: impl Into<Str>,
        args: &T,
    ) -> Result<(), crate::EmitError> {
        let args = server_side_args(args)?;
        Ok(self.adapter().server_side_emit(event.into(), args)?)
    }

    /// Sends an event to the other servers and collects their answers, one per server,
    /// within `timeout` (Node's `serverSideEmitWithAck`). A single server gets no answer.
    ///
    /// # Errors
    ///
    /// [`AckError::Emit`](crate::AckError::Emit) when the arguments do not serialize,
    /// [`AckError::Timeout`](crate::AckError::Timeout) when not every other server answered in
    /// time, [`AckError::Adapter`](crate::AckError::Adapter) when the adapter failed otherwise.
    pub async fn server_side_emit_with_ack<T: serde::Serialize + ?Sized>(
        &self,
        event: impl Into<Str>,
        args: &T,
        timeout: std::time::Duration,
    ) -> Result<Vec<serde_json::Value>, crate::AckError> {
        let args = server_side_args(args)?;
        self.adapter()
            .server_side_emit_with_ack(event.into(), args, timeout)
            .await
            .map_err(crate::AckError::from)
    }

    /// Runs this server's handler for an event another server sent: for adapters to call,
    /// with `ack_requested` when the sender waits for an answer. Resolves to the handler's
    /// answer (`None` without a handler or an answer).
    pub(crate) fn dispatch_server_side(
        &self,
        event: &str,
        args: Vec<serde_json::Value>,
        ack_requested: bool,
    ) -> BoxFuture<'static, Option<serde_json::Value>> {
        match read(&self.0.server_side).get(event).cloned() {
            Some(handler) => handler(args, ack_requested),
            None => Box::pin(std::future::ready(None)),
        }
    }

    /// This server's sockets in the namespace.
    #[must_use]
    pub fn sockets(&self) -> Vec<Socket> {
        read(&self.0.sockets).values().cloned().collect()
    }

    /// The sockets of these ids that are still here, under one lock.
    pub(crate) fn sockets_by_id(&self, ids: &[Sid]) -> Vec<Socket> {
        let sockets = read(&self.0.sockets);
        ids.iter()
            .filter_map(|id| sockets.get(id).cloned())
            .collect()
    }

    /// The ids of this server's sockets in the namespace.
    pub(crate) fn socket_ids(&self) -> Vec<Sid> {
        read(&self.0.sockets).keys().cloned().collect()
    }

    /// The ids of this server's sockets that these rooms name: a room named by a socket's id
    /// is that socket's own room.
    pub(crate) fn existing_ids<'a>(&self, rooms: impl Iterator<Item = &'a Room>) -> Vec<Sid> {
        let sockets = read(&self.0.sockets);
        rooms
            .filter_map(|room| sockets.get_key_value(room.as_str()))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// One of this server's sockets, by id.
    #[must_use]
    pub fn get_socket(&self, id: &str) -> Option<Socket> {
        read(&self.0.sockets).get(id).cloned()
    }

    /// A broadcast to every socket of the namespace, to narrow with `to`, `except` and flags.
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.clone())
    }

    /// Stops waiting for the acknowledgements of the broadcast with id `id` on every socket:
    /// for an adapter whose forwarding of another server's broadcast timed out.
    pub(crate) fn forget_ack(&self, id: u64) {
        for socket in self.sockets() {
            socket.forget_ack(id);
        }
    }

    /// A fresh acknowledgement id of this namespace: for an adapter that delivers another
    /// server's broadcast with acknowledgements to this server's sockets.
    pub(crate) fn next_ack_id(&self) -> u64 {
        self.0.next_ack_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Forgets a socket that has left: its rooms and its place in the namespace.
    pub(crate) fn remove_socket(&self, id: &Sid) {
        self.adapter().del_all(id);
        write(&self.0.sockets).remove(id);
        if let Some(server) = self.server() {
            server.socket_left(self);
        }
    }

    pub(crate) fn join(&self, id: &Sid, rooms: &[Room]) {
        self.adapter().add_all(id, rooms);
    }
}

impl std::fmt::Debug for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Namespace")
            .field("name", &self.0.name)
            .finish()
    }
}

/// The arguments of a server-side event: a tuple or sequence spreads into several, anything
/// else is one.
fn server_side_args<T: serde::Serialize + ?Sized>(
    args: &T,
) -> Result<Vec<serde_json::Value>, crate::EmitError> {
    Ok(match serde_json::to_value(args)? {
        serde_json::Value::Array(items) => items,
        serde_json::Value::Null => Vec::new(),
        one => vec![one],
    })
}

#[cfg(test)]
mod tests {
    use crate::SocketIo;
    use serde_json::json;
    use std::time::Duration;

    #[tokio::test]
    async fn server_side_events_reach_the_handler_an_adapter_dispatches_to() {
        let io = SocketIo::new();
        io.on_server_side("ping", |args| async move { Some(json!({ "pong": args })) });
        let answer = io
            .of("/")
            .dispatch_server_side("ping", vec![json!(1)], true)
            .await;
        assert_eq!(answer, Some(json!({ "pong": [1] })));
        assert_eq!(
            io.of("/").dispatch_server_side("other", vec![], true).await,
            None
        );

        // A single server has no other server to tell or to answer.
        io.server_side_emit("ping", &(1, "two")).unwrap();
        let answers = io
            .of("/")
            .server_side_emit_with_ack("ping", &1, Duration::from_millis(50))
            .await
            .unwrap();
        assert!(answers.is_empty());
    }

    #[tokio::test]
    async fn a_server_side_handler_can_tell_whether_an_answer_is_awaited() {
        let io = SocketIo::new();
        io.of("/")
            .on_server_side_with_ack("hello", |args, ack_requested| async move {
                Some(json!({ "args": args, "ack_requested": ack_requested }))
            });
        let nsp = io.of("/");
        assert_eq!(
            nsp.dispatch_server_side("hello", vec![json!(1)], false)
                .await,
            Some(json!({ "args": [1], "ack_requested": false }))
        );
        assert_eq!(
            nsp.dispatch_server_side("hello", vec![], true).await,
            Some(json!({ "args": [], "ack_requested": true }))
        );
    }
}
