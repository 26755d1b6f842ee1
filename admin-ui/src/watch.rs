//! What the admin namespace hears from every namespace in development mode: each socket's
//! arrival, events, rooms and departure (Node's `registerVerboseListeners`; upgrades and the
//! counts come from the engine, in `engine`).

use crate::serialize;
use crate::time;
use serde_json::{json, Value};
use socketio::{DisconnectReason, Namespace, RawArgs, RoomChange, Socket};
use std::time::SystemTime;

fn now() -> String {
    time::iso(SystemTime::now())
}

/// An event's name and arguments as one array, as Node's `onAny` gives them.
fn event_array(event: &str, raw: &RawArgs) -> Vec<Value> {
    let mut all = Vec::with_capacity(raw.args.len() + 1);
    all.push(json!(event));
    all.extend(
        raw.args
            .iter()
            .map(|text| serde_json::from_str(text).unwrap_or(Value::Null)),
    );
    all
}

/// Starts watching `ns` for the admin namespace `admin` (development mode).
pub(crate) fn namespace(ns: &Namespace, admin: &Namespace) {
    let is_admin = ns.name() == admin.name();
    let admin_c = admin.clone();
    ns.on_connection(move |socket: Socket| {
        connected(&socket, &admin_c, is_admin);
        async {}
    });
    let admin = admin.clone();
    let nsp = ns.name().to_string();
    ns.on_room_change(move |change, room, id| {
        let event = match change {
            RoomChange::Joined => "room_joined",
            RoomChange::Left => "room_left",
        };
        let _ = admin.emit_args(event, &(&nsp, room.as_str(), id.as_str(), now()));
    });
}

fn connected(socket: &Socket, admin: &Namespace, is_admin: bool) {
    let nsp = socket.namespace().name().to_string();
    let _ = admin.emit_args("socket_connected", &(serialize::local(socket), now()));
    if !is_admin {
        let (admin_c, nsp_c) = (admin.clone(), nsp.clone());
        socket.on_any(move |socket: Socket, event, raw: RawArgs| {
            let args = event_array(&event, &raw);
            let _ = admin_c.emit_args(
                "event_received",
                &(&nsp_c, socket.id().as_str(), args, now()),
            );
            async {}
        });
        let (admin_c, nsp_c) = (admin.clone(), nsp.clone());
        socket.on_any_outgoing(move |socket: Socket, event, raw: RawArgs| {
            let args = event_array(&event, &raw);
            let _ = admin_c.emit_args("event_sent", &(&nsp_c, socket.id().as_str(), args, now()));
            async {}
        });
    }
    let admin = admin.clone();
    socket.on_disconnect(move |socket: Socket, reason: DisconnectReason| {
        let _ = admin.emit_args(
            "socket_disconnected",
            &(&nsp, socket.id().as_str(), reason.as_str(), now()),
        );
        async {}
    });
}
