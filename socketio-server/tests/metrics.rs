//! The Prometheus metrics: what a scrape says after real clients connected, sent, were sent to,
//! left an ack unanswered and went away, read over HTTP as Prometheus reads them.

mod common;
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The value of the sample `series` (name and labels as written) in a scrape.
fn value(scrape: &str, series: &str) -> Option<f64> {
    scrape.lines().find_map(|line| {
        let rest = line.strip_prefix(series)?.strip_prefix(' ')?;
        rest.trim().parse().ok()
    })
}

#[track_caller]
fn assert_value(scrape: &str, series: &str, expected: f64) {
    assert_eq!(
        value(scrape, series),
        Some(expected),
        "{series} in:\n{scrape}"
    );
}

/// `GET /metrics` over a plain connection: the status line, the content type and the body.
async fn get_metrics(addr: SocketAddr) -> (String, String, String) {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    within("the metrics", tcp.read_to_string(&mut response))
        .await
        .unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.lines().next().unwrap_or_default().to_owned();
    let content_type = head
        .lines()
        .find_map(|l| l.strip_prefix("content-type: "))
        .unwrap_or_default()
        .to_owned();
    (status, content_type, body.to_owned())
}

async fn serve_with_metrics(io: &SocketIo) -> SocketAddr {
    let app = axum::Router::new()
        .route("/metrics", io.metrics_route())
        .merge(io.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_counts_what_clients_did() {
    let io = SocketIo::builder().metrics().build();
    io.of("/chat");
    let server = io.clone();
    io.on_connection(move |socket: Socket| {
        let server = server.clone();
        async move {
            socket.on("echo", |args: RawArgs, ack: AckSender| async move {
                let _ = ack.send_raw(args);
            });
            socket.on("shout", move |Data(text): Data<String>| {
                let server = server.clone();
                async move {
                    let _ = server.emit("heard", &text);
                }
            });
        }
    });
    let addr = serve_with_metrics(&io).await;
    let (mut a, sid_a) = Client::connect(addr, "/").await;
    let (mut b, _) = Client::connect(addr, "/").await;
    b.join_ok("/chat", None).await;

    a.emit_with_ack("/", "echo", json!(["hi"]), 1).await;
    assert_eq!(a.next_ack("/", 1).await, [json!("hi")]);
    a.emit("/", "shout", json!(["hello"])).await;
    assert_eq!(a.next_args("/", "heard").await, [json!("hello")]);
    assert_eq!(b.next_args("/", "heard").await, [json!("hello")]);

    // An ack that never comes: pending while awaited, a timeout after.
    let socket = socket_of(&io, "/", &sid_a);
    let asking = tokio::spawn(async move {
        socket
            .timeout(Duration::from_millis(300))
            .emit_with_ack::<_, Value>("question", &())
            .await
    });
    a.next_event("/", "question").await;
    let scrape = io.metrics().unwrap().render();
    assert_value(&scrape, r#"socketio_acks_pending{namespace="/"}"#, 1.0);
    assert!(within("the timeout", asking).await.unwrap().is_err());

    let scrape = io.metrics().unwrap().render();
    assert_value(
        &scrape,
        r#"socketio_handshakes_total{transport="websocket"}"#,
        2.0,
    );
    assert_value(
        &scrape,
        r#"socketio_connections{transport="websocket"}"#,
        2.0,
    );
    assert_value(&scrape, r#"socketio_connections{transport="polling"}"#, 0.0);
    assert_value(&scrape, r#"socketio_sockets{namespace="/"}"#, 2.0);
    assert_value(&scrape, r#"socketio_sockets{namespace="/chat"}"#, 1.0);
    assert_value(&scrape, r#"socketio_acks_pending{namespace="/"}"#, 0.0);
    assert_value(
        &scrape,
        r#"socketio_ack_timeouts_total{namespace="/"}"#,
        1.0,
    );
    assert_value(&scrape, r#"socketio_broadcasts_total{namespace="/"}"#, 1.0);
    // The packets of connected sockets (a CONNECT and its answer come before): the echo and
    // the shout in, the echo's ack, "heard" to both and the question out.
    assert_value(
        &scrape,
        r#"socketio_packets_received_total{namespace="/"}"#,
        2.0,
    );
    assert_value(
        &scrape,
        r#"socketio_packets_received_total{namespace="/chat"}"#,
        0.0,
    );
    assert_value(
        &scrape,
        r#"socketio_packets_sent_total{namespace="/"}"#,
        4.0,
    );
    let received = value(&scrape, "socketio_received_bytes_total").unwrap();
    let sent = value(&scrape, "socketio_sent_bytes_total").unwrap();
    // At least the two events' packets in (35 bytes); more out (the handshakes, the answers).
    assert!(
        received >= 35.0 && sent > received,
        "{received} in, {sent} out"
    );

    a.close().await;
    eventually("the closed session counted", || {
        let scrape = io.metrics().unwrap().render();
        value(
            &scrape,
            r#"socketio_disconnects_total{reason="transport close"}"#,
        ) == Some(1.0)
            && value(&scrape, r#"socketio_connections{transport="websocket"}"#) == Some(1.0)
    })
    .await;

    // What Prometheus reads: the same text, over HTTP, in its format.
    let (status, content_type, body) = get_metrics(addr).await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert_value(&body, r#"socketio_sockets{namespace="/"}"#, 1.0);
    assert!(body.contains("# TYPE socketio_packets_sent_total counter"));

    // The adapter's requests, and the cluster's size, asked by the route before it answered:
    // one server, with the in-memory adapter.
    assert_eq!(io.fetch_sockets().await.unwrap().len(), 1);
    let (_, _, body) = get_metrics(addr).await;
    assert_value(
        &body,
        r#"socketio_adapter_requests_total{namespace="/",operation="fetch_sockets"}"#,
        1.0,
    );
    assert_value(&body, r#"socketio_cluster_servers{namespace="/"}"#, 1.0);
    assert_value(&body, r#"socketio_cluster_servers{namespace="/chat"}"#, 1.0);
    assert!(!body.contains("socketio_adapter_failures_total{"), "{body}");
}

#[tokio::test]
async fn a_server_without_metrics_answers_404_there() {
    let io = SocketIo::new();
    assert!(io.metrics().is_none());
    let addr = serve_with_metrics(&io).await;
    let (status, _, _) = get_metrics(addr).await;
    assert_eq!(status, "HTTP/1.1 404 Not Found");
}
