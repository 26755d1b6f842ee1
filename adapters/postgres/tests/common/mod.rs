//! Servers of ours on a real PostgreSQL (one per test, `adapter-test-support`'s `Postgres`)
//! through the adapter, and a plain connection for speaking to the cluster as a stranger.

#![allow(dead_code, unreachable_pub)] // shared by the test files, each using some

pub use adapter_test_support::*;

use socketio::SocketIo;
use socketio_postgres::{PostgresAdapter, PostgresAdapterConfig};
use std::time::Duration;

/// A server of ours on a free port, its adapter on `postgres` with Node's defaults.
pub async fn server(postgres: &Postgres) -> (SocketIo, std::net::SocketAddr) {
    server_with(PostgresAdapterConfig::new(postgres.url())).await
}

/// A server of ours whose adapter has these options.
pub async fn server_with(config: PostgresAdapterConfig) -> (SocketIo, std::net::SocketAddr) {
    let adapter = PostgresAdapter::connect_with(config)
        .await
        .expect("postgres adapter");
    serve(SocketIo::builder().adapter(adapter)).await
}

/// Options with short heartbeats, for the tests of servers that go away.
pub fn quick(postgres: &Postgres) -> PostgresAdapterConfig {
    let mut config = PostgresAdapterConfig::new(postgres.url());
    config.heartbeat_interval = Duration::from_millis(200);
    config.heartbeat_timeout = Duration::from_millis(1000);
    config
}

/// A plain connection to `postgres`.
pub async fn sql(postgres: &Postgres) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(&postgres.url(), tokio_postgres::NoTls)
        .await
        .expect("a connection");
    tokio::spawn(connection);
    client
}

/// Waits until `done` holds.
pub async fn eventually(done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "it never happened");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until `io` counts `n` servers, within `wait`.
pub async fn counts(io: &SocketIo, n: usize, wait: Duration) {
    let deadline = tokio::time::Instant::now() + wait;
    while io.of("/").server_count().await != n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never counted {n} servers"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
