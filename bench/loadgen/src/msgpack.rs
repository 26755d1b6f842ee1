//! The few socket.io packets `echo` sends and reads under the msgpack parser
//! (`socket.io-msgpack-parser`: each packet one msgpack map, one binary WebSocket message).

use rmpv::Value;

const CONNECT: u64 = 0;
const EVENT: u64 = 2;
const ACK: u64 = 3;
const CONNECT_ERROR: u64 = 4;

fn packet(kind: u64, extra: Vec<(Value, Value)>) -> Vec<u8> {
    let mut fields = vec![("type".into(), kind.into()), ("nsp".into(), "/".into())];
    fields.extend(extra);
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut out, &Value::Map(fields));
    out
}

/// The CONNECT to `/`.
pub fn connect() -> Vec<u8> {
    packet(CONNECT, Vec::new())
}

/// An acked EVENT `event` with one argument.
pub fn event(id: u64, event: &str, argument: &Value) -> Vec<u8> {
    let data = Value::Array(vec![event.into(), argument.clone()]);
    packet(EVENT, vec![("data".into(), data), ("id".into(), id.into())])
}

/// The JSON payload as a msgpack value, as the official parser would carry it.
pub fn from_json(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => (*b).into(),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => i.into(),
            None => n.as_f64().unwrap_or_default().into(),
        },
        serde_json::Value::String(s) => s.as_str().into(),
        serde_json::Value::Array(a) => Value::Array(a.iter().map(from_json).collect()),
        serde_json::Value::Object(o) => Value::Map(
            o.iter()
                .map(|(k, v)| (k.as_str().into(), from_json(v)))
                .collect(),
        ),
    }
}

/// What a packet from the server is, as far as `echo` cares.
pub enum Incoming {
    Connected,
    Refused,
    Ack(u64),
    Other,
}

pub fn read(bytes: &[u8]) -> Incoming {
    let Ok(Value::Map(fields)) = rmpv::decode::read_value(&mut &bytes[..]) else {
        return Incoming::Other;
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k.as_str() == Some(name))
            .and_then(|(_, v)| v.as_u64())
    };
    match (field("type"), field("id")) {
        (Some(CONNECT), _) => Incoming::Connected,
        (Some(CONNECT_ERROR), _) => Incoming::Refused,
        (Some(ACK), Some(id)) => Incoming::Ack(id),
        _ => Incoming::Other,
    }
}
