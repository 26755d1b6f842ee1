//! A socket.io server that behaves as Node's `socket.io` 4 with
//! `{pingInterval: 300, pingTimeout: 200, maxHttpBufferSize: 1e6, connectTimeout: 1000,
//! cors: {origin: "*"}}` and these handlers: on connection to `/` it emits `auth` with the
//! handshake's auth payload, answers `message` with `message-back` carrying the same arguments,
//! and acknowledges `message-with-ack` with the same arguments; `/custom` emits `auth` too.
//!
//! It prints `{"event":"listening","port":N}` once it accepts connections. Beside the contract,
//! `bounds` has the events the resource-bound tests use (`stats`, `flood`) and the limits the
//! environment may shrink.

mod bounds;

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
    let io = SocketIo::builder()
        .config(config)
        .cors(conformance::any_origin())
        .build();

    let server = io.clone();
    io.on_connection(move |socket: Socket| {
        bounds::handlers(&server, &socket);
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
