//! The messages Node's `@socket.io/redis-emitter` 5.1 publishes, written as it writes them
//! (its `lib/index.ts`): a broadcast as msgpack `["emitter", packet, opts]` on the namespace's
//! broadcast channel (or its one room's), and the requests as JSON on the request channel.
//! The servers' adapters (Node's `@socket.io/redis-adapter` 8.3, `socketio-redis`) read these.

use crate::EmitterError;
use rmpv::Value as Mp;
use serde::Serialize;

/// The uid Node's emitter signs its messages with; servers apply what no server of theirs
/// sent (a server skips only its own uid).
pub(crate) const UID: &str = "emitter";

/// socket.io's EVENT packet type: binary arguments travel inline in msgpack, so never 5.
const EVENT: u8 = 2;

/// Node's `RequestType` for what an emitter may ask.
const REMOTE_JOIN: u8 = 2;
const REMOTE_LEAVE: u8 = 3;
const REMOTE_DISCONNECT: u8 = 4;
const SERVER_SIDE_EMIT: u8 = 6;

/// `[uid, packet, opts]`.
#[derive(Serialize)]
struct Published<'a>(&'static str, Packet<'a>, BroadcastOpts<'a>);

/// `{type: 2, data: [event, ...args], nsp}`.
#[derive(Serialize)]
struct Packet<'a> {
    #[serde(rename = "type")]
    kind: u8,
    data: Vec<Mp>,
    nsp: &'a str,
}

/// `{rooms, flags, except}`: the emitter's key order (the adapter's is rooms, except, flags;
/// decoders read either).
#[derive(Serialize)]
struct BroadcastOpts<'a> {
    rooms: &'a [String],
    flags: &'a Flags,
    except: &'a [String],
}

/// A broadcast's flags; a key is left out until set, as Node's `Object.assign` leaves it.
#[derive(Serialize, Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Flags {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) volatile: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) compress: Option<bool>,
}

/// `{rooms, except}` of requests 2 to 4.
#[derive(Serialize)]
struct Targets<'a> {
    rooms: &'a [String],
    except: &'a [String],
}

/// `{type: 2 | 3, opts, rooms}`: Node's emitter sends these without a uid.
#[derive(Serialize)]
struct RoomsRequest<'a> {
    #[serde(rename = "type")]
    kind: u8,
    opts: Targets<'a>,
    rooms: &'a [String],
}

/// `{type: 4, opts, close}`.
#[derive(Serialize)]
struct DisconnectRequest<'a> {
    #[serde(rename = "type")]
    kind: u8,
    opts: Targets<'a>,
    close: bool,
}

/// `{uid: "emitter", type: 6, data: [event, ...args]}`.
#[derive(Serialize)]
struct ServerSideEmitRequest {
    uid: &'static str,
    #[serde(rename = "type")]
    kind: u8,
    data: Vec<serde_json::Value>,
}

/// Whom a broadcast or request is for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) rooms: Vec<String>,
    pub(crate) except: Vec<String>,
    pub(crate) flags: Flags,
}

/// The arguments of an event: one value, or each element of a tuple or sequence.
pub(crate) enum Args<'a, T: ?Sized> {
    One(&'a T),
    Many(&'a T),
}

/// `args` as msgpack values, binary (`serialize_bytes`, as `bytes::Bytes` writes) as bin.
fn msgpack_args<T: Serialize + ?Sized>(args: Args<'_, T>) -> Result<Vec<Mp>, EmitterError> {
    let value = |data: &T| -> Result<Mp, EmitterError> {
        // Through bytes rather than `rmpv::ext::to_value`, which writes structs as arrays:
        // Node's servers must see maps.
        let bytes = rmp_serde::to_vec_named(data).map_err(EmitterError::serialize)?;
        rmpv::decode::read_value(&mut bytes.as_slice()).map_err(EmitterError::serialize)
    };
    Ok(match args {
        Args::One(data) => vec![value(data)?],
        Args::Many(data) => match value(data)? {
            Mp::Array(args) => args,
            // `()`: no arguments.
            Mp::Nil => Vec::new(),
            _ => return Err(EmitterError::NotASequence),
        },
    })
}

/// `args` as JSON values, for the requests Node writes in JSON.
fn json_args<T: Serialize + ?Sized>(
    args: Args<'_, T>,
) -> Result<Vec<serde_json::Value>, EmitterError> {
    let value = |data: &T| serde_json::to_value(data).map_err(EmitterError::serialize);
    Ok(match args {
        Args::One(data) => vec![value(data)?],
        Args::Many(data) => match value(data)? {
            serde_json::Value::Array(args) => args,
            serde_json::Value::Null => Vec::new(),
            _ => return Err(EmitterError::NotASequence),
        },
    })
}

/// A broadcast of `event` as the emitter publishes it.
pub(crate) fn broadcast<T: Serialize + ?Sized>(
    nsp: &str,
    target: &Target,
    event: &str,
    args: Args<'_, T>,
) -> Result<Vec<u8>, EmitterError> {
    let mut data = vec![Mp::from(event)];
    data.extend(msgpack_args(args)?);
    let message = Published(
        UID,
        Packet {
            kind: EVENT,
            data,
            nsp,
        },
        BroadcastOpts {
            rooms: &target.rooms,
            flags: &target.flags,
            except: &target.except,
        },
    );
    rmp_serde::to_vec_named(&message).map_err(EmitterError::serialize)
}

fn targets(target: &Target) -> Targets<'_> {
    Targets {
        rooms: &target.rooms,
        except: &target.except,
    }
}

