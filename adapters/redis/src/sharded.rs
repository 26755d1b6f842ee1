//! The sharded adapter: Redis 7 Cluster's sharded pub/sub (`SPUBLISH`/`SSUBSCRIBE`), on the
//! channels and messages of Node's `createShardedAdapter` (`@socket.io/redis-adapter` 8.3), so
//! that Rust and Node servers on one Redis Cluster form one socket.io cluster.
//!
//! A sharded channel lives on the one shard that owns its hash slot, so the cluster's traffic
//! spreads over its masters instead of every node relaying every message, as classic pub/sub
//! does in a cluster. The channels of a namespace `nsp`, with Node's `channelPrefix`
//! (`socket.io` by default):
//!
//! | channel | what goes there |
//! |---|---|
//! | `{prefix}#{nsp}#` | broadcasts, joins, leaves, disconnects, fetches, server-side emits; `server_count` counts its subscribers (`PUBSUB SHARDNUMSUB`) |
//! | `{prefix}#{nsp}#{room}#` | broadcasts to that one room, with [`SubscriptionMode::Dynamic`] or [`SubscriptionMode::DynamicPrivate`], subscribed by the servers that have a member of the room |
//! | `{prefix}#{nsp}#{uid}#` | the answers to the requests of the server whose adapter id is `uid` |
//!
//! Messages are Node's `ClusterAdapter` messages ([`cluster`](crate::cluster)): Node writes
//! them in JSON (msgpack when they hold binary); this adapter writes msgpack, which Node's
//! reads as well, and reads both. `WIRE-SHARDED.md` beside this crate has them byte for byte.
//!
//! # When a master fails
//!
//! A shard whose master dies has no master until the cluster promotes one of its replicas
//! (Redis's `cluster-node-timeout` and an election: a couple of seconds with a one-second
//! timeout). Meanwhile:
//!
//! - every server's own clients get its broadcasts as ever: local delivery never waits for
//!   Redis;
//! - what a server publishes on that shard's channels is retried by the cluster connection
//!   until the shard has a master again or the retries run out (the message is then lost,
//!   with a warning); the server's publishes go out in order, one message or one
//!   transaction (`MULTI`/`EXEC`, up to 16 messages queued back to back for one channel) at
//!   a time, so those to the other shards wait behind it (in the publish queue, whose bound
//!   still holds);
//! - a server subscribed on that shard hears nothing of it until it has subscribed again on
//!   the promoted replica: it does so by itself, once the cluster has settled. What was
//!   published on those channels before then is lost for it; what came after is delivered.
//!
//! So a client of another server gets every broadcast published before the master died and
//! every one published from shortly after the cluster settled (a second, in the test), in
//! order and never twice; of those published in between it may miss some, all or none: in
//! the test, from none to about two seconds' worth, mostly in one run, sometimes with a
//! second run of a message or two while the cluster connection moves its subscriptions.
//! `tests/sharded_failover.rs` kills a master (of three, with a replica each, Redis's node
//! timeout at one second) under a stream of broadcasts, one at a time and in bursts that go
//! as transactions, and checks exactly that. Requests (`fetch_sockets`,
//! `server_side_emit_with_ack`, broadcasts with acks) made during the failover may fail (a
//! timeout, or Redis's error). One message, or one transaction's, whose
//! publish had run when the master died but whose answer was lost, could in principle be
//! retried by the cluster connection and arrive twice; the tests have not seen it. (They did
//! with plain pipelines, which the connection resends whole after a refusal of any of their
//! commands, the ones that had run included; a transaction runs whole or not at all.)
//!
//! When an operator moves slots to another master (`redis-cli --cluster reshard`), Redis drops
//! the subscriptions to their channels; the adapter subscribes again at once, where the slots
//! are now, so broadcasts keep arriving (those published in the moment between may be lost).
//! The same test file moves the namespace channel's slots and checks it.

mod bus;
mod namespace;

use crate::RedisError;
use bus::ShardedBus;
use parser::Str;
use socketio::adapter::{Adapter, AdapterFactory, NamespaceRef};
use std::sync::Arc;
use std::time::Duration;

/// Node's `subscriptionMode`: which rooms get a channel of their own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SubscriptionMode {
    /// `"static"`: every broadcast goes to the namespace's channel; each server subscribes to
    /// two channels per namespace whatever its rooms.
    Static,
    /// `"dynamic"` (Node's default): a broadcast to exactly one public room goes to the room's
    /// channel, which only the servers with a member of the room subscribe to. A room named by
    /// a socket id stays on the namespace's channel; Node tells one by its length (20
    /// characters, Node's ids). This server's socket ids are 22 characters, so Node's servers
    /// send to them on a room channel: this server subscribes to its sockets' own rooms too,
    /// one channel per connected socket.
    #[default]
    Dynamic,
    /// `"dynamic-private"`: as `Dynamic`, and every room named by a socket id has a channel of
    /// its own too.
    DynamicPrivate,
}

