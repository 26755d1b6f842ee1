//! The operator's actions: emit, join, leave and disconnect, each on every socket of a
//! namespace or of one room of it (a socket id is a room), across the cluster (Node's
//! `registerFeatureHandlers` on socket.io 4). Not registered in read-only mode, so that
//! the UI's requests then do nothing, as in Node.

use serde_json::Value;
use socketio::{BroadcastOperator, RawArgs, Socket, SocketIo};

/// The features a UI is offered (Node's `Feature`), in Node's order.
pub(crate) fn features(readonly: bool, development: bool) -> Vec<&'static str> {
    let mut features = if readonly {
        Vec::new()
    } else {
        vec![
            "EMIT",
            "JOIN",
            "LEAVE",
            "DISCONNECT",
            "MJOIN",
            "MLEAVE",
            "MDISCONNECT",
        ]
    };
    features.push("AGGREGATED_EVENTS");
    if development {
        features.push("ALL_EVENTS");
    }
    features
}

/// The JSON value of argument `i`, when there is one and it parses.
fn arg(raw: &RawArgs, i: usize) -> Option<Value> {
    raw.args
        .get(i)
        .and_then(|text| serde_json::from_str(text).ok())
}

fn text(raw: &RawArgs, i: usize) -> Option<String> {
    match arg(raw, i)? {
        Value::String(s) => Some(s),
        _ => None,
    }
}

/// The sockets an action aims at: namespace `nsp` (only one that exists: the UI cannot make
/// namespaces), narrowed to room `filter` when one is given.
fn target(io: &SocketIo, nsp: &str, filter: Option<String>) -> Option<BroadcastOperator> {
    let namespace = io
        .namespaces()
        .into_iter()
        .find(|ns| ns.name().as_str() == nsp)?;
    let all = namespace.broadcast();
    Some(match filter.filter(|f| !f.is_empty()) {
        Some(room) => all.to(room),
        None => all,
    })
}

/// Registers the four actions on one admin socket.
pub(crate) fn register(io: &SocketIo, socket: &Socket) {
    let on = io.clone();
    // emit(nsp, filter, event, ...args)
    socket.on("emit", move |raw: RawArgs| {
        let io = on.clone();
        async move {
            let (Some(nsp), Some(event)) = (text(&raw, 0), text(&raw, 2)) else {
                return;
            };
            let Some(to) = target(&io, &nsp, text(&raw, 1)) else {
                return;
            };
            let rest = RawArgs {
                args: raw.args.get(3..).map(<[_]>::to_vec).unwrap_or_default(),
                attachments: raw.attachments.clone(),
            };
            let _ = to.emit_raw(event, rest);
        }
    });
    for (event, join) in [("join", true), ("leave", false)] {
        let on = io.clone();
        // join / leave (nsp, room, filter?)
        socket.on(event, move |raw: RawArgs| {
            let io = on.clone();
            async move {
                let (Some(nsp), Some(room)) = (text(&raw, 0), text(&raw, 1)) else {
                    return;
                };
                let Some(to) = target(&io, &nsp, text(&raw, 2)) else {
                    return;
                };
                let done = if join {
                    to.sockets_join(room)
                } else {
                    to.sockets_leave(room)
                };
                if let Err(e) = done {
                    tracing::debug!(error = %e, "admin UI: {event} failed");
                }
            }
        });
    }
    let on = io.clone();
    // _disconnect(nsp, close, filter?)
    socket.on("_disconnect", move |raw: RawArgs| {
        let io = on.clone();
        async move {
            let Some(nsp) = text(&raw, 0) else {
                return;
            };
            let close = matches!(arg(&raw, 1), Some(Value::Bool(true)));
            let Some(to) = target(&io, &nsp, text(&raw, 2)) else {
                return;
            };
            if let Err(e) = to.disconnect_sockets(close) {
                tracing::debug!(error = %e, "admin UI: disconnect failed");
            }
        }
    });
}
