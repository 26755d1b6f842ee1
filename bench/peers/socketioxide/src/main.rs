//! socketioxide peer for the benchmarks in `bench/`: the bench-server protocol on `/`,
//! - `echo` acks with its arguments, or emits them back as `echo` when no ack is asked;
//! - `join(room)` joins the room, then acks with no arguments;
//! - `broadcast(room | null, payload)` emits `bcast(payload)` to the room (the whole namespace
//!   for null), the sender included, then acks with no arguments.
//!
//! `PORT` (3000) and `WORKERS` (1: one thread, as Node has; more: a multi-threaded runtime).
//! Prints `{"event":"listening","port":N}` once it accepts connections.

use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeTuple, Serializer};
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::adapter::LocalAdapter;
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::handler::FromMessageParts;
use socketioxide::socket::Socket;
use std::convert::Infallible;
use std::io::Write;
use std::sync::Arc;

/// An empty argument list: `&()` would ack `[null]`, a zero-length tuple acks `[]` as Node does.
const NO_ARGS: [(); 0] = [];

fn main() -> std::io::Result<()> {
    let workers: usize = env_or("WORKERS", 1);
    let runtime = if workers <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()?
    };
    runtime.block_on(serve())
}

async fn serve() -> std::io::Result<()> {
    // socketioxide's defaults differ from Node's (and ours): a per-socket send buffer of 128
    // packets, past which emits and acks are dropped (Node buffers without bound), and a 100 kB
    // max payload (Node: 1 MB). Align them so all three servers take the same workloads.
    let (layer, io) = SocketIo::builder()
        .max_buffer_size(1 << 16)
        .max_payload(1_000_000)
        .build_layer();
    io.ns("/", async |s: SocketRef| {
        s.on("echo", echo);
        s.on(
            "join",
            async |s: SocketRef, Data(room): Data<String>, ack: AckSender| {
                s.join(room);
                let _ = ack.send(&NO_ARGS);
            },
        );
        s.on("broadcast", broadcast);
    });

    let port: u16 = env_or("PORT", 3000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let port = listener.local_addr()?.port();
    let mut out = std::io::stdout().lock();
    writeln!(out, r#"{{"event":"listening","port":{port}}}"#)?;
    out.flush()?;
    drop(out);

    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let app = axum::Router::new().layer(layer);
    // No graceful shutdown: open long-polls and websockets would hold it up.
    tokio::select! {
        res = axum::serve(listener, app) => res,
        () = shutdown_signal() => Ok(()),
    }
}

async fn echo(
    s: SocketRef,
    AckRequested(asked): AckRequested,
    ack: AckSender,
    Data(args): Data<Args>,
) {
    let _ = if asked {
        ack.send(&args)
    } else {
        s.emit("echo", &args)
    };
}

async fn broadcast(
    s: SocketRef,
    io: SocketIo,
    Data((room, payload)): Data<(Option<String>, Value)>,
    ack: AckSender,
) {
    // `within` includes the sender (`to` would not); `io.emit` reaches the whole of `/`.
    let _ = match room {
        Some(room) => s.within(room).emit("bcast", &payload).await,
        None => io.emit("bcast", &payload).await,
    };
    let _ = ack.send(&NO_ARGS);
}

/// Whether the client asked for an ack: `AckSender` does not tell, and silently drops sends
/// when none was asked.
struct AckRequested(bool);

impl FromMessageParts<LocalAdapter> for AckRequested {
    type Error = Infallible;
    fn from_message_parts(
        _: &Arc<Socket<LocalAdapter>>,
        _: &mut socketioxide::handler::Value,
        ack_id: &Option<i64>,
    ) -> Result<Self, Infallible> {
        Ok(Self(ack_id.is_some()))
    }
}

/// All the arguments of an event, however many. socketioxide spreads an event's arguments only
/// into tuple types (anything else gets the first argument alone), so this poses as a tuple of
/// any length both ways. Binary attachments are not handled (the benchmarks send JSON only).
struct Args(Vec<Value>);

impl<'de> Deserialize<'de> for Args {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ArgsVisitor;
        impl<'de> Visitor<'de> for ArgsVisitor {
            type Value = Args;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("event arguments")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Args, A::Error> {
                let mut args = Vec::new();
                while let Some(arg) = seq.next_element()? {
                    args.push(arg);
                }
                Ok(Args(args))
            }
        }
        d.deserialize_tuple(usize::MAX, ArgsVisitor)
    }
}

impl Serialize for Args {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut tuple = s.serialize_tuple(self.0.len())?;
        for arg in &self.0 {
            tuple.serialize_element(arg)?;
        }
        tuple.end()
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