impl SubscriptionMode {
    /// Node's name of the mode: `static`, `dynamic` or `dynamic-private`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Static => "static",
            Self::Dynamic => "dynamic",
            Self::DynamicPrivate => "dynamic-private",
        }
    }
}

impl std::str::FromStr for SubscriptionMode {
    type Err = String;

    fn from_str(mode: &str) -> Result<Self, String> {
        match mode {
            "static" => Ok(Self::Static),
            "dynamic" => Ok(Self::Dynamic),
            "dynamic-private" => Ok(Self::DynamicPrivate),
            other => Err(format!(
                "unknown subscription mode {other:?} (static, dynamic or dynamic-private)"
            )),
        }
    }
}

/// Node's options of `createShardedAdapter`, and the bound of the publish queue.
#[derive(Clone, Debug)]
pub struct ShardedRedisAdapterConfig {
    /// Node: `channelPrefix`, the start of every channel ("socket.io").
    pub channel_prefix: String,
    /// Node: `subscriptionMode` ([`SubscriptionMode::Dynamic`]).
    pub subscription_mode: SubscriptionMode,
    /// How long a request to the other servers waits when the caller gives no timeout: 5 s,
    /// Node's `ClusterAdapter` constant.
    pub requests_timeout: Duration,
    /// How many messages may wait for Redis at once, queued or being sent (10,000), as
    /// [`RedisAdapterConfig::publish_queue_size`](crate::RedisAdapterConfig::publish_queue_size).
    pub publish_queue_size: usize,
}

impl Default for ShardedRedisAdapterConfig {
    fn default() -> Self {
        Self {
            channel_prefix: "socket.io".into(),
            subscription_mode: SubscriptionMode::default(),
            requests_timeout: Duration::from_secs(5),
            publish_queue_size: 10_000,
        }
    }
}

/// Makes a sharded Redis adapter for each namespace of a server; give it to
/// [`SocketIoBuilder::adapter`](socketio::SocketIoBuilder::adapter).
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use socketio_redis::sharded::{ShardedRedisAdapter, ShardedRedisAdapterConfig, SubscriptionMode};
/// let config = ShardedRedisAdapterConfig {
///     subscription_mode: SubscriptionMode::Static,
///     ..ShardedRedisAdapterConfig::default()
/// };
/// // Any nodes of the cluster: the others are found from them.
/// let nodes = ["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"];
/// let redis = ShardedRedisAdapter::connect_with(&nodes, config).await?;
/// let io = socketio::SocketIo::builder().adapter(redis).build();
/// io.on_connection(|socket: socketio::Socket| async move {
///     // Reaches the sockets in "news" on every server of the cluster.
///     let _ = socket.to("news").emit("hello", "from one server");
/// });
/// # Ok(()) }
/// ```
///
/// Everything the pub/sub [`RedisAdapter`](crate::RedisAdapter) carries crosses the cluster
/// here too, with the same bounded publish queue and the same errors when it is full. What is
/// published while a shard has no master (the moments of a failover) is lost for the servers
/// that subscribe on that shard: the publish fails and is logged, local delivery goes on.
#[derive(Clone)]
pub struct ShardedRedisAdapter {
    bus: Arc<ShardedBus>,
    config: Arc<ShardedRedisAdapterConfig>,
}

impl ShardedRedisAdapter {
    /// Connects to the Redis Cluster that `nodes` (`redis://host:port` URLs) belong to, with
    /// Node's default options.
    pub async fn connect(nodes: &[impl AsRef<str>]) -> Result<Self, RedisError> {
        Self::connect_with(nodes, ShardedRedisAdapterConfig::default()).await
    }

    /// Connects to the Redis Cluster that `nodes` belong to, with these options; fails when
    /// none of them can be reached now (once connected, the adapter follows the cluster's
    /// changes and reconnects by itself).
    pub async fn connect_with(
        nodes: &[impl AsRef<str>],
        config: ShardedRedisAdapterConfig,
    ) -> Result<Self, RedisError> {
        let nodes: Vec<String> = nodes.iter().map(|n| n.as_ref().to_owned()).collect();
        Ok(Self {
            bus: ShardedBus::connect(&nodes, config.publish_queue_size).await?,
            config: Arc::new(config),
        })
    }

    /// How many messages wait for Redis right now, queued or being sent.
    pub fn publish_queue_len(&self) -> usize {
        self.bus.queued()
    }
}

impl std::fmt::Debug for ShardedRedisAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardedRedisAdapter")
            .field("config", &self.config)
            .field("publish_queue_len", &self.publish_queue_len())
            .finish()
    }
}

impl AdapterFactory for ShardedRedisAdapter {
    fn create(&self, name: &Str, namespace: NamespaceRef) -> Arc<dyn Adapter> {
        namespace::ShardedNamespace::new(self, name.clone(), namespace)
    }
}
