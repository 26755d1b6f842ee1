//! Holding a recovered socket's broadcasts while it catches up: between the moment the adapter
//! hands back a session and the moment the socket is in its rooms again, broadcasts are kept by
//! the adapter but reach no one, and those that reach it once it is back must not overtake the
//! ones it is being replayed. So a recovering socket holds what is broadcast to it, is sent what
//! it missed and what was kept meanwhile, then gets what it held that it was not already sent,
//! in order. Node has no such step: what is broadcast while its socket is restored is lost.

use crate::adapter::{Adapter, BroadcastPacket, Room};
use crate::client::EngineSocket;
use engineio::sync::lock;
use parser::socketio::PacketData;
use parser::Str;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub(crate) struct Hold {
    holding: AtomicBool,
    held: Mutex<Vec<Arc<BroadcastPacket>>>,
}

impl Hold {
    /// From now on, broadcasts to the socket are held.
    pub(crate) fn start(&self) {
        self.holding.store(true, Ordering::Release);
    }

    /// Holds `packet` if the socket is holding; false when it should be sent now.
    pub(crate) fn offer(&self, packet: &Arc<BroadcastPacket>) -> bool {
        if !self.holding.load(Ordering::Acquire) {
            return false;
        }
        let mut held = lock(&self.held);
        // Checked again under the lock: `release` may have ended the hold meanwhile.
        if !self.holding.load(Ordering::Acquire) {
            return false;
        }
        held.push(packet.clone());
        true
    }

    /// Ends the hold: `deliver` gets each held packet whose offset is not in `sent`, in order,
    /// before any broadcast that comes after (those wait for the lock, then find the hold over).
    pub(crate) fn release(
        &self,
        sent: &HashSet<Str>,
        mut deliver: impl FnMut(&Arc<BroadcastPacket>),
    ) {
        let mut held = lock(&self.held);
        self.holding.store(false, Ordering::Release);
        for packet in std::mem::take(&mut *held) {
            if !offset_of(&packet).is_some_and(|offset| sent.contains(offset)) {
                deliver(&packet);
            }
        }
    }
}

/// Sends a recovered socket, before its CONNECT reply, the broadcasts it `missed`, then those
/// kept after them (or after `from`, where it was when nothing was missed) while its session
/// was being restored; returns their offsets, for [`Hold::release`] to skip.
pub(crate) async fn replay(
    adapter: &Arc<dyn Adapter>,
    conn: &EngineSocket,
    missed: Vec<Arc<BroadcastPacket>>,
    from: Option<String>,
    rooms: &[Room],
) -> HashSet<Str> {
    let parser = conn.data().parser();
    let mut sent = HashSet::new();
    let send = |packet: &Arc<BroadcastPacket>, sent: &mut HashSet<Str>| {
        if let Some(offset) = offset_of(packet) {
            if !sent.insert(offset.clone()) {
                return;
            }
        }
        let _ = conn.send_frames(packet.frames(parser).iter().cloned());
    };
    for packet in &missed {
        send(packet, &mut sent);
    }
    let last = missed
        .last()
        .and_then(|packet| offset_of(packet))
        .and_then(|raw| serde_json::from_str::<String>(raw).ok())
        .or(from);
    let Some(last) = last else { return sent };
    match adapter.packets_after(&last, rooms).await {
        Ok(Some(kept)) => {
            for packet in &kept {
                send(packet, &mut sent);
            }
        }
        Ok(None) => tracing::warn!("broadcasts kept while a session was restored are gone"),
        Err(error) => {
            tracing::warn!(%error, "broadcasts kept while a session was restored not read")
        }
    }
    sent
}

/// The offset a kept broadcast carries: its last argument, as raw JSON.
pub(crate) fn offset_of(packet: &BroadcastPacket) -> Option<&Str> {
    match &packet.packet.data {
        PacketData::Event(event) => event.args.last(),
        _ => None,
    }
}

impl std::fmt::Debug for Hold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hold")
            .field("holding", &self.holding.load(Ordering::Relaxed))
            .finish()
    }
}
