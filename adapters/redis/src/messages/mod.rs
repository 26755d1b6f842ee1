//! The messages the servers of a namespace exchange through Redis, typed: what Node's
//! `@socket.io/redis-adapter` 8.3 publishes (`WIRE.md` beside this crate), each decoded once
//! from JSON or msgpack into one of these types, and encoded back the way Node writes it.
//!
//! - [`Published`]: a broadcast, `[uid, packet, opts]`, in msgpack on the broadcast channel or
//!   a room's. It, its [`Packet`] and its [`Opts`] are here.
//! - [`Request`]: what one server asks of the others on the request channel, tagged by Node's
//!   numeric `type` (`RequestType`: 0 to 7), in `request`.
//! - [`Response`]: what they answer on the response channel, in `response`. Only types 6, 8
//!   and 9 carry a `type`; Node's requester tells the others apart by the request they answer,
//!   and so does this one ([`Response::Sockets`] is read from any answer with `sockets`).
//!
//! `codec` turns bytes into these types and back; `fields` reads their fields as leniently as
//! Node does.
//!
//! A field Node can leave out takes Node's default; a message that is not one of these (an
//! unknown `type`, a required field missing or of the wrong type) fails to decode, and the
//! adapter ignores it. Nothing here panics on any input.

mod codec;
mod fields;
mod request;
mod response;

pub use codec::{decode, to_msgpack, DecodeError};
pub use fields::{lenient, room_name, rooms};
pub(crate) use request::{
    BroadcastRequest, DisconnectRequest, FetchRequest, Request, RoomsRequest, ServerSideEmitRequest,
};
pub(crate) use response::{
    AckAnswer, ClientCountAnswer, DoneAnswer, Response, RoomsAnswer, ServerSideEmitAnswer,
    SocketIdsAnswer, SocketsAnswer,
};

use crate::msgpack::{self, Mp};
use parser::socketio::{Event, Packet as SioPacket, PacketData};
use parser::Str;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use socketio::adapter::{BroadcastFlags, BroadcastOptions, BroadcastPacket, Room};
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

/// Milliseconds: an integer, or a number with a fraction (truncated); none for anything else.
fn millis<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    Ok(match Mp::deserialize(deserializer)? {
        Mp::Integer(n) => n.as_u64(),
        Mp::F32(ms) => (ms >= 0.0).then_some(ms as u64),
        Mp::F64(ms) => (ms >= 0.0).then_some(ms as u64),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(super) fn json_bytes(value: serde_json::Value) -> Vec<u8> {
        value.to_string().into_bytes()
    }

    pub(super) fn msgpack_bytes(value: &Mp) -> Vec<u8> {
        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, value).expect("into a Vec");
        bytes
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
