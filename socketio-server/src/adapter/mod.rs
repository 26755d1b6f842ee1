//! Everything a cluster adapter needs, and nothing application code uses: where rooms live,
//! how a broadcast reaches its recipients, and how the servers of a cluster act as one.
//!
//! Every namespace has one [`Adapter`], made by the server's [`AdapterFactory`] when the
//! namespace is created. The default, [`LocalAdapter`], keeps rooms in memory and delivers to
//! this server's sockets. A cluster adapter (Redis pub/sub, Redis Streams, PostgreSQL) wraps a
//! `LocalAdapter` for all of that, and passes each operation that concerns the cluster on to
//! the other servers, which apply it with their own `LocalAdapter`. The socket layer only ever
//! talks to the [`Adapter`] trait, so it needs no change for a cluster.
//!
//! # What each item is for
//!
//! | item | for |
//! |---|---|
//! | [`Adapter`] | The operations of Node's `Adapter`: rooms (`add_all`, `del`, `del_all`, `socket_rooms`), delivery (`broadcast`, `broadcast_with_ack`), the cluster-wide operations (`fetch_sockets`, `add_sockets`, `del_sockets`, `disconnect_sockets`, `server_side_emit`, `server_count`), and `close`. |
//! | [`AdapterFactory`] | Makes a namespace's adapter from its name and its [`NamespaceRef`]; what [`SocketIoBuilder::adapter`](crate::SocketIoBuilder::adapter) takes. A closure `Fn(&Str, NamespaceRef) -> Arc<dyn Adapter>` is one. |
//! | [`LocalAdapter`] | Rooms in memory and delivery to this server's sockets: the default adapter, and the part of every cluster adapter that does the local work. |
//! | [`NamespaceRef`] | The adapter's handle on its namespace, weak so that the adapter does not keep the namespace alive: hand another server's event to this server's handlers ([`dispatch_server_side`](NamespaceRef::dispatch_server_side)), number the acknowledgements of another server's broadcast ([`next_ack_id`](NamespaceRef::next_ack_id), [`forget_ack`](NamespaceRef::forget_ack)), and make the [`RemoteSocket`]s of `fetch_sockets` ([`remote_socket`](NamespaceRef::remote_socket)). |
//! | [`BroadcastOptions`], [`BroadcastFlags`] | Whom an operation is for (`rooms`, `except`) and how (`local`, `volatile`, `compress`, `timeout`): what a cluster adapter puts on the wire. `local` means this server only: an adapter applying another server's request sets it, so that the request does not travel again. |
//! | [`BroadcastPacket`] | One packet on its way to many sockets, encoded once for all of them: `packet` and `attachments` are what an adapter puts on the wire. |
//! | [`AckData`], [`AckSink`] | The acknowledgements of a broadcast with acks: where each recipient's answer goes, whichever server it is on. |
//! | [`SocketDescription`], [`HandshakeDescription`] | A socket as Node's adapters describe it to each other in `fetchSockets` answers, with Node's defaults for every field another server leaves out. |
//! | [`RemoteSocket`] | A socket of `fetch_sockets`, here or on another server; its operations reach it through the adapter. |
//! | [`Sid`], [`Room`] | Socket ids and room names. A socket is in the room named by its id. |
//! | [`AdapterError`] | What went wrong with the cluster: `Timeout` (the other servers did not all answer), `Backlog` (the adapter's queue to them is full), `Other`. |
//! | [`BoxFuture`] | The future type of the trait's asynchronous operations. |
//!
//! # Building a cluster adapter
//!
//! 1. The factory connects to the transport once per server, and makes one adapter per
//!    namespace in [`AdapterFactory::create`], keeping the [`NamespaceRef`] and a
//!    [`LocalAdapter`] made from it.
//! 2. Rooms are the local adapter's: `add_all`, `del`, `del_all`, `socket_rooms` and
//!    `local_sockets` delegate to it. Every server keeps only its own sockets' rooms.
//! 3. An operation with `flags.local` unset is published to the other servers, then applied
//!    locally. One from another server is applied with the `LocalAdapter` and `local` set.
//! 4. A broadcast that could not be published still goes to the local sockets, and
//!    `broadcast` says so with an `Err` (the emitter sees
//!    [`EmitError::Adapter`](crate::EmitError::Adapter)); an adapter whose queue to the other
//!    servers is full answers [`AdapterError::Backlog`] at once, broadcasts and requests alike,
//!    rather than queueing without bound or letting a request wait for its timeout.
//! 5. A request (`fetch_sockets`, `server_side_emit_with_ack`, `broadcast_with_ack`) counts
//!    the other servers, asks them, and waits for each answer within a timeout
//!    ([`AdapterError::Timeout`] when one does not come). `fetch_sockets` answers carry
//!    [`SocketDescription`]s, turned into [`RemoteSocket`]s with
//!    [`into_remote`](SocketDescription::into_remote).
//! 6. Another server's broadcast with acknowledgements is delivered locally under an ack id of
//!    this namespace ([`NamespaceRef::next_ack_id`]; the id in the packet is the sender's), the
//!    answers sent back as they come, and [`NamespaceRef::forget_ack`] called once the wait is
//!    over.
//! 7. `close` stops listening, so that the other servers no longer count this one.
//!
//! `socketio-redis` is a complete one, wire-compatible with Node's `@socket.io/redis-adapter`.
//!
//! # A minimal cluster adapter
//!
//! Servers in one process that form a cluster: what a Redis or PostgreSQL adapter does over the
//! network, done here with function calls (broadcasts with acknowledgements stay local, for
//! brevity).
//!
//! ```
//! use socketio::adapter::{
//!     AckSink, Adapter, AdapterError, AdapterFactory, BoxFuture, BroadcastOptions,
//!     BroadcastPacket, LocalAdapter, NamespaceRef, RemoteSocket, Room, Sid, SocketDescription,
//! };
//! use socketio::{SocketIo, Str};
//! use std::sync::{Arc, Mutex, Weak};
//!
//! /// The cluster: every server's adapter of every namespace.
//! #[derive(Clone, Default)]
//! struct Cluster(Arc<Mutex<Vec<Weak<Member>>>>);
//!
//! /// One server's adapter of one namespace.
//! struct Member {
//!     name: Str,
//!     local: LocalAdapter,
//!     namespace: NamespaceRef,
//!     cluster: Cluster,
//! }
//!
//! impl AdapterFactory for Cluster {
//!     fn create(&self, name: &Str, namespace: NamespaceRef) -> Arc<dyn Adapter> {
//!         let member = Arc::new(Member {
//!             name: name.clone(),
//!             local: LocalAdapter::new(namespace.clone()),
//!             namespace,
//!             cluster: self.clone(),
//!         });
//!         self.0.lock().unwrap().push(Arc::downgrade(&member));
//!         member
//!     }
//! }
//!
//! impl Member {
//!     /// The same namespace's adapters on the other servers.
//!     fn others(&self) -> Vec<Arc<Member>> {
//!         let members = self.cluster.0.lock().unwrap();
//!         let alive = members.iter().filter_map(Weak::upgrade);
//!         let same = alive.filter(|m| m.name == self.name && !std::ptr::eq(&**m, self));
//!         same.collect()
//!     }
//! }
//!
//! /// The same sockets, on the server that applies another's request: `local`, so that it
//! /// does not travel again.
//! fn there(opts: &BroadcastOptions) -> BroadcastOptions {
//!     let mut opts = opts.clone();
//!     opts.flags.local = true;
//!     opts
//! }
//!
//! impl Adapter for Member {
//!     // Rooms: every server keeps its own sockets'.
//!     fn add_all(&self, id: &Sid, rooms: &[Room]) { self.local.add_all(id, rooms) }
//!     fn del(&self, id: &Sid, room: &Room) { self.local.del(id, room) }
//!     fn del_all(&self, id: &Sid) { self.local.del_all(id) }
//!     fn socket_rooms(&self, id: &Sid) -> Vec<Room> { self.local.socket_rooms(id) }
//!     fn local_sockets(&self, opts: &BroadcastOptions) -> Vec<Sid> {
//!         self.local.local_sockets(opts)
//!     }
//!
//!     fn broadcast(
//!         &self,
//!         packet: Arc<BroadcastPacket>,
//!         opts: &BroadcastOptions,
//!     ) -> Result<(), AdapterError> {
//!         if !opts.flags.local {
//!             for other in self.others() {
//!                 other.local.broadcast(packet.clone(), &there(opts))?;
//!             }
//!         }
//!         self.local.broadcast(packet, opts)
//!     }
//!
//!     fn broadcast_with_ack(
//!         &self,
//!         packet: Arc<BroadcastPacket>,
//!         opts: &BroadcastOptions,
//!         acks: AckSink,
//!     ) -> BoxFuture<'static, Result<usize, AdapterError>> {
//!         // A cluster adapter forwards it too (see the steps above); this one does not.
//!         self.local.broadcast_with_ack(packet, opts, acks)
//!     }
//!
//!     fn fetch_sockets(
//!         &self,
//!         opts: &BroadcastOptions,
//!     ) -> BoxFuture<'static, Result<Vec<RemoteSocket>, AdapterError>> {
//!         let local = self.local.fetch_sockets(opts);
//!         let others = if opts.flags.local { Vec::new() } else { self.others() };
//!         let (opts, namespace) = (there(opts), self.namespace.clone());
//!         Box::pin(async move {
//!             let mut sockets = local.await?;
//!             for other in others {
//!                 for socket in other.local.fetch_sockets(&opts).await? {
//!                     // What would cross the network: Node's description, in JSON.
//!                     let wire = serde_json::to_vec(&SocketDescription::of(&socket))
//!                         .map_err(|e| AdapterError::Other(e.to_string()))?;
//!                     let described: SocketDescription = serde_json::from_slice(&wire)
//!                         .map_err(|e| AdapterError::Other(e.to_string()))?;
//!                     sockets.extend(described.into_remote(&namespace));
//!                 }
//!             }
//!             Ok(sockets)
//!         })
//!     }
//!
//!     fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) -> Result<(), AdapterError> {
//!         if !opts.flags.local {
//!             for other in self.others() {
//!                 other.local.add_sockets(&there(opts), rooms)?;
//!             }
//!         }
//!         self.local.add_sockets(opts, rooms)
//!     }
//!
//!     fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) -> Result<(), AdapterError> {
//!         if !opts.flags.local {
//!             for other in self.others() {
//!                 other.local.del_sockets(&there(opts), rooms)?;
//!             }
//!         }
//!         self.local.del_sockets(opts, rooms)
//!     }
//!
//!     fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) -> Result<(), AdapterError> {
//!         if !opts.flags.local {
//!             for other in self.others() {
//!                 other.local.disconnect_sockets(&there(opts), close)?;
//!             }
//!         }
//!         self.local.disconnect_sockets(opts, close)
//!     }
//!
//!     fn server_count(&self) -> BoxFuture<'static, usize> {
//!         let count = self.others().len() + 1;
//!         Box::pin(std::future::ready(count))
//!     }
//!
//!     fn server_side_emit(
//!         &self,
//!         event: Str,
//!         args: Vec<serde_json::Value>,
//!     ) -> Result<(), AdapterError> {
//!         for other in self.others() {
//!             // The other server's handler runs; no one waits for its answer.
//!             drop(other.namespace.dispatch_server_side(&event, args.clone(), false));
//!         }
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let cluster = Cluster::default();
//! let a = SocketIo::builder().adapter(cluster.clone()).build();
//! let b = SocketIo::builder().adapter(cluster.clone()).build();
//! assert_eq!(a.of("/").server_count().await, 2);
//!
//! let (heard, mut hearing) = tokio::sync::mpsc::unbounded_channel();
//! b.on_server_side("hello", move |args| {
//!     let _ = heard.send(args);
//!     async { None }
//! });
//! a.server_side_emit("hello", &"from a").unwrap();
//! assert_eq!(hearing.recv().await.unwrap(), [serde_json::json!("from a")]);
//! assert!(a.of("/").fetch_sockets().await.unwrap().is_empty()); // no clients here
//! # }
//! ```

