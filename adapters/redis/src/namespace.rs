//! The adapter of one namespace: local rooms as in memory, and every operation that concerns
//! the cluster published on the namespace's channels.

use crate::bus::{Bus, Listener, Subscription};
use crate::msgpack::{self, field, Mp};
use crate::{RedisAdapter, RedisAdapterConfig};
use futures_util::future::BoxFuture;
use parser::socketio::{Event, Packet, PacketData};
use parser::Str;
use socketio::adapter::{
    AckSink, Adapter, AdapterError, BroadcastFlags, BroadcastOptions, BroadcastPacket, Room,
    SocketId,
};
use socketio::{LocalAdapter, RemoteSocket, WeakNamespace};
use std::collections::HashSet;
use std::sync::Arc;

/// Node's socket.io packet types, as they travel inside adapter messages.
const EVENT: u64 = 2;
const BINARY_EVENT: u64 = 5;

pub(crate) struct RedisNamespace {
    local: LocalAdapter,
    name: Str,
    bus: Arc<Bus>,
    config: Arc<RedisAdapterConfig>,
    uid: Arc<str>,
    /// `{key}#{nsp}#`: broadcasts to the namespace; with `{room}#` appended, to one room.
    channel: String,
    /// `{key}-request#{nsp}#`: requests, also what `serverCount` counts the subscribers of.
    request_channel: String,
}

impl RedisNamespace {
    pub(crate) fn new(factory: &RedisAdapter, name: Str, namespace: WeakNamespace) -> Arc<Self> {
        let key = &factory.config.key;
        let adapter = Arc::new(Self {
            local: LocalAdapter::new(namespace),
            channel: format!("{key}#{name}#"),
            request_channel: format!("{key}-request#{name}#"),
            name,
            bus: factory.bus.clone(),
            config: factory.config.clone(),
            uid: factory.uid.clone(),
        });
        let listener: Arc<dyn Listener> = adapter.clone();
        factory.bus.listen(
            adapter.channel.clone(),
            Arc::downgrade(&listener),
            adapter.subscriptions(),
        );
        adapter
    }

    fn subscriptions(&self) -> Vec<Subscription> {
        vec![
            Subscription::Pattern(format!("{}*", self.channel)),
            // Subscribed last: once other servers count this one, it hears broadcasts.
            Subscription::Channel(self.request_channel.clone()),
        ]
    }

    /// The channel of a broadcast: the room's own when it targets exactly one room, so that
    /// servers can skip rooms they have no member of.
    fn channel_for(&self, opts: &BroadcastOptions) -> String {
        match opts.rooms.iter().next() {
            Some(room) if opts.rooms.len() == 1 => format!("{}{room}#", self.channel),
            _ => self.channel.clone(),
        }
    }

    fn encode_broadcast(
        &self,
        packet: &BroadcastPacket,
        opts: &BroadcastOptions,
    ) -> Option<Vec<u8>> {
        let PacketData::Event(event) = &packet.packet.data else {
            return None;
        };
        let mut data = vec![Mp::from(event.name.as_str())];
        match msgpack::args_to_msgpack(&event.args, &packet.attachments) {
            Ok(args) => data.extend(args),
            Err(error) => {
                tracing::warn!(%error, "broadcast not published: arguments are not JSON");
                return None;
            }
        }
        let mut packet_map = vec![
            (Mp::from("type"), Mp::from(EVENT)),
            (Mp::from("data"), Mp::Array(data)),
            (Mp::from("nsp"), Mp::from(self.name.as_str())),
        ];
        if let Some(id) = event.id {
            packet_map.push((Mp::from("id"), Mp::from(id)));
        }
        let message = Mp::Array(vec![
            Mp::from(&*self.uid),
            Mp::Map(packet_map),
            encode_options(opts),
        ]);
        Some(msgpack::encode(&message))
    }

    fn on_broadcast(&self, payload: &[u8]) {
        let Some(Mp::Array(parts)) = msgpack::decode(payload) else {
            return;
        };
        let [uid, packet, opts] = parts.as_slice() else {
            return;
        };
        if uid.as_str() == Some(&*self.uid) {
            return;
        }
        let nsp = field(packet, "nsp").and_then(Mp::as_str).unwrap_or("/");
        if nsp != self.name.as_str() {
            return;
        }
        let Some(packet) = decode_event(&self.name, packet) else {
            return;
        };
        let opts = decode_options(opts);
        self.local.broadcast(Arc::new(packet), &opts);
    }
}

impl Listener for RedisNamespace {
    fn on_message(&self, channel: &str, payload: &[u8]) {
        if channel.starts_with(&self.channel) {
            self.on_broadcast(payload);
        }
    }
}

