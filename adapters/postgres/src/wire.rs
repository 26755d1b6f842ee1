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
//! handler into the typed body of its type. The messages and their bodies are the ones the
//! sharded Redis and the Redis Streams adapters exchange too (`socketio_redis::cluster`); what
//! is PostgreSQL's own is how they travel. Nothing here panics on any input: what is not
//! understood is an error, and the adapter skips it with a debug log.

pub(crate) use socketio_redis::cluster::{
    broadcast_data, broadcast_packet, disconnect_data, json_of, kind, map, mp_of, rooms_data,
    to_mp, BroadcastData, DecodeError, DisconnectData, FetchData, Message, Mp, ResponseData,
    RoomsData, ServerSideEmitData,
};
use socketio_redis::msgpack;

/// The uid of Node's emitters, which are no servers and are not counted.
pub(crate) const EMITTER_UID: &str = "emitter";

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
        Ok(Notification::Message(Message::from_value(&value)?))
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
        assert_eq!(message.nsp, "/");
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
        // No namespace would take it.
        assert!(Notification::decode(r#"{"type":3,"uid":"u","nsp":[],"data":1}"#).is_err());
        let odd = r#"{"type":"3","uid":5,"nsp":"/","data":1}"#;
        let Ok(Notification::Message(odd)) = Notification::decode(odd) else {
            panic!("read leniently")
        };
        assert!(odd.body::<BroadcastData>().is_err());
        assert_eq!((odd.kind, odd.uid), (0, None));
    }
}
