//! Emit to the clients of a socket.io cluster on Redis from a process that is not a socket.io
//! server (a worker, a cron job), as Node's `@socket.io/redis-emitter` 5 does: the servers,
//! Node's with `@socket.io/redis-adapter` 8.3 or ours with `socketio-redis`, get the messages
//! that emitter publishes and deliver them to their clients.
//!
//! ```no_run
//! use socketio_redis_emitter::Emitter;
//!
//! # async fn run() -> Result<(), socketio_redis_emitter::EmitterError> {
//! let emitter = Emitter::connect("redis://127.0.0.1:6379/").await?;
//! // Every client of every server, in namespace "/".
//! emitter.emit("time", &"it is noon").await?;
//! // The clients in room "news" of "/admin" but those in "muted", if ready to write.
//! emitter
//!     .of("/admin")
//!     .to("news")
//!     .except("muted")
//!     .volatile()
//!     .emit_args("headline", &("rain", 12))
//!     .await?;
//! // Sockets in "news" join "archive" too, wherever they are connected.
//! emitter.of("/admin").to("news").sockets_join("archive").await?;
//! # Ok(()) }
//! ```
//!
//! Payloads are any [`serde::Serialize`]: `emit` sends one argument, `emit_args` each element
//! of a tuple or sequence. What serializes as bytes (`bytes::Bytes`, `serde_bytes`) reaches
//! the clients as binary (a Node `Buffer`, an `ArrayBuffer` in a browser); a `Vec<u8>` is a
//! list of numbers, as with serde everywhere.
//!
//! What it does not do, as Node's emitter: acknowledgements (neither from clients nor from
//! servers), `fetchSockets`, `serverCount`. Each call publishes one message and returns once
//! Redis took it; nothing is queued, so nothing grows when Redis is slow: the call is.
//! The messages, byte for byte, are in `WIRE.md` beside the crate.

mod operator;
mod wire;

pub use operator::BroadcastOperator;
pub use redis::RedisError;

use redis::aio::{ConnectionLike, ConnectionManager};
use serde::Serialize;
use wire::Args;

/// Why an emit was not published.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmitterError {
    /// Redis did not take the message.
    #[error("redis: {0}")]
    Redis(#[from] RedisError),
    /// The payload did not serialize.
    #[error("payload not serialized: {0}")]
    Serialize(String),
    /// `emit_args` (or `server_side_emit_args`) was given one value, not a tuple or sequence.
    #[error("the arguments must be a tuple or a sequence")]
    NotASequence,
    /// The event name is one socket.io reserves (`connect`, `disconnect`, ...).
    #[error("\"{0}\" is a reserved event name")]
    Reserved(String),
}

impl EmitterError {
    fn serialize(error: impl std::fmt::Display) -> Self {
        Self::Serialize(error.to_string())
    }
}

/// The names Node's emitter refuses, as socket.io's clients give them another meaning.
const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// Room names, one or several: `"room"`, `String`, `["a", "b"]`, `vec![...]`.
pub trait IntoRooms {
    /// The rooms, in order.
    fn into_rooms(self) -> Vec<String>;
}

impl IntoRooms for &str {
    fn into_rooms(self) -> Vec<String> {
        vec![self.to_owned()]
    }
}

impl IntoRooms for String {
    fn into_rooms(self) -> Vec<String> {
        vec![self]
    }
}

impl IntoRooms for &String {
    fn into_rooms(self) -> Vec<String> {
        vec![self.clone()]
    }
}

impl<T: Into<String>> IntoRooms for Vec<T> {
    fn into_rooms(self) -> Vec<String> {
        self.into_iter().map(Into::into).collect()
    }
}

impl<T: Into<String> + Clone> IntoRooms for &[T] {
    fn into_rooms(self) -> Vec<String> {
        self.iter().cloned().map(Into::into).collect()
    }
}

impl<T: Into<String>, const N: usize> IntoRooms for [T; N] {
    fn into_rooms(self) -> Vec<String> {
        self.into_iter().map(Into::into).collect()
    }
}

/// Node's `key` option of the emitter and of the servers' adapters: the channels' prefix.
pub const DEFAULT_KEY: &str = "socket.io";

/// Emits to one namespace of a cluster (`/` unless made by [`of`](Emitter::of)); cheap to
/// clone. `C` is the Redis connection it publishes on: a [`ConnectionManager`] (which
/// reconnects by itself) from [`connect`](Emitter::connect), or any connection given to
/// [`Emitter::builder`].
#[derive(Clone)]
pub struct Emitter<C = ConnectionManager> {
    connection: C,
    key: String,
    nsp: String,
}

impl<C> std::fmt::Debug for Emitter<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emitter")
            .field("key", &self.key)
            .field("nsp", &self.nsp)
            .finish_non_exhaustive()
    }
}

/// Options of an [`Emitter`] (Node's `EmitterOptions`).
///
/// ```no_run
/// # async fn run() -> Result<(), socketio_redis_emitter::EmitterError> {
/// let client = redis::Client::open("redis://127.0.0.1:6379/")?;
/// let connection = client.get_connection_manager().await?;
/// let emitter = socketio_redis_emitter::Emitter::builder()
///     .key("myapp") // the servers' adapters use the same key
///     .build(connection);
/// emitter.emit("hello", &1).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct EmitterBuilder {
    key: String,
}

