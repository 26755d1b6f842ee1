//! A socket's receiving side, and its end: the client's packets, and leaving the namespace.

use super::*;
use tracing::Instrument;

impl Socket {
    /// A packet from the client for this namespace (never a CONNECT: the client routes those).
    pub(crate) fn on_packet(&self, packet: Packet, attachments: Vec<Bytes>) {
        if let Some(counters) = self.namespace().counters() {
            counters.packets_received.inc();
        }
        match packet.data {
            PacketData::Event(event) => self.on_event(event, attachments),
            PacketData::Ack(ack) => {
                let slot = lock(&self.0.acks).remove(&ack.id);
                let data = AckData {
                    args: ack.args,
                    attachments,
                };
                match slot {
                    Some(AckSlot::One(tx)) => {
                        let _ = tx.send(data);
                    }
                    Some(AckSlot::Broadcast(sink)) => {
                        let _ = sink.send(data);
                    }
                    None => {
                        tracing::debug!(id = %self.id(), ack = ack.id, "ack for no pending emit")
                    }
                }
            }
            PacketData::Disconnect => self.close(DisconnectReason::ClientNamespaceDisconnect),
            // Node ignores these from a client too.
            PacketData::Connect(_) | PacketData::ConnectError(_) => {}
        }
    }

    fn on_event(&self, event: Event, attachments: Vec<Bytes>) {
        let raw = || RawArgs {
            args: event.args.clone(),
            attachments: attachments.clone(),
        };
        for listener in self.listeners(|l| &l.any) {
            run_inline(listener(self.clone(), event.name.clone(), raw()));
        }
        let handler = read(&self.0.handlers)
            .iter()
            .find(|(name, _)| *name == event.name)
            .map(|(_, handler)| handler.clone());
        let middlewares = self.listeners(|l| &l.middlewares);
        let raw = (!middlewares.is_empty()).then(raw);
        let ctx = EventParts {
            socket: self.clone(),
            event: event.name,
            args: event.args,
            attachments,
            ack_id: event.id,
        };
        let span = crate::spans::event(self, &ctx.event);
        if middlewares.is_empty() {
            if let Some(future) = handler.and_then(|h| call_event_handler(&*h, &ctx)) {
                run_inline(future.instrument(span));
            }
            return;
        }
        let raw = raw.unwrap_or_default();
        let run = async move {
            for middleware in middlewares {
                let result = middleware(ctx.socket.clone(), ctx.event.clone(), raw.clone()).await;
                if let Err(error) = result {
                    let error = Arc::new(error);
                    for handler in ctx.socket.listeners(|l| &l.on_error) {
                        run_inline(handler(ctx.socket.clone(), error.clone()));
                    }
                    return;
                }
            }
            if !ctx.socket.connected() {
                return;
            }
            if let Some(future) = handler.and_then(|h| call_event_handler(&*h, &ctx)) {
                future.await;
            }
        };
        run_inline(Box::pin(run.instrument(span)));
    }

    pub(crate) fn disconnect_with(&self, close: bool) {
        if self.0.closing.load(Ordering::Acquire) {
            return;
        }
        if close {
            crate::client::disconnect_all(&self.0.conn);
            return;
        }
        let packet = Packet::disconnect(self.namespace().name().clone());
        let _ = self.0.conn.send_frames(self.parser().frames(&packet, &[]));
        self.close(DisconnectReason::ServerNamespaceDisconnect);
    }

    /// Leaves the namespace for `reason`: `disconnecting` (still in the rooms), then the rooms
    /// are left, pending acks fail, and `disconnect` runs.
    pub(crate) fn close(&self, reason: DisconnectReason) {
        if self.0.closing.swap(true, Ordering::AcqRel) {
            return;
        }
        // Still connected while `disconnecting` runs, as in Node.
        let parts = DisconnectParts {
            socket: self.clone(),
            reason,
        };
        let span = crate::spans::disconnect(self, reason);
        run_disconnect_handlers(&self.listeners(|l| &l.on_disconnecting), &parts, &span);
        // A socket that lost its connection may come back for its session (Node keeps it for
        // these reasons only); one that was sent away or left does not.
        if let (Some(pid), true) = (self.pid(), reason.keeps_session()) {
            let session = crate::adapter::Session {
                sid: self.id().clone(),
                pid: pid.clone(),
                rooms: self.rooms(),
                data: self.data_json(),
                offset: self.0.recovery.as_ref().and_then(|r| r.offset.clone()),
            };
            let duration = self
                .namespace()
                .recovery()
                .map(|recovery| recovery.max_disconnection_duration);
            let namespace = self.namespace();
            namespace.adapter().persist_session(session.clone());
            // After the adapter took its time of persistence, so that the watch ends after it.
            if let Some(duration) = duration {
                namespace
                    .expiry()
                    .watch(namespace.downgrade(), &session, duration);
            }
        }
        self.0.connected.store(false, Ordering::Release);
        self.namespace().remove_socket(self.id());
        self.0.conn.data().remove_socket(self.namespace().name());
        lock(&self.0.acks).clear();
        run_disconnect_handlers(&self.listeners(|l| &l.on_disconnect), &parts, &span);
        // Handlers may hold clones of this socket: dropping them breaks the cycle that would
        // keep a departed socket alive.
        *write(&self.0.handlers) = Vec::new();
        write(&self.0.listeners).take();
    }
}

/// The handler's future, or `None` (logged) when one of its extractors refused the event.
fn call_event_handler(
    handler: &dyn ErasedEventHandler,
    parts: &EventParts,
) -> Option<BoxFuture<'static, ()>> {
    handler
        .call(parts)
        .map_err(|error| tracing::debug!(event = %parts.event, %error, "event not handled"))
        .ok()
}

fn run_disconnect_handlers(
    handlers: &[DisconnectHandler],
    parts: &DisconnectParts,
    span: &tracing::Span,
) {
    for handler in handlers {
        match handler.call(parts) {
            Ok(future) => run_inline(future.instrument(span.clone())),
            Err(error) => tracing::debug!(%error, "disconnect handler not called"),
        }
    }
}
