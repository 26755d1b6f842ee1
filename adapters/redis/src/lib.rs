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
//! The wire format is described in `WIRE.md` beside this crate.

mod bus;
mod messages;
mod msgpack;
mod namespace;
mod requests;

use bus::Bus;
use parser::Str;
use socketio::adapter::NamespaceRef;
use socketio::adapter::{Adapter, AdapterFactory};
use std::sync::Arc;
use std::time::Duration;

pub use redis::RedisError;

/// Node's options of `createAdapter`.
#[derive(Clone, Debug)]
pub struct RedisAdapterConfig {
    /// Node: `key`, the prefix of every channel ("socket.io").
    pub key: String,
    /// Node: `requestsTimeout`, how long a request to the other servers waits (5 s).
    pub requests_timeout: Duration,
}

impl Default for RedisAdapterConfig {
    fn default() -> Self {
        Self {
            key: "socket.io".into(),
            requests_timeout: Duration::from_secs(5),
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

    pub async fn connect_with(url: &str, config: RedisAdapterConfig) -> Result<Self, RedisError> {
        let client = redis::Client::open(url)?;
        Ok(Self {
            bus: Bus::connect(client).await?,
            config: Arc::new(config),
            uid: Arc::from(short_uid()),
        })
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
