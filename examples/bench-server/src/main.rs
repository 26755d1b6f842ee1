//! The server the benchmarks drive (`bench/`), with the same handlers as its Node and
//! socketioxide peers in `bench/peers/`: on `/`,
//! - `echo` acks with its arguments, or emits them back as `echo` when no ack is asked;
//! - `join(room)` joins the room, then acks with no arguments;
//! - `broadcast(room | null, payload)` emits `bcast(payload)` to the room (the whole namespace
//!   for null), the sender included, then acks with no arguments.
//!
//! Beside them, in a cluster only (the benchmarks' peers register just the three above),
//! for the cluster tests (`e2e-js/test/redis-cluster.test.mjs`): `servers` acks
//! with how many servers the cluster counts, `fetch` with the ids of every socket of the
//! cluster, `ask-servers` with the names (`SERVER_NAME`) the other servers answer to a
//! server-side `whoami`, `remote-join(id, room)`, `remote-leave(id, room)` and
//! `remote-disconnect(id)` act on that socket wherever it is, and
//! `ack-all` sends `ping(1)` with an acknowledgement to every socket of the cluster and acks
//! with their sorted answers.
//!
//! `PORT` (3000) and `WORKERS` (1: one thread, as Node has; more: a multi-threaded runtime).
//! `RECOVERY=1` turns connection state recovery on with Node's defaults (2 minutes).
//! `PARSER=msgpack` speaks the msgpack parser (Node: `socket.io-msgpack-parser`).
//! `METRICS=1` keeps the Prometheus metrics (`SocketIoBuilder::metrics`), served at `/metrics`.
//! `ADMIN_UI=production` (or `development`) turns the admin UI on (`socketio_admin_ui::instrument`,
//! no authentication) in that mode, to measure what watching a server costs.
//! `PER_MESSAGE_DEFLATE=1` compresses WebSocket messages of 1024 bytes and more for clients
//! that offer it (Node: `perMessageDeflate: true`).
//! With `REDIS_URL` the server joins the cluster on that Redis (Node's
//! `@socket.io/redis-adapter` speaks the same), so broadcasts reach every server's clients;
//! with `REDIS_STREAMS_URL` through Redis Streams (Node's `@socket.io/redis-streams-adapter`),
//! with `POSTGRES_URL` through PostgreSQL (Node's `@socket.io/postgres-adapter`; the
//! attachments table is made when missing), with `REDIS_CLUSTER_URLS` (comma-separated
//! `redis://host:port` URLs of nodes of one Redis 7 Cluster) through sharded pub/sub
//! (`socketio_redis::sharded::ShardedRedisAdapter` in its default subscription mode, dynamic;
//! Node's `createShardedAdapter`). The cluster handlers below come with each.
//! Prints `{"event":"listening","port":N}` once it accepts connections.

