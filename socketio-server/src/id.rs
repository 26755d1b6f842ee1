//! Socket ids.

use parser::Str;
use std::fmt;

/// A socket's id within its namespace (Node's `socket.id`): 128 random bits as 22 URL-safe
/// characters, unguessable like the engine's session id and distinct from it. Every socket is
/// in the room named by its id, so a `Sid` is also a room for `to`, `except` and `join`.
///
/// ```
/// # let io = socketio::SocketIo::new();
/// io.on_connection(|socket: socketio::Socket| async move {
///     let id: socketio::Sid = socket.id().clone();
///     println!("{id} connected");
///     // A message to this socket alone, from anywhere in the app:
///     let _ = socket.namespace().to(&id).emit("hello", "you");
/// });
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Sid(Str);

impl Sid {
    /// A fresh random id, made as the engine makes its session ids (one helper for both).
    pub(crate) fn random() -> Self {
        Sid(Str::from(engineio::Sid::random().as_str()))
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The id as the name of the room only this socket is in.
    #[must_use]
    pub fn as_room(&self) -> &Str {
        &self.0
    }

    /// An id as another server of a cluster gave it: for adapters, which take ids from the
    /// wire. Any text is accepted, since Node's ids and ours differ in shape.
    #[must_use]
    pub fn from_remote(id: impl Into<Str>) -> Self {
        Sid(id.into())
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sid({})", self.as_str())
    }
}

impl AsRef<str> for Sid {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::borrow::Borrow<str> for Sid {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for Sid {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Sid {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl From<Sid> for Str {
    fn from(sid: Sid) -> Str {
        sid.0
    }
}

impl std::str::FromStr for Sid {
    type Err = std::convert::Infallible;

    /// Any text is a possible id: whether a socket has it is for the namespace to say.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Sid(Str::from(s)))
    }
}

impl From<&Sid> for Str {
    fn from(sid: &Sid) -> Str {
        sid.0.clone()
    }
}

/// A room named by a socket id is that socket's own room.
impl PartialEq<Sid> for Str {
    fn eq(&self, other: &Sid) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<Str> for Sid {
    fn eq(&self, other: &Str) -> bool {
        self.as_str() == other.as_str()
    }
}
