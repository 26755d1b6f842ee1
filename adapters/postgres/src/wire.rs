//! The messages of Node's `ClusterAdapterWithHeartbeat` (`socket.io-adapter` 2.5) as
//! `@socket.io/postgres-adapter` 0.5 carries them (`WIRE.md` beside this crate):
//!
//! - a NOTIFY on `{channelPrefix}#{nsp}` whose payload is the whole message in JSON,
//!   `{"type":3,"data":{..},"uid":"..","nsp":"/"}`;
//! - or, for a message with binary (broadcasts, server-side emits and their answers) or whose
//!   JSON is 8000 bytes or more, the whole message in msgpack in a row of the attachments
//!   table, and a NOTIFY of its header `{"uid":"..","type":3,"attachmentId":"42"}`.
//!
//! Every message is decoded once into a [`Message`], whichever way it came, and read by its
//! handler into the typed body of its type. Nothing here panics on any input: what is not
//! understood is an error, and the adapter skips it with a debug log.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
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

/// The uid of Node's emitters, which are no servers and are not counted.
pub(crate) const EMITTER_UID: &str = "emitter";

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

/// What a NOTIFY says: a whole message, or where to find one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Notification {
    /// The message itself.
    Message(Message),
    /// The header of a message kept in the attachments table: its row's id, and who sent it.
    Attachment { id: i64, uid: Option<String> },
}

/// One message of Node's `ClusterAdapter`, its `data` not yet read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Message {
    /// The sending adapter's id (`None` when it gave none).
    pub uid: Option<String>,
    /// The namespace it is for (`None` when it gave none: no namespace takes it).
    pub nsp: Option<String>,
    /// Its `MessageType`; 0 when it is not a number.
    pub kind: u8,
    /// Its `data`, when it has one.
    pub data: Option<Mp>,
}

impl Notification {
    /// A NOTIFY's payload, JSON text as Node's `JSON.parse` reads it.
    pub(crate) fn decode(payload: &str) -> Result<Self, DecodeError> {
        let value: Mp =
            serde_json::from_str(payload).map_err(|e| error(format_args!("JSON: {e}")))?;
        if let Some(id) = msgpack::field(&value, "attachmentId") {
            // Node's `pg` gives a bigserial as its decimal text; a number is read too.
            let id = match id {
                Mp::String(text) => text.as_str().and_then(|t| t.trim().parse().ok()),
                Mp::Integer(n) => n.as_i64(),
                _ => None,
            }
            .ok_or_else(|| error("an attachmentId that is not an id"))?;
            let uid = msgpack::field(&value, "uid")
                .and_then(Mp::as_str)
                .map(str::to_owned);
            return Ok(Notification::Attachment { id, uid });
        }
        Ok(Notification::Message(Message::from_value(value)?))
    }
}

impl Message {
    /// A message kept in the attachments table: the whole message in msgpack.
    pub(crate) fn from_msgpack(bytes: &[u8]) -> Result<Self, DecodeError> {
        let value = rmpv::decode::read_value_with_max_depth(&mut &bytes[..], MAX_DEPTH)
            .map_err(|e| error(format_args!("msgpack: {e}")))?;
        Self::from_value(value)
    }

    fn from_value(value: Mp) -> Result<Self, DecodeError> {
        if !value.is_map() {
            return Err(error("a message that is not an object"));
        }
        let text = |name| {
            msgpack::field(&value, name)
                .and_then(Mp::as_str)
                .map(str::to_owned)
        };
        let kind = msgpack::field(&value, "type")
            .and_then(Mp::as_u64)
            .and_then(|kind| u8::try_from(kind).ok())
            .unwrap_or(0);
        Ok(Self {
            uid: text("uid"),
            nsp: text("nsp"),
            kind,
            data: msgpack::field(&value, "data").cloned(),
        })
    }

