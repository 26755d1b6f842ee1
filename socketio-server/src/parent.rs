//! Dynamic namespaces: the parent `io.of_dynamic` returns (Node's `ParentNamespace`), whose
//! children are made on their first CONNECT, and broadcasts on it, which reach every child.

use crate::adapter::{AdapterError, Room};
use crate::error::EmitError;
use crate::io::ServerInner;
use crate::operators::{BroadcastAckError, BroadcastOperator};
use crate::{IntoRooms, Namespace, RawArgs, RemoteSocket};
use engineio::sync::{read, write};
use futures_util::future::join_all;
use parser::Str;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Decides whether a CONNECT to a namespace that does not exist yet makes a child of a parent.
type Accepts = Box<dyn Fn(&str, &serde_json::Value) -> bool + Send + Sync>;

/// The parent of the namespaces made on demand by [`SocketIo::of_dynamic`](crate::SocketIo::of_dynamic)
/// (Node's `ParentNamespace`, what `io.of(regex)` and `io.of(fn)` return).
///
/// A CONNECT to a namespace that does not exist yet, whose name the parent accepts, makes a
/// child: a [`Namespace`] of that name that starts with the parent's connect middlewares and
/// connection handlers, as they are at that moment (as in Node: register them before clients
/// come; what is added later reaches only the children made after). A broadcast on the parent
/// (`emit`, `to`, `except`, ..., `fetch_sockets`, `sockets_join`, `disconnect_sockets`) is made on
/// every child of this server, each through its own adapter, so in a cluster it reaches the
/// children of the same names on the other servers.
///
/// The parent has no adapter and no sockets of its own: a cluster adapter is never made for it.
/// With [`SocketIoBuilder::cleanup_empty_child_namespaces`](crate::SocketIoBuilder::cleanup_empty_child_namespaces)
/// a child is removed when its last socket leaves, and made again on the next CONNECT.
///
/// ```no_run
/// use socketio::{ConnectError, Data, Socket, SocketIo};
///
/// # fn run(io: SocketIo) -> Result<(), socketio::EmitError> {
/// // One namespace per board, `/board-1`, `/board-2`, ..., made when a client asks for it.
/// let boards = io.of_dynamic(|name, _auth| {
///     name.strip_prefix("/board-").is_some_and(|n| n.parse::<u32>().is_ok())
/// });
/// boards.use_middleware(|socket: Socket| async move {
///     match socket.handshake().auth["token"].as_str() {
///         Some(_) => Ok(()),
///         None => Err(ConnectError::new("a token, please")),
///     }
/// });
/// boards.on_connection(|socket: Socket| async move {
///     // `socket.namespace()` is the child: `/board-1`, say.
///     socket.on("draw", |socket: Socket, Data(stroke): Data<serde_json::Value>| async move {
///         let _ = socket.broadcast().emit("draw", &stroke);
///     });
/// });
///
/// // Every socket of every board, on every server of the cluster.
/// boards.emit("maintenance", "in 5 minutes")?;
/// // The sockets in room "admins" of every board.
/// boards.to("admins").emit("boards", &boards.children().len())?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ParentNamespace(Arc<ParentInner>);

struct ParentInner {
    accepts: Accepts,
    /// Keeps the middlewares and connection handlers each child starts with; no socket joins it.
    template: Namespace,
    /// This server's children, by name.
    children: RwLock<HashMap<Str, Namespace>>,
}

/// Names the parents' templates as Node names its parent namespaces (`/_0`, `/_1`, ...): for
/// `Debug`; no packet ever carries it.
static PARENTS: AtomicUsize = AtomicUsize::new(0);

impl ParentNamespace {
    pub(crate) fn new(accepts: Accepts, server: &Arc<ServerInner>) -> Self {
        let name = format!("/_{}", PARENTS.fetch_add(1, Ordering::Relaxed));
        ParentNamespace(Arc::new(ParentInner {
            accepts,
            template: Namespace::template(Str::from(name), server),
            children: RwLock::default(),
        }))
    }

    pub(crate) fn accepts(&self, name: &str, auth: &serde_json::Value) -> bool {
        (self.0.accepts)(name, auth)
    }

