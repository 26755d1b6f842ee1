//! The adapter of one namespace: local rooms as in memory, and every operation that concerns
//! the cluster published on the namespace's channels.

use crate::bus::{Bus, Listener, Subscription};
use crate::msgpack::{self, field, Mp};
use crate::requests::{self, Answer, Pending};
use crate::{RedisAdapter, RedisAdapterConfig};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use parser::socketio::{Event, Packet, PacketData};
use parser::Str;
use serde::Deserialize;
use serde_json::{json, Value};
use socketio::adapter::{
    AckSink, Adapter, AdapterError, BroadcastFlags, BroadcastOptions, BroadcastPacket, Room, Sid,
};
use socketio::adapter::{LocalAdapter, NamespaceRef, RemoteSocket, SocketDescription};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::Weak;
use std::time::Duration;

mod acks;

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
    /// `{key}-response#{nsp}#`: every server's answers.
    response_channel: String,
    pending: Arc<Pending>,
    namespace: NamespaceRef,
    me: Weak<RedisNamespace>,
}

impl RedisNamespace {
    pub(crate) fn new(factory: &RedisAdapter, name: Str, namespace: NamespaceRef) -> Arc<Self> {
        let key = &factory.config.key;
        let adapter = Arc::new_cyclic(|me| Self {
            local: LocalAdapter::new(namespace.clone()),
            channel: format!("{key}#{name}#"),
            request_channel: format!("{key}-request#{name}#"),
            response_channel: format!("{key}-response#{name}#"),
            name,
            bus: factory.bus.clone(),
            config: factory.config.clone(),
            uid: factory.uid.clone(),
            pending: Arc::default(),
            namespace,
            me: me.clone(),
        });
        let listener: Arc<dyn Listener> = adapter.clone();
        factory.bus.listen(
            &adapter.prefixes(),
            Arc::downgrade(&listener),
            adapter.subscriptions(),
        );
        adapter
    }

    fn prefixes(&self) -> [String; 3] {
        [
            self.channel.clone(),
            self.request_channel.clone(),
            self.response_channel.clone(),
        ]
    }

    fn subscriptions(&self) -> Vec<Subscription> {
        vec![
            Subscription::Pattern(format!("{}*", self.channel)),
            Subscription::Channel(self.response_channel.clone()),
            // Where Node's servers answer with `publishOnSpecificResponseChannel`.
            Subscription::Channel(format!("{}{}#", self.response_channel, self.uid)),
            // Subscribed last: once other servers count this one, it hears all the rest.
            Subscription::Channel(self.request_channel.clone()),
        ]
    }