    /// Its `data` read as `T`.
    pub(crate) fn body<T: DeserializeOwned>(&self) -> Result<T, DecodeError> {
        let data = self.data.clone().ok_or_else(|| error("no data"))?;
        rmpv::ext::from_value(data).map_err(error)
    }
}

/// A message of ours as it goes out: its JSON text when it may travel in a NOTIFY, or its
/// msgpack bytes for the attachments table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outgoing {
    /// The NOTIFY payload.
    Json(String),
    /// The row's `payload`.
    Attachment(Vec<u8>),
}

/// A whole message with the keys in Node's order (`type`, `data` as the adapter builds it,
/// then `uid` and `nsp` as `publish` adds them), made into what goes out: msgpack for the
/// table when it has binary (of the types Node checks) or when its JSON is `threshold` bytes
/// or more (Node's `payloadThreshold`: NOTIFY refuses 8000).
pub(crate) fn encode(
    kind: u8,
    data: Option<Mp>,
    uid: &str,
    nsp: &str,
    threshold: usize,
) -> Outgoing {
    let mut entries = vec![(Mp::from("type"), Mp::from(kind))];
    if let Some(data) = data {
        entries.push((Mp::from("data"), data));
    }
    entries.push((Mp::from("uid"), Mp::from(uid)));
    entries.push((Mp::from("nsp"), Mp::from(nsp)));
    let message = Mp::Map(entries);
    let binary_kinds = [
        kind::BROADCAST,
        kind::BROADCAST_ACK,
        kind::SERVER_SIDE_EMIT,
        kind::SERVER_SIDE_EMIT_RESPONSE,
    ];
    if !(binary_kinds.contains(&kind) && has_binary(&message)) {
        if let Ok(json) = serde_json::to_string(&message) {
            if json.len() < threshold {
                return Outgoing::Json(json);
            }
        }
    }
    let mut payload = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut payload, &message);
    Outgoing::Attachment(payload)
}

/// Node's `hasBinary`: a buffer anywhere inside.
fn has_binary(value: &Mp) -> bool {
    match value {
        Mp::Binary(_) => true,
        Mp::Array(items) => items.iter().any(has_binary),
        Mp::Map(entries) => entries.iter().any(|(_, v)| has_binary(v)),
        _ => false,
    }
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
        .and_then(|bytes| rmpv::decode::read_value_with_max_depth(&mut &bytes[..], MAX_DEPTH).ok())
        .unwrap_or(Mp::Nil)
}

// --- bodies ----------------------------------------------------------------------------------

/// A broadcast's `data`: `{packet, requestId?, opts}`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct BroadcastData {
    pub packet: Packet,
    #[serde(
        rename = "requestId",
        default,
        deserialize_with = "socketio_redis::wire::lenient"
    )]
    pub request_id: Option<String>,
    pub opts: Opts,
}

/// A join's or leave's `data`: `{opts, rooms}`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RoomsData {
    pub opts: Opts,
    #[serde(default, deserialize_with = "socketio_redis::wire::rooms")]
    pub rooms: Vec<Room>,
}

/// A disconnect's `data`: `{opts, close}`.
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

/// One of our broadcasts as Node's `ClusterAdapter` publishes it: `{packet, requestId?, opts}`,
/// the packet `{type: 2, data: [event, ...args]}` without `nsp` (Node adds it only once the
/// packet is delivered locally), binary arguments inline. `None` for what is not an event.
pub(crate) fn broadcast_data(
    packet: &BroadcastPacket,
    opts: &BroadcastOptions,
    request_id: Option<&str>,
) -> Option<Mp> {
    let mut wire = Packet::of("/", packet)?;
    wire.nsp = None;
    let mut entries = vec![("packet", to_mp(&wire))];
    if let Some(request_id) = request_id {
        entries.push(("requestId", Mp::from(request_id)));
    }
    entries.push(("opts", to_mp(&Opts::broadcast(opts))));
    Some(map(entries))
}

