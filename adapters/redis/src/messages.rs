//! The messages the servers of a namespace exchange through Redis, typed: what Node's
//! `@socket.io/redis-adapter` 8.3 publishes (`WIRE.md` beside this crate), each decoded once
//! from JSON or msgpack into one of these types, and encoded back the way Node writes it.
//!
//! - [`Published`]: a broadcast, `[uid, packet, opts]`, in msgpack on the broadcast channel or
//!   a room's.
//! - [`Request`]: what one server asks of the others on the request channel, tagged by Node's
//!   numeric `type` (`RequestType`: 0 to 7).
//! - [`Response`]: what they answer on the response channel. Only types 6, 8 and 9 carry a
//!   `type`; Node's requester tells the others apart by the request they answer, and so does
//!   this one ([`Response::Sockets`] is read from any answer with `sockets`).
//!
//! A field Node can leave out takes Node's default; a message that is not one of these (an
//! unknown `type`, a required field missing or of the wrong type) fails to decode, and the
//! adapter ignores it. Nothing here panics on any input.

use crate::msgpack::{self, field, Mp};
use parser::socketio::{Event, Packet as SioPacket, PacketData};
use parser::Str;
use serde::de::{self, DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use socketio::adapter::SocketDescription;
use socketio::adapter::{BroadcastFlags, BroadcastOptions, BroadcastPacket, Room, Sid};
use std::time::Duration;

/// Node's `RequestType`, the `type` of requests and of the answers that carry one.
pub(crate) mod kind {
    pub(crate) const SOCKETS: u8 = 0;
    pub(crate) const ALL_ROOMS: u8 = 1;
    pub(crate) const REMOTE_JOIN: u8 = 2;
    pub(crate) const REMOTE_LEAVE: u8 = 3;
    pub(crate) const REMOTE_DISCONNECT: u8 = 4;
    pub(crate) const REMOTE_FETCH: u8 = 5;
    pub(crate) const SERVER_SIDE_EMIT: u8 = 6;
    pub(crate) const BROADCAST: u8 = 7;
    pub(crate) const BROADCAST_CLIENT_COUNT: u8 = 8;
    pub(crate) const BROADCAST_ACK: u8 = 9;
}

/// socket.io's packet types, as they travel inside adapter messages.
const EVENT: u64 = 2;
const BINARY_EVENT: u64 = 5;

/// The `type` field of a message that is always `N`: written as the number, and a message
/// with another `type` is not this one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Type<const N: u8>;

impl<const N: u8> Serialize for Type<N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(N)
    }
}

impl<'de, const N: u8> Deserialize<'de> for Type<N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match u64::deserialize(deserializer)? {
            n if n == u64::from(N) => Ok(Type),
            n => Err(de::Error::custom(format_args!("type {n}, not {N}"))),
        }
    }
}

// --- broadcasts ------------------------------------------------------------------------------

/// A broadcast as Node's adapter publishes it on the broadcast channel (or the channel of its
/// one room): `[uid, packet, opts]`, in msgpack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Published(
    /// The publishing server's uid (`"emitter"` for Node's emitter).
    #[serde(deserialize_with = "lenient")]
    pub Option<String>,
    pub Packet,
    pub Opts,
);

/// A socket.io packet as Node's adapter carries it: `{type: 2, data: [event, ...args], nsp}`,
/// the binary inline (msgpack), no ack id (each receiving server gives its own).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Packet {
    /// 2 (EVENT); 5 (BINARY_EVENT) is read too.
    #[serde(rename = "type")]
    pub kind: u64,
    /// `[event, ...args]`, binary arguments inline.
    pub data: Vec<Mp>,
    /// The namespace; `/` when left out (as by old emitters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nsp: Option<String>,
    /// An acknowledgement id; Node's adapters never send one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "lenient")]
    pub id: Option<u64>,
}

impl Packet {
    /// One of our broadcasts as Node's adapter publishes it; `None` for what is not an event
    /// (or whose arguments are not JSON).
    pub fn of(nsp: &str, packet: &BroadcastPacket) -> Option<Self> {
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
        Some(Self {
            kind: EVENT,
            data,
            nsp: Some(nsp.to_owned()),
            id: None,
        })
    }

    /// The namespace it is for (`/` when left out).
    pub fn nsp(&self) -> &str {
        self.nsp.as_deref().unwrap_or("/")
    }

