//! Two servers of ours on one real Redis: every broadcast operator crosses between them.

mod common;
use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasts_reach_the_clients_of_both_servers() {
    let redis = Redis::start();
    let (a, addr_a) = server(&redis).await;
    let (b, addr_b) = server(&redis).await;
    cluster_of(2, &[&a, &b]).await;
    let mut on_a = Client::connect(addr_a).await;
    let mut on_b = Client::connect(addr_b).await;

    a.of("/").emit("hello", "everyone").expect("emit");
    assert_eq!(on_a.next_event().await.0, json!(["hello", "everyone"]));
    assert_eq!(on_b.next_event().await.0, json!(["hello", "everyone"]));

    // A room joined on b is honoured when a broadcasts to it.
    b.of("/")
        .get_socket(&on_b.id)
        .expect("b's socket")
        .join("room1");
    a.of("/")
        .to("room1")
        .emit("news", &json!({"n": 1}))
        .expect("emit");
    assert_eq!(on_b.next_event().await.0, json!(["news", {"n": 1}]));
    // except: everyone but room1.
    a.of("/")
        .except("room1")
        .emit("not-room1", &())
        .expect("emit");
    assert_eq!(on_a.next_event().await.0, json!(["not-room1", null]));
    // local: this server's clients only.
    b.of("/").local().emit("local", &1).expect("emit");
    assert_eq!(on_b.next_event().await.0, json!(["local", 1]));
    // A marker from a to both, after all of the above: whatever should not have come, would
    // have come before it.
    a.of("/").emit("marker", &()).expect("emit");
    assert_eq!(on_a.next_event().await.0, json!(["marker", null]));
    assert_eq!(on_b.next_event().await.0, json!(["marker", null]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_payloads_cross_servers() {
    let redis = Redis::start();
    let (a, _) = server(&redis).await;
    let (b, addr_b) = server(&redis).await;
    cluster_of(2, &[&a, &b]).await;
    let mut on_b = Client::connect(addr_b).await;

    let payload = json!({"name": "file"});
    let bytes = bytes::Bytes::from_static(&[0, 1, 2, 255]);
    a.of("/")
        .broadcast()
        .emit_args("file", &(payload, bytes.clone()))
        .expect("emit");
    let (event, attachments) = on_b.next_event().await;
    assert_eq!(
        event,
        json!(["file", {"name": "file"}, {"_placeholder": true, "num": 0}])
    );
    assert_eq!(attachments, vec![bytes.to_vec()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_leaves_is_no_longer_counted() {
    let redis = Redis::start();
    let (a, _) = server(&redis).await;
    let b = server(&redis).await;
    cluster_of(2, &[&a, &b.0]).await;
    b.0.close();
    let deadline = tokio::time::Instant::now() + WAIT;
    while a.of("/").server_count().await != 1 {
        assert!(tokio::time::Instant::now() < deadline, "b is still counted");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_with_acks_collects_the_answers_of_both_servers_clients() {
    let redis = Redis::start();
    let (a, addr_a) = server(&redis).await;
    let (b, addr_b) = server(&redis).await;
    cluster_of(2, &[&a, &b]).await;
    let mut on_a = Client::connect(addr_a).await;
    let mut on_b = Client::connect(addr_b).await;

    let everyone = a.of("/").timeout(WAIT);
    let asked = everyone.emit_with_ack::<_, serde_json::Value>("ping", &1);
    let (answers, on_a_saw, on_b_saw) = tokio::join!(
        asked,
        on_a.ack_next_event(json!("from a")),
        on_b.ack_next_event(json!({"from": "b", "bytes": null})),
    );
    assert_eq!(on_a_saw, json!(["ping", 1]));
    assert_eq!(on_b_saw, json!(["ping", 1]));
    let mut answers: Vec<String> = answers
        .expect("all answers")
        .iter()
        .map(|a| a.to_string())
        .collect();
    answers.sort();
    assert_eq!(answers, [r#""from a""#, r#"{"bytes":null,"from":"b"}"#]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_with_acks_times_out_with_the_answers_that_came() {
    let redis = Redis::start();
    let (a, addr_a) = server(&redis).await;
    let (b, addr_b) = server(&redis).await;
    cluster_of(2, &[&a, &b]).await;
    let mut on_a = Client::connect(addr_a).await;
    let _silent_on_b = Client::connect(addr_b).await;

    let everyone = a.of("/").timeout(std::time::Duration::from_millis(500));
    let asked = everyone.emit_with_ack::<_, serde_json::Value>("ping", &1);
    let (result, _) = tokio::join!(asked, on_a.ack_next_event(json!("a")));
    let error = result.expect_err("b's client never answers");
    let socketio::BroadcastAckError::Timeout { received, expected } = error else {
        panic!("expected a timeout, got {error}");
    };
    assert_eq!(received, vec![json!("a")]);
    assert_eq!(expected, Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_option_separates_clusters_on_one_redis() {
    let redis = Redis::start();
    let keyed = || socketio_redis::RedisAdapterConfig {
        key: "myapp".into(),
        ..Default::default()
    };
    let (a, _) = server_with(&redis, keyed()).await;
    let (b, addr_b) = server_with(&redis, keyed()).await;
    let (other, addr_other) = server(&redis).await;
    cluster_of(2, &[&a, &b]).await;
    // Itself once its own subscription is active (0 before): never the two "myapp" servers.
    cluster_of(1, &[&other]).await;
    let mut on_b = Client::connect(addr_b).await;
    let mut on_other = Client::connect(addr_other).await;

    a.of("/").emit("in-myapp", &1).expect("emit");
    assert_eq!(on_b.next_event().await.0, json!(["in-myapp", 1]));
    other.of("/").emit("in-default", &2).expect("emit");
    assert_eq!(on_other.next_event().await.0, json!(["in-default", 2]));
    on_b.assert_no_event(std::time::Duration::from_millis(300))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_whose_channels_overlap_hear_each_broadcast_once() {
    let redis = Redis::start();
    let (a, _) = server(&redis).await;
    let (b, addr_b) = server(&redis).await;
    // `*` in a name is no wildcard: `/*` hears neither `/` nor `/a`. And `/a`'s pattern also
    // matches `/a#b`'s channels: `/a#b` is still told once.
    for name in ["/*", "/a", "/a#b"] {
        b.of(name);
    }
    cluster_of(2, &[&a, &b]).await;
    let mut on_main = Client::connect(addr_b).await;
    let mut on_star = Client::connect_to(addr_b, "/*").await;
    let mut on_a = Client::connect_to(addr_b, "/a").await;
    let mut on_ab = Client::connect_to(addr_b, "/a#b").await;
    for name in ["/*", "/a", "/a#b"] {
        while a.of(name).server_count().await != 2 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    for (name, client) in [
        ("/", &mut on_main),
        ("/*", &mut on_star),
        ("/a", &mut on_a),
        ("/a#b", &mut on_ab),
    ] {
        a.of(name).emit("hello", name).expect("emit");
        assert_eq!(client.next_event().await.0, json!(["hello", name]));
        // A marker after it: a second copy would come before the marker.
        a.of(name).emit("marker", &()).expect("emit");
        assert_eq!(client.next_event().await.0, json!(["marker", null]));
    }
    for client in [&mut on_main, &mut on_star, &mut on_a, &mut on_ab] {
        client
            .assert_no_event(std::time::Duration::from_millis(100))
            .await;
    }
}

/// Node's pub/sub adapter has no connection state recovery, and neither has ours: a server
/// that asks for both is refused when it is built, not left to recover nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_with_the_pub_sub_adapter_is_refused_at_build_time() {
    let redis = Redis::start();
    let adapter = socketio_redis::RedisAdapter::connect(&redis.url())
        .await
        .expect("redis adapter");
    let config = socketio::SocketIoConfig::builder()
        .connection_state_recovery(socketio::ConnectionStateRecovery::default())
        .build();
    let built = socketio::SocketIo::builder()
        .config(config)
        .adapter(adapter)
        .try_build();
    assert!(
        matches!(built, Err(socketio::BuildError::RecoveryUnsupported)),
        "{built:?}"
    );
}
