//! What the admin UI counts at the engine, as Node's `registerEngineListeners`: connections
//! opened and closed (by reason), messages and bytes each way, the connections still on
//! polling; and, in development mode, each socket's upgrade (`socket_updated`).

use crate::stats::EventBuffer;
use serde_json::json;
use socketio::{CloseReason, EngineObserver, Namespace, Socket, Transport};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

/// The engine's counts between two stats. Messages are counted with atomics, as they are
/// many; connections, few and labelled by reason, go to the event buffer as they come.
pub(crate) struct EngineCounts {
    events: Arc<EventBuffer>,
    packets_in: AtomicU64,
    bytes_in: AtomicU64,
    packets_out: AtomicU64,
    bytes_out: AtomicU64,
    polling: AtomicI64,
    /// The admin namespace, told of upgrades in development mode.
    upgrades_to: Option<Namespace>,
}

impl EngineCounts {
    pub(crate) fn new(events: Arc<EventBuffer>, upgrades_to: Option<Namespace>) -> Self {
        Self {
            events,
            packets_in: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            packets_out: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            polling: AtomicI64::new(0),
            upgrades_to,
        }
    }

    /// Moves the message counts since the last call into the event buffer, under this
    /// second (Node files each under the second it happened in; a stats interval apart, the
    /// UI's charts show the same sums).
    pub(crate) fn flush(&self) {
        for (kind, count) in [
            ("packetsIn", &self.packets_in),
            ("bytesIn", &self.bytes_in),
            ("packetsOut", &self.packets_out),
            ("bytesOut", &self.bytes_out),
        ] {
            let n = count.swap(0, Relaxed);
            if n > 0 {
                self.events.push(kind, None, n);
            }
        }
    }

    /// Engine connections on polling now (Node's `pollingClientsCount`).
    pub(crate) fn polling(&self) -> u64 {
        u64::try_from(self.polling.load(Relaxed)).unwrap_or(0)
    }
}

impl EngineObserver for EngineCounts {
    fn opened(&self, transport: Transport) {
        self.events.push("rawConnection", None, 1);
        if transport == Transport::Polling {
            self.polling.fetch_add(1, Relaxed);
        }
    }

    fn upgraded(&self, sockets: &[Socket]) {
        self.polling.fetch_sub(1, Relaxed);
        let Some(admin) = &self.upgrades_to else {
            return;
        };
        for socket in sockets {
            let update = json!({
                "id": socket.id().as_str(),
                "nsp": socket.namespace().name().as_str(),
                "transport": "websocket",
            });
            let _ = admin.emit("socket_updated", &update);
        }
    }

    fn received(&self, bytes: usize) {
        self.packets_in.fetch_add(1, Relaxed);
        self.bytes_in.fetch_add(bytes as u64, Relaxed);
    }

    fn sent(&self, messages: usize, bytes: usize) {
        self.packets_out.fetch_add(messages as u64, Relaxed);
        self.bytes_out.fetch_add(bytes as u64, Relaxed);
    }

    fn closed(&self, transport: Transport, reason: CloseReason) {
        self.events
            .push("rawDisconnection", Some(reason.as_str()), 1);
        if transport == Transport::Polling {
            self.polling.fetch_sub(1, Relaxed);
        }
    }
}