    /// The packet as ours, in namespace `nsp`; `None` unless it is an event with a name.
    pub fn into_broadcast(self, nsp: &Str) -> Option<BroadcastPacket> {
        if self.kind != EVENT && self.kind != BINARY_EVENT {
            return None;
        }
        let (name, args) = self.data.split_first()?;
        let name = Str::from(name.as_str()?);
        let (args, attachments) = msgpack::msgpack_to_args(args);
        let event = Event {
            name,
            args,
            id: self.id,
            attachments: (!attachments.is_empty()).then_some(attachments.len()),
        };
        let packet = SioPacket {
            nsp: nsp.clone(),
            data: PacketData::Event(event),
        };
        Some(BroadcastPacket::new(packet, attachments))
    }
}

/// Whom a broadcast or request is for (`opts`): `{rooms, except}`, and for a broadcast
/// `flags` too. Rooms Node gives as numbers read as their text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Opts {
    /// The rooms it is for; every socket when empty.
    #[serde(default, deserialize_with = "rooms")]
    pub rooms: Vec<Room>,
    /// The rooms whose sockets it skips.
    #[serde(default, deserialize_with = "rooms")]
    pub except: Vec<Room>,
    /// A broadcast's flags; requests carry none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "lenient")]
    pub flags: Option<Flags>,
}

/// A broadcast's flags as Node's operators set them; a key is left out when not set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Flags {
    /// `volatile`: skip recipients not ready to write.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub volatile: Option<bool>,
    /// `compress`: Node's compression hint.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub compress: Option<bool>,
    /// How long a broadcast with acknowledgements waits for them, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "millis")]
    pub timeout: Option<u64>,
}

impl Opts {
    /// `{rooms, except}`, as Node's requests 2 to 5 carry them.
    pub fn targets(opts: &BroadcastOptions) -> Self {
        Self {
            rooms: opts.rooms.iter().cloned().collect(),
            except: opts.except.iter().cloned().collect(),
            flags: None,
        }
    }

    /// `{rooms, except, flags}`, as Node's broadcasts carry them.
    pub fn broadcast(opts: &BroadcastOptions) -> Self {
        let flags = Flags {
            volatile: opts.flags.volatile.then_some(true),
            // Node leaves the key out unless `compress(false)` was called.
            compress: (!opts.flags.compress).then_some(false),
            timeout: opts
                .flags
                .timeout
                .map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
        };
        Self {
            flags: Some(flags),
            ..Self::targets(opts)
        }
    }

    /// The same sockets among this server's (`local`), with the flags that came.
    pub fn local(&self) -> BroadcastOptions {
        let flags = self.flags.clone().unwrap_or_default();
        BroadcastOptions {
            rooms: self.rooms.iter().cloned().collect(),
            except: self.except.iter().cloned().collect(),
            flags: BroadcastFlags {
                local: true,
                volatile: flags.volatile.unwrap_or(false),
                compress: flags.compress.unwrap_or(true),
                timeout: flags.timeout.map(Duration::from_millis),
            },
        }
    }
}

// --- requests --------------------------------------------------------------------------------

/// A request of one server to the others of the namespace, on its request channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub(crate) enum Request {
    /// 0: the ids of the sockets in some rooms (8.3 no longer sends it).
    SocketIds(SocketIdsRequest),
    /// 1: every room of every server.
    AllRooms(AllRoomsRequest),
    /// 2: make the sockets `opts` names join `rooms`.
    Join(RoomsRequest<{ kind::REMOTE_JOIN }>),
    /// 3: make them leave `rooms`.
    Leave(RoomsRequest<{ kind::REMOTE_LEAVE }>),
    /// 4: disconnect them.
    Disconnect(DisconnectRequest),
    /// 2 and 3 in their older form: one socket by id, one room, answered when done.
    LegacyJoin(LegacyRoomRequest<{ kind::REMOTE_JOIN }>),
    LegacyLeave(LegacyRoomRequest<{ kind::REMOTE_LEAVE }>),
    /// 4 in its older form.
    LegacyDisconnect(LegacyDisconnectRequest),
    /// 5: describe the sockets `opts` names.
    Fetch(FetchRequest),
    /// 6: an event for the other servers' handlers.
    ServerSideEmit(ServerSideEmitRequest),
    /// 7: a broadcast whose recipients acknowledge it (msgpack, as Node's).
    Broadcast(BroadcastRequest),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SocketIdsRequest {
    #[serde(default, deserialize_with = "lenient")]
    pub uid: Option<String>,
    #[serde(rename = "requestId")]
    pub request_id: String,
    #[serde(rename = "type")]
    pub kind: Type<{ kind::SOCKETS }>,
    #[serde(default, deserialize_with = "rooms")]
    pub rooms: Vec<Room>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct AllRoomsRequest {
    #[serde(default, deserialize_with = "lenient")]
    pub uid: Option<String>,
    #[serde(rename = "requestId")]
    pub request_id: String,
    #[serde(rename = "type")]
    pub kind: Type<{ kind::ALL_ROOMS }>,
}

/// `{uid, type, opts, rooms}`: no request id, no answer. Node's emitter sends it without a
/// uid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RoomsRequest<const N: u8> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "lenient")]
    pub uid: Option<String>,
    #[serde(rename = "type")]
    pub kind: Type<N>,
    pub opts: Opts,
    #[serde(default, deserialize_with = "rooms")]
    pub rooms: Vec<Room>,
}

