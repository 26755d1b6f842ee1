//! A socket's sending side: its packets, broadcasts shared with others, acknowledgements.

use super::*;
use crate::adapter::BroadcastFlags;
use engineio::SendOptions;

impl Socket {
    /// The parser the socket's connection speaks.
    pub(super) fn parser(&self) -> crate::Parser {
        self.0.conn.data().parser()
    }

    /// Open for sending: created and not yet gone.
    pub(super) fn is_open(&self) -> bool {
        self.0.connected.load(Ordering::Acquire)
    }

    /// Every middleware has passed and the client is told: from now on `connected()`.
    pub(crate) fn admit(&self) {
        self.0.admitted.store(true, Ordering::Release);
    }

    pub(crate) fn default_ack_timeout(&self) -> Duration {
        self.namespace()
            .server()
            .map_or(Duration::from_secs(5), |s| s.config.ack_timeout)
    }

    /// Sends an event asking for an acknowledgement and waits for its raw arguments.
    pub(crate) async fn ack_within<T: Serialize + ?Sized>(
        &self,
        timeout: Duration,
        event: Str,
        arg: Arg<'_, T>,
        flags: BroadcastFlags,
    ) -> Result<RawArgs, AckError> {
        let (mut packet, attachments) = event_packet(self.namespace(), event, arg)?;
        let id = self.namespace().next_ack_id();
        if let PacketData::Event(event) = &mut packet.data {
            event.id = Some(id);
        }
        let (tx, rx) = oneshot::channel();
        lock(&self.0.acks).insert(id, AckSlot::One(tx));
        if let Err(e) = self.deliver(packet, attachments, flags) {
            self.forget_ack(id);
            return Err(e.into());
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(answer)) => Ok(RawArgs {
                args: answer.args,
                attachments: answer.attachments,
            }),
            Ok(Err(_)) => Err(AckError::Disconnected),
            Err(_) => {
                if let Some(counters) = self.namespace().counters() {
                    counters.ack_timeouts.inc();
                }
                self.forget_ack(id);
                Err(AckError::Timeout)
            }
        }
    }

    /// Queues a packet for this socket alone.
    pub(crate) fn send(&self, packet: Packet, attachments: Vec<Bytes>) -> Result<(), EmitError> {
        self.send_compressed(packet, attachments, true)
    }

    /// Queues a packet for this socket alone, compressed or not where the transport could.
    fn send_compressed(
        &self,
        packet: Packet,
        attachments: Vec<Bytes>,
        compress: bool,
    ) -> Result<(), EmitError> {
        if !self.is_open() {
            return Err(EmitError::Disconnected);
        }
        self.notify_outgoing(&packet, &attachments);
        let frames = self.parser().frames(&packet, &attachments);
        let sent = self
            .0
            .conn
            .send_frames_with(frames, SendOptions { compress });
        self.count_sent(&sent);
        sent.map_err(|e| match e {
            SendError::Closed => EmitError::Disconnected,
            SendError::Full => EmitError::Full,
        })
    }

    /// Queues a packet; a volatile one is dropped, with [`EmitError::Dropped`], when the
    /// transport is busy or the send queue is full.
    pub(crate) fn deliver(
        &self,
        packet: Packet,
        attachments: Vec<Bytes>,
        flags: BroadcastFlags,
    ) -> Result<(), EmitError> {
        if !flags.volatile {
            return self.send_compressed(packet, attachments, flags.compress);
        }
        if !self.is_open() {
            return Err(EmitError::Disconnected);
        }
        if !self.is_writable() {
            self.count_dropped_volatile();
            return Err(EmitError::Dropped);
        }
        let sent = self.send_compressed(packet, attachments, flags.compress);
        sent.map_err(|e| match e {
            EmitError::Full => EmitError::Dropped,
            e => e,
        })
    }

    /// Queues frames encoded once for many recipients (held while a recovered socket catches
    /// up); false if they could not be queued.
    pub(crate) fn send_shared(&self, packet: &Arc<BroadcastPacket>, compress: bool) -> bool {
        if !self.is_open() {
            return false;
        }
        // Only a recovered socket holds, while it catches up.
        if let Some(recovery) = &self.0.recovery {
            if recovery.hold.offer(packet) {
                return true;
            }
        }
        self.deliver_shared(packet, compress)
    }

    /// Holds what is broadcast to the socket until [`release_held`](Self::release_held).
    pub(crate) fn hold(&self) {
        if let Some(recovery) = &self.0.recovery {
            recovery.hold.start();
        }
    }

    /// Sends what was held, but what was already sent (by offset), then ends the hold.
    pub(crate) fn release_held(&self, sent: &std::collections::HashSet<Str>) {
        // What was held goes compressed where it can: its emit's flag is not kept.
        if let Some(recovery) = &self.0.recovery {
            recovery.hold.release(sent, |packet| {
                self.deliver_shared(packet, true);
            });
        }
    }

    fn deliver_shared(&self, packet: &BroadcastPacket, compress: bool) -> bool {
        self.notify_outgoing(&packet.packet, &packet.attachments);
        let frames = packet.frames(self.parser()).iter().cloned();
        let sent = self
            .0
            .conn
            .send_frames_with(frames, SendOptions { compress });
        self.count_sent(&sent);
        match sent {
            Ok(()) => true,
            Err(e) => {
                tracing::debug!(id = %self.id(), "broadcast not queued: {e}");
                false
            }
        }
    }

    /// A packet queued, or refused by a full queue (a closed one is not a drop).
    fn count_sent(&self, sent: &Result<(), SendError>) {
        let Some(counters) = self.namespace().counters() else {
            return;
        };
        let counter = match sent {
            Ok(()) => &counters.packets_sent,
            Err(SendError::Full) => &counters.dropped_full,
            Err(SendError::Closed) => return,
        };
        counter.inc();
    }

    /// A volatile packet left out because the transport was busy.
    pub(crate) fn count_dropped_volatile(&self) {
        if let Some(counters) = self.namespace().counters() {
            counters.dropped_volatile.inc();
        }
    }

    /// The acknowledgements this socket waits for.
    pub(crate) fn pending_acks(&self) -> usize {
        lock(&self.0.acks).len()
    }

    fn notify_outgoing(&self, packet: &Packet, attachments: &[Bytes]) {
        let listeners = self.listeners(|l| &l.any_outgoing);
        if listeners.is_empty() {
            return;
        }
        if let PacketData::Event(event) = &packet.data {
            let raw = RawArgs {
                args: event.args.clone(),
                attachments: attachments.to_vec(),
            };
            for listener in listeners {
                run_inline(listener(self.clone(), event.name.clone(), raw.clone()));
            }
        }
    }

    pub(crate) fn expect_broadcast_ack(&self, id: u64, sink: AckSink) {
        lock(&self.0.acks).insert(id, AckSlot::Broadcast(sink));
    }

    pub(crate) fn forget_ack(&self, id: u64) {
        lock(&self.0.acks).remove(&id);
    }

    /// Sends an ACK for one of the client's events.
    pub(crate) fn send_ack(
        &self,
        id: u64,
        args: Vec<Str>,
        attachments: Vec<Bytes>,
    ) -> Result<(), EmitError> {
        let mut packet = Packet::ack(self.namespace().name().clone(), id, args);
        packet.data.set_attachments(attachments.len());
        self.send(packet, attachments)
    }
}
