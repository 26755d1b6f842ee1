//! Dynamic namespaces in a cluster: the parent `of_dynamic` returns subscribes nothing, so a
//! server with one hears each broadcast of the others once, on `/` as on its children; a
//! broadcast on a parent reaches the children of the same names on every server; a child
//! removed when empty leaves the cluster and comes back.

mod common;
use common::*;
use serde_json::json;
use socketio::SocketIo;
use socketio_redis::RedisAdapterConfig;
use std::time::Duration;

const QUIET: Duration = Duration::from_millis(200);

/// The channels subscribed on `redis`, and how many distinct patterns.
async fn subscriptions(redis: &Redis) -> (Vec<String>, usize) {
    let client = redis::Client::open(redis.url()).expect("redis url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis connection");
    let mut channels: Vec<String> = redis::cmd("PUBSUB")
        .arg("CHANNELS")
        .query_async(&mut conn)
        .await
        .expect("PUBSUB CHANNELS");
    channels.sort();
    let patterns: usize = redis::cmd("PUBSUB")
        .arg("NUMPAT")
        .query_async(&mut conn)
        .await
        .expect("PUBSUB NUMPAT");
    (channels, patterns)
}

fn dynamic(io: &SocketIo) -> socketio::ParentNamespace {
    io.of_dynamic(|name, _| name.starts_with("/dyn-"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_dynamic_namespaces_delivers_a_remote_broadcast_once() {
    let redis = Redis::start();
    let (a, _) = server(&redis).await;
    let (b, addr_b) = server(&redis).await;
    dynamic(&b);
    cluster_of(2, &[&a, &b]).await;
    let mut on_b = Client::connect(addr_b).await;

    a.of("/").emit("hello", "once").expect("emit");
    assert_eq!(on_b.next_event().await.0, json!(["hello", "once"]));
    // A marker after it: a second copy of "hello" would come before the marker.
    a.of("/").emit("marker", &()).expect("emit");
    assert_eq!(on_b.next_event().await.0, json!(["marker", null]));
    on_b.assert_no_event(QUIET).await;

    // The parent subscribed nothing: only `/` is on Redis (its pattern, once for both servers).
    let (channels, patterns) = subscriptions(&redis).await;
    assert!(
        channels.iter().all(|channel| channel.contains("#/#")),
        "{channels:?}"
    );
    assert_eq!(patterns, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_on_a_parent_reaches_the_children_of_every_server_once() {
    let redis = Redis::start();
    let (a, addr_a) = server(&redis).await;
    let (b, addr_b) = server(&redis).await;
    let parent_a = dynamic(&a);
    let parent_b = dynamic(&b);
    cluster_of(2, &[&a, &b]).await;
    let mut one_on_a = Client::connect_to(addr_a, "/dyn-1").await;
    let mut one_on_b = Client::connect_to(addr_b, "/dyn-1").await;
    let mut two_on_b = Client::connect_to(addr_b, "/dyn-2").await;
    let mut main_on_b = Client::connect(addr_b).await;
    // Each server's `/dyn-1` hears the other's.
    while a.of("/dyn-1").server_count().await != 2 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A child's own broadcast, once on each server.
    a.of("/dyn-1").emit("child", &1).expect("emit");
    assert_eq!(one_on_a.next_event().await.0, json!(["child", 1]));
    assert_eq!(one_on_b.next_event().await.0, json!(["child", 1]));

    // b's parent has both children: its broadcast reaches them, and a's `/dyn-1` through
    // Redis. a's has only `/dyn-1` (as Node's, a parent broadcasts on the children it has).
    parent_b.emit("from-b", &()).expect("emit");
    assert_eq!(one_on_b.next_event().await.0, json!(["from-b", null]));
    assert_eq!(two_on_b.next_event().await.0, json!(["from-b", null]));
    assert_eq!(one_on_a.next_event().await.0, json!(["from-b", null]));
    parent_a.emit("from-a", &()).expect("emit");
    assert_eq!(one_on_a.next_event().await.0, json!(["from-a", null]));
    assert_eq!(one_on_b.next_event().await.0, json!(["from-a", null]));

    // Every socket of every child, on every server.
    let found = parent_b.fetch_sockets().await.expect("fetch_sockets");
    let mut ids: Vec<String> = found.iter().map(|s| s.id.to_string()).collect();
    ids.sort();
    let mut expected = vec![
        one_on_a.id.clone(),
        one_on_b.id.clone(),
        two_on_b.id.clone(),
    ];
    expected.sort();
    assert_eq!(ids, expected);

    // Nothing came twice, and nothing to `/`.
    b.of("/dyn-1").emit("marker", &()).expect("emit");
    for client in [&mut one_on_a, &mut one_on_b] {
        assert_eq!(client.next_event().await.0, json!(["marker", null]));
    }
    two_on_b.assert_no_event(QUIET).await;
    main_on_b.assert_no_event(Duration::ZERO).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_removed_when_empty_leaves_the_cluster_and_comes_back() {
    let redis = Redis::start();
    let (a, _) = server(&redis).await;
    let (b, addr_b) = server_from(
        &redis,
        RedisAdapterConfig::default(),
        SocketIo::builder().cleanup_empty_child_namespaces(true),
    )
    .await;
    let parent = dynamic(&b);
    cluster_of(2, &[&a, &b]).await;
    let on_a = a.of("/dyn-1");

    let count_of = |n: usize| {
        let on_a = on_a.clone();
        async move {
            let deadline = tokio::time::Instant::now() + WAIT;
            while on_a.server_count().await != n {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "/dyn-1 never counted {n} servers"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    let client = Client::connect_to(addr_b, "/dyn-1").await;
    count_of(2).await;
    drop(client);
    // Its last socket gone, b's child closes its adapter: b no longer serves `/dyn-1`.
    count_of(1).await;
    assert!(parent.children().is_empty());

    // The next CONNECT makes it again, in the cluster again, hearing each broadcast once.
    let mut client = Client::connect_to(addr_b, "/dyn-1").await;
    count_of(2).await;
    on_a.emit("hello", "again").expect("emit");
    assert_eq!(client.next_event().await.0, json!(["hello", "again"]));
    on_a.emit("marker", &()).expect("emit");
    assert_eq!(client.next_event().await.0, json!(["marker", null]));
    client.assert_no_event(QUIET).await;
}
