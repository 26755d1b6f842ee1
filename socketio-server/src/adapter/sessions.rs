//! What the in-memory adapter keeps for connection state recovery: the sessions of sockets
//! that left for a reason that lets them come back, and the broadcasts they may miss meanwhile,
//! each with its offset. Everything is bounded: by `max_disconnection_duration`, as in Node, and
//! for the broadcasts by `max_packets` and `max_bytes` too, the oldest going first. Expired
//! entries are swept whenever the store is used, so nothing needs a timer.
//!
//! A broadcast is kept for the duration plus the heartbeat's `ping_interval + ping_timeout`:
//! a client whose network died silently was sent broadcasts for that long before the server
//! knew, and it may still come back a whole duration later. A broadcast older than that reached
//! every client that returns now while it was still connected, so a client whose offset is
//! older than every kept broadcast (it was quiet for long: Node's issue #5282, where Node
//! refuses it) has missed nothing that was swept. Only broadcasts pushed out by the count and
//! byte bounds can have been missed: an offset older than the newest of those is refused.

use super::{BroadcastOptions, BroadcastPacket, RestoredSession, Room, Session, Sid};
use crate::ConnectionStateRecovery;
use engineio::sync::lock;
use parser::socketio::PacketData;
use parser::Str;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

pub(crate) struct SessionStore {
    config: ConnectionStateRecovery,
    /// How long a broadcast is kept: the duration plus the heartbeat's grace.
    retention: Duration,
    /// Starts every offset of this store, so that an offset of another server, or of an
    /// earlier run of this one, is never taken for one of ours.
    prefix: String,
    state: Mutex<State>,
}

struct State {
    sessions: HashMap<Sid, (Session, Instant)>,
    /// Private session ids in the order they were persisted, for sweeping the oldest first.
    persisted: VecDeque<(Sid, Instant)>,
    packets: VecDeque<Kept>,
    bytes: usize,
    /// The number of the next offset; the kept packets' numbers are consecutive, from 1: the
    /// offset numbered 0 stands for "before the first broadcast".
    next: u64,
    /// The newest number pushed out by the count or byte bound, before its time: a client
    /// whose offset is older may have missed it.
    evicted: u64,
}

impl Default for State {
    fn default() -> Self {
        Self {
            sessions: HashMap::new(),
            persisted: VecDeque::new(),
            packets: VecDeque::new(),
            bytes: 0,
            next: 1,
            evicted: 0,
        }
    }
}

/// A broadcast kept for the sockets that may have missed it.
struct Kept {
    number: u64,
    // Slices, not sets: a kept broadcast names a room or two, and thousands are kept.
    rooms: Box<[Room]>,
    except: Box<[Room]>,
    packet: Arc<BroadcastPacket>,
    at: Instant,
    bytes: usize,
}

impl SessionStore {
    pub(crate) fn new(config: ConnectionStateRecovery, heartbeat: Duration) -> Self {
        let prefix = Sid::random().as_str().chars().take(8).collect();
        Self {
            retention: config.max_disconnection_duration + heartbeat,
            config,
            prefix,
            state: Mutex::default(),
        }
    }

    /// The broadcast with its offset appended as its last argument, kept for sockets that may
    /// come back; `None` for what recovery does not replay (anything but an EVENT without an
    /// acknowledgement, or a volatile one), which goes out as it is.
    pub(crate) fn keep(
        &self,
        packet: &BroadcastPacket,
        opts: &BroadcastOptions,
    ) -> Option<Arc<BroadcastPacket>> {
        let PacketData::Event(event) = &packet.packet.data else {
            return None;
        };
        if event.id.is_some() || opts.flags.volatile {
            return None;
        }
        let now = Instant::now();
        let mut state = lock(&self.state);
        let number = state.next;
        state.next += 1;
        let offset = format!("\"{}\"", self.offset(number));
        let mut with_offset = packet.packet.clone();
        if let PacketData::Event(event) = &mut with_offset.data {
            // An argument read from a client is a slice of the buffer its frame arrived in,
            // which it would keep alive for minutes: kept arguments get their own copy.
            for arg in &mut event.args {
                *arg = Str::from(arg.as_str().to_owned());
            }
            event.args.push(Str::from(offset));
        }
        let kept = Arc::new(BroadcastPacket::new(
            with_offset,
            packet.attachments.clone(),
        ));
        let bytes = size_of(&kept);
        state.bytes += bytes;
        state.packets.push_back(Kept {
            number,
            rooms: opts.rooms.iter().cloned().collect(),
            except: opts.except.iter().cloned().collect(),
            packet: kept.clone(),
            at: now,
            bytes,
        });
        self.sweep(&mut state, now);
        Some(kept)
    }

    /// The offset of the latest kept broadcast, or the one before the first.
    pub(crate) fn last_offset(&self) -> String {
        self.offset(lock(&self.state).next - 1)
    }

