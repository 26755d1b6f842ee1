//! A socket as Node's servers describe it to each other in `fetchSockets` answers: every Node
//! adapter (Redis pub/sub, Redis Streams, PostgreSQL, the cluster adapter) carries the same
//! `{id, handshake, rooms, data}`, the handshake being
//! `{headers, time, address, xdomain, secure, issued, url, query, auth}`.
//!
//! Node never leaves `data` or a handshake field null: `socket.data` is `{}` until set, and
//! Node code reads `socket.data.user` or `handshake.auth.token` of a fetched socket without a
//! check. So a description made here has every field, of the type Node gives it, and one read
//! here gets Node's defaults for whatever another server left out or sent of the wrong type.
//! Reading never fails but on a missing or non-text `id` (no socket can be named without one),
//! and never panics, whatever the input.

use super::{NamespaceRef, RemoteSocket, Room, Sid};
use crate::Handshake;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, UNIX_EPOCH};

/// A socket as Node's adapters describe it between servers: an entry of the `sockets` of a
/// `fetchSockets` answer, in Node's JSON shape (`{id, handshake, rooms, data}`).
///
/// [`of`](Self::of) describes a socket of this server as Node does; deserializing reads another
/// server's description, each field missing or of the wrong type taking Node's default, and
/// [`into_remote`](Self::into_remote) turns it into the [`RemoteSocket`] that `fetch_sockets`
/// returns. It reads from any self-describing serde format: JSON, or msgpack (a Node server
/// with a msgpack parser), where binary in `data` reads as Node's `JSON.stringify` writes a
/// Buffer, `{"type": "Buffer", "data": [bytes]}`.
///
/// ```
/// use socketio::adapter::SocketDescription;
///
/// // What a Node server sent, with fields left out and one of the wrong type.
/// let sent = r#"{"id": "x1", "rooms": ["x1", "news", 7], "handshake": {"auth": null}}"#;
/// let described: SocketDescription = serde_json::from_str(sent).unwrap();
/// assert_eq!(described.id.as_str(), "x1");
/// assert_eq!(described.rooms, ["x1", "news", "7"]);
/// assert!(described.handshake.auth.is_empty()); // Node's `{}`
/// assert_eq!(described.data, serde_json::json!({})); // `socket.data` never set
///
/// // Written back in full, each field of the type Node gives it.
/// let json = serde_json::to_value(&described).unwrap();
/// assert_eq!(json["handshake"]["secure"], false);
/// assert_eq!(json["handshake"]["query"], serde_json::json!({}));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SocketDescription {
    /// The socket's id: the one field without which a description describes nothing.
    pub id: Sid,
    /// What the socket was opened with.
    #[serde(default, deserialize_with = "lenient")]
    pub handshake: HandshakeDescription,
    /// Every room the socket is in, its own id included. Rooms Node sends as numbers
    /// (`io.to(123)`) read as their text.
    #[serde(default, deserialize_with = "rooms")]
    pub rooms: Vec<Room>,
    /// `socket.data`: `{}` when the application never set it, as Node's default (a description
    /// that leaves it out reads as `{}` too; an explicit `null` stays `null`, as Node sends it).
    #[serde(default = "empty_object", deserialize_with = "node_json")]
    pub data: Value,
}

