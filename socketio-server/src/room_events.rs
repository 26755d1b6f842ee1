//! Hearing of this server's sockets joining and leaving rooms: Node's adapter events
//! `join-room` and `leave-room`, which tools such as the admin UI watch.

use crate::adapter::{Room, Sid};
use crate::Namespace;
use engineio::sync::{read, write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

/// What happened to a socket's membership of a room, as told to
/// [`Namespace::on_room_change`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomChange {
    /// The socket joined the room (it was not in it before).
    Joined,
    /// The socket left the room, by `leave` or by disconnecting.
    Left,
}

type Listener = Arc<dyn Fn(RoomChange, &Room, &Sid) + Send + Sync>;

/// The listeners of one namespace. A flag spares joins and leaves the lock while nobody
/// listens, which is the common case.
#[derive(Default)]
pub(crate) struct RoomListeners {
    any: AtomicBool,
    listeners: RwLock<Vec<Listener>>,
}

impl RoomListeners {
    pub(crate) fn is_empty(&self) -> bool {
        !self.any.load(Ordering::Acquire)
    }

    /// Called by the in-memory adapter after its lock is released, so that a listener may
    /// look at the rooms again.
    pub(crate) fn notify(&self, change: RoomChange, rooms: &[Room], id: &Sid) {
        if self.is_empty() || rooms.is_empty() {
            return;
        }
        let listeners = read(&self.listeners).clone();
        for room in rooms {
            for listener in &listeners {
                listener(change, room, id);
            }
        }
    }

    fn push(&self, listener: Listener) {
        write(&self.listeners).push(listener);
        self.any.store(true, Ordering::Release);
    }
}

impl Namespace {
    /// Runs `listener` each time a socket of this server joins or leaves a room of this
    /// namespace by name (Node's `nsp.adapter.on("join-room" | "leave-room")`), whoever made
    /// it: the socket itself, `sockets_join` from any server of the cluster, or its
    /// disconnection. A socket's own room is not reported. The listener runs on the joining
    /// task: keep it short and do not block.
    ///
    /// ```
    /// use socketio::{RoomChange, Socket, SocketIo};
    ///
    /// let io = SocketIo::new();
    /// io.of("/").on_room_change(|change, room, id| {
    ///     let verb = if change == RoomChange::Joined { "joined" } else { "left" };
    ///     println!("{id} {verb} {room}");
    /// });
    /// io.on_connection(|socket: Socket| async move { socket.join("lobby") });
    /// ```
    pub fn on_room_change<F>(&self, listener: F)
    where
        F: Fn(RoomChange, &Room, &Sid) + Send + Sync + 'static,
    {
        self.room_listeners().push(Arc::new(listener));
    }
}
