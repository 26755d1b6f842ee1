//! A PostgreSQL [`Adapter`] for `socketio-server`, speaking LISTEN/NOTIFY as Node's
//! `@socket.io/postgres-adapter` 0.5 does, so that Rust and Node servers on one PostgreSQL form
//! one cluster: a broadcast from any server reaches the clients of all.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let postgres =
//!     socketio_postgres::PostgresAdapter::connect("postgres://postgres@127.0.0.1:5432/postgres")
//!         .await?;
//! let io = socketio::SocketIo::builder().adapter(postgres).build();
//! io.on_connection(|socket: socketio::Socket| async move {
//!     // Reaches the sockets in "news" on every server of the cluster.
//!     let _ = socket.to("news").emit("hello", "from one server");
//! });
//! # Ok(()) }
//! ```
//!
//! What crosses between servers: broadcasts (`to`, `except`, `volatile`, `compress`, binary
//! included; `local` stays local), broadcasts with acknowledgements, `fetch_sockets`,
//! `sockets_join`, `sockets_leave`, `disconnect_sockets`, `server_side_emit` with or without
//! answers, and `server_count`: as Node's `ClusterAdapterWithHeartbeat`, each server's adapter
//! of a namespace sends a heartbeat when it has sent nothing for
//! [`heartbeat_interval`](PostgresAdapterConfig::heartbeat_interval), and counts the servers it
//! heard from within [`heartbeat_timeout`](PostgresAdapterConfig::heartbeat_timeout). A request
//! (`fetch_sockets`, `server_side_emit_with_ack`) waits for each server counted; one that stops
//! its heartbeats is dropped from the count and from the requests waiting for it, which then
//! complete without it.
//!
//! Each message is a NOTIFY on `{channel_prefix}#{namespace}`, in JSON. Binary payloads and
//! messages whose JSON is [`payload_threshold`](PostgresAdapterConfig::payload_threshold)
//! bytes or more (NOTIFY refuses 8000) go to the attachments table in msgpack, and the NOTIFY
//! carries only where to find them; every server deletes the rows older than
//! [`cleanup_interval`](PostgresAdapterConfig::cleanup_interval). The wire format is in
//! `WIRE.md` beside this crate. Connection state recovery is not supported (nor is it by
//! Node's adapter).
//!
//! # When PostgreSQL is away or slow
//!
//! What a server sends waits in one bounded queue
//! ([`publish_queue_size`](PostgresAdapterConfig::publish_queue_size), 10,000 messages), sent
//! in order, pipelined on one connection. When the queue is full a broadcast still reaches the
//! server's own clients and returns [`AdapterError::Backlog`](socketio::adapter::AdapterError),
//! and requests fail with it at once. NOTIFY keeps nothing: what is sent while PostgreSQL is
//! away is lost, and what others send while this server's listening connection is down is lost
//! too. The adapter connects again by itself, LISTENs again, greets the cluster so that the
//! others' heartbeats count it at once, and logs a warning with what was lost: how many
//! messages of each type it could not send, and for how long it could not listen.

mod client;
mod namespace;
mod requests;
mod wire;

use client::{Commands, Publication, Router};
use parser::Str;
use socketio::adapter::{Adapter, AdapterError, AdapterFactory, NamespaceRef};
use std::collections::HashMap;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;
use tokio::sync::mpsc;

pub use tokio_postgres::Error as PostgresError;

