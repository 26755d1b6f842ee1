use crate::adapter::{AckData, AckSink, BroadcastPacket, Room, Sid};
use crate::client::EngineSocket;
use crate::emit::{event_packet, Arg, SocketOperator};
use crate::error::{AckError, EmitError};
use crate::handler::{
    DisconnectHandler as OnDisconnect, DisconnectParts, Erased, ErasedDisconnectHandler,
    ErasedEventHandler, EventHandler, EventParts,
};
use crate::inline::run_inline;
use crate::operators::BroadcastOperator;
use crate::{DisconnectReason, Handshake, IntoRooms, Namespace, RawArgs};
use bytes::Bytes;
use engineio::sync::{lock, read, write};
use engineio::SendError;
use futures_util::future::BoxFuture;
use parser::socketio::{Event, Packet, PacketData};
use parser::Str;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::oneshot;

mod receive;
mod send;

type AnyHandler = Arc<dyn Fn(Socket, Str, RawArgs) -> BoxFuture<'static, ()> + Send + Sync>;
type DisconnectHandler = Arc<dyn ErasedDisconnectHandler>;
type MessageMiddleware =
    Arc<dyn Fn(Socket, Str, RawArgs) -> BoxFuture<'static, Result<(), BoxError>> + Send + Sync>;
type ErrorHandler = Arc<dyn Fn(Socket, Arc<BoxError>) -> BoxFuture<'static, ()> + Send + Sync>;

/// An error from a message middleware.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One client's presence in one namespace (Node's server-side `socket`). Cloning is cheap and
/// every clone is the same socket.
///
/// ```no_run
/// use serde::{Deserialize, Serialize};
/// use socketio::{AckSender, Data, Socket, SocketIo};
///
/// #[derive(Deserialize, Serialize)]
/// struct Chat { room: String, text: String }
///
/// let io = SocketIo::new();
/// io.on_connection(|socket: Socket| async move {
///     socket.on("join", |socket: Socket, Data(room): Data<String>, ack: AckSender| async move {
///         socket.join(room.clone());
///         let _ = ack.send(&room);
///     });
///     socket.on("chat", |socket: Socket, Data(chat): Data<Chat>| async move {
///         let _ = socket.to(chat.room.clone()).emit("chat", &chat);
///     });
/// });
/// ```
#[derive(Clone)]
pub struct Socket(Arc<SocketInner>);

struct SocketInner {
    id: Sid,
    /// What connection state recovery keeps of the socket: only with recovery on, so that the
    /// sockets of a server without it do not carry its 90 bytes each.
    recovery: Option<Box<Recovery>>,
    namespace: Namespace,
    conn: Arc<EngineSocket>,
    handshake: Handshake,
    /// Open for sending: from creation until it leaves.
    connected: AtomicBool,
    /// Past every middleware and told so: what `connected()` reports, as Node's.
    admitted: AtomicBool,
    closing: AtomicBool,
    /// The event handlers by name: a list, as a socket has a few (looked up by comparing
    /// names, as fast as hashing one for so few), where a map took 64 bytes inline and four
    /// buckets' worth of table for the first handler.
    handlers: RwLock<Vec<(Str, Arc<dyn ErasedEventHandler>)>>,
    /// The listeners other than the event handlers, allocated with the first one: most sockets
    /// have none, and six lists inline cost each of them 240 bytes.
    listeners: RwLock<Option<Box<Listeners>>>,
    acks: Mutex<HashMap<u64, AckSlot>>,
    data: Mutex<Option<Box<dyn SocketData>>>,
}

/// A socket's part in connection state recovery.
struct Recovery {
    /// The private session id, given to the client in the CONNECT reply.
    pid: Option<Sid>,
    /// The socket is a recovered session: same id, rooms and data, missed packets replayed.
    recovered: bool,
    /// The adapter's last offset when the socket connected (see `adapter::Session::offset`).
    offset: Option<String>,
    /// What is broadcast to it while a recovered socket catches up.
    hold: crate::hold::Hold,
}

/// A socket's listeners besides its event handlers.
#[derive(Default)]
struct Listeners {
    any: Vec<AnyHandler>,
    any_outgoing: Vec<AnyHandler>,
    middlewares: Vec<MessageMiddleware>,
    on_error: Vec<ErrorHandler>,
    on_disconnecting: Vec<DisconnectHandler>,
    on_disconnect: Vec<DisconnectHandler>,
}

impl Socket {
    /// A copy of one list of listeners (none allocated when the socket has none).
    fn listeners<T: Clone>(&self, list: impl FnOnce(&Listeners) -> &Vec<T>) -> Vec<T> {
        read(&self.0.listeners)
            .as_deref()
            .map(|listeners| list(listeners).clone())
            .unwrap_or_default()
    }

