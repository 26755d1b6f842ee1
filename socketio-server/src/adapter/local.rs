use super::sessions::SessionStore;
use super::{
    AckSink, Adapter, AdapterError, BroadcastOptions, BroadcastPacket, RestoredSession, Room,
    Session, Sid,
};
use crate::namespace::NamespaceRef;
use crate::room_events::RoomChange;
use crate::RemoteSocket;
use futures_util::future::BoxFuture;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock, RwLock};

/// The in-memory adapter: rooms of this server's sockets, delivered to directly.
///
/// Every socket is in the room named by its own id, as in Node, but that room is not stored:
/// it is implied by the socket being in the namespace. Only rooms joined by name take memory,
/// which spares every connection two single-member sets and their entries.
pub struct LocalAdapter {
    namespace: NamespaceRef,
    rooms: RwLock<Rooms>,
    /// What connection state recovery keeps, when the server has it on: known once the
    /// namespace is (the adapter is made while its namespace is), so set on first use.
    sessions: OnceLock<Option<SessionStore>>,
}

#[derive(Default)]
struct Rooms {
    /// The members of each room joined by name.
    members: HashMap<Room, HashSet<Sid>>,
    /// The rooms joined by name of each socket that has joined any.
    of_socket: HashMap<Sid, HashSet<Room>>,
    /// Sockets that left their own room (Node allows it), until they join it again.
    left_own: HashSet<Sid>,
}

impl Rooms {
    fn in_room(&self, id: &Sid, room: &Room) -> bool {
        (room == id && !self.left_own.contains(id))
            || self.members.get(room).is_some_and(|m| m.contains(id))
    }
}

impl LocalAdapter {
    /// The adapter of the namespace behind `namespace`, with no room joined yet: what the
    /// default [`AdapterFactory`](super::AdapterFactory) makes, and what a cluster adapter
    /// wraps for local delivery.
    #[must_use]
    pub fn new(namespace: NamespaceRef) -> Self {
        Self {
            namespace,
            rooms: RwLock::default(),
            sessions: OnceLock::new(),
        }
    }

    /// As [`new`](Self::new), but keeping no sessions nor broadcasts for connection state
    /// recovery even when the server has it on: for a cluster adapter that keeps them itself
    /// (in Redis, say) and hands this one packets that already carry their offset.
    #[must_use]
    pub fn without_recovery(namespace: NamespaceRef) -> Self {
        Self {
            namespace,
            rooms: RwLock::default(),
            sessions: OnceLock::from(None),
        }
    }

    /// Every room that has a member on this server, the rooms named by socket ids included
    /// (Node's `adapter.rooms` keys).
    #[must_use]
    pub fn rooms(&self) -> Vec<Room> {
        let ids = self.socket_ids();
        let state = self.read();
        let own = ids.into_iter().filter(|id| !state.left_own.contains(id));
        let mut rooms: HashSet<Room> = own.map(Room::from).collect();
        rooms.extend(state.members.keys().cloned());
        rooms.into_iter().collect()
    }

    /// The ids of the namespace's sockets, taken before the rooms' lock, never under it.
    fn socket_ids(&self) -> Vec<Sid> {
        self.namespace
            .upgrade()
            .map(|namespace| namespace.socket_ids())
            .unwrap_or_default()
    }

