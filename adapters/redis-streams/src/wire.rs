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
//! The messages and their bodies are `socketio_redis::cluster`'s, which the sharded Redis
//! adapter speaks too; what is the stream's own (an entry's fields) is here. Every message is
//! decoded once into a [`Message`], whichever way it came, and read by its handler into the
//! typed body of its type. Nothing here panics on any input: what is not understood is an
//! error, and the adapter skips it with a debug log.

use base64::Engine as _;
use parser::Str;
use serde::Serialize;
use serde_json::value::RawValue;
use socketio::adapter::{BroadcastOptions, BroadcastPacket, Room};
pub(crate) use socketio_redis::cluster::{
    json_of, kind, map, message as pubsub_message, mp_of, read_msgpack, to_mp, write_msgpack,
    BroadcastData, DecodeError, Message, Mp,
};
use socketio_redis::wire::{Opts, Packet};

fn error(what: impl std::fmt::Display) -> DecodeError {
    DecodeError(what.to_string())
}

/// A stream entry's fields as Node reads them (`RedisStreamsAdapter.decode`): `type` as
/// `parseInt(type, 10)`, `data` as JSON when it starts with `{` and as base64 of msgpack
/// otherwise. An entry without `nsp` is no message (Node's reader skips it).
pub(crate) fn message_from_entry(fields: &[(Vec<u8>, Vec<u8>)]) -> Result<Message, DecodeError> {
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
        Some(data) if data.first() == Some(&b'{') => {
            Some(serde_json::from_slice::<Mp>(data).map_err(|e| error(format_args!("JSON: {e}")))?)
        }
        Some(data) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .map_err(|e| error(format_args!("base64: {e}")))?;
            Some(read_msgpack(&bytes)?)
        }
    };
    Ok(Message {
        uid: get("uid").map(text),
        nsp,
        kind: get("type").map_or(0, parse_int),
        data,
    })
}

/// digits; 0 (no type) for anything else.
fn parse_int(text: &[u8]) -> u8 {
    let text = text.trim_ascii_start();
    let digits = text.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&text[..digits])
        .ok()
        .and_then(|digits| digits.parse().ok())
        .unwrap_or(0)
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
        let message = message_from_entry(&fields).unwrap();
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
        assert!(message_from_entry(&entry(&[])).is_err());
        assert!(message_from_entry(&entry(&[("nsp", b"")])).is_err());
        assert!(message_from_entry(&entry(&[("nsp", b"/"), ("data", b"{")])).is_err());
        assert!(message_from_entry(&entry(&[("nsp", b"/"), ("data", b"!!")])).is_err());
        let deep = base64::engine::general_purpose::STANDARD
            .encode([vec![0x91; 10_000], vec![0xc0]].concat());
        assert!(message_from_entry(&entry(&[("nsp", b"/"), ("data", deep.as_bytes())])).is_err());
        let odd = message_from_entry(&entry(&[
            ("nsp", b"/"),
            ("type", b"\xff3"),
            ("uid", b"\xff"),
        ]))
        .unwrap();
        assert_eq!(odd.kind, 0);
        assert!(odd.body::<BroadcastData>().is_err());
        let typed = message_from_entry(&entry(&[
            ("nsp", b"/"),
            ("type", b" 3abc"),
            ("data", b"{}"),
        ]))
        .unwrap();
        assert_eq!(typed.kind, 3);
        assert!(typed.body::<BroadcastData>().is_err());
    }
}
