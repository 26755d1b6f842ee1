//! The server mounted as a tower layer on plain hyper (no axum Router): a client joins a
//! namespace and exchanges an acked event through it, and other requests reach the app.

mod common;
use common::*;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use tower::{Layer, ServiceExt};

/// The app behind the layer: it answers every request with 418 and the path it got.
async fn app(req: http::Request<Incoming>) -> Result<http::Response<String>, Infallible> {
    let mut res = http::Response::new(format!("app saw {}", req.uri().path()));
    *res.status_mut() = http::StatusCode::IM_A_TEAPOT;
    Ok(res)
}

async fn serve_layered(io: &SocketIo) -> SocketAddr {
    let service = io.layer().layer(tower::service_fn(app));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        while let Ok((tcp, peer)) = listener.accept().await {
            let service = service.clone();
            let per_request =
                hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
                    req.extensions_mut().insert(peer);
                    service.clone().oneshot(req)
                });
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), per_request)
                    .with_upgrades()
                    .await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socketio_through_the_layer_on_plain_hyper() {
    let io = new_io();
    io.on_connection(|socket: Socket| async move {
        socket.on(
            "hello",
            |Data(name): Data<String>, ack: AckSender| async move {
                let _ = ack.send(&format!("hello, {name}"));
            },
        );
    });
    let addr = serve_layered(&io).await;

    let (mut client, _) = Client::connect(addr, "/").await;
    client.emit_with_ack("/", "hello", json!(["you"]), 1).await;
    let answer = client.next().await;
    assert_eq!(answer.ack_id(), Some(1), "{}", answer.raw);
    assert_eq!(answer.args(), [json!("hello, you")]);

    // Another path is the app's.
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    tcp.write_all(b"GET /elsewhere HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut answer = String::new();
    within("the app's answer", tcp.read_to_string(&mut answer))
        .await
        .expect("read");
    assert!(answer.starts_with("HTTP/1.1 418"), "{answer}");
    assert!(answer.ends_with("app saw /elsewhere"), "{answer}");
}
