//! Broadcasts: who an emit reaches (`to`, `except`), how (`local`, `volatile`, `timeout`), and
//! the cluster-wide operations on those sockets (`fetch_sockets`, `sockets_join`, ...).

use crate::adapter::{AckData, AdapterError, BroadcastOptions, BroadcastPacket};
use crate::emit::{event_packet, raw_event_packet, Arg};
use crate::error::EmitError;
use crate::{IntoRooms, Namespace, RemoteSocket};
use parser::socketio::PacketData;
use parser::Str;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// A set of recipients and flags, built up by chained calls and spent by an emit (Node's
/// `BroadcastOperator`).
///
/// ```no_run
/// # async fn f(io: socketio::SocketIo) -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
///
/// io.to("room1").to("room2").except("muted").emit("news", "hello")?;
/// io.of("/admin").volatile().emit("tick", &42)?;
/// // Every socket of "voters" answers, within 5 seconds.
/// let votes: Vec<bool> = io.to("voters").timeout(Duration::from_secs(5)).emit_with_ack("vote?", &()).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "an operator does nothing until one of its emit or socket methods is called"]
pub struct BroadcastOperator {
    namespace: Namespace,
    opts: BroadcastOptions,
    timeout: Option<Duration>,
}

/// Why a broadcast with acknowledgements did not collect every answer.
///
/// ```no_run
/// use socketio::{BroadcastAckError, SocketIo};
///
/// async fn poll(io: &SocketIo) -> Vec<u8> {
///     match io.emit_with_ack::<_, u8>("rate?", &()).await {
///         Ok(all) => all,
///         // Late or silent clients: take what came.
///         Err(BroadcastAckError::Timeout { received, .. }) => received,
///         Err(BroadcastAckError::Emit(e)) => {
///             tracing::warn!(%e, "not asked");
///             Vec::new()
///         }
///     }
/// }
/// ```
#[derive(Debug)]
pub enum BroadcastAckError<R> {
    /// The broadcast did not go out: its payload could not be serialized, its event name is
    /// reserved, or the cluster adapter could not forward it.
    Emit(EmitError),
    /// Not every recipient answered in time; `received` holds the answers that came.
    Timeout {
        /// The answers that came in time.
        received: Vec<R>,
        /// How many answers were due; `None` when the adapter could not count the recipients
        /// in time (other servers of a cluster did not report).
        expected: Option<usize>,
    },
}

impl<R> BroadcastAckError<R> {
    /// The answers that came before the error: none when the broadcast did not go out.
    #[must_use]
    pub fn received(&self) -> &[R] {
        match self {
            BroadcastAckError::Emit(_) => &[],
            BroadcastAckError::Timeout { received, .. } => received,
        }
    }
}

impl<R> fmt::Display for BroadcastAckError<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BroadcastAckError::Emit(error) => error.fmt(f),
            BroadcastAckError::Timeout {
                received,
                expected: Some(expected),
            } => write!(
                f,
                "operation has timed out ({} of {expected} acknowledged)",
                received.len()
            ),
            BroadcastAckError::Timeout { expected: None, .. } => {
                write!(f, "operation has timed out (recipients not counted)")
            }
        }
    }
}

impl<R> From<EmitError> for BroadcastAckError<R> {
    fn from(error: EmitError) -> Self {
        BroadcastAckError::Emit(error)
    }
}

fn first_arg<R: DeserializeOwned>(answer: &AckData) -> Result<R, serde_json::Error> {
    crate::payload::from_first_arg(&answer.args, &answer.attachments)
}

impl<R: fmt::Debug> std::error::Error for BroadcastAckError<R> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BroadcastAckError::Emit(error) => Some(error),
            BroadcastAckError::Timeout { .. } => None,
        }
    }
}

impl BroadcastOperator {
    pub(crate) fn new(namespace: Namespace) -> Self {
        Self {
            namespace,
            opts: BroadcastOptions::default(),
            timeout: None,
        }
    }

    /// Adds rooms to reach (Node's `to`, and its alias `in`).
    pub fn to(mut self, rooms: impl IntoRooms) -> Self {
        self.opts.rooms.extend(rooms.into_rooms());
        self
    }

    /// Leaves out the sockets in these rooms.
    pub fn except(mut self, rooms: impl IntoRooms) -> Self {
        self.opts.except.extend(rooms.into_rooms());
        self
    }

    /// Only this server's sockets, in a cluster.
    pub fn local(mut self) -> Self {
        self.opts.flags.local = true;
        self
    }

    /// Skips recipients whose transport is not ready to write.
    pub fn volatile(mut self) -> Self {
        self.opts.flags.volatile = true;
        self
    }

    /// Node's compression hint, passed on to cluster adapters.
    pub fn compress(mut self, compress: bool) -> Self {
        self.opts.flags.compress = compress;
        self
    }

