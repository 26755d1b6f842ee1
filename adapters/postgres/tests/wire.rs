//! The cluster as Node's `@socket.io/postgres-adapter` 0.5 speaks to it, written by hand on
//! a plain connection: its JSON NOTIFYs, its attachment rows and headers, its heartbeats.

mod common;
use common::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_s_messages_are_understood() {
    let postgres = Postgres::start();
    let (a, addr_a) = server(&postgres).await;
    let mut on_a = Client::connect(addr_a).await;
    let node = sql(&postgres).await;
    let notify = |payload: serde_json::Value| {
        let node = &node;
        async move {
            node.execute(
                "SELECT pg_notify($1, $2)",
                &[&"socket.io#/", &payload.to_string()],
            )
            .await
            .expect("notify");
        }
    };

    // A heartbeat makes a stranger a member of the cluster.
    notify(json!({"type": 2, "uid": "node-server", "nsp": "/"})).await;
    counts(&a, 2, WAIT).await;

    // Node's broadcast in JSON.
    notify(
        json!({"type": 3, "data": {"packet": {"type": 2, "data": ["from-node", 1]},
        "opts": {"rooms": [], "except": [], "flags": {}}}, "uid": "node-server", "nsp": "/"}),
    )
    .await;
    assert_eq!(on_a.next_event().await.0, json!(["from-node", 1]));

    // Node's binary broadcast: msgpack in a row, the header in the NOTIFY.
    let mut payload = Vec::new();
    let message = rmpv::Value::Map(vec![
        ("type".into(), 3.into()),
        (
            "data".into(),
            rmpv::Value::Map(vec![
                (
                    "packet".into(),
                    rmpv::Value::Map(vec![
                        ("type".into(), 2.into()),
                        (
                            "data".into(),
                            rmpv::Value::Array(vec![
                                "bin".into(),
                                rmpv::Value::Binary(vec![1, 2, 3]),
                            ]),
                        ),
                    ]),
                ),
                (
                    "opts".into(),
                    rmpv::Value::Map(vec![
                        ("rooms".into(), rmpv::Value::Array(vec![])),
                        ("except".into(), rmpv::Value::Array(vec![])),
                        ("flags".into(), rmpv::Value::Map(vec![])),
                    ]),
                ),
            ]),
        ),
        ("uid".into(), "node-server".into()),
        ("nsp".into(), "/".into()),
    ]);
    rmpv::encode::write_value(&mut payload, &message).expect("msgpack");
    let id: i64 = node
        .query_one(
            "INSERT INTO socket_io_attachments (payload) VALUES ($1) RETURNING id",
            &[&payload],
        )
        .await
        .expect("a row")
        .get(0);
    notify(json!({"uid": "node-server", "type": 3, "attachmentId": id.to_string()})).await;
    let (event, attachments) = on_a.next_event().await;
    assert_eq!(event, json!(["bin", {"_placeholder": true, "num": 0}]));
    assert_eq!(attachments, vec![vec![1, 2, 3]]);

    // A header whose row is gone, and garbage: ignored, the adapter goes on.
    notify(json!({"uid": "node-server", "type": 3, "attachmentId": "999999"})).await;
    node.execute("SELECT pg_notify('socket.io#/', 'not json')", &[])
        .await
        .expect("notify");
    notify(json!({"type": 3, "data": {"packet": null}, "uid": "node-server", "nsp": "/"})).await;
    notify(
        json!({"type": 3, "data": {"packet": {"type": 2, "data": ["still", "here"]},
        "opts": {"rooms": [], "except": [], "flags": {}}}, "uid": "node-server", "nsp": "/"}),
    )
    .await;
    assert_eq!(on_a.next_event().await.0, json!(["still", "here"]));

    // Node's goodbye: no longer counted.
    notify(json!({"type": 13, "uid": "node-server", "nsp": "/"})).await;
    counts(&a, 1, WAIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ours_are_node_s_notifications() {
    let postgres = Postgres::start();
    let (mut listener, mut connection) =
        tokio_postgres::connect(&postgres.url(), tokio_postgres::NoTls)
            .await
            .expect("a connection");
    let (tx, mut heard) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        use futures_util::StreamExt;
        while let Some(Ok(message)) = messages.next().await {
            if let tokio_postgres::AsyncMessage::Notification(n) = message {
                let _ = tx.send(n.payload().to_owned());
            }
        }
    });
    listener
        .batch_execute("LISTEN \"socket.io#/\"")
        .await
        .expect("listen");
    let _ = &mut listener;
    let (a, _) = server(&postgres).await;
    let greeting = next(&mut heard).await;
    assert_eq!(greeting["type"], 1, "{greeting}");
    assert_eq!(greeting["nsp"], "/");
    let uid = greeting["uid"].as_str().expect("a uid").to_owned();
    assert_eq!(uid.len(), 16);

    a.of("/").to("r").emit("hello", &1).expect("emit");
    let broadcast = next(&mut heard).await;
    assert_eq!(
        broadcast,
        json!({"type": 3, "data": {"packet": {"type": 2, "data": ["hello", 1]},
            "opts": {"rooms": ["r"], "except": [], "flags": {}}}, "uid": uid, "nsp": "/"})
    );
    a.of("/")
        .emit_args("bin", &(bytes::Bytes::from_static(&[7]),))
        .expect("emit");
    let header = next(&mut heard).await;
    assert_eq!(header["uid"], uid.as_str());
    assert_eq!(header["type"], 3);
    assert!(header["attachmentId"].is_string(), "{header}");
    // Silent for the heartbeat interval (5 s): a heartbeat.
    let beat = tokio::time::timeout(Duration::from_secs(7), async {
        loop {
            let text = heard.recv().await.expect("open");
            let message: serde_json::Value = serde_json::from_str(&text).expect("JSON");
            if message["type"] == 2 {
                return message;
            }
        }
    })
    .await
    .expect("a heartbeat");
    assert_eq!(beat, json!({"type": 2, "uid": uid, "nsp": "/"}));
}

async fn next(heard: &mut tokio::sync::mpsc::UnboundedReceiver<String>) -> serde_json::Value {
    let text = tokio::time::timeout(WAIT, heard.recv())
        .await
        .expect("a notification")
        .expect("open");
    serde_json::from_str(&text).expect("JSON")
}