use socketio::{AckSender, Args, Data, RawArgs, Socket, SocketIo, SocketIoConfig};
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
    if std::env::var("RECOVERY").is_ok_and(|v| v == "1") {
        config = config.connection_state_recovery(socketio::ConnectionStateRecovery::default());
    }
    if std::env::var("PARSER").is_ok_and(|v| v == "msgpack") {
        config = config.parser(socketio::Parser::MsgPack);
    }
    if std::env::var("PER_MESSAGE_DEFLATE").is_ok_and(|v| v == "1") {
        config = config.per_message_deflate(Some(socketio::PerMessageDeflate::default()));
    }
    let mut builder = SocketIo::builder().config(config.build());
    if std::env::var("METRICS").is_ok_and(|v| v == "1") {
        builder = builder.metrics();
    }
    let clustered = [
        "REDIS_URL",
        "REDIS_STREAMS_URL",
        "POSTGRES_URL",
        "REDIS_CLUSTER_URLS",
    ]
    .iter()
    .any(|name| std::env::var(name).is_ok());
    if let Ok(url) = std::env::var("REDIS_URL") {
        let adapter = socketio_redis::RedisAdapter::connect(&url)
            .await
            .map_err(std::io::Error::other)?;
        builder = builder.adapter(adapter);
    } else if let Ok(url) = std::env::var("REDIS_STREAMS_URL") {
        let adapter = socketio_redis_streams::RedisStreamsAdapter::connect(&url)
            .await
            .map_err(std::io::Error::other)?;
        builder = builder.adapter(adapter);
    } else if let Ok(url) = std::env::var("POSTGRES_URL") {
        let config = socketio_postgres::PostgresAdapterConfig::new(&url);
        let adapter = socketio_postgres::PostgresAdapter::connect_with(config)
            .await
            .map_err(std::io::Error::other)?;
        builder = builder.adapter(adapter);
    } else if let Ok(urls) = std::env::var("REDIS_CLUSTER_URLS") {
        // Any node is enough to find the others; the adapter follows the cluster from there.
        let nodes: Vec<&str> = urls
            .split(',')
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .collect();
        let adapter = socketio_redis::sharded::ShardedRedisAdapter::connect(&nodes)
            .await
            .map_err(|error| {
                std::io::Error::other(format!("REDIS_CLUSTER_URLS {urls}: {error}"))
            })?;
        builder = builder.adapter(adapter);
    }
    let io = builder.build();
    let admin_mode = match std::env::var("ADMIN_UI").as_deref() {
        Ok("production") => Some(socketio_admin_ui::Mode::Production),
        Ok("development") => Some(socketio_admin_ui::Mode::Development),
        _ => None,
    };
    if let Some(mode) = admin_mode {
        let options =
            socketio_admin_ui::InstrumentOptions::new(socketio_admin_ui::Auth::None).mode(mode);
        socketio_admin_ui::instrument(&io, options).map_err(std::io::Error::other)?;
    }
    let name = std::env::var("SERVER_NAME").unwrap_or_default();
    io.on_server_side("whoami", move |_| {
        let name = name.clone();
        async move { Some(serde_json::Value::from(name)) }
    });
    io.on_connection(move |socket: Socket| async move {
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
        if clustered {
            cluster_handlers(&socket);
        }
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
    let app = axum::Router::new()
        .route("/metrics", io.metrics_route())
        .merge(io.router());
    axum::serve(listener, app)
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

fn cluster_handlers(socket: &Socket) {
    socket.on("servers", |socket: Socket, ack: AckSender| async move {
        let _ = ack.send(&socket.namespace().server_count().await);
    });
    socket.on("fetch", |socket: Socket, ack: AckSender| async move {
        let sockets = socket.namespace().fetch_sockets().await.unwrap_or_default();
        let mut ids: Vec<&str> = sockets.iter().map(|s| s.id.as_str()).collect();
        ids.sort();
        let _ = ack.send(&ids);
    });
    socket.on("ask-servers", |socket: Socket, ack: AckSender| async move {
        let asked = socket.namespace().server_side_emit_with_ack(
            "whoami",
            &(),
            std::time::Duration::from_secs(5),
        );
        let mut names: Vec<String> = asked
            .await
            .unwrap_or_default()
            .iter()
            .map(|n| n.as_str().unwrap_or_default().to_owned())
            .collect();
        names.sort();
        let _ = ack.send(&names);
    });
    socket.on("ack-all", |socket: Socket, ack: AckSender| async move {
        let everyone = socket
            .namespace()
            .timeout(std::time::Duration::from_secs(2));
        let asked = everyone.emit_with_ack::<_, serde_json::Value>("ping", &1);
        let mut answers: Vec<String> = match asked.await {
            Ok(answers) => answers.iter().map(|a| a.to_string()).collect(),
            Err(error) => vec![format!("error: {} answers", error.received().len())],
        };
        answers.sort();
        let _ = ack.send(&answers);
    });
    socket.on(
        "remote-join",
        |socket: Socket, Args((id, room)): Args<(String, String)>, ack: AckSender| async move {
            let _ = socket.namespace().to(id).sockets_join(room);
            let _ = ack.send_args(&());
        },
    );
    socket.on(
        "remote-leave",
        |socket: Socket, Args((id, room)): Args<(String, String)>, ack: AckSender| async move {
            let _ = socket.namespace().to(id).sockets_leave(room);
            let _ = ack.send_args(&());
        },
    );
    socket.on(
        "remote-disconnect",
        |socket: Socket, Data(id): Data<String>, ack: AckSender| async move {
            let _ = socket.namespace().to(id).disconnect_sockets(false);
            let _ = ack.send_args(&());
        },
    );
}