    /// Adds to the listeners, allocating them with the first one.
    fn add_listener(&self, add: impl FnOnce(&mut Listeners)) {
        add(write(&self.0.listeners).get_or_insert_with(Box::default));
    }
}

enum AckSlot {
    One(oneshot::Sender<AckData>),
    Broadcast(AckSink),
}

/// What `socket.data` may hold: anything serializable, so that `fetch_sockets` can show it to
/// other servers of a cluster.
trait SocketData: Any + Send + Sync {
    fn to_json(&self) -> serde_json::Value;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Serialize + Send + Sync + 'static> SocketData for T {
    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_else(|error| {
            tracing::warn!(%error, "socket data not serializable: shown as {{}}");
            unset_data()
        })
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// What a socket's data is until it is set: Node's default `socket.data`, an empty object.
fn unset_data() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

impl Socket {
    pub(crate) fn new(
        namespace: Namespace,
        conn: Arc<EngineSocket>,
        handshake: Handshake,
        session: Option<crate::adapter::Session>,
        offset: Option<String>,
    ) -> Self {
        let recovery = namespace.recovery().is_some();
        let (id, pid, recovered, data) = match session {
            Some(session) => (session.sid, Some(session.pid), true, Some(session.data)),
            // A v3 client makes its socket's id itself, from the engine's id, as Node's server
            // makes it for such a client; it cannot recover, so it gets no pid.
            None if conn.protocol() == engineio::Protocol::V3 => {
                let id = match namespace.name().as_str() {
                    "/" => conn.id().as_str().to_owned(),
                    name => format!("{name}#{}", conn.id()),
                };
                (crate::Sid::from_remote(id), None, false, None)
            }
            None => (
                crate::Sid::random(),
                recovery.then(crate::Sid::random),
                false,
                None,
            ),
        };
        let data = data.map(|value| Box::new(value) as Box<dyn SocketData>);
        let recovery = (pid.is_some() || recovered || offset.is_some()).then(|| {
            Box::new(Recovery {
                pid,
                recovered,
                offset,
                hold: crate::hold::Hold::default(),
            })
        });
        Socket(Arc::new(SocketInner {
            id,
            recovery,
            namespace,
            conn,
            handshake,
            connected: AtomicBool::new(true),
            admitted: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            handlers: RwLock::default(),
            listeners: RwLock::default(),
            acks: Mutex::default(),
            data: Mutex::new(data),
        }))
    }

    /// The socket's id: distinct from the connection's engine.io id, and the name of the room
    /// only this socket is in.
    #[must_use]
    pub fn id(&self) -> &Sid {
        &self.0.id
    }

    /// The namespace the socket is in.
    #[must_use]
    pub fn namespace(&self) -> &Namespace {
        &self.0.namespace
    }

    /// Whether the socket is a recovered session (Node's `socket.recovered`): connection state
    /// recovery is on, and the client came back in time with the same id, its rooms and data,
    /// and got the broadcasts it missed before anything new.
    #[must_use]
    pub fn recovered(&self) -> bool {
        self.0.recovery.as_ref().is_some_and(|r| r.recovered)
    }

    /// The private session id given to the client for recovery, when recovery is on.
    pub(crate) fn pid(&self) -> Option<&Sid> {
        self.0.recovery.as_ref().and_then(|r| r.pid.as_ref())
    }

    /// What the socket connected with.
    #[must_use]
    pub fn handshake(&self) -> &Handshake {
        &self.0.handshake
    }

    /// The id of the engine.io connection, shared by the client's sockets in every namespace.
    #[must_use]
    pub fn conn_id(&self) -> engineio::Sid {
        self.0.conn.id()
    }

    /// Whether the socket is connected (Node's `socket.connected`): false while connect
    /// middlewares run, true once it is admitted, false again once it has left.
    #[must_use]
    pub fn connected(&self) -> bool {
        self.0.admitted.load(Ordering::Acquire) && self.is_open()
    }

    /// Whether an emit now goes out without queueing (volatile emits are dropped otherwise).
    #[must_use]
    pub fn is_writable(&self) -> bool {
        self.0.conn.is_writable()
    }

    /// The id of the engine.io session under the socket (Node's `socket.conn.id`): the same for
    /// every namespace the client joined, and what the engine's logs name.
    #[must_use]
    pub fn engine_id(&self) -> engineio::Sid {
        self.0.conn.id()
    }

    /// The transport in use now.
    #[must_use]
    pub fn transport(&self) -> engineio::Transport {
        self.0.conn.transport()
    }

