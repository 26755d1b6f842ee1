//! The messages the servers of a namespace exchange, as Node's `ClusterAdapter`
//! (`socket.io-adapter` 2.5) makes them and `@socket.io/redis-streams-adapter` 0.3 carries
//! them (`WIRE.md` beside this crate):
//!
//! - in the stream, one entry per message with the fields `uid`, `nsp`, `type` (the decimal
//!   text of the message type) and `data` (JSON text, or base64 of msgpack when it holds
//!   binary), for what every server must see in order: broadcasts, joins, leaves,
//!   disconnects;
//! - over pub/sub, the whole message `{type, data, uid, nsp}` in msgpack, for requests that
//!   need no order (`fetchSockets`, `serverSideEmit`, broadcasts with acknowledgements) on the
//!   namespace's public channel, and for the answers on the requester's own channel.
//!
//! Every message is decoded once into a [`Message`], whichever way it came, and read by its
//! handler into the typed body of its type. Nothing here panics on any input: what is not
//! understood is an error, and the adapter skips it with a debug log.

use base64::Engine as _;
use parser::Str;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use socketio::adapter::{BroadcastOptions, BroadcastPacket, Room};
use socketio_redis::msgpack;
pub(crate) use socketio_redis::msgpack::Mp;
use socketio_redis::wire::{Opts, Packet};

/// Node's `MessageType` (socket.io-adapter `cluster-adapter.ts`).
pub(crate) mod kind {
    pub(crate) const INITIAL_HEARTBEAT: u8 = 1;
    pub(crate) const HEARTBEAT: u8 = 2;
    pub(crate) const BROADCAST: u8 = 3;
    pub(crate) const SOCKETS_JOIN: u8 = 4;
    pub(crate) const SOCKETS_LEAVE: u8 = 5;
    pub(crate) const DISCONNECT_SOCKETS: u8 = 6;
    pub(crate) const FETCH_SOCKETS: u8 = 7;
    pub(crate) const FETCH_SOCKETS_RESPONSE: u8 = 8;
    pub(crate) const SERVER_SIDE_EMIT: u8 = 9;
    pub(crate) const SERVER_SIDE_EMIT_RESPONSE: u8 = 10;
    pub(crate) const BROADCAST_CLIENT_COUNT: u8 = 11;
    pub(crate) const BROADCAST_ACK: u8 = 12;
    pub(crate) const ADAPTER_CLOSE: u8 = 13;
}

/// How deep msgpack may nest (each level counts twice): serde_json's limit of 128 levels.
const MAX_DEPTH: usize = 256;

/// Why a message was not understood.
#[derive(Debug)]
pub(crate) struct DecodeError(pub(crate) String);

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
pub(crate) struct Message {
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
    /// A stream entry's fields as Node reads them (`RedisStreamsAdapter.decode`): `type` as
    /// `parseInt(type, 10)`, `data` as JSON when it starts with `{` and as base64 of msgpack
    /// otherwise. An entry without `nsp` is no message (Node's reader skips it).
    pub(crate) fn from_entry(fields: &[(Vec<u8>, Vec<u8>)]) -> Result<Self, DecodeError> {
        let get = |name: &str| {
            fields
                .iter()
                .find(|(key, _)| key.as_slice() == name.as_bytes())
                .map(|(_, value)| value.as_slice())
        };
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let nsp = get("nsp")
            .filter(|nsp| !nsp.is_empty())
            .map(text)
            .ok_or_else(|| error("an entry without nsp"))?;
        let data = match get("data").filter(|data| !data.is_empty()) {
            None => None,
            Some(data) if data.first() == Some(&b'{') => Some(
                serde_json::from_slice::<Mp>(data).map_err(|e| error(format_args!("JSON: {e}")))?,
            ),
            Some(data) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(data)
                    .map_err(|e| error(format_args!("base64: {e}")))?;
                Some(read_msgpack(&bytes)?)
            }
        };
        Ok(Self {
            uid: get("uid").map(text),
            nsp,
            kind: get("type").map_or(0, parse_int),
            data,
        })
    }

    /// A message that came over pub/sub: Node's whole `ClusterMessage` in msgpack.
    pub(crate) fn from_msgpack(payload: &[u8]) -> Result<Self, DecodeError> {
        let message = read_msgpack(payload)?;
        let text = |name| msgpack::field(&message, name).and_then(Mp::as_str);
        let nsp = text("nsp")
            .map(str::to_owned)
            .ok_or_else(|| error("a message without nsp"))?;
        let kind = msgpack::field(&message, "type")
            .and_then(Mp::as_u64)
            .and_then(|kind| u8::try_from(kind).ok())
            .unwrap_or(0);
        Ok(Self {
            uid: text("uid").map(str::to_owned),
            nsp,
            kind,
            data: msgpack::field(&message, "data").cloned(),
        })
    }

    /// Its `data` read as `T`.
    pub(crate) fn body<T: DeserializeOwned>(&self) -> Result<T, DecodeError> {
        let data = self.data.clone().ok_or_else(|| error("no data"))?;
        rmpv::ext::from_value(data).map_err(error)
    }
}

