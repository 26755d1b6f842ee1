//! Where rooms live and how a broadcast reaches its recipients.
//!
//! Every namespace has one [`Adapter`]. The default, [`LocalAdapter`], keeps rooms in memory
//! and delivers to this server's sockets. A cluster adapter (Redis pub/sub, say) wraps a
//! `LocalAdapter` for local delivery and forwards the same operations to the other servers; the
//! socket layer only ever talks to this trait, so it needs no change for that.

mod description;
mod local;

pub use description::{HandshakeDescription, SocketDescription};
pub use local::LocalAdapter;

pub use crate::id::Sid;
pub use crate::namespace::NamespaceRef;
pub use crate::remote::RemoteSocket;
use bytes::Bytes;
use engineio::Frame;
use futures_util::future::BoxFuture;
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
    pub flags: BroadcastFlags,
}

/// Modifiers of a broadcast, as Node's flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BroadcastFlags {
    /// This server's sockets only, in a cluster.
    pub local: bool,
    /// Skip recipients whose transport is not ready to write right now.
    pub volatile: bool,
    /// Node's compression hint; kept for cluster adapters, ignored on the wire here.
    pub compress: bool,
    /// How long a broadcast with acknowledgements waits for them: what other servers of a
    /// cluster need to know to stop forwarding answers.
    pub timeout: Option<std::time::Duration>,
}

/// One packet on its way to many sockets: encoded on first use, then shared by every recipient.
#[derive(Debug)]
pub struct BroadcastPacket {
    pub packet: Packet,
    pub attachments: Vec<Bytes>,
    frames: OnceLock<Vec<Frame>>,
}

impl BroadcastPacket {
    pub fn new(packet: Packet, attachments: Vec<Bytes>) -> Self {
        Self {
            packet,
            attachments,
            frames: OnceLock::new(),
        }
    }

    /// The engine frames, encoded once.
    pub fn frames(&self) -> &[Frame] {
        self.frames
            .get_or_init(|| crate::payload::frames(&self.packet, &self.attachments).collect())
    }
}

/// An acknowledgement's arguments, raw JSON with their attachments.
#[derive(Debug, Clone, Default)]
pub struct AckData {
    pub args: Vec<Str>,
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

    /// Makes the matching sockets join rooms.
    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]);
    /// Makes the matching sockets leave rooms.
    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]);
    /// Disconnects the matching sockets; `close` closes their whole connection.
    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool);

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
    fn create(&self, name: &Str, namespace: NamespaceRef) -> Arc<dyn Adapter>;
}

impl<F> AdapterFactory for F
where
    F: Fn(&Str, NamespaceRef) -> Arc<dyn Adapter> + Send + Sync + 'static,
{
    fn create(&self, name: &Str, namespace: NamespaceRef) -> Arc<dyn Adapter> {
        self(name, namespace)
    }
}
