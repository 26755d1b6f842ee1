//! Moving a polling session onto a WebSocket: probe, completion, ordering, refusals, timeout.

mod common;

use common::*;
use engineio::{CloseReason, Message, Transport};
use http::StatusCode;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Probes and completes the upgrade of `session` on a new WebSocket.
async fn upgrade(addr: std::net::SocketAddr, session: &Polling) -> Ws {
    let (mut ws, _) = ws_connect(addr, Some(&session.sid)).await;
    ws_send(&mut ws, "2probe").await;
    assert_eq!(ws_recv_text(&mut ws).await, "3probe");
    ws_send(&mut ws, "5").await;
    ws
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_then_upgrade_moves_the_session_to_websocket() {
    let (engine, addr) = start(quiet_config().build()).await;
    let session = Polling::open(addr).await;
    let sid = session.sid.clone();
    assert_eq!(session.open["upgrades"], serde_json::json!(["websocket"]));
    let pending = session.spawn_get();
    until_writable(&engine, &sid).await;

    let (mut ws, response) = ws_connect(addr, Some(&sid)).await;
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    ws_send(&mut ws, "2probe").await;
    assert_eq!(ws_recv_text(&mut ws).await, "3probe");
    let probed = Instant::now();

    let res = join(pending).await;
    assert_eq!(res.body, "6", "the pending GET is released with a noop");
    assert!(
        probed.elapsed() < Duration::from_millis(500),
        "noop came {:?} after the probe",
        probed.elapsed()
    );
    let socket = engine.socket(&sid).expect("socket");
    assert_eq!(socket.transport(), Transport::Polling, "not upgraded yet");
    assert_eq!(engine.handler().upgrade_count(&sid), 0);

    ws_send(&mut ws, "5").await;
    engine.handler().wait_upgrade(&sid).await;
    assert_eq!(socket.transport(), Transport::Websocket);
    assert_eq!(engine.handler().upgrade_count(&sid), 1);

    // Both directions now use the WebSocket.
    ws_send(&mut ws, "4over ws").await;
    assert_eq!(text_of(&ws_next_data(&mut ws).await), "4over ws");
    socket.send("from server").expect("send");
    assert_eq!(text_of(&ws_next_data(&mut ws).await), "4from server");
    assert_eq!(
        engine.handler().messages(&sid),
        vec![Message::Text("over ws".into())]
    );

    // Polling is over for this sid.
    session.get().await.assert_error(400, 3, None);
    session.post("4late").await.assert_error(400, 3, None);
    assert_eq!(engine.handler().messages(&sid).len(), 1);
    assert!(engine.handler().close_reason(&sid).is_none());
    assert_eq!(engine.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_around_the_upgrade_arrive_once_and_in_order() {
    const N: usize = 400;
    let (engine, addr) = start(quiet_config().build()).await;
    let session = Polling::open(addr).await;
    let socket = engine.socket(&session.sid).expect("socket");

    // The server keeps sending through the whole upgrade.
    let sender = tokio::spawn(async move {
        for i in 0..N {
            socket.send(format!("m{i}")).expect("send");
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
    });

    let mut by_polling = Vec::new();
    let note = |packets: Vec<String>, into: &mut Vec<String>| {
        for p in packets {
            match p.as_str() {
                "6" => {}
                p if p.starts_with('4') => into.push(p[1..].to_owned()),
                other => panic!("unexpected packet {other:?}"),
            }
        }
    };
    for _ in 0..2 {
        let res = session.get().await;
        assert_eq!(res.status, StatusCode::OK);
        note(res.packets(), &mut by_polling);
    }

    let (mut ws, _) = ws_connect(addr, Some(&session.sid)).await;
    ws_send(&mut ws, "2probe").await;
    assert_eq!(ws_recv_text(&mut ws).await, "3probe");
    // As a client does: one last poll (data or the noop), then pause and complete.
    let res = session.get().await;
    note(res.packets(), &mut by_polling);
    tokio::time::sleep(Duration::from_millis(20)).await;
    ws_send(&mut ws, "5").await;

    let mut by_ws = Vec::new();
    while by_polling.len() + by_ws.len() < N {
        let m = ws_next_data(&mut ws).await;
        let t = text_of(&m);
        assert!(t.starts_with('4'), "unexpected frame {t:?}");
        by_ws.push(t[1..].to_owned());
    }
    within("the sender", sender).await.expect("sender");

    assert!(!by_polling.is_empty(), "some messages went by polling");
    assert!(!by_ws.is_empty(), "some messages went by websocket");
    let all: Vec<String> = by_polling.iter().chain(&by_ws).cloned().collect();
    let expected: Vec<String> = (0..N).map(|i| format!("m{i}")).collect();
    assert_eq!(all, expected, "each message exactly once, in order");

    // Nothing more (no duplicate) comes after the last one.
    ws_send(&mut ws, "4end").await;
    assert_eq!(text_of(&ws_next_data(&mut ws).await), "4end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_websocket_after_the_upgrade_is_closed() {
    let (engine, addr) = start(quiet_config().build()).await;
    let session = Polling::open(addr).await;
    let mut ws = upgrade(addr, &session).await;
    engine.handler().wait_upgrade(&session.sid).await;

    let (mut intruder, _) = ws_connect(addr, Some(&session.sid)).await;
    ws_send(&mut intruder, "2probe").await;
    let (data, _) = ws_until_closed(&mut intruder).await;
    assert!(
        !data.contains(&WsMessage::text("3probe")),
        "the second websocket must not be probed: {data:?}"
    );

    // The first one keeps the session.
    ws_send(&mut ws, "4still here").await;
    assert_eq!(text_of(&ws_next_data(&mut ws).await), "4still here");
    assert_eq!(engine.handler().upgrade_count(&session.sid), 1);
    assert!(engine.handler().close_reason(&session.sid).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_websocket_during_the_upgrade_is_closed() {
    let (engine, addr) = start(quiet_config().build()).await;
    let session = Polling::open(addr).await;
    let (mut first, _) = ws_connect(addr, Some(&session.sid)).await;
    ws_send(&mut first, "2probe").await;
    assert_eq!(ws_recv_text(&mut first).await, "3probe");

    let (mut second, _) = ws_connect(addr, Some(&session.sid)).await;
    ws_send(&mut second, "2probe").await;
    let (data, _) = ws_until_closed(&mut second).await;
    assert!(data.is_empty(), "second websocket got {data:?}");

    ws_send(&mut first, "5").await;
    engine.handler().wait_upgrade(&session.sid).await;
    ws_send(&mut first, "4ok").await;
    assert_eq!(text_of(&ws_next_data(&mut first).await), "4ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_for_an_unknown_sid_is_refused() {
    let (_engine, addr) = start(quiet_config().build()).await;
    let url = ws_url(addr, Some("AAAAAAAAAAAAAAAAAAAAAA"));
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::BAD_REQUEST);
            let body = response.body().clone().unwrap_or_default();
            assert_eq!(
                String::from_utf8_lossy(&body),
                r#"{"code":1,"message":"Session ID unknown"}"#
            );
        }
        other => panic!("expected a 400, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_without_completion_is_abandoned_and_polling_goes_on() {
    let timeout = Duration::from_millis(300);
    let config = quiet_config().upgrade_timeout(timeout).build();
    let (engine, addr) = start(config).await;
    let session = Polling::open(addr).await;

    let started = Instant::now();
    let (mut ws, _) = ws_connect(addr, Some(&session.sid)).await;
    ws_send(&mut ws, "2probe").await;
    assert_eq!(ws_recv_text(&mut ws).await, "3probe");
    // No `5`: the server gives up on this WebSocket.
    let (data, _) = ws_until_closed(&mut ws).await;
    let closed = started.elapsed();
    assert!(data.is_empty(), "abandoned websocket got {data:?}");
    assert!(
        closed >= timeout - Duration::from_millis(20) && closed < Duration::from_secs(2),
        "abandoned after {closed:?}, upgrade_timeout is {timeout:?}"
    );

    let socket = engine.socket(&session.sid).expect("session survives");
    assert_eq!(socket.transport(), Transport::Polling);
    assert_eq!(engine.handler().upgrade_count(&session.sid), 0);
    assert!(engine.handler().close_reason(&session.sid).is_none());

    // Polling works as before, and a GET waits again instead of getting noops.
    let pending = session.spawn_get();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !pending.is_finished(),
        "GET answered while nothing is queued"
    );
    assert_eq!(session.post("4still polling").await.body, "ok");
    assert_eq!(join(pending).await.body, "4still polling");

    // And the client may try again.
    let mut ws = upgrade(addr, &session).await;
    engine.handler().wait_upgrade(&session.sid).await;
    ws_send(&mut ws, "4upgraded").await;
    assert_eq!(text_of(&ws_next_data(&mut ws).await), "4upgraded");
    assert_ne!(
        engine.handler().close_reason(&session.sid),
        Some(CloseReason::TransportError)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_queued_during_a_paused_upgrade_goes_out_on_the_websocket() {
    let config = engineio::EngineIoConfig::builder()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(300))
        .build();
    let (engine, addr) = start(config).await;
    let session = Polling::open(addr).await;
    let (mut ws, _) = ws_connect(addr, Some(&session.sid)).await;
    ws_send(&mut ws, "2probe").await;
    assert_eq!(ws_recv_text(&mut ws).await, "3probe");

    // The client has paused polling; the first ping (at 300 ms) waits in the queue.
    tokio::time::sleep(Duration::from_millis(380)).await;
    ws_send(&mut ws, "5").await;
    engine.handler().wait_upgrade(&session.sid).await;
    assert_eq!(
        ws_recv_text(&mut ws).await,
        "2",
        "the queued ping, on the websocket"
    );
    ws_send(&mut ws, "3").await;

    // Later pings come on the websocket too, and pongs keep the session alive.
    let deadline = Instant::now() + Duration::from_millis(1000);
    let mut pings = 0;
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(100), ws_recv(&mut ws)).await {
            Ok(Some(WsMessage::Text(t))) if t.as_str() == "2" => {
                pings += 1;
                ws_send(&mut ws, "3").await;
            }
            Ok(other) => panic!("unexpected {other:?}"),
            Err(_) => {}
        }
    }
    assert!(pings >= 2, "only {pings} pings in a second");
    assert!(engine.handler().close_reason(&session.sid).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_closed_during_the_probe_closes_the_probe_websocket() {
    let (engine, addr) = start(quiet_config().build()).await;
    let session = Polling::open(addr).await;
    let (mut ws, _) = ws_connect(addr, Some(&session.sid)).await;
    ws_send(&mut ws, "2probe").await;
    assert_eq!(ws_recv_text(&mut ws).await, "3probe");

    assert_eq!(session.post("1").await.body, "ok");
    let (data, _) = ws_until_closed(&mut ws).await;
    assert!(data.is_empty(), "probe websocket got {data:?}");
    assert_eq!(
        engine.handler().wait_close(&session.sid).await,
        CloseReason::TransportClose
    );
    assert_eq!(engine.handler().upgrade_count(&session.sid), 0);
}