    /// Makes the child `name`, with the parent's middlewares and handlers of now. The server
    /// calls it under its lock of namespaces, which is also what orders it with
    /// [`forget_child`](Self::forget_child).
    pub(crate) fn create_child(&self, name: Str, server: &Arc<ServerInner>) -> Namespace {
        let child = Namespace::child_of(&self.0.template, name.clone(), server);
        write(&self.0.children).insert(name, child.clone());
        child
    }

    /// Takes a removed child out of the broadcasts.
    pub(crate) fn forget_child(&self, child: &Namespace) {
        let mut children = write(&self.0.children);
        if children
            .get(child.name())
            .is_some_and(|known| known.ptr_eq(child))
        {
            children.remove(child.name());
        }
    }

    /// Runs `handler` for every socket that connects to a child made from now on (Node's
    /// `parentNamespace.on("connection")`); see [`Namespace::on_connection`].
    pub fn on_connection<H, T>(&self, handler: H)
    where
        H: crate::ConnectHandler<T>,
        T: Send + Sync + 'static,
    {
        self.0.template.on_connection(handler);
    }

    /// Adds a connect middleware to every child made from now on (Node's
    /// `parentNamespace.use`); see [`Namespace::use_middleware`].
    pub fn use_middleware<M, T>(&self, middleware: M)
    where
        M: crate::ConnectMiddleware<T>,
        T: Send + Sync + 'static,
    {
        self.0.template.use_middleware(middleware);
    }

    /// The children on this server now, in no particular order.
    pub fn children(&self) -> Vec<Namespace> {
        read(&self.0.children).values().cloned().collect()
    }

    /// A broadcast to every socket of every child, to narrow with `to`, `except` and flags.
    pub fn broadcast(&self) -> ParentBroadcastOperator {
        ParentBroadcastOperator {
            parent: self.clone(),
            rooms: Vec::new(),
            except: Vec::new(),
            local: false,
            volatile: false,
            compress: None,
            timeout: None,
        }
    }

    /// A broadcast to these rooms of every child (Node's `to` and `in`).
    pub fn to(&self, rooms: impl IntoRooms) -> ParentBroadcastOperator {
        self.broadcast().to(rooms)
    }

    /// A broadcast to everyone but these rooms, in every child.
    pub fn except(&self, rooms: impl IntoRooms) -> ParentBroadcastOperator {
        self.broadcast().except(rooms)
    }

    /// A broadcast to this server's sockets of every child only.
    pub fn local(&self) -> ParentBroadcastOperator {
        self.broadcast().local()
    }

    /// A broadcast that skips sockets not ready to write.
    pub fn volatile(&self) -> ParentBroadcastOperator {
        self.broadcast().volatile()
    }

    /// A broadcast whose acknowledgements are awaited at most `timeout`.
    pub fn timeout(&self, timeout: Duration) -> ParentBroadcastOperator {
        self.broadcast().timeout(timeout)
    }

    /// Sends an event with one argument to every socket of every child.
    pub fn emit<T: Serialize + ?Sized>(
        &self,
        event: impl Into<Str>,
        data: &T,
    ) -> Result<(), EmitError> {
        self.broadcast().emit(event, data)
    }

    /// Sends an event with several arguments (a tuple or sequence) to every socket of every
    /// child.
    pub fn emit_args<T: Serialize + ?Sized>(
        &self,
        event: impl Into<Str>,
        args: &T,
    ) -> Result<(), EmitError> {
        self.broadcast().emit_args(event, args)
    }

    /// Sends an event with raw JSON arguments and their attachments to every socket of every
    /// child.
    pub fn emit_raw(&self, event: impl Into<Str>, raw: RawArgs) -> Result<(), EmitError> {
        self.broadcast().emit_raw(event, raw)
    }

    /// Sends an event that every socket of every child acknowledges, and collects the answers.
    pub async fn emit_with_ack<T, R>(
        &self,
        event: impl Into<Str>,
        data: &T,
    ) -> Result<Vec<R>, BroadcastAckError<R>>
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        self.broadcast().emit_with_ack(event, data).await
    }

    /// Every socket of every child, on every server (Node refuses `fetchSockets` on a parent).
    pub async fn fetch_sockets(&self) -> Result<Vec<RemoteSocket>, AdapterError> {
        self.broadcast().fetch_sockets().await
    }

    /// Makes every socket of every child join rooms.
    pub fn sockets_join(&self, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        self.broadcast().sockets_join(rooms)
    }

    /// Makes every socket of every child leave rooms.
    pub fn sockets_leave(&self, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        self.broadcast().sockets_leave(rooms)
    }

    /// Disconnects every socket of every child; `close` closes their connections.
    pub fn disconnect_sockets(&self, close: bool) -> Result<(), AdapterError> {
        self.broadcast().disconnect_sockets(close)
    }
}