/// A socket's handshake as Node's adapters describe it (Node's `socket.handshake` without its
/// `sessionStore`): every field always present, of the type Node gives it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct HandshakeDescription {
    /// The headers of the first HTTP request, names in lower case; a header sent several
    /// times as one value joined with `", "`.
    #[serde(deserialize_with = "lenient")]
    pub headers: Map<String, Value>,
    /// When the connection was opened, as JavaScript's `Date.prototype.toString()` writes it
    /// (in UTC: `Sun Nov 22 2026 08:36:39 GMT+0000 (Coordinated Universal Time)`).
    #[serde(deserialize_with = "lenient")]
    pub time: String,
    /// The client's IP address, without a port; `""` when the server runs without peer
    /// addresses (Node always has one).
    #[serde(deserialize_with = "lenient")]
    pub address: String,
    /// Whether the request was cross-origin (it had an `Origin` header).
    #[serde(deserialize_with = "lenient")]
    pub xdomain: bool,
    /// Whether the connection was over TLS.
    #[serde(deserialize_with = "lenient")]
    pub secure: bool,
    /// When the connection was opened, in milliseconds since the Unix epoch.
    #[serde(deserialize_with = "millis")]
    pub issued: u64,
    /// The path and query of the first request.
    #[serde(deserialize_with = "lenient")]
    pub url: String,
    /// The query of the first request; a key given several times maps to the list of its
    /// values, as Node's `querystring` reads it.
    #[serde(deserialize_with = "lenient")]
    pub query: Map<String, Value>,
    /// The CONNECT packet's payload: always an object (Node's `{}` when none was sent).
    #[serde(deserialize_with = "lenient")]
    pub auth: Map<String, Value>,
}

impl SocketDescription {
    /// A socket as Node's adapters describe it, to answer another server's `fetchSockets`.
    pub fn of(socket: &RemoteSocket) -> Self {
        Self {
            id: socket.id.clone(),
            handshake: HandshakeDescription::of(&socket.handshake),
            rooms: socket.rooms.clone(),
            data: socket.data.clone(),
        }
    }

    /// The socket described, as `fetch_sockets` returns it: its operations (emit, join, leave,
    /// disconnect) reach it through `namespace`'s adapter. `None` once the namespace is gone.
    pub fn into_remote(self, namespace: &NamespaceRef) -> Option<RemoteSocket> {
        namespace.remote_socket(
            self.id,
            self.rooms,
            self.handshake.into_handshake(),
            self.data,
        )
    }

    /// Reads a list of descriptions, skipping each entry that names no socket (no `id`, or one
    /// that is not text) and reading anything but a list as none: for the `sockets` of an
    /// answer, with `#[serde(deserialize_with = "SocketDescription::deserialize_list")]`.
    ///
    /// ```
    /// use socketio::adapter::SocketDescription;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Answer {
    ///     #[serde(default, deserialize_with = "SocketDescription::deserialize_list")]
    ///     sockets: Vec<SocketDescription>,
    /// }
    /// let answer: Answer = serde_json::from_str(r#"{"sockets": [{"id": "a"}, 7, {"id": 1}]}"#)
    ///     .unwrap();
    /// assert_eq!(answer.sockets.len(), 1);
    /// ```
    pub fn deserialize_list<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<SocketDescription>, D::Error> {
        let list = match node_json(deserializer)? {
            Value::Array(list) => list,
            _ => return Ok(Vec::new()),
        };
        Ok(list
            .into_iter()
            .filter_map(|entry| SocketDescription::deserialize(entry).ok())
            .collect())
    }
}

impl From<&RemoteSocket> for SocketDescription {
    fn from(socket: &RemoteSocket) -> Self {
        Self::of(socket)
    }
}

