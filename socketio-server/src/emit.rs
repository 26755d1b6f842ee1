//! Building the packets of an emit, and the one-shot emitters `Socket::timeout` and
//! `Socket::volatile` return.

use crate::adapter::{BroadcastFlags, BroadcastOptions, BroadcastPacket, Room};
use crate::error::{AckError, EmitError};
use crate::{payload, Namespace, Socket};
use bytes::Bytes;
use parser::socketio::{Packet, RESERVED_EVENTS};
use parser::Str;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// What an emit carries: one argument, or a sequence to spread into several.
pub(crate) enum Arg<'a, T: ?Sized> {
    One(&'a T),
    Many(&'a T),
    /// Arguments that are already raw JSON, with their attachments.
    Raw(crate::RawArgs),
}

/// Builds an EVENT packet (BINARY_EVENT when attachments follow) for `namespace`.
pub(crate) fn event_packet<T: Serialize + ?Sized>(
    namespace: &Namespace,
    event: Str,
    arg: Arg<'_, T>,
) -> Result<(Packet, Vec<Bytes>), EmitError> {
    check_event_name(&event)?;
    let mut attachments = Vec::new();
    let args = match arg {
        Arg::One(data) => vec![payload::to_arg(data, &mut attachments)?],
        Arg::Many(data) => payload::to_args(data, &mut attachments)?,
        Arg::Raw(raw) => {
            attachments = raw.attachments;
            raw.args
        }
    };
    let mut packet = Packet::event(namespace.name().clone(), event, args);
    packet.data.set_attachments(attachments.len());
    Ok((packet, attachments))
}

/// Builds an EVENT packet from arguments that are already raw JSON.
pub(crate) fn raw_event_packet(
    namespace: &Namespace,
    event: Str,
    raw: crate::RawArgs,
) -> Result<(Packet, Vec<Bytes>), EmitError> {
    event_packet::<()>(namespace, event, Arg::Raw(raw))
}

fn check_event_name(event: &Str) -> Result<(), EmitError> {
    if RESERVED_EVENTS.contains(&event.as_str()) {
        return Err(EmitError::Reserved(event.to_string()));
    }
    Ok(())
}

/// An emit to one socket with flags, from [`Socket::volatile`] and [`Socket::timeout`]: the
/// same emit family as [`Socket`], each flag chaining onto the others.
///
/// ```no_run
/// # use socketio::{AckError, Socket};
/// # async fn f(socket: Socket) -> Result<(), AckError> {
/// use std::time::Duration;
///
/// // Dropped rather than queued when the transport is busy: fine for a position update.
/// let _ = socket.volatile().emit("position", &(3, 4));
/// // At most two seconds for the client's answer.
/// let answer: String = socket.timeout(Duration::from_secs(2)).emit_with_ack("name?", &()).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "an operator does nothing until one of its emit methods is called"]
pub struct SocketOperator {
    socket: Socket,
    flags: BroadcastFlags,
    timeout: Option<Duration>,
}

impl SocketOperator {
    pub(crate) fn new(socket: Socket) -> Self {
        Self {
            socket,
            flags: BroadcastFlags::default(),
            timeout: None,
        }
    }

    /// Drops the emit, with [`EmitError::Dropped`], when the transport cannot take it right
    /// away (a WebSocket in the middle of a write, a polling client with no GET pending) or the
    /// send queue is full, rather than queueing it (Node's `volatile`).
    pub fn volatile(mut self) -> Self {
        self.flags.volatile = true;
        self
    }

    /// Whether the packet may be compressed (Node's `compress`, true): on a WebSocket that
    /// agreed to per-message deflate, from the server's threshold up. `false` for what is
    /// already compressed, such as an image.
    pub fn compress(mut self, compress: bool) -> Self {
        self.flags.compress = compress;
        self
    }

    /// How long `emit_with_ack` waits for the answer (Node's `timeout`); the server's
    /// `ack_timeout` otherwise.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sends an event with one argument.
    ///
    /// # Errors
    ///
    /// [`EmitError::Serialize`] when the payload does not serialize, [`EmitError::Reserved`]
    /// for a reserved event name (`connect`, `disconnect`, ...), [`EmitError::Disconnected`]
    /// once the socket has left, [`EmitError::Full`] when its send queue is full, and
    /// [`EmitError::Dropped`] for a volatile emit the transport could not take.
    pub fn emit<T: Serialize + ?Sized>(
        &self,
        event: impl Into<Str>,
        data: &T,
    ) -> Result<(), EmitError> {
        self.send(event.into(), Arg::One(data))
    }

    /// Sends an event with several arguments, given as a tuple or sequence.
    ///
    /// # Errors
    ///
    /// As [`emit`](Self::emit).
    pub fn emit_args<T: Serialize + ?Sized>(
        &self,
        event: impl Into<Str>,
        args: &T,
    ) -> Result<(), EmitError> {
        self.send(event.into(), Arg::Many(args))
    }

    /// Sends an event with raw JSON arguments and their attachments.
    ///
    /// # Errors
    ///
    /// As [`emit`](Self::emit), but for [`EmitError::Serialize`].
    pub fn emit_raw(&self, event: impl Into<Str>, raw: crate::RawArgs) -> Result<(), EmitError> {
        self.send::<()>(event.into(), Arg::Raw(raw))
    }

    /// Sends an event and waits for the client's answer, deserialized from its first argument.
    ///
    /// # Errors
    ///
    /// [`AckError::Emit`] when the event did not go out (as for an emit),
    /// [`AckError::Timeout`] when no answer came in time, [`AckError::Disconnected`] when the
    /// socket left first, [`AckError::Deserialize`] when the answer is not an `R`.
    pub async fn emit_with_ack<T, R>(&self, event: impl Into<Str>, data: &T) -> Result<R, AckError>
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let answer = self.ack(event.into(), Arg::One(data)).await?;
        payload::from_first_arg(&answer.args, &answer.attachments).map_err(AckError::Deserialize)
    }

    /// Sends raw JSON arguments (with their attachments) and waits for the client's answer,
    /// raw too: to pass events and answers on without knowing their types.
    ///
    /// # Errors
    ///
    /// [`AckError::Emit`] when the event did not go out (as for an emit),
    /// [`AckError::Timeout`] when no answer came in time, [`AckError::Disconnected`] when the
    /// socket left first.
    pub async fn emit_with_ack_raw(
        &self,
        event: impl Into<Str>,
        args: crate::RawArgs,
    ) -> Result<crate::RawArgs, AckError> {
        self.ack::<()>(event.into(), Arg::Raw(args)).await
    }

    fn send<T: Serialize + ?Sized>(&self, event: Str, arg: Arg<'_, T>) -> Result<(), EmitError> {
        let (packet, attachments) = event_packet(self.socket.namespace(), event, arg)?;
        // With connection state recovery on, an emit to a connected socket goes through the
        // adapter as a broadcast to the socket's own room, as in Node: the adapter keeps it and
        // gives it an offset, so that a client that drops right after still gets it on its
        // return. Before the socket is admitted (in a middleware) it is not in its room yet.
        if self.flags.volatile || self.socket.pid().is_none() || !self.socket.connected() {
            return self.socket.deliver(packet, attachments, self.flags);
        }
        let opts = BroadcastOptions {
            rooms: HashSet::from([Room::from(self.socket.id().as_str())]),
            flags: self.flags,
            ..BroadcastOptions::default()
        };
        let packet = Arc::new(BroadcastPacket::new(packet, attachments));
        Ok(self.socket.namespace().adapter().broadcast(packet, &opts)?)
    }

    async fn ack<T: Serialize + ?Sized>(
        &self,
        event: Str,
        arg: Arg<'_, T>,
    ) -> Result<crate::RawArgs, AckError> {
        let timeout = self
            .timeout
            .unwrap_or_else(|| self.socket.default_ack_timeout());
        self.socket
            .ack_within(timeout, event, arg, self.flags)
            .await
    }
}
