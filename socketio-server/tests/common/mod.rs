//! Shared support for the integration tests: a server on a real TCP port, probes that carry what
//! the server's handlers saw back to the test, and a raw socket.io v5 client over an engine.io
//! v4 WebSocket. Every wait is bounded by [`WAIT`].

// Each test file uses a part of this support, and names it `pub` for its sibling modules.
#![allow(dead_code, unused_imports, unreachable_pub)]

pub use bytes::Bytes;
pub use futures_util::{SinkExt, StreamExt};
pub use parser::socketio::{Decoded, Decoder, Packet, PacketData};
pub use serde::{Deserialize, Serialize};
pub use serde_json::{json, Value};
pub use socketio::{
    AckError, AckSender, Args, BroadcastAckError, ConnectError, Data, DisconnectReason, EmitError,
    EventName, RawArgs, Socket, SocketIo, SocketIoConfig, State, Str,
};
pub use std::net::SocketAddr;
pub use std::sync::{Arc, Mutex};
pub use std::time::Duration;
pub use tokio::sync::mpsc;
pub use tokio::time::{timeout, Instant};

use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

/// The bound on every wait for something that should happen.
pub const WAIT: Duration = Duration::from_secs(5);
/// How long "nothing arrives" is watched for, after a control message proved the order.
pub const QUIET: Duration = Duration::from_millis(200);

/// Awaits `fut` for at most [`WAIT`], panicking with `what` otherwise.
pub async fn within<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    match timeout(WAIT, fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {WAIT:?} waiting for {what}"),
    }
}

