//! A socket.io server that behaves as Node's `socket.io` 4 with
//! `{pingInterval: 300, pingTimeout: 200, maxHttpBufferSize: 1e6, connectTimeout: 1000,
//! cors: {origin: "*"}}` and these handlers: on connection to `/` it emits `auth` with the
//! handshake's auth payload, answers `message` with `message-back` carrying the same arguments,
//! and acknowledges `message-with-ack` with the same arguments; `/custom` emits `auth` too.
//!
//! It prints `{"event":"listening","port":N}` once it accepts connections. Beside the contract,
//! `bounds` has the events the resource-bound tests use (`stats`, `flood`) and the limits the
//! environment may change: `MAX_BUFFER_SIZE`, `PING_INTERVAL_MS`, `PING_TIMEOUT_MS` and
//! `CONNECT_TIMEOUT_MS`.
//!
//! With `REDIS_URL` (e.g. `redis://127.0.0.1:6379/`) the server joins the Redis cluster there
//! with `socketio_redis::RedisAdapter` (Node: `@socket.io/redis-adapter` 8.3 with the `redis` 4
//! client), and also has the handlers of Node's cluster tests (`cluster`), which
//! `e2e-js/test/redis-conformance.test.mjs` drives:
//! - a server-side `hello` from another server (`serverSideEmit("hello", ...args)`) is
//!   broadcast to the whole cluster as `io.emit("hello", ...args)` when the sender waits for no
//!   answer; with an ack (`serverSideEmitWithAck`) it is answered with its first argument,
//!   unchanged (`null` when it has none);
//! - on `/`, `server-side-emit` (...args) makes this server call
//!   `serverSideEmit("hello", ...args)`, then acks with no arguments;
//! - on `/`, `server-side-emit-with-ack` (...args) makes it call
//!   `serverSideEmitWithAck("hello", ...args)` and acks with the other servers' answers (an
//!   array), or with `{error: <text>}` when they did not all answer in time;
//! - on `/`, `fetch-sockets` (room) acks with the sorted ids of the sockets in `room` on every
//!   server (`io.in(room).fetchSockets()`), or with `{error: <text>}`;
//! - on `/`, `sockets-join` (target, room) and `sockets-leave` (target, room) make the
//!   sockets in `target` (a room or a socket id) on every server join or leave `room`
//!   (`io.in(target).socketsJoin(room)`), and `disconnect-sockets` (target) disconnects them
//!   (`io.in(target).disconnectSockets()`), each then acking with no arguments;
//!
//! With `REDIS_STREAMS_URL` instead of `REDIS_URL` the server joins the cluster through
//! `socketio_redis_streams::RedisStreamsAdapter` (Node: `@socket.io/redis-streams-adapter` 0.3,
//! default options), with the same cluster handlers; with `RECOVERY_MS` too, sessions and the
//! broadcasts they miss are kept in Redis, so a client recovers on any server of the cluster.
//!
//! With `POSTGRES_URL` (e.g. `postgres://postgres@127.0.0.1:5432/postgres`) instead, the server
//! joins the cluster on that PostgreSQL through `socketio_postgres::PostgresAdapter` (Node:
//! `@socket.io/postgres-adapter` 0.5 with `pg`, default options; the attachments table is
//! created when missing), with the same cluster handlers; `e2e-js/test/postgres.test.mjs`
//! drives it. `PG_HEARTBEAT_MS` and `PG_HEARTBEAT_TIMEOUT_MS` change Node's
//! `heartbeatInterval` (5000) and `heartbeatTimeout` (10000).
//!
//! With `REDIS_CLUSTER_URLS` (comma-separated `redis://host:port` URLs of nodes of one Redis 7
//! Cluster) instead, the server joins through the sharded adapter,
//! `socketio_redis::sharded::ShardedRedisAdapter` (Node: `createShardedAdapter` of
//! `@socket.io/redis-adapter` 8.3 on the `redis` 4 client's `createCluster`), with the same
//! cluster handlers; `REDIS_SUBSCRIPTION_MODE` (`static`, `dynamic` or `dynamic-private`) sets
//! Node's `subscriptionMode` (`dynamic` when unset). `e2e-js/test/redis-sharded.test.mjs`
//! drives it.
//!
//! Setting more than one of `REDIS_URL`, `REDIS_STREAMS_URL`, `POSTGRES_URL` and
//! `REDIS_CLUSTER_URLS` is refused at start.
//!
//! Without any of them none of these is registered (`set-data`, which those tests use too, is
//! among the handlers below, always there).
//!
//! With `RECOVERY_MS=N` connection state recovery is on (Node's `connectionStateRecovery:
//! {maxDisconnectionDuration: N, skipMiddlewares: true}`): a client that lost its connection
//! and comes back within N ms gets its socket id, rooms and data back, and the broadcasts it
//! missed. With or without it, `/` has these handlers (`recovery`), which
//! `e2e-js/test/recovery.test.mjs` drives; "acks" means when the client asked for an ack:
//! - `broadcast` (...args): `io.emit("broadcast", ...args)`, binary included, then acks with
//!   no arguments;
//! - `join` (room): the socket joins `room`, then acks with `room`;
//! - `to-room` (room, ...args): `io.to(room).emit("room", ...args)`, then acks with no
//!   arguments;
//! - `volatile` (...args): `io.volatile.emit("volatile", ...args)`, then acks with no
//!   arguments;
//! - `broadcast-with-ack` (value): `io.timeout(1000).emit("ask", value, ...)`, then acks with
//!   `{error, answers}`: `error` null, or "operation has timed out" with the answers that came
//!   in time; each answer is the first argument of a client's ack (a broadcast with an ack is
//!   never kept for recovery);
//! - `set-data` (value): stores `value` as the socket's data (Node's `socket.data`; `null`
//!   without an argument), then acks with no arguments;
//! - `get-data`: acks with the socket's data (`{}` until set, as Node's);
//! - `get-recovered`: acks with whether the socket is a recovered session (Node's
//!   `socket.recovered`; always false without `RECOVERY_MS`).
//!
//! With `ALLOW_EIO3=1` clients of engine.io v3 and socket.io protocol v4 are served too (Node's
//! `allowEIO3: true`): socket.io-client 2.x, python-socketio 4.x (`e2e-js/test/eio3*.test.mjs`),
//! with the same handlers. Without it their handshake gets 400 `{"code":5,"message":"Unsupported
//! protocol version"}`, as from Node.
//!
//! With `PARSER=msgpack` every client must speak the msgpack parser (Node's `parser:
//! require("socket.io-msgpack-parser")`; `e2e-js/test/msgpack.test.mjs`); the handlers are
//! the same. Any other value of `PARSER` is refused at start.
//!
//! With `PER_MESSAGE_DEFLATE=1` WebSocket messages are compressed when the client offers it
//! (Node's `perMessageDeflate: true`: threshold 1024 bytes, context takeover as the client
//! asks; `e2e-js/test/deflate.test.mjs`). The `uncompressed` event (...args) is answered with
//! `uncompressed-back` carrying the same arguments under `socket.compress(false)`, with or
//! without the option.

