//! The WebSocket scenarios: `echo`, `fanout` and `idle`. Each returns its figures as JSON.

use crate::msgpack;
use crate::stats::{cpu_during, rss_kb, CpuMeter, Recorder, Window};
use crate::ws::{ack_id, stamp, Client, Error, Speech};
use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};
use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tokio::task::{spawn_local, JoinHandle};
use tokio_tungstenite::tungstenite::Message;

/// The small payload of `echo`: what a chat message or a game update looks like.
pub(crate) const PAYLOAD: &str = r#"{"room":"general","text":"hello, world","n":42}"#;
/// How many handshakes run at once while a scenario connects its clients.
const CONNECTING: usize = 64;

pub struct Options {
    pub addr: String,
    pub connections: usize,
    pub in_flight: usize,
    pub warmup: Duration,
    pub seconds: Duration,
    pub server_pid: Option<u32>,
    /// Where the receivers of `fanout` connect, when not to the sender's server: another
    /// server of a cluster, so that every delivery crossed Redis.
    pub receivers_addr: Option<String>,
    /// The argument of `echo`'s calls, in turn: [`PAYLOAD`], or larger ones
    /// (`--payload-bytes`).
    pub payloads: Vec<Value>,
    /// How `echo`'s clients speak: the msgpack parser (`--parser msgpack`), per-message
    /// deflate (`--deflate`).
    pub speech: Speech,
}

/// How many different large payloads `echo` cycles through: more than a deflate window (32 KiB)
/// holds, so that a compressor keeping its context across messages (Node's) finds no message
/// it has already sent, as in real traffic; it still finds the words.
const DISTINCT_PAYLOADS: u32 = 64;

/// [`DISTINCT_PAYLOADS`] objects of about `bytes` bytes each, as [`payload_of`] makes them.
pub fn payloads_of(bytes: usize) -> Vec<Value> {
    (0..DISTINCT_PAYLOADS)
        .map(|i| payload_of(bytes, 42 + i))
        .collect()
}

/// A JSON object of about `bytes` bytes shaped as [`PAYLOAD`], its text made of words in a
/// pseudo-random order (from `seed`): as compressible as prose, not as a run of one letter.
fn payload_of(bytes: usize, mut seed: u32) -> Value {
    const WORDS: [&str; 16] = [
        "hello",
        "world",
        "socket",
        "message",
        "room",
        "general",
        "rust",
        "node",
        "server",
        "client",
        "event",
        "broadcast",
        "latency",
        "payload",
        "json",
        "deliver",
    ];
    let mut text = String::new();
    let overhead = PAYLOAD.len() - "hello, world".len();
    while text.len() + overhead < bytes {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        text.push_str(WORDS[(seed >> 16) as usize % WORDS.len()]);
        text.push(' ');
    }
    text.truncate(bytes.saturating_sub(overhead));
    json!({"room": "general", "text": text, "n": 42})
}

/// How `echo` writes its calls and reads their acks: JSON text, or msgpack.
#[derive(Clone)]
pub(crate) enum Wire {
    Json(Rc<[String]>),
    MsgPack(Rc<[rmpv::Value]>),
}

impl Wire {
    pub(crate) fn of(o: &Options) -> Self {
        match o.speech.msgpack {
            true => Wire::MsgPack(o.payloads.iter().map(msgpack::from_json).collect()),
            false => Wire::Json(o.payloads.iter().map(Value::to_string).collect()),
        }
    }

    /// Call `id`, with the payloads in turn.
    pub(crate) fn call(&self, id: u64) -> Message {
        match self {
            Wire::Json(payloads) => {
                let payload = &payloads[id as usize % payloads.len()];
                Message::text(format!("42{id}[\"echo\",{payload}]"))
            }
            Wire::MsgPack(payloads) => {
                let payload = &payloads[id as usize % payloads.len()];
                Message::binary(msgpack::event(id, "echo", payload))
            }
        }
    }

    pub(crate) fn ack_id(message: &Message) -> Option<u64> {
        match message {
            Message::Text(text) => ack_id(text),
            Message::Binary(bytes) => match msgpack::read(bytes) {
                msgpack::Incoming::Ack(id) => Some(id),
                _ => None,
            },
            _ => None,
        }
    }
}

/// `figures` with the fields of `extra` added.
pub fn with(extra: Value, mut figures: Value) -> Value {
    if let (Value::Object(figures), Value::Object(extra)) = (&mut figures, extra) {
        figures.extend(extra);
    }
    figures
}

/// Connects `n` clients, [`CONNECTING`] at a time; the clients that failed are counted.
pub(crate) async fn connect_all(addr: &str, n: usize, speech: Speech) -> (Vec<Client>, usize) {
    let results: Vec<Result<Client, Error>> = stream::iter(0..n)
        .map(|_| Client::connect_with(addr, speech))
        .buffer_unordered(CONNECTING)
        .collect()
        .await;
    let total = results.len();
    let clients: Vec<Client> = results.into_iter().filter_map(Result::ok).collect();
    let failed = total - clients.len();
    (clients, failed)
}

