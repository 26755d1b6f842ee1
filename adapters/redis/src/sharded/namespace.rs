//! The sharded adapter of one namespace: local rooms as in memory, every operation that
//! concerns the cluster published as Node's `ClusterAdapter` message on the namespace's
//! sharded channel (or a room's, per the subscription mode), and the room channels this server
//! subscribes to kept in step with its rooms.

use super::bus::ShardedBus;
use super::{ShardedRedisAdapter, ShardedRedisAdapterConfig, SubscriptionMode};
use crate::bus::Listener;
use crate::bus::Slot;
use crate::cluster::incoming::{self, ClusterNamespace, Response};
use crate::cluster::outgoing::{self, ClusterRequests};
use crate::cluster::{self, kind, Message, Mp};
use crate::requests::Pending;
use crate::wire::Opts;
use futures_util::future::BoxFuture;
use parser::Str;
use serde_json::Value;
use socketio::adapter::{
    AckSink, Adapter, AdapterError, BroadcastOptions, BroadcastPacket, LocalAdapter, NamespaceRef,
    RemoteSocket, Room, Sid,
};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// The rooms of this server that have a channel of their own, and which sockets hold each:
/// a room's channel is subscribed when its first socket joins, dropped when its last leaves
/// (Node's `create-room` and `delete-room`).
#[derive(Default)]
struct RoomChannels {
    of_socket: HashMap<Sid, HashSet<Room>>,
    members: HashMap<Room, usize>,
}

pub(crate) struct ShardedNamespace {
    local: LocalAdapter,
    name: Str,
    bus: Arc<ShardedBus>,
    config: Arc<ShardedRedisAdapterConfig>,
    /// This adapter's id in the cluster (Node: one per namespace, 16 hex digits).
    uid: String,
    /// `{prefix}#{nsp}#`: what every server of the namespace hears.
    channel: String,
    /// `{prefix}#{nsp}#{uid}#`: the answers to this server's requests.
    response_channel: String,
    pending: Arc<Pending<Response>>,
    namespace: NamespaceRef,
    rooms: Mutex<RoomChannels>,
    me: Weak<ShardedNamespace>,
}

impl ShardedNamespace {
    pub(crate) fn new(
        factory: &ShardedRedisAdapter,
        name: Str,
        namespace: NamespaceRef,
    ) -> Arc<Self> {
        let channel = format!("{}#{name}#", factory.config.channel_prefix);
        // Node's adapter id: `randomId()`, as a request's.
        let uid = outgoing::request_id();
        let adapter = Arc::new_cyclic(|me| Self {
            local: LocalAdapter::new(namespace.clone()),
            response_channel: format!("{channel}{uid}#"),
            channel,
            uid,
            name,
            bus: factory.bus.clone(),
            config: factory.config.clone(),
            pending: Arc::default(),
            namespace,
            rooms: Mutex::default(),
            me: me.clone(),
        });
        let listener: Arc<dyn Listener> = adapter.clone();
        factory
            .bus
            .listen(adapter.channel.clone(), Arc::downgrade(&listener));
        // The answers' channel first: once the others count this server, it hears them.
        factory.bus.subscribe(adapter.response_channel.clone());
        factory.bus.subscribe(adapter.channel.clone());
        adapter
    }

    fn room_channel(&self, room: &Room) -> String {
        format!("{}{room}#", self.channel)
    }

    /// Whether this server subscribes to `room`'s own channel while a socket of its is in it;
    /// `private` when the room is named by that socket's id.
    fn has_channel(&self, room: &Room, private: bool) -> bool {
        match self.config.subscription_mode {
            SubscriptionMode::Static => false,
            // Node's servers send to a socket id on its room's channel unless the id looks
            // like one of theirs: this server's own (22 characters) never do.
            SubscriptionMode::Dynamic => !private || !looks_like_a_socket_id(room),
            SubscriptionMode::DynamicPrivate => true,
        }
    }

    /// The channel of a broadcast as Node's `computeChannel` picks it: a room's own for a
    /// broadcast without acknowledgements to exactly one room (not a socket id in dynamic
    /// mode); the namespace's otherwise.
    fn channel_for(&self, opts: &BroadcastOptions) -> String {
        let mut rooms = opts.rooms.iter();
        let (Some(room), None) = (rooms.next(), rooms.next()) else {
            return self.channel.clone();
        };
        let own = match self.config.subscription_mode {
            SubscriptionMode::Static => false,
            SubscriptionMode::Dynamic => !looks_like_a_socket_id(room),
            SubscriptionMode::DynamicPrivate => true,
        };
        if own {
            self.room_channel(room)
        } else {
            self.channel.clone()
        }
    }