    /// Handles an event. The handler's arguments are extractors: [`Socket`], [`crate::Data`],
    /// [`crate::Args`], [`crate::AckSender`], [`crate::RawArgs`], [`crate::State`]. A second
    /// handler for the same event replaces the first.
    pub fn on<H, T>(&self, event: impl Into<Str>, handler: H)
    where
        H: EventHandler<T>,
        T: Send + Sync + 'static,
    {
        let handler: Arc<dyn ErasedEventHandler> = Arc::new(crate::handler::Erased::new(handler));
        let event = event.into();
        let mut handlers = write(&self.0.handlers);
        match handlers.iter_mut().find(|(name, _)| *name == event) {
            Some(entry) => entry.1 = handler,
            None => handlers.push((event, handler)),
        }
    }

    /// Stops handling an event.
    pub fn off(&self, event: &str) {
        write(&self.0.handlers).retain(|(name, _)| name != event);
    }

    /// Sees every incoming event first, with its name and raw arguments and attachments (Node's
    /// `onAny`).
    pub fn on_any<F, Fut>(&self, handler: F)
    where
        F: Fn(Socket, Str, RawArgs) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.add_listener(|l| {
            l.any
                .push(Arc::new(move |s, e, a| Box::pin(handler(s, e, a))))
        });
    }