    /// The recovery store, when the server has recovery on.
    fn sessions(&self) -> Option<&SessionStore> {
        self.sessions
            .get_or_init(|| {
                let server = self.namespace.upgrade()?.server()?;
                let config = server.config.connection_state_recovery.clone()?;
                let engine = &server.config.engine;
                Some(SessionStore::new(
                    config,
                    engine.ping_interval + engine.ping_timeout,
                ))
            })
            .as_ref()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Rooms> {
        engineio::sync::read(&self.rooms)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Rooms> {
        engineio::sync::write(&self.rooms)
    }

    /// Calls `f` with each local socket a broadcast with `opts` reaches. The sockets are
    /// taken under one lock of the namespace, and a broadcast to everyone skips the rooms.
    fn apply(&self, opts: &BroadcastOptions, mut f: impl FnMut(&crate::Socket)) {
        let Some(namespace) = self.namespace.upgrade() else {
            return;
        };
        let sockets = if opts.rooms.is_empty() && opts.except.is_empty() {
            namespace.sockets()
        } else {
            namespace.sockets_by_id(&self.local_sockets(opts))
        };
        for socket in &sockets {
            f(socket);
        }
    }
}

/// Shows the namespace, not the rooms, which can be many.
impl std::fmt::Debug for LocalAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalAdapter")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl LocalAdapter {
    /// Tells the namespace's room listeners (see `Namespace::on_room_change`), if any.
    fn tell(&self, change: RoomChange, rooms: &[Room], id: &Sid) {
        if rooms.is_empty() {
            return;
        }
        if let Some(namespace) = self.namespace.upgrade() {
            namespace.room_listeners().notify(change, rooms, id);
        }
    }
}

impl Adapter for LocalAdapter {
    fn add_all(&self, id: &Sid, rooms: &[Room]) {
        let mut joined = Vec::new();
        let mut state = self.write();
        for room in rooms {
            if room == id {
                state.left_own.remove(id);
                continue;
            }
            let new = state
                .members
                .entry(room.clone())
                .or_default()
                .insert(id.clone());
            state
                .of_socket
                .entry(id.clone())
                .or_default()
                .insert(room.clone());
            if new {
                joined.push(room.clone());
            }
        }
        drop(state);
        self.tell(RoomChange::Joined, &joined, id);
    }

    fn del(&self, id: &Sid, room: &Room) {
        let mut state = self.write();
        if room == id {
            state.left_own.insert(id.clone());
            return;
        }
        let mut left = false;
        if let Some(members) = state.members.get_mut(room) {
            left = members.remove(id);
            if members.is_empty() {
                state.members.remove(room);
            }
        }
        if let Some(rooms) = state.of_socket.get_mut(id) {
            rooms.remove(room);
            if rooms.is_empty() {
                state.of_socket.remove(id);
            }
        }
        drop(state);
        if left {
            self.tell(RoomChange::Left, std::slice::from_ref(room), id);
        }
    }

    fn del_all(&self, id: &Sid) {
        let mut state = self.write();
        state.left_own.remove(id);
        let Some(rooms) = state.of_socket.remove(id) else {
            return;
        };
        for room in &rooms {
            if let Some(members) = state.members.get_mut(room) {
                members.remove(id);
                if members.is_empty() {
                    state.members.remove(room);
                }
            }
        }
        drop(state);
        let left: Vec<Room> = rooms.into_iter().collect();
        self.tell(RoomChange::Left, &left, id);
    }

    fn socket_rooms(&self, id: &Sid) -> Vec<Room> {
        let here = self
            .namespace
            .upgrade()
            .is_some_and(|namespace| namespace.get_socket(id.as_str()).is_some());
        let state = self.read();
        let own = (here && !state.left_own.contains(id)).then(|| id.as_room().clone());
        let named = state.of_socket.get(id).into_iter().flatten().cloned();
        own.into_iter().chain(named).collect()
    }

    fn local_sockets(&self, opts: &BroadcastOptions) -> Vec<Sid> {
        // Rooms named by a socket id reach that socket: which of the asked rooms are ids of
        // sockets here is looked up before the rooms' lock is taken.
        let (everyone, own_rooms) = match self.namespace.upgrade() {
            Some(namespace) if opts.rooms.is_empty() => (namespace.socket_ids(), Vec::new()),
            Some(namespace) => (Vec::new(), namespace.existing_ids(opts.rooms.iter())),
            None => return Vec::new(),
        };
        let state = self.read();
        let excluded = |id: &Sid| opts.except.iter().any(|room| state.in_room(id, room));
        if opts.rooms.is_empty() {
            return everyone.into_iter().filter(|id| !excluded(id)).collect();
        }
        let mut seen = HashSet::new();
        let named = opts
            .rooms
            .iter()
            .filter_map(|room| state.members.get(room))
            .flatten();
        let own = own_rooms.iter().filter(|id| !state.left_own.contains(*id));
        named
            .chain(own)
            .filter(|id| !excluded(id) && seen.insert(*id))
            .cloned()
            .collect()
    }

