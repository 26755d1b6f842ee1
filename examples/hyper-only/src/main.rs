//! An engine.io echo served by hyper alone: no axum Router, the engine as a tower service.
//!
//! [`EngineIo::layer`] wraps the app's own service (here a `service_fn` that answers 404), so
//! that the engine answers under `/engine.io/` and everything else goes to the app. hyper
//! serves each connection with upgrades on, which the WebSocket transport needs, and the
//! peer's address goes into each request as a `SocketAddr` extension, where the engine finds
//! it for the handshake.
//!
//! Run it (`PORT` chooses the port, 3000 by default), then from Node with `engine.io-client`:
//! `new Socket("ws://127.0.0.1:3000").on("open", function () { this.send("hi") })` gets "hi"
//! back; `curl "http://127.0.0.1:3000/engine.io/?EIO=4&transport=polling"` opens a polling
//! session, and any other path is the fallback's 404.

use bytes::Bytes;
use engineio::{CloseReason, EngineIo, EngineIoHandler, Message, Socket};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::Arc;
use tower::{Layer, ServiceExt};

/// Sends every message straight back.
struct Echo;

impl EngineIoHandler for Echo {
    type Data = ();

    fn on_connect(&self, socket: Arc<Socket>) {
        println!(
            "{} connected over {}",
            socket.id(),
            socket.transport().name()
        );
    }

    fn on_message(&self, socket: &Arc<Socket>, message: Message) {
        let _ = socket.send(message);
    }

    fn on_close(&self, socket: &Arc<Socket>, reason: CloseReason) {
        println!("{} closed: {reason}", socket.id());
    }
}

/// The app's own service: every request that is not the engine's.
async fn not_found(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = Response::new(Full::new(Bytes::from_static(b"not found\n")));
    *response.status_mut() = StatusCode::NOT_FOUND;
    Ok(response)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let engine = EngineIo::builder(Echo).build();
    let service = engine.layer().layer(tower::service_fn(not_found));

    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        let (tcp, peer) = listener.accept().await?;
        // Small realtime messages must not wait for Nagle's algorithm (Node's ws turns it off).
        let _ = tcp.set_nodelay(true);
        let service = service.clone();
        let per_request = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(peer);
            service.clone().oneshot(req)
        });
        tokio::spawn(async move {
            let connection = http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), per_request)
                .with_upgrades();
            if let Err(error) = connection.await {
                eprintln!("connection from {peer}: {error}");
            }
        });
    }
}
