//! What a WebSocket sits on is whatever hyper upgraded: a TCP connection whose client sends its
//! first frame in the same write as the upgrade request (hyper has read it already and must
//! hand it over), and a connection that is not TCP at all (a Unix socket).

mod common;

use axum::Router;
use common::*;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::WebSocketStream;

const UPGRADE: &str = "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n\
    Upgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// A client's masked text frame.
fn client_frame(text: &str) -> Vec<u8> {
    let mut frame = Frame::message(text.as_bytes().to_vec(), OpCode::Data(Data::Text), true);
    frame.header_mut().mask = Some([7, 1, 9, 3]);
    let mut wire = Vec::new();
    frame.format(&mut wire).expect("format a frame");
    wire
}

/// Reads the 101 answer; returns what arrived after it.
async fn read_upgrade(stream: &mut (impl AsyncReadExt + Unpin)) -> Vec<u8> {
    let mut got = Vec::new();
    loop {
        let mut chunk = [0u8; 1024];
        let n = within("the upgrade answer", stream.read(&mut chunk))
            .await
            .expect("read");
        assert!(n > 0, "closed during the upgrade: {got:?}");
        got.extend_from_slice(&chunk[..n]);
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            assert!(got.starts_with(b"HTTP/1.1 101"), "{got:?}");
            return got.split_off(end + 4);
        }
    }
}

async fn next_text<S>(ws: &mut WebSocketStream<S>) -> String
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    match within("a frame", ws.next()).await {
        Some(Ok(WsMessage::Text(text))) => text.to_string(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_sent_with_the_upgrade_request_is_read() {
    let (_engine, addr) = start(quiet_config().build()).await;
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut request = UPGRADE.as_bytes().to_vec();
    request.extend(client_frame("4early"));
    tcp.write_all(&request).await.expect("write");
    let rest = read_upgrade(&mut tcp).await;
    let mut ws = WebSocketStream::from_partially_read(tcp, rest, Role::Client, None).await;
    assert!(
        next_text(&mut ws).await.starts_with("0{"),
        "the open packet"
    );
    assert_eq!(next_text(&mut ws).await, "4early", "echoed");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_over_a_unix_socket_works() {
    let (engine, _) = start(quiet_config().build()).await;
    let dir = std::env::temp_dir().join(format!("eio-unix-{}", std::process::id()));
    let _ = std::fs::remove_file(&dir);
    let listener = tokio::net::UnixListener::bind(&dir).expect("bind a unix socket");
    let app = Router::new().merge(engine.router());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut unix = tokio::net::UnixStream::connect(&dir)
        .await
        .expect("connect");
    let _ = std::fs::remove_file(&dir);
    unix.write_all(UPGRADE.as_bytes()).await.expect("write");
    let rest = read_upgrade(&mut unix).await;
    let mut ws = WebSocketStream::from_partially_read(unix, rest, Role::Client, None).await;
    assert!(
        next_text(&mut ws).await.starts_with("0{"),
        "the open packet"
    );
    for text in ["4over unix", "4again"] {
        ws.send(WsMessage::text(text)).await.expect("send");
        assert_eq!(next_text(&mut ws).await, text, "echoed");
    }
}
