//! What the admin namespace hears from every other namespace: counts for the aggregated
//! stats in both modes, and in development mode each socket's arrival, upgrade, events,
//! rooms and departure (Node's `registerVerboseListeners` and `registerEngineListeners`).

use crate::serialize;
use crate::stats::EventBuffer;
use crate::time;
use serde_json::{json, Value};
use socketio::{DisconnectReason, Namespace, RawArgs, RoomChange, Socket};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How long a polling socket is watched for its upgrade: clients upgrade within their first
/// round trips, or never.
const UPGRADE_WATCH: Duration = Duration::from_secs(30);
const UPGRADE_POLL: Duration = Duration::from_millis(200);

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

fn size(event: &str, raw: &RawArgs) -> u64 {
    let text: usize = raw.args.iter().map(|a| a.len()).sum::<usize>() + event.len();
    let binary: usize = raw.attachments.iter().map(bytes_len).sum();
    u64::try_from(text + binary).unwrap_or(u64::MAX)
}

fn bytes_len(b: &impl AsRef<[u8]>) -> usize {
    b.as_ref().len()
}

/// Starts watching `ns` for the admin namespace `admin`.
pub(crate) fn namespace(ns: &Namespace, admin: &Namespace, events: &Arc<EventBuffer>, dev: bool) {
    let is_admin = ns.name() == admin.name();
    let (admin_c, events_c) = (admin.clone(), events.clone());
    ns.on_connection(move |socket: Socket| {
        connected(&socket, &admin_c, &events_c, dev, is_admin);
        async {}
    });
    if dev {
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
}

fn connected(
    socket: &Socket,
    admin: &Namespace,
    events: &Arc<EventBuffer>,
    dev: bool,
    is_admin: bool,
) {
    events.push("rawConnection", None, 1);
    let nsp = socket.namespace().name().to_string();
    if dev {
        let _ = admin.emit_args("socket_connected", &(serialize::local(socket), now()));
        if socket.transport().name() == "polling" {
            watch_upgrade(socket.clone(), admin.clone(), nsp.clone());
        }
    }
    if !is_admin {
        let (admin_c, events_c, nsp_c) = (admin.clone(), events.clone(), nsp.clone());
        socket.on_any(move |socket: Socket, event, raw: RawArgs| {
            events_c.push("packetsIn", None, 1);
            events_c.push("bytesIn", None, size(&event, &raw));
            if dev {
                let args = event_array(&event, &raw);
                let _ = admin_c.emit_args(
                    "event_received",
                    &(&nsp_c, socket.id().as_str(), args, now()),
                );
            }
            async {}
        });
        let (admin_c, events_c, nsp_c) = (admin.clone(), events.clone(), nsp.clone());
        socket.on_any_outgoing(move |socket: Socket, event, raw: RawArgs| {
            events_c.push("packetsOut", None, 1);
            events_c.push("bytesOut", None, size(&event, &raw));
            if dev {
                let args = event_array(&event, &raw);
                let _ =
                    admin_c.emit_args("event_sent", &(&nsp_c, socket.id().as_str(), args, now()));
            }
            async {}
        });
    }
    let (admin, events) = (admin.clone(), events.clone());
    socket.on_disconnect(move |socket: Socket, reason: DisconnectReason| {
        events.push("rawDisconnection", Some(reason.as_str()), 1);
        if dev {
            let _ = admin.emit_args(
                "socket_disconnected",
                &(&nsp, socket.id().as_str(), reason.as_str(), now()),
            );
        }
        async {}
    });
}

/// Tells the UI when a polling socket moves to WebSocket (Node's `socket_updated` on the
/// engine's `upgrade`). The engine tells no one above it of an upgrade, so the socket's
/// transport is looked at a few times a second for a while, by one short task per socket.
fn watch_upgrade(socket: Socket, admin: Namespace, nsp: String) {
    tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + UPGRADE_WATCH;
        while tokio::time::Instant::now() < deadline && socket.connected() {
            tokio::time::sleep(UPGRADE_POLL).await;
            let transport = socket.transport().name();
            if transport != "polling" {
                let update =
                    json!({ "id": socket.id().as_str(), "nsp": nsp, "transport": transport });
                let _ = admin.emit("socket_updated", &update);
                return;
            }
        }
    });
}
