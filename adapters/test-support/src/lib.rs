//! What the cluster adapters' tests share (a dev-dependency, never published): a real
//! `redis-server` per test on a free port, stopped with the test; a real PostgreSQL the same
//! way (`Postgres`, Debian's package, run as the `postgres` user when the tests run as root);
//! a Redis 7 Cluster of three masters or more (`RedisCluster`, in `redis_cluster.rs`);
//! a server of ours on a free port; and a socket.io client that speaks the wire format
//! itself, so that a test sees exactly what a server sends.

#![allow(missing_docs, missing_debug_implementations)] // test support, not an API

mod redis_cluster;
pub use redis_cluster::{ClusterNode, RedisCluster};

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use socketio::SocketIo;
use tokio_tungstenite::tungstenite::Message;

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

/// How long a test waits for anything it expects.
pub const WAIT: Duration = Duration::from_secs(5);

/// A server of ours on a free port, built from `builder` (its adapter already given).
pub async fn serve(builder: socketio::SocketIoBuilder) -> (SocketIo, std::net::SocketAddr) {
    let io = builder.build();
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
    /// The private session id of the CONNECT reply, with recovery on.
    pub pid: Option<String>,
    /// The events that came before the CONNECT reply (what a recovered session missed).
    pub before_connect: Vec<(serde_json::Value, Vec<Vec<u8>>)>,
}

/// An event's last argument: its offset, with recovery on.
pub fn offset_of(event: &serde_json::Value) -> String {
    event
        .as_array()
        .and_then(|args| args.last())
        .and_then(serde_json::Value::as_str)
        .expect("an offset as the last argument")
        .to_owned()
}

impl Client {
    pub async fn connect(addr: std::net::SocketAddr) -> Self {
        Self::connect_to(addr, "/").await
    }

    /// A client connected to the namespace `nsp`.
    pub async fn connect_to(addr: std::net::SocketAddr, nsp: &str) -> Self {
        Self::connect_with(addr, nsp, None).await
    }

    /// A client connected to `/` with this CONNECT payload (`{pid, offset}` to recover).
    pub async fn connect_auth(addr: std::net::SocketAddr, auth: serde_json::Value) -> Self {
        Self::connect_with(addr, "/", Some(auth)).await
    }

    pub async fn connect_with(
        addr: std::net::SocketAddr,
        nsp: &str,
        auth: Option<serde_json::Value>,
    ) -> Self {
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("ws connect");
        let mut client = Self {
            ws,
            id: String::new(),
            pid: None,
            before_connect: Vec::new(),
        };
        client.next_text().await; // the engine's open packet
        let prefix = match nsp {
            "/" => "40".to_owned(),
            nsp => format!("40{nsp},"),
        };
        let auth = auth.map(|auth| auth.to_string()).unwrap_or_default();
        client
            .ws
            .send(Message::text(format!("{prefix}{auth}")))
            .await
            .expect("send connect");
        let connected = loop {
            let text = client.next_text().await;
            if let Some(reply) = text.strip_prefix(&prefix) {
                break reply.to_owned();
            }
            let event = client
                .event_of(&text)
                .await
                .expect("an event before CONNECT");
            client.before_connect.push(event);
        };
        let json: serde_json::Value = serde_json::from_str(&connected).expect("json");
        client.id = json["sid"].as_str().expect("sid").to_string();
        client.pid = json["pid"].as_str().map(str::to_owned);
        client
    }

    /// Drops the connection without a word, as a network failure: the server keeps the
    /// session.
    pub fn drop_connection(self) {
        drop(self.ws);
    }

    /// The next text frame (pings answered on the way), as it came.
    pub async fn next_text(&mut self) -> String {
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
            if let Some(event) = self.event_of(&text).await {
                return event;
            }
        }
    }

    /// The event packet `text` (with its attachments, read next), or `None` for another.
    async fn event_of(&mut self, text: &str) -> Option<(serde_json::Value, Vec<Vec<u8>>)> {
        let rest = text.strip_prefix('4')?;
        let (kind, rest) = rest.split_at(1);
        let (attachments, json) = match kind {
            "2" => (0, rest),
            "5" => {
                let (n, json) = rest.split_once('-').expect("attachment count");
                (n.parse().expect("a count"), json)
            }
            _ => return None,
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
        Some((serde_json::from_str(json).expect("event json"), binary))
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

/// A PostgreSQL of its own (Debian's `postgresql` package, any version), in a fresh data
/// directory on a free port, stopped and deleted with this value. As root, it runs as the
/// `postgres` user: `initdb` and `postgres` refuse root.
pub struct Postgres {
    child: Option<Child>,
    pub port: u16,
    dir: std::path::PathBuf,
    bin: std::path::PathBuf,
    uid: Option<(u32, u32)>,
}

impl Postgres {
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let bin = postgres_bin();
        let uid = postgres_user();
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("sio-pg-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a data directory");
        if let Some((user, group)) = uid {
            std::os::unix::fs::chown(&dir, Some(user), Some(group)).expect("chown to postgres");
        }
        let initdb = as_user(Command::new(bin.join("initdb")), uid)
            .args(["-D", &dir.join("data").to_string_lossy()])
            .args(["-U", "postgres", "-A", "trust", "--no-sync"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("initdb (apt-get install -y postgresql)");
        assert!(initdb.success(), "initdb failed");
        let mut postgres = Self {
            child: None,
            port,
            dir,
            bin,
            uid,
        };
        postgres.start_again();
        postgres
    }

    /// Starts it (again) on the same port and data.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = as_user(Command::new(self.bin.join("postgres")), self.uid)
            .args(["-D", &self.dir.join("data").to_string_lossy()])
            .args(["-p", &self.port.to_string(), "-h", "127.0.0.1"])
            .args(["-k", &self.dir.to_string_lossy()])
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=200"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("postgres");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-q"])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "postgres did not start on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops it at once (SIGKILL of every process): connections drop as in a crash.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // The backends are the postmaster's children: kill them too, as a crash would.
            let _ = Command::new("pkill")
                .args(["-KILL", "-P", &child.id().to_string()])
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
        // Its lock file names a dead process: the next start ignores it.
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The newest `bin` directory of Debian's PostgreSQL packages.
fn postgres_bin() -> std::path::PathBuf {
    let mut found: Vec<(u32, std::path::PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("/usr/lib/postgresql (apt-get install -y postgresql)")
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("postgres").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .expect("a PostgreSQL under /usr/lib/postgresql")
        .1
}

/// The `postgres` user's uid and gid when running as root; `None` otherwise.
fn postgres_user() -> Option<(u32, u32)> {
    let id = |args: &[&str]| -> Option<u32> {
        let out = Command::new("id").args(args).output().ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    if id(&["-u"])? != 0 {
        return None;
    }
    Some((
        id(&["-u", "postgres"]).expect("a postgres user"),
        id(&["-g", "postgres"]).expect("a postgres group"),
    ))
}

fn as_user(mut command: Command, uid: Option<(u32, u32)>) -> Command {
    use std::os::unix::process::CommandExt;
    if let Some((user, group)) = uid {
        command.uid(user).gid(group);
        // Its own working directory need not be readable by postgres.
        command.current_dir("/");
    }
    command
}
