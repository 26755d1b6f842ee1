//! A socket.io server with a handler for every feature the end-to-end tests exercise: rooms,
//! each broadcast operator, acks both ways, disconnects, fetches, socket data, middlewares,
//! dynamic namespaces. It is the twin of `e2e-js/reference/sio-features.mjs`, which implements
//! the same contract on Node's `socket.io`; e2e-js/README.md describes it.
//!
//! It prints `{"event":"listening","port":N}`, and with `SIO_EVENTS=1` one JSON line per
//! connection, disconnecting and disconnect.

use serde_json::{json, Value};
use socketio::{
    AckSender, ConnectError, Data, DisconnectReason, RawArgs, Socket, SocketIo, SocketIoConfig, Str,
};
use std::time::Duration;

fn report(event: Value) {
    if conformance::flag("SIO_EVENTS") {
        conformance::line(event);
    }
}

/// Reports the socket's connection now and its departure later.
fn track(socket: &Socket) {
    let nsp = socket.namespace().name().to_string();
    report(json!({"event": "connection", "nsp": nsp, "id": socket.id().as_str()}));
    socket.on_disconnecting(|socket: Socket, reason: DisconnectReason| async move {
        report(json!({
            "event": "disconnecting",
            "nsp": socket.namespace().name().as_str(),
            "id": socket.id().as_str(),
            "reason": reason.as_str(),
            "rooms": sorted_rooms(&socket),
        }));
    });
    socket.on_disconnect(|socket: Socket, reason: DisconnectReason| async move {
        report(json!({
            "event": "disconnect",
            "nsp": socket.namespace().name().as_str(),
            "id": socket.id().as_str(),
            "reason": reason.as_str(),
        }));
    });
}

fn sorted_rooms(socket: &Socket) -> Vec<String> {
    let mut rooms: Vec<String> = socket.rooms().iter().map(|r| r.to_string()).collect();
    rooms.sort();
    rooms
}

/// Argument `i` as a string, when it is one.
fn text(args: &RawArgs, i: usize) -> Option<String> {
    serde_json::from_str(args.args.get(i)?).ok()
}

/// Argument `i` as rooms: a string or an array of strings, as Node's `to` takes.
fn rooms(args: &RawArgs, i: usize) -> Option<Vec<String>> {
    match json_arg(args, i) {
        Value::String(room) => Some(vec![room]),
        Value::Array(items) => items
            .into_iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    }
}

/// Argument `i` as JSON (`null` when absent).
fn json_arg(args: &RawArgs, i: usize) -> Value {
    args.args
        .get(i)
        .and_then(|raw| serde_json::from_str(raw).ok())
        .unwrap_or(Value::Null)
}

/// Argument `i` as raw JSON, with the attachments it may point to, for forwarding unchanged.
fn raw_arg(args: &RawArgs, i: usize) -> RawArgs {
    RawArgs {
        args: args.args.get(i).cloned().into_iter().collect(),
        attachments: args.attachments.clone(),
    }
}

fn millis(value: &Value) -> Duration {
    Duration::from_millis(value.as_u64().unwrap_or(0))
}

