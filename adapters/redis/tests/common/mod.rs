//! A real `redis-server` per test, on a free port, stopped with the test; and servers of ours
//! sharing it.

#![allow(dead_code, unreachable_pub)] // shared by the test files, each using some

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` that lives as long as this value.
pub struct Redis {
    child: Child,
    pub port: u16,
}

impl Redis {
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        Self::start_on(port)
    }

    /// Starts one on `port`: also how a test restarts Redis where its servers expect it.
    pub fn start_on(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server on PATH (apt-get install -y redis-server)");
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, port }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Stops the process (SIGSTOP) until the returned guard is dropped (SIGCONT), even by a
    /// failing test: Redis keeps its connections and answers nothing, as a Redis that cannot
    /// keep up.
    pub fn pause(&self) -> Paused {
        signal(self.child.id(), "-STOP");
        Paused {
            pid: self.child.id(),
        }
    }
}

/// A paused `redis-server`, running again once this is dropped.
pub struct Paused {
    pid: u32,
}

impl Drop for Paused {
    fn drop(&mut self) {
        signal(self.pid, "-CONT");
    }
}

fn signal(pid: u32, signal: &str) {
    let sent = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("kill on PATH");
    assert!(sent.success(), "kill {signal} {pid}");
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

use futures_util::{SinkExt, StreamExt};
use socketio::SocketIo;
use socketio_redis::{RedisAdapter, RedisAdapterConfig};
use tokio_tungstenite::tungstenite::Message;

pub const WAIT: Duration = Duration::from_secs(5);

/// A server of ours on a free port, its adapter on `redis`.
pub async fn server(redis: &Redis) -> (SocketIo, std::net::SocketAddr) {
    server_with(redis, RedisAdapterConfig::default()).await
}

pub async fn server_with(
    redis: &Redis,
    config: RedisAdapterConfig,
) -> (SocketIo, std::net::SocketAddr) {
    server_from(redis, config, SocketIo::builder()).await
}

/// A server of ours built from `builder`, its adapter on `redis`.
pub async fn server_from(
    redis: &Redis,
    config: RedisAdapterConfig,
    builder: socketio::SocketIoBuilder,
) -> (SocketIo, std::net::SocketAddr) {
    let adapter = RedisAdapter::connect_with(&redis.url(), config)
        .await
        .expect("redis adapter");
    serve_built(builder, adapter).await
}

/// A server of ours on a free port, with `adapter`.
pub async fn serve(adapter: RedisAdapter) -> (SocketIo, std::net::SocketAddr) {
    serve_built(SocketIo::builder(), adapter).await
}

/// A server of ours on a free port, built from `builder` with `adapter`.
async fn serve_built(
    builder: socketio::SocketIoBuilder,
    adapter: RedisAdapter,
) -> (SocketIo, std::net::SocketAddr) {
    let io = builder.adapter(adapter).build();
    let app = axum::Router::new().merge(io.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (io, addr)
}

/// Waits until every one of `servers` counts `n` servers in the cluster.
pub async fn cluster_of(n: usize, servers: &[&SocketIo]) {
    cluster_of_within(n, servers, WAIT).await
}

pub async fn cluster_of_within(n: usize, servers: &[&SocketIo], wait: Duration) {
    let deadline = Instant::now() + wait;
    for io in servers {
        while io.of("/").server_count().await != n {
            assert!(
                Instant::now() < deadline,
                "the cluster never counted {n} servers"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A socket.io client connected to `/` over WebSocket, speaking the wire format itself.
pub struct Client {
    ws: Ws,
    pub id: String,
}

impl Client {
    pub async fn connect(addr: std::net::SocketAddr) -> Self {
        Self::connect_to(addr, "/").await
    }

    /// A client connected to the namespace `nsp`.
    pub async fn connect_to(addr: std::net::SocketAddr, nsp: &str) -> Self {
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("ws connect");
        let mut client = Self {
            ws,
            id: String::new(),
        };
        client.next_text().await; // the engine's open packet
        let prefix = match nsp {
            "/" => "40".to_owned(),
            nsp => format!("40{nsp},"),
        };
        client
            .ws
            .send(Message::text(prefix.clone()))
            .await
            .expect("send connect");
        let connected = client.next_text().await;
        let json: serde_json::Value =
            serde_json::from_str(connected.strip_prefix(&prefix).expect("a CONNECT"))
                .expect("json");
        client.id = json["sid"].as_str().expect("sid").to_string();
        client
    }

    async fn next_text(&mut self) -> String {
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a packet in time")
                .expect("open connection")
                .expect("a frame");
            match message {
                Message::Text(t) if t.as_str() == "2" => {
                    self.ws.send(Message::text("3")).await.expect("pong");
                }
                Message::Text(t) => return t.to_string(),
                Message::Binary(b) => return format!("<binary {} bytes>", b.len()),
                _ => {}
            }
        }
    }

    /// The next event packet, as its JSON array (`["name", ...args]`); binary attachments
    /// that follow it are returned beside it.
    pub async fn next_event(&mut self) -> (serde_json::Value, Vec<Vec<u8>>) {
        loop {
            let text = self.next_text().await;
            let Some(rest) = text.strip_prefix('4') else {
                continue;
            };
            let (kind, rest) = rest.split_at(1);
            let (attachments, json) = match kind {
                "2" => (0, rest),
                "5" => {
                    let (n, json) = rest.split_once('-').expect("attachment count");
                    (n.parse().expect("a count"), json)
                }
                _ => continue,
            };
            // A namespace other than `/` comes next, up to a comma.
            let json = match json.strip_prefix('/') {
                Some(_) => json.split_once(',').expect("the namespace's comma").1,
                None => json,
            };
            let mut binary = Vec::new();
            for _ in 0..attachments {
                let message = tokio::time::timeout(WAIT, self.ws.next())
                    .await
                    .expect("attachment");
                if let Some(Ok(Message::Binary(b))) = message {
                    binary.push(b.to_vec());
                }
            }
            return (serde_json::from_str(json).expect("event json"), binary);
        }
    }

    /// Answers the next event, which must ask for an acknowledgement, with `reply`; returns
    /// the event.
    pub async fn ack_next_event(&mut self, reply: serde_json::Value) -> serde_json::Value {
        loop {
            let text = self.next_text().await;
            let Some(rest) = text.strip_prefix("42") else {
                continue;
            };
            let (id, json) = rest.split_at(rest.find('[').expect("an event array"));
            assert!(
                !id.is_empty(),
                "the event asks for no acknowledgement: {text}"
            );
            let answer = format!("43{id}{}", serde_json::json!([reply]));
            self.ws.send(Message::text(answer)).await.expect("send ack");
            return serde_json::from_str(json).expect("event json");
        }
    }

    /// Asserts that no event arrives for a while.
    pub async fn assert_no_event(&mut self, quiet: Duration) {
        if let Ok(event) = tokio::time::timeout(quiet, self.next_event()).await {
            panic!("unexpected event {event:?}");
        }
    }
}

/// Another server of the cluster as Redis sees it: its subscriber and its publisher, speaking
/// to Redis directly, to send what Node's servers (or hostile ones) would.
pub struct Stranger {
    messages: redis::aio::PubSubStream,
    publisher: redis::aio::MultiplexedConnection,
}

impl Stranger {
    pub async fn join(redis: &Redis, channels: &[&str]) -> Self {
        let client = redis::Client::open(redis.url()).expect("redis url");
        let mut pubsub = client.get_async_pubsub().await.expect("pubsub");
        for channel in channels {
            pubsub.subscribe(*channel).await.expect("subscribe");
        }
        let publisher = client
            .get_multiplexed_async_connection()
            .await
            .expect("publisher");
        Self {
            messages: pubsub.into_on_message(),
            publisher,
        }
    }

    pub async fn publish(&mut self, channel: &str, payload: Vec<u8>) {
        redis::cmd("PUBLISH")
            .arg(channel)
            .arg(payload)
            .query_async::<()>(&mut self.publisher)
            .await
            .expect("publish");
    }

    /// The next message on any of its channels.
    pub async fn next(&mut self) -> Vec<u8> {
        let message = tokio::time::timeout(WAIT, self.messages.next())
            .await
            .expect("a message in time")
            .expect("subscribed");
        message.get_payload_bytes().to_vec()
    }
}
