use crate::adapter::{Room, Sid};
use crate::error::EmitError;
use crate::{Handshake, IntoRooms, Namespace, Socket};
use parser::Str;
use serde::Serialize;

/// A socket found by `fetch_sockets`, on this server or another of the cluster: what is known
/// of it, and the operations that reach it wherever it is (through the adapter). Node's
/// `RemoteSocket`.
///
/// ```no_run
/// # async fn f(io: socketio::SocketIo) -> Result<(), Box<dyn std::error::Error>> {
/// #[derive(serde::Deserialize)]
/// struct User { name: String, admin: bool }
///
/// // Every socket in "lobby", on every server of the cluster.
/// for socket in io.to("lobby").fetch_sockets().await? {
///     match socket.data::<User>() {
///         Ok(user) if user.admin => socket.join("admins")?,
///         Ok(user) => { let _ = socket.emit("hello", &user.name); }
///         Err(_) => socket.disconnect(false)?, // never said who it is
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RemoteSocket {
    /// The socket's id.
    pub id: Sid,
    /// The rooms the socket is in, its own id's room included.
    pub rooms: Vec<Room>,
    /// What the socket was opened with.
    pub handshake: Handshake,
    /// The socket's data as JSON (`{}` when unset, as Node's default `socket.data`).
    pub data: serde_json::Value,
    namespace: Namespace,
}

impl RemoteSocket {
    pub(crate) fn from_local(socket: &Socket) -> Self {
        Self {
            id: socket.id().clone(),
            rooms: socket.rooms(),
            handshake: socket.handshake().clone(),
            data: socket.data_json(),
            namespace: socket.namespace().clone(),
        }
    }

    /// A socket known from another server's description of it (adapters make them with
    /// [`NamespaceRef::remote_socket`](crate::adapter::NamespaceRef::remote_socket)).
    pub(crate) fn new(
        namespace: Namespace,
        id: Sid,
        rooms: Vec<Room>,
        handshake: Handshake,
        data: serde_json::Value,
    ) -> Self {
        Self {
            id,
            rooms,
            handshake,
            data,
            namespace,
        }
    }

    /// The socket's data, deserialized.
    ///
    /// # Errors
    ///
    /// When the data is not a `T`.
    pub fn data<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.data)
    }

    /// Sends the socket an event with one argument, wherever it is.
    ///
    /// # Errors
    ///
    /// As a broadcast's [`emit`](crate::BroadcastOperator::emit).
    pub fn emit<T: Serialize + ?Sized>(
        &self,
        event: impl Into<Str>,
        data: &T,
    ) -> Result<(), EmitError> {
        self.namespace.to(self.id.clone()).emit(event, data)
    }

    /// Puts the socket in rooms, wherever it is.
    pub fn join(&self, rooms: impl IntoRooms) -> Result<(), crate::adapter::AdapterError> {
        self.namespace.to(self.id.clone()).sockets_join(rooms)
    }

    /// Takes the socket out of rooms, wherever it is.
    pub fn leave(&self, rooms: impl IntoRooms) -> Result<(), crate::adapter::AdapterError> {
        self.namespace.to(self.id.clone()).sockets_leave(rooms)
    }

    /// Disconnects the socket, wherever it is; `close` closes its whole connection (see
    /// [`Socket::disconnect`]).
    pub fn disconnect(&self, close: bool) -> Result<(), crate::adapter::AdapterError> {
        self.namespace.to(self.id.clone()).disconnect_sockets(close)
    }
}
