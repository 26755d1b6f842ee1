//! The WebSocket transport over real TCP: echo, protocol errors, limits and heartbeats.

mod common;

use bytes::Bytes;
use common::*;
use engineio::{CloseReason, EngineIoConfig, Message};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message as WsMessage;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_and_binary_are_echoed() {
    let (engine, addr) = start(quiet_config().build()).await;
    let (mut ws, sid, _) = ws_open(addr).await;

    ws_send(&mut ws, "4hello").await;
    assert_eq!(ws_next_data(&mut ws).await, WsMessage::text("4hello"));
    ws_send_binary(&mut ws, &[1, 2, 3]).await;
    assert_eq!(
        ws_next_data(&mut ws).await,
        WsMessage::binary(vec![1, 2, 3])
    );
    // A base64 binary in a text frame is accepted too (Node's parser does), and goes back as
    // a real binary frame.
    ws_send(&mut ws, "bBAU=").await;
    assert_eq!(ws_next_data(&mut ws).await, WsMessage::binary(vec![4, 5]));
    ws_send(&mut ws, "4").await;
    assert_eq!(ws_next_data(&mut ws).await, WsMessage::text("4"));

    assert_eq!(
        engine.handler().messages(&sid),
        vec![
            Message::Text("hello".into()),
            Message::Binary(Bytes::from_static(&[1, 2, 3])),
            Message::Binary(Bytes::from_static(&[4, 5])),
            Message::Text("".into()),
        ]
    );
    assert!(engine.handler().drain_count(&sid) >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_packet_type_is_a_parse_error() {
    let (engine, addr) = start(quiet_config().build()).await;
    let (mut ws, sid, _) = ws_open(addr).await;
    ws_send(&mut ws, "9").await;
    assert_eq!(
        engine.handler().wait_close(&sid).await,
        CloseReason::ParseError
    );
    let (data, _) = ws_until_closed(&mut ws).await;
    assert!(data.is_empty(), "nothing sent before the close: {data:?}");
    assert!(engine.socket(&sid).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_from_the_client_is_a_transport_error() {
    let (engine, addr) = start(quiet_config().build()).await;
    let (mut ws, sid, _) = ws_open(addr).await;
    ws_send(&mut ws, "2").await;
    assert_eq!(
        engine.handler().wait_close(&sid).await,
        CloseReason::TransportError
    );
    ws_until_closed(&mut ws).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_over_max_http_buffer_size_closes_the_connection() {
    let config = quiet_config().max_http_buffer_size(1000).build();
    let (engine, addr) = start(config).await;
    let (mut ws, sid, open) = ws_open(addr).await;
    assert_eq!(open["maxPayload"], 1000);

    let at_limit = format!("4{}", "a".repeat(999));
    ws_send(&mut ws, &at_limit).await;
    assert_eq!(text_of(&ws_next_data(&mut ws).await), at_limit);

    ws_send(&mut ws, &format!("4{}", "b".repeat(5000))).await;
    let (data, _) = ws_until_closed(&mut ws).await;
    assert!(data.is_empty(), "no echo of the oversized message");
    let reason = engine.handler().wait_close(&sid).await;
    assert_eq!(reason, CloseReason::TransportError);
    assert_eq!(engine.handler().messages(&sid).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_close_is_transport_close() {
    let (engine, addr) = start(quiet_config().build()).await;
    let (mut ws, sid, _) = ws_open(addr).await;
    assert_eq!(engine.count(), 1);
    within("client close", ws.close(None)).await.expect("close");
    assert_eq!(
        engine.handler().wait_close(&sid).await,
        CloseReason::TransportClose
    );
    assert_eq!(engine.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_packet_is_transport_close() {
    let (engine, addr) = start(quiet_config().build()).await;
    let (mut ws, sid, _) = ws_open(addr).await;
    ws_send(&mut ws, "1").await;
    assert_eq!(
        engine.handler().wait_close(&sid).await,
        CloseReason::TransportClose
    );
    ws_until_closed(&mut ws).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connection_closes_the_session() {
    let (engine, addr) = start(quiet_config().build()).await;
    let (ws, sid, _) = ws_open(addr).await;
    engine.handler().connect_info(&sid).await;
    drop(ws);
    let reason = engine.handler().wait_close(&sid).await;
    assert!(
        matches!(
            reason,
            CloseReason::TransportClose | CloseReason::TransportError
        ),
        "reason {reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_pings_every_interval_and_pongs_keep_it_open() {
    let interval = Duration::from_millis(200);
    let (engine, addr) = start(fast_config().build()).await;
    let opened = Instant::now();
    let (mut ws, sid, _) = ws_open(addr).await;

    let mut pings = Vec::new();
    while pings.len() < 5 {
        match ws_recv(&mut ws).await {
            Some(WsMessage::Text(t)) if t.as_str() == "2" => {
                pings.push(opened.elapsed());
                ws_send(&mut ws, "3").await;
            }
            Some(WsMessage::Ping(_) | WsMessage::Pong(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    // Five intervals (1 s) with a 150 ms timeout each: alive only thanks to the pongs.
    assert!(engine.handler().close_reason(&sid).is_none());
    assert!(engine.socket(&sid).is_some());
    for (i, at) in pings.iter().enumerate() {
        let expected = interval * (i as u32 + 1);
        assert!(
            *at + Duration::from_millis(30) >= expected,
            "ping {i} at {at:?}, before {expected:?}"
        );
    }
    let last = *pings.last().expect("pings");
    assert!(
        last < Duration::from_millis(1800),
        "five pings took {last:?}, the interval is {interval:?}"
    );
    // Still echoing.
    ws_send(&mut ws, "4alive").await;
    assert_eq!(text_of(&ws_next_data(&mut ws).await), "4alive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_that_never_pongs_is_closed_with_ping_timeout() {
    let config = EngineIoConfig::builder()
        .ping_interval(Duration::from_millis(200))
        .ping_timeout(Duration::from_millis(150))
        .build();
    let (engine, addr) = start(config).await;
    let opened = Instant::now();
    let (mut ws, sid, _) = ws_open(addr).await;

    let (data, _) = ws_until_closed(&mut ws).await;
    let closed = opened.elapsed();
    assert_eq!(data, vec![WsMessage::text("2")], "one ping, then the close");
    assert_eq!(
        engine.handler().wait_close(&sid).await,
        CloseReason::PingTimeout
    );
    assert!(
        closed >= Duration::from_millis(330) && closed < Duration::from_millis(1000),
        "closed after {closed:?}, expected about 200 + 150 ms"
    );
}
