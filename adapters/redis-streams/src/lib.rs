//! A Redis Streams [`Adapter`] for `socketio-server`, speaking
//! what Node's `@socket.io/redis-streams-adapter` 0.3 writes, so that Rust and Node servers
//! form one cluster, and with connection state recovery through Redis: a client that drops
//! comes back to any server of the cluster with its id, rooms, data and every broadcast it
//! missed.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use socketio::{ConnectionStateRecovery, SocketIo, SocketIoConfig};
//! use socketio_redis_streams::RedisStreamsAdapter;
//!
//! let adapter = RedisStreamsAdapter::builder()
//!     .stream_name("myapp")
//!     .connect("redis://127.0.0.1:6379/")
//!     .await?;
//! let config = SocketIoConfig::builder()
//!     .connection_state_recovery(ConnectionStateRecovery::default())
//!     .build();
//! let io = SocketIo::builder().config(config).adapter(adapter).build();
//! io.on_connection(|socket: socketio::Socket| async move {
//!     // Reaches the sockets in "news" on every server of the cluster; with recovery on, a
//!     // client of any server that drops and comes back within two minutes gets it too.
//!     let _ = socket.to("news").emit("hello", "from one server");
//! });
//! # Ok(()) }
//! ```
//!
//! # How the servers talk
//!
//! As Node's adapter 0.3 (`WIRE.md` beside this crate has every byte):
//!
//! - What every server must see, in order, is appended to a Redis stream (`socket.io` by
//!   default, `XADD ... MAXLEN ~ 10000`): broadcasts, `sockets_join`, `sockets_leave`,
//!   `disconnect_sockets`. Each server reads the stream with `XREAD BLOCK` on a connection of
//!   its own, from where the stream ended when it started.
//! - Requests that need answers go over pub/sub, on the namespace's channel
//!   (`socket.io#/#`): `fetch_sockets`, `server_side_emit` with or without answers, and
//!   broadcasts with acknowledgements; the answers come on the requester's own channel
//!   (`socket.io#/#<uid>#`).
//! - `server_count` is the number of subscribers of the namespace's channel (`PUBSUB
//!   NUMSUB`), as Node's 0.3 counts (its `heartbeatInterval` and `heartbeatTimeout` options
//!   are left from 0.2 and unused: no heartbeat crosses between servers).
//!
//! A request the other servers do not all answer within
//! [`requests_timeout`](RedisStreamsConfig::requests_timeout) fails with
//! [`AdapterError::Timeout`]. A message another server wrote that is not understood (an
//! unknown type, a field missing or of the wrong type, bad JSON, base64 or msgpack) is skipped
//! with a debug log; nothing read from Redis can make the server panic.
//!
//! # Connection state recovery
//!
//! With the server's `connection_state_recovery` on, every broadcast that recovery keeps (an
//! event, without acknowledgement, not volatile) carries as its last argument the id of its
//! stream entry: its offset. On the server that sends it, its own clients get it once `XADD`
//! has given that id (one ordered path, so they get the broadcasts in the order they were
//! made); on the others, as they read it.
//!
//! A socket that drops leaves its session in Redis (`sio:session:<pid>`, expiring after
//! `max_disconnection_duration`). When its client comes back, to this server or any other,
//! with `{pid, offset}`, the session is taken (read and deleted at once) and the stream read
//! from the offset on: the broadcasts of the namespace that reached the session's rooms are
//! replayed, each with its entry id last, before the CONNECT reply. The session lives in
//! Redis, so it survives the process of the server it was on.
//!
//! The client gets a fresh session when its session is unknown or has expired, when its
//! offset is malformed or no longer in the stream (trimmed by `MAXLEN`), or when Redis does
//! not answer within [`command_timeout`](RedisStreamsConfig::command_timeout). What a restore
//! reads is bounded: at most
//! [`restore_max_entries`](RedisStreamsConfig::restore_max_entries) entries, read
//! [`read_count`](RedisStreamsConfig::read_count) at a time, and at most the server's
//! recovery `max_packets` and `max_bytes` of missed packets; past a bound the client gets a
//! fresh session rather than part of what it missed (Node stops after 100 reads and replays
//! what it read).
//!
//! As in Node, a restore and the live stream are not one atomic step: a broadcast appended
//! while a restore reads the stream can reach the client twice (replayed, then live), and one
//! appended just after the restore's last read and read by this server before the socket has
//! rejoined its rooms can miss it. Both windows last about one Redis round trip.
//!
//! # When Redis is slow or away
//!
//! Everything the server sends to the others waits in one bounded queue
//! ([`publish_queue_size`](RedisStreamsConfig::publish_queue_size), 10,000 messages), as in
//! `socketio-redis`: when it is full, a broadcast reaches this server's clients only and the
//! emit returns [`AdapterError::Backlog`], and requests fail with it at once. Every Redis
//! command is bounded by [`command_timeout`](RedisStreamsConfig::command_timeout): requests
//! fail with an error, a restore gives a fresh session, and, with recovery on, a broadcast
//! still reaches this server's clients (without an offset) once the `XADD` has failed. The
//! stream reader reconnects by itself, with backoff, and reads on after the last entry it
//! had read; it logs a warning when it lost Redis and when it is back.

