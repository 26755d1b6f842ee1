//! What the resource-bound tests (`e2e-js/test/slow-reader`, `abandoned` and `churn`) ask of the
//! server, beside Node's conformance contract:
//! - `stats` acks with `{clients, sockets, tasks}`: the open engine.io connections (Node's
//!   `io.engine.clientsCount`), the sockets in `/`, and the tokio tasks alive (Node: `null`);
//! - `flood({to, count, size, volatile, pause_ms})` makes up to `count` emit attempts of `flood`
//!   with a string of `size` bytes to the socket `to`, volatile or not, pausing `pause_ms` after
//!   each attempt that did not go out (1 ms by default), until an emit finds the socket
//!   disconnected; it acks with what the emitter saw: `{sent, full, dropped, disconnected,
//!   elapsed_ms}` (at most 16 MiB a message, 100,000 attempts, 1 s pauses). Rust only: Node
//!   has no send-queue bound to see.
//!
//! The environment can change the limits under test: `MAX_BUFFER_SIZE` (bytes; 4 MiB),
//! `PING_INTERVAL_MS` and `PING_TIMEOUT_MS` (the contract's 300 and 200), and
//! `CONNECT_TIMEOUT_MS` (the contract's 1000; storms of reconnections give a loaded machine
//! Node's 45000, as a CONNECT may wait on the client's event loop longer than a second).

use serde::Deserialize;
use serde_json::json;
use socketio::{AckSender, Data, EmitError, RawArgs, Socket, SocketIo, SocketIoConfigBuilder, Str};
use std::time::{Duration, Instant};

/// The contract's settings, with what the environment overrides.
pub fn config(mut config: SocketIoConfigBuilder) -> SocketIoConfigBuilder {
    let number = |name: &str| std::env::var(name).ok()?.parse::<u64>().ok();
    if let Some(bytes) = number("MAX_BUFFER_SIZE") {
        config = config.max_buffer_size(bytes as usize);
    }
    if let Some(ms) = number("PING_INTERVAL_MS") {
        config = config.ping_interval(Duration::from_millis(ms));
    }
    if let Some(ms) = number("PING_TIMEOUT_MS") {
        config = config.ping_timeout(Duration::from_millis(ms));
    }
    if let Some(ms) = number("CONNECT_TIMEOUT_MS") {
        config = config.connect_timeout(Duration::from_millis(ms));
    }
    config
}

pub fn handlers(io: &SocketIo, socket: &Socket) {
    let server = io.clone();
    socket.on("stats", move |socket: Socket, ack: AckSender| {
        let clients = server.clients_count();
        async move {
            let _ = ack.send(&json!({
                "clients": clients,
                "sockets": socket.namespace().sockets().len(),
                "tasks": tokio::runtime::Handle::current().metrics().num_alive_tasks(),
            }));
        }
    });
    socket.on("flood", flood);
}

#[derive(Deserialize)]
struct Flood {
    to: String,
    count: u32,
    size: usize,
    #[serde(default)]
    volatile: bool,
    #[serde(default = "one_ms")]
    pause_ms: u64,
}

fn one_ms() -> u64 {
    1
}

/// What one flood may ask for, whatever the client says: 16 MiB a message, 100,000 attempts.
const MAX_SIZE: usize = 16 << 20;
const MAX_COUNT: u32 = 100_000;

async fn flood(socket: Socket, Data(flood): Data<Flood>, ack: AckSender) {
    let Some(target) = socket.namespace().get_socket(&flood.to) else {
        let _ = ack.send(&json!({ "error": "no such socket" }));
        return;
    };
    // The argument is serialized once; each attempt still encodes a packet of its own, as any
    // emit does, so that what is queued holds its own memory.
    let text = Str::from(format!("\"{}\"", "x".repeat(flood.size.min(MAX_SIZE))));
    let (mut sent, mut full, mut dropped, mut disconnected) = (0u32, 0u32, 0u32, false);
    let started = Instant::now();
    for _ in 0..flood.count.min(MAX_COUNT) {
        let args = RawArgs {
            args: vec![text.clone()],
            attachments: Vec::new(),
        };
        let went_out = if flood.volatile {
            target.volatile().emit_raw("flood", args)
        } else {
            target.emit_raw("flood", args)
        };
        match went_out {
            Ok(()) => sent += 1,
            Err(EmitError::Dropped) => dropped += 1,
            Err(EmitError::Full) => full += 1,
            Err(_) => {
                disconnected = true;
                break;
            }
        }
        if went_out.is_ok() {
            tokio::task::yield_now().await;
        } else {
            tokio::time::sleep(Duration::from_millis(flood.pause_ms.min(1000))).await;
        }
    }
    let _ = ack.send(&json!({
        "sent": sent,
        "full": full,
        "dropped": dropped,
        "disconnected": disconnected,
        "elapsed_ms": started.elapsed().as_millis() as u64,
    }));
}
