//! A Redis pub/sub [`Adapter`] for `socketio-server`, speaking the channels and messages of
//! Node's `@socket.io/redis-adapter` 8.3 (`createAdapter`), so that Rust and Node servers form
//! one cluster: a broadcast from any server reaches the clients of all.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let redis = socketio_redis::RedisAdapter::connect("redis://127.0.0.1:6379/").await?;
//! let io = socketio::SocketIo::builder().adapter(redis).build();
//! io.on_connection(|socket: socketio::Socket| async move {
//!     // Reaches the sockets in "news" on every server of the cluster.
//!     let _ = socket.to("news").emit("hello", "from one server");
//! });
//! # Ok(()) }
//! ```
//!
//! What crosses between servers: broadcasts (`to`, `except`, `volatile`, `compress`, binary
//! included; `local` stays local), broadcasts with acknowledgements (the answers of every
//! server's clients), `fetch_sockets` (the sockets of every server, as
//! [`SocketDescription`](socketio::adapter::SocketDescription)s), `sockets_join`,
//! `sockets_leave`, `disconnect_sockets`, `server_side_emit` with or without answers, and
//! `server_count` (the servers subscribed to the namespace's request channel, as Node counts
//! them). A request the other servers do not all answer within
//! [`requests_timeout`](RedisAdapterConfig::requests_timeout) fails with
//! [`AdapterError::Timeout`](socketio::adapter::AdapterError::Timeout). Messages from other
//! servers are decoded once into typed requests and answers; one that is not understood (an
//! unknown type, a required field missing or of the wrong type) is ignored, with a debug log.
//!
//! The wire format is described in `WIRE.md` beside this crate.
//!
//! On a Redis 7 Cluster, [`sharded::ShardedRedisAdapter`] speaks Node's `createShardedAdapter`
//! (sharded pub/sub, `SPUBLISH`/`SSUBSCRIBE`) with the same operations, the same bounded publish
//! queue and Node's three subscription modes (`WIRE-SHARDED.md`).
//!
//! # When Redis is slower than the app
//!
//! Everything a server sends to the others (broadcasts, requests, answers to theirs) waits in
//! one publish queue per server, drained in order, up to 64 messages per round trip to Redis.
//! The queue is bounded: at most
//! [`publish_queue_size`](RedisAdapterConfig::publish_queue_size) messages (10,000 by default)
//! wait for Redis at once, those being sent included. Node's adapter has no bound: its
//! queue grows for as long as Redis is slow or away. Here, once the queue is full:
//!
//! - a broadcast (`emit`, `to(..).emit`, ...) still reaches this server's own clients, and
//!   the emit returns `Err(EmitError::Adapter(AdapterError::Backlog))`: the other servers'
//!   clients did not get it, and will not;
//! - a request to the other servers (`fetch_sockets`, `server_side_emit_with_ack`,
//!   `timeout(..).emit_with_ack` on a broadcast) fails at once with
//!   [`AdapterError::Backlog`](socketio::adapter::AdapterError::Backlog) rather than at its
//!   timeout (a broadcast's `emit_with_ack` as
//!   `BroadcastAckError::Emit(EmitError::Adapter(AdapterError::Backlog))`; the local sockets
//!   had the packet), and `server_side_emit` returns it as `EmitError::Adapter`;
//! - `sockets_join`, `sockets_leave` and `disconnect_sockets` act on this server's sockets and
//!   return the error: the other servers were not told; an answer to another server's request
//!   is dropped with a warning, and that server's request times out.
//!
//! Nothing is retried: the queue drains as Redis catches up, and the next operations go through
//! again. [`RedisAdapter::publish_queue_len`] tells how full the queue is.
//!
//! Why 10,000: the queue is there to ride out bursts and short stalls of Redis (a fork for a
//! snapshot, a failover, a network blip), not to hide a Redis that cannot keep up. A healthy
//! Redis empties it in well under a second (about 140,000 publishes a second of 100-byte
//! events on a loaded 2-core machine), and an app emitting 10,000 broadcasts a second rides
//! out a one-second stall without an error. Its memory stays small: a queued message is its
//! encoded event plus about 100 bytes, so 10,000 small events hold a few MB. Past that, a
//! longer queue only makes every message later and the process bigger, while the emitter
//! would rather know. The bound counts messages, not bytes: with large broadcasts, lower it.