    fn offset(&self, number: u64) -> String {
        format!("{}{number:x}", self.prefix)
    }

    /// Keeps a departed socket's session until it comes back or expires.
    pub(crate) fn persist(&self, session: Session) {
        let now = Instant::now();
        let mut state = lock(&self.state);
        state.persisted.push_back((session.pid.clone(), now));
        state.sessions.insert(session.pid.clone(), (session, now));
        self.sweep(&mut state, now);
    }

    /// The session of `pid` and the broadcasts to its rooms after `offset` (the session's
    /// own when the client has none), taken out of the store (it is persisted again if the
    /// socket leaves again). `None` when the session is unknown or expired, or the offset is
    /// not one of ours or no longer kept.
    pub(crate) fn restore(&self, pid: &str, offset: Option<&str>) -> Option<RestoredSession> {
        let now = Instant::now();
        let mut state = lock(&self.state);
        self.sweep(&mut state, now);
        let offset = match offset {
            Some(offset) => offset.to_owned(),
            None => state.sessions.get(pid)?.0.offset.clone()?,
        };
        let number = self.valid(&state, &offset)?;
        let (session, _) = state.sessions.remove(pid)?;
        let missed = after(&state, number, &session.rooms);
        Some(RestoredSession { session, missed })
    }

    /// The kept broadcasts after `offset` that reach a socket in `rooms`; `None` when the
    /// offset is not one of ours or no longer kept.
    pub(crate) fn packets_after(
        &self,
        offset: &str,
        rooms: &[Room],
    ) -> Option<Vec<Arc<BroadcastPacket>>> {
        let state = lock(&self.state);
        let number = self.valid(&state, offset)?;
        Some(after(&state, number, rooms))
    }

    /// The number of `offset` if it is one we gave out, and none of what may have reached its
    /// holder since was pushed out.
    fn valid(&self, state: &State, offset: &str) -> Option<u64> {
        let number = offset
            .strip_prefix(self.prefix.as_str())
            .and_then(|n| u64::from_str_radix(n, 16).ok())?;
        (number >= state.evicted && number < state.next).then_some(number)
    }

    /// Drops what is past the duration, then the oldest broadcasts past the bounds.
    fn sweep(&self, state: &mut State, now: Instant) {
        let max_age = self.config.max_disconnection_duration;
        let expired = |at: Instant| now.saturating_duration_since(at) > max_age;
        let stale = |at: Instant| now.saturating_duration_since(at) > self.retention;
        while let Some((pid, at)) = state.persisted.front().cloned() {
            if !expired(at) {
                break;
            }
            state.persisted.pop_front();
            // A session persisted again since is younger than this entry: it stays.
            if state
                .sessions
                .get(&pid)
                .is_some_and(|(_, kept)| *kept == at)
            {
                state.sessions.remove(&pid);
            }
        }
        while let Some(kept) = state.packets.front() {
            let over = state.packets.len() > self.config.max_packets
                || state.bytes > self.config.max_bytes;
            if !over && !stale(kept.at) {
                break;
            }
            if over && !stale(kept.at) {
                state.evicted = kept.number;
            }
            state.bytes -= kept.bytes;
            state.packets.pop_front();
        }
    }
}

/// The kept broadcasts numbered after `number` that reach a socket in `rooms`.
fn after(state: &State, number: u64, rooms: &[Room]) -> Vec<Arc<BroadcastPacket>> {
    // A thousand clients back at once each read the tail after their offset, under the lock:
    // found by a binary search (numbers are consecutive), and rooms compared without hashing
    // (a socket is in a few rooms, searched sorted).
    let mut rooms: Vec<&Room> = rooms.iter().collect();
    rooms.sort_unstable();
    let start = state.packets.partition_point(|kept| kept.number <= number);
    state
        .packets
        .range(start..)
        .filter(|kept| reaches(kept, &rooms))
        .map(|kept| kept.packet.clone())
        .collect()
}

/// Whether a broadcast with these rooms reached a socket in `rooms`, sorted (Node's
/// `shouldIncludePacket`): to everyone or to one of its rooms, and to none it is excluded from.
fn reaches(kept: &Kept, rooms: &[&Room]) -> bool {
    let is_in = |room: &Room| rooms.binary_search(&room).is_ok();
    let included = kept.rooms.is_empty() || kept.rooms.iter().any(is_in);
    included && !kept.except.iter().any(is_in)
}

/// What a kept broadcast holds: its arguments' text and its attachments.
fn size_of(packet: &BroadcastPacket) -> usize {
    let args = match &packet.packet.data {
        PacketData::Event(event) => event.args.iter().map(|arg| arg.as_str().len()).sum(),
        _ => 0,
    };
    args + packet.attachments.iter().map(|a| a.len()).sum::<usize>()
}

impl std::fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("SessionStore")
            .field("sessions", &state.sessions.len())
            .field("packets", &state.packets.len())
            .field("bytes", &state.bytes)
            .finish()
    }
}
