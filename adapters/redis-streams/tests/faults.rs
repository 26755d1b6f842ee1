//! Redis going away under running servers: local traffic keeps flowing, requests to the
//! cluster fail in bounded time, and the stream reader and the subscriptions come back by
//! themselves when Redis does.

mod common;
use common::*;
use serde_json::json;
use socketio_redis_streams::RedisStreamsAdapter;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_ride_out_a_redis_restart() {
    let redis = Redis::start();
    let port = redis.port;
    let adapter = || {
        RedisStreamsAdapter::builder()
            .requests_timeout(Duration::from_millis(500))
            .block_time(Duration::from_millis(500))
    };
    let (a, addr_a) = server_from(&redis, adapter(), socketio::SocketIo::builder()).await;
    let (b, addr_b) = server_from(&redis, adapter(), socketio::SocketIo::builder()).await;
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
    // The stream reader is back too: a broadcast crosses again (the first ones may go while
    // b's reader is still reconnecting, so a few are sent until one arrives).
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        a.of("/").emit("redis-is-back", &2).expect("emit");
        if let Ok((event, _)) =
            tokio::time::timeout(Duration::from_millis(300), on_b.next_event()).await
        {
            assert_eq!(event, json!(["redis-is-back", 2]));
            break;
        }
        assert!(Instant::now() < deadline, "b never heard from a again");
    }
    let found = b
        .of("/")
        .fetch_sockets()
        .await
        .expect("fetch after the restart");
    assert_eq!(found.len(), 2);
}