impl HandshakeDescription {
    /// A handshake as Node's adapters describe it.
    pub fn of(handshake: &Handshake) -> Self {
        let mut headers = Map::new();
        for (name, value) in handshake.headers() {
            let Ok(value) = std::str::from_utf8(value) else {
                continue;
            };
            // Node's `IncomingMessage.headers`: a header sent several times is one value,
            // joined with ", ".
            match headers.get_mut(name) {
                Some(Value::String(joined)) => {
                    joined.push_str(", ");
                    joined.push_str(value);
                }
                _ => {
                    headers.insert(name.to_owned(), Value::from(value));
                }
            }
        }
        let mut query = Map::new();
        for (key, value) in handshake.query_pairs() {
            let value = Value::from(value.into_owned());
            match query.get_mut(key.as_ref()) {
                // Node's `querystring`: a key given again makes a list.
                Some(Value::Array(values)) => values.push(value),
                Some(first) => *first = Value::Array(vec![first.take(), value]),
                None => {
                    query.insert(key.into_owned(), value);
                }
            }
        }
        let issued = handshake
            .time()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            headers,
            time: js_date(issued),
            // Node's is the peer's address, always known there; ours without connect info is
            // not.
            address: handshake
                .address()
                .map(|a| a.ip().to_string())
                .unwrap_or_default(),
            xdomain: handshake.headers().contains_key("origin"),
            secure: false,
            issued: u64::try_from(issued.as_millis()).unwrap_or(u64::MAX),
            url: handshake.url().to_owned(),
            query,
            // Always an object in Node (a CONNECT's payload must be one).
            auth: match &handshake.auth {
                Value::Object(auth) => auth.clone(),
                _ => Map::new(),
            },
        }
    }

    /// The handshake described. Its query is read from `url`, as Node parses it; headers that
    /// are not valid HTTP are left out, and an address that is not an IP address reads as
    /// unknown.
    pub fn into_handshake(self) -> Handshake {
        let mut headers = http::HeaderMap::new();
        for (name, value) in &self.headers {
            let Ok(name) = http::HeaderName::from_bytes(name.as_bytes()) else {
                continue;
            };
            // Node gives a header sent several times (`set-cookie`) as a list.
            let values = match value {
                Value::Array(values) => values.iter().filter_map(Value::as_str).collect(),
                value => value.as_str().into_iter().collect::<Vec<_>>(),
            };
            for value in values {
                if let Ok(value) = http::HeaderValue::from_str(value) {
                    headers.append(name.clone(), value);
                }
            }
        }
        // Node gives the address without a port, IPv4 often mapped into IPv6.
        let address = self
            .address
            .parse::<IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip.to_canonical(), 0));
        let time = UNIX_EPOCH
            .checked_add(Duration::from_millis(self.issued))
            .unwrap_or(UNIX_EPOCH);
        Handshake::described(
            engineio::Headers::from(&headers),
            self.url,
            address,
            time,
            Value::Object(self.auth),
        )
    }
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

/// Any value, as JSON; the type's default when it is not of that type (Node's defaults are
/// the empty value of each type).
fn lenient<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned + Default,
{
    Ok(T::deserialize(node_json(deserializer)?).unwrap_or_default())
}

/// Milliseconds since the epoch: an integer, or a number Node wrote with a fraction; 0 for
/// anything else.
fn millis<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    Ok(match node_json(deserializer)? {
        Value::Number(n) => n.as_u64().unwrap_or_else(|| {
            // `as` saturates: a huge number is the far future, never a panic.
            n.as_f64().filter(|ms| *ms >= 0.0).map_or(0, |ms| ms as u64)
        }),
        _ => 0,
    })
}

/// Room names: strings, or numbers as JavaScript's `String(n)` writes them; anything else in
/// the list is left out, and anything but a list reads as no rooms.
fn rooms<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Room>, D::Error> {
    let Value::Array(rooms) = node_json(deserializer)? else {
        return Ok(Vec::new());
    };
    Ok(rooms.iter().filter_map(room_name).collect())
}

fn room_name(room: &Value) -> Option<Room> {
    match room {
        Value::String(name) => Some(Room::from(name.as_str())),
        Value::Number(n) => Some(Room::from(js_number(n))),
        _ => None,
    }
}

/// A number as JavaScript's `String(n)` writes it: `7` for 7.0.
fn js_number(n: &serde_json::Number) -> String {
    match n.as_f64() {
        // `+ 0.0` makes -0 into 0, as JavaScript writes it.
        Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e21 => format!("{:.0}", f + 0.0),
        _ => n.to_string(),
    }
}

