//! Two servers of ours on one real PostgreSQL: every cluster operation crosses between them,
//! as NOTIFY or through the attachments table, as Node's adapter 0.5 sends it.

mod common;
use common::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasts_reach_the_clients_of_both_servers_once() {
    let postgres = Postgres::start();
    let (a, addr_a) = server(&postgres).await;
    let (b, addr_b) = server(&postgres).await;
    cluster_of(2, &[&a, &b]).await;
    let mut on_a = Client::connect(addr_a).await;
    let mut on_b = Client::connect(addr_b).await;

    a.of("/").emit("hello", "everyone").expect("emit");
    assert_eq!(on_a.next_event().await.0, json!(["hello", "everyone"]));
    assert_eq!(on_b.next_event().await.0, json!(["hello", "everyone"]));

    b.of("/")
        .get_socket(&on_b.id)
        .expect("b's socket")
        .join("room1");
    a.of("/")
        .to("room1")
        .emit("news", &json!({"n": 1}))
        .expect("emit");
    assert_eq!(on_b.next_event().await.0, json!(["news", {"n": 1}]));
    a.of("/")
        .except("room1")
        .emit("not-room1", &())
        .expect("emit");
    assert_eq!(on_a.next_event().await.0, json!(["not-room1", null]));
    b.of("/").local().emit("local", &1).expect("emit");
    assert_eq!(on_b.next_event().await.0, json!(["local", 1]));
    a.of("/").emit("marker", &()).expect("emit");
    assert_eq!(on_a.next_event().await.0, json!(["marker", null]));
    assert_eq!(on_b.next_event().await.0, json!(["marker", null]));
    on_a.assert_no_event(Duration::from_millis(100)).await;
    on_b.assert_no_event(Duration::from_millis(100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_and_large_payloads_go_through_the_attachments_table() {
    let postgres = Postgres::start();
    let (a, _) = server(&postgres).await;
    let (b, addr_b) = server(&postgres).await;
    cluster_of(2, &[&a, &b]).await;
    let mut on_b = Client::connect(addr_b).await;

    let bytes = bytes::Bytes::from_static(&[0, 1, 2, 255]);
    a.of("/")
        .emit_args("file", &(json!({"name": "file"}), bytes.clone()))
        .expect("emit");
    let (event, attachments) = on_b.next_event().await;
    assert_eq!(
        event,
        json!(["file", {"name": "file"}, {"_placeholder": true, "num": 0}])
    );
    assert_eq!(attachments, vec![bytes.to_vec()]);

    // Over NOTIFY's 8000 bytes.
    let big = "x".repeat(20_000);
    a.of("/").emit("big", &big).expect("emit");
    assert_eq!(on_b.next_event().await.0, json!(["big", big]));
    let rows: i64 = sql(&postgres)
        .await
        .query_one("SELECT count(*) FROM socket_io_attachments", &[])
        .await
        .expect("the table")
        .get(0);
    assert_eq!(rows, 2, "one row per message that did not fit a NOTIFY");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_count_follows_servers_that_come_and_go() {
    let postgres = Postgres::start();
    let (a, _) = server(&postgres).await;
    let b = server(&postgres).await;
    cluster_of(2, &[&a, &b.0]).await;
    let c = server(&postgres).await;
    cluster_of(3, &[&a, &b.0, &c.0]).await;
    // A closed server says so: the others stop counting it at once.
    b.0.close();
    counts(&a, 2, Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_with_acks_collects_the_answers_of_both_servers_clients() {
    let postgres = Postgres::start();
    let (a, addr_a) = server(&postgres).await;
    let (b, addr_b) = server(&postgres).await;
    cluster_of(2, &[&a, &b]).await;
    let mut on_a = Client::connect(addr_a).await;
    let mut on_b = Client::connect(addr_b).await;

    let everyone = a.of("/").timeout(WAIT);
    let asked = everyone.emit_with_ack::<_, serde_json::Value>("ping", &1);
    let (answers, on_a_saw, on_b_saw) = tokio::join!(
        asked,
        on_a.ack_next_event(json!("from a")),
        on_b.ack_next_event(json!({"from": "b"})),
    );
    assert_eq!(on_a_saw, json!(["ping", 1]));
    assert_eq!(on_b_saw, json!(["ping", 1]));
    let mut answers: Vec<String> = answers
        .expect("all answers")
        .iter()
        .map(|a| a.to_string())
        .collect();
    answers.sort();
    assert_eq!(answers, [r#""from a""#, r#"{"from":"b"}"#]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_sockets_join_leave_and_disconnect_act_across_servers() {
    let postgres = Postgres::start();
    let (a, addr_a) = server(&postgres).await;
    let (b, addr_b) = server(&postgres).await;
    cluster_of(2, &[&a, &b]).await;
    let _on_a = Client::connect(addr_a).await;
    let mut on_b = Client::connect(addr_b).await;
    let socket = b.of("/").get_socket(&on_b.id).expect("b's socket");
    socket.join("room1");
    socket.set_data(json!({"name": "bee"}));

    let everyone = a.of("/").fetch_sockets().await.expect("fetch");
    assert_eq!(everyone.len(), 2, "both servers' sockets");
    let found = a.of("/").to("room1").fetch_sockets().await.expect("fetch");
    assert_eq!(found.len(), 1);
    let remote = &found[0];
    assert_eq!(remote.id.as_str(), on_b.id);
    assert_eq!(remote.data, json!({"name": "bee"}));

    remote.emit("direct", "hi").expect("emit");
    assert_eq!(on_b.next_event().await.0, json!(["direct", "hi"]));
    a.of("/")
        .to("room1")
        .sockets_join("joined-from-a")
        .expect("join");
    eventually(|| socket.rooms().iter().any(|r| r.as_str() == "joined-from-a")).await;
    a.of("/").to("room1").sockets_leave("room1").expect("leave");
    eventually(|| !socket.rooms().iter().any(|r| r.as_str() == "room1")).await;
    a.of("/")
        .to("joined-from-a")
        .disconnect_sockets(false)
        .expect("disconnect");
    eventually(|| !socket.connected()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_emits_reach_the_other_server_and_bring_answers_back() {
    let postgres = Postgres::start();
    let (a, _) = server(&postgres).await;
    let (b, _) = server(&postgres).await;
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

    // b has no handler for this one, so (as in Node) it never answers.
    let result = a
        .of("/")
        .server_side_emit_with_ack("nobody-answers", &json!(1), Duration::from_millis(300))
        .await;
    assert!(result.is_err(), "{result:?}");
}
