//! The long-polling transport over real TCP: GET/POST, heartbeats, closes and errors.

mod common;

use bytes::Bytes;
use common::*;
use engineio::{CloseReason, EngineIoConfig, Message};
use http::StatusCode;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_delivers_text_and_binary_and_get_returns_the_echo() {
    let (engine, addr) = start(quiet_config().build()).await;
    let session = Polling::open(addr).await;

    let res = session.post("4hello\x1ebAQID").await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body, "ok");

    let messages = engine.handler().wait_messages(&session.sid, 2).await;
    assert_eq!(
        messages,
        vec![
            Message::Text("hello".into()),
            Message::Binary(Bytes::from_static(&[1, 2, 3])),
        ]
    );

    let res = session.get().await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        res.header("content-type"),
        Some("text/plain; charset=UTF-8")
    );
    assert_eq!(res.body, "4hello\x1ebAQID");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_ascii_text_round_trips() {
    let (engine, addr) = start(quiet_config().build()).await;
    let session = Polling::open(addr).await;
    let text = "héllo € 😀";
    assert_eq!(session.post(format!("4{text}\x1e4second")).await.body, "ok");
    assert_eq!(
        engine.handler().wait_messages(&session.sid, 2).await,
        vec![Message::Text(text.into()), Message::Text("second".into())]
    );
    assert_eq!(session.get().await.body, format!("4{text}\x1e4second"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_get_is_answered_by_a_later_send() {
    let (engine, addr) = start(quiet_config().build()).await;
    let session = Polling::open(addr).await;
    let socket = engine.socket(&session.sid).expect("socket");
    assert!(!socket.is_writable(), "no GET pending yet");

    let pending = session.spawn_get();
    until_writable(&engine, &session.sid).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !pending.is_finished(),
        "the GET waits while nothing is queued"
    );

    socket.send("later").expect("send");
    let res = join(pending).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body, "4later");
    assert!(!socket.is_writable(), "no GET pending any more");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_poll_blocks_until_the_ping_and_pongs_keep_it_alive() {
    let interval = Duration::from_millis(300);
    let config = EngineIoConfig::builder()
        .ping_interval(interval)
        .ping_timeout(Duration::from_millis(200))
        .build();
    let (engine, addr) = start(config).await;
    let opened = Instant::now();
    let session = Polling::open(addr).await;

    for round in 0..3 {
        let res = session.get().await;
        assert_eq!(res.body, "2", "round {round}: the poll carries the ping");
        let elapsed = opened.elapsed();
        assert!(
            elapsed >= interval * (round + 1) - Duration::from_millis(30),
            "round {round}: ping came after {elapsed:?}, before the interval"
        );
        assert_eq!(session.post("3").await.body, "ok");
    }
    assert!(engine.handler().close_reason(&session.sid).is_none());
    assert!(engine.socket(&session.sid).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_client_that_never_polls_times_out() {
    let (engine, addr) = start(fast_config().build()).await;
    let opened = Instant::now();
    let session = Polling::open(addr).await;
    let reason = engine.handler().wait_close(&session.sid).await;
    assert_eq!(reason, CloseReason::PingTimeout);
    let elapsed = opened.elapsed();
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_millis(1200),
        "closed after {elapsed:?}, expected about 200 + 150 ms"
    );
    session
        .get()
        .await
        .assert_error(400, 1, Some("Session ID unknown"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_packet_answers_the_pending_get_with_a_noop() {
    let (engine, addr) = start(quiet_config().build()).await;
    let session = Polling::open(addr).await;
    let pending = session.spawn_get();
    until_writable(&engine, &session.sid).await;

    assert_eq!(session.post("1").await.body, "ok");
    let res = join(pending).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body, "6");

    assert_eq!(
        engine.handler().wait_close(&session.sid).await,
        CloseReason::TransportClose
    );
    assert_eq!(engine.count(), 0);
    assert!(engine.socket(&session.sid).is_none());
    session
        .get()
        .await
        .assert_error(400, 1, Some("Session ID unknown"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_gets_end_the_session() {
    let (engine, addr) = start(quiet_config().build()).await;
    let session = Polling::open(addr).await;
    let first = session.spawn_get();
    until_writable(&engine, &session.sid).await;

    let second = session.get().await;
    assert_eq!(second.status, StatusCode::BAD_REQUEST);
    let first = join(first).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body, "1", "the pending GET gets the close packet");

    assert_eq!(
        engine.handler().wait_close(&session.sid).await,
        CloseReason::TransportError
    );
    session
        .get()
        .await
        .assert_error(400, 1, Some("Session ID unknown"));
    assert_eq!(engine.handler().close_count(&session.sid), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborted_pending_get_is_a_transport_error() {
    let (engine, addr) = start(quiet_config().build()).await;
    let session = Polling::open(addr).await;

    // A raw connection whose GET stays pending, then goes away.
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", session.url());
    tcp.write_all(request.as_bytes()).await.expect("write");
    until_writable(&engine, &session.sid).await;
    drop(tcp);

    assert_eq!(
        engine.handler().wait_close(&session.sid).await,
        CloseReason::TransportError
    );
    assert!(engine.socket(&session.sid).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_client_request_is_a_transport_error() {
    let (engine, addr) = start(quiet_config().build()).await;
    let session = Polling::open(addr).await;

    // The HTTP client gives up on its GET: dropping the request future drops its connection.
    let gave_up = tokio::time::timeout(Duration::from_millis(200), session.get_unbounded()).await;
    assert!(gave_up.is_err(), "the GET should still be pending");

    assert_eq!(
        engine.handler().wait_close(&session.sid).await,
        CloseReason::TransportError
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_over_max_http_buffer_size_is_413_and_the_session_goes_on() {
    let config = quiet_config().max_http_buffer_size(100).build();
    let (engine, addr) = start(config).await;
    let session = Polling::open(addr).await;
    assert_eq!(session.open["maxPayload"], 100);

    // Exactly the limit is fine.
    let at_limit = format!("4{}", "a".repeat(99));
    assert_eq!(session.post(at_limit.clone()).await.body, "ok");
    assert_eq!(session.get().await.body, at_limit);

    let res = session.post(format!("4{}", "b".repeat(200))).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        engine.handler().messages(&session.sid).len(),
        1,
        "the oversized message was not delivered"
    );
    // As in Node, only that request was refused: the session still echoes.
    assert_eq!(session.post("4after").await.body, "ok");
    assert_eq!(session.get().await.body, "4after");
    assert!(engine.socket(&session.sid).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_packet_is_a_parse_error() {
    let (engine, addr) = start_with(Recorder::silent(), quiet_config().build()).await;
    let session = Polling::open(addr).await;
    let pending = session.spawn_get();
    until_writable(&engine, &session.sid).await;

    // The packets before the bad one are still handled, as Node handles them.
    let res = session.post("4first\x1e9\x1e4never").await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body, "ok");
    assert_eq!(
        engine.handler().wait_close(&session.sid).await,
        CloseReason::ParseError
    );
    assert_eq!(
        engine.handler().messages(&session.sid),
        vec![Message::Text("first".into())]
    );
    let res = join(pending).await;
    assert_eq!(res.body, "1", "the pending GET gets the close packet");
    assert!(engine.socket(&session.sid).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_bad_packet_is_a_parse_error() {
    let (engine, addr) = start(quiet_config().build()).await;
    let session = Polling::open(addr).await;
    session.post("9").await;
    assert_eq!(
        engine.handler().wait_close(&session.sid).await,
        CloseReason::ParseError
    );
    assert!(engine.handler().messages(&session.sid).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_drains_and_flushes() {
    let (engine, addr) = start(quiet_config().build()).await;
    let session = Polling::open(addr).await;
    let socket = engine.socket(&session.sid).expect("socket");
    socket.send("a").expect("send");
    socket.send(vec![0u8, 1]).expect("send");
    assert_eq!(session.get().await.body, "4a\x1ebAAE=");
    engine.handler().wait_drain(&session.sid).await;
    let flushed = engine.handler().flushed_frames(&session.sid);
    let tail = &flushed[flushed.len() - 2..];
    assert_eq!(
        tail,
        &[
            engineio::Frame::Text("4a".into()),
            engineio::Frame::Binary(Bytes::from_static(&[0, 1]))
        ]
    );
}

/// Sends the head of a POST whose body never fully arrives, on its own connection.
async fn start_slow_post(addr: std::net::SocketAddr, url: &str) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST {url} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 50\r\n\r\n4partial"
    );
    tcp.write_all(head.as_bytes()).await.expect("write");
    tcp
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_posts_end_the_session() {
    let (engine, addr) = start(quiet_config().build()).await;
    let session = Polling::open(addr).await;
    let slow = start_slow_post(addr, &session.url()).await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    let res = session.post("4second").await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        engine.handler().wait_close(&session.sid).await,
        CloseReason::TransportError
    );
    assert!(engine.handler().messages(&session.sid).is_empty());
    drop(slow);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborted_post_is_a_transport_error() {
    let (engine, addr) = start(quiet_config().build()).await;
    let session = Polling::open(addr).await;
    let slow = start_slow_post(addr, &session.url()).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(slow);
    assert_eq!(
        engine.handler().wait_close(&session.sid).await,
        CloseReason::TransportError
    );
    assert!(engine.handler().messages(&session.sid).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_post_body_is_not_v4_and_ends_the_session() {
    let (engine, addr) = start(quiet_config().build()).await;
    let session = Polling::open(addr).await;
    let res = session
        .http
        .request(
            http::Method::POST,
            &session.url(),
            &[("content-type", "application/octet-stream")],
            vec![4u8, 1, 2, 3],
        )
        .await;
    assert_ne!(res.status, StatusCode::OK);
    assert_eq!(
        engine.handler().wait_close(&session.sid).await,
        CloseReason::TransportError
    );
    assert!(engine.handler().messages(&session.sid).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_get_gets_the_close_packet_on_ping_timeout() {
    let (engine, addr) = start(fast_config().build()).await;
    let session = Polling::open(addr).await;
    assert_eq!(session.get().await.body, "2");
    // No pong: the next poll is answered with the close packet when the timeout strikes.
    let started = Instant::now();
    let res = session.get().await;
    assert_eq!(res.body, "1");
    assert!(
        started.elapsed() < Duration::from_millis(800),
        "close came after {:?}",
        started.elapsed()
    );
    assert_eq!(
        engine.handler().wait_close(&session.sid).await,
        CloseReason::PingTimeout
    );
}
