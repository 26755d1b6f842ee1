//! A socket.io session over long-polling, against a server with the handlers an application
//! has (acks, rooms, broadcasts, a namespace behind a middleware, a question asked back to the
//! client): fuzzed packets, well-formed or not, text and binary, in fuzzed batches. Nothing the
//! client sends panics the server or makes it answer with a server error, and once the server
//! closes no client is left behind.
#![no_main]

use arbitrary::Arbitrary;
use axum::body::Body;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use http::Request;
use libfuzzer_sys::fuzz_target;
use socketio::{AckSender, ConnectError, Data, RawArgs, Socket, SocketIo, SocketIoConfig};
use socketio_fuzz::{answer, assert_none_left, run, sid_in, MAX_BODY};
use std::time::Duration;
use tower::ServiceExt;

const NAMESPACES: [&str; 4] = ["/", "/admin", "/missing", "/admin/"];
const EVENTS: [&str; 8] = [
    "echo",
    "join",
    "leave",
    "to",
    "ask",
    "bye",
    "connect",
    "disconnecting",
];

#[derive(Arbitrary, Debug)]
enum Name {
    Known(u8),
    Made(String),
}

impl Name {
    fn get(&self, list: &[&str]) -> String {
        match self {
            Name::Known(i) => list[usize::from(*i) % list.len()].to_owned(),
            Name::Made(s) => s.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Auth {
    None,
    /// What the `/admin` middleware lets in.
    Token,
    Made(String),
}

#[derive(Arbitrary, Debug)]
enum Pkt {
    Connect {
        nsp: Name,
        auth: Auth,
    },
    Disconnect {
        nsp: Name,
    },
    /// `2nsp,id["name",args…]`, the arguments as written by the fuzzer.
    Event {
        nsp: Name,
        name: Name,
        id: Option<u32>,
        args: String,
    },
    /// `5n-nsp,id["name",placeholders…]` then `count` attachments.
    BinaryEvent {
        nsp: Name,
        name: Name,
        id: Option<u32>,
        placeholders: u8,
        attachments: Vec<Vec<u8>>,
    },
    Ack {
        nsp: Name,
        id: u32,
        args: String,
    },
    /// Any socket.io text.
    Text(String),
    /// Any engine.io binary message.
    Binary(Vec<u8>),
    /// Any engine.io segment, as is.
    Segment(String),
}

fn prefix(nsp: &Name) -> String {
    match nsp.get(&NAMESPACES) {
        n if n == "/" => String::new(),
        n => format!("{n},"),
    }
}

fn segments(pkt: &Pkt, out: &mut Vec<String>) {
    let id = |id: &Option<u32>| id.map(|i| i.to_string()).unwrap_or_default();
    match pkt {
        Pkt::Connect { nsp, auth } => {
            let auth = match auth {
                Auth::None => "",
                Auth::Token => r#"{"token":"secret"}"#,
                Auth::Made(auth) => auth,
            };
            out.push(format!("40{}{auth}", prefix(nsp)))
        }
        Pkt::Disconnect { nsp } => out.push(format!("41{}", prefix(nsp))),
        Pkt::Event {
            nsp,
            name,
            id: ack,
            args,
        } => {
            let name = serde_json::to_string(&name.get(&EVENTS)).unwrap_or_default();
            let sep = if args.is_empty() { "" } else { "," };
            out.push(format!("42{}{}[{name}{sep}{args}]", prefix(nsp), id(ack)));
        }
        Pkt::BinaryEvent {
            nsp,
            name,
            id: ack,
            placeholders,
            attachments,
        } => {
            let name = serde_json::to_string(&name.get(&EVENTS)).unwrap_or_default();
            let count = placeholders % 4;
            let args: String = (0..count)
                .map(|n| format!(r#",{{"_placeholder":true,"num":{n}}}"#))
                .collect();
            out.push(format!(
                "45{count}-{}{}[{name}{args}]",
                prefix(nsp),
                id(ack)
            ));
            out.extend(
                attachments
                    .iter()
                    .take(5)
                    .map(|a| format!("b{}", BASE64.encode(a))),
            );
        }
        Pkt::Ack { nsp, id, args } => out.push(format!("43{}{id}[{args}]", prefix(nsp))),
        Pkt::Text(text) => out.push(format!("4{text}")),
        Pkt::Binary(bytes) => out.push(format!("b{}", BASE64.encode(bytes))),
        Pkt::Segment(segment) => out.push(segment.clone()),
    }
}

fn handlers(socket: &Socket) {
    socket.on("echo", |args: RawArgs, ack: AckSender| async move {
        let _ = ack.send_raw(args);
    });
    socket.on(
        "join",
        |socket: Socket, Data(room): Data<String>| async move {
            socket.join(room);
        },
    );
    socket.on(
        "leave",
        |socket: Socket, Data(room): Data<String>| async move {
            socket.leave(room);
        },
    );
    socket.on(
        "to",
        |socket: Socket, Data((room, payload)): Data<(String, serde_json::Value)>| async move {
            let _ = socket.to(room).emit("msg", &payload);
        },
    );
    socket.on("ask", |socket: Socket, args: RawArgs| async move {
        let reply = socket
            .timeout(Duration::from_millis(300))
            .emit_with_ack_raw("question", args)
            .await;
        let _ = socket.emit("answer", &reply.is_ok());
    });
    socket.on("bye", |socket: Socket| async move {
        socket.disconnect(false);
    });
}

fn server() -> SocketIo {
    let config = SocketIoConfig::builder()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_http_buffer_size(MAX_BODY * 4)
        .max_buffer_size(4096)
        .connect_timeout(Duration::from_millis(500))
        .max_attachments(3)
        .build();
    let io = SocketIo::builder().config(config).build();
    io.on_connection(|socket: Socket| async move { handlers(&socket) });
    let admin = io.of("/admin");
    admin.use_middleware(|socket: Socket| async move {
        match socket.handshake().auth.get("token") {
            Some(token) if token == "secret" => Ok(()),
            _ => Err(ConnectError::new("not authorized").with_data(serde_json::json!({"x": 1}))),
        }
    });
    admin.on_connection(|socket: Socket| async move { handlers(&socket) });
    io
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// One POST body each, followed by a GET that collects what the server sent.
    batches: Vec<Vec<Pkt>>,
}

async fn send(app: &axum::Router, req: Request<Body>) -> (http::StatusCode, bytes::Bytes) {
    let response = match app.clone().oneshot(req).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    answer(response).await
}

fuzz_target!(|input: Input| {
    let io = server();
    let app = axum::Router::new().merge(io.router());
    run(async {
        let open = Request::get("/socket.io/?EIO=4&transport=polling")
            .body(Body::empty())
            .expect("a request");
        let (_, body) = send(&app, open).await;
        let sid = sid_in(&body).expect("a handshake succeeds");
        let uri = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
        for batch in input.batches.iter().take(8) {
            let mut body = Vec::new();
            for pkt in batch.iter().take(16) {
                segments(pkt, &mut body);
            }
            let post = Request::post(&uri)
                .header(http::header::CONTENT_TYPE, "text/plain;charset=UTF-8")
                .body(Body::from(body.join("\x1e")))
                .expect("a request");
            let (status, _) = send(&app, post).await;
            if !status.is_success() {
                break;
            }
            let get = Request::get(&uri).body(Body::empty()).expect("a request");
            let (status, _) = send(&app, get).await;
            if !status.is_success() {
                break;
            }
        }
        io.close();
        assert_none_left("clients outlived the server's close", || io.clients_count()).await;
    });
});