fn encode_options(opts: &BroadcastOptions) -> Mp {
    let rooms = |set: &HashSet<Room>| Mp::Array(set.iter().map(|r| Mp::from(r.as_str())).collect());
    let mut flags = Vec::new();
    if opts.flags.volatile {
        flags.push((Mp::from("volatile"), Mp::Boolean(true)));
    }
    if opts.flags.compress {
        flags.push((Mp::from("compress"), Mp::Boolean(true)));
    }
    Mp::Map(vec![
        (Mp::from("rooms"), rooms(&opts.rooms)),
        (Mp::from("except"), rooms(&opts.except)),
        (Mp::from("flags"), Mp::Map(flags)),
    ])
}

fn decode_options(opts: &Mp) -> BroadcastOptions {
    let rooms = |name: &str| -> HashSet<Room> {
        field(opts, name)
            .and_then(Mp::as_array)
            .map(|rooms| rooms.iter().filter_map(room_name).collect())
            .unwrap_or_default()
    };
    let flag = |name: &str| {
        field(opts, "flags")
            .and_then(|flags| field(flags, name))
            .and_then(Mp::as_bool)
            .unwrap_or(false)
    };
    BroadcastOptions {
        rooms: rooms("rooms"),
        except: rooms("except"),
        flags: BroadcastFlags {
            local: true,
            volatile: flag("volatile"),
            compress: flag("compress"),
        },
    }
}

/// A room as Node publishes it: a string, or a number for `io.to(123)`.
fn room_name(room: &Mp) -> Option<Room> {
    match room {
        Mp::String(s) => s.as_str().map(Room::from),
        Mp::Integer(n) => Some(Room::from(n.to_string())),
        _ => None,
    }
}

/// A socket.io packet object of Node's (`{type, data: [name, ...args], nsp, id?}`) as ours.
fn decode_event(nsp: &Str, packet: &Mp) -> Option<BroadcastPacket> {
    let kind = field(packet, "type").and_then(Mp::as_u64)?;
    if kind != EVENT && kind != BINARY_EVENT {
        return None;
    }
    let data = field(packet, "data").and_then(Mp::as_array)?;
    let (name, args) = data.split_first()?;
    let name = Str::from(name.as_str()?);
    let (args, attachments) = msgpack::msgpack_to_args(args);
    let id = field(packet, "id").and_then(Mp::as_u64);
    let event = Event {
        name,
        args,
        id,
        attachments: (!attachments.is_empty()).then_some(attachments.len()),
    };
    let packet = Packet {
        nsp: nsp.clone(),
        data: PacketData::Event(event),
    };
    Some(BroadcastPacket::new(packet, attachments))
}

impl Adapter for RedisNamespace {
    fn add_all(&self, id: &SocketId, rooms: &[Room]) {
        self.local.add_all(id, rooms);
    }

    fn del(&self, id: &SocketId, room: &Room) {
        self.local.del(id, room);
    }

    fn del_all(&self, id: &SocketId) {
        self.local.del_all(id);
    }

    fn socket_rooms(&self, id: &SocketId) -> Vec<Room> {
        self.local.socket_rooms(id)
    }

    fn local_sockets(&self, opts: &BroadcastOptions) -> Vec<SocketId> {
        self.local.local_sockets(opts)
    }

    fn broadcast(&self, packet: Arc<BroadcastPacket>, opts: &BroadcastOptions) {
        if !opts.flags.local {
            if let Some(message) = self.encode_broadcast(&packet, opts) {
                self.bus.publish(self.channel_for(opts), message);
            }
        }
        self.local.broadcast(packet, opts);
    }

    fn broadcast_with_ack(
        &self,
        packet: Arc<BroadcastPacket>,
        opts: &BroadcastOptions,
        acks: AckSink,
    ) -> BoxFuture<'static, usize> {
        self.local.broadcast_with_ack(packet, opts, acks)
    }

    fn fetch_sockets(
        &self,
        opts: &BroadcastOptions,
    ) -> BoxFuture<'static, Result<Vec<RemoteSocket>, AdapterError>> {
        self.local.fetch_sockets(opts)
    }

    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        self.local.add_sockets(opts, rooms);
    }

    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        self.local.del_sockets(opts, rooms);
    }

    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        self.local.disconnect_sockets(opts, close);
    }

    fn close(&self) {
        self.bus.forget(&self.channel, self.subscriptions());
    }

    /// Node's `serverCount`: the subscribers of the request channel, this server included.
    fn server_count(&self) -> BoxFuture<'static, usize> {
        let mut commands = self.bus.commands();
        let channel = self.request_channel.clone();
        let timeout = self.config.requests_timeout;
        Box::pin(async move {
            let mut numsub = redis::cmd("PUBSUB");
            numsub.arg("NUMSUB").arg(&channel);
            let count = numsub.query_async::<(String, usize)>(&mut commands);
            match tokio::time::timeout(timeout, count).await {
                Ok(Ok((_, count))) => count,
                _ => 1,
            }
        })
    }
}
