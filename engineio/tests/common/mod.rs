//! Shared support for the integration tests: a server on a real TCP port, a handler that records
//! every event, and tiny raw polling and WebSocket clients. Every wait is bounded by [`WAIT`].

// Each test file uses a part of this support, and names it `pub` for its sibling modules.
#![allow(dead_code, unused_imports, unreachable_pub)]

pub use axum::Router;
pub use bytes::Bytes;
pub use engineio::{
    CloseReason, EngineIo, EngineIoConfig, EngineIoHandler, Frame, Message, Socket, Transport,
};
pub use futures_util::{SinkExt, StreamExt};
pub use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
pub use http_body_util::{BodyExt, Full};
pub use hyper_util::client::legacy::connect::HttpConnector;
pub use hyper_util::client::legacy::Client;
pub use hyper_util::rt::TokioExecutor;
pub use std::future::Future;
pub use std::net::SocketAddr;
pub use std::sync::{Arc, Mutex, MutexGuard};
pub use std::time::Duration;
pub use tokio::net::TcpStream;
pub use tokio::sync::Notify;
pub use tokio::task::JoinHandle;
pub use tokio::time::{timeout, Instant};
pub use tokio_tungstenite::tungstenite::client::IntoClientRequest;
pub use tokio_tungstenite::tungstenite::Message as WsMessage;
pub use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

/// The bound on every wait in the tests.
pub const WAIT: Duration = Duration::from_secs(5);

/// Awaits `fut` for at most [`WAIT`], panicking with `what` otherwise.
pub async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match timeout(WAIT, fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {WAIT:?} waiting for {what}"),
    }
}

/// Polls `cond` every few milliseconds until it holds, for at most [`WAIT`].
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {WAIT:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Configs

/// Heartbeats far in the future: for tests that are not about them.
pub fn quiet_config() -> engineio::EngineIoConfigBuilder {
    EngineIoConfig::builder()
        .ping_interval(Duration::from_secs(20))
        .ping_timeout(Duration::from_secs(20))
}

/// Short heartbeats: 200 ms interval, 150 ms timeout.
pub fn fast_config() -> engineio::EngineIoConfigBuilder {
    EngineIoConfig::builder()
        .ping_interval(Duration::from_millis(200))
        .ping_timeout(Duration::from_millis(150))
}

mod polling;
mod recorder;
mod ws;

pub use polling::*;
pub use recorder::*;
pub use ws::*;

// Server

/// Serves `app` on 127.0.0.1 on a free port, with the peer address available to handlers.
pub async fn serve_app(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    addr
}

/// Serves the engine alone.
pub async fn serve<H: EngineIoHandler>(engine: &EngineIo<H>) -> SocketAddr {
    serve_app(Router::new().merge(engine.router())).await
}

/// An echoing recorder engine with `config`, served.
pub async fn start(config: EngineIoConfig) -> (EngineIo<Recorder>, SocketAddr) {
    start_with(Recorder::echo(), config).await
}

pub async fn start_with(
    handler: Recorder,
    config: EngineIoConfig,
) -> (EngineIo<Recorder>, SocketAddr) {
    let engine = EngineIo::builder(handler).config(config).build();
    let addr = serve(&engine).await;
    (engine, addr)
}
