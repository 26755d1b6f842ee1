//! The adapter's metrics on a real Redis: a server that never answers (subscribed, so Redis
//! counts it, but hung) makes this server's cluster requests time out, and the scrape says so.

mod common;
use common::*;
use socketio_redis::RedisAdapterConfig;
use std::time::Duration;

const REQUESTS: &str = "socket.io-request#/#";

/// The value of the sample `series` (name and labels as written) in a scrape.
fn value(scrape: &str, series: &str) -> Option<f64> {
    scrape.lines().find_map(|line| {
        let rest = line.strip_prefix(series)?.strip_prefix(' ')?;
        rest.trim().parse().ok()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_server_shows_as_timed_out_requests_and_is_counted_in_the_cluster() {
    let redis = Redis::start();
    let config = RedisAdapterConfig {
        requests_timeout: Duration::from_millis(300),
        ..RedisAdapterConfig::default()
    };
    let (a, _) = server_from(&redis, config, socketio::SocketIo::builder().metrics()).await;
    let _hung = Stranger::join(&redis, &[REQUESTS]).await;
    cluster_of(2, &[&a]).await;

    let error = a
        .fetch_sockets()
        .await
        .expect_err("no answer from the hung server");
    assert_eq!(
        error.to_string(),
        "the other servers did not answer in time"
    );
    assert_eq!(a.of("/").server_count().await, 2);

    let scrape = a.metrics().expect("metrics").render();
    for (series, expected) in [
        (
            r#"socketio_adapter_requests_total{namespace="/",operation="fetch_sockets"}"#,
            1.0,
        ),
        (
            r#"socketio_adapter_failures_total{namespace="/",operation="fetch_sockets",error="timeout"}"#,
            1.0,
        ),
        (r#"socketio_cluster_servers{namespace="/"}"#, 2.0),
    ] {
        assert_eq!(
            value(&scrape, series),
            Some(expected),
            "{series} in:\n{scrape}"
        );
    }
}
