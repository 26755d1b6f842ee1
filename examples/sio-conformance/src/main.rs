//! A socket.io server that behaves as Node's `socket.io` 4 with
//! `{pingInterval: 300, pingTimeout: 200, maxHttpBufferSize: 1e6, connectTimeout: 1000,
//! cors: {origin: "*"}}` and these handlers: on connection to `/` it emits `auth` with the
//! handshake's auth payload, answers `message` with `message-back` carrying the same arguments,
//! and acknowledges `message-with-ack` with the same arguments; `/custom` emits `auth` too.
//!
//! It prints `{"event":"listening","port":N}` once it accepts connections. Beside the contract,
//! `bounds` has the events the resource-bound tests use (`stats`, `flood`) and the limits the
//! environment may shrink.
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
//! - on `/`, `set-data` (value) stores `value` as the socket's data (Node's `socket.data`),
//!   then acks with no arguments.
//!
//! Without `REDIS_URL` none of these is registered.

mod bounds;
mod cluster;

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
    let config = bounds::config(config).build();
    let mut builder = SocketIo::builder()
        .config(config)
        .cors(conformance::any_origin());
    let clustered = match std::env::var("REDIS_URL") {
        Ok(url) => {
            builder = builder.adapter(cluster::adapter(&url).await?);
            true
        }
        Err(_) => false,
    };
    let io = builder.build();
    if clustered {
        cluster::server_handlers(&io);
    }

    let server = io.clone();
    io.on_connection(move |socket: Socket| {
        bounds::handlers(&server, &socket);
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
    socket.on(
        "message-with-ack",
        |args: RawArgs, ack: AckSender| async move {
            let _ = ack.send_raw(args);
        },
    );
    emit_auth(socket).await;
}
