//! Requests between two servers of ours on one real Redis: fetch_sockets, remote join, leave
//! and disconnect, and server-side emits with and without acks.

mod common;
use common::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_sockets_sees_the_other_servers_sockets_and_reaches_them() {
    let redis = Redis::start();
    let (a, _) = server(&redis).await;
    let (b, addr_b) = server(&redis).await;
    cluster_of(2, &[&a, &b]).await;
    let mut on_b = Client::connect(addr_b).await;
    let socket = b.of("/").get_socket(&on_b.id).expect("b's socket");
    socket.join("room1");
    socket.set_data(json!({"name": "bee"}));

    let found = a.of("/").to("room1").fetch_sockets().await.expect("fetch");
    assert_eq!(found.len(), 1);
    let remote = &found[0];
    assert_eq!(remote.id.as_str(), on_b.id);
    assert!(remote.rooms.iter().any(|r| r.as_str() == "room1"));
    assert_eq!(remote.data, json!({"name": "bee"}));
    assert_eq!(
        remote.handshake.url().split('?').next(),
        Some("/socket.io/")
    );

    // What a does to the remote socket happens on b.
    remote.emit("direct", "hi").expect("emit");
    assert_eq!(on_b.next_event().await.0, json!(["direct", "hi"]));
    remote
        .join("joined-from-a")
        .expect("the operation reaches the cluster");
    let deadline = tokio::time::Instant::now() + WAIT;
    while !socket.rooms().iter().any(|r| r.as_str() == "joined-from-a") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the remote join never happened"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    remote
        .leave("room1")
        .expect("the operation reaches the cluster");
    a.of("/")
        .to("joined-from-a")
        .disconnect_sockets(false)
        .expect("the operation reaches the cluster");
    let deadline = tokio::time::Instant::now() + WAIT;
    while socket.connected() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the remote disconnect never happened"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        !socket.rooms().iter().any(|r| r.as_str() == "room1"),
        "left room1 first"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_emits_reach_the_other_server_and_bring_answers_back() {
    let redis = Redis::start();
    let (a, _) = server(&redis).await;
    let (b, _) = server(&redis).await;
    let (told, mut heard) = tokio::sync::mpsc::unbounded_channel();
    b.on_server_side("hello", move |args| {
        let _ = told.send(args.clone());
        async move { Some(json!({"answer": args})) }
    });
    cluster_of(2, &[&a, &b]).await;

    a.server_side_emit("hello", &json!(["no ack"]))
        .expect("emit");
    let args = tokio::time::timeout(WAIT, heard.recv())
        .await
        .expect("in time");
    assert_eq!(args, Some(vec![json!("no ack")]));

    let answers = a
        .of("/")
        .server_side_emit_with_ack("hello", &json!(1), WAIT)
        .await
        .expect("answers");
    assert_eq!(answers, vec![json!({"answer": [1]})]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_fails_with_a_timeout_when_a_server_does_not_answer() {
    let redis = Redis::start();
    let (a, _) = server(&redis).await;
    let (b, _) = server(&redis).await;
    cluster_of(2, &[&a, &b]).await;
    // b has no handler for it, so (as in Node) it never answers.
    let started = std::time::Instant::now();
    let result = a
        .of("/")
        .server_side_emit_with_ack("nobody-answers", &json!(1), Duration::from_millis(300))
        .await;
    assert!(result.is_err(), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}
