//! The per-socket write buffer: bursts, flush and drain events, and the `max_buffer_size` bound.

mod common;

use common::*;
use engineio::{Frame, Message, SendError};
use std::time::Duration;

const BURST: usize = 2000;

fn burst_on_request() -> Recorder {
    Recorder::with_hook(|socket, message| {
        if *message == Message::Text("burst".into()) {
            for i in 0..BURST {
                socket.send(format!("m{i}")).expect("send in burst");
            }
        }
    })
}

async fn read_burst(ws: &mut Ws) {
    for i in 0..BURST {
        let m = ws_next_data(ws).await;
        assert_eq!(text_of(&m), format!("4m{i}"), "message {i} out of order");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_from_on_message_arrives_in_order_with_flush_and_drain() {
    let (engine, addr) = start_with(burst_on_request(), quiet_config().build()).await;
    let (mut ws, sid, _) = ws_open(addr).await;
    ws_send(&mut ws, "4burst").await;
    read_burst(&mut ws).await;

    engine.handler().wait_drain(&sid).await;
    let flushed: Vec<Frame> = engine
        .handler()
        .flushed_frames(&sid)
        .into_iter()
        .filter(|f| matches!(f, Frame::Text(t) if t.starts_with("4m")))
        .collect();
    let expected: Vec<Frame> = (0..BURST)
        .map(|i| Frame::Text(format!("4m{i}").into()))
        .collect();
    assert_eq!(flushed, expected, "on_flush saw every frame once, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_from_outside_the_handler_arrives_in_order() {
    let (engine, addr) = start_with(Recorder::silent(), quiet_config().build()).await;
    let (mut ws, sid, _) = ws_open(addr).await;
    let socket = engine.socket(&sid).expect("socket");
    let sender = tokio::spawn(async move {
        for i in 0..BURST {
            socket.send(format!("m{i}")).expect("send");
            if i % 100 == 0 {
                tokio::task::yield_now().await;
            }
        }
    });
    read_burst(&mut ws).await;
    within("the sender", sender).await.expect("sender");
    engine.handler().wait_drain(&sid).await;
    assert!(engine.handler().drain_count(&sid) >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_bound_refuses_sends_until_a_get_drains_it() {
    let config = quiet_config().max_buffer_size(1024).build();
    let (engine, addr) = start_with(Recorder::silent(), config).await;
    let session = Polling::open(addr).await;
    let socket = engine.socket(&session.sid).expect("socket");

    // No GET pending: everything stays queued. Each frame is `4` + 100 bytes = 101 bytes.
    let payload = "x".repeat(100);
    let mut accepted = 0;
    let refused = loop {
        match socket.send(payload.as_str()) {
            Ok(()) => accepted += 1,
            Err(e) => break e,
        }
        assert!(accepted <= 20, "the bound is never enforced");
    };
    assert_eq!(refused, SendError::Full);
    assert_eq!(accepted, 10, "10 × 101 bytes fit in 1024, 11 do not");
    assert_eq!(
        socket.send(payload.as_str()),
        Err(SendError::Full),
        "still full"
    );
    // A refused send leaves the queue as it was: 1010 bytes, room for 14 more.
    socket
        .send("1234567890123")
        .expect("14 more bytes still fit");
    assert_eq!(socket.send("x"), Err(SendError::Full));

    let res = session.get().await;
    let packets = res.packets();
    assert_eq!(packets.len(), 11, "the GET takes the whole queue");
    assert!(packets[..10].iter().all(|p| *p == format!("4{payload}")));
    assert_eq!(packets[10], "41234567890123");
    engine.handler().wait_drain(&session.sid).await;

    socket
        .send("again")
        .expect("room after the GET drained the queue");
    assert_eq!(session.get().await.body, "4again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_larger_than_the_bound_fits_an_empty_queue_only() {
    let config = quiet_config().max_buffer_size(1024).build();
    let (engine, addr) = start_with(Recorder::silent(), config).await;
    let session = Polling::open(addr).await;
    let socket = engine.socket(&session.sid).expect("socket");

    let big = "y".repeat(4000);
    socket
        .send(big.as_str())
        .expect("an empty queue takes one big message");
    assert_eq!(socket.send("x"), Err(SendError::Full));
    assert_eq!(session.get().await.body, format!("4{big}"));
    socket.send("x").expect("drained");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_client_that_does_not_read_fills_the_queue() {
    let config = quiet_config().max_buffer_size(64 << 10).build();
    let (engine, addr) = start_with(Recorder::silent(), config).await;
    let (_ws, sid, _) = ws_open(addr).await;
    let socket = engine.socket(&sid).expect("socket");

    // The socket buffers and the kernel take a while to fill; the queue bound kicks in after.
    let chunk = "z".repeat(16 << 10);
    let mut refused = false;
    for _ in 0..20_000 {
        match socket.send(chunk.as_str()) {
            Ok(()) => tokio::time::sleep(Duration::from_micros(100)).await,
            Err(SendError::Full) => {
                refused = true;
                break;
            }
            Err(SendError::Closed) => panic!("socket closed"),
        }
    }
    assert!(
        refused,
        "a client that never reads must eventually fill the queue"
    );
}
