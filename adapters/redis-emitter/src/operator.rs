//! Whom an emit is for (rooms, except) and how (volatile, compress), built up by chained calls
//! and spent by an emit or a request: Node's emitter `BroadcastOperator`.

use crate::wire::{self, Args, Target};
use crate::{Emitter, EmitterError, IntoRooms, RESERVED_EVENTS};
use redis::aio::ConnectionLike;
use serde::Serialize;

/// Recipients and flags of an emit, from [`Emitter::to`], [`except`](Emitter::except),
/// [`volatile`](Emitter::volatile) or [`compress`](Emitter::compress).
///
/// ```no_run
/// # async fn run(emitter: socketio_redis_emitter::Emitter) -> Result<(), socketio_redis_emitter::EmitterError> {
/// // Rooms add up; a socket in "a" or "b" but not in "c" gets it once.
/// let operator = emitter.to(["a", "b"]).except("c");
/// operator.emit("news", &serde_json::json!({"id": 7})).await?;
/// // Binary: anything that serializes as bytes.
/// operator.emit("file", &bytes::Bytes::from_static(b"\x00\x01")).await?;
/// // The same sockets leave "a", or are disconnected.
/// operator.sockets_leave("a").await?;
/// operator.disconnect_sockets(false).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct BroadcastOperator<C> {
    emitter: Emitter<C>,
    target: Target,
}

/// Adds `more` to `rooms`, each once, in order (Node's rooms are a `Set`).
fn add(rooms: &mut Vec<String>, more: impl IntoRooms) {
    for room in more.into_rooms() {
        if !rooms.contains(&room) {
            rooms.push(room);
        }
    }
}

impl<C: ConnectionLike + Clone + Send + Sync> BroadcastOperator<C> {
    pub(crate) fn new(emitter: Emitter<C>) -> Self {
        Self {
            emitter,
            target: Target::default(),
        }
    }

    /// Adds rooms to reach (Node's `to`, and its alias `in`).
    pub fn to(mut self, rooms: impl IntoRooms) -> Self {
        add(&mut self.target.rooms, rooms);
        self
    }

    /// Leaves out the sockets in these rooms.
    pub fn except(mut self, rooms: impl IntoRooms) -> Self {
        add(&mut self.target.except, rooms);
        self
    }

    /// Only to the clients ready to write.
    pub fn volatile(mut self) -> Self {
        self.target.flags.volatile = Some(true);
        self
    }

    /// Node's compression hint.
    pub fn compress(mut self, compress: bool) -> Self {
        self.target.flags.compress = Some(compress);
        self
    }

    /// Sends `event` with one argument to the sockets this names, on every server.
    ///
    /// # Errors
    ///
    /// [`EmitterError::Reserved`] for a reserved event name, [`EmitterError::Serialize`]
    /// when `data` does not serialize, [`EmitterError::Redis`] when Redis did not take it.
    pub async fn emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), EmitterError> {
        self.send(event, Args::One(data)).await
    }

    /// Sends `event` with each element of a tuple or sequence as an argument (`&()` for
    /// none).
    ///
    /// # Errors
    ///
    /// As [`emit`](Self::emit), and [`EmitterError::NotASequence`] when `args` is neither.
    pub async fn emit_args<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitterError> {
        self.send(event, Args::Many(args)).await
    }

    async fn send<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: Args<'_, T>,
    ) -> Result<(), EmitterError> {
        if RESERVED_EVENTS.contains(&event) {
            return Err(EmitterError::Reserved(event.to_owned()));
        }
        let payload = wire::broadcast(&self.emitter.nsp, &self.target, event, args)?;
        let mut channel = self.emitter.broadcast_channel();
        // One room: its own channel, so that servers with no socket in it can skip it.
        if let [room] = self.target.rooms.as_slice() {
            channel.push_str(room);
            channel.push('#');
        }
        self.emitter.publish(channel, payload).await
    }

    /// The sockets this names join `rooms`, on every server.
    pub async fn sockets_join(&self, rooms: impl IntoRooms) -> Result<(), EmitterError> {
        let payload = wire::rooms_request(&self.target, true, &rooms.into_rooms());
        self.request(payload).await
    }

    /// The sockets this names leave `rooms`, on every server.
    pub async fn sockets_leave(&self, rooms: impl IntoRooms) -> Result<(), EmitterError> {
        let payload = wire::rooms_request(&self.target, false, &rooms.into_rooms());
        self.request(payload).await
    }

    /// Disconnects the sockets this names, on every server; with `close`, their underlying
    /// connections too (and so their sockets in other namespaces).
    pub async fn disconnect_sockets(&self, close: bool) -> Result<(), EmitterError> {
        self.request(wire::disconnect_request(&self.target, close))
            .await
    }

    async fn request(&self, payload: Vec<u8>) -> Result<(), EmitterError> {
        let channel = self.emitter.request_channel();
        self.emitter.publish(channel, payload).await
    }
}