    fn rooms(&self) -> std::sync::MutexGuard<'_, RoomChannels> {
        engineio::sync::lock(&self.rooms)
    }

    /// Counts `id` out of `room`'s channel; the channel is dropped when it was the last.
    fn leave_channel(&self, rooms: &mut RoomChannels, room: &Room) {
        let Some(count) = rooms.members.get_mut(room) else {
            return;
        };
        *count = count.saturating_sub(1);
        if *count == 0 {
            rooms.members.remove(room);
            self.bus.unsubscribe(self.room_channel(room));
        }
    }
}

/// Node's test for a socket id (`looksLikeASocketId`): 20 characters, the length of its ids,
/// counted as JavaScript counts a string's length (UTF-16 units), so that a room of other
/// characters takes the channel Node's servers would take.
fn looks_like_a_socket_id(room: &Room) -> bool {
    room.as_str().encode_utf16().count() == 20
}

impl Listener for ShardedNamespace {
    fn on_message(&self, channel: &str, payload: &[u8]) {
        match Message::from_payload(payload) {
            Ok(message) => incoming::on_message(self, message, None),
            Err(error) => tracing::debug!(%channel, %error, "message ignored"),
        }
    }
}

impl ClusterNamespace for ShardedNamespace {
    fn local(&self) -> &LocalAdapter {
        &self.local
    }

    fn name(&self) -> &Str {
        &self.name
    }

    fn uid(&self) -> &str {
        &self.uid
    }

    fn namespace(&self) -> &NamespaceRef {
        &self.namespace
    }

    fn requests_timeout(&self) -> Duration {
        self.config.requests_timeout
    }

    fn pending(&self) -> &Arc<Pending<Response>> {
        &self.pending
    }

    fn me(&self) -> Weak<Self> {
        self.me.clone()
    }

    /// Publishes an answer on the answers' channel of the server `to`. When the queue is full
    /// the answer is dropped, and that server's request times out.
    fn respond(&self, to: Option<&str>, kind: u8, data: Mp) {
        let Some(to) = to else {
            return;
        };
        let channel = format!("{}{to}#", self.channel);
        let message = cluster::message(kind, Some(data), &self.uid, &self.name);
        if let Err(error) = self.bus.publish(channel, message) {
            tracing::warn!(nsp = %self.name, %error, "answer to another server dropped");
        }
    }

    fn deliver(&self, packet: Arc<BroadcastPacket>, opts: &BroadcastOptions, _: Option<&str>) {
        // Local delivery has nothing to forward, so it cannot fail.
        let _ = self.local.broadcast(packet, opts);
    }
}

impl ClusterRequests for ShardedNamespace {
    fn reserve(&self) -> Result<Slot, AdapterError> {
        self.bus.reserve()
    }

    fn requests_channel(&self) -> String {
        self.channel.clone()
    }

    /// The subscribers of the namespace's channel, over the whole cluster.
    fn count_servers(&self) -> BoxFuture<'static, Result<usize, AdapterError>> {
        let (bus, channel) = (self.bus.clone(), self.channel.clone());
        let timeout = self.config.requests_timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, bus.subscribers(&channel)).await {
                Ok(Ok(count)) => Ok(count),
                Ok(Err(error)) => Err(AdapterError::Other(format!("redis: {error}"))),
                Err(_) => Err(AdapterError::Timeout),
            }
        })
    }
}

impl Adapter for ShardedNamespace {
    fn add_all(&self, id: &Sid, rooms: &[Room]) {
        let mut channels = self.rooms();
        self.local.add_all(id, rooms);
        for room in rooms {
            if !self.has_channel(room, room == id) {
                continue;
            }
            let held = channels.of_socket.entry(id.clone()).or_default();
            if held.insert(room.clone()) {
                let count = channels.members.entry(room.clone()).or_default();
                *count += 1;
                if *count == 1 {
                    self.bus.subscribe(self.room_channel(room));
                }
            }
        }
    }

    fn del(&self, id: &Sid, room: &Room) {
        let mut channels = self.rooms();
        self.local.del(id, room);
        let held = channels
            .of_socket
            .get_mut(id)
            .is_some_and(|held| held.remove(room));
        if held {
            if channels.of_socket.get(id).is_some_and(HashSet::is_empty) {
                channels.of_socket.remove(id);
            }
            self.leave_channel(&mut channels, room);
        }
    }