    /// How long `emit_with_ack` waits for the answers.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sends an event with one argument to every recipient, encoded once for all of them. A
    /// recipient whose send queue is full is skipped; the others get it.
    ///
    /// # Errors
    ///
    /// [`EmitError::Serialize`] when the payload does not serialize, [`EmitError::Reserved`]
    /// for a reserved event name, [`EmitError::Adapter`] when a cluster adapter could not pass
    /// the event on to the other servers (this server's recipients have it all the same).
    pub fn emit<T: Serialize + ?Sized>(
        &self,
        event: impl Into<Str>,
        data: &T,
    ) -> Result<(), EmitError> {
        self.send(event.into(), Arg::One(data))
    }

    /// Sends an event with several arguments (a tuple or sequence) to every recipient.
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

    /// Sends an event with raw JSON arguments and their attachments to every recipient.
    ///
    /// # Errors
    ///
    /// As [`emit`](Self::emit), but for [`EmitError::Serialize`].
    pub fn emit_raw(&self, event: impl Into<Str>, raw: crate::RawArgs) -> Result<(), EmitError> {
        let (packet, attachments) = raw_event_packet(&self.namespace, event.into(), raw)?;
        self.broadcast_packet(packet, attachments)
    }

    fn send<T: Serialize + ?Sized>(&self, event: Str, arg: Arg<'_, T>) -> Result<(), EmitError> {
        let (packet, attachments) = event_packet(&self.namespace, event, arg)?;
        self.broadcast_packet(packet, attachments)
    }

    fn broadcast_packet(
        &self,
        packet: parser::socketio::Packet,
        attachments: Vec<bytes::Bytes>,
    ) -> Result<(), EmitError> {
        if let Some(counters) = self.namespace.counters() {
            counters.broadcasts.inc();
        }
        let packet = Arc::new(BroadcastPacket::new(packet, attachments));
        Ok(self.namespace.adapter().broadcast(packet, &self.opts)?)
    }