    fn broadcast(
        &self,
        packet: Arc<BroadcastPacket>,
        opts: &BroadcastOptions,
    ) -> Result<(), AdapterError> {
        // With recovery on, the packet goes out with its offset, as it is kept.
        let packet = match self.sessions().and_then(|store| store.keep(&packet, opts)) {
            Some(with_offset) => with_offset,
            None => packet,
        };
        self.apply(opts, |socket| {
            if opts.flags.volatile && !socket.is_writable() {
                socket.count_dropped_volatile();
                return;
            }
            socket.send_shared(&packet, opts.flags.compress);
        });
        Ok(())
    }

    fn packets_after(
        &self,
        offset: &str,
        rooms: &[Room],
    ) -> BoxFuture<'static, Result<Option<Vec<Arc<BroadcastPacket>>>, AdapterError>> {
        let packets = self
            .sessions()
            .and_then(|store| store.packets_after(offset, rooms));
        Box::pin(std::future::ready(Ok(packets)))
    }

    fn last_offset(&self) -> Option<String> {
        self.sessions().map(SessionStore::last_offset)
    }

    fn persist_session(&self, session: Session) {
        if let Some(store) = self.sessions() {
            store.persist(session);
        }
    }

    fn restore_session(
        &self,
        pid: &str,
        offset: Option<&str>,
    ) -> BoxFuture<'static, Result<Option<RestoredSession>, AdapterError>> {
        let restored = self.sessions().and_then(|store| store.restore(pid, offset));
        Box::pin(std::future::ready(Ok(restored)))
    }

    fn broadcast_with_ack(
        &self,
        packet: Arc<BroadcastPacket>,
        opts: &BroadcastOptions,
        acks: AckSink,
    ) -> BoxFuture<'static, Result<usize, AdapterError>> {
        let id = match &packet.packet.data {
            parser::socketio::PacketData::Event(event) => event.id,
            _ => None,
        };
        let Some(id) = id else {
            return Box::pin(std::future::ready(Ok(0)));
        };
        let mut expected = 0;
        self.apply(opts, |socket| {
            if opts.flags.volatile && !socket.is_writable() {
                return;
            }
            socket.expect_broadcast_ack(id, acks.clone());
            if socket.send_shared(&packet, opts.flags.compress) {
                expected += 1;
            } else {
                socket.forget_ack(id);
            }
        });
        Box::pin(std::future::ready(Ok(expected)))
    }

    fn fetch_sockets(
        &self,
        opts: &BroadcastOptions,
    ) -> BoxFuture<'static, Result<Vec<RemoteSocket>, AdapterError>> {
        let mut found = Vec::new();
        self.apply(opts, |socket| found.push(RemoteSocket::from_local(socket)));
        Box::pin(std::future::ready(Ok(found)))
    }

    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) -> Result<(), AdapterError> {
        self.apply(opts, |socket| socket.join(rooms.to_vec()));
        Ok(())
    }

    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) -> Result<(), AdapterError> {
        self.apply(opts, |socket| {
            for room in rooms {
                socket.leave(room.clone());
            }
        });
        Ok(())
    }

    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) -> Result<(), AdapterError> {
        let mut targets = Vec::new();
        self.apply(opts, |socket| targets.push(socket.clone()));
        for socket in targets {
            socket.disconnect_with(close);
        }
        Ok(())
    }
}

/// Makes a [`LocalAdapter`] for each namespace: the server's default, which keeps sessions for
/// connection state recovery in memory.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalAdapterFactory;

impl super::AdapterFactory for LocalAdapterFactory {
    fn create(&self, _name: &parser::Str, namespace: NamespaceRef) -> Arc<dyn Adapter> {
        Arc::new(LocalAdapter::new(namespace))
    }

    fn supports_recovery(&self) -> bool {
        true
    }
}
