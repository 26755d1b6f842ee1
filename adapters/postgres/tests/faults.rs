//! What the cluster does when a server dies without a word, and when PostgreSQL itself goes
//! away and comes back.

mod common;
use common::*;
use serde_json::json;
use std::time::Duration;

/// A server of ours in a runtime of its own, which the test can stop dead: its tasks and
/// connections end at once, with no goodbye to the cluster (as a process killed with SIGKILL).
fn doomed_server(
    config: socketio_postgres::PostgresAdapterConfig,
) -> (tokio::runtime::Runtime, std::net::SocketAddr) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let (io, addr) = runtime.block_on(server_with(config));
    // Kept alive with the runtime.
    runtime.spawn(async move {
        let _io = io;
        std::future::pending::<()>().await;
    });
    (runtime, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_server_stops_being_counted_and_requests_complete_without_it() {
    let postgres = Postgres::start();
    let (a, addr_a) = server_with(quick(&postgres)).await;
    let config = quick(&postgres);
    let (doomed, _) = tokio::task::spawn_blocking(move || doomed_server(config))
        .await
        .expect("started");
    counts(&a, 2, WAIT).await;
    let _on_a = Client::connect(addr_a).await;

    // The request starts while the other server is counted, then it dies.
    let fetch = tokio::spawn({
        let a = a.clone();
        async move {
            a.of("/")
                .timeout(WAIT)
                .fetch_sockets()
                .await
                .map(|s| s.len())
        }
    });
    let asked = tokio::spawn({
        let a = a.clone();
        async move {
            a.of("/")
                .server_side_emit_with_ack("anyone", &json!(1), WAIT)
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    tokio::task::spawn_blocking(move || doomed.shutdown_background())
        .await
        .expect("stopped");
    let started = std::time::Instant::now();
    let (fetched, answers) = tokio::join!(fetch, asked);
    let (fetched, answers) = (fetched.expect("ran"), answers.expect("ran"));
    assert_eq!(fetched.expect("completes without it"), 1);
    assert_eq!(
        answers.expect("completes without it"),
        Vec::<serde_json::Value>::new()
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "within the heartbeat timeout"
    );
    counts(&a, 1, Duration::from_secs(3)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_comes_back_after_postgres_restarts_under_load() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let mut postgres = Postgres::start();
    let (a, _) = server_with(quick(&postgres)).await;
    let (b, addr_b) = server_with(quick(&postgres)).await;
    cluster_of(2, &[&a, &b]).await;
    let mut on_b = Client::connect(addr_b).await;

    // Broadcasting all along: while PostgreSQL is away the local clients still get them,
    // and the emits return (an error at most), never hang or panic.
    let load = {
        let a = a.clone();
        tokio::spawn(async move {
            for i in 0.. {
                let _ = a.of("/").emit("load", &i);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Blocking work off the runtime's threads, so that the load goes on meanwhile.
    let mut postgres = tokio::task::spawn_blocking(move || {
        postgres.kill();
        std::thread::sleep(Duration::from_millis(500));
        postgres.start_again();
        postgres
    })
    .await
    .expect("restarted");

    // Back: b hears a again (the listener LISTENs again), and both count each other.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        on_b.next_event().await;
        assert!(
            tokio::time::Instant::now() < deadline,
            "b never heard a again"
        );
        if a.of("/").server_count().await == 2 && b.of("/").server_count().await == 2 {
            break;
        }
    }
    load.abort();
    let _ = &mut postgres;
    a.of("/").emit("after", &()).expect("emit");
    loop {
        let (event, _) = on_b.next_event().await;
        if event == json!(["after", null]) {
            break;
        }
    }
}