/// Lets the tasks run until the window closes, then stops them.
pub(crate) async fn run_until_end(window: Window, tasks: Vec<JoinHandle<()>>) {
    tokio::time::sleep_until((window.end + Duration::from_millis(50)).into()).await;
    for task in tasks {
        task.abort();
    }
}

/// `connections` clients, each keeping `in_flight` acked `echo` calls outstanding.
pub async fn echo(o: &Options) -> Result<Value, Error> {
    let (clients, failed) = connect_all(&o.addr, o.connections, o.speech).await;
    let window = Window::after(o.warmup, o.seconds);
    let cpu = cpu_during(window, o.server_pid);
    let acks = Recorder::new();
    // The bytes that crossed the wire in the window, both ways, frame headers included.
    let wire_bytes = spawn_local(async move {
        tokio::time::sleep_until(window.start.into()).await;
        let before = crate::tcp::wire_bytes();
        tokio::time::sleep_until(window.end.into()).await;
        crate::tcp::wire_bytes() - before
    });
    let in_flight = o.in_flight;
    let wire = Wire::of(o);
    let tasks = clients
        .into_iter()
        .map(|client| {
            let echo = EchoClient {
                wire: wire.clone(),
                in_flight,
                window,
                acks: acks.clone(),
            };
            spawn_local(echo.run(client))
        })
        .collect();
    run_until_end(window, tasks).await;
    let wire_bytes = wire_bytes.await?;
    Ok(with(
        cpu.await?,
        json!({
            "acks_per_s": acks.count() as f64 / window.seconds(),
            "p50_us": acks.quantile_us(0.5),
            "p99_us": acks.quantile_us(0.99),
            "failed_connects": failed,
            "payload_bytes": o.payloads[0].to_string().len(),
            // A call and its ack as they crossed the wire: compressed where deflate was
            // agreed, frame headers and the few pings of the window included.
            "wire_bytes_per_echo": wire_bytes as f64 / acks.count().max(1) as f64,
        }),
    ))
}

/// The acked calls of one client: ids in flight are consecutive, so a small ring holds their
/// send times.
struct Calls {
    sent: [Instant; 64],
    next: u64,
}

impl Calls {
    fn new(origin: Instant) -> Self {
        Self {
            sent: [origin; 64],
            next: 0,
        }
    }

    /// The id of a call made now.
    fn start(&mut self, now: Instant) -> u64 {
        self.sent[(self.next % 64) as usize] = now;
        self.next += 1;
        self.next - 1
    }

    /// When the call was made.
    fn sent(&self, id: u64) -> Instant {
        self.sent[(id % 64) as usize]
    }
}

/// One `echo` client's loop and what it reports to.
struct EchoClient {
    wire: Wire,
    in_flight: usize,
    window: Window,
    acks: Recorder,
}

impl EchoClient {
    fn call(&self, calls: &mut Calls) -> Message {
        let message = self.wire.call(calls.next);
        calls.start(Instant::now());
        message
    }

    async fn run(self, mut client: Client) {
        let mut calls = Calls::new(self.window.origin);
        for _ in 0..self.in_flight {
            if client.feed_message(self.call(&mut calls)).await.is_err() {
                return;
            }
        }
        if client.flush().await.is_err() {
            return;
        }
        let mut batch = Vec::new();
        while client.next_messages(&mut batch).await.is_ok() {
            let now = Instant::now();
            for message in batch.drain(..) {
                let Some(id) = Wire::ack_id(&message) else {
                    continue;
                };
                if self.window.contains(now) {
                    self.acks.record(now - calls.sent(id));
                }
                if client.feed_message(self.call(&mut calls)).await.is_err() {
                    return;
                }
            }
            if client.flush().await.is_err() {
                return;
            }
        }
    }
}

/// `connections` receivers and one sender keeping `in_flight` acked `broadcast` calls to the
/// whole namespace outstanding; every delivery's latency is from the sender's stamp.
pub async fn fanout(o: &Options) -> Result<Value, Error> {
    let deliveries = Recorder::new();
    let receivers_addr = o.receivers_addr.as_deref().unwrap_or(&o.addr);
    let (receivers, failed) = connect_all(receivers_addr, o.connections, Speech::default()).await;
    let sender = Client::connect(&o.addr).await?;
    // Across servers, only what reached the other server counts.
    let own = if o.receivers_addr.is_some() {
        Recorder::new()
    } else {
        deliveries.clone()
    };
    let window = Window::after(o.warmup, o.seconds);
    let cpu = cpu_during(window, o.server_pid);
    let broadcasts = Recorder::new();
    // Across servers, Redis and the other server would queue without bound behind a sender
    // paced by acks alone: there, a broadcast is in flight until every receiver has it.
    let flow = o.receivers_addr.as_ref().map(|_| Flow {
        arrived: Rc::default(),
        receivers: receivers.len() as u64,
    });
    let mut tasks: Vec<JoinHandle<()>> = receivers
        .into_iter()
        .map(|client| spawn_local(receive(client, window, deliveries.clone(), flow.clone())))
        .collect();
    tasks.push(spawn_local(broadcaster(
        sender,
        o.in_flight,
        window,
        own,
        broadcasts.clone(),
        flow,
    )));
    run_until_end(window, tasks).await;
    Ok(with(
        cpu.await?,
        json!({
        "deliveries_per_s": deliveries.count() as f64 / window.seconds(),
        "broadcasts_per_s": broadcasts.count() as f64 / window.seconds(),
        "p50_us": deliveries.quantile_us(0.5),
        "p99_us": deliveries.quantile_us(0.99),
        "failed_connects": failed,
        }),
    ))
}

