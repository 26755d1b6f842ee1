//! The messages of Node's `ClusterAdapter` (`socket.io-adapter` 2.5), which
//! `@socket.io/redis-adapter`'s sharded adapter (`createShardedAdapter`) and
//! `@socket.io/redis-streams-adapter` both exchange: `{type, data, uid, nsp}`, with `type` one
//! of [`kind`] and `data` the body of that type.
//!
//! Every message is decoded once into a [`Message`], and its `data` read by the handler of its
//! type into the typed body below. Nothing here panics on any input: what is not understood is
//! a [`DecodeError`], and the adapters skip it with a debug log. Not needed by applications.

pub mod incoming;
pub mod outgoing;

use crate::msgpack;
pub use crate::msgpack::Mp;
use crate::wire::{Opts, Packet};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use socketio::adapter::{BroadcastOptions, BroadcastPacket, Room};

/// Node's `MessageType` (`socket.io-adapter`'s `cluster-adapter.ts`).
pub mod kind {
    /// A server that starts (heartbeat adapters only).
    pub const INITIAL_HEARTBEAT: u8 = 1;
    /// A server still alive (heartbeat adapters only).
    pub const HEARTBEAT: u8 = 2;
    /// A broadcast, with a `requestId` when it asks for acknowledgements.
    pub const BROADCAST: u8 = 3;
    /// `socketsJoin`.
    pub const SOCKETS_JOIN: u8 = 4;
    /// `socketsLeave`.
    pub const SOCKETS_LEAVE: u8 = 5;
    /// `disconnectSockets`.
    pub const DISCONNECT_SOCKETS: u8 = 6;
    /// `fetchSockets`.
    pub const FETCH_SOCKETS: u8 = 7;
    /// The answer to `fetchSockets`.
    pub const FETCH_SOCKETS_RESPONSE: u8 = 8;
    /// `serverSideEmit`, with a `requestId` when it asks for answers.
    pub const SERVER_SIDE_EMIT: u8 = 9;
    /// One server's answer to `serverSideEmit`.
    pub const SERVER_SIDE_EMIT_RESPONSE: u8 = 10;
    /// How many clients a broadcast with acknowledgements reached on one server.
    pub const BROADCAST_CLIENT_COUNT: u8 = 11;
    /// One client's acknowledgement of a broadcast.
    pub const BROADCAST_ACK: u8 = 12;
    /// A server that leaves (heartbeat adapters only).
    pub const ADAPTER_CLOSE: u8 = 13;
}

/// How deep msgpack may nest (each level counts twice): serde_json's limit of 128 levels.
const MAX_DEPTH: usize = 256;

/// Why a message was not understood.
#[derive(Debug)]
pub struct DecodeError(pub String);

impl std::error::Error for DecodeError {}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn error(what: impl std::fmt::Display) -> DecodeError {
    DecodeError(what.to_string())
}

/// One message of Node's `ClusterAdapter`, its `data` not yet read.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The sending adapter's id (`None` when it gave none).
    pub uid: Option<String>,
    /// The namespace it is for.
    pub nsp: String,
    /// Its `MessageType`; 0 when it is not a number.
    pub kind: u8,
    /// Its `data`, when it has one.
    pub data: Option<Mp>,
}

impl Message {
    /// A whole message as Node's sharded adapter reads one (`onRawMessage`): JSON when it
    /// starts with `{`, msgpack otherwise.
    pub fn from_payload(payload: &[u8]) -> Result<Self, DecodeError> {
        if payload.first() == Some(&b'{') {
            let value: Mp =
                serde_json::from_slice(payload).map_err(|e| error(format_args!("JSON: {e}")))?;
            return Self::from_value(&value);
        }
        Self::from_msgpack(payload)
    }

    /// A whole message in msgpack.
    pub fn from_msgpack(payload: &[u8]) -> Result<Self, DecodeError> {
        Self::from_value(&read_msgpack(payload)?)
    }

    /// A whole message already read as a value (from JSON text, say).
    pub fn from_value(message: &Mp) -> Result<Self, DecodeError> {
        let text = |name| msgpack::field(message, name).and_then(Mp::as_str);
        let nsp = text("nsp")
            .map(str::to_owned)
            .ok_or_else(|| error("a message without nsp"))?;
        let kind = msgpack::field(message, "type")
            .and_then(Mp::as_u64)
            .and_then(|kind| u8::try_from(kind).ok())
            .unwrap_or(0);
        Ok(Self {
            uid: text("uid").map(str::to_owned),
            nsp,
            kind,
            data: msgpack::field(message, "data").cloned(),
        })
    }