pub mod bus;
pub mod cluster;
mod messages;
pub mod msgpack;
mod namespace;
pub mod requests;
pub mod sharded;

/// The parts of Node's adapter messages that every Redis adapter of this workspace shares
/// (`socketio-redis-streams` speaks Node's `ClusterAdapter`, whose broadcasts carry the same
/// packet and options): a broadcast's packet (`{type, data, nsp}`) and its options
/// (`{rooms, except, flags}`), and their decoding from JSON or msgpack and encoding to msgpack
/// as Node writes them. Not needed by applications.
pub mod wire {
    pub use crate::messages::{
        decode, lenient, room_name, rooms, to_msgpack, DecodeError, Flags, Opts, Packet,
    };
}

use bus::Bus;
use parser::Str;
use socketio::adapter::NamespaceRef;
use socketio::adapter::{Adapter, AdapterFactory};
use std::sync::Arc;
use std::time::Duration;

pub use redis::RedisError;

/// Node's options of `createAdapter`, and the bound of the publish queue.
#[derive(Clone, Debug)]
pub struct RedisAdapterConfig {
    /// Node: `key`, the prefix of every channel ("socket.io").
    pub key: String,
    /// Node: `requestsTimeout`, how long a request to the other servers waits (5 s).
    pub requests_timeout: Duration,
    /// How many messages may wait for Redis at once, queued or being sent (10,000): see
    /// [When Redis is slower than the app](crate#when-redis-is-slower-than-the-app). Node has
    /// no such bound. At least 1.
    pub publish_queue_size: usize,
}

impl Default for RedisAdapterConfig {
    fn default() -> Self {
        Self {
            key: "socket.io".into(),
            requests_timeout: Duration::from_secs(5),
            publish_queue_size: 10_000,
        }
    }
}

/// Makes a Redis-backed adapter for each namespace of a server; give it to
/// [`SocketIoBuilder::adapter`](socketio::SocketIoBuilder::adapter).
#[derive(Clone)]
pub struct RedisAdapter {
    bus: Arc<Bus>,
    config: Arc<RedisAdapterConfig>,
    /// This server's id in the cluster: messages it published come back to it and are skipped.
    uid: Arc<str>,
}

impl RedisAdapter {
    /// Connects to Redis at `url` with Node's default options.
    pub async fn connect(url: &str) -> Result<Self, RedisError> {
        Self::connect_with(url, RedisAdapterConfig::default()).await
    }

    /// Connects to Redis at `url` with these options; fails when Redis cannot be reached
    /// now (once connected, the adapter reconnects by itself whenever Redis goes away).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), socketio_redis::RedisError> {
    /// use socketio_redis::{RedisAdapter, RedisAdapterConfig};
    /// let config = RedisAdapterConfig {
    ///     key: "myapp".into(),
    ///     // Large broadcasts: fewer of them may wait for Redis.
    ///     publish_queue_size: 1_000,
    ///     ..RedisAdapterConfig::default()
    /// };
    /// let redis = RedisAdapter::connect_with("redis://127.0.0.1:6379/", config).await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect_with(url: &str, config: RedisAdapterConfig) -> Result<Self, RedisError> {
        let client = redis::Client::open(url)?;
        Ok(Self {
            bus: Bus::connect(client, config.publish_queue_size).await?,
            config: Arc::new(config),
            uid: Arc::from(short_uid()),
        })
    }
}

impl std::fmt::Debug for RedisAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisAdapter")
            .field("uid", &self.uid)
            .field("config", &self.config)
            .field("publish_queue_len", &self.publish_queue_len())
            .finish()
    }
}

impl RedisAdapter {
    /// How many messages wait for Redis right now, queued or being sent: never more than
    /// [`publish_queue_size`](RedisAdapterConfig::publish_queue_size). Shared by every
    /// namespace of the server; worth watching as a metric of how far Redis is behind.
    pub fn publish_queue_len(&self) -> usize {
        self.bus.queued()
    }
}

impl AdapterFactory for RedisAdapter {
    fn create(&self, name: &Str, namespace: NamespaceRef) -> Arc<dyn Adapter> {
        namespace::RedisNamespace::new(self, name.clone(), namespace)
    }
}

/// Node's adapter picks six random characters; any unique string works across servers.
fn short_uid() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..6].to_string()
}