/// Node's options of `createAdapter` (0.5) with Node's defaults, and this adapter's own bounds.
///
/// ```no_run
/// # async fn run() -> Result<(), socketio_postgres::PostgresError> {
/// use socketio_postgres::{PostgresAdapter, PostgresAdapterConfig};
/// use std::time::Duration;
/// let config = PostgresAdapterConfig {
///     channel_prefix: "myapp".into(),
///     heartbeat_interval: Duration::from_secs(2),
///     heartbeat_timeout: Duration::from_secs(5),
///     ..PostgresAdapterConfig::new("postgres://postgres@127.0.0.1:5432/postgres")
/// };
/// let adapter = PostgresAdapter::connect_with(config).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct PostgresAdapterConfig {
    /// Where PostgreSQL is, as `tokio_postgres` reads it
    /// (`postgres://user:password@host:port/database`, or `host=.. user=..`).
    pub url: String,
    /// Node: `channelPrefix`, the prefix of the notification channels (`socket.io`).
    pub channel_prefix: String,
    /// Node: `tableName`, the attachments table (`socket_io_attachments`), written into the
    /// SQL as it is, as Node does.
    pub table_name: String,
    /// Node: `payloadThreshold`: a message whose JSON is this many bytes or more goes to the
    /// attachments table (8000, NOTIFY's limit).
    pub payload_threshold: usize,
    /// Node: `cleanupInterval`, how often old attachments are deleted, and how old they must
    /// be (30 s).
    pub cleanup_interval: Duration,
    /// Node: `heartbeatInterval`, how long a namespace's adapter stays silent before it sends
    /// a heartbeat (5 s).
    pub heartbeat_interval: Duration,
    /// Node: `heartbeatTimeout`, how long a server may stay silent before it is no longer
    /// counted (10 s).
    pub heartbeat_timeout: Duration,
    /// How long a request to the other servers waits for their answers (5 s, Node's
    /// `DEFAULT_TIMEOUT`).
    pub requests_timeout: Duration,
    /// How many messages may wait for PostgreSQL at once (10,000; at least 1). Node has no
    /// bound.
    pub publish_queue_size: usize,
    /// How long any one command may take before it counts as failed (5 s). Node has none.
    pub command_timeout: Duration,
    /// Whether to create the attachments table when it is missing (`true`), with Node's
    /// columns (`id bigserial UNIQUE, created_at timestamptz DEFAULT NOW(), payload bytea`);
    /// Node's README has the application do it.
    pub create_table: bool,
}

impl PostgresAdapterConfig {
    /// Node's defaults, PostgreSQL at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            channel_prefix: "socket.io".into(),
            table_name: "socket_io_attachments".into(),
            payload_threshold: 8_000,
            cleanup_interval: Duration::from_secs(30),
            heartbeat_interval: Duration::from_secs(5),
            heartbeat_timeout: Duration::from_secs(10),
            requests_timeout: Duration::from_secs(5),
            publish_queue_size: 10_000,
            command_timeout: Duration::from_secs(5),
            create_table: true,
        }
    }
}

/// Makes a PostgreSQL-backed adapter for each namespace of a server; give it to
/// [`SocketIoBuilder::adapter`](socketio::SocketIoBuilder::adapter).
#[derive(Clone)]
pub struct PostgresAdapter {
    shared: Arc<Shared>,
}

/// What the adapters of every namespace of one server share.
pub(crate) struct Shared {
    pub(crate) config: Arc<PostgresAdapterConfig>,
    queue: mpsc::Sender<Publication>,
    to_listen: mpsc::UnboundedSender<String>,
    namespaces: RwLock<HashMap<String, Weak<namespace::PgNamespace>>>,
    /// Kept alive here: the publisher and the listener hold it too, the cleanup only weakly.
    _commands: Arc<Commands>,
}

impl PostgresAdapter {
    /// Connects to PostgreSQL at `url` with Node's default options.
    pub async fn connect(url: &str) -> Result<Self, PostgresError> {
        Self::connect_with(PostgresAdapterConfig::new(url)).await
    }

