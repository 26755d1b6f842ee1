use crate::adapter::Room;
use parser::Str;

/// One room or several: what `join`, `leave`, `to`, `except`, `sockets_join` and
/// `sockets_leave` accept. A room is any text; a socket id ([`Sid`](crate::Sid)) names the
/// room only that socket is in.
///
/// ```
/// # let io = socketio::SocketIo::new();
/// io.on_connection(|socket: socketio::Socket| async move {
///     socket.join("lobby");                           // &str
///     socket.join(["news", "sports"]);                // an array
///     socket.join(vec![String::from("user:42")]);     // a Vec
///     let _ = socket.to(socket.id()).emit("me", "?"); // a socket id: that socket's room
/// });
/// ```
pub trait IntoRooms {
    /// The rooms, in order.
    fn into_rooms(self) -> Vec<Room>;
}

impl IntoRooms for &str {
    fn into_rooms(self) -> Vec<Room> {
        vec![Str::from(self)]
    }
}
impl IntoRooms for String {
    fn into_rooms(self) -> Vec<Room> {
        vec![Str::from(self)]
    }
}
impl IntoRooms for &String {
    fn into_rooms(self) -> Vec<Room> {
        vec![Str::from(self.as_str())]
    }
}
impl IntoRooms for Str {
    fn into_rooms(self) -> Vec<Room> {
        vec![self]
    }
}
impl IntoRooms for &Str {
    fn into_rooms(self) -> Vec<Room> {
        vec![self.clone()]
    }
}
impl IntoRooms for crate::Sid {
    fn into_rooms(self) -> Vec<Room> {
        vec![self.into()]
    }
}
impl IntoRooms for &crate::Sid {
    fn into_rooms(self) -> Vec<Room> {
        vec![self.into()]
    }
}
impl<T: IntoRooms> IntoRooms for Vec<T> {
    fn into_rooms(self) -> Vec<Room> {
        self.into_iter().flat_map(IntoRooms::into_rooms).collect()
    }
}
impl<T: IntoRooms, const N: usize> IntoRooms for [T; N] {
    fn into_rooms(self) -> Vec<Room> {
        self.into_iter().flat_map(IntoRooms::into_rooms).collect()
    }
}