/// `{opts, rooms}` of a join or leave.
pub(crate) fn rooms_data(opts: &BroadcastOptions, rooms: &[Room]) -> Mp {
    let rooms = rooms.iter().map(|room| Mp::from(room.as_str())).collect();
    map(vec![
        ("opts", to_mp(&Opts::broadcast(opts))),
        ("rooms", Mp::Array(rooms)),
    ])
}

/// `{opts, close}` of a disconnect.
pub(crate) fn disconnect_data(opts: &BroadcastOptions, close: bool) -> Mp {
    map(vec![
        ("opts", to_mp(&Opts::broadcast(opts))),
        ("close", Mp::from(close)),
    ])
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_s_notifications_decode() {
        let json = r#"{"type":3,"data":{"packet":{"type":2,"data":["hello",1]},"opts":{"rooms":["r"],"except":[],"flags":{}}},"uid":"0123456789abcdef","nsp":"/"}"#;
        let Ok(Notification::Message(message)) = Notification::decode(json) else {
            panic!("a message")
        };
        assert_eq!(message.kind, kind::BROADCAST);
        assert_eq!(message.nsp.as_deref(), Some("/"));
        let body: BroadcastData = message.body().expect("a broadcast");
        assert_eq!(body.opts.rooms, ["r"]);
        assert!(body.request_id.is_none());

        let header = r#"{"uid":"abc","type":3,"attachmentId":"42"}"#;
        assert_eq!(
            Notification::decode(header).ok(),
            Some(Notification::Attachment {
                id: 42,
                uid: Some("abc".into())
            })
        );
        let heartbeat = r#"{"type":2,"uid":"abc","nsp":"/"}"#;
        let Ok(Notification::Message(beat)) = Notification::decode(heartbeat) else {
            panic!("a heartbeat")
        };
        assert_eq!((beat.kind, beat.data), (kind::HEARTBEAT, None));
    }

    #[test]
    fn ours_are_node_s_json_or_an_attachment() {
        let out = encode(kind::HEARTBEAT, None, "u", "/", 8000);
        assert_eq!(
            out,
            Outgoing::Json(r#"{"type":2,"uid":"u","nsp":"/"}"#.into())
        );
        let big = map(vec![("packet", Mp::from("x".repeat(8000)))]);
        assert!(matches!(
            encode(kind::SERVER_SIDE_EMIT, Some(big), "u", "/", 8000),
            Outgoing::Attachment(_)
        ));
        let binary = map(vec![("packet", Mp::Array(vec![Mp::Binary(vec![1, 2])]))]);
        let Outgoing::Attachment(payload) = encode(kind::BROADCAST, Some(binary), "u", "/", 8000)
        else {
            panic!("binary goes to the table")
        };
        let back = Message::from_msgpack(&payload).expect("our msgpack");
        assert_eq!((back.kind, back.uid.as_deref()), (3, Some("u")));
    }

    #[test]
    fn what_is_not_a_message_fails_and_never_panics() {
        for bad in [
            "",
            "{",
            "[]",
            "1",
            r#"{"attachmentId":"x"}"#,
            r#"{"attachmentId":{}}"#,
        ] {
            assert!(Notification::decode(bad).is_err(), "{bad}");
        }
        for bad in [
            &[][..],
            &[0xc1],
            &[0x91, 0xc0],
            &[0xdd, 0xff, 0xff, 0xff, 0xff],
        ] {
            assert!(Message::from_msgpack(bad).is_err(), "{bad:?}");
        }
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(Notification::decode(&deep).is_err());
        let odd = r#"{"type":"3","uid":5,"nsp":[],"data":1}"#;
        let Ok(Notification::Message(odd)) = Notification::decode(odd) else {
            panic!("read leniently")
        };
        assert!(odd.body::<BroadcastData>().is_err());
        assert_eq!((odd.kind, odd.uid, odd.nsp), (0, None, None));
    }
}