impl fmt::Debug for ParentNamespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut children: Vec<Str> = read(&self.0.children).keys().cloned().collect();
        children.sort();
        f.debug_struct("ParentNamespace")
            .field("name", self.0.template.name())
            .field("children", &children)
            .finish()
    }
}

/// A broadcast on a [`ParentNamespace`]: the same recipients and flags as a
/// [`BroadcastOperator`], made on each child of the parent when it is spent (so a child made in
/// between is reached too).
///
/// ```no_run
/// # fn f(io: socketio::SocketIo) -> Result<(), socketio::EmitError> {
/// let games = io.of_dynamic(|name, _| name.starts_with("/game-"));
/// games.to("spectators").except("banned").volatile().emit("score", &(3, 2))?;
/// # Ok(()) }
/// ```
#[must_use = "a broadcast does nothing until it is emitted"]
#[derive(Clone)]
pub struct ParentBroadcastOperator {
    parent: ParentNamespace,
    rooms: Vec<Room>,
    except: Vec<Room>,
    local: bool,
    volatile: bool,
    compress: Option<bool>,
    timeout: Option<Duration>,
}

impl ParentBroadcastOperator {
    /// Adds rooms to reach (Node's `to`, and its alias `in`).
    pub fn to(mut self, rooms: impl IntoRooms) -> Self {
        self.rooms.extend(rooms.into_rooms());
        self
    }

    /// Leaves out the sockets in these rooms.
    pub fn except(mut self, rooms: impl IntoRooms) -> Self {
        self.except.extend(rooms.into_rooms());
        self
    }

    /// Only this server's sockets, in a cluster.
    pub fn local(mut self) -> Self {
        self.local = true;
        self
    }

