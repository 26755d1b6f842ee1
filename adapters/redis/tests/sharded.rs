//! Two servers of ours on a real Redis 7 Cluster (three masters) through the sharded adapter,
//! in each of Node's subscription modes: every cluster operation crosses between them, and
//! each mode subscribes to the channels Node's would.

use adapter_test_support::*;
use serde_json::json;
use socketio::SocketIo;
use socketio_redis::sharded::{ShardedRedisAdapter, ShardedRedisAdapterConfig, SubscriptionMode};
use std::time::Duration;

/// Long enough for a message that was going to arrive to have arrived.
const QUIET: Duration = Duration::from_millis(200);

async fn sharded_server(
    cluster: &RedisCluster,
    mode: SubscriptionMode,
) -> (SocketIo, std::net::SocketAddr) {
    let config = ShardedRedisAdapterConfig {
        subscription_mode: mode,
        ..ShardedRedisAdapterConfig::default()
    };
    let adapter = ShardedRedisAdapter::connect_with(&cluster.urls(), config)
        .await
        .expect("sharded adapter");
    serve(SocketIo::builder().adapter(adapter)).await
}

/// The sharded channels subscribed on the whole cluster, sorted.
async fn shard_channels(cluster: &RedisCluster) -> Vec<String> {
    let mut channels = Vec::new();
    for url in cluster.urls() {
        let client = redis::Client::open(url).expect("a node's url");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("a node");
        let on_node: Vec<String> = redis::cmd("PUBSUB")
            .arg("SHARDCHANNELS")
            .query_async(&mut conn)
            .await
            .expect("PUBSUB SHARDCHANNELS");
        channels.extend(on_node);
    }
    channels.sort();
    channels
}

