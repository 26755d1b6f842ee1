//! Servers of ours on a real `redis-server` through the streams adapter, with or without
//! recovery, and what they keep in Redis; the rest is shared with the other adapters' tests
//! (`adapter-test-support`).

#![allow(dead_code, unreachable_pub)] // shared by the test files, each using some

pub use adapter_test_support::*;
use std::time::{Duration, Instant};

use socketio::{ConnectionStateRecovery, SocketIo, SocketIoConfig};
use socketio_redis_streams::{RedisStreamsAdapter, RedisStreamsAdapterBuilder};

/// A server of ours on a free port, its adapter on `redis`, without recovery.
pub async fn server(redis: &Redis) -> (SocketIo, std::net::SocketAddr) {
    server_from(redis, RedisStreamsAdapter::builder(), SocketIo::builder()).await
}

/// A server of ours with connection state recovery on, sessions kept `keep`.
pub async fn recovering_server(redis: &Redis, keep: Duration) -> (SocketIo, std::net::SocketAddr) {
    recovering_server_with(redis, keep, RedisStreamsAdapter::builder()).await
}

pub async fn recovering_server_with(
    redis: &Redis,
    keep: Duration,
    adapter: RedisStreamsAdapterBuilder,
) -> (SocketIo, std::net::SocketAddr) {
    let config = SocketIoConfig::builder()
        .connection_state_recovery(ConnectionStateRecovery {
            max_disconnection_duration: keep,
            ..ConnectionStateRecovery::default()
        })
        .build();
    server_from(redis, adapter, SocketIo::builder().config(config)).await
}

/// A server of ours built from `builder`, its adapter from `adapter` on `redis`.
pub async fn server_from(
    redis: &Redis,
    adapter: RedisStreamsAdapterBuilder,
    builder: socketio::SocketIoBuilder,
) -> (SocketIo, std::net::SocketAddr) {
    let adapter = adapter
        .connect(&redis.url())
        .await
        .expect("redis streams adapter");
    adapter_test_support::serve(builder.adapter(adapter)).await
}

/// A plain connection to `redis`, for looking at what the servers wrote.
pub async fn redis_connection(redis: &Redis) -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis.url())
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis connection")
}

/// Waits until the session of `pid` is in Redis (the server persists it as the socket
/// leaves, in the background).
pub async fn session_stored(redis: &Redis, pid: &str) {
    let mut conn = redis_connection(redis).await;
    let key = format!("sio:session:{pid}");
    let deadline = Instant::now() + WAIT;
    loop {
        let exists: bool = redis::cmd("EXISTS")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .expect("EXISTS");
        if exists {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the session of {pid} was never stored"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