    /// Its `data` read as `T`.
    pub fn body<T: DeserializeOwned>(&self) -> Result<T, DecodeError> {
        let data = self.data.clone().ok_or_else(|| error("no data"))?;
        rmpv::ext::from_value(data).map_err(error)
    }
}

/// A msgpack value, nested no deeper than JSON allows.
pub fn read_msgpack(bytes: &[u8]) -> Result<Mp, DecodeError> {
    rmpv::decode::read_value_with_max_depth(&mut &bytes[..], MAX_DEPTH)
        .map_err(|e| error(format_args!("msgpack: {e}")))
}

/// A value in msgpack, as notepack writes it (every integer in its smallest form, other
/// numbers as float64, binary as bin).
pub fn write_msgpack(value: &Mp) -> Vec<u8> {
    let mut bytes = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut bytes, value);
    bytes
}

/// A msgpack map with these keys, in this order.
pub fn map(entries: Vec<(&str, Mp)>) -> Mp {
    Mp::Map(entries.into_iter().map(|(k, v)| (Mp::from(k), v)).collect())
}

/// A value of ours (a struct with serde) as msgpack; nil for what does not serialize.
pub fn to_mp<T: Serialize>(value: &T) -> Mp {
    // Through bytes: structs become maps with their field names (rmpv's own conversion
    // makes them arrays).
    rmp_serde::to_vec_named(value)
        .ok()
        .and_then(|bytes| read_msgpack(&bytes).ok())
        .unwrap_or(Mp::Nil)
}

/// A whole message in msgpack, with the keys in Node's order: `type` and `data` as the
/// adapter builds the message, then `uid` and `nsp` as `publish`/`publishResponse` add them.
pub fn message(kind: u8, data: Option<Mp>, uid: &str, nsp: &str) -> Vec<u8> {
    let mut entries = vec![("type", Mp::from(kind))];
    if let Some(data) = data {
        entries.push(("data", data));
    }
    entries.push(("uid", Mp::from(uid)));
    entries.push(("nsp", Mp::from(nsp)));
    write_msgpack(&map(entries))
}

/// A broadcast's `data`: `{packet, requestId?, opts}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BroadcastData {
    /// The packet (`{type, data}`, no `nsp`).
    pub packet: Packet,
    /// Set when the broadcast asks for acknowledgements.
    #[serde(
        rename = "requestId",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::wire::lenient"
    )]
    pub request_id: Option<String>,
    /// Rooms, except and flags.
    pub opts: Opts,
}

/// A join's or leave's `data`: `{opts, rooms}`.
#[derive(Debug, Clone, Deserialize)]
pub struct RoomsData {
    /// Which sockets.
    pub opts: Opts,
    /// The rooms they join or leave.
    #[serde(default, deserialize_with = "crate::wire::rooms")]
    pub rooms: Vec<Room>,
}

/// A disconnect's `data`: `{opts, close}`.
#[derive(Debug, Clone, Deserialize)]
pub struct DisconnectData {
    /// Which sockets.
    pub opts: Opts,
    /// Whether the underlying connection closes too.
    #[serde(default, deserialize_with = "crate::wire::lenient")]
    pub close: bool,
}

/// A fetch request's `data`: `{opts, requestId}`.
#[derive(Debug, Clone, Deserialize)]
pub struct FetchData {
    /// Which sockets.
    pub opts: Opts,
    /// Where the answer goes.
    #[serde(rename = "requestId")]
    pub request_id: String,
}

/// A server-side emit's `data`: `{requestId?, packet: [event, ...args]}`.
#[derive(Debug, Clone, Deserialize)]
pub struct ServerSideEmitData {
    /// Set when the sender waits for answers.
    #[serde(
        rename = "requestId",
        default,
        deserialize_with = "crate::wire::lenient"
    )]
    pub request_id: Option<String>,
    /// The event's name, then its arguments.
    pub packet: Vec<Mp>,
}

/// An answer's `data`: its request id, and what it answers with.
#[derive(Debug, Clone, Deserialize)]
pub struct ResponseData {
    /// The request it answers.
    #[serde(rename = "requestId")]
    pub request_id: String,
    /// The sockets of an answer to a fetch.
    #[serde(default)]
    pub sockets: Option<Mp>,
    /// The answer to a server-side emit, or one client's acknowledgement.
    #[serde(default = "nil")]
    pub packet: Mp,
    /// How many clients a broadcast with acknowledgements reached.
    #[serde(
        rename = "clientCount",
        default,
        deserialize_with = "crate::wire::lenient"
    )]
    pub client_count: u64,
}

