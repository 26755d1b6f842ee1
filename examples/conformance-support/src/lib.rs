//! What the conformance servers share, so that each of them shows only its handlers: logs on
//! stderr, the port from `PORT`, the JSON lines on stdout that the end-to-end tests read, and
//! serving until SIGTERM.

use axum::Router;
use engineio::cors::{Any, CorsLayer};
use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

/// Sets up logging (`RUST_LOG`) on stderr and returns the port to listen on (`PORT`, 3000).
pub fn init() -> u16 {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000)
}

/// Node's `cors: {origin: "*"}`.
pub fn any_origin() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods(Any)
        .allow_headers(Any)
}

/// Whether the environment variable `name` is `1`: how the tests ask for event lines.
pub fn flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1")
}

/// Writes one JSON line on stdout, flushed, for the tests to read.
pub fn line(event: serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{event}");
    let _ = out.flush();
}

/// Serves `app` on 127.0.0.1:`port` with TCP_NODELAY and peer addresses, after printing
/// `{"event":"listening","port":N}`. On SIGTERM it runs `shutdown` (close the server as Node's
/// `close()` would), gives the close frames a moment to leave, and returns.
pub async fn serve(app: Router, port: u16, shutdown: impl FnOnce()) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    line(serde_json::json!({"event": "listening", "port": listener.local_addr()?.port()}));
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let serve = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    );
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        served = serve => served,
        _ = terminate.recv() => {
            shutdown();
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok(())
        }
    }
}