fn delivered(packet: &str, window: Window, deliveries: &Recorder) {
    if !packet.starts_with("42[\"bcast\"") {
        return;
    }
    let now = Instant::now();
    if let (true, Some(t)) = (window.contains(now), stamp(packet)) {
        let latency = window.micros(now).saturating_sub(t);
        deliveries.record(Duration::from_micros(latency));
    }
}

/// How many broadcast deliveries have arrived in all, for pacing the sender.
#[derive(Clone)]
pub(crate) struct Flow {
    arrived: Rc<Cell<u64>>,
    receivers: u64,
}

pub(crate) async fn receive(
    mut client: Client,
    window: Window,
    deliveries: Recorder,
    flow: Option<Flow>,
) {
    while let Ok(packet) = client.next().await {
        delivered(&packet, window, &deliveries);
        if let Some(flow) = &flow {
            flow.arrived.set(flow.arrived.get() + 1);
        }
    }
}

async fn broadcaster(
    mut client: Client,
    in_flight: usize,
    window: Window,
    deliveries: Recorder,
    broadcasts: Recorder,
    flow: Option<Flow>,
) {
    let mut calls = Calls::new(window.origin);
    let call = |calls: &mut Calls| {
        let now = Instant::now();
        let id = calls.start(now);
        format!(
            "42{id}[\"broadcast\",null,{{\"t\":{}}}]",
            window.micros(now)
        )
    };
    for _ in 0..in_flight {
        if client.send(call(&mut calls)).await.is_err() {
            return;
        }
    }
    let mut batch = Vec::new();
    while client.next_batch(&mut batch).await.is_ok() {
        for packet in batch.drain(..) {
            let Some(id) = ack_id(&packet) else {
                delivered(&packet, window, &deliveries);
                continue;
            };
            let now = Instant::now();
            if window.contains(now) {
                broadcasts.record(now - calls.sent(id));
            }
            if let Some(flow) = &flow {
                let settled = (calls.next + 1).saturating_sub(in_flight as u64);
                while flow.arrived.get() < settled * flow.receivers {
                    tokio::time::sleep(Duration::from_micros(200)).await;
                }
            }
            if client.feed(call(&mut calls)).await.is_err() {
                return;
            }
        }
        if client.flush().await.is_err() {
            return;
        }
    }
}

/// `connections` clients that connect as fast as the server takes them, then stay idle: the
/// connect rate, and the server's resident memory per connection.
pub async fn idle(o: &Options) -> Result<Value, Error> {
    let pid = o.server_pid.ok_or("idle needs --server-pid")?;
    let before = rss_kb(pid).ok_or("cannot read the server's memory")?;
    let start = Instant::now();
    // Both sides' CPU while connecting: the connect rate is the server's only if it is busier.
    let own = CpuMeter::start(std::process::id());
    let server = CpuMeter::start(pid);
    let (clients, failed) = connect_all(&o.addr, o.connections, Speech::default()).await;
    let connecting = start.elapsed();
    let loadgen_cpu = own.and_then(|m| m.load());
    let server_cpu = server.and_then(|m| m.load());
    let connected = clients.len();
    // Idle clients still answer pings, so a slow run never loses them.
    let tasks: Vec<JoinHandle<()>> = clients
        .into_iter()
        .map(|mut client| spawn_local(async move { while client.next().await.is_ok() {} }))
        .collect();
    tokio::time::sleep(o.warmup).await;
    let after = rss_kb(pid).ok_or("cannot read the server's memory")?;
    for task in tasks {
        task.abort();
    }
    Ok(json!({
        "connects_per_s": connected as f64 / connecting.as_secs_f64(),
        "rss_before_kb": before,
        "rss_after_kb": after,
        "kb_per_connection": (after.saturating_sub(before)) as f64 / connected.max(1) as f64,
        "connected": connected,
        "failed_connects": failed,
        "loadgen_cpu": loadgen_cpu,
        "server_cpu": server_cpu,
    }))
}
