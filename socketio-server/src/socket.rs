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
    /// The private session id of connection state recovery, given to the client in the CONNECT
    /// reply; `None` when recovery is off.
    pid: Option<Sid>,
    /// The socket is a recovered session: same id, rooms and data, missed packets replayed.
    recovered: bool,
    /// The adapter's last offset when the socket connected (see `adapter::Session::offset`).
    offset: Option<String>,
    namespace: Namespace,
    conn: Arc<EngineSocket>,
    handshake: Handshake,
    /// Open for sending: from creation until it leaves.
    connected: AtomicBool,
    /// Past every middleware and told so: what `connected()` reports, as Node's.
    admitted: AtomicBool,
    closing: AtomicBool,
    handlers: RwLock<HashMap<Str, Arc<dyn ErasedEventHandler>>>,
    any: RwLock<Vec<AnyHandler>>,
    any_outgoing: RwLock<Vec<AnyHandler>>,
    middlewares: RwLock<Vec<MessageMiddleware>>,
    on_error: RwLock<Vec<ErrorHandler>>,
    on_disconnecting: RwLock<Vec<DisconnectHandler>>,
    on_disconnect: RwLock<Vec<DisconnectHandler>>,
    acks: Mutex<HashMap<u64, AckSlot>>,
    data: Mutex<Option<Box<dyn SocketData>>>,
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
        let recovery = namespace
            .server()
            .is_some_and(|server| server.config.connection_state_recovery.is_some());
        let (id, pid, recovered, data) = match session {
            Some(session) => (session.sid, Some(session.pid), true, Some(session.data)),
            None => (
                crate::Sid::random(),
                recovery.then(crate::Sid::random),
                false,
                None,
            ),
        };
        let data = data.map(|value| Box::new(value) as Box<dyn SocketData>);
        Socket(Arc::new(SocketInner {
            id,
            pid,
            recovered,
            offset,
            namespace,
            conn,
            handshake,
            connected: AtomicBool::new(true),
            admitted: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            handlers: RwLock::default(),
            any: RwLock::default(),
            any_outgoing: RwLock::default(),
            middlewares: RwLock::default(),
            on_error: RwLock::default(),
            on_disconnecting: RwLock::default(),
            on_disconnect: RwLock::default(),
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
        self.0.recovered
    }

    /// The private session id given to the client for recovery, when recovery is on.
    pub(crate) fn pid(&self) -> Option<&Sid> {
        self.0.pid.as_ref()
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
        write(&self.0.handlers).insert(event.into(), handler);
    }

    /// Stops handling an event.
    pub fn off(&self, event: &str) {
        write(&self.0.handlers).remove(event);
    }

    /// Sees every incoming event first, with its name and raw arguments and attachments (Node's
    /// `onAny`).
    pub fn on_any<F, Fut>(&self, handler: F)
    where
        F: Fn(Socket, Str, RawArgs) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        write(&self.0.any).push(Arc::new(move |s, e, a| Box::pin(handler(s, e, a))));
    }

    /// Sees every outgoing event of this socket, broadcasts included (Node's `onAnyOutgoing`).
    pub fn on_any_outgoing<F, Fut>(&self, handler: F)
    where
        F: Fn(Socket, Str, RawArgs) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        write(&self.0.any_outgoing).push(Arc::new(move |s, e, a| Box::pin(handler(s, e, a))));
    }

    /// Runs before each incoming event's handler (Node's `socket.use`): an `Err` drops the event
    /// and goes to the [`on_error`](Self::on_error) handlers.
    pub fn use_middleware<F, Fut>(&self, middleware: F)
    where
        F: Fn(Socket, Str, RawArgs) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        write(&self.0.middlewares).push(Arc::new(move |s, e, a| Box::pin(middleware(s, e, a))));
    }

    /// Handles the errors of message middlewares (Node's `error` event).
    pub fn on_error<F, Fut>(&self, handler: F)
    where
        F: Fn(Socket, Arc<BoxError>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        write(&self.0.on_error).push(Arc::new(move |s, e| Box::pin(handler(s, e))));
    }

    /// Runs when the socket is leaving, while it is still in its rooms (Node's `disconnecting`).
    /// Its arguments are extractors: [`Socket`], [`DisconnectReason`], [`State`](crate::State).
    pub fn on_disconnecting<H, T>(&self, handler: H)
    where
        H: OnDisconnect<T>,
        T: Send + Sync + 'static,
    {
        write(&self.0.on_disconnecting).push(Arc::new(Erased::new(handler)));
    }

    /// Runs when the socket has left (Node's `disconnect`).
    /// Its arguments are extractors: [`Socket`], [`DisconnectReason`], [`State`](crate::State).
    pub fn on_disconnect<H, T>(&self, handler: H)
    where
        H: OnDisconnect<T>,
        T: Send + Sync + 'static,
    {
        write(&self.0.on_disconnect).push(Arc::new(Erased::new(handler)));
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

    // --- crate internals ---------------------------------------------------------------

    /// The parser the socket's connection speaks.
    fn parser(&self) -> crate::Parser {
        self.0.conn.data().parser()
    }

    /// Open for sending: created and not yet gone.
    fn is_open(&self) -> bool {
        self.0.connected.load(Ordering::Acquire)
    }

    /// Every middleware has passed and the client is told: from now on `connected()`.
    pub(crate) fn admit(&self) {
        self.0.admitted.store(true, Ordering::Release);
    }

    pub(crate) fn default_ack_timeout(&self) -> Duration {
        self.namespace()
            .server()
            .map_or(Duration::from_secs(5), |s| s.config.ack_timeout)
    }

    /// Sends an event asking for an acknowledgement and waits for its raw arguments.
    pub(crate) async fn ack_within<T: Serialize + ?Sized>(
        &self,
        timeout: Duration,
        event: Str,
        arg: Arg<'_, T>,
        volatile: bool,
    ) -> Result<RawArgs, AckError> {
        let (mut packet, attachments) = event_packet(self.namespace(), event, arg)?;
        let id = self.namespace().next_ack_id();
        if let PacketData::Event(event) = &mut packet.data {
            event.id = Some(id);
        }
        let (tx, rx) = oneshot::channel();
        lock(&self.0.acks).insert(id, AckSlot::One(tx));
        if let Err(e) = self.deliver(packet, attachments, volatile) {
            self.forget_ack(id);
            return Err(e.into());
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(answer)) => Ok(RawArgs {
                args: answer.args,
                attachments: answer.attachments,
            }),
            Ok(Err(_)) => Err(AckError::Disconnected),
            Err(_) => {
                self.forget_ack(id);
                Err(AckError::Timeout)
            }
        }
    }

    /// Queues a packet for this socket alone.
    pub(crate) fn send(&self, packet: Packet, attachments: Vec<Bytes>) -> Result<(), EmitError> {
        if !self.is_open() {
            return Err(EmitError::Disconnected);
        }
        self.notify_outgoing(&packet, &attachments);
        let frames = self.parser().frames(&packet, &attachments);
        self.0.conn.send_frames(frames).map_err(|e| match e {
            SendError::Closed => EmitError::Disconnected,
            SendError::Full => EmitError::Full,
        })
    }

    /// Queues a packet; a volatile one is dropped, with [`EmitError::Dropped`], when the
    /// transport is busy or the send queue is full.
    pub(crate) fn deliver(
        &self,
        packet: Packet,
        attachments: Vec<Bytes>,
        volatile: bool,
    ) -> Result<(), EmitError> {
        if !volatile {
            return self.send(packet, attachments);
        }
        if !self.is_open() {
            return Err(EmitError::Disconnected);
        }
        if !self.is_writable() {
            return Err(EmitError::Dropped);
        }
        self.send(packet, attachments).map_err(|e| match e {
            EmitError::Full => EmitError::Dropped,
            e => e,
        })
    }

    /// Queues frames encoded once for many recipients; false if they could not be queued.
    pub(crate) fn send_shared(&self, packet: &BroadcastPacket) -> bool {
        if !self.is_open() {
            return false;
        }
        self.notify_outgoing(&packet.packet, &packet.attachments);
        match self
            .0
            .conn
            .send_frames(packet.frames(self.parser()).iter().cloned())
        {
            Ok(()) => true,
            Err(e) => {
                tracing::debug!(id = %self.id(), "broadcast not queued: {e}");
                false
            }
        }
    }

    fn notify_outgoing(&self, packet: &Packet, attachments: &[Bytes]) {
        let listeners = read(&self.0.any_outgoing).clone();
        if listeners.is_empty() {
            return;
        }
        if let PacketData::Event(event) = &packet.data {
            let raw = RawArgs {
                args: event.args.clone(),
                attachments: attachments.to_vec(),
            };
            for listener in listeners {
                run_inline(listener(self.clone(), event.name.clone(), raw.clone()));
            }
        }
    }

    pub(crate) fn expect_broadcast_ack(&self, id: u64, sink: AckSink) {
        lock(&self.0.acks).insert(id, AckSlot::Broadcast(sink));
    }

    pub(crate) fn forget_ack(&self, id: u64) {
        lock(&self.0.acks).remove(&id);
    }

    /// Sends an ACK for one of the client's events.
    pub(crate) fn send_ack(
        &self,
        id: u64,
        args: Vec<Str>,
        attachments: Vec<Bytes>,
    ) -> Result<(), EmitError> {
        let mut packet = Packet::ack(self.namespace().name().clone(), id, args);
        packet.data.set_attachments(attachments.len());
        self.send(packet, attachments)
    }

    /// A packet from the client for this namespace (never a CONNECT: the client routes those).
    pub(crate) fn on_packet(&self, packet: Packet, attachments: Vec<Bytes>) {
        match packet.data {
            PacketData::Event(event) => self.on_event(event, attachments),
            PacketData::Ack(ack) => {
                let slot = lock(&self.0.acks).remove(&ack.id);
                let data = AckData {
                    args: ack.args,
                    attachments,
                };
                match slot {
                    Some(AckSlot::One(tx)) => {
                        let _ = tx.send(data);
                    }
                    Some(AckSlot::Broadcast(sink)) => {
                        let _ = sink.send(data);
                    }
                    None => {
                        tracing::debug!(id = %self.id(), ack = ack.id, "ack for no pending emit")
                    }
                }
            }
            PacketData::Disconnect => self.close(DisconnectReason::ClientNamespaceDisconnect),
            // Node ignores these from a client too.
            PacketData::Connect(_) | PacketData::ConnectError(_) => {}
        }
    }

    fn on_event(&self, event: Event, attachments: Vec<Bytes>) {
        let raw = || RawArgs {
            args: event.args.clone(),
            attachments: attachments.clone(),
        };
        for listener in read(&self.0.any).clone() {
            run_inline(listener(self.clone(), event.name.clone(), raw()));
        }
        let handler = read(&self.0.handlers).get(&event.name).cloned();
        let middlewares = read(&self.0.middlewares).clone();
        let raw = (!middlewares.is_empty()).then(raw);
        let ctx = EventParts {
            socket: self.clone(),
            event: event.name,
            args: event.args,
            attachments,
            ack_id: event.id,
        };
        if middlewares.is_empty() {
            if let Some(future) = handler.and_then(|h| call_event_handler(&*h, &ctx)) {
                run_inline(future);
            }
            return;
        }
        let raw = raw.unwrap_or_default();
        run_inline(async move {
            for middleware in middlewares {
                let result = middleware(ctx.socket.clone(), ctx.event.clone(), raw.clone()).await;
                if let Err(error) = result {
                    let error = Arc::new(error);
                    for handler in read(&ctx.socket.0.on_error).clone() {
                        run_inline(handler(ctx.socket.clone(), error.clone()));
                    }
                    return;
                }
            }
            if !ctx.socket.connected() {
                return;
            }
            if let Some(future) = handler.and_then(|h| call_event_handler(&*h, &ctx)) {
                future.await;
            }
        });
    }

    pub(crate) fn disconnect_with(&self, close: bool) {
        if self.0.closing.load(Ordering::Acquire) {
            return;
        }
        if close {
            crate::client::disconnect_all(&self.0.conn);
            return;
        }
        let packet = Packet::disconnect(self.namespace().name().clone());
        let _ = self.0.conn.send_frames(self.parser().frames(&packet, &[]));
        self.close(DisconnectReason::ServerNamespaceDisconnect);
    }

    /// Leaves the namespace for `reason`: `disconnecting` (still in the rooms), then the rooms
    /// are left, pending acks fail, and `disconnect` runs.
    pub(crate) fn close(&self, reason: DisconnectReason) {
        if self.0.closing.swap(true, Ordering::AcqRel) {
            return;
        }
        // Still connected while `disconnecting` runs, as in Node.
        let parts = DisconnectParts {
            socket: self.clone(),
            reason,
        };
        run_disconnect_handlers(&read(&self.0.on_disconnecting).clone(), &parts);
        // A socket that lost its connection may come back for its session (Node keeps it for
        // these reasons only); one that was sent away or left does not.
        if let (Some(pid), true) = (&self.0.pid, reason.keeps_session()) {
            let session = crate::adapter::Session {
                sid: self.id().clone(),
                pid: pid.clone(),
                rooms: self.rooms(),
                data: self.data_json(),
                offset: self.0.offset.clone(),
            };
            let duration = self.namespace().server().and_then(|server| {
                Some(
                    server
                        .config
                        .connection_state_recovery
                        .as_ref()?
                        .max_disconnection_duration,
                )
            });
            let namespace = self.namespace();
            namespace.adapter().persist_session(session.clone());
            // After the adapter took its time of persistence, so that the watch ends after it.
            if let Some(duration) = duration {
                namespace
                    .expiry()
                    .watch(namespace.downgrade(), &session, duration);
            }
        }
        self.0.connected.store(false, Ordering::Release);
        self.namespace().remove_socket(self.id());
        self.0.conn.data().remove_socket(self.namespace().name());
        lock(&self.0.acks).clear();
        run_disconnect_handlers(&read(&self.0.on_disconnect).clone(), &parts);
        // Handlers may hold clones of this socket: dropping them breaks the cycle that would
        // keep a departed socket alive.
        write(&self.0.handlers).clear();
        write(&self.0.any).clear();
        write(&self.0.any_outgoing).clear();
        write(&self.0.middlewares).clear();
        write(&self.0.on_error).clear();
        write(&self.0.on_disconnecting).clear();
        write(&self.0.on_disconnect).clear();
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

/// The handler's future, or `None` (logged) when one of its extractors refused the event.
fn call_event_handler(
    handler: &dyn ErasedEventHandler,
    parts: &EventParts,
) -> Option<BoxFuture<'static, ()>> {
    handler
        .call(parts)
        .map_err(|error| tracing::debug!(event = %parts.event, %error, "event not handled"))
        .ok()
}

fn run_disconnect_handlers(handlers: &[DisconnectHandler], parts: &DisconnectParts) {
    for handler in handlers {
        match handler.call(parts) {
            Ok(future) => run_inline(future),
            Err(error) => tracing::debug!(%error, "disconnect handler not called"),
        }
    }
}