/// Waits until `check` holds of the cluster's sharded channels.
async fn channels_until(cluster: &RedisCluster, what: &str, check: impl Fn(&[String]) -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let channels = shard_channels(cluster).await;
        if check(&channels) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: {channels:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn until(what: &str, check: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Everything a user does across two servers, in `mode`.
async fn every_operation_crosses(mode: SubscriptionMode) {
    let cluster = RedisCluster::start(3, 0);
    let (a, addr_a) = sharded_server(&cluster, mode).await;
    let (b, addr_b) = sharded_server(&cluster, mode).await;
    let (told, mut heard) = tokio::sync::mpsc::unbounded_channel();
    b.on_server_side("hello", move |args| {
        let _ = told.send(args.clone());
        async move { Some(json!({"answer": args})) }
    });
    cluster_of(2, &[&a, &b]).await;
    let mut on_a = Client::connect(addr_a).await;
    let mut on_b = Client::connect(addr_b).await;
    let b_socket = b.of("/").get_socket(&on_b.id).expect("b's socket");
    b_socket.join("room1");
    let room1 = "socket.io#/#room1#".to_owned();
    let own_b = format!("socket.io#/#{}#", on_b.id);
    match mode {
        SubscriptionMode::Static => {}
        _ => {
            channels_until(
                &cluster,
                "b subscribes to room1 and its socket's room",
                |c| c.contains(&room1) && c.contains(&own_b),
            )
            .await
        }
    }

    // To everyone.
    a.of("/").emit("hello", "everyone").expect("emit");
    assert_eq!(on_a.next_event().await.0, json!(["hello", "everyone"]));
    assert_eq!(on_b.next_event().await.0, json!(["hello", "everyone"]));
    // To a room with a member on b only, and to everyone but that room.
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
    // To one socket of b by its id.
    a.of("/")
        .to(on_b.id.as_str())
        .emit("direct", &1)
        .expect("emit");
    assert_eq!(on_b.next_event().await.0, json!(["direct", 1]));
    // Binary crosses.
    let bytes = bytes::Bytes::from_static(&[0, 1, 2, 255]);
    a.of("/")
        .to("room1")
        .emit_args("file", &(json!("f"), bytes.clone()))
        .expect("emit");
    let (event, attachments) = on_b.next_event().await;
    assert_eq!(
        event,
        json!(["file", "f", {"_placeholder": true, "num": 0}])
    );
    assert_eq!(attachments, vec![bytes.to_vec()]);
    // What should not have reached a client would have come before this marker.
    a.of("/").emit("marker", &()).expect("emit");
    assert_eq!(on_a.next_event().await.0, json!(["marker", null]));
    assert_eq!(on_b.next_event().await.0, json!(["marker", null]));

    // A broadcast with acknowledgements collects both servers' clients' answers.
    let asked = a.of("/").timeout(WAIT);
    let asked = asked.emit_with_ack::<_, serde_json::Value>("ping", &1);
    let (answers, _, _) = tokio::join!(
        asked,
        on_a.ack_next_event(json!("a")),
        on_b.ack_next_event(json!("b"))
    );
    let mut answers: Vec<String> = answers
        .expect("answers")
        .iter()
        .map(|a| a.to_string())
        .collect();
    answers.sort();
    assert_eq!(answers, [r#""a""#, r#""b""#]);

    // fetchSockets sees b's socket, with its rooms.
    let found = a.of("/").to("room1").fetch_sockets().await.expect("fetch");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id.as_str(), on_b.id);
    assert!(found[0].rooms.iter().any(|r| r.as_str() == "room1"));

    // serverSideEmit, without and with an answer.
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

    // socketsJoin and socketsLeave from a act on b's socket.
    a.of("/").to("room1").sockets_join("joined").expect("join");
    until("the remote join", || {
        b_socket.rooms().iter().any(|r| r.as_str() == "joined")
    })
    .await;
    if mode != SubscriptionMode::Static {
        channels_until(&cluster, "b subscribes to the joined room", |c| {
            c.contains(&"socket.io#/#joined#".to_owned())
        })
        .await;
    }
    a.of("/").to("joined").emit("to-joined", &()).expect("emit");
    assert_eq!(on_b.next_event().await.0, json!(["to-joined", null]));
    a.of("/").sockets_leave("room1").expect("leave");
    until("the remote leave", || {
        !b_socket.rooms().iter().any(|r| r.as_str() == "room1")
    })
    .await;
    if mode != SubscriptionMode::Static {
        channels_until(&cluster, "b drops room1's channel", |c| !c.contains(&room1)).await;
    }
    a.of("/").to("room1").emit("gone", &()).expect("emit");
    on_b.assert_no_event(QUIET).await;

    // disconnectSockets from a disconnects b's socket.
    a.of("/")
        .to("joined")
        .disconnect_sockets(false)
        .expect("disconnect");
    until("the remote disconnect", || !b_socket.connected()).await;
    if mode != SubscriptionMode::Static {
        channels_until(&cluster, "b drops its socket's channels", |c| {
            !c.contains(&own_b) && !c.contains(&"socket.io#/#joined#".to_owned())
        })
        .await;
    }

    // What each mode subscribes to, now that only a's socket is left.
    let own_a = format!("socket.io#/#{}#", on_a.id);
    let mut expected = vec!["socket.io#/#".to_owned()];
    if mode != SubscriptionMode::Static {
        expected.push(own_a);
    }
    channels_until(&cluster, "the channels of the mode", |channels| {
        // Each server's answers channel, and what the mode adds.
        let answers = channels
            .iter()
            .filter(|c| c.len() == "socket.io#/#".len() + 17)
            .count();
        let mut rest: Vec<String> = channels
            .iter()
            .filter(|c| c.len() != "socket.io#/#".len() + 17 || c.contains(&on_a.id))
            .cloned()
            .collect();
        rest.sort();
        let mut wanted = expected.clone();
        wanted.sort();
        answers == 2 && rest == wanted
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_crosses_in_static_mode() {
    every_operation_crosses(SubscriptionMode::Static).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_crosses_in_dynamic_mode() {
    every_operation_crosses(SubscriptionMode::Dynamic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_crosses_in_dynamic_private_mode() {
    every_operation_crosses(SubscriptionMode::DynamicPrivate).await;
}

/// `SPUBLISH`es `payload` on `channel` of the cluster, as another server (or anyone) could.
async fn spublish(cluster: &RedisCluster, channel: &str, payload: &[u8]) {
    let client = redis::cluster::ClusterClient::new(cluster.urls()).expect("cluster client");
    let mut conn = client
        .get_async_connection()
        .await
        .expect("cluster connection");
    let _: () = redis::cmd("SPUBLISH")
        .arg(channel)
        .arg(payload)
        .query_async(&mut conn)
        .await
        .expect("SPUBLISH");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_messages_are_skipped_and_node_s_json_is_read() {
    let cluster = RedisCluster::start(3, 0);
    let (a, addr_a) = sharded_server(&cluster, SubscriptionMode::Dynamic).await;
    cluster_of(1, &[&a]).await;
    let mut on_a = Client::connect(addr_a).await;
    let socket = a.of("/").get_socket(&on_a.id).expect("a's socket");
    socket.join("room1");
    let uid = "0123456789abcdef";
    let hostile: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"{".to_vec(),
        b"\xc1".to_vec(),
        [vec![0x91; 100_000], vec![0xc0]].concat(),
        br#"{"type":3,"nsp":"/"}"#.to_vec(),
        br#"{"type":3,"nsp":"/","data":{"packet":{"type":2,"data":"not a list"},"opts":{}}}"#
            .to_vec(),
        br#"{"type":3,"nsp":"/","data":{"packet":{"type":2,"data":[]},"opts":{"rooms":7}}}"#
            .to_vec(),
        br#"{"type":7,"nsp":"/","data":{"opts":{}}}"#.to_vec(),
        br#"{"type":9,"nsp":"/","data":{"packet":[]}}"#.to_vec(),
        br#"{"type":9,"nsp":"/","data":{"packet":[1,2]}}"#.to_vec(),
        br#"{"type":250,"nsp":"/","data":{}}"#.to_vec(),
        br#"{"type":"3","nsp":"/","data":[]}"#.to_vec(),
        br#"{"type":12,"nsp":"/","data":{"requestId":5}}"#.to_vec(),
    ];
    for payload in &hostile {
        for channel in ["socket.io#/#", "socket.io#/#room1#"] {
            spublish(&cluster, channel, payload).await;
        }
    }
    // Node's own form, JSON without binary: a broadcast to room1 on its channel.
    let node = format!(
        r#"{{"type":3,"data":{{"packet":{{"type":2,"data":["from-node",{{"n":1}}],"nsp":"/"}},"opts":{{"rooms":["room1"],"except":[],"flags":{{}}}}}},"uid":"{uid}","nsp":"/"}}"#
    );
    spublish(&cluster, "socket.io#/#room1#", node.as_bytes()).await;
    assert_eq!(on_a.next_event().await.0, json!(["from-node", {"n": 1}]));
    // And the server still serves.
    a.of("/").emit("alive", &()).expect("emit");
    assert_eq!(on_a.next_event().await.0, json!(["alive", null]));
}
