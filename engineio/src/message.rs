use bytes::Bytes;
use parser::engineio::{Frame, Packet};
use parser::Str;
use std::fmt;

/// An application message, as the peer sent it or as it will travel.
///
/// Text and bytes convert into it, so [`Socket::send`](crate::Socket::send) takes either:
///
/// ```
/// use engineio::{Frame, Message};
///
/// let text = Message::from("hello");
/// assert_eq!(text, Message::Text("hello".into()));
/// let binary = Message::from(vec![1u8, 2, 3]);
/// assert!(matches!(binary, Message::Binary(ref b) if b.len() == 3));
///
/// // On the wire a text message is packet type `4` and its text; bytes go as they are.
/// assert_eq!(text.into_frame(), Frame::Text("4hello".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message (engine.io packet type `4`, in a WebSocket text frame or a polling
    /// payload).
    Text(Str),
    /// A binary message (a WebSocket binary frame, or `b` and base64 in a polling payload).
    Binary(Bytes),
}

impl Message {
    /// The frame this message travels as (`4` + text, or the raw bytes).
    #[must_use]
    pub fn into_frame(self) -> Frame {
        match self {
            Message::Text(s) => Packet::Message(s).encode(),
            Message::Binary(b) => Frame::Binary(b),
        }
    }
}

impl From<&str> for Message {
    fn from(s: &str) -> Self {
        Message::Text(s.into())
    }
}
impl From<String> for Message {
    fn from(s: String) -> Self {
        Message::Text(s.into())
    }
}
impl From<Str> for Message {
    fn from(s: Str) -> Self {
        Message::Text(s)
    }
}
impl From<Vec<u8>> for Message {
    fn from(b: Vec<u8>) -> Self {
        Message::Binary(b.into())
    }
}
impl From<Bytes> for Message {
    fn from(b: Bytes) -> Self {
        Message::Binary(b)
    }
}

/// Why a send was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The socket is closed or closing.
    Closed,
    /// The socket's queue already holds `max_buffer_size` bytes: the client is not reading fast
    /// enough.
    Full,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SendError::Closed => "socket closed",
            SendError::Full => "socket write buffer full",
        })
    }
}

impl std::error::Error for SendError {}

/// Why a session ended, named as Node's engine.io names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The client closed the connection or sent a close packet.
    TransportClose,
    /// The transport failed: an aborted or overlapping request, a payload over the limit, a
    /// WebSocket error.
    TransportError,
    /// No pong within `ping_timeout` of a ping.
    PingTimeout,
    /// The client sent something that is not engine.io.
    ParseError,
    /// The server closed the socket.
    ForcedClose,
}

impl CloseReason {
    /// The reason as Node names it (`"transport close"`, `"ping timeout"`, ...).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::TransportClose => "transport close",
            CloseReason::TransportError => "transport error",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::ParseError => "parse error",
            CloseReason::ForcedClose => "forced close",
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
