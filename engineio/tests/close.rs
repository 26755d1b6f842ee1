//! Closing from the server: `Socket::close`, `EngineIo::close`, and the engine's bookkeeping.

mod common;

use common::*;
use engineio::{CloseReason, SendError};
use http::StatusCode;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// GETs until the close packet, returning every non-noop packet seen.
async fn poll_until_close(session: &Polling) -> Vec<String> {
    let mut seen = Vec::new();
    for _ in 0..5 {
        let res = session.get().await;
        assert_eq!(res.status, StatusCode::OK, "{res:?}");
        for packet in res.packets() {
            if packet != "6" {
                seen.push(packet);
            }
        }
        if seen.last().map(String::as_str) == Some("1") {
            return seen;
        }
    }
    panic!("no close packet after 5 polls: {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_close_sends_the_queue_then_the_close_packet() {
    let (engine, addr) = start(quiet_config().build()).await;
    let session = Polling::open(addr).await;
    let socket = engine.socket(&session.sid).expect("socket");

    socket.send("bye").expect("send");
    socket.close();
    assert_eq!(socket.send("too late"), Err(SendError::Closed));

    assert_eq!(poll_until_close(&session).await, vec!["4bye", "1"]);
    assert_eq!(
        engine.handler().wait_close(&session.sid).await,
        CloseReason::ForcedClose
    );
    assert!(socket.is_closed());
    assert_eq!(socket.close_reason(), Some(CloseReason::ForcedClose));
    assert!(engine.socket(&session.sid).is_none());
    session
        .get()
        .await
        .assert_error(400, 1, Some("Session ID unknown"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_close_answers_a_pending_get() {
    let (engine, addr) = start(quiet_config().build()).await;
    let session = Polling::open(addr).await;
    let socket = engine.socket(&session.sid).expect("socket");
    let pending = session.spawn_get();
    until_writable(&engine, &session.sid).await;

    socket.send("bye").expect("send");
    socket.close();
    let first = join(pending).await;
    let mut seen: Vec<String> = first.packets().into_iter().filter(|p| p != "6").collect();
    if seen.last().map(String::as_str) != Some("1") {
        seen.extend(poll_until_close(&session).await);
    }
    assert_eq!(seen, vec!["4bye", "1"]);
    assert_eq!(
        engine.handler().wait_close(&session.sid).await,
        CloseReason::ForcedClose
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_close_with_nothing_queued() {
    let (engine, addr) = start(quiet_config().build()).await;
    let session = Polling::open(addr).await;
    let pending = session.spawn_get();
    until_writable(&engine, &session.sid).await;
    engine.socket(&session.sid).expect("socket").close();
    assert_eq!(join(pending).await.body, "1");
    assert_eq!(
        engine.handler().wait_close(&session.sid).await,
        CloseReason::ForcedClose
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_close_sends_the_queue_then_a_close_frame() {
    let (engine, addr) = start(quiet_config().build()).await;
    let (mut ws, sid, _) = ws_open(addr).await;
    let socket = engine.socket(&sid).expect("socket");

    socket.send("a").expect("send");
    socket.send(vec![9u8]).expect("send");
    socket.send("b").expect("send");
    socket.close();
    assert_eq!(socket.send("c"), Err(SendError::Closed));

    let (data, close_frame) = ws_until_closed(&mut ws).await;
    assert_eq!(
        data,
        vec![
            WsMessage::text("4a"),
            WsMessage::binary(vec![9u8]),
            WsMessage::text("4b")
        ]
    );
    assert!(close_frame, "the server ends with a close frame");
    assert_eq!(
        engine.handler().wait_close(&sid).await,
        CloseReason::ForcedClose
    );
    assert!(engine.socket(&sid).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_close_closes_every_socket() {
    let (engine, addr) = start(quiet_config().build()).await;
    let p1 = Polling::open(addr).await;
    let p2 = Polling::open(addr).await;
    let (mut w1, s1, _) = ws_open(addr).await;
    let (mut w2, s2, _) = ws_open(addr).await;
    let all = [p1.sid.clone(), p2.sid.clone(), s1.clone(), s2.clone()];
    engine.handler().wait_connects(4).await;
    assert_eq!(engine.count(), 4);
    let mut listed: Vec<String> = engine
        .sockets()
        .iter()
        .map(|s| s.id().to_string())
        .collect();
    listed.sort();
    let mut expected = all.to_vec();
    expected.sort();
    assert_eq!(listed, expected);

    let pending1 = p1.spawn_get();
    let pending2 = p2.spawn_get();
    until_writable(&engine, &p1.sid).await;
    until_writable(&engine, &p2.sid).await;
    engine.close();

    assert_eq!(join(pending1).await.body, "1");
    assert_eq!(join(pending2).await.body, "1");
    let (data, close_frame) = ws_until_closed(&mut w1).await;
    assert!(data.is_empty() && close_frame);
    let (data, close_frame) = ws_until_closed(&mut w2).await;
    assert!(data.is_empty() && close_frame);

    for sid in &all {
        assert_eq!(
            engine.handler().wait_close(sid).await,
            CloseReason::ForcedClose,
            "{sid}"
        );
        assert_eq!(engine.handler().close_count(sid), 1);
        assert!(engine.socket(sid).is_none());
    }
    assert_eq!(engine.count(), 0);
    assert!(engine.sockets().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn count_follows_connects_and_closes() {
    let (engine, addr) = start(quiet_config().build()).await;
    assert_eq!(engine.count(), 0);
    let p = Polling::open(addr).await;
    assert_eq!(engine.count(), 1);
    let (mut ws, sid, _) = ws_open(addr).await;
    engine.handler().connect_info(&sid).await;
    assert_eq!(engine.count(), 2);

    p.post("1").await;
    engine.handler().wait_close(&p.sid).await;
    assert_eq!(engine.count(), 1);
    assert!(engine.socket(&p.sid).is_none());
    assert!(engine.socket(&sid).is_some());

    within("ws close", futures_util::SinkExt::close(&mut ws))
        .await
        .expect("close");
    engine.handler().wait_close(&sid).await;
    assert_eq!(engine.count(), 0);
    assert!(engine.socket("not-a-sid").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_polling_session_whose_client_never_returns_ends_as_forced_close() {
    let (engine, addr) = start(fast_config().build()).await;
    let session = Polling::open(addr).await;
    engine.socket(&session.sid).expect("socket").close();
    assert_eq!(
        engine.handler().wait_close(&session.sid).await,
        CloseReason::ForcedClose
    );
    assert_eq!(engine.count(), 0);
}

/// Node's `engine.close()` closes every client with `close(true)`: the transport is discarded
/// and the session ends at once, even a polling one whose client is between two GETs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_close_ends_idle_polling_sessions_at_once() {
    let (engine, addr) = start(quiet_config().build()).await;
    let session = Polling::open(addr).await;
    let (_ws, ws_sid, _) = ws_open(addr).await;
    engine.handler().wait_connects(2).await;

    engine.close();
    eventually("engine.count() to drop to 0 after engine.close()", || {
        engine.count() == 0
    })
    .await;
    for sid in [&session.sid, &ws_sid] {
        assert_eq!(
            engine.handler().wait_close(sid).await,
            CloseReason::ForcedClose
        );
    }
}