mod description;
mod local;
mod metered;
mod sessions;

pub use description::{HandshakeDescription, SocketDescription};
pub use local::{LocalAdapter, LocalAdapterFactory};
pub(crate) use metered::Metered;

pub use crate::id::Sid;
pub use crate::namespace::NamespaceRef;
pub use crate::remote::RemoteSocket;
use bytes::Bytes;
use engineio::Frame;
/// The future of an adapter's asynchronous operations: boxed, `Send`, for `'a`.
pub use futures_util::future::BoxFuture;
use parser::socketio::Packet;
use parser::Str;
use std::collections::HashSet;
use std::sync::{Arc, OnceLock};
use tokio::sync::mpsc;

/// A room name. Every socket is in the room named by its own id.
pub type Room = Str;

/// Who a broadcast is for.
#[derive(Debug, Clone, Default)]
pub struct BroadcastOptions {
    /// The sockets in any of these rooms; every socket of the namespace when empty.
    pub rooms: HashSet<Room>,
    /// Minus the sockets in any of these rooms.
    pub except: HashSet<Room>,
    /// How it is sent: this server only, volatile, compressed, with an acknowledgement timeout.
    pub flags: BroadcastFlags,
}

/// Modifiers of a broadcast, as Node's flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BroadcastFlags {
    /// This server's sockets only, in a cluster.
    pub local: bool,
    /// Skip recipients whose transport is not ready to write right now.
    pub volatile: bool,
    /// Whether the packet may be compressed, where a WebSocket agreed to per-message deflate
    /// and it is at least the threshold (Node's `compress`, true).
    pub compress: bool,
    /// How long a broadcast with acknowledgements waits for them: what other servers of a
    /// cluster need to know to stop forwarding answers.
    pub timeout: Option<std::time::Duration>,
}

