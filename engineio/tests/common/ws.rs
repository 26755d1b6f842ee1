//! A raw WebSocket client.

use super::*;

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
pub type WsResponse = tokio_tungstenite::tungstenite::handshake::client::Response;

pub fn ws_url(addr: SocketAddr, sid: Option<&str>) -> String {
    match sid {
        Some(sid) => format!("ws://{addr}/engine.io/?EIO=4&transport=websocket&sid={sid}"),
        None => format!("ws://{addr}/engine.io/?EIO=4&transport=websocket"),
    }
}

/// Connects a WebSocket to `url` with extra request headers.
pub async fn ws_connect_url(url: &str, headers: &[(&str, &str)]) -> (Ws, WsResponse) {
    let mut req = url.into_client_request().expect("valid ws url");
    for (k, v) in headers {
        req.headers_mut().insert(
            http::HeaderName::from_bytes(k.as_bytes()).expect("header name"),
            HeaderValue::from_str(v).expect("header value"),
        );
    }
    within("websocket connect", connect_async(req))
        .await
        .expect("websocket connect failed")
}

/// Connects a WebSocket to the engine, for a new session or for `sid`'s upgrade.
pub async fn ws_connect(addr: SocketAddr, sid: Option<&str>) -> (Ws, WsResponse) {
    ws_connect_url(&ws_url(addr, sid), &[]).await
}

/// Opens a session over WebSocket: returns the socket, its sid and the open packet JSON.
pub async fn ws_open(addr: SocketAddr) -> (Ws, String, serde_json::Value) {
    let (mut ws, _) = ws_connect(addr, None).await;
    let first = ws_recv_text(&mut ws).await;
    let json = first
        .strip_prefix('0')
        .unwrap_or_else(|| panic!("first frame is not an open packet: {first:?}"));
    let open: serde_json::Value = serde_json::from_str(json).expect("open packet JSON");
    let sid = open["sid"].as_str().expect("sid").to_owned();
    (ws, sid, open)
}

/// The next WebSocket message (`None` when the stream ended or failed), bounded.
pub async fn ws_recv(ws: &mut Ws) -> Option<WsMessage> {
    match within("a websocket frame", ws.next()).await {
        Some(Ok(m)) => Some(m),
        Some(Err(_)) | None => None,
    }
}

/// The next message, which must be text.
pub async fn ws_recv_text(ws: &mut Ws) -> String {
    match ws_recv(ws).await {
        Some(WsMessage::Text(t)) => t.to_string(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

/// The next data message, answering the server's pings (`2`) with pongs on the way.
pub async fn ws_next_data(ws: &mut Ws) -> WsMessage {
    loop {
        match ws_recv(ws).await {
            Some(WsMessage::Text(t)) if t.as_str() == "2" => ws_send(ws, "3").await,
            Some(m @ (WsMessage::Text(_) | WsMessage::Binary(_))) => return m,
            Some(WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_)) => {}
            other => panic!("expected a data frame, got {other:?}"),
        }
    }
}

pub async fn ws_send(ws: &mut Ws, text: &str) {
    within("a websocket send", ws.send(WsMessage::text(text)))
        .await
        .expect("websocket send failed");
}

pub async fn ws_send_binary(ws: &mut Ws, bytes: &[u8]) {
    within(
        "a websocket send",
        ws.send(WsMessage::binary(bytes.to_vec())),
    )
    .await
    .expect("websocket send failed");
}

/// Reads until the server closes the WebSocket, returning the data frames received before the
/// end and whether a close frame was seen. Panics if it stays open longer than [`WAIT`].
pub async fn ws_until_closed(ws: &mut Ws) -> (Vec<WsMessage>, bool) {
    let mut data = Vec::new();
    loop {
        match within("the websocket to close", ws.next()).await {
            Some(Ok(WsMessage::Close(_))) => {
                // Drain to the end so the close handshake completes.
                let _ = timeout(Duration::from_secs(1), async {
                    while let Some(Ok(_)) = ws.next().await {}
                })
                .await;
                return (data, true);
            }
            Some(Ok(m @ (WsMessage::Text(_) | WsMessage::Binary(_)))) => data.push(m),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return (data, false),
        }
    }
}

/// Text of a WebSocket message, panicking on anything else.
pub fn text_of(m: &WsMessage) -> &str {
    match m {
        WsMessage::Text(t) => t.as_str(),
        other => panic!("expected text, got {other:?}"),
    }
}