/// JavaScript's `parseInt(text, 10)` for what fits a message type: leading spaces, then
/// digits; 0 (no type) for anything else.
fn parse_int(text: &[u8]) -> u8 {
    let text = text.trim_ascii_start();
    let digits = text.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&text[..digits])
        .ok()
        .and_then(|digits| digits.parse().ok())
        .unwrap_or(0)
}

fn read_msgpack(bytes: &[u8]) -> Result<Mp, DecodeError> {
    rmpv::decode::read_value_with_max_depth(&mut &bytes[..], MAX_DEPTH)
        .map_err(|e| error(format_args!("msgpack: {e}")))
}

/// A value in msgpack, as `@msgpack/msgpack` writes it (every integer in its smallest form,
/// other numbers as float64, binary as bin).
pub(crate) fn write_msgpack(value: &Mp) -> Vec<u8> {
    let mut bytes = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut bytes, value);
    bytes
}

/// A msgpack map with these keys, in this order.
pub(crate) fn map(entries: Vec<(&str, Mp)>) -> Mp {
    Mp::Map(entries.into_iter().map(|(k, v)| (Mp::from(k), v)).collect())
}

/// A value of ours (a struct with serde) as msgpack; nil for what does not serialize.
pub(crate) fn to_mp<T: Serialize>(value: &T) -> Mp {
    // Through bytes: structs become maps with their field names (rmpv's own conversion
    // makes them arrays).
    rmp_serde::to_vec_named(value)
        .ok()
        .and_then(|bytes| read_msgpack(&bytes).ok())
        .unwrap_or(Mp::Nil)
}

/// A whole message for pub/sub, with the keys in Node's order: `type` and `data` as the
/// adapter builds the message, then `uid` and `nsp` as `publish`/`publishResponse` add them.
pub(crate) fn pubsub_message(kind: u8, data: Option<Mp>, uid: &str, nsp: &str) -> Vec<u8> {
    let mut entries = vec![("type", Mp::from(kind))];
    if let Some(data) = data {
        entries.push(("data", data));
    }
    entries.push(("uid", Mp::from(uid)));
    entries.push(("nsp", Mp::from(nsp)));
    write_msgpack(&map(entries))
}

/// The fields of a stream entry, in Node's order: `uid`, `nsp`, `type`, then `data` when the
/// message has one.
pub(crate) fn entry_fields(
    uid: &str,
    nsp: &str,
    kind: u8,
    data: Option<Vec<u8>>,
) -> Vec<(&'static str, Vec<u8>)> {
    let mut fields = vec![
        ("uid", uid.as_bytes().to_vec()),
        ("nsp", nsp.as_bytes().to_vec()),
        ("type", kind.to_string().into_bytes()),
    ];
    if let Some(data) = data {
        fields.push(("data", data));
    }
    fields
}

/// A `data` field as Node's adapter writes it: base64 of msgpack when `binary`, JSON text
/// otherwise.
fn data_field<T: Serialize>(value: &T, binary: bool) -> Option<Vec<u8>> {
    if binary {
        let bytes = write_msgpack(&to_mp(value));
        return Some(
            base64::engine::general_purpose::STANDARD
                .encode(bytes)
                .into_bytes(),
        );
    }
    match serde_json::to_vec(value) {
        Ok(json) => Some(json),
        Err(error) => {
            tracing::warn!(%error, "adapter message not encoded");
            None
        }
    }
}

// --- broadcasts ------------------------------------------------------------------------------

/// A broadcast's `data`: `{packet, requestId?, opts}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct BroadcastData {
    pub packet: Packet,
    #[serde(rename = "requestId", default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub opts: Opts,
}