    /// How many servers serve this namespace; an error when Redis does not answer in time, so
    /// that a request to the cluster fails rather than quietly covering this server alone.
    fn count_servers(&self) -> BoxFuture<'static, Result<usize, AdapterError>> {
        let mut commands = self.bus.commands();
        let channel = self.request_channel.clone();
        let timeout = self.config.requests_timeout;
        Box::pin(async move {
            let mut numsub = redis::cmd("PUBSUB");
            numsub.arg("NUMSUB").arg(&channel);
            let count = numsub.query_async::<(String, usize)>(&mut commands);
            match tokio::time::timeout(timeout, count).await {
                // As Node's: 0 for a moment after start, until this server's own subscription
                // is active.
                Ok(Ok((_, count))) => Ok(count),
                Ok(Err(error)) => Err(AdapterError::Other(format!("redis: {error}"))),
                Err(_) => Err(AdapterError::Timeout),
            }
        })
    }

    fn publish_json(&self, channel: &str, message: &Value) {
        self.bus
            .publish(channel.to_owned(), message.to_string().into_bytes());
    }

    /// A request to the other servers that asks for nothing back (join, leave, disconnect,
    /// server-side emit without ack).
    fn tell(&self, mut request: Value) {
        request["uid"] = Value::from(&*self.uid);
        self.publish_json(&self.request_channel, &request);
    }

    /// Sends a request to the other servers and waits for each one's answer, within Node's
    /// `requestsTimeout`. Resolves at once, with no answer, when this server is alone.
    fn ask(&self, mut request: Value) -> BoxFuture<'static, Result<Vec<Value>, AdapterError>> {
        let Some(me) = self.me.upgrade() else {
            return Box::pin(std::future::ready(Ok(Vec::new())));
        };
        Box::pin(async move {
            let others = me.count_servers().await?.saturating_sub(1);
            if others == 0 {
                return Ok(Vec::new());
            }
            let answers = me.pending.open();
            request["uid"] = Value::from(&*me.uid);
            request["requestId"] = Value::from(answers.id.as_str());
            me.publish_json(&me.request_channel, &request);
            answers.collect(others, me.config.requests_timeout).await
        })
    }

    /// A request from another server of the namespace.
    fn on_request(&self, payload: &[u8]) {
        if payload.first() != Some(&b'{') {
            // Only broadcasts with acknowledgements travel as msgpack requests.
            if let Some(request) = msgpack::decode(payload) {
                self.on_broadcast_request(&request);
            }
            return;
        }
        let Ok(request) = serde_json::from_slice::<Value>(payload) else {
            return;
        };
        // Node's own requests of types 2 to 4 come back to it; ours are applied when made.
        if request["uid"].as_str() == Some(&*self.uid) {
            return;
        }
        let opts = || remote_options(&request["opts"]);
        let rooms = || rooms_of(&request["rooms"]);
        match request["type"].as_u64() {
            Some(requests::REMOTE_JOIN) => self.local.add_sockets(&opts(), &rooms()),
            Some(requests::REMOTE_LEAVE) => self.local.del_sockets(&opts(), &rooms()),
            Some(requests::REMOTE_DISCONNECT) => {
                let close = request["close"].as_bool().unwrap_or(false);
                self.local.disconnect_sockets(&opts(), close);
            }
            Some(requests::SOCKETS) => {
                let opts = BroadcastOptions {
                    rooms: rooms().into_iter().collect(),
                    ..BroadcastOptions::default()
                };
                let ids: Vec<String> = self
                    .local
                    .local_sockets(&opts)
                    .iter()
                    .map(|id| id.to_string())
                    .collect();
                self.answer(&request, json!({ "sockets": ids }));
            }
            Some(requests::ALL_ROOMS) => {
                let rooms: Vec<String> = self.local.rooms().iter().map(|r| r.to_string()).collect();
                self.answer(&request, json!({ "rooms": rooms }));
            }
            Some(requests::REMOTE_FETCH) => self.answer_fetch(&request, opts()),
            Some(requests::SERVER_SIDE_EMIT) => self.answer_server_side_emit(request),
            _ => {}
        }
    }

    /// Publishes `answer` (an object) as the answer to `request`, when it asks for one.
    fn answer(&self, request: &Value, mut answer: Value) {
        if let Some(id) = request["requestId"].as_str() {
            answer["requestId"] = Value::from(id);
            self.publish_json(&self.response_channel, &answer);
        }
    }

    fn answer_fetch(&self, request: &Value, opts: BroadcastOptions) {
        // The local adapter answers at once; its future is only a future for the trait's sake.
        let Some(Ok(found)) = self.local.fetch_sockets(&opts).now_or_never() else {
            return;
        };
        let sockets: Vec<SocketDescription> = found.iter().map(SocketDescription::of).collect();
        self.answer(request, json!({ "sockets": sockets }));
    }

    fn answer_server_side_emit(&self, request: Value) {
        let Value::Array(mut data) = request["data"].clone() else {
            return;
        };
        if data.is_empty() {
            return;
        }
        let event = data.remove(0);
        let Some(event) = event.as_str() else { return };
        // Node's sender asks for answers by giving a request id, and only then.
        let request_id = request["requestId"].as_str().map(str::to_owned);
        let answer = self
            .namespace
            .dispatch_server_side(event, data, request_id.is_some());
        let (bus, channel) = (self.bus.clone(), self.response_channel.clone());
        tokio::spawn(async move {
            // Node answers only when the handler called its callback, and only then.
            if let (Some(answer), Some(id)) = (answer.await, request_id) {
                let reply =
                    json!({ "type": requests::SERVER_SIDE_EMIT, "requestId": id, "data": answer });
                bus.publish(channel, reply.to_string().into_bytes());
            }
        });
    }

    fn on_response(&self, payload: &[u8]) {
        if payload.first() == Some(&b'{') {
            if let Ok(value) = serde_json::from_slice(payload) {
                self.pending.deliver(Answer::json(value));
            }
            return;
        }
        let Some(message) = msgpack::decode(payload) else {
            return;
        };
        // Node reads any answer in msgpack as well as in JSON: its own are JSON but for the
        // acknowledgements, whose argument may hold binary and is read as arguments below.
        let kind = field(&message, "type").and_then(Mp::as_u64);
        if kind != Some(requests::BROADCAST_ACK) {
            self.pending
                .deliver(Answer::json(msgpack::to_plain_json(&message)));
            return;
        }
        let (args, attachments) = match field(&message, "packet") {
            Some(packet) => msgpack::msgpack_to_args(std::slice::from_ref(packet)),
            None => (Vec::new(), Vec::new()),
        };
        let value = json!({
            "type": kind,
            "requestId": field(&message, "requestId").and_then(Mp::as_str),
        });
        self.pending.deliver(Answer {
            value,
            args,
            attachments,
        });
    }

    /// The channel of a broadcast: the room's own when it targets exactly one room, so that
    /// servers can skip rooms they have no member of.
    fn channel_for(&self, opts: &BroadcastOptions) -> String {
        match opts.rooms.iter().next() {
            Some(room) if opts.rooms.len() == 1 => format!("{}{room}#", self.channel),
            _ => self.channel.clone(),
        }
    }

    /// A packet as Node's adapter publishes it: `{type: 2, data: [name, ...args], nsp}`, with
    /// the binary inline and no ack id (each receiving server gives its own).
    fn packet_to_msgpack(&self, packet: &BroadcastPacket) -> Option<Mp> {
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
        Some(Mp::Map(vec![
            (Mp::from("type"), Mp::from(EVENT)),
            (Mp::from("data"), Mp::Array(data)),
            (Mp::from("nsp"), Mp::from(self.name.as_str())),
        ]))
    }

    fn encode_broadcast(
        &self,
        packet: &BroadcastPacket,
        opts: &BroadcastOptions,
    ) -> Option<Vec<u8>> {
        let message = Mp::Array(vec![
            Mp::from(&*self.uid),
            self.packet_to_msgpack(packet)?,
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
        // Local delivery has nothing to forward, so it cannot fail.
        let _ = self.local.broadcast(Arc::new(packet), &opts);
    }
}

impl Listener for RedisNamespace {
    fn on_message(&self, channel: &str, payload: &[u8]) {
        if channel == self.request_channel {
            self.on_request(payload);
        } else if channel.starts_with(&self.response_channel) {
            self.on_response(payload);
        } else if channel.starts_with(&self.channel) {
            self.on_broadcast(payload);
        }
    }
}

/// The `opts` of a request (`{rooms, except}`), as options for this server's sockets.
fn remote_options(opts: &Value) -> BroadcastOptions {
    BroadcastOptions {
        rooms: rooms_of(&opts["rooms"]).into_iter().collect(),
        except: rooms_of(&opts["except"]).into_iter().collect(),
        flags: BroadcastFlags {
            local: true,
            ..BroadcastFlags::default()
        },
    }
}

/// Room names from JSON: strings, or numbers as Node's `io.to(123)` sends them.
fn rooms_of(value: &Value) -> Vec<Room> {
    value
        .as_array()
        .map(|rooms| {
            rooms
                .iter()
                .filter_map(|room| match room {
                    Value::String(s) => Some(Room::from(s.as_str())),
                    Value::Number(n) => Some(Room::from(n.to_string())),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

fn json_options(opts: &BroadcastOptions) -> Value {
    fn names(set: &HashSet<Room>) -> Vec<&str> {
        set.iter().map(|r| r.as_str()).collect()
    }
    json!({ "rooms": names(&opts.rooms), "except": names(&opts.except) })
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
    if let Some(timeout) = opts.flags.timeout {
        flags.push((Mp::from("timeout"), Mp::from(timeout.as_millis() as u64)));
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
            timeout: field(opts, "flags")
                .and_then(|flags| field(flags, "timeout"))
                .and_then(Mp::as_u64)
                .map(Duration::from_millis),
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
    fn add_all(&self, id: &Sid, rooms: &[Room]) {
        self.local.add_all(id, rooms);
    }

    fn del(&self, id: &Sid, room: &Room) {
        self.local.del(id, room);
    }

    fn del_all(&self, id: &Sid) {
        self.local.del_all(id);
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
        if !opts.flags.local {
            if let Some(message) = self.encode_broadcast(&packet, opts) {
                self.bus.publish(self.channel_for(opts), message);
            }
        }
        self.local.broadcast(packet, opts)
    }

    fn broadcast_with_ack(
        &self,
        packet: Arc<BroadcastPacket>,
        opts: &BroadcastOptions,
        acks: AckSink,
    ) -> BoxFuture<'static, usize> {
        self.cluster_broadcast_with_ack(packet, opts, acks)
    }

    fn fetch_sockets(
        &self,
        opts: &BroadcastOptions,
    ) -> BoxFuture<'static, Result<Vec<RemoteSocket>, AdapterError>> {
        let local = self.local.fetch_sockets(opts);
        if opts.flags.local {
            return local;
        }
        let remote =
            self.ask(json!({ "type": requests::REMOTE_FETCH, "opts": json_options(opts) }));
        let namespace = self.namespace.clone();
        Box::pin(async move {
            let mut sockets = local.await?;
            for answer in remote.await? {
                let described = answer["sockets"].as_array().into_iter().flatten();
                sockets.extend(described.filter_map(|d| {
                    SocketDescription::deserialize(d)
                        .ok()?
                        .into_remote(&namespace)
                }));
            }
            Ok(sockets)
        })
    }

    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        self.local.add_sockets(opts, rooms);
        if !opts.flags.local {
            let rooms: Vec<&str> = rooms.iter().map(|r| r.as_str()).collect();
            self.tell(json!({ "type": requests::REMOTE_JOIN, "opts": json_options(opts), "rooms": rooms }));
        }
    }

    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        self.local.del_sockets(opts, rooms);
        if !opts.flags.local {
            let rooms: Vec<&str> = rooms.iter().map(|r| r.as_str()).collect();
            self.tell(json!({ "type": requests::REMOTE_LEAVE, "opts": json_options(opts), "rooms": rooms }));
        }
    }

    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        self.local.disconnect_sockets(opts, close);
        if !opts.flags.local {
            self.tell(json!({ "type": requests::REMOTE_DISCONNECT, "opts": json_options(opts), "close": close }));
        }
    }

    fn server_side_emit(&self, event: Str, mut args: Vec<Value>) {
        args.insert(0, Value::from(event.as_str()));
        self.tell(json!({ "type": requests::SERVER_SIDE_EMIT, "data": args }));
    }

    fn server_side_emit_with_ack(
        &self,
        event: Str,
        mut args: Vec<Value>,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<Value>, AdapterError>> {
        args.insert(0, Value::from(event.as_str()));
        let answers = self.ask(json!({ "type": requests::SERVER_SIDE_EMIT, "data": args }));
        Box::pin(async move {
            // The caller's timeout bounds the wait, as Node's `io.timeout(t).serverSideEmit`.
            let answers = tokio::time::timeout(timeout, answers)
                .await
                .map_err(|_| AdapterError::Timeout)??;
            Ok(answers.into_iter().map(|a| a["data"].clone()).collect())
        })
    }

    fn close(&self) {
        self.bus.forget(&self.prefixes(), self.subscriptions());
    }

    /// Node's `serverCount`: the subscribers of the request channel, this server included;
    /// 1 while Redis cannot be reached.
    fn server_count(&self) -> BoxFuture<'static, usize> {
        let count = self.count_servers();
        Box::pin(async move { count.await.unwrap_or(1) })
    }
}