impl Default for BroadcastFlags {
    fn default() -> Self {
        Self {
            local: false,
            volatile: false,
            compress: true,
            timeout: None,
        }
    }
}

/// One packet on its way to many sockets: encoded on first use, then shared by every recipient.
#[derive(Debug)]
pub struct BroadcastPacket {
    /// The socket.io packet, its namespace set (an EVENT, or a BINARY_EVENT when attachments
    /// follow).
    pub packet: Packet,
    /// The binary attachments the packet's placeholders point to, in order.
    pub attachments: Vec<Bytes>,
    /// The frames for each parser, made when first needed.
    frames: [OnceLock<Vec<Frame>>; 2],
}

impl BroadcastPacket {
    /// A packet and its attachments, not encoded until [`frames`](Self::frames) is first
    /// called: a cluster adapter that only forwards it never pays for the encoding.
    #[must_use]
    pub fn new(packet: Packet, attachments: Vec<Bytes>) -> Self {
        Self {
            packet,
            attachments,
            frames: [OnceLock::new(), OnceLock::new()],
        }
    }

    /// The engine frames for `parser`, encoded once: with the default parser the packet's
    /// text, then one binary frame per attachment; with msgpack one binary frame.
    #[must_use]
    pub fn frames(&self, parser: crate::Parser) -> &[Frame] {
        let slot = match parser {
            crate::Parser::Default => &self.frames[0],
            crate::Parser::MsgPack => &self.frames[1],
        };
        slot.get_or_init(|| parser.frames(&self.packet, &self.attachments).collect())
    }
}

