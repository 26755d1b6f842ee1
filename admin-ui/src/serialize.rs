//! Sockets as the UI knows them (Node's `SerializedSocket`).

use crate::time;
use serde_json::{json, Map, Value};
use socketio::{Handshake, RemoteSocket, Socket};

/// What this server knows of one of its own sockets beyond what `fetch_sockets` carries.
pub(crate) struct Local {
    /// The first 12 characters of the engine id (Node keeps no more: it is a credential).
    pub(crate) client_id: String,
    pub(crate) transport: &'static str,
}

impl Local {
    pub(crate) fn of(socket: &Socket) -> Self {
        let engine = socket.engine_id().to_string();
        Self {
            client_id: engine.chars().take(12).collect(),
            transport: socket.transport().name(),
        }
    }
}

/// A socket of this server, as `socket_connected` and `all_sockets` carry it.
pub(crate) fn local(socket: &Socket) -> Value {
    let rooms: Vec<String> = socket.rooms().iter().map(ToString::to_string).collect();
    shape(
        socket.id().as_str(),
        socket.namespace().name(),
        Some(&Local::of(socket)),
        socket.data_json(),
        socket.handshake(),
        rooms,
    )
}

/// A socket `fetch_sockets` found, here or on another server; `local` when it is ours.
pub(crate) fn remote(socket: &RemoteSocket, nsp: &str, local: Option<&Local>) -> Value {
    let rooms: Vec<String> = socket.rooms.iter().map(ToString::to_string).collect();
    shape(
        socket.id.as_str(),
        nsp,
        local,
        socket.data.clone(),
        &socket.handshake,
        rooms,
    )
}

fn shape(
    id: &str,
    nsp: &str,
    local: Option<&Local>,
    data: Value,
    handshake: &Handshake,
    rooms: Vec<String>,
) -> Value {
    // A Node server of the cluster keeps clientId and transport in data._admin; ours do not
    // touch the application's data, and say them here when the socket is local.
    let admin = data.get("_admin").cloned().unwrap_or(Value::Null);
    let client_id = local.map_or_else(|| admin["clientId"].clone(), |l| json!(l.client_id));
    let transport = local.map_or_else(|| admin["transport"].clone(), |l| json!(l.transport));
    json!({
        "id": id,
        "clientId": client_id,
        "transport": transport,
        "nsp": nsp,
        "data": without_admin(data),
        "handshake": serialize_handshake(handshake),
        "rooms": rooms,
    })
}

/// The socket's data without Node's private `_admin` key (Node's `serializeData`).
pub(crate) fn without_admin(data: Value) -> Value {
    match data {
        Value::Object(mut map) => {
            map.remove("_admin");
            Value::Object(map)
        }
        other => other,
    }
}

fn serialize_handshake(handshake: &Handshake) -> Value {
    let mut headers = Map::new();
    for (name, value) in handshake.headers() {
        if let Ok(text) = std::str::from_utf8(value) {
            headers.insert(name.to_owned(), json!(text));
        }
    }
    let mut query = Map::new();
    for (key, value) in handshake.query_pairs() {
        query.insert(key.into_owned(), json!(value));
    }
    let address = handshake
        .header("cf-connecting-ip")
        .or_else(|| handshake.header("x-forwarded-for"))
        .map(str::to_owned)
        .or_else(|| handshake.address().map(|a| a.ip().to_string()));
    let at = handshake.time();
    json!({
        "address": address,
        "headers": headers,
        "query": query,
        "issued": time::millis(at),
        "secure": handshake.header("x-forwarded-proto") == Some("https"),
        "time": time::date_string(at),
        "url": handshake.url(),
        "xdomain": handshake.header("origin").is_some(),
    })
}