impl Default for EmitterBuilder {
    fn default() -> Self {
        Self {
            key: DEFAULT_KEY.to_owned(),
        }
    }
}

impl EmitterBuilder {
    /// The prefix of the channels (Node's `key`, "socket.io"): the servers' adapters must
    /// have the same.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = key.into();
        self
    }

    /// An emitter to namespace `/`, publishing on `connection`.
    pub fn build<C>(self, connection: C) -> Emitter<C> {
        Emitter {
            connection,
            key: self.key,
            nsp: "/".to_owned(),
        }
    }
}

impl Emitter<ConnectionManager> {
    /// Connects to Redis at `url`, with Node's default key; fails when Redis cannot be reached
    /// now (later, the connection is made again by itself when Redis went away).
    pub async fn connect(url: &str) -> Result<Self, EmitterError> {
        let client = redis::Client::open(url)?;
        Ok(Emitter::builder().build(client.get_connection_manager().await?))
    }
}

impl Emitter {
    /// Options other than the defaults, and an emitter on a connection of the caller's.
    pub fn builder() -> EmitterBuilder {
        EmitterBuilder::default()
    }
}

impl<C: ConnectionLike + Clone + Send + Sync> Emitter<C> {
    /// An emitter to namespace `nsp` (a leading `/` is added when missing, as Node's).
    ///
    /// ```no_run
    /// # async fn run(emitter: socketio_redis_emitter::Emitter) -> Result<(), socketio_redis_emitter::EmitterError> {
    /// emitter.of("admin").emit("reload", &()).await?; // namespace "/admin"
    /// # Ok(()) }
    /// ```
    pub fn of(&self, nsp: &str) -> Self {
        let slash = if nsp.starts_with('/') { "" } else { "/" };
        Self {
            connection: self.connection.clone(),
            key: self.key.clone(),
            nsp: format!("{slash}{nsp}"),
        }
    }

    /// The namespace this emitter emits to.
    pub fn namespace(&self) -> &str {
        &self.nsp
    }

    fn operator(&self) -> BroadcastOperator<C> {
        BroadcastOperator::new(self.clone())
    }

    /// The sockets in these rooms (Node's `to`, and its alias `in`).
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator<C> {
        self.operator().to(rooms)
    }

    /// Every socket but those in these rooms.
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator<C> {
        self.operator().except(rooms)
    }

    /// Only to the clients ready to write (the others miss it).
    pub fn volatile(&self) -> BroadcastOperator<C> {
        self.operator().volatile()
    }

    /// Node's compression hint, passed on to the servers.
    pub fn compress(&self, compress: bool) -> BroadcastOperator<C> {
        self.operator().compress(compress)
    }

    /// Sends `event` with one argument to every client of the namespace.
    pub async fn emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), EmitterError> {
        self.operator().emit(event, data).await
    }

    /// Sends `event` with each element of a tuple or sequence as an argument.
    pub async fn emit_args<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitterError> {
        self.operator().emit_args(event, args).await
    }

    /// Every socket of the namespace joins these rooms.
    pub async fn sockets_join(&self, rooms: impl IntoRooms) -> Result<(), EmitterError> {
        self.operator().sockets_join(rooms).await
    }

    /// Every socket of the namespace leaves these rooms.
    pub async fn sockets_leave(&self, rooms: impl IntoRooms) -> Result<(), EmitterError> {
        self.operator().sockets_leave(rooms).await
    }

    /// Disconnects every socket of the namespace; with `close`, their connections too.
    pub async fn disconnect_sockets(&self, close: bool) -> Result<(), EmitterError> {
        self.operator().disconnect_sockets(close).await
    }

    /// Sends `event` with one argument to the servers' handlers of server-side events
    /// (Node's `io.on(event)`); as Node's emitter, it waits for no answer. The arguments
    /// travel as JSON, as Node's do.
    ///
    /// ```no_run
    /// # async fn run(emitter: socketio_redis_emitter::Emitter) -> Result<(), socketio_redis_emitter::EmitterError> {
    /// emitter.server_side_emit("config-changed", &serde_json::json!({"motd": "hi"})).await?;
    /// # Ok(()) }
    /// ```
    pub async fn server_side_emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), EmitterError> {
        let payload = wire::server_side_emit(event, Args::One(data))?;
        self.publish(self.request_channel(), payload).await
    }

    /// [`server_side_emit`](Self::server_side_emit) with each element of a tuple or sequence
    /// as an argument.
    pub async fn server_side_emit_args<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitterError> {
        let payload = wire::server_side_emit(event, Args::Many(args))?;
        self.publish(self.request_channel(), payload).await
    }

    /// `{key}#{nsp}#`, and with `{room}#` after it, one room's.
    fn broadcast_channel(&self) -> String {
        format!("{}#{}#", self.key, self.nsp)
    }

    fn request_channel(&self) -> String {
        format!("{}-request#{}#", self.key, self.nsp)
    }

    async fn publish(&self, channel: String, payload: Vec<u8>) -> Result<(), EmitterError> {
        let mut connection = self.connection.clone();
        redis::cmd("PUBLISH")
            .arg(channel)
            .arg(payload)
            .query_async::<redis::Value>(&mut connection)
            .await?;
        Ok(())
    }
}