    /// Connects with these options; fails when PostgreSQL cannot be reached now (once
    /// connected, the adapter reconnects by itself whenever PostgreSQL goes away).
    pub async fn connect_with(config: PostgresAdapterConfig) -> Result<Self, PostgresError> {
        let config = Arc::new(config);
        // Fail early on a wrong address or credentials, as Node's pool does on first use.
        let first = client::listener(&config.url).await?;
        let commands = Arc::new(Commands::new(config.clone()));
        if let Err(error) = commands.get().await {
            tracing::warn!(%error, "postgres command connection not made yet");
        }
        let (queue, to_publish) = mpsc::channel(config.publish_queue_size.max(1));
        let (to_listen, listens) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            config: config.clone(),
            queue,
            to_listen,
            namespaces: RwLock::default(),
            _commands: commands.clone(),
        });
        tokio::spawn(client::publish(commands.clone(), to_publish));
        tokio::spawn(client::clean_up(
            Arc::downgrade(&commands),
            config.cleanup_interval.max(Duration::from_millis(1)),
        ));
        let router: Arc<dyn Router> = shared.clone();
        tokio::spawn(client::listen(
            config,
            commands,
            Arc::downgrade(&router),
            listens,
            Some(first),
        ));
        Ok(Self { shared })
    }

    /// The options it runs with.
    pub fn config(&self) -> &PostgresAdapterConfig {
        &self.shared.config
    }

    /// How many messages wait for PostgreSQL right now (never more than
    /// [`publish_queue_size`](PostgresAdapterConfig::publish_queue_size)).
    pub fn publish_queue_len(&self) -> usize {
        self.shared.queue.max_capacity() - self.shared.queue.capacity()
    }
}

impl Shared {
    /// Queues a message for its channel; [`AdapterError::Backlog`] when the queue is full.
    pub(crate) fn publish(&self, publication: Publication) -> Result<(), AdapterError> {
        self.queue
            .try_send(publication)
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => AdapterError::Backlog,
                mpsc::error::TrySendError::Closed(_) => {
                    AdapterError::Other("the postgres publisher has stopped".into())
                }
            })
    }

    /// The notification channel of namespace `nsp` (Node: `${channelPrefix}#${nsp}`).
    pub(crate) fn channel(&self, nsp: &str) -> String {
        format!("{}#{nsp}", self.config.channel_prefix)
    }

    /// Stops routing to `adapter` of namespace `name` (and not to one made since).
    fn forget(&self, name: &str, adapter: &Weak<namespace::PgNamespace>) {
        let mut namespaces = engineio::sync::write(&self.namespaces);
        if namespaces
            .get(name)
            .is_some_and(|known| known.ptr_eq(adapter))
        {
            namespaces.remove(name);
        }
    }

    fn namespace(&self, nsp: &str) -> Option<Arc<namespace::PgNamespace>> {
        engineio::sync::read(&self.namespaces)
            .get(nsp)
            .and_then(Weak::upgrade)
    }
}

impl Router for Shared {
    fn route(&self, message: wire::Message) {
        if let Some(namespace) = self.namespace(&message.nsp) {
            namespace.on_message(message);
        }
    }

    fn is_own(&self, uid: &str) -> bool {
        engineio::sync::read(&self.namespaces)
            .values()
            .filter_map(Weak::upgrade)
            .any(|namespace| namespace.uid() == uid)
    }

    fn listening(&self, channel: &str) {
        let prefix = format!("{}#", self.config.channel_prefix);
        let Some(nsp) = channel.strip_prefix(&prefix) else {
            return;
        };
        if let Some(namespace) = self.namespace(nsp) {
            namespace.greet();
        }
    }
}

impl std::fmt::Debug for PostgresAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresAdapter")
            .field("config", &self.shared.config)
            .field("publish_queue_len", &self.publish_queue_len())
            .finish()
    }
}

impl AdapterFactory for PostgresAdapter {
    fn create(&self, name: &Str, namespace: NamespaceRef) -> Arc<dyn Adapter> {
        let adapter = namespace::PgNamespace::new(&self.shared, name.clone(), namespace);
        engineio::sync::write(&self.shared.namespaces)
            .insert(name.to_string(), Arc::downgrade(&adapter));
        // Once listened to, the namespace greets the cluster (`Router::listening`).
        let _ = self.shared.to_listen.send(self.shared.channel(name));
        adapter
    }
}