mod namespace;
mod session;
mod stream;
mod wire;

use parser::Str;
use socketio::adapter::{Adapter, AdapterError, AdapterFactory, NamespaceRef};
use socketio_redis::bus::Bus;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;
use tokio::sync::mpsc;

pub use redis::RedisError;

/// The options of Node's `createAdapter` (0.3), with Node's defaults, and this adapter's own
/// bounds. Set them with [`RedisStreamsAdapter::builder`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RedisStreamsConfig {
    /// Node: `streamName`, the stream's name, or its prefix with several streams
    /// (`socket.io`).
    pub stream_name: String,
    /// Node: `streamCount`, how many streams share the namespaces (1). With more than one,
    /// a namespace uses `{stream_name}-{i}`, `i` as Node computes it from the namespace's
    /// name.
    pub stream_count: usize,
    /// Node: `channelPrefix`, the prefix of the pub/sub channels (`socket.io`).
    pub channel_prefix: String,
    /// Node: `maxLen`, about how many entries the stream keeps (`MAXLEN ~`, 10,000): what
    /// recovery can replay.
    pub max_len: usize,
    /// Node: `readCount`, how many entries one `XREAD` (and one read of a restore) takes
    /// (100).
    pub read_count: usize,
    /// Node: `blockTimeInMs`, how long one `XREAD` blocks (5 s).
    pub block_time: Duration,
    /// Node: `sessionKeyPrefix`, the prefix of the keys of sessions (`sio:session:`).
    pub session_key_prefix: String,
    /// How long a request to the other servers waits for their answers (5 s, Node's
    /// `DEFAULT_TIMEOUT`).
    pub requests_timeout: Duration,
    /// How many messages may wait for Redis at once, queued or being sent (10,000). Node
    /// has no such bound. At least 1.
    pub publish_queue_size: usize,
    /// How long any one Redis command may take before it counts as failed (2 s): what bounds
    /// every operation when Redis is away. Node has none.
    pub command_timeout: Duration,
    /// The most stream entries one restore reads (10,000, the default `max_len`; Node reads
    /// at most 100 times).
    pub restore_max_entries: usize,
}

impl Default for RedisStreamsConfig {
    fn default() -> Self {
        Self {
            stream_name: "socket.io".into(),
            stream_count: 1,
            channel_prefix: "socket.io".into(),
            max_len: 10_000,
            read_count: 100,
            block_time: Duration::from_secs(5),
            session_key_prefix: "sio:session:".into(),
            requests_timeout: Duration::from_secs(5),
            publish_queue_size: 10_000,
            command_timeout: Duration::from_secs(2),
            restore_max_entries: 10_000,
        }
    }
}

/// Sets the options of a [`RedisStreamsAdapter`], then connects it.
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct RedisStreamsAdapterBuilder {
    config: RedisStreamsConfig,
}

impl RedisStreamsAdapterBuilder {
    /// Node's `streamName` (`socket.io`).
    pub fn stream_name(mut self, name: impl Into<String>) -> Self {
        self.config.stream_name = name.into();
        self
    }

    /// Node's `streamCount` (1; at least 1).
    pub fn stream_count(mut self, count: usize) -> Self {
        self.config.stream_count = count.max(1);
        self
    }

    /// Node's `channelPrefix` (`socket.io`).
    pub fn channel_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.channel_prefix = prefix.into();
        self
    }

    /// Node's `maxLen` (10,000; at least 1).
    pub fn max_len(mut self, max_len: usize) -> Self {
        self.config.max_len = max_len.max(1);
        self
    }

    /// Node's `readCount` (100; at least 1).
    pub fn read_count(mut self, count: usize) -> Self {
        self.config.read_count = count.max(1);
        self
    }

    /// Node's `blockTimeInMs` (5 s; at least 1 ms).
    pub fn block_time(mut self, block: Duration) -> Self {
        self.config.block_time = block.max(Duration::from_millis(1));
        self
    }

    /// Node's `sessionKeyPrefix` (`sio:session:`).
    pub fn session_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.session_key_prefix = prefix.into();
        self
    }

    /// How long a request to the other servers waits (5 s).
    pub fn requests_timeout(mut self, timeout: Duration) -> Self {
        self.config.requests_timeout = timeout;
        self
    }

    /// How many messages may wait for Redis at once (10,000; at least 1).
    pub fn publish_queue_size(mut self, size: usize) -> Self {
        self.config.publish_queue_size = size.max(1);
        self
    }

    /// How long any one Redis command may take (2 s).
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.config.command_timeout = timeout;
        self
    }

    /// The most stream entries one restore reads (10,000).
    pub fn restore_max_entries(mut self, entries: usize) -> Self {
        self.config.restore_max_entries = entries;
        self
    }

    /// Connects to Redis at `url`; fails when Redis cannot be reached now (once connected,
    /// the adapter reconnects by itself whenever Redis goes away).
    pub async fn connect(self, url: &str) -> Result<RedisStreamsAdapter, RedisError> {
        RedisStreamsAdapter::connect_with(url, self.config).await
    }
}

