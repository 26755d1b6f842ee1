//! Servers of ours on a real `redis-server` through the pub/sub adapter, and a stranger on its
//! channels; the rest is shared with the other adapters' tests (`adapter-test-support`).

#![allow(dead_code, unreachable_pub)] // shared by the test files, each using some

pub use adapter_test_support::*;

use futures_util::StreamExt;
use socketio::SocketIo;
use socketio_redis::{RedisAdapter, RedisAdapterConfig};

/// A server of ours on a free port, its adapter on `redis`.
pub async fn server(redis: &Redis) -> (SocketIo, std::net::SocketAddr) {
    server_with(redis, RedisAdapterConfig::default()).await
}

pub async fn server_with(
    redis: &Redis,
    config: RedisAdapterConfig,
) -> (SocketIo, std::net::SocketAddr) {
    server_from(redis, config, SocketIo::builder()).await
}

/// A server of ours built from `builder`, its adapter on `redis`.
pub async fn server_from(
    redis: &Redis,
    config: RedisAdapterConfig,
    builder: socketio::SocketIoBuilder,
) -> (SocketIo, std::net::SocketAddr) {
    let adapter = RedisAdapter::connect_with(&redis.url(), config)
        .await
        .expect("redis adapter");
    serve_built(builder, adapter).await
}

/// A server of ours on a free port, with `adapter`.
pub async fn serve(adapter: RedisAdapter) -> (SocketIo, std::net::SocketAddr) {
    serve_built(SocketIo::builder(), adapter).await
}

/// A server of ours on a free port, built from `builder` with `adapter`.
async fn serve_built(
    builder: socketio::SocketIoBuilder,
    adapter: RedisAdapter,
) -> (SocketIo, std::net::SocketAddr) {
    adapter_test_support::serve(builder.adapter(adapter)).await
}

/// Another server of the cluster as Redis sees it: its subscriber and its publisher, speaking
/// to Redis directly, to send what Node's servers (or hostile ones) would.
pub struct Stranger {
    messages: redis::aio::PubSubStream,
    publisher: redis::aio::MultiplexedConnection,
}

impl Stranger {
    pub async fn join(redis: &Redis, channels: &[&str]) -> Self {
        let client = redis::Client::open(redis.url()).expect("redis url");
        let mut pubsub = client.get_async_pubsub().await.expect("pubsub");
        for channel in channels {
            pubsub.subscribe(*channel).await.expect("subscribe");
        }
        let publisher = client
            .get_multiplexed_async_connection()
            .await
            .expect("publisher");
        Self {
            messages: pubsub.into_on_message(),
            publisher,
        }
    }

    pub async fn publish(&mut self, channel: &str, payload: Vec<u8>) {
        redis::cmd("PUBLISH")
            .arg(channel)
            .arg(payload)
            .query_async::<()>(&mut self.publisher)
            .await
            .expect("publish");
    }

    /// The next message on any of its channels.
    pub async fn next(&mut self) -> Vec<u8> {
        let message = tokio::time::timeout(WAIT, self.messages.next())
            .await
            .expect("a message in time")
            .expect("subscribed");
        message.get_payload_bytes().to_vec()
    }
}
