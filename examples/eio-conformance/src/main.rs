//! An engine.io echo server that behaves as Node's
//! `engine.io.listen(PORT, {pingInterval: 300, pingTimeout: 200, maxPayload: 1e6, cors: {origin: "*"}})`
//! with a handler that sends every message straight back: the server the conformance tests drive.
//!
//! It prints `{"event":"listening","port":N}` once it accepts connections. With `EIO_EVENTS=1`
//! it also prints one JSON line per socket event (connection, upgrade, drain, close), so that
//! tests can see what happened on the server side.

use engineio::cors::{Any, CorsLayer};
use engineio::{CloseReason, EngineIo, EngineIoConfig, EngineIoHandler, Message, Socket};
use serde_json::json;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

struct Echo {
    report_events: bool,
}

impl Echo {
    fn report(&self, event: serde_json::Value) {
        if self.report_events {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{event}");
            let _ = out.flush();
        }
    }
}

impl EngineIoHandler for Echo {
    type Data = ();

    fn on_connect(&self, socket: Arc<Socket>) {
        let transport = socket.transport().name();
        self.report(
            json!({"event": "connection", "sid": socket.id().as_str(), "transport": transport}),
        );
    }

    fn on_message(&self, socket: &Arc<Socket>, message: Message) {
        if let Err(e) = socket.send(message) {
            tracing::warn!(sid = %socket.id(), "echo dropped: {e}");
        }
    }

    fn on_close(&self, socket: &Arc<Socket>, reason: CloseReason) {
        self.report(
            json!({"event": "close", "sid": socket.id().as_str(), "reason": reason.as_str()}),
        );
    }

    fn on_drain(&self, socket: &Arc<Socket>) {
        self.report(json!({"event": "drain", "sid": socket.id().as_str()}));
    }

    fn on_upgrade(&self, socket: &Arc<Socket>) {
        let transport = socket.transport().name();
        self.report(
            json!({"event": "upgrade", "sid": socket.id().as_str(), "transport": transport}),
        );
    }
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
    let report_events = std::env::var("EIO_EVENTS").is_ok_and(|v| v == "1");

    let config = EngineIoConfig::builder()
        .path("/engine.io/")
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_http_buffer_size(1_000_000)
        .build();
    let engine = EngineIo::builder(Echo { report_events })
        .config(config)
        .cors(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods(Any)
                .allow_headers(Any),
        )
        .build();
    let app = engine.router();

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let port = listener.local_addr()?.port();
    println!("{}", json!({"event": "listening", "port": port}));
    std::io::stdout().flush()?;
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}
