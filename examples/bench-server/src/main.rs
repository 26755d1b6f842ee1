//! The server the benchmarks drive (`bench/`), with the same handlers as its Node and
//! socketioxide peers in `bench/peers/`: on `/`,
//! - `echo` acks with its arguments, or emits them back as `echo` when no ack is asked;
//! - `join(room)` joins the room, then acks with no arguments;
//! - `broadcast(room | null, payload)` emits `bcast(payload)` to the room (the whole namespace
//!   for null), the sender included, then acks with no arguments.
//!
//! Beside them, `servers` acks with how many servers the cluster counts.
//!
//! `PORT` (3000) and `WORKERS` (1: one thread, as Node has; more: a multi-threaded runtime).
//! With `REDIS_URL` the server joins the cluster on that Redis (Node's
//! `@socket.io/redis-adapter` speaks the same), so broadcasts reach every server's clients.
//! Prints `{"event":"listening","port":N}` once it accepts connections.

use socketio::{AckSender, Data, RawArgs, Socket, SocketIo, SocketIoConfig};
use std::io::Write;

fn main() -> std::io::Result<()> {
    let workers: usize = std::env::var("WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(1);
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
    // `WS_READ_BUFFER` (bytes) trades idle memory against reads per large message.
    let mut config = SocketIoConfig::builder();
    if let Some(bytes) = std::env::var("WS_READ_BUFFER")
        .ok()
        .and_then(|b| b.parse().ok())
    {
        config = config.ws_read_buffer_size(bytes);
    }
    let mut builder = SocketIo::builder().config(config.build());
    if let Ok(url) = std::env::var("REDIS_URL") {
        let adapter = socketio_redis::RedisAdapter::connect(&url)
            .await
            .map_err(std::io::Error::other)?;
        builder = builder.adapter(adapter);
    }
    let io = builder.build();
    io.on_connection(|socket: Socket| async move {
        socket.on(
            "echo",
            |socket: Socket, args: RawArgs, ack: AckSender| async move {
                let _ = if ack.requested() {
                    ack.send_raw(args)
                } else {
                    socket.emit_raw("echo", args)
                };
            },
        );
        socket.on(
            "join",
            |socket: Socket, Data(room): Data<String>, ack: AckSender| async move {
                socket.join(room);
                let _ = ack.send_args(&());
            },
        );
        socket.on("broadcast", broadcast);
        socket.on("servers", |socket: Socket, ack: AckSender| async move {
            let _ = ack.send(&socket.namespace().server_count().await);
        });
    });

    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let port = listener.local_addr()?.port();
    let mut out = std::io::stdout().lock();
    writeln!(out, r#"{{"event":"listening","port":{port}}}"#)?;
    out.flush()?;
    drop(out);
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, axum::Router::new().merge(io.router()))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}

/// The payload goes out as it came in, raw: parsed for nothing, encoded once for all.
async fn broadcast(socket: Socket, RawArgs { args, attachments }: RawArgs, ack: AckSender) {
    let mut args = args.into_iter();
    let room: Option<String> = args
        .next()
        .and_then(|room| serde_json::from_str(&room).ok())
        .flatten();
    let payload = RawArgs {
        args: args.next().into_iter().collect(),
        attachments,
    };
    let namespace = socket.namespace();
    let _ = match room {
        Some(room) => namespace.to(room).emit_raw("bcast", payload),
        None => namespace.broadcast().emit_raw("bcast", payload),
    };
    let _ = ack.send_args(&());
}
