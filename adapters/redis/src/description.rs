//! A socket as Node's servers describe it to each other in `fetchSockets` answers:
//! `{id, handshake, rooms, data}`, the handshake being
//! `{headers, time, address, xdomain, secure, issued, url, query, auth}`.
//!
//! Node never leaves `data` or a handshake field null: `socket.data` is `{}` until set, and
//! Node code reads `socket.data.user` or `handshake.auth.token` of a fetched socket without a
//! check. So a description written here has every field, of the type Node gives it, and one
//! read here gets Node's defaults for whatever another server left out or sent of the wrong
//! type.

use crate::namespace::rooms_of;
use serde_json::{json, Map, Value};
use socketio::adapter::{NamespaceRef, RemoteSocket, Sid};
use socketio::Handshake;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, UNIX_EPOCH};

/// One of this server's sockets, as Node's adapter describes one (an entry of the `sockets`
/// of a `fetchSockets` answer).
pub fn describe(socket: &RemoteSocket) -> Value {
    json!({
        "id": socket.id.as_str(),
        "handshake": handshake_to_json(&socket.handshake),
        "rooms": socket.rooms.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        // `{}` when the application never set it (see `Socket::data_json`).
        "data": socket.data,
    })
}

/// Another server's socket from its description; `None` without an id.
pub fn read(namespace: &NamespaceRef, description: &Value) -> Option<RemoteSocket> {
    let id = description.get("id")?.as_str()?;
    // A missing `data` is Node's `undefined`: shown as Node's default.
    let data = description.get("data").cloned().unwrap_or_else(empty);
    namespace.remote_socket(
        Sid::from_remote(id),
        rooms_of(&description["rooms"]),
        handshake_from_json(&description["handshake"]),
        data,
    )
}

fn empty() -> Value {
    Value::Object(Map::new())
}

/// An object, or Node's default `{}` for anything else.
fn object_or_empty(value: Option<&Value>) -> Value {
    match value {
        Some(value @ Value::Object(_)) => value.clone(),
        _ => empty(),
    }
}

pub fn handshake_to_json(handshake: &Handshake) -> Value {
    let mut headers = Map::new();
    let header_map = handshake.headers();
    for name in header_map.keys() {
        let values: Vec<&str> = header_map
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        headers.insert(name.as_str().to_owned(), Value::from(values.join(", ")));
    }
    let query: Map<String, Value> = handshake
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), Value::from(v.into_owned())))
        .collect();
    let issued = handshake
        .time()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    json!({
        "headers": headers,
        "time": js_date(issued),
        // Node's is the peer's address, always known there; ours without connect info is not.
        "address": handshake.address().map(|a| a.ip().to_string()).unwrap_or_default(),
        "xdomain": header_map.contains_key("origin"),
        "secure": false,
        "issued": issued.as_millis() as u64,
        "url": handshake.url(),
        "query": query,
        // Always an object in Node (a CONNECT's payload must be one).
        "auth": object_or_empty(Some(&handshake.auth)),
    })
}

pub fn handshake_from_json(value: &Value) -> Handshake {
    let mut headers = http::HeaderMap::new();
    if let Some(map) = value["headers"].as_object() {
        for (name, v) in map {
            let parsed = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_str(v.as_str().unwrap_or_default()),
            );
            if let (Ok(name), Ok(v)) = parsed {
                headers.append(name, v);
            }
        }
    }
    // Node gives the address without a port, IPv4 often mapped into IPv6.
    let address = value["address"]
        .as_str()
        .and_then(|a| a.parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip.to_canonical(), 0));
    let issued = &value["issued"];
    let issued = issued
        .as_u64()
        .or_else(|| issued.as_f64().filter(|ms| *ms >= 0.0).map(|ms| ms as u64))
        .unwrap_or_default();
    let time = UNIX_EPOCH
        .checked_add(Duration::from_millis(issued))
        .unwrap_or(UNIX_EPOCH);
    // Node's `query` is parsed from `url`, which is where ours is read from.
    Handshake::described(
        headers,
        value["url"].as_str().unwrap_or_default(),
        address,
        time,
        object_or_empty(value.get("auth")),
    )
}