    /// Sees every outgoing event of this socket, broadcasts included (Node's `onAnyOutgoing`).
    pub fn on_any_outgoing<F, Fut>(&self, handler: F)
    where
        F: Fn(Socket, Str, RawArgs) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.add_listener(|l| {
            l.any_outgoing
                .push(Arc::new(move |s, e, a| Box::pin(handler(s, e, a))))
        });
    }

    /// Runs before each incoming event's handler (Node's `socket.use`): an `Err` drops the event
    /// and goes to the [`on_error`](Self::on_error) handlers.
    pub fn use_middleware<F, Fut>(&self, middleware: F)
    where
        F: Fn(Socket, Str, RawArgs) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.add_listener(|l| {
            l.middlewares
                .push(Arc::new(move |s, e, a| Box::pin(middleware(s, e, a))))
        });
    }

    /// Handles the errors of message middlewares (Node's `error` event).
    pub fn on_error<F, Fut>(&self, handler: F)
    where
        F: Fn(Socket, Arc<BoxError>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.add_listener(|l| {
            l.on_error
                .push(Arc::new(move |s, e| Box::pin(handler(s, e))))
        });
    }

    /// Runs when the socket is leaving, while it is still in its rooms (Node's `disconnecting`).
    /// Its arguments are extractors: [`Socket`], [`DisconnectReason`], [`State`](crate::State).
    pub fn on_disconnecting<H, T>(&self, handler: H)
    where
        H: OnDisconnect<T>,
        T: Send + Sync + 'static,
    {
        self.add_listener(|l| l.on_disconnecting.push(Arc::new(Erased::new(handler))));
    }

    /// Runs when the socket has left (Node's `disconnect`).
    /// Its arguments are extractors: [`Socket`], [`DisconnectReason`], [`State`](crate::State).
    pub fn on_disconnect<H, T>(&self, handler: H)
    where
        H: OnDisconnect<T>,
        T: Send + Sync + 'static,
    {
        self.add_listener(|l| l.on_disconnect.push(Arc::new(Erased::new(handler))));
    }

    /// Sends an event with one argument (Node's `socket.emit(event, arg)`).
    ///
    /// # Errors
    ///
    /// [`EmitError::Serialize`] when the payload does not serialize, [`EmitError::Reserved`]
    /// for a reserved event name (`connect`, `disconnect`, ...), [`EmitError::Disconnected`]
    /// once the socket has left, [`EmitError::Full`] when its send queue is full.
    pub fn emit<T: Serialize + ?Sized>(
        &self,
        event: impl Into<Str>,
        data: &T,
    ) -> Result<(), EmitError> {
        SocketOperator::new(self.clone()).emit(event, data)
    }

    /// Sends an event with several arguments, given as a tuple (or anything that serializes as
    /// a sequence): `socket.emit_args("move", &(x, y))` is Node's `socket.emit("move", x, y)`.
    ///
    /// # Errors
    ///
    /// As [`emit`](Self::emit).
    pub fn emit_args<T: Serialize + ?Sized>(
        &self,
        event: impl Into<Str>,
        args: &T,
    ) -> Result<(), EmitError> {
        SocketOperator::new(self.clone()).emit_args(event, args)
    }

    /// Sends an event with raw JSON arguments and their attachments, e.g. to pass on what a
    /// client sent without deserializing it.
    ///
    /// # Errors
    ///
    /// As [`emit`](Self::emit), but for [`EmitError::Serialize`].
    pub fn emit_raw(&self, event: impl Into<Str>, raw: crate::RawArgs) -> Result<(), EmitError> {
        SocketOperator::new(self.clone()).emit_raw(event, raw)
    }

    /// Sends an event and waits for the client's acknowledgement, deserialized from its first
    /// argument, for at most the server's `ack_timeout` (Node's `socket.emitWithAck`; narrow
    /// the wait with [`timeout`](Self::timeout)).
    ///
    /// # Errors
    ///
    /// [`AckError::Emit`] when the event did not go out (as for [`emit`](Self::emit)),
    /// [`AckError::Timeout`] when no answer came in time, [`AckError::Disconnected`] when the
    /// socket left first, [`AckError::Deserialize`] when the answer is not an `R`.
    pub async fn emit_with_ack<T, R>(&self, event: impl Into<Str>, data: &T) -> Result<R, AckError>
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        SocketOperator::new(self.clone())
            .emit_with_ack(event, data)
            .await
    }

    /// An emit whose acknowledgement is awaited at most `timeout` (Node's `socket.timeout(ms)`).
    pub fn timeout(&self, timeout: Duration) -> SocketOperator {
        SocketOperator::new(self.clone()).timeout(timeout)
    }

    /// An emit dropped, with [`EmitError::Dropped`], when the transport cannot take it right
    /// away (Node's `socket.volatile`).
    pub fn volatile(&self) -> SocketOperator {
        SocketOperator::new(self.clone()).volatile()
    }

    /// An emit that is not compressed when `compress` is false (Node's `socket.compress`):
    /// see [`SocketOperator::compress`](crate::SocketOperator::compress).
    pub fn compress(&self, compress: bool) -> SocketOperator {
        SocketOperator::new(self.clone()).compress(compress)
    }

    /// Puts the socket in rooms.
    pub fn join(&self, rooms: impl IntoRooms) {
        let rooms = rooms.into_rooms();
        self.namespace().join(self.id(), &rooms);
    }

    /// Takes the socket out of rooms.
    pub fn leave(&self, rooms: impl IntoRooms) {
        for room in rooms.into_rooms() {
            self.namespace().adapter().del(self.id(), &room);
        }
    }

    /// The rooms the socket is in, its own id's room included.
    #[must_use]
    pub fn rooms(&self) -> Vec<Room> {
        self.namespace().adapter().socket_rooms(self.id())
    }

    /// A broadcast to the sockets in these rooms, this socket excluded (Node's `socket.to`).
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().to(rooms)
    }

    /// A broadcast to every socket of the namespace but those in these rooms and this one.
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().except(rooms)
    }

    /// A broadcast to every other socket of the namespace (Node's `socket.broadcast`).
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.namespace().clone()).except(self.id().clone())
    }

    /// Leaves the namespace: the client is told and the `disconnect` handlers run with
    /// "server namespace disconnect". With `close`, the whole connection is closed, and with it
    /// the client's sockets in every namespace.
    pub fn disconnect(&self, close: bool) {
        self.disconnect_with(close);
    }

    /// Stores the socket's data (Node's `socket.data`), replacing what was there.
    pub fn set_data<T: Serialize + Send + Sync + 'static>(&self, data: T) {
        *lock(&self.0.data) = Some(Box::new(data));
    }

    /// A copy of the socket's data, if it holds a `T`, or data that reads as one: a recovered
    /// socket's data comes back as JSON, and reads as the `T` it was stored as.
    #[must_use]
    pub fn data<T: Clone + DeserializeOwned + 'static>(&self) -> Option<T> {
        let data = lock(&self.0.data);
        let data = data.as_ref()?;
        match data.as_any().downcast_ref::<T>() {
            Some(value) => Some(value.clone()),
            None => T::deserialize(data.to_json()).ok(),
        }
    }

    /// Changes the socket's data in place, if it holds a `T` or data that reads as one (a
    /// recovered socket's, which is JSON until then).
    pub fn update_data<T, R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R>
    where
        T: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        let mut data = lock(&self.0.data);
        let stored = data.as_mut()?;
        if stored.as_any().downcast_ref::<T>().is_none() {
            let value = T::deserialize(stored.to_json()).ok()?;
            *stored = Box::new(value);
        }
        stored.as_any_mut().downcast_mut::<T>().map(f)
    }

    /// The socket's data as JSON, as `fetch_sockets` shows it here and to the other servers of
    /// a cluster: `{}` when it was never set, as Node's default `socket.data` is (Node code
    /// reads `socket.data.user` of a fetched socket without a check).
    #[must_use]
    pub fn data_json(&self) -> serde_json::Value {
        lock(&self.0.data)
            .as_ref()
            .map_or_else(unset_data, |d| d.to_json())
    }
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("id", self.id())
            .field("namespace", self.namespace().name())
            .finish()
    }
}
