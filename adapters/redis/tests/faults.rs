//! Redis going away under running servers: local traffic keeps flowing, requests to the
//! cluster fail in bounded time, and the cluster forms again by itself when Redis is back.

mod common;
use common::*;
use serde_json::json;
use socketio_redis::RedisAdapterConfig;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_ride_out_a_redis_restart() {
    let redis = Redis::start();
    let port = redis.port;
    let config = RedisAdapterConfig {
        requests_timeout: Duration::from_millis(500),
        ..RedisAdapterConfig::default()
    };
    let (a, addr_a) = server_with(&redis, config.clone()).await;
    let (b, addr_b) = server_with(&redis, config).await;
    cluster_of(2, &[&a, &b]).await;
    let mut on_a = Client::connect(addr_a).await;
    let mut on_b = Client::connect(addr_b).await;

    drop(redis);
    a.of("/").emit("while-redis-is-away", &1).expect("emit");
    assert_eq!(on_a.next_event().await.0, json!(["while-redis-is-away", 1]));

    let started = Instant::now();
    let fetched = a.of("/").fetch_sockets().await;
    assert!(
        fetched.is_err(),
        "a cluster request without Redis: {fetched:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let asked = a
        .of("/")
        .server_side_emit_with_ack("anyone", &(), Duration::from_secs(2))
        .await;
    assert!(asked.is_err(), "{asked:?}");

    let _redis = Redis::start_on(port);
    cluster_of_within(2, &[&a, &b], Duration::from_secs(15)).await;
    // The subscriptions are back too: a broadcast crosses again.
    a.of("/").emit("redis-is-back", &2).expect("emit");
    assert_eq!(on_b.next_event().await.0, json!(["redis-is-back", 2]));
    let found = b
        .of("/")
        .fetch_sockets()
        .await
        .expect("fetch after the restart");
    assert_eq!(found.len(), 2);
}
