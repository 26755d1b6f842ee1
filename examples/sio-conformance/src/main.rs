//! A socket.io server that behaves as Node's `socket.io` 4 with
//! `{pingInterval: 300, pingTimeout: 200, maxHttpBufferSize: 1e6, connectTimeout: 1000,
//! cors: {origin: "*"}}` and these handlers: on connection to `/` it emits `auth` with the
//! handshake's auth payload, answers `message` with `message-back` carrying the same arguments,
//! and acknowledges `message-with-ack` with the same arguments; `/custom` emits `auth` too.
//!
//! It prints `{"event":"listening","port":N}` once it accepts connections.

use socketio::cors::{Any, CorsLayer};
use socketio::{AckSender, RawArgs, Socket, SocketIo, SocketIoConfig};
use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

async fn emit_auth(socket: Socket) {
    let _ = socket.emit("auth", &socket.handshake().auth);
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);

    let config = SocketIoConfig::builder()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_http_buffer_size(1_000_000)
        .connect_timeout(Duration::from_millis(1000))
        .build();
    let io = SocketIo::builder()
        .config(config)
        .cors(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods(Any)
                .allow_headers(Any),
        )
        .build();

    io.on_connection(|socket: Socket| async move {
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
    });
    io.of("/custom").on_connection(emit_auth);

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let port = listener.local_addr()?.port();
    println!("{{\"event\":\"listening\",\"port\":{port}}}");
    std::io::stdout().flush()?;
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let app = io.router::<()>();
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}
