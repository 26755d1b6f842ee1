//! [`Request`]: what one server asks of the others of the namespace on the request channel,
//! tagged by Node's numeric `type` (`RequestType`: 0 to 7).

use super::codec::{body, to_json, to_msgpack};
use super::fields::{lenient, room_name, rooms};
use super::{kind, Opts, Packet, Type};
use crate::msgpack::{field, Mp};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use socketio::adapter::{Room, Sid};

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

fn room<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Room, D::Error> {
    room_name(&Mp::deserialize(deserializer)?).ok_or_else(|| de::Error::custom("not a room"))
}

#[cfg(test)]
mod tests {
    use super::super::codec::decode;
    use super::super::tests::{json_bytes, msgpack_bytes};
    use super::*;
    use serde_json::json;
    use std::time::Duration;

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
}