/// Makes a Redis Streams adapter for each namespace of a server; give it to
/// [`SocketIoBuilder::adapter`](socketio::SocketIoBuilder::adapter).
#[derive(Clone)]
pub struct RedisStreamsAdapter {
    shared: Arc<Shared>,
}

/// What the adapters of every namespace of one server share.
pub(crate) struct Shared {
    pub(crate) bus: Arc<Bus>,
    pub(crate) config: RedisStreamsConfig,
    appends: mpsc::UnboundedSender<stream::Append>,
    namespaces: RwLock<HashMap<String, Weak<namespace::StreamsNamespace>>>,
    closed: AtomicBool,
    /// Where each stream ended when the adapter connected.
    pub(crate) start_ids: HashMap<String, String>,
}

impl RedisStreamsAdapter {
    /// Sets the options, then connects.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), socketio_redis_streams::RedisError> {
    /// use socketio_redis_streams::RedisStreamsAdapter;
    /// use std::time::Duration;
    ///
    /// let adapter = RedisStreamsAdapter::builder()
    ///     .stream_name("myapp")
    ///     .max_len(50_000)
    ///     .block_time(Duration::from_secs(2))
    ///     .connect("redis://127.0.0.1:6379/")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn builder() -> RedisStreamsAdapterBuilder {
        RedisStreamsAdapterBuilder::default()
    }

    /// Connects to Redis at `url` with Node's default options.
    pub async fn connect(url: &str) -> Result<Self, RedisError> {
        Self::connect_with(url, RedisStreamsConfig::default()).await
    }

    /// Connects to Redis at `url` with these options.
    pub async fn connect_with(url: &str, config: RedisStreamsConfig) -> Result<Self, RedisError> {
        let client = redis::Client::open(url)?;
        let bus = Bus::connect(client.clone(), config.publish_queue_size).await?;
        let mut commands = bus.commands();
        // Each stream is read from where it ends now: what comes after this server is up.
        let mut readers = Vec::new();
        let mut start_ids = HashMap::new();
        for stream in stream_names(&config) {
            let last = last_id(&mut commands, &stream, config.command_timeout).await?;
            start_ids.insert(stream.clone(), last.clone());
            let read = stream::ReadConfig {
                client: client.clone(),
                stream,
                count: config.read_count,
                block: config.block_time,
                timeout: config.command_timeout,
            };
            let connection = stream::connect(&read).await?;
            readers.push((read, connection, last));
        }
        let (appends, queue) = mpsc::unbounded_channel();
        tokio::spawn(stream::write(
            commands,
            queue,
            config.max_len,
            config.command_timeout,
        ));
        let shared = Arc::new(Shared {
            bus,
            config,
            appends,
            namespaces: RwLock::default(),
            closed: AtomicBool::new(false),
            start_ids,
        });
        let router: Arc<dyn stream::Router> = shared.clone();
        for (read, connection, last) in readers {
            tokio::spawn(stream::read(
                read,
                connection,
                last,
                Arc::downgrade(&router),
            ));
        }
        Ok(Self { shared })
    }

    /// The options it runs with.
    pub fn config(&self) -> &RedisStreamsConfig {
        &self.shared.config
    }

    /// How many messages wait for Redis right now, queued or being sent: never more than
    /// [`publish_queue_size`](RedisStreamsConfig::publish_queue_size).
    pub fn publish_queue_len(&self) -> usize {
        self.shared.bus.queued()
    }
}

/// The id of the last entry of `stream`, `0-0` when it has none: where reading starts.
async fn last_id(
    commands: &mut redis::aio::ConnectionManager,
    stream: &str,
    timeout: Duration,
) -> Result<String, RedisError> {
    let mut last = redis::cmd("XREVRANGE");
    last.arg(stream).arg("+").arg("-").arg("COUNT").arg(1);
    let reply = tokio::time::timeout(timeout, last.query_async::<redis::Value>(commands))
        .await
        .map_err(|_| {
            RedisError::from(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "redis did not answer XREVRANGE in time",
            ))
        })??;
    Ok(stream::entries_of_range(&reply)
        .into_iter()
        .next()
        .map_or_else(|| "0-0".to_owned(), |(id, _)| id))
}