/// Polls `cond` every few milliseconds until it holds, for at most [`WAIT`].
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {WAIT:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Server

/// A server with Node's defaults.
pub fn new_io() -> SocketIo {
    SocketIo::new()
}

/// A server with `config`.
pub fn io_with(config: SocketIoConfig) -> SocketIo {
    SocketIo::builder().config(config).build()
}

/// Serves `io` on 127.0.0.1 on a free port, with the peer address available to handlers.
pub async fn serve(io: &SocketIo) -> SocketAddr {
    let app = axum::Router::new().merge(io.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    addr
}

// ---------------------------------------------------------------------------------------------
// Probes: what handlers saw, sent back to the test

/// The sending half of a probe, cloned into handlers.
pub type Tx<T> = mpsc::UnboundedSender<T>;

/// The receiving half of a probe.
pub struct Probe<T>(mpsc::UnboundedReceiver<T>);

pub fn probe<T>() -> (Tx<T>, Probe<T>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (tx, Probe(rx))
}

impl<T: std::fmt::Debug> Probe<T> {
    /// The next report, within [`WAIT`].
    pub async fn next(&mut self, what: &str) -> T {
        within(what, self.0.recv())
            .await
            .unwrap_or_else(|| panic!("probe closed while waiting for {what}"))
    }

    /// Asserts that nothing is reported within `window`.
    pub async fn assert_none(&mut self, what: &str, window: Duration) {
        if let Ok(Some(v)) = timeout(window, self.0.recv()).await {
            panic!("expected no {what}, got {v:?}");
        }
    }

    /// What was reported so far, without waiting.
    pub fn drain(&mut self) -> Vec<T> {
        let mut out = Vec::new();
        while let Ok(v) = self.0.try_recv() {
            out.push(v);
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Client

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A complete socket.io packet received, with the text it came in (without the engine's `4`).
#[derive(Debug, Clone)]
pub struct Received {
    pub raw: String,
    pub packet: Packet,
    pub attachments: Vec<Bytes>,
}

impl Received {
    pub fn nsp(&self) -> &str {
        &self.packet.nsp
    }

    /// The event's name, if the packet is an EVENT or BINARY_EVENT.
    pub fn event_name(&self) -> Option<&str> {
        match &self.packet.data {
            PacketData::Event(e) => Some(&e.name),
            _ => None,
        }
    }

    /// The arguments of an EVENT or ACK, parsed (placeholders stay as they are).
    pub fn args(&self) -> Vec<Value> {
        let raw = match &self.packet.data {
            PacketData::Event(e) => &e.args,
            PacketData::Ack(a) => &a.args,
            other => panic!("packet has no arguments: {other:?}"),
        };
        raw.iter()
            .map(|a| serde_json::from_str(a).expect("argument JSON"))
            .collect()
    }

    /// The ack id of an EVENT (asked for) or an ACK (answered).
    pub fn ack_id(&self) -> Option<u64> {
        match &self.packet.data {
            PacketData::Event(e) => e.id,
            PacketData::Ack(a) => Some(a.id),
            _ => None,
        }
    }

    pub fn is_disconnect(&self) -> bool {
        matches!(self.packet.data, PacketData::Disconnect)
    }
}

/// What the client got next.
#[derive(Debug)]
pub enum Incoming {
    Packet(Received),
    /// The server closed the connection (close frame, engine close packet or end of stream).
    Closed,
}

/// The text of a packet for `nsp` starts with `nsp,` except on `/`.
pub fn nsp_prefix(nsp: &str) -> String {
    if nsp == "/" {
        String::new()
    } else {
        format!("{nsp},")
    }
}

/// A raw socket.io client on one engine.io WebSocket connection.
pub struct Client {
    ws: Ws,
    /// The engine.io session id, from the open packet.
    pub engine_sid: String,
    /// The local address of the TCP connection, as the server sees the peer.
    pub local_addr: SocketAddr,
    decoder: Decoder,
    raw_pending: Option<String>,
    closed: bool,
}

impl Client {
    /// Opens an engine.io connection, joining no namespace yet.
    pub async fn open(addr: SocketAddr) -> Client {
        Client::open_with(addr, "", &[]).await
    }

    /// Opens an engine.io connection with extra query parameters (`&k=v...`) and headers.
    pub async fn open_with(addr: SocketAddr, query: &str, headers: &[(&str, &str)]) -> Client {
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket{query}");
        let mut req = url.into_client_request().expect("valid ws url");
        for (k, v) in headers {
            req.headers_mut().insert(
                http::HeaderName::from_bytes(k.as_bytes()).expect("header name"),
                http::HeaderValue::from_str(v).expect("header value"),
            );
        }
        let (mut ws, _) = within("websocket connect", connect_async(req))
            .await
            .expect("websocket connect failed");
        let local_addr = match ws.get_ref() {
            MaybeTlsStream::Plain(tcp) => tcp.local_addr().expect("local addr"),
            _ => unreachable!("plain ws"),
        };
        let first = match within("the engine open packet", ws.next()).await {
            Some(Ok(WsMessage::Text(t))) => t.to_string(),
            other => panic!("expected the open packet, got {other:?}"),
        };
        let open: Value = serde_json::from_str(
            first
                .strip_prefix('0')
                .unwrap_or_else(|| panic!("not an open packet: {first:?}")),
        )
        .expect("open packet JSON");
        Client {
            ws,
            engine_sid: open["sid"].as_str().expect("sid").to_owned(),
            local_addr,
            decoder: Decoder::default(),
            raw_pending: None,
            closed: false,
        }
    }

    /// Opens a connection and joins `nsp` without auth; returns the client and the socket id.
    pub async fn connect(addr: SocketAddr, nsp: &str) -> (Client, String) {
        let mut client = Client::open(addr).await;
        let sid = client.join_ok(nsp, None).await;
        (client, sid)
    }

    /// Sends a CONNECT to `nsp` (with `auth` when given), and returns the socket id of the
    /// CONNECT answer or the data of the CONNECT_ERROR.
    pub async fn join(&mut self, nsp: &str, auth: Option<Value>) -> Result<String, Value> {
        let auth = auth.map(|a| a.to_string()).unwrap_or_default();
        self.send(&format!("0{}{auth}", nsp_prefix(nsp))).await;
        let answer = self.next().await;
        assert_eq!(
            answer.nsp(),
            nsp,
            "answer for another namespace: {answer:?}"
        );
        match &answer.packet.data {
            PacketData::Connect(Some(data)) => {
                let data: Value = serde_json::from_str(data).expect("CONNECT JSON");
                Ok(data["sid"]
                    .as_str()
                    .unwrap_or_else(|| panic!("CONNECT answer without sid: {data}"))
                    .to_owned())
            }
            PacketData::ConnectError(Some(data)) => {
                Err(serde_json::from_str(data).expect("CONNECT_ERROR JSON"))
            }
            _ => panic!("expected CONNECT or CONNECT_ERROR, got {answer:?}"),
        }
    }

    /// Joins `nsp`, which must succeed.
    pub async fn join_ok(&mut self, nsp: &str, auth: Option<Value>) -> String {
        match self.join(nsp, auth).await {
            Ok(sid) => sid,
            Err(e) => panic!("CONNECT to {nsp} refused: {e}"),
        }
    }

    /// Sends a socket.io packet's text in an engine.io message (`4` + text).
    pub async fn send(&mut self, packet: &str) {
        self.send_engine(&format!("4{packet}")).await;
    }

    /// Sends an engine.io packet as it is.
    pub async fn send_engine(&mut self, text: &str) {
        within("a websocket send", self.ws.send(WsMessage::text(text)))
            .await
            .expect("websocket send failed");
    }

    /// Sends a binary attachment.
    pub async fn send_binary(&mut self, bytes: &[u8]) {
        within(
            "a websocket send",
            self.ws.send(WsMessage::binary(bytes.to_vec())),
        )
        .await
        .expect("websocket send failed");
    }

    /// Emits `event` with `args` (a JSON array of arguments) on `nsp`.
    pub async fn emit(&mut self, nsp: &str, event: &str, args: Value) {
        self.send(&event_text(nsp, event, &args, None)).await;
    }

    /// Emits `event` asking for an acknowledgement with `id`.
    pub async fn emit_with_ack(&mut self, nsp: &str, event: &str, args: Value, id: u64) {
        self.send(&event_text(nsp, event, &args, Some(id))).await;
    }

    /// Answers the server's event `id` on `nsp` with `args` (a JSON array).
    pub async fn ack(&mut self, nsp: &str, id: u64, args: Value) {
        assert!(args.is_array(), "ack args must be an array");
        self.send(&format!("3{}{id}{args}", nsp_prefix(nsp))).await;
    }

    /// Closes the WebSocket from the client side.
    pub async fn close(mut self) {
        let _ = timeout(Duration::from_secs(1), self.ws.close(None)).await;
        // Drain so that the close handshake completes.
        let _ = timeout(Duration::from_secs(1), async {
            while let Some(Ok(_)) = self.ws.next().await {}
        })
        .await;
    }

    /// The next packet or the close, within `window`; `None` if nothing came. Pings are
    /// answered on the way.
    pub async fn recv_within(&mut self, window: Duration) -> Option<Incoming> {
        if self.closed {
            return Some(Incoming::Closed);
        }
        let deadline = Instant::now() + window;
        loop {
            let msg = match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return None,
                Ok(msg) => msg,
            };
            let decoded = match msg {
                Some(Ok(WsMessage::Text(t))) => {
                    let t = t.as_str();
                    match t.as_bytes().first() {
                        Some(b'2') if t.len() == 1 => {
                            self.send_engine("3").await;
                            continue;
                        }
                        Some(b'6') => continue,
                        Some(b'1') => {
                            self.closed = true;
                            return Some(Incoming::Closed);
                        }
                        Some(b'4') => {
                            let text = &t[1..];
                            let result = self.decoder.decode_text(text.into());
                            if self.decoder.is_pending() {
                                self.raw_pending = Some(text.to_owned());
                            }
                            (result, text.to_owned())
                        }
                        _ => panic!("unexpected engine.io packet {t:?}"),
                    }
                }
                Some(Ok(WsMessage::Binary(b))) => {
                    let result = self.decoder.decode_binary(b);
                    let raw = if self.decoder.is_pending() {
                        String::new()
                    } else {
                        self.raw_pending.take().unwrap_or_default()
                    };
                    (result, raw)
                }
                Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => {
                    self.closed = true;
                    return Some(Incoming::Closed);
                }
                Some(Ok(_)) => continue,
            };
            match decoded {
                (
                    Ok(Some(Decoded {
                        packet,
                        attachments,
                    })),
                    raw,
                ) => {
                    return Some(Incoming::Packet(Received {
                        raw,
                        packet,
                        attachments,
                    }))
                }
                (Ok(None), _) => continue,
                (Err(e), raw) => panic!("the server sent an invalid packet {raw:?}: {e}"),
            }
        }
    }

    /// The next packet or the close, within [`WAIT`].
    pub async fn recv(&mut self) -> Incoming {
        match self.recv_within(WAIT).await {
            Some(incoming) => incoming,
            None => panic!("timed out after {WAIT:?} waiting for a packet"),
        }
    }

    /// The next packet, which must come before the connection closes.
    pub async fn next(&mut self) -> Received {
        match self.recv().await {
            Incoming::Packet(p) => p,
            Incoming::Closed => panic!("connection closed while waiting for a packet"),
        }
    }

    /// The next packet, which must be the event `name` on `nsp`; returns it.
    pub async fn next_event(&mut self, nsp: &str, name: &str) -> Received {
        let p = self.next().await;
        assert_eq!(
            (p.nsp(), p.event_name()),
            (nsp, Some(name)),
            "expected event {name:?} on {nsp} next, got {:?}",
            p.raw
        );
        p
    }

    /// The arguments of the next packet, which must be the event `name` on `nsp`.
    pub async fn next_args(&mut self, nsp: &str, name: &str) -> Vec<Value> {
        self.next_event(nsp, name).await.args()
    }

    /// Skips packets until the event `name` on `nsp` arrives.
    pub async fn event(&mut self, nsp: &str, name: &str) -> Received {
        loop {
            let p = self.next().await;
            if p.nsp() == nsp && p.event_name() == Some(name) {
                return p;
            }
        }
    }

    /// The next packet, which must be the ACK `id` on `nsp`; returns its arguments.
    pub async fn next_ack(&mut self, nsp: &str, id: u64) -> Vec<Value> {
        let p = self.next().await;
        assert!(
            p.nsp() == nsp && matches!(&p.packet.data, PacketData::Ack(a) if a.id == id),
            "expected ack {id} on {nsp} next, got {:?}",
            p.raw
        );
        p.args()
    }

    /// Asserts that nothing arrives within `window` (pings are answered meanwhile).
    pub async fn assert_quiet(&mut self, window: Duration) {
        if let Some(incoming) = self.recv_within(window).await {
            panic!("expected nothing within {window:?}, got {incoming:?}");
        }
    }

    /// Waits for the server to close the connection; returns the packets received before.
    pub async fn expect_closed(&mut self) -> Vec<Received> {
        let mut before = Vec::new();
        loop {
            match self.recv().await {
                Incoming::Packet(p) => before.push(p),
                Incoming::Closed => return before,
            }
        }
    }

    /// Whether the server has closed the connection, seen within `window`.
    pub async fn closes_within(&mut self, window: Duration) -> bool {
        let deadline = Instant::now() + window;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv_within(left).await {
                Some(Incoming::Closed) => return true,
                Some(Incoming::Packet(_)) => continue,
                None => return false,
            }
        }
    }
}

/// The text of an EVENT packet.
pub fn event_text(nsp: &str, event: &str, args: &Value, id: Option<u64>) -> String {
    let mut array = vec![Value::String(event.to_owned())];
    match args {
        Value::Array(items) => array.extend(items.iter().cloned()),
        other => panic!("event args must be an array, got {other}"),
    }
    let id = id.map(|i| i.to_string()).unwrap_or_default();
    format!("2{}{id}{}", nsp_prefix(nsp), Value::Array(array))
}

/// The server-side socket of `sid` in `nsp`.
pub fn socket_of(io: &SocketIo, nsp: &str, sid: &str) -> Socket {
    io.of(nsp)
        .get_socket(sid)
        .unwrap_or_else(|| panic!("no socket {sid} in {nsp}"))
}

/// A room list as a sorted list of strings.
pub fn sorted(rooms: impl IntoIterator<Item = impl ToString>) -> Vec<String> {
    let mut v: Vec<String> = rooms.into_iter().map(|r| r.to_string()).collect();
    v.sort();
    v
}

// ---------------------------------------------------------------------------------------------
// Plain HTTP

/// One HTTP/1.1 GET on a fresh connection: the status line's code, the headers (lower-cased
/// names) and the body.
pub async fn http_get(addr: SocketAddr, path: &str, extra: &str) -> (u16, String, String) {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n");
    tokio::io::AsyncWriteExt::write_all(&mut tcp, request.as_bytes())
        .await
        .expect("write");
    let mut raw = Vec::new();
    within(
        "the response",
        tokio::io::AsyncReadExt::read_to_end(&mut tcp, &mut raw),
    )
    .await
    .expect("read");
    let raw = String::from_utf8(raw).expect("utf-8 response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a header block");
    let status = head[9..12].parse().expect("a status code");
    (status, head.to_ascii_lowercase(), body.to_string())
}