fn on_main_connection(io: SocketIo, socket: Socket) {
    track(&socket);
    socket.on("message", |socket: Socket, args: RawArgs| async move {
        let _ = socket.emit_raw("message-back", args);
    });
    socket.on(
        "message-with-ack",
        |args: RawArgs, ack: AckSender| async move {
            let _ = ack.send_raw(args);
        },
    );
    socket.on(
        "join",
        |socket: Socket, Data(room): Data<String>, ack: AckSender| async move {
            socket.join(room);
            let _ = ack.send(&sorted_rooms(&socket));
        },
    );
    socket.on(
        "leave",
        |socket: Socket, Data(room): Data<String>, ack: AckSender| async move {
            socket.leave(room);
            let _ = ack.send(&sorted_rooms(&socket));
        },
    );
    socket.on("rooms", |socket: Socket, ack: AckSender| async move {
        let _ = ack.send(&sorted_rooms(&socket));
    });
    let server = io.clone();
    socket.on("to", move |args: RawArgs| {
        let io = server.clone();
        async move {
            if let (Some(room), Some(event)) = (rooms(&args, 0), text(&args, 1)) {
                let _ = io.to(room).emit_raw(event, raw_arg(&args, 2));
            }
        }
    });
    socket.on("broadcast-to", |socket: Socket, args: RawArgs| async move {
        if let (Some(room), Some(event)) = (rooms(&args, 0), text(&args, 1)) {
            let _ = socket.to(room).emit_raw(event, raw_arg(&args, 2));
        }
    });
    socket.on("broadcast", |socket: Socket, args: RawArgs| async move {
        if let Some(event) = text(&args, 0) {
            let _ = socket.broadcast().emit_raw(event, raw_arg(&args, 1));
        }
    });
    let server = io.clone();
    socket.on("except", move |args: RawArgs| {
        let io = server.clone();
        async move {
            if let (Some(room), Some(event)) = (rooms(&args, 0), text(&args, 1)) {
                let _ = io.except(room).emit_raw(event, raw_arg(&args, 2));
            }
        }
    });
    let server = io.clone();
    socket.on("to-except", move |args: RawArgs| {
        let io = server.clone();
        async move {
            if let (Some(to), Some(except), Some(event)) =
                (rooms(&args, 0), rooms(&args, 1), text(&args, 2))
            {
                let _ = io.to(to).except(except).emit_raw(event, raw_arg(&args, 3));
            }
        }
    });
    let server = io.clone();
    socket.on("nsp-emit", move |args: RawArgs| {
        let io = server.clone();
        async move {
            if let (Some(nsp), Some(event)) = (text(&args, 0), text(&args, 1)) {
                let _ = io.of(nsp).broadcast().emit_raw(event, raw_arg(&args, 2));
            }
        }
    });
    socket.on("volatile", |socket: Socket, args: RawArgs| async move {
        if let Some(event) = text(&args, 0) {
            let payload = json_arg(&args, 1);
            let _ = socket.volatile().emit(event, &payload);
        }
    });
    socket.on(
        "server-ack",
        |socket: Socket, args: RawArgs, ack: AckSender| async move {
            let timeout = millis(&json_arg(&args, 1));
            let answer = socket
                .timeout(timeout)
                .emit_with_ack_raw("ask", raw_arg(&args, 0))
                .await;
            let _ = match answer {
                // The payload went out and the answer comes back as they came, binary included.
                Ok(answer) => {
                    let first = answer.args.first().map_or("null", |a| a.as_str());
                    ack.send_raw(RawArgs {
                        args: vec![Str::from(format!("{{\"answer\":{first}}}"))],
                        attachments: answer.attachments,
                    })
                }
                Err(error) => ack.send(&json!({ "error": error.to_string() })),
            };
        },
    );
    let server = io.clone();
    socket.on("broadcast-ack", move |args: RawArgs, ack: AckSender| {
        let io = server.clone();
        async move {
            let timeout = millis(&json_arg(&args, 1));
            let operator = match rooms(&args, 0) {
                Some(room) => io.to(room),
                None => io.broadcast(),
            };
            let result = operator
                .timeout(timeout)
                .emit_with_ack::<_, Value>("ask", "question")
                .await;
            let (error, mut answers) = match result {
                Ok(answers) => (Value::Null, answers),
                Err(e) => (json!("operation has timed out"), e.received().to_vec()),
            };
            answers.sort_by_key(|a| a.to_string());
            let _ = ack.send(&json!({ "error": error, "answers": answers }));
        }
    });
    socket.on(
        "disconnect-me",
        |socket: Socket, Data(close): Data<Option<bool>>| async move {
            socket.disconnect(close.unwrap_or(false));
        },
    );
    let server = io.clone();
    socket.on("disconnect-room", move |args: RawArgs| {
        let io = server.clone();
        async move {
            if let Some(room) = rooms(&args, 0) {
                let _ = io
                    .to(room)
                    .disconnect_sockets(json_arg(&args, 1).as_bool().unwrap_or(false));
            }
        }
    });
    let server = io.clone();
    socket.on("fetch", move |args: RawArgs, ack: AckSender| {
        let io = server.clone();
        async move {
            let operator = match rooms(&args, 0) {
                Some(room) => io.to(room),
                None => io.broadcast(),
            };
            let mut ids: Vec<String> = match operator.fetch_sockets().await {
                Ok(sockets) => sockets.iter().map(|s| s.id.to_string()).collect(),
                Err(_) => Vec::new(),
            };
            ids.sort();
            let _ = ack.send(&ids);
        }
    });
    let server = io.clone();
    socket.on("sockets-join", move |args: RawArgs, ack: AckSender| {
        let io = server.clone();
        async move {
            if let (Some(room), Some(target)) = (rooms(&args, 0), rooms(&args, 1)) {
                let _ = io.to(room).sockets_join(target);
            }
            let _ = ack.send_args(&());
        }
    });
    let server = io.clone();
    socket.on("sockets-leave", move |args: RawArgs, ack: AckSender| {
        let io = server.clone();
        async move {
            if let (Some(room), Some(target)) = (rooms(&args, 0), rooms(&args, 1)) {
                let _ = io.to(room).sockets_leave(target);
            }
            let _ = ack.send_args(&());
        }
    });
    socket.on(
        "data-set",
        |socket: Socket, Data(value): Data<Value>, ack: AckSender| async move {
            socket.set_data(value);
            let _ = ack.send_args(&());
        },
    );
    socket.on("data-get", |socket: Socket, ack: AckSender| async move {
        let _ = ack.send(&socket.data::<Value>().unwrap_or(Value::Null));
    });
    socket.on("handshake", |socket: Socket, ack: AckSender| async move {
        let hs = socket.handshake();
        let _ = ack.send(&json!({
            "query": hs.query_pairs().collect::<std::collections::HashMap<_, _>>(),
            "auth": hs.auth,
            "url": hs.url(),
            "address": hs.address().map(|a| a.ip().to_string()),
            "headers": { "x-test": hs.header("x-test") },
            "id": socket.id().as_str(),
            "connected": socket.connected(),
        }));
    });
    socket.use_middleware(|_socket: Socket, event: Str, _args: RawArgs| async move {
        if event.as_str() == "forbidden" {
            return Err("forbidden event".into());
        }
        Ok(())
    });
    // Never runs: the middleware above rejects "forbidden" first. If it did, the test would see.
    socket.on("forbidden", |socket: Socket, ack: AckSender| async move {
        let _ = socket.emit_args("forbidden-ran", &());
        let _ = ack.send("ran");
    });
    socket.on_error(|socket: Socket, error| async move {
        let _ = socket.emit("middleware-error", &error.to_string());
    });
    socket.on_any(|socket: Socket, event: Str, args: RawArgs| async move {
        if event.as_str() == "any-probe" {
            let name = serde_json::to_string(event.as_str()).unwrap_or_default();
            let mut all = vec![Str::from(name)];
            all.extend(args.args);
            let raw = RawArgs {
                args: all,
                attachments: args.attachments,
            };
            let _ = socket.emit_raw("any-seen", raw);
        }
    });
}

