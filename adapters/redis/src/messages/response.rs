//! [`Response`]: what the servers of the namespace answer a request with, on the response
//! channel.

use super::codec::{body, to_json, to_msgpack};
use super::fields::{lenient, rooms};
use super::{kind, Type};
use crate::msgpack::{field, Mp};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use socketio::adapter::{Room, Sid, SocketDescription};

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

#[cfg(test)]
mod tests {
    use super::super::codec::decode;
    use super::super::tests::{json_bytes, msgpack_bytes};
    use super::*;
    use serde_json::json;

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
}