/// `{uid, type: 4, opts, close}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct DisconnectRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "lenient")]
    pub uid: Option<String>,
    #[serde(rename = "type")]
    pub kind: Type<{ kind::REMOTE_DISCONNECT }>,
    pub opts: Opts,
    #[serde(default, deserialize_with = "lenient")]
    pub close: bool,
}

/// `{uid, requestId, type, sid, room}`: one socket joins or leaves one room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LegacyRoomRequest<const N: u8> {
    #[serde(default, deserialize_with = "lenient")]
    pub uid: Option<String>,
    #[serde(rename = "requestId", default, deserialize_with = "lenient")]
    pub request_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Type<N>,
    pub sid: Sid,
    #[serde(deserialize_with = "room")]
    pub room: Room,
}

/// `{uid, requestId, type: 4, sid, close}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LegacyDisconnectRequest {
    #[serde(default, deserialize_with = "lenient")]
    pub uid: Option<String>,
    #[serde(rename = "requestId", default, deserialize_with = "lenient")]
    pub request_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Type<{ kind::REMOTE_DISCONNECT }>,
    pub sid: Sid,
    #[serde(default, deserialize_with = "lenient")]
    pub close: bool,
}

/// `{uid, requestId, type: 5, opts}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct FetchRequest {
    #[serde(default, deserialize_with = "lenient")]
    pub uid: Option<String>,
    #[serde(rename = "requestId")]
    pub request_id: String,
    #[serde(rename = "type")]
    pub kind: Type<{ kind::REMOTE_FETCH }>,
    pub opts: Opts,
}

/// `{uid, requestId?, type: 6, data: [event, ...args]}`: a request id asks for answers, and
/// is the only sign that it does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ServerSideEmitRequest {
    #[serde(default, deserialize_with = "lenient")]
    pub uid: Option<String>,
    #[serde(rename = "requestId", default, skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "lenient")]
    pub request_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Type<{ kind::SERVER_SIDE_EMIT }>,
    pub data: Vec<serde_json::Value>,
}

/// `{uid, requestId, type: 7, packet, opts}`, in msgpack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct BroadcastRequest {
    #[serde(default, deserialize_with = "lenient")]
    pub uid: Option<String>,
    #[serde(rename = "requestId")]
    pub request_id: String,
    #[serde(rename = "type")]
    pub kind: Type<{ kind::BROADCAST }>,
    pub packet: Packet,
    pub opts: Opts,
}

impl Request {
    /// The server that sent it, when it says.
    pub(crate) fn uid(&self) -> Option<&str> {
        match self {
            Request::SocketIds(r) => r.uid.as_deref(),
            Request::AllRooms(r) => r.uid.as_deref(),
            Request::Join(r) => r.uid.as_deref(),
            Request::Leave(r) => r.uid.as_deref(),
            Request::Disconnect(r) => r.uid.as_deref(),
            Request::LegacyJoin(r) => r.uid.as_deref(),
            Request::LegacyLeave(r) => r.uid.as_deref(),
            Request::LegacyDisconnect(r) => r.uid.as_deref(),
            Request::Fetch(r) => r.uid.as_deref(),
            Request::ServerSideEmit(r) => r.uid.as_deref(),
            Request::Broadcast(r) => r.uid.as_deref(),
        }
    }