/// A packet as Node's `ClusterAdapter` publishes it, in JSON: `{type: 2, data: [event,
/// ...args]}` (no `nsp`: Node sets it only once the packet is delivered locally), the
/// arguments spliced in as they are.
#[derive(Serialize)]
struct JsonPacket {
    #[serde(rename = "type")]
    kind: u8,
    data: Vec<Box<RawValue>>,
}

#[derive(Serialize)]
struct JsonBroadcast<'a> {
    packet: JsonPacket,
    opts: &'a Opts,
}

/// The `data` of one of our broadcasts for the stream, as Node writes it: JSON without
/// binary, base64 of msgpack with. `None` for what is not an event.
pub(crate) fn broadcast_data(packet: &BroadcastPacket, opts: &BroadcastOptions) -> Option<Vec<u8>> {
    let parser::socketio::PacketData::Event(event) = &packet.packet.data else {
        return None;
    };
    let opts = Opts::broadcast(opts);
    if packet.attachments.is_empty() {
        let mut data = Vec::with_capacity(event.args.len() + 1);
        data.push(serde_json::value::to_raw_value(event.name.as_str()).ok()?);
        for arg in &event.args {
            match RawValue::from_string(arg.to_string()) {
                Ok(raw) => data.push(raw),
                Err(error) => {
                    tracing::warn!(%error, "broadcast not published: an argument is not JSON");
                    return None;
                }
            }
        }
        let message = JsonBroadcast {
            packet: JsonPacket { kind: 2, data },
            opts: &opts,
        };
        return data_field(&message, false);
    }
    let mut wire = Packet::of("/", packet)?;
    wire.nsp = None;
    let message = BroadcastData {
        packet: wire,
        request_id: None,
        opts,
    };
    data_field(&message, true)
}

/// `{opts, rooms}` of a join or leave, in JSON.
pub(crate) fn rooms_data(opts: &BroadcastOptions, rooms: &[Room]) -> Option<Vec<u8>> {
    #[derive(Serialize)]
    struct Data<'a> {
        opts: Opts,
        rooms: &'a [Room],
    }
    data_field(
        &Data {
            opts: Opts::broadcast(opts),
            rooms,
        },
        false,
    )
}

/// `{opts, close}` of a disconnect, in JSON.
pub(crate) fn disconnect_data(opts: &BroadcastOptions, close: bool) -> Option<Vec<u8>> {
    #[derive(Serialize)]
    struct Data {
        opts: Opts,
        close: bool,
    }
    data_field(
        &Data {
            opts: Opts::broadcast(opts),
            close,
        },
        false,
    )
}

/// A join's or leave's `data`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RoomsData {
    pub opts: Opts,
    #[serde(default, deserialize_with = "socketio_redis::wire::rooms")]
    pub rooms: Vec<Room>,
}

/// A disconnect's `data`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct DisconnectData {
    pub opts: Opts,
    #[serde(default, deserialize_with = "socketio_redis::wire::lenient")]
    pub close: bool,
}

/// A fetch request's `data`: `{opts, requestId}`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct FetchData {
    pub opts: Opts,
    #[serde(rename = "requestId")]
    pub request_id: String,
}

/// A server-side emit's `data`: `{requestId?, packet: [event, ...args]}`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ServerSideEmitData {
    #[serde(
        rename = "requestId",
        default,
        deserialize_with = "socketio_redis::wire::lenient"
    )]
    pub request_id: Option<String>,
    pub packet: Vec<Mp>,
}

/// An answer's `data`: its request id, and what it answers with.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ResponseData {
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
        deserialize_with = "socketio_redis::wire::lenient"
    )]
    pub client_count: u64,
}

fn nil() -> Mp {
    Mp::Nil
}