    /// Sends an event that every recipient acknowledges, and collects the answers (each
    /// deserialized from its first argument) until all have come or the timeout passes (the
    /// server's `ack_timeout` unless [`timeout`](Self::timeout) is given). Node's
    /// `io.timeout(ms).emitWithAck`.
    ///
    /// # Errors
    ///
    /// [`BroadcastAckError::Emit`] when the event did not go out (its payload does not
    /// serialize, its name is reserved); [`BroadcastAckError::Timeout`], with the answers that
    /// came, when not every recipient answered in time. An answer that is not an `R` is left
    /// out of the answers, so it too ends in a timeout.
    pub async fn emit_with_ack<T, R>(
        &self,
        event: impl Into<Str>,
        data: &T,
    ) -> Result<Vec<R>, BroadcastAckError<R>>
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let (packet, attachments) = event_packet(&self.namespace, event.into(), Arg::One(data))?;
        self.collect_acks(packet, attachments, first_arg).await
    }

    /// As [`emit_with_ack`](Self::emit_with_ack), with raw JSON arguments and their
    /// attachments both ways: each answer comes back whole, every argument and every binary
    /// attachment, to pass on untouched (a relay, a proxy) or to read with a type per argument.
    ///
    /// ```no_run
    /// # async fn f(io: socketio::SocketIo) {
    /// use socketio::RawArgs;
    ///
    /// let question = RawArgs { args: vec!["\"thumbnail?\"".into()], attachments: vec![] };
    /// if let Ok(answers) = io.emit_with_ack_raw("ask", question).await {
    ///     // A client answering with a Buffer or a Blob: its bytes, not a placeholder.
    ///     let bytes: usize = answers.iter().flat_map(|a| &a.attachments).map(|b| b.len()).sum();
    ///     println!("{} answers, {bytes} bytes", answers.len());
    /// }
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`emit_with_ack`](Self::emit_with_ack); every answer is understood, so only a
    /// recipient that does not answer in time ends in a timeout.
    pub async fn emit_with_ack_raw(
        &self,
        event: impl Into<Str>,
        raw: crate::RawArgs,
    ) -> Result<Vec<crate::RawArgs>, BroadcastAckError<crate::RawArgs>> {
        let (packet, attachments) = raw_event_packet(&self.namespace, event.into(), raw)?;
        self.collect_acks(packet, attachments, |answer| {
            Ok::<_, std::convert::Infallible>(crate::RawArgs {
                args: answer.args.clone(),
                attachments: answer.attachments.clone(),
            })
        })
        .await
    }

    /// Sends `packet` with an ack id to every recipient and gathers the answers, each turned
    /// into an `R` by `read` (one that it refuses is left out, so it ends in a timeout).
    async fn collect_acks<R, E: fmt::Display>(
        &self,
        mut packet: parser::socketio::Packet,
        attachments: Vec<bytes::Bytes>,
        read: impl Fn(&AckData) -> Result<R, E>,
    ) -> Result<Vec<R>, BroadcastAckError<R>> {
        let id = self.namespace.next_ack_id();
        if let PacketData::Event(event) = &mut packet.data {
            event.id = Some(id);
        }
        let (sink, mut answers) = mpsc::unbounded_channel();
        let packet = Arc::new(BroadcastPacket::new(packet, attachments));
        let timeout = self.timeout.unwrap_or_else(|| {
            self.namespace
                .server()
                .map_or(Duration::from_secs(5), |s| s.config.ack_timeout)
        });
        let mut opts = self.opts.clone();
        opts.flags.timeout = Some(timeout);
        let count = self
            .namespace
            .adapter()
            .broadcast_with_ack(packet, &opts, sink);
        let deadline = tokio::time::Instant::now() + timeout;
        // Answers queue in the channel while the count is awaited. A count that does not come
        // in time (other servers silent) is a timeout, with whatever answers did arrive; an
        // adapter that could not ask the other servers fails at once.
        let expected = match tokio::time::timeout_at(deadline, count).await {
            Ok(Ok(expected)) => Some(expected),
            Ok(Err(error)) => {
                for socket in self.namespace.sockets() {
                    socket.forget_ack(id);
                }
                return Err(BroadcastAckError::Emit(EmitError::Adapter(error)));
            }
            Err(_) => None,
        };
        let Some(expected) = expected else {
            let mut received = Vec::new();
            while let Ok(answer) = answers.try_recv() {
                if let Ok(value) = read(&answer) {
                    received.push(value);
                }
            }
            for socket in self.namespace.sockets() {
                socket.forget_ack(id);
            }
            return Err(BroadcastAckError::Timeout {
                received,
                expected: None,
            });
        };
        // `expected` counts what other servers said they reached: not an allocation size.
        let mut received = Vec::with_capacity(expected.min(1024));
        let mut answered = 0;
        while answered < expected {
            match tokio::time::timeout_at(deadline, answers.recv()).await {
                Ok(Some(answer)) => {
                    answered += 1;
                    match read(&answer) {
                        Ok(value) => received.push(value),
                        Err(error) => tracing::debug!(%error, "acknowledgement not understood"),
                    }
                }
                // Every pending recipient has left: nothing more can come.
                Ok(None) => break,
                Err(_) => {
                    if let Some(counters) = self.namespace.counters() {
                        counters.ack_timeouts.inc_by((expected - answered) as u64);
                    }
                    for socket in self.namespace.sockets() {
                        socket.forget_ack(id);
                    }
                    break;
                }
            }
        }
        if received.len() == expected {
            Ok(received)
        } else {
            Err(BroadcastAckError::Timeout {
                received,
                expected: Some(expected),
            })
        }
    }

    /// The ids of this server's sockets among the recipients.
    #[must_use]
    pub fn socket_ids(&self) -> Vec<crate::Sid> {
        self.namespace.adapter().local_sockets(&self.opts)
    }

    /// The recipients on every server, with their rooms, data and handshake (Node's
    /// `fetchSockets`).
    ///
    /// # Errors
    ///
    /// When a cluster adapter could not collect the other servers' sockets, e.g.
    /// [`AdapterError::Timeout`].
    pub async fn fetch_sockets(&self) -> Result<Vec<RemoteSocket>, AdapterError> {
        self.namespace.adapter().fetch_sockets(&self.opts).await
    }

    /// Makes the recipients join rooms (Node's `socketsJoin`).
    pub fn sockets_join(&self, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        self.namespace
            .adapter()
            .add_sockets(&self.opts, &rooms.into_rooms())
    }

    /// Makes the recipients leave rooms (Node's `socketsLeave`).
    pub fn sockets_leave(&self, rooms: impl IntoRooms) -> Result<(), AdapterError> {
        self.namespace
            .adapter()
            .del_sockets(&self.opts, &rooms.into_rooms())
    }

    /// Disconnects the recipients; `close` closes their whole connections (Node's
    /// `disconnectSockets`).
    pub fn disconnect_sockets(&self, close: bool) -> Result<(), AdapterError> {
        self.namespace
            .adapter()
            .disconnect_sockets(&self.opts, close)
    }
}