mod admin;
mod bounds;
mod cluster;
mod recovery;

use socketio::{AckSender, RawArgs, Socket, SocketIo, SocketIoConfig};
use std::time::Duration;

async fn emit_auth(socket: Socket) {
    let _ = socket.emit("auth", &socket.handshake().auth);
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = conformance::init();
    let config = SocketIoConfig::builder()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_http_buffer_size(1_000_000)
        .connect_timeout(Duration::from_millis(1000));
    let config = match std::env::var("PARSER").as_deref() {
        Err(_) => config,
        Ok("msgpack") => config.parser(socketio::Parser::MsgPack),
        Ok(other) => {
            eprintln!("sio-conformance: PARSER must be msgpack, got {other:?}");
            std::process::exit(2);
        }
    };
    let config = match std::env::var("PER_MESSAGE_DEFLATE").as_deref() {
        Err(_) | Ok("0") => config,
        Ok("1") => config.per_message_deflate(Some(socketio::PerMessageDeflate::default())),
        Ok(other) => {
            eprintln!("sio-conformance: PER_MESSAGE_DEFLATE must be 1 or 0, got {other:?}");
            std::process::exit(2);
        }
    };
    let config = match std::env::var("ALLOW_EIO3").as_deref() {
        Err(_) | Ok("0") => config,
        Ok("1") => config.allow_eio3(true),
        Ok(other) => {
            eprintln!("sio-conformance: ALLOW_EIO3 must be 1 or 0, got {other:?}");
            std::process::exit(2);
        }
    };
    let config = recovery::config(bounds::config(config)).build();
    let mut builder = SocketIo::builder()
        .config(config)
        .cors(conformance::any_origin());
    let urls = [
        std::env::var("REDIS_URL").ok(),
        std::env::var("REDIS_STREAMS_URL").ok(),
        std::env::var("POSTGRES_URL").ok(),
        std::env::var("REDIS_CLUSTER_URLS").ok(),
    ];
    let clustered = match urls {
        [None, None, None, None] => false,
        [Some(url), None, None, None] => {
            builder = builder.adapter(cluster::adapter(&url).await?);
            true
        }
        [None, Some(url), None, None] => {
            builder = builder.adapter(cluster::streams_adapter(&url).await?);
            true
        }
        [None, None, Some(url), None] => {
            builder = builder.adapter(cluster::postgres_adapter(&url).await?);
            true
        }
        [None, None, None, Some(urls)] => {
            builder = builder.adapter(cluster::sharded_adapter(&urls).await?);
            true
        }
        _ => {
            return Err(std::io::Error::other(
                "REDIS_URL, REDIS_STREAMS_URL, POSTGRES_URL and REDIS_CLUSTER_URLS: set one of them at most",
            ))
        }
    };
    let io = builder.build();
    if clustered {
        cluster::server_handlers(&io);
    }

    // First, so that the admin UI hears what the handlers below send on connection (Node's
    // instrument prepends its listener).
    admin::instrument(&io)?;
    let server = io.clone();
    io.on_connection(move |socket: Socket| {
        bounds::handlers(&server, &socket);
        recovery::handlers(&socket);
        if clustered {
            cluster::socket_handlers(&socket);
        }
        on_connection(socket)
    });
    io.of("/custom").on_connection(emit_auth);

    conformance::serve(io.router(), port, || io.close()).await
}

async fn on_connection(socket: Socket) {
    socket.on("message", |socket: Socket, args: RawArgs| async move {
        let _ = socket.emit_raw("message-back", args);
    });
    socket.on("uncompressed", |socket: Socket, args: RawArgs| async move {
        let _ = socket.compress(false).emit_raw("uncompressed-back", args);
    });
    socket.on(
        "message-with-ack",
        |args: RawArgs, ack: AckSender| async move {
            let _ = ack.send_raw(args);
        },
    );
    emit_auth(socket).await;
}