    /// The bytes Node's adapter would publish: a broadcast in msgpack, the rest in JSON.
    pub(crate) fn encode(&self) -> Vec<u8> {
        match self {
            Request::Broadcast(_) => to_msgpack(self),
            _ => to_json(self),
        }
    }
}

impl<'de> Deserialize<'de> for Request {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let message = Mp::deserialize(deserializer)?;
        let Some(kind) = field(&message, "type").and_then(Mp::as_u64) else {
            return Err(de::Error::custom("a request without a numeric type"));
        };
        // Node tells the older forms of 2 to 4 by a missing (or falsy) `opts`.
        let legacy = matches!(field(&message, "opts"), None | Some(Mp::Nil));
        let kind = u8::try_from(kind).unwrap_or(u8::MAX);
        Ok(match kind {
            kind::SOCKETS => Request::SocketIds(body(message)?),
            kind::ALL_ROOMS => Request::AllRooms(body(message)?),
            kind::REMOTE_JOIN if legacy => Request::LegacyJoin(body(message)?),
            kind::REMOTE_JOIN => Request::Join(body(message)?),
            kind::REMOTE_LEAVE if legacy => Request::LegacyLeave(body(message)?),
            kind::REMOTE_LEAVE => Request::Leave(body(message)?),
            kind::REMOTE_DISCONNECT if legacy => Request::LegacyDisconnect(body(message)?),
            kind::REMOTE_DISCONNECT => Request::Disconnect(body(message)?),
            kind::REMOTE_FETCH => Request::Fetch(body(message)?),
            kind::SERVER_SIDE_EMIT => Request::ServerSideEmit(body(message)?),
            kind::BROADCAST => Request::Broadcast(body(message)?),
            _ => return Err(de::Error::custom("an unknown request type")),
        })
    }
}

// --- responses -------------------------------------------------------------------------------

