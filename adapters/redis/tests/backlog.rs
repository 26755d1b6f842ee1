//! Redis slower than the app: a server's publish queue never holds more than its bound, an
//! emit beyond it still reaches the server's own clients and tells the emitter
//! (`EmitError::Adapter(AdapterError::Backlog)`), requests to the cluster fail at once rather
//! than at their timeout, and once Redis keeps up again publishing resumes by itself.

mod common;
use common::*;
use serde_json::json;
use socketio::adapter::AdapterError;
use socketio::{AckError, BroadcastAckError, EmitError};
use socketio_redis::{RedisAdapter, RedisAdapterConfig};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BOUND: usize = 4;
const EMITS: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_redis_fills_the_bounded_queue_and_emitters_hear_it() {
    let redis = Redis::start();
    let config = RedisAdapterConfig {
        publish_queue_size: BOUND,
        requests_timeout: Duration::from_secs(2),
        ..RedisAdapterConfig::default()
    };
    let adapter = RedisAdapter::connect_with(&redis.url(), config.clone())
        .await
        .expect("redis adapter");
    let (a, addr_a) = serve(adapter.clone()).await;
    let (b, addr_b) = server_with(&redis, config).await;
    cluster_of(2, &[&a, &b]).await;
    let mut on_a = Client::connect(addr_a).await;
    let mut on_b = Client::connect(addr_b).await;

    // The queue's length, watched for the whole test.
    let most = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let watcher = tokio::spawn({
        let (adapter, most, done) = (adapter.clone(), most.clone(), done.clone());
        async move {
            while !done.load(Ordering::Relaxed) {
                most.fetch_max(adapter.publish_queue_len(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    });

    let paused = redis.pause();
    let (mut sent, mut backlogged) = (0, 0);
    for i in 0..EMITS {
        match a.of("/").emit("while-stalled", &i) {
            Ok(()) => sent += 1,
            Err(EmitError::Adapter(AdapterError::Backlog)) => backlogged += 1,
            Err(other) => panic!("emit {i}: {other}"),
        }
        most.fetch_max(adapter.publish_queue_len(), Ordering::Relaxed);
    }
    // The first BOUND fit; a place frees only when Redis answers or the connection's response
    // timeout (500 ms) gives a publish up, which a slow machine might reach mid-loop.
    assert!(
        (BOUND..=2 * BOUND).contains(&sent),
        "{sent} went into the queue"
    );
    assert_eq!(sent + backlogged, EMITS);
    // Every emit reached this server's own client, backlogged or not, in order.
    for i in 0..EMITS {
        assert_eq!(on_a.next_event().await.0, json!(["while-stalled", i]));
    }

    // Requests to the cluster fail at once with the same error, not at their 2 s timeout.
    let started = Instant::now();
    let fetched = a.of("/").fetch_sockets().await;
    assert!(matches!(fetched, Err(AdapterError::Backlog)), "{fetched:?}");
    let asked = a
        .of("/")
        .server_side_emit_with_ack("anyone", &(), Duration::from_secs(2))
        .await;
    assert!(
        matches!(asked, Err(AckError::Adapter(AdapterError::Backlog))),
        "{asked:?}"
    );
    let told = a.of("/").server_side_emit("anyone", &());
    assert!(
        matches!(told, Err(EmitError::Adapter(AdapterError::Backlog))),
        "{told:?}"
    );
    // Operations on the cluster's sockets act here and say the others were not told.
    for outcome in [
        a.of("/").sockets_join("late"),
        a.of("/").sockets_leave("late"),
        a.to("nobody-here").disconnect_sockets(false),
    ] {
        assert_eq!(outcome, Err(AdapterError::Backlog));
    }
    let acked = a
        .of("/")
        .timeout(Duration::from_secs(2))
        .emit_with_ack::<_, serde_json::Value>("ping", &())
        .await;
    let error = acked.expect_err("the cluster could not be asked");
    assert!(
        matches!(
            error,
            BroadcastAckError::Emit(EmitError::Adapter(AdapterError::Backlog))
        ),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    // Delivered locally all the same (its answer, now, is for no one).
    assert_eq!(
        on_a.ack_next_event(json!("late")).await,
        json!(["ping", null])
    );

    // While Redis stays stalled, emits go on failing and the queue stays within its bound,
    // places freed by publishes given up being taken again.
    let until = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < until {
        let _ = a.of("/").emit("still-stalled", &());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    drop(paused);
    // Publishing resumes by itself: an emit goes through again and crosses to b.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match a.of("/").emit("after", &()) {
            Ok(()) => break,
            Err(EmitError::Adapter(AdapterError::Backlog)) => {
                assert!(Instant::now() < deadline, "the queue never drained");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(other) => panic!("{other}"),
        }
    }
    // What Redis took before it stalled may reach b first.
    while on_b.next_event().await.0 != json!(["after", null]) {}
    while adapter.publish_queue_len() > 0 {
        assert!(Instant::now() < deadline, "the queue never emptied");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let found = a
        .of("/")
        .fetch_sockets()
        .await
        .expect("fetch once Redis is back");
    assert_eq!(found.len(), 2);

    done.store(true, Ordering::Relaxed);
    watcher.await.expect("watcher");
    assert_eq!(
        most.load(Ordering::Relaxed),
        BOUND,
        "the queue filled up to its bound, never past it"
    );
}