/// Any value of any self-describing format, as JSON: binary as Node's `JSON.stringify` writes
/// a Buffer (`{"type": "Buffer", "data": [bytes]}`), a number JSON cannot hold (NaN, infinity)
/// and msgpack extensions (dates, `undefined`) as `null`, map keys that are not text as their
/// JSON text.
fn node_json<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
    deserializer.deserialize_any(NodeJson)
}

struct NodeJson;

impl<'de> de::DeserializeSeed<'de> for NodeJson {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        node_json(deserializer)
    }
}

impl<'de> Visitor<'de> for NodeJson {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // `Value::from` makes `null` of what JSON cannot hold.
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
        Ok(serde_json::json!({ "type": "Buffer", "data": v }))
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        node_json(deserializer)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, _: D) -> Result<Value, D::Error> {
        // msgpack's extension types.
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(NodeJson)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key_seed(NodeJson)? {
            let key = match key {
                Value::String(key) => key,
                other => other.to_string(),
            };
            object.insert(key, map.next_value_seed(NodeJson)?);
        }
        Ok(Value::Object(object))
    }
}

/// JavaScript's `Date.prototype.toString()` in UTC, the form Node's `handshake.time` has:
/// `Sun Nov 22 2026 08:36:39 GMT+0000 (Coordinated Universal Time)`.
fn js_date(since_epoch: Duration) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = since_epoch.as_secs();
    let days = secs / 86_400;
    let (year, month, day) = civil_from_days(days as i64);
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
    use serde_json::json;

    /// Whether a value is of the type Node gives a field.
    type OfItsType = fn(&Value) -> bool;

    /// Node's fields of a description's handshake, and the type Node gives each.
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

    /// The adapter's handle on `/`, as a cluster adapter gets it.
    fn namespace() -> (crate::SocketIo, NamespaceRef) {
        use super::super::{Adapter, LocalAdapter};
        use std::sync::{Arc, Mutex};
        let handle = Arc::new(Mutex::new(None));
        let keep = handle.clone();
        let io = crate::SocketIo::builder()
            .adapter(move |_: &parser::Str, namespace: NamespaceRef| {
                *keep.lock().unwrap() = Some(namespace.clone());
                Arc::new(LocalAdapter::new(namespace)) as Arc<dyn Adapter>
            })
            .build();
        let nsp = handle.lock().unwrap().clone().expect("the adapter of /");
        (io, nsp)
    }

    fn read(namespace: &NamespaceRef, sent: &Value) -> Option<RemoteSocket> {
        SocketDescription::deserialize(sent)
            .ok()?
            .into_remote(namespace)
    }

    fn describe(socket: &RemoteSocket) -> Value {
        serde_json::to_value(SocketDescription::of(socket)).unwrap()
    }

    #[test]
    fn what_another_server_leaves_out_reads_as_node_defaults_and_is_described_in_full() {
        let (_io, nsp) = namespace();
        for sent in [
            json!({"id": "a"}),
            json!({"id": "a", "handshake": null, "rooms": null}),
            json!({"id": "a", "handshake": {"headers": 7, "auth": null, "issued": -1, "url": []}}),
            json!({"id": "a", "handshake": {"auth": "token", "issued": 1e300, "address": "nowhere"}}),
            json!({"id": "a", "handshake": {"issued": 18_446_744_073_709_551_615u64}}),
            json!({"id": "a", "handshake": {"headers": {"x": [1, "y"], "bad name": "v"},
                "query": [], "time": 5, "xdomain": "yes", "secure": null}}),
        ] {
            let socket = read(&nsp, &sent).expect("an id");
            assert_eq!(socket.data, json!({}), "{sent}");
            assert_eq!(socket.handshake.auth, json!({}), "{sent}");
            let described = describe(&socket);
            assert_as_node_describes(&described);
            assert_eq!(described["data"], json!({}), "{sent}");
        }
        // What was sent is what is read, explicit `null` data included (Node sends it as is).
        let sent = json!({"id": "b", "rooms": ["b", "r", 7, 1.0, 2.5, null, {}], "data": null,
            "handshake": {"auth": {"token": "t"}, "url": "/socket.io/?EIO=4&x=1&x=2"}});
        let socket = read(&nsp, &sent).expect("an id");
        assert_eq!(socket.data, Value::Null);
        assert_eq!(socket.handshake.auth, json!({"token": "t"}));
        let rooms: Vec<&str> = socket.rooms.iter().map(|r| r.as_str()).collect();
        assert_eq!(rooms, ["b", "r", "7", "1", "2.5"]);
        assert_eq!(
            describe(&socket)["handshake"]["query"],
            json!({"EIO": "4", "x": ["1", "2"]})
        );
        // No id, no socket.
        for sent in [
            json!({}),
            json!({"id": 1}),
            json!(null),
            json!([1]),
            json!("a"),
        ] {
            assert!(read(&nsp, &sent).is_none(), "{sent}");
        }
    }

    #[test]
    fn descriptions_read_from_msgpack_with_binary_as_node_writes_a_buffer() {
        use rmpv::Value as Mp;
        let sent = Mp::Map(vec![
            (Mp::from("id"), Mp::from("m")),
            (
                Mp::from("rooms"),
                Mp::Array(vec![Mp::from("m"), Mp::from(3)]),
            ),
            (
                Mp::from("handshake"),
                Mp::Map(vec![
                    (Mp::from("issued"), Mp::F64(1_795_336_599_289.5)),
                    (Mp::from("auth"), Mp::Nil),
                    (Mp::from("headers"), Mp::from(7)),
                ]),
            ),
            (
                Mp::from("data"),
                Mp::Map(vec![
                    (Mp::from("file"), Mp::Binary(vec![1, 2])),
                    (Mp::from(1), Mp::Ext(-1, vec![0; 4])),
                    (Mp::from("f"), Mp::F64(f64::NAN)),
                ]),
            ),
        ]);
        let read: SocketDescription = rmpv::ext::from_value(sent).expect("a description");
        assert_eq!(read.rooms, ["m", "3"]);
        assert_eq!(read.handshake.issued, 1_795_336_599_289);
        assert!(read.handshake.auth.is_empty() && read.handshake.headers.is_empty());
        assert_eq!(
            read.data,
            json!({"file": {"type": "Buffer", "data": [1, 2]}, "1": null, "f": null})
        );
    }

    #[test]
    fn a_list_skips_what_names_no_socket() {
        #[derive(Deserialize)]
        struct Answer {
            #[serde(default, deserialize_with = "SocketDescription::deserialize_list")]
            sockets: Vec<SocketDescription>,
        }
        let read = |json: &str| serde_json::from_str::<Answer>(json).map(|a| a.sockets.len());
        assert_eq!(
            read(r#"{"sockets": [{"id": "a"}, {"rooms": []}, 7, null, {"id": "b"}]}"#).unwrap(),
            2
        );
        for nothing in [
            r#"{}"#,
            r#"{"sockets": null}"#,
            r#"{"sockets": {"id": "a"}}"#,
        ] {
            assert_eq!(read(nothing).unwrap(), 0, "{nothing}");
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
        // The far future does not panic.
        let _ = js_date(Duration::from_millis(u64::MAX));
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
        let read = HandshakeDescription::deserialize(&node).expect("a handshake");
        let handshake = read.into_handshake();
        assert_eq!(handshake.address(), Some("127.0.0.1:0".parse().unwrap()));
        assert_eq!(handshake.auth["token"], "t");
        let back = serde_json::to_value(HandshakeDescription::of(&handshake)).unwrap();
        assert_eq!(back["headers"], node["headers"]);
        assert_eq!(back["issued"], node["issued"]);
        assert_eq!(back["time"], node["time"]);
        assert_eq!(back["query"], node["query"]);
        assert_eq!(back["url"], node["url"]);
        assert_eq!(back["address"], "127.0.0.1");
        assert_eq!(back.as_object().unwrap().len(), NODE_FIELDS.len());
    }
}