/// An acknowledgement's arguments, raw JSON with their attachments.
#[derive(Debug, Clone, Default)]
pub struct AckData {
    /// Each argument of the answer as JSON text (binary attachments as placeholders).
    pub args: Vec<Str>,
    /// The binary attachments the placeholders point to, in order.
    pub attachments: Vec<Bytes>,
}

/// Where the answers to a broadcast with acknowledgements go.
pub type AckSink = mpsc::UnboundedSender<AckData>;

/// Errors of adapter operations that reach other servers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// The other servers did not all answer within the adapter's timeout.
    #[error("the other servers did not answer in time")]
    Timeout,
    /// The adapter's queue to the other servers is full: its transport (Redis, say) is taking
    /// messages more slowly than the application makes them. Nothing was sent to the other
    /// servers; a broadcast still reached this server's sockets. The queue drains as the
    /// transport catches up, and later operations go through again.
    #[error(
        "cluster backlog: the adapter's queue to the other servers is full; they were not reached"
    )]
    Backlog,
    /// Anything else the adapter's transport reports.
    #[error("adapter error: {0}")]
    Other(String),
}

/// What a disconnected socket leaves for its return, under connection state recovery (Node's
/// `SessionToPersist`).
#[derive(Debug, Clone)]
pub struct Session {
    /// The socket's id, given back to it.
    pub sid: Sid,
    /// The private session id the client holds and sends back (`auth.pid`).
    pub pid: Sid,
    /// The rooms it was in, its own id's room included.
    pub rooms: Vec<Room>,
    /// Its data (`socket.data`), as JSON.
    pub data: serde_json::Value,
    /// The adapter's [`last_offset`](Adapter::last_offset) when the socket connected: a
    /// client that comes back without an offset (it never received a kept broadcast) missed
    /// everything after it.
    pub offset: Option<String>,
}