    fn del_all(&self, id: &Sid) {
        let mut channels = self.rooms();
        self.local.del_all(id);
        for room in channels.of_socket.remove(id).unwrap_or_default() {
            self.leave_channel(&mut channels, &room);
        }
    }

    fn socket_rooms(&self, id: &Sid) -> Vec<Room> {
        self.local.socket_rooms(id)
    }

    fn local_sockets(&self, opts: &BroadcastOptions) -> Vec<Sid> {
        self.local.local_sockets(opts)
    }

    fn broadcast(
        &self,
        packet: Arc<BroadcastPacket>,
        opts: &BroadcastOptions,
    ) -> Result<(), AdapterError> {
        let mut published = Ok(());
        if !opts.flags.local {
            if let Some(wire_packet) = cluster::broadcast_packet(&packet) {
                let data = cluster::broadcast_data(&wire_packet, &Opts::broadcast(opts), None);
                let message = cluster::message(kind::BROADCAST, Some(data), &self.uid, &self.name);
                published = self.bus.publish(self.channel_for(opts), message);
            }
        }
        // The local sockets have it whether or not the other servers will.
        self.local.broadcast(packet, opts)?;
        published
    }

    fn broadcast_with_ack(
        &self,
        packet: Arc<BroadcastPacket>,
        opts: &BroadcastOptions,
        acks: AckSink,
    ) -> BoxFuture<'static, Result<usize, AdapterError>> {
        outgoing::broadcast_with_ack(self, packet, opts, acks)
    }

    fn fetch_sockets(
        &self,
        opts: &BroadcastOptions,
    ) -> BoxFuture<'static, Result<Vec<RemoteSocket>, AdapterError>> {
        outgoing::fetch_sockets(self, opts)
    }

    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) -> Result<(), AdapterError> {
        self.local.add_sockets(opts, rooms)?;
        if opts.flags.local {
            return Ok(());
        }
        outgoing::tell(self, kind::SOCKETS_JOIN, cluster::rooms_data(opts, rooms))
    }

    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) -> Result<(), AdapterError> {
        self.local.del_sockets(opts, rooms)?;
        if opts.flags.local {
            return Ok(());
        }
        outgoing::tell(self, kind::SOCKETS_LEAVE, cluster::rooms_data(opts, rooms))
    }

    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) -> Result<(), AdapterError> {
        self.local.disconnect_sockets(opts, close)?;
        if opts.flags.local {
            return Ok(());
        }
        let data = cluster::disconnect_data(opts, close);
        outgoing::tell(self, kind::DISCONNECT_SOCKETS, data)
    }

    fn server_side_emit(&self, event: Str, args: Vec<Value>) -> Result<(), AdapterError> {
        outgoing::server_side_emit(self, event, args)
    }

    fn server_side_emit_with_ack(
        &self,
        event: Str,
        args: Vec<Value>,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<Value>, AdapterError>> {
        outgoing::server_side_emit_with_ack(self, event, args, timeout)
    }

    fn close(&self) {
        self.bus.forget(&self.channel);
        self.bus.unsubscribe(self.channel.clone());
        self.bus.unsubscribe(self.response_channel.clone());
        let mut channels = self.rooms();
        for (room, _) in channels.members.drain() {
            self.bus.unsubscribe(self.room_channel(&room));
        }
        channels.of_socket.clear();
    }

    /// Node's `serverCount`: the subscribers of the namespace's channel, this server
    /// included; 1 while Redis cannot be reached.
    fn server_count(&self) -> BoxFuture<'static, usize> {
        let count = ClusterRequests::count_servers(self);
        Box::pin(async move { count.await.unwrap_or(1) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_id_is_20_characters_as_javascript_counts_them() {
        assert!(looks_like_a_socket_id(&Room::from("GWG-8YhdbespzP3PAAAA")));
        assert!(!looks_like_a_socket_id(&Room::from(
            "Z1xxtJHYJJeamBWyeMaMWQ"
        )));
        // 20 letters of two bytes each are 20 characters to JavaScript, 40 bytes here.
        assert!(looks_like_a_socket_id(&Room::from("é".repeat(20))));
        // An emoji is two UTF-16 units: ten of them look like an id to Node.
        assert!(looks_like_a_socket_id(&Room::from("😀".repeat(10))));
    }
}
