//! Building the packets of an emit, and the one-shot emitters `Socket::timeout` and
//! `Socket::volatile` return.

use crate::error::{AckError, EmitError};
use crate::{payload, Namespace, Socket};
use bytes::Bytes;
use parser::socketio::{Packet, RESERVED_EVENTS};
use parser::Str;
use serde::de::DeserializeOwned;
use serde::Serialize;
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
    payload::set_attachments(&mut packet, attachments.len());
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

/// An emit with a bounded wait for the acknowledgement, from [`Socket::timeout`].
pub struct AckEmitter {
    pub(crate) socket: Socket,
    pub(crate) timeout: Duration,
}

impl AckEmitter {
    /// Sends an event and waits at most the timeout for the client's answer.
    pub async fn emit_with_ack<T, R>(&self, event: impl Into<Str>, data: &T) -> Result<R, AckError>
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        self.socket
            .emit_with_ack_within(self.timeout, event.into(), Arg::One(data))
            .await
    }

    /// Sends raw JSON arguments (with their attachments) and waits at most the timeout for
    /// the client's answer, raw too: to pass events and answers on without knowing their types.
    pub async fn emit_with_ack_raw(
        &self,
        event: impl Into<Str>,
        args: crate::RawArgs,
    ) -> Result<crate::RawArgs, AckError> {
        self.socket
            .ack_within::<()>(self.timeout, event.into(), Arg::Raw(args))
            .await
    }
}

/// An emit dropped when the transport is not ready, from [`Socket::volatile`].
pub struct VolatileEmitter(pub(crate) Socket);

impl VolatileEmitter {
    /// Sends an event unless the transport is busy (a WebSocket in the middle of a write, a
    /// polling client with no GET pending) or the socket's send queue is full: `Ok(true)` when
    /// it was queued, `Ok(false)` when it was dropped. A dropped emit is not an error, as in
    /// Node; the answer is there for who wants to count.
    pub fn emit<T: Serialize + ?Sized>(
        &self,
        event: impl Into<Str>,
        data: &T,
    ) -> Result<bool, EmitError> {
        let (packet, attachments) = event_packet(self.0.namespace(), event.into(), Arg::One(data))?;
        self.0.send_volatile(packet, attachments)
    }

    /// As [`emit`](Self::emit), with raw JSON arguments and their attachments.
    pub fn emit_raw(&self, event: impl Into<Str>, raw: crate::RawArgs) -> Result<bool, EmitError> {
        let (packet, attachments) = raw_event_packet(self.0.namespace(), event.into(), raw)?;
        self.0.send_volatile(packet, attachments)
    }
}