fn nil() -> Mp {
    Mp::Nil
}

/// The `packet` of a broadcast's `data`: `{type: 2, data: [event, ...args]}`, binary arguments
/// inline, without `nsp` (Node adds it only once the packet is delivered locally). `None` for
/// what is not an event.
pub fn broadcast_packet(packet: &BroadcastPacket) -> Option<Packet> {
    let mut wire = Packet::of("/", packet)?;
    wire.nsp = None;
    Some(wire)
}

/// A broadcast's `data`: `{packet, requestId?, opts}`.
pub fn broadcast_data(packet: &Packet, opts: &Opts, request_id: Option<&str>) -> Mp {
    let mut entries = vec![("packet", to_mp(packet))];
    if let Some(request_id) = request_id {
        entries.push(("requestId", Mp::from(request_id)));
    }
    entries.push(("opts", to_mp(opts)));
    map(entries)
}

/// A join's or leave's `data`: `{opts, rooms}`.
pub fn rooms_data(opts: &BroadcastOptions, rooms: &[Room]) -> Mp {
    let rooms = rooms.iter().map(|room| Mp::from(room.as_str())).collect();
    map(vec![
        ("opts", to_mp(&Opts::broadcast(opts))),
        ("rooms", Mp::Array(rooms)),
    ])
}

/// A disconnect's `data`: `{opts, close}`.
pub fn disconnect_data(opts: &BroadcastOptions, close: bool) -> Mp {
    map(vec![
        ("opts", to_mp(&Opts::broadcast(opts))),
        ("close", Mp::from(close)),
    ])
}

/// Arguments as JSON values (binary as Node's JSON writes a `Buffer`).
pub fn json_of(value: &Mp) -> serde_json::Value {
    match value {
        Mp::Binary(bytes) => serde_json::json!({ "type": "Buffer", "data": bytes }),
        Mp::Array(items) => serde_json::Value::Array(items.iter().map(json_of).collect()),
        Mp::Map(entries) => serde_json::Value::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        Mp::String(s) => s.as_str().unwrap_or_default().to_owned(),
                        other => other.to_string(),
                    };
                    (key, json_of(v))
                })
                .collect(),
        ),
        other => msgpack::to_json(other, &mut Vec::new()),
    }
}

/// A JSON value as msgpack (no binary).
pub fn mp_of(value: serde_json::Value) -> Mp {
    msgpack::from_json(value, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_has_node_s_keys_in_order_and_reads_back() {
        let bytes = message(kind::HEARTBEAT, None, "abc", "/");
        assert_eq!(
            bytes,
            b"\x83\xa4type\x02\xa3uid\xa3abc\xa3nsp\xa1/".to_vec()
        );
        let read = Message::from_payload(&bytes).unwrap();
        assert_eq!(
            (read.uid.as_deref(), read.nsp.as_str(), read.kind),
            (Some("abc"), "/", kind::HEARTBEAT)
        );
    }

    #[test]
    fn node_s_json_reads_as_its_msgpack() {
        let json = br#"{"type":9,"data":{"packet":["ping",1]},"uid":"u1","nsp":"/"}"#;
        let read = Message::from_payload(json).unwrap();
        assert_eq!(read.kind, kind::SERVER_SIDE_EMIT);
        let body: ServerSideEmitData = read.body().unwrap();
        assert_eq!(body.packet, vec![Mp::from("ping"), Mp::from(1)]);
        assert!(body.request_id.is_none());
    }

    #[test]
    fn hostile_payloads_fail_to_decode_and_never_panic() {
        for payload in [
            &b""[..],
            b"\xc1",
            b"\x80",
            b"\x81\xa3nsp\x01",
            b"{",
            b"{}",
            br#"{"nsp":1}"#,
        ] {
            assert!(Message::from_payload(payload).is_err(), "{payload:?}");
        }
        let deep = [vec![0x91; 10_000], vec![0xc0]].concat();
        assert!(Message::from_payload(&deep).is_err());
        let odd = Message::from_payload(br#"{"nsp":"/","type":"3","data":[]}"#).unwrap();
        assert_eq!(odd.kind, 0);
        assert!(odd.body::<BroadcastData>().is_err());
    }
}