/// JavaScript's `Date.prototype.toString()` in UTC, the form Node's `handshake.time` has:
/// `Sun Nov 22 2026 08:36:39 GMT+0000 (Coordinated Universal Time)`.
fn js_date(since_epoch: Duration) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = since_epoch.as_secs();
    let days = (secs / 86_400) as i64;
    let (year, month, day) = civil_from_days(days);
    let time = secs % 86_400;
    format!(
        "{} {} {day:02} {year} {:02}:{:02}:{:02} GMT+0000 (Coordinated Universal Time)",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        time / 3600,
        time % 3600 / 60,
        time % 60,
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Node's fields of a description, and the type Node gives each.
    /// Whether a value is of the type Node gives a field.
    type OfItsType = fn(&Value) -> bool;

    const NODE_FIELDS: [(&str, OfItsType); 9] = [
        ("headers", Value::is_object),
        ("time", Value::is_string),
        ("address", Value::is_string),
        ("xdomain", Value::is_boolean),
        ("secure", Value::is_boolean),
        ("issued", Value::is_u64),
        ("url", Value::is_string),
        ("query", Value::is_object),
        ("auth", Value::is_object),
    ];

    fn assert_as_node_describes(description: &Value) {
        assert!(description["id"].is_string(), "{description}");
        assert!(description["rooms"].is_array(), "{description}");
        for (field, of_its_type) in NODE_FIELDS {
            let value = &description["handshake"][field];
            assert!(of_its_type(value), "handshake.{field} is {value}");
        }
    }

    #[test]
    fn what_another_server_leaves_out_reads_as_node_defaults_and_is_described_in_full() {
        use socketio::adapter::{Adapter, LocalAdapter};
        use std::sync::{Arc, Mutex};
        // The adapter's handle on `/`, as a cluster adapter gets it.
        let handle = Arc::new(Mutex::new(None));
        let keep = handle.clone();
        let _io = socketio::SocketIo::builder()
            .adapter(move |_: &parser::Str, namespace: NamespaceRef| {
                *keep.lock().unwrap() = Some(namespace.clone());
                Arc::new(LocalAdapter::new(namespace)) as Arc<dyn Adapter>
            })
            .build();
        let nsp = handle.lock().unwrap().clone().expect("the adapter of /");
        for sent in [
            json!({"id": "a"}),
            json!({"id": "a", "handshake": null, "rooms": null}),
            json!({"id": "a", "handshake": {"headers": 7, "auth": null, "issued": -1, "url": []}}),
            json!({"id": "a", "handshake": {"auth": "token", "issued": 1e300, "address": "nowhere"}}),
            json!({"id": "a", "handshake": {"issued": 18_446_744_073_709_551_615u64}}),
        ] {
            let socket = read(&nsp, &sent).expect("an id");
            assert_eq!(socket.data, json!({}), "{sent}");
            assert_eq!(socket.handshake.auth, json!({}), "{sent}");
            let described = describe(&socket);
            assert_as_node_describes(&described);
            assert_eq!(described["data"], json!({}), "{sent}");
        }
        // What was sent is what is read, explicit `null` data included (Node sends it as is).
        let sent = json!({"id": "b", "rooms": ["b", "r", 7], "data": null,
            "handshake": {"auth": {"token": "t"}, "url": "/socket.io/?EIO=4&x=1"}});
        let socket = read(&nsp, &sent).expect("an id");
        assert_eq!(socket.data, Value::Null);
        assert_eq!(socket.handshake.auth, json!({"token": "t"}));
        let rooms: Vec<&str> = socket.rooms.iter().map(|r| r.as_str()).collect();
        assert_eq!(rooms, ["b", "r", "7"]);
        assert_eq!(
            describe(&socket)["handshake"]["query"],
            json!({"EIO": "4", "x": "1"})
        );
        // No id, no socket.
        for sent in [json!({}), json!({"id": 1}), json!(null), json!([1])] {
            assert!(read(&nsp, &sent).is_none(), "{sent}");
        }
    }

    #[test]
    fn dates_read_as_node_writes_them() {
        // 2026-11-22T08:36:39Z, as captured from Node.
        let t = Duration::from_secs(1_795_336_599);
        assert_eq!(
            js_date(t),
            "Sun Nov 22 2026 08:36:39 GMT+0000 (Coordinated Universal Time)"
        );
        assert_eq!(
            js_date(Duration::ZERO),
            "Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)"
        );
    }

    #[test]
    fn a_handshake_round_trips() {
        let node = json!({
            "headers": {"host": "127.0.0.1:3000", "user-agent": "node"},
            "time": "Sun Nov 22 2026 08:36:39 GMT+0000 (Coordinated Universal Time)",
            "address": "::ffff:127.0.0.1", "xdomain": false, "secure": false,
            "issued": 1_795_336_599_289u64, "url": "/socket.io/?EIO=4&transport=polling",
            "query": {"EIO": "4", "transport": "polling"}, "auth": {"token": "t"}
        });
        let handshake = handshake_from_json(&node);
        assert_eq!(handshake.address(), Some("127.0.0.1:0".parse().unwrap()));
        assert_eq!(handshake.auth["token"], "t");
        let back = handshake_to_json(&handshake);
        assert_eq!(back["headers"], node["headers"]);
        assert_eq!(back["issued"], node["issued"]);
        assert_eq!(back["time"], node["time"]);
        assert_eq!(back["query"], node["query"]);
        assert_eq!(back["url"], node["url"]);
    }
}
