//! socket.io served by hyper alone: no axum Router, the server as a tower layer around the
//! app's own service.
//!
//! [`SocketIo::layer`] wraps the app (here a `service_fn` that answers 404), so that socket.io
//! answers under `/socket.io/` and everything else goes to the app; any tower stack mounts it
//! the same way. hyper serves each connection with upgrades on, which the WebSocket transport
//! needs.
//!
//! Run it (`PORT` chooses the port, 3000 by default), then from Node with `socket.io-client`:
//! `await io("http://127.0.0.1:3000").emitWithAck("hello", "you")` resolves to `"hello, you"`.

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use socketio::{AckSender, Data, Socket, SocketIo};
use std::convert::Infallible;
use tower::{Layer, ServiceExt};

/// The app's own service: every request that is not socket.io's.
async fn not_found(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = Response::new(Full::new(Bytes::from_static(b"not found\n")));
    *response.status_mut() = StatusCode::NOT_FOUND;
    Ok(response)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let io = SocketIo::new();
    io.on_connection(|socket: Socket| async move {
        socket.on(
            "hello",
            |Data(name): Data<String>, ack: AckSender| async move {
                let _ = ack.send(&format!("hello, {name}"));
            },
        );
    });
    let service = io.layer().layer(tower::service_fn(not_found));

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
        // The peer's address goes into each request, where the handshake finds it.
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