/// `socketsJoin` (`join`) or `socketsLeave`.
pub(crate) fn rooms_request(target: &Target, join: bool, rooms: &[String]) -> Vec<u8> {
    let request = RoomsRequest {
        kind: if join { REMOTE_JOIN } else { REMOTE_LEAVE },
        opts: targets(target),
        rooms,
    };
    to_json(&request)
}

/// `disconnectSockets(close)`.
pub(crate) fn disconnect_request(target: &Target, close: bool) -> Vec<u8> {
    to_json(&DisconnectRequest {
        kind: REMOTE_DISCONNECT,
        opts: targets(target),
        close,
    })
}

/// `serverSideEmit(event, ...args)`.
pub(crate) fn server_side_emit<T: Serialize + ?Sized>(
    event: &str,
    args: Args<'_, T>,
) -> Result<Vec<u8>, EmitterError> {
    let mut data = vec![serde_json::Value::from(event)];
    data.extend(json_args(args)?);
    Ok(to_json(&ServerSideEmitRequest {
        uid: UID,
        kind: SERVER_SIDE_EMIT,
        data,
    }))
}

/// Strings, numbers and booleans in structs of strings: serde_json cannot fail on these.
fn to_json<T: Serialize>(message: &T) -> Vec<u8> {
    serde_json::to_vec(message).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broadcast_is_what_node_s_emitter_writes() {
        // notepack.encode(["emitter", {type: 2, data: ["hello", 1], nsp: "/"},
        //   {rooms: ["room1"], flags: {}, except: []}]), as Node's emitter 5.1 builds it.
        let expected: &[u8] = b"\x93\xa7emitter\x83\xa4type\x02\xa4data\x92\xa5hello\x01\
            \xa3nsp\xa1/\x83\xa5rooms\x91\xa5room1\xa5flags\x80\xa6except\x90";
        let target = Target {
            rooms: vec!["room1".into()],
            ..Target::default()
        };
        let bytes = broadcast("/", &target, "hello", Args::One(&1)).expect("encodes");
        assert_eq!(bytes, expected);
    }

    #[test]
    fn binary_is_msgpack_bin_and_flags_appear_once_set() {
        struct Raw;
        impl Serialize for Raw {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&[1, 2, 3])
            }
        }
        let target = Target {
            flags: Flags {
                volatile: Some(true),
                compress: None,
            },
            ..Target::default()
        };
        let bytes = broadcast("/", &target, "b", Args::Many(&(Raw, "x"))).expect("encodes");
        let value = rmpv::decode::read_value(&mut bytes.as_slice()).expect("msgpack");
        let data = &value[1]["data"];
        assert_eq!(data[1], Mp::Binary(vec![1, 2, 3]));
        assert_eq!(data[2], Mp::from("x"));
        assert_eq!(
            value[2]["flags"],
            Mp::Map(vec![(Mp::from("volatile"), Mp::Boolean(true))])
        );
    }

    #[test]
    fn requests_are_node_s_json() {
        let target = Target {
            rooms: vec!["a".into()],
            except: vec!["b".into()],
            ..Target::default()
        };
        let join = rooms_request(&target, true, &["c".into()]);
        assert_eq!(
            join,
            br#"{"type":2,"opts":{"rooms":["a"],"except":["b"]},"rooms":["c"]}"#
        );
        let leave = rooms_request(&Target::default(), false, &["c".into()]);
        assert_eq!(
            leave,
            br#"{"type":3,"opts":{"rooms":[],"except":[]},"rooms":["c"]}"#
        );
        let disconnect = disconnect_request(&Target::default(), true);
        assert_eq!(
            disconnect,
            br#"{"type":4,"opts":{"rooms":[],"except":[]},"close":true}"#
        );
        let emit = server_side_emit("ping", Args::Many(&(1, "two"))).expect("encodes");
        assert_eq!(
            emit,
            br#"{"uid":"emitter","type":6,"data":["ping",1,"two"]}"#
        );
        assert!(matches!(
            server_side_emit("ping", Args::Many(&5)),
            Err(EmitterError::NotASequence)
        ));
    }
}