/// Arguments as JSON values (binary as Node's JSON writes a `Buffer`).
pub(crate) fn json_of(value: &Mp) -> serde_json::Value {
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
pub(crate) fn mp_of(value: serde_json::Value) -> Mp {
    msgpack::from_json(value, &[])
}

/// A packet read from a message as ours in namespace `nsp`; `None` unless it is an event.
pub(crate) fn packet_of(packet: Packet, nsp: &Str) -> Option<BroadcastPacket> {
    packet.into_broadcast(nsp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use parser::socketio::{Event, Packet as SioPacket, PacketData};
    use std::collections::HashSet;

    fn event(args: &[&str], attachments: Vec<bytes::Bytes>) -> BroadcastPacket {
        let event = Event {
            name: Str::from("ev"),
            args: args.iter().map(|a| Str::from(*a)).collect(),
            id: None,
            attachments: (!attachments.is_empty()).then_some(attachments.len()),
        };
        BroadcastPacket::new(
            SioPacket {
                nsp: Str::from("/"),
                data: PacketData::Event(event),
            },
            attachments,
        )
    }

    #[test]
    fn a_broadcast_is_node_s_json() {
        let opts = BroadcastOptions {
            rooms: HashSet::from([Room::from("r1")]),
            ..BroadcastOptions::default()
        };
        let data = broadcast_data(&event(&["1", r#"{"a":"b"}"#], Vec::new()), &opts).unwrap();
        assert_eq!(
            String::from_utf8(data).unwrap(),
            r#"{"packet":{"type":2,"data":["ev",1,{"a":"b"}]},"opts":{"rooms":["r1"],"except":[],"flags":{}}}"#
        );
    }

    #[test]
    fn a_binary_broadcast_is_base64_msgpack_and_reads_back() {
        let packet = event(
            &[r#"{"_placeholder":true,"num":0}"#],
            vec![bytes::Bytes::from_static(&[1, 2, 3])],
        );
        let data = broadcast_data(&packet, &BroadcastOptions::default()).unwrap();
        assert_ne!(data.first(), Some(&b'{'));
        let fields = entry_fields("u", "/", kind::BROADCAST, Some(data));
        let fields: Vec<(Vec<u8>, Vec<u8>)> = fields
            .into_iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v))
            .collect();
        let message = Message::from_entry(&fields).unwrap();
        assert_eq!(message.kind, kind::BROADCAST);
        let body: BroadcastData = message.body().unwrap();
        assert_eq!(
            body.packet.data,
            vec![Mp::from("ev"), Mp::Binary(vec![1, 2, 3])]
        );
        assert!(body.request_id.is_none());
    }

    #[test]
    fn hostile_entries_fail_to_decode_and_never_panic() {
        let entry = |pairs: &[(&str, &[u8])]| -> Vec<(Vec<u8>, Vec<u8>)> {
            pairs
                .iter()
                .map(|(k, v)| (k.as_bytes().to_vec(), v.to_vec()))
                .collect()
        };
        assert!(Message::from_entry(&entry(&[])).is_err());
        assert!(Message::from_entry(&entry(&[("nsp", b"")])).is_err());
        assert!(Message::from_entry(&entry(&[("nsp", b"/"), ("data", b"{")])).is_err());
        assert!(Message::from_entry(&entry(&[("nsp", b"/"), ("data", b"!!")])).is_err());
        let deep = base64::engine::general_purpose::STANDARD
            .encode([vec![0x91; 10_000], vec![0xc0]].concat());
        assert!(Message::from_entry(&entry(&[("nsp", b"/"), ("data", deep.as_bytes())])).is_err());
        let odd = Message::from_entry(&entry(&[
            ("nsp", b"/"),
            ("type", b"\xff3"),
            ("uid", b"\xff"),
        ]))
        .unwrap();
        assert_eq!(odd.kind, 0);
        assert!(odd.body::<BroadcastData>().is_err());
        let typed = Message::from_entry(&entry(&[
            ("nsp", b"/"),
            ("type", b" 3abc"),
            ("data", b"{}"),
        ]))
        .unwrap();
        assert_eq!(typed.kind, 3);
        assert!(typed.body::<BroadcastData>().is_err());
        for payload in [&b""[..], b"\xc1", b"\x80", b"\x81\xa3nsp\x01"] {
            assert!(Message::from_msgpack(payload).is_err(), "{payload:?}");
        }
    }

    #[test]
    fn a_pubsub_message_has_node_s_keys_in_order() {
        let bytes = pubsub_message(kind::HEARTBEAT, None, "abc", "/");
        assert_eq!(
            bytes,
            b"\x83\xa4type\x02\xa3uid\xa3abc\xa3nsp\xa1/".to_vec()
        );
        let message = Message::from_msgpack(&bytes).unwrap();
        assert_eq!(
            (message.uid.as_deref(), message.nsp.as_str(), message.kind),
            (Some("abc"), "/", kind::HEARTBEAT)
        );
    }
}