/// An answer to a request, on the response channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub(crate) enum Response {
    /// To 5: `{requestId, sockets: [description, ...]}`, entries that name no socket skipped.
    Sockets(SocketsAnswer),
    /// To 0: `{requestId, sockets: [id, ...]}`. Only written: this server never asks, and
    /// reads any answer with `sockets` as [`Response::Sockets`].
    SocketIds(SocketIdsAnswer),
    /// To 1: `{requestId, rooms: [room, ...]}`.
    Rooms(RoomsAnswer),
    /// To the older forms of 2 to 4: `{requestId}`.
    Done(DoneAnswer),
    /// To 6: `{type: 6, requestId, data}`, one server's handler's answer.
    ServerSideEmit(ServerSideEmitAnswer),
    /// To 7: `{type: 8, requestId, clientCount}`, how many of its clients a server reached.
    ClientCount(ClientCountAnswer),
    /// To 7: `{type: 9, requestId, packet}` (msgpack), one client's acknowledgement.
    Ack(AckAnswer),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SocketsAnswer {
    #[serde(rename = "requestId")]
    pub request_id: String,
    #[serde(default, deserialize_with = "SocketDescription::deserialize_list")]
    pub sockets: Vec<SocketDescription>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SocketIdsAnswer {
    #[serde(rename = "requestId")]
    pub request_id: String,
    pub sockets: Vec<Sid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RoomsAnswer {
    #[serde(rename = "requestId")]
    pub request_id: String,
    #[serde(default, deserialize_with = "rooms")]
    pub rooms: Vec<Room>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct DoneAnswer {
    #[serde(rename = "requestId")]
    pub request_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ServerSideEmitAnswer {
    #[serde(rename = "type")]
    pub kind: Type<{ kind::SERVER_SIDE_EMIT }>,
    #[serde(rename = "requestId")]
    pub request_id: String,
    /// `null` when the handler answered `undefined` (left out of Node's JSON).
    #[serde(default)]
    pub data: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ClientCountAnswer {
    #[serde(rename = "type")]
    pub kind: Type<{ kind::BROADCAST_CLIENT_COUNT }>,
    #[serde(rename = "requestId")]
    pub request_id: String,
    #[serde(rename = "clientCount", default, deserialize_with = "lenient")]
    pub client_count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct AckAnswer {
    #[serde(rename = "type")]
    pub kind: Type<{ kind::BROADCAST_ACK }>,
    #[serde(rename = "requestId")]
    pub request_id: String,
    /// The client's first argument (Node forwards no other), binary inline.
    #[serde(default = "nil")]
    pub packet: Mp,
}

impl Response {
    /// The request it answers.
    pub(crate) fn request_id(&self) -> &str {
        match self {
            Response::Sockets(a) => &a.request_id,
            Response::SocketIds(a) => &a.request_id,
            Response::Rooms(a) => &a.request_id,
            Response::Done(a) => &a.request_id,
            Response::ServerSideEmit(a) => &a.request_id,
            Response::ClientCount(a) => &a.request_id,
            Response::Ack(a) => &a.request_id,
        }
    }

    /// The bytes Node's adapter would publish: an acknowledgement in msgpack, the rest in JSON.
    pub(crate) fn encode(&self) -> Vec<u8> {
        match self {
            Response::Ack(_) => to_msgpack(self),
            _ => to_json(self),
        }
    }
}

impl<'de> Deserialize<'de> for Response {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let message = Mp::deserialize(deserializer)?;
        let has = |name| field(&message, name).is_some();
        Ok(match field(&message, "type") {
            None if has("sockets") => Response::Sockets(body(message)?),
            None if has("rooms") => Response::Rooms(body(message)?),
            None => Response::Done(body(message)?),
            Some(kind) => match kind.as_u64().and_then(|k| u8::try_from(k).ok()) {
                Some(kind::SERVER_SIDE_EMIT) => Response::ServerSideEmit(body(message)?),
                Some(kind::BROADCAST_CLIENT_COUNT) => Response::ClientCount(body(message)?),
                Some(kind::BROADCAST_ACK) => Response::Ack(body(message)?),
                _ => return Err(de::Error::custom("an unknown response type")),
            },
        })
    }
}

fn nil() -> Mp {
    Mp::Nil
}

// --- encoding and decoding -------------------------------------------------------------------

/// How deep msgpack may nest (each level counts twice): serde_json's limit of 128 levels.
const MAX_DEPTH: usize = 256;

/// Why a message was not understood.
#[derive(Debug)]
pub struct DecodeError(String);

impl std::error::Error for DecodeError {}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A message as Node's adapter reads one: JSON when it starts with `{`, msgpack otherwise.
pub fn decode<T: DeserializeOwned>(payload: &[u8]) -> Result<T, DecodeError> {
    if payload.first() == Some(&b'{') {
        return serde_json::from_slice(payload).map_err(|e| DecodeError(format!("JSON: {e}")));
    }
    let value = rmpv::decode::read_value_with_max_depth(&mut &payload[..], MAX_DEPTH)
        .map_err(|e| DecodeError(format!("msgpack: {e}")))?;
    rmpv::ext::from_value(value).map_err(|e| DecodeError(format!("msgpack: {e}")))
}

/// A message in JSON. What these types hold always serializes, so nothing is ever lost here.
fn to_json<T: Serialize>(message: &T) -> Vec<u8> {
    serde_json::to_vec(message).unwrap_or_else(|error| {
        tracing::warn!(%error, "adapter message not encoded");
        Vec::new()
    })
}

/// A message in msgpack as notepack writes it: structs as maps, their keys in the order of
/// the fields (Node's), every number in its smallest form.
pub fn to_msgpack<T: Serialize>(message: &T) -> Vec<u8> {
    rmp_serde::to_vec_named(message).unwrap_or_else(|error| {
        tracing::warn!(%error, "adapter message not encoded");
        Vec::new()
    })
}

/// One variant's fields, from the whole message.
fn body<T: DeserializeOwned, E: de::Error>(message: Mp) -> Result<T, E> {
    rmpv::ext::from_value(message).map_err(E::custom)
}

/// Any value; `T`'s default when it is not a `T` (Node reads what is of the wrong type as
/// falsy or absent). For `#[serde(deserialize_with)]`.
pub fn lenient<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned + Default,
{
    let value = Mp::deserialize(deserializer)?;
    Ok(rmpv::ext::from_value(value).unwrap_or_default())
}

/// Milliseconds: an integer, or a number with a fraction (truncated); none for anything else.
fn millis<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    Ok(match Mp::deserialize(deserializer)? {
        Mp::Integer(n) => n.as_u64(),
        Mp::F32(ms) => (ms >= 0.0).then_some(ms as u64),
        Mp::F64(ms) => (ms >= 0.0).then_some(ms as u64),
        _ => None,
    })
}

/// Room names: strings, or numbers as Node's `io.to(123)` sends them; anything else in the
/// list is left out, and anything but a list is no rooms. For `#[serde(deserialize_with)]`.
pub fn rooms<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Room>, D::Error> {
    Ok(match Mp::deserialize(deserializer)? {
        Mp::Array(rooms) => rooms.iter().filter_map(room_name).collect(),
        _ => Vec::new(),
    })
}

fn room<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Room, D::Error> {
    room_name(&Mp::deserialize(deserializer)?).ok_or_else(|| de::Error::custom("not a room"))
}

/// A room as Node publishes it: a string, or a number as JavaScript's `String(n)` writes it.
pub fn room_name(room: &Mp) -> Option<Room> {
    match room {
        Mp::String(s) => s.as_str().map(Room::from),
        Mp::Integer(n) => Some(Room::from(n.to_string())),
        Mp::F64(f) if f.is_finite() => Some(Room::from(js_number(*f))),
        Mp::F32(f) if f.is_finite() => Some(Room::from(js_number(f64::from(*f)))),
        _ => None,
    }
}

fn js_number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e21 {
        // `+ 0.0` makes -0 into 0, as JavaScript writes it.
        format!("{:.0}", f + 0.0)
    } else {
        f.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn json_bytes(value: serde_json::Value) -> Vec<u8> {
        value.to_string().into_bytes()
    }

    fn msgpack_bytes(value: &Mp) -> Vec<u8> {
        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, value).expect("into a Vec");
        bytes
    }

    #[test]
    fn node_requests_decode_to_their_type() {
        let fetch = json!({"uid": "HI4krQ", "requestId": "P-2Zr-", "type": 5,
            "opts": {"rooms": ["room1", 123], "except": ["zzz"]}});
        let Ok(Request::Fetch(fetch)) = decode(&json_bytes(fetch)) else {
            panic!("a fetch")
        };
        assert_eq!(fetch.uid.as_deref(), Some("HI4krQ"));
        assert_eq!(fetch.opts.rooms, ["room1", "123"]);
        assert_eq!(fetch.opts.except, ["zzz"]);

        // The emitter's join has no uid.
        let join = json!({"type": 2, "opts": {"rooms": [], "except": []}, "rooms": ["a"]});
        let Ok(Request::Join(join)) = decode(&json_bytes(join)) else {
            panic!("a join")
        };
        assert_eq!((join.uid, join.rooms), (None, vec![Room::from("a")]));

        // The older form: one socket, no opts.
        let legacy = json!({"uid": "x", "requestId": "r", "type": 4, "sid": "s1", "close": true});
        let Ok(Request::LegacyDisconnect(legacy)) = decode(&json_bytes(legacy)) else {
            panic!("a legacy disconnect")
        };
        assert_eq!(legacy.sid.as_str(), "s1");
        assert!(legacy.close);

        let emit = json!({"uid": "-4gMQk", "type": 6, "data": ["sse", 1, "two"]});
        let Ok(Request::ServerSideEmit(emit)) = decode(&json_bytes(emit)) else {
            panic!("a server-side emit")
        };
        assert_eq!(emit.request_id, None);
        assert_eq!(emit.data, [json!("sse"), json!(1), json!("two")]);
    }

    #[test]
    fn a_broadcast_request_is_node_s_msgpack_both_ways() {
        // Captured from Node (WIRE.md, 5): io.timeout(500).emitWithAck("ping", 1).
        let captured = Mp::Map(vec![
            (Mp::from("uid"), Mp::from("HI4krQ")),
            (Mp::from("requestId"), Mp::from("-cDVI7")),
            (Mp::from("type"), Mp::from(7)),
            (
                Mp::from("packet"),
                Mp::Map(vec![
                    (Mp::from("type"), Mp::from(2)),
                    (
                        Mp::from("data"),
                        Mp::Array(vec![Mp::from("ping"), Mp::from(1)]),
                    ),
                    (Mp::from("nsp"), Mp::from("/")),
                ]),
            ),
            (
                Mp::from("opts"),
                Mp::Map(vec![
                    (Mp::from("rooms"), Mp::Array(vec![])),
                    (Mp::from("except"), Mp::Array(vec![])),
                    (
                        Mp::from("flags"),
                        Mp::Map(vec![(Mp::from("timeout"), Mp::from(500))]),
                    ),
                ]),
            ),
        ]);
        let bytes = msgpack_bytes(&captured);
        let Ok(request @ Request::Broadcast(_)) = decode::<Request>(&bytes) else {
            panic!("a broadcast request")
        };
        assert_eq!(request.encode(), bytes, "written back byte for byte");
        let Request::Broadcast(broadcast) = request else {
            unreachable!()
        };
        assert_eq!(
            broadcast.opts.local().flags.timeout,
            Some(Duration::from_millis(500))
        );
    }

    #[test]
    fn a_published_broadcast_is_node_s_bytes() {
        // Captured from Node (WIRE.md, 3): io.to("room1").emit("hello", 1).
        let captured: &[u8] =
            b"\x93\xa6HI4krQ\x83\xa4type\x02\xa4data\x92\xa5hello\x01\xa3nsp\xa1/\
            \x83\xa5rooms\x91\xa5room1\xa6except\x90\xa5flags\x80";
        let published: Published = decode(captured).expect("Node's broadcast");
        assert_eq!(published.0.as_deref(), Some("HI4krQ"));
        assert_eq!(published.1.nsp(), "/");
        assert_eq!(to_msgpack(&published), captured);
    }

    #[test]
    fn answers_decode_to_their_type() {
        let count = json!({"type": 8, "requestId": "-cDVI7", "clientCount": 1});
        assert!(matches!(
            decode(&json_bytes(count)),
            Ok(Response::ClientCount(ClientCountAnswer {
                client_count: 1,
                ..
            }))
        ));
        let ack = msgpack_bytes(&Mp::Map(vec![
            (Mp::from("type"), Mp::from(9)),
            (Mp::from("requestId"), Mp::from("-cDVI7")),
            (Mp::from("packet"), Mp::Binary(vec![9, 9])),
        ]));
        let Ok(Response::Ack(answer)) = decode::<Response>(&ack) else {
            panic!("an ack")
        };
        assert_eq!(answer.packet, Mp::Binary(vec![9, 9]));
        assert_eq!(Response::Ack(answer).encode(), ack);
        let fetched = json!({"requestId": "P", "sockets": [{"id": "a"}, {"no": "id"}]});
        let Ok(Response::Sockets(fetched)) = decode(&json_bytes(fetched)) else {
            panic!("sockets")
        };
        assert_eq!(fetched.sockets.len(), 1);
        let emitted = json!({"type": 6, "requestId": "e"});
        assert!(matches!(
            decode(&json_bytes(emitted)),
            Ok(Response::ServerSideEmit(ServerSideEmitAnswer {
                data: serde_json::Value::Null,
                ..
            }))
        ));
    }

    #[test]
    fn what_is_not_a_message_fails_to_decode_and_never_panics() {
        let bad: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"{".to_vec(),
            b"{}".to_vec(),
            json_bytes(json!({"type": 42})),
            json_bytes(json!({"type": -1})),
            json_bytes(json!({"type": 5.5})),
            json_bytes(json!({"type": "5", "requestId": "r", "opts": {}})),
            json_bytes(json!({"type": 5, "requestId": 7, "opts": {}})),
            json_bytes(json!({"type": 2, "sid": 1, "room": "r"})),
            json_bytes(json!({"type": 6, "data": "not a list"})),
            json_bytes(json!({"type": 7, "requestId": "r", "packet": null, "opts": {}})),
            vec![0xc1],
            vec![0xdd, 0xff, 0xff, 0xff, 0xff],
            [vec![0x91; 10_000], vec![0xc0]].concat(),
        ];
        for payload in &bad {
            assert!(decode::<Request>(payload).is_err(), "{payload:?}");
            assert!(decode::<Published>(payload).is_err(), "{payload:?}");
        }
        for payload in [b"{}".to_vec(), json_bytes(json!({"type": 7}))] {
            assert!(decode::<Response>(&payload).is_err(), "{payload:?}");
        }
        // Mistyped optional fields take Node's defaults rather than failing.
        let lax = json!({"type": 4, "opts": {"rooms": "r", "except": [null, {}, 1.0]},
            "close": "yes", "uid": 5});
        let Ok(Request::Disconnect(lax)) = decode(&json_bytes(lax)) else {
            panic!("a disconnect")
        };
        assert_eq!((lax.uid, lax.close), (None, false));
        assert!(lax.opts.rooms.is_empty());
        assert_eq!(lax.opts.except, ["1"]);
    }
}