/// The broadcast methods of Node's `io` and `namespace`, each starting a [`BroadcastOperator`]
/// over every socket of the namespace.
macro_rules! broadcast_shortcuts {
    ($ty:ty) => {
        impl $ty {
            /// A broadcast to these rooms (Node's `to` and `in`).
            pub fn to(&self, rooms: impl $crate::IntoRooms) -> $crate::BroadcastOperator {
                self.broadcast().to(rooms)
            }
            /// A broadcast to everyone but these rooms.
            pub fn except(&self, rooms: impl $crate::IntoRooms) -> $crate::BroadcastOperator {
                self.broadcast().except(rooms)
            }
            /// A broadcast to this server's sockets only.
            pub fn local(&self) -> $crate::BroadcastOperator {
                self.broadcast().local()
            }
            /// A broadcast that skips sockets not ready to write.
            pub fn volatile(&self) -> $crate::BroadcastOperator {
                self.broadcast().volatile()
            }
            /// A broadcast whose acknowledgements are awaited at most `timeout`.
            pub fn timeout(&self, timeout: std::time::Duration) -> $crate::BroadcastOperator {
                self.broadcast().timeout(timeout)
            }
            /// A broadcast with Node's compression hint.
            pub fn compress(&self, compress: bool) -> $crate::BroadcastOperator {
                self.broadcast().compress(compress)
            }
            /// Sends an event with one argument to every socket.
            ///
            /// # Errors
            ///
            /// As [`BroadcastOperator::emit`](crate::BroadcastOperator::emit).
            pub fn emit<T: serde::Serialize + ?Sized>(
                &self,
                event: impl Into<parser::Str>,
                data: &T,
            ) -> Result<(), $crate::EmitError> {
                self.broadcast().emit(event, data)
            }
            /// Sends an event with several arguments (a tuple or sequence) to every socket.
            ///
            /// # Errors
            ///
            /// As [`BroadcastOperator::emit`](crate::BroadcastOperator::emit).
            pub fn emit_args<T: serde::Serialize + ?Sized>(
                &self,
                event: impl Into<parser::Str>,
                args: &T,
            ) -> Result<(), $crate::EmitError> {
                self.broadcast().emit_args(event, args)
            }
            /// Sends an event with raw JSON arguments and their attachments to every socket.
            ///
            /// # Errors
            ///
            /// As [`BroadcastOperator::emit_raw`](crate::BroadcastOperator::emit_raw).
            pub fn emit_raw(
                &self,
                event: impl Into<parser::Str>,
                raw: $crate::RawArgs,
            ) -> Result<(), $crate::EmitError> {
                self.broadcast().emit_raw(event, raw)
            }
            /// Sends an event every socket acknowledges, and collects the answers within the
            /// server's `ack_timeout` (narrow it with `timeout`).
            ///
            /// # Errors
            ///
            /// As [`BroadcastOperator::emit_with_ack`](crate::BroadcastOperator::emit_with_ack).
            pub async fn emit_with_ack<T, R>(
                &self,
                event: impl Into<parser::Str>,
                data: &T,
            ) -> Result<Vec<R>, $crate::BroadcastAckError<R>>
            where
                T: serde::Serialize + ?Sized,
                R: serde::de::DeserializeOwned,
            {
                self.broadcast().emit_with_ack(event, data).await
            }
            /// Sends raw arguments every socket acknowledges, and collects each answer whole.
            ///
            /// # Errors
            ///
            /// As [`BroadcastOperator::emit_with_ack_raw`](crate::BroadcastOperator::emit_with_ack_raw).
            pub async fn emit_with_ack_raw(
                &self,
                event: impl Into<parser::Str>,
                raw: $crate::RawArgs,
            ) -> Result<Vec<$crate::RawArgs>, $crate::BroadcastAckError<$crate::RawArgs>> {
                self.broadcast().emit_with_ack_raw(event, raw).await
            }
            /// Every socket, on every server (Node's `fetchSockets`).
            ///
            /// # Errors
            ///
            /// As [`BroadcastOperator::fetch_sockets`](crate::BroadcastOperator::fetch_sockets).
            pub async fn fetch_sockets(
                &self,
            ) -> Result<Vec<$crate::RemoteSocket>, $crate::adapter::AdapterError> {
                self.broadcast().fetch_sockets().await
            }
            /// Makes every socket join rooms.
            pub fn sockets_join(
                &self,
                rooms: impl $crate::IntoRooms,
            ) -> Result<(), $crate::adapter::AdapterError> {
                self.broadcast().sockets_join(rooms)
            }
            /// Makes every socket leave rooms.
            pub fn sockets_leave(
                &self,
                rooms: impl $crate::IntoRooms,
            ) -> Result<(), $crate::adapter::AdapterError> {
                self.broadcast().sockets_leave(rooms)
            }
            /// Disconnects every socket; `close` closes their connections.
            pub fn disconnect_sockets(
                &self,
                close: bool,
            ) -> Result<(), $crate::adapter::AdapterError> {
                self.broadcast().disconnect_sockets(close)
            }
        }
    };
}

broadcast_shortcuts!(crate::SocketIo);
broadcast_shortcuts!(crate::Namespace);