async fn hello(socket: Socket) {
    track(&socket);
    let _ = socket.emit("hello", socket.namespace().name().as_str());
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = conformance::init();
    // The contract's heartbeat, unless the environment sets another (milliseconds).
    let ms = |name: &str, default: u64| {
        let ms = std::env::var(name).ok().and_then(|v| v.parse().ok());
        Duration::from_millis(ms.unwrap_or(default))
    };
    let config = SocketIoConfig::builder()
        .ping_interval(ms("PING_INTERVAL_MS", 300))
        .ping_timeout(ms("PING_TIMEOUT_MS", 200))
        .max_http_buffer_size(1_000_000)
        .connect_timeout(Duration::from_millis(1000))
        .build();
    let io = SocketIo::builder()
        .config(config)
        .cors(conformance::any_origin())
        .build();

    let server = io.clone();
    io.on_connection(move |socket: Socket| {
        on_main_connection(server.clone(), socket);
        std::future::ready(())
    });

    /// What `/admin` reads of the CONNECT's auth; anything else in it is ignored, and a
    /// token that is not a string counts as none, as Node's check does.
    #[derive(serde::Deserialize)]
    struct AdminAuth {
        #[serde(default, deserialize_with = "text_or_none")]
        token: Option<String>,
    }
    fn text_or_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match <Value as serde::Deserialize>::deserialize(d)? {
            Value::String(text) => Some(text),
            _ => None,
        })
    }
    let admin = io.of("/admin");
    admin.use_middleware(|Data(auth): Data<AdminAuth>| async move {
        match auth.token.as_deref() {
            Some("secret") => Ok(()),
            _ => Err(ConnectError::new("unauthorized").with_data(json!({"reason": "bad token"}))),
        }
    });
    admin.on_connection(|socket: Socket| async move {
        track(&socket);
        let _ = socket.emit("welcome", "admin");
    });

    io.of_dynamic(|name, _| {
        name.strip_prefix("/dyn-")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
    .on_connection(hello);
    io.of_dynamic(|name, _| name.starts_with("/fn-"))
        .on_connection(hello);
    io.of("/empty")
        .on_connection(|socket: Socket| async move { track(&socket) });

    conformance::serve(io.router(), port, || io.close()).await
}