/// Every stream a namespace may use: `stream_name` alone, or with several, each
/// `{stream_name}-{i}` Node's `computeStreamName` can give (negative ones included, as
/// JavaScript's `%` gives them for some names).
fn stream_names(config: &RedisStreamsConfig) -> Vec<String> {
    let count = i64::try_from(config.stream_count).unwrap_or(i64::MAX);
    if count <= 1 {
        return vec![config.stream_name.clone()];
    }
    (1 - count..count)
        .map(|i| format!("{}-{i}", config.stream_name))
        .collect()
}

/// The stream of namespace `nsp`, as Node's `computeStreamName`: JavaScript's string hash
/// (`hash * 31 + code unit`, in 32 bits) `%` the count, which keeps the hash's sign.
pub(crate) fn stream_of(config: &RedisStreamsConfig, nsp: &str) -> String {
    if config.stream_count <= 1 {
        return config.stream_name.clone();
    }
    let hash = nsp.encode_utf16().fold(0i32, |hash, unit| {
        hash.wrapping_mul(31).wrapping_add(i32::from(unit))
    });
    let count = i32::try_from(config.stream_count).unwrap_or(i32::MAX);
    format!("{}-{}", config.stream_name, hash.wrapping_rem(count))
}

impl Shared {
    /// Queues an entry for the stream, after everything queued before it.
    pub(crate) fn append(&self, append: stream::Append) {
        if let Err(mpsc::error::SendError(append)) = self.appends.send(append) {
            // The writer is gone (the runtime is shutting down): the entry is not sent.
            if let Some(then) = append.then {
                then(None);
            }
        }
    }

    /// Stops routing to the adapter `adapter` of namespace `name` (and not to one made since
    /// under the same name).
    fn forget(&self, name: &str, adapter: &Weak<namespace::StreamsNamespace>) {
        let mut namespaces = engineio::sync::write(&self.namespaces);
        if namespaces
            .get(name)
            .is_some_and(|known| known.ptr_eq(adapter))
        {
            namespaces.remove(name);
        }
        if namespaces.is_empty() {
            // As Node's: once every namespace is closed, the readers stop.
            self.closed.store(true, Ordering::Release);
        }
    }
}

impl stream::Router for Shared {
    fn route(&self, message: wire::Message, id: &str) {
        let namespace = engineio::sync::read(&self.namespaces)
            .get(&message.nsp)
            .and_then(Weak::upgrade);
        if let Some(namespace) = namespace {
            socketio_redis::cluster::incoming::on_message(&*namespace, message, Some(id));
        }
    }

    fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

impl std::fmt::Debug for RedisStreamsAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStreamsAdapter")
            .field("config", &self.shared.config)
            .field("publish_queue_len", &self.publish_queue_len())
            .finish()
    }
}

impl AdapterFactory for RedisStreamsAdapter {
    fn create(&self, name: &Str, namespace: NamespaceRef) -> Arc<dyn Adapter> {
        let adapter = namespace::StreamsNamespace::new(&self.shared, name.clone(), namespace);
        engineio::sync::write(&self.shared.namespaces)
            .insert(name.to_string(), Arc::downgrade(&adapter));
        adapter
    }

    /// Sessions and the broadcasts they miss live in Redis.
    fn supports_recovery(&self) -> bool {
        true
    }
}

/// A Redis error as the adapter reports it.
pub(crate) fn redis_error(error: impl std::fmt::Display) -> AdapterError {
    AdapterError::Other(format!("redis: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_map_to_streams_as_node_s_compute_stream_name() {
        let mut config = RedisStreamsConfig::default();
        assert_eq!(stream_of(&config, "/chat"), "socket.io");
        config.stream_count = 4;
        // Node's hashCode: "/" 47, "/chat" 46457863, "/zzzzzzzz" -961036753 (`%` keeps the
        // sign, so that one is stream -1).
        assert_eq!(stream_of(&config, "/"), "socket.io-3");
        assert_eq!(stream_of(&config, "/chat"), "socket.io-3");
        assert_eq!(stream_of(&config, "/admin"), "socket.io-0");
        assert_eq!(stream_of(&config, "/chat-room-negative"), "socket.io--3");
        assert_eq!(stream_of(&config, "/zzzzzzzz"), "socket.io--1");
        let names = stream_names(&config);
        assert_eq!(names.len(), 7);
        assert!(names.contains(&"socket.io--3".to_owned()));
    }
}