    /// Skips recipients whose transport is not ready to write.
    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }

    /// Node's compression hint, passed on to cluster adapters.
    pub fn compress(mut self, compress: bool) -> Self {
        self.compress = Some(compress);
        self
    }

    /// How long `emit_with_ack` waits for the answers.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sends an event with one argument to every recipient of every child.
    pub fn emit<T: Serialize + ?Sized>(
        &self,
        event: impl Into<Str>,
        data: &T,
    ) -> Result<(), EmitError> {
        let event = event.into();
        self.each(|op| op.emit(event.clone(), data))
    }

    /// Sends an event with several arguments (a tuple or sequence) to every recipient of every
    /// child.
    pub fn emit_args<T: Serialize + ?Sized>(
        &self,
        event: impl Into<Str>,
        args: &T,
    ) -> Result<(), EmitError> {
        let event = event.into();
        self.each(|op| op.emit_args(event.clone(), args))
    }

    /// Sends an event with raw JSON arguments and their attachments to every recipient of
    /// every child.
    pub fn emit_raw(&self, event: impl Into<Str>, raw: RawArgs) -> Result<(), EmitError> {
        let event = event.into();
        self.each(|op| {
            let raw = RawArgs {
                args: raw.args.clone(),
                attachments: raw.attachments.clone(),
            };
            op.emit_raw(event.clone(), raw)
        })
    }

    /// Sends an event that every recipient of every child acknowledges, and collects the
    /// answers of all, as [`BroadcastOperator::emit_with_ack`] does for one namespace.
    pub async fn emit_with_ack<T, R>(
        &self,
        event: impl Into<Str>,
        data: &T,
    ) -> Result<Vec<R>, BroadcastAckError<R>>
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let event = event.into();
        let operators = self.operators();
        let outcomes = join_all(
            operators
                .iter()
                .map(|op| op.emit_with_ack::<T, R>(event.clone(), data)),
        )
        .await;
        let mut received = Vec::new();
        let mut expected = Some(0);
        let mut complete = true;
        for outcome in outcomes {
            match outcome {
                Ok(answers) => {
                    expected = expected.map(|n| n + answers.len());
                    received.extend(answers);
                }
                // A child's broadcast that could not go out: none of them did (they share the
                // event, its payload and the adapter's kind).
                Err(BroadcastAckError::Emit(error)) => return Err(BroadcastAckError::Emit(error)),
                Err(BroadcastAckError::Timeout {
                    received: some,
                    expected: due,
                }) => {
                    complete = false;
                    expected = expected.zip(due).map(|(n, more)| n + more);
                    received.extend(some);
                }
            }
        }
        if complete {
            Ok(received)
        } else {
            Err(BroadcastAckError::Timeout { received, expected })
        }
    }

    /// The recipients in every child, on every server; an error when any child's adapter
    /// could not collect its own.
    pub async fn fetch_sockets(&self) -> Result<Vec<RemoteSocket>, AdapterError> {
        let operators = self.operators();
        let found = join_all(operators.iter().map(BroadcastOperator::fetch_sockets)).await;
        let mut sockets = Vec::new();
        for found in found {
            sockets.extend(found?);
        }
        Ok(sockets)
    }

    /// Makes the recipients of every child join rooms (Node's `socketsJoin`).
    pub fn sockets_join(&self, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        let rooms = rooms.into_rooms();
        all_of(
            self.operators()
                .iter()
                .map(|op| op.sockets_join(rooms.clone())),
        )
    }

    /// Makes the recipients of every child leave rooms (Node's `socketsLeave`).
    pub fn sockets_leave(&self, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        let rooms = rooms.into_rooms();
        all_of(
            self.operators()
                .iter()
                .map(|op| op.sockets_leave(rooms.clone())),
        )
    }

    /// Disconnects the recipients of every child; `close` closes their whole connections
    /// (Node's `disconnectSockets`).
    pub fn disconnect_sockets(&self, close: bool) -> Result<(), AdapterError> {
        all_of(
            self.operators()
                .iter()
                .map(|op| op.disconnect_sockets(close)),
        )
    }

    /// This broadcast on each child there is now.
    fn operators(&self) -> Vec<BroadcastOperator> {
        self.parent
            .children()
            .iter()
            .map(|child| self.on(child.broadcast()))
            .collect()
    }

    /// `op` narrowed and flagged as this broadcast is.
    fn on(&self, mut op: BroadcastOperator) -> BroadcastOperator {
        if !self.rooms.is_empty() {
            op = op.to(self.rooms.clone());
        }
        if !self.except.is_empty() {
            op = op.except(self.except.clone());
        }
        if self.local {
            op = op.local();
        }
        if self.volatile {
            op = op.volatile();
        }
        if let Some(compress) = self.compress {
            op = op.compress(compress);
        }
        if let Some(timeout) = self.timeout {
            op = op.timeout(timeout);
        }
        op
    }

    /// Runs an emit on every child. An error the payload causes (it cannot be serialized, the
    /// event name is reserved) is the same on every child and stops there; an adapter's error
    /// concerns one child's forwarding, so the others still get the emit, and the first such
    /// error is returned.
    fn each(
        &self,
        mut emit: impl FnMut(&BroadcastOperator) -> Result<(), EmitError>,
    ) -> Result<(), EmitError> {
        let mut outcome = Ok(());
        for op in self.operators() {
            match emit(&op) {
                Ok(()) => {}
                Err(EmitError::Adapter(error)) => {
                    if outcome.is_ok() {
                        outcome = Err(EmitError::Adapter(error));
                    }
                }
                Err(error) => return Err(error),
            }
        }
        outcome
    }
}

impl fmt::Debug for ParentBroadcastOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParentBroadcastOperator")
            .field("parent", &self.parent)
            .field("rooms", &self.rooms)
            .field("except", &self.except)
            .field("local", &self.local)
            .field("volatile", &self.volatile)
            .field("compress", &self.compress)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Every child's operation runs, whatever the others' outcome; the first error is the answer.
fn all_of(outcomes: impl Iterator<Item = Result<(), AdapterError>>) -> Result<(), AdapterError> {
    let outcomes: Vec<_> = outcomes.collect();
    outcomes.into_iter().find(Result::is_err).unwrap_or(Ok(()))
}