/// A session found again, and the broadcasts its socket missed, oldest first, each with its
/// offset already its last argument (Node's `Session` with `missedPackets`).
#[derive(Debug)]
pub struct RestoredSession {
    /// The session as it was persisted.
    pub session: Session,
    /// The EVENT packets broadcast to its rooms since the client's offset.
    pub missed: Vec<Arc<BroadcastPacket>>,
}

/// The operations of Node's socket.io `Adapter`, the contract between the socket layer and
/// room storage.
pub trait Adapter: Send + Sync + 'static {
    /// Puts a socket in rooms.
    fn add_all(&self, id: &Sid, rooms: &[Room]);
    /// Takes a socket out of a room.
    fn del(&self, id: &Sid, room: &Room);
    /// Takes a socket out of every room (it is leaving).
    fn del_all(&self, id: &Sid);
    /// The rooms a local socket is in.
    fn socket_rooms(&self, id: &Sid) -> Vec<Room>;
    /// The local sockets a broadcast with these options reaches.
    fn local_sockets(&self, opts: &BroadcastOptions) -> Vec<Sid>;

    /// Sends a packet to every matching socket. An `Err` says the packet did not reach the
    /// whole cluster (the local sockets have it all the same): the emitter sees it as
    /// [`EmitError::Adapter`](crate::EmitError::Adapter).
    fn broadcast(
        &self,
        packet: Arc<BroadcastPacket>,
        opts: &BroadcastOptions,
    ) -> Result<(), AdapterError>;

    /// Sends a packet that asks each recipient for an acknowledgement, answers going to `acks`
    /// as they come; resolves to how many answers to expect in all (a cluster adapter adds the
    /// counts the other servers report). The packet carries one ack id for all recipients.
    /// An `Err` says the other servers could not be asked (the local sockets have the packet
    /// all the same): the emitter gets the error at once rather than a timeout.
    fn broadcast_with_ack(
        &self,
        packet: Arc<BroadcastPacket>,
        opts: &BroadcastOptions,
        acks: AckSink,
    ) -> BoxFuture<'static, Result<usize, AdapterError>>;

    /// The sockets matching the options, on every server.
    fn fetch_sockets(
        &self,
        opts: &BroadcastOptions,
    ) -> BoxFuture<'static, Result<Vec<RemoteSocket>, AdapterError>>;

    /// Makes the matching sockets join rooms. An `Err` says the other servers were not told
    /// (this server's sockets have joined all the same).
    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) -> Result<(), AdapterError>;
    /// Makes the matching sockets leave rooms; an `Err` as for
    /// [`add_sockets`](Self::add_sockets).
    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) -> Result<(), AdapterError>;
    /// Disconnects the matching sockets; `close` closes their whole connection. An `Err` as for
    /// [`add_sockets`](Self::add_sockets).
    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) -> Result<(), AdapterError>;

    /// Keeps a disconnected socket's session for its return (Node's `persistSession`), when
    /// connection state recovery is on. An adapter without recovery keeps nothing.
    fn persist_session(&self, session: Session) {
        let _ = session;
    }

    /// The session of private id `pid`, with the broadcasts sent to its rooms after `offset`
    /// (Node's `restoreSession`); `Ok(None)` when it is unknown, expired, or `offset` is no
    /// longer kept: the client then gets a fresh session. A client that never received a kept
    /// broadcast has no offset: the session's own [`offset`](Session::offset) stands for it
    /// (Node gives such a client a fresh session, its issue #5538).
    fn restore_session(
        &self,
        pid: &str,
        offset: Option<&str>,
    ) -> BoxFuture<'static, Result<Option<RestoredSession>, AdapterError>> {
        let _ = (pid, offset);
        Box::pin(std::future::ready(Ok(None)))
    }

    /// The broadcasts kept after `offset` that reach a socket in `rooms`, oldest first, each
    /// with its offset as its last argument: what a recovered socket is sent once it is back
    /// in its rooms, for what was broadcast between [`restore_session`](Self::restore_session)
    /// and its return. `Ok(None)` when `offset` is no longer kept.
    fn packets_after(
        &self,
        offset: &str,
        rooms: &[Room],
    ) -> BoxFuture<'static, Result<Option<Vec<Arc<BroadcastPacket>>>, AdapterError>> {
        let _ = (offset, rooms);
        Box::pin(std::future::ready(Ok(Some(Vec::new()))))
    }

    /// The offset of the latest broadcast kept for recovery, as a client would hold it: what a
    /// socket connecting now starts after. `None` when the adapter keeps nothing.
    fn last_offset(&self) -> Option<String> {
        None
    }

    /// How many servers share this namespace.
    fn server_count(&self) -> BoxFuture<'static, usize> {
        Box::pin(std::future::ready(1))
    }

    /// Sends an event to the other servers of the cluster (Node's `serverSideEmit`); they
    /// hand it to [`NamespaceRef::dispatch_server_side`]. A single server has no one to tell.
    /// An `Err` says the event could not be passed on: the caller sees it as
    /// [`EmitError::Adapter`](crate::EmitError::Adapter).
    fn server_side_emit(
        &self,
        event: Str,
        args: Vec<serde_json::Value>,
    ) -> Result<(), AdapterError> {
        let _ = (event, args);
        Ok(())
    }

    /// The server is closing: a cluster adapter stops listening, so that the other servers
    /// no longer count this one.
    fn close(&self) {}

    /// As [`server_side_emit`](Self::server_side_emit), collecting one answer per other
    /// server within `timeout`.
    fn server_side_emit_with_ack(
        &self,
        event: Str,
        args: Vec<serde_json::Value>,
        timeout: std::time::Duration,
    ) -> BoxFuture<'static, Result<Vec<serde_json::Value>, AdapterError>> {
        let _ = (event, args, timeout);
        Box::pin(std::future::ready(Ok(Vec::new())))
    }
}

/// Makes the adapter of each namespace as it is created, from the namespace's name and a handle
/// to it (for delivering to its sockets).
pub trait AdapterFactory: Send + Sync + 'static {
    /// The adapter of the namespace `name`; `namespace` is what it delivers through, and does
    /// not keep the namespace alive.
    fn create(&self, name: &Str, namespace: NamespaceRef) -> Arc<dyn Adapter>;

    /// Whether its adapters keep sessions for connection state recovery
    /// ([`Adapter::persist_session`] and [`Adapter::restore_session`]). A server with
    /// recovery on refuses to build with a factory that says no, rather than recover nothing.
    fn supports_recovery(&self) -> bool {
        false
    }
}

impl<F> AdapterFactory for F
where
    F: Fn(&Str, NamespaceRef) -> Arc<dyn Adapter> + Send + Sync + 'static,
{
    fn create(&self, name: &Str, namespace: NamespaceRef) -> Arc<dyn Adapter> {
        self(name, namespace)
    }
}
