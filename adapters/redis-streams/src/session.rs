//! Sessions in Redis for connection state recovery, as Node's `RedisStreamsAdapter` keeps
//! them: under `{sessionKeyPrefix}{pid}`, the value base64 of msgpack `{sid, pid, rooms,
//! data}`, expiring after `maxDisconnectionDuration`; and the reading of a client's offset.

use crate::wire::{self, Mp};
use base64::Engine as _;
use parser::Str;
use socketio::adapter::{Room, Session, Sid};
use std::collections::HashSet;

/// The longest private session id looked up: Node's and ours are about 20 characters; a
/// longer one is no session of any server.
pub(crate) const MAX_PID_LEN: usize = 128;

/// A session as Node's `persistSession` stores it: base64 of msgpack `{sid, pid, rooms,
/// data}` (`@msgpack/msgpack`'s `encode(session)`).
pub(crate) fn encode(session: &Session) -> String {
    let value = wire::map(vec![
        ("sid", Mp::from(session.sid.as_str())),
        ("pid", Mp::from(session.pid.as_str())),
        (
            "rooms",
            Mp::Array(session.rooms.iter().map(|r| Mp::from(r.as_str())).collect()),
        ),
        ("data", wire::mp_of(session.data.clone())),
    ]);
    // Beside Node's fields, which Node's restore ignores: where the stream was when the socket
    // connected, for a client that returns without an offset.
    let value = match (&session.offset, value) {
        (Some(offset), Mp::Map(mut fields)) => {
            fields.push((Mp::from("offset"), Mp::from(offset.as_str())));
            Mp::Map(fields)
        }
        (_, value) => value,
    };
    base64::engine::general_purpose::STANDARD.encode(wire::write_msgpack(&value))
}

/// A stored session; `None` when it is not one (not base64, not msgpack, no `sid` or `pid`).
pub(crate) fn decode(stored: &[u8]) -> Option<Session> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(stored.trim_ascii())
        .ok()?;
    let value = rmpv::decode::read_value_with_max_depth(&mut &bytes[..], 256).ok()?;
    let text = |name| socketio_redis::msgpack::field(&value, name).and_then(Mp::as_str);
    let sid = text("sid").filter(|sid| !sid.is_empty())?;
    let pid = text("pid").filter(|pid| !pid.is_empty())?;
    let rooms = match socketio_redis::msgpack::field(&value, "rooms") {
        Some(Mp::Array(rooms)) => rooms
            .iter()
            .filter_map(socketio_redis::wire::room_name)
            .collect(),
        _ => Vec::new(),
    };
    let data = socketio_redis::msgpack::field(&value, "data")
        .map_or(serde_json::Value::Null, wire::json_of);
    let offset = text("offset")
        .filter(|offset| parse_offset(offset).is_some())
        .map(str::to_owned);
    Some(Session {
        sid: Sid::from_remote(sid),
        pid: Sid::from_remote(pid),
        rooms,
        data,
        offset,
    })
}

/// A stream entry id as Node accepts an offset (`/^[0-9]+-[0-9]+$/`), both parts fitting 64
/// bits as Redis's do.
pub(crate) fn parse_offset(offset: &str) -> Option<(u64, u64)> {
    let (ms, seq) = offset.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(ms) || !digits(seq) {
        return None;
    }
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

/// The first id after `(ms, seq)`: Node's `nextOffset`, for Redis before 6.2 which has no
/// exclusive ranges. `None` after the last possible id.
pub(crate) fn next_offset((ms, seq): (u64, u64)) -> Option<String> {
    match seq.checked_add(1) {
        Some(seq) => Some(format!("{ms}-{seq}")),
        None => Some(format!("{}-0", ms.checked_add(1)?)),
    }
}

/// Whether a broadcast to `rooms` except `except` reached a socket in `session_rooms` (Node's
/// `shouldIncludePacket`).
pub(crate) fn should_include(
    session_rooms: &HashSet<&str>,
    rooms: &[Room],
    except: &[Room],
) -> bool {
    let included = rooms.is_empty() || rooms.iter().any(|r| session_rooms.contains(r.as_str()));
    included && !except.iter().any(|r| session_rooms.contains(r.as_str()))
}

/// An offset as the last argument of an event: its JSON text.
pub(crate) fn offset_arg(id: &str) -> Str {
    Str::from(serde_json::Value::from(id).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_session_round_trips() {
        let session = Session {
            sid: Sid::from_remote("s1"),
            pid: Sid::from_remote("p1"),
            rooms: vec![Room::from("s1"), Room::from("room1")],
            data: json!({"name": "x", "n": [1, 2.5]}),
            offset: Some("17-3".into()),
        };
        let back = decode(encode(&session).as_bytes()).unwrap();
        assert_eq!(back.offset.as_deref(), Some("17-3"));
        assert_eq!(back.sid.as_str(), "s1");
        assert_eq!(back.pid.as_str(), "p1");
        assert_eq!(back.rooms, session.rooms);
        assert_eq!(back.data, session.data);
    }

    #[test]
    fn node_s_session_reads() {
        // @msgpack/msgpack's encode({sid: "a", pid: "b", rooms: ["a", 7], data: {}}).
        let node = b"\x84\xa3sid\xa1a\xa3pid\xa1b\xa5rooms\x92\xa1a\x07\xa4data\x80";
        let stored = base64::engine::general_purpose::STANDARD.encode(node);
        let session = decode(stored.as_bytes()).unwrap();
        assert_eq!(session.rooms, [Room::from("a"), Room::from("7")]);
        assert_eq!(session.data, json!({}));
    }

    #[test]
    fn what_is_not_a_session_or_an_offset_is_none() {
        for stored in [&b""[..], b"!!", b"gA==", b"kA==", b"\xff"] {
            assert!(decode(stored).is_none(), "{stored:?}");
        }
        for offset in [
            "",
            "-",
            "1-",
            "-1",
            "a-1",
            "1-1-1",
            "1_1",
            "+1-1",
            "1-1 ",
            "99999999999999999999999-0",
            "18446744073709551616-0",
        ] {
            assert!(parse_offset(offset).is_none(), "{offset}");
        }
        assert_eq!(
            parse_offset("1700000000000-3"),
            Some((1_700_000_000_000, 3))
        );
        assert_eq!(next_offset((5, 3)).as_deref(), Some("5-4"));
        assert_eq!(next_offset((5, u64::MAX)).as_deref(), Some("6-0"));
        assert_eq!(next_offset((u64::MAX, u64::MAX)), None);
    }

    #[test]
    fn packets_reach_sessions_as_node_decides() {
        let mine: HashSet<&str> = ["s1", "room1"].into();
        let r = |names: &[&str]| names.iter().map(|n| Room::from(*n)).collect::<Vec<_>>();
        assert!(should_include(&mine, &[], &[]));
        assert!(should_include(&mine, &r(&["room1"]), &[]));
        assert!(!should_include(&mine, &r(&["room2"]), &[]));
        assert!(!should_include(&mine, &[], &r(&["room1"])));
    }
}
