//! The two revisions of the engine.io protocol a session may speak, and what differs between
//! them on the wire: how a transport writes the frames the server queued, and how it reads what
//! the client sent. Everything above the transports sees v4 frames and packets either way.

use crate::handshake::query_param;
use parser::engineio::v3::{self, Payload};
use parser::engineio::{decode_payload, encode_payload, DecodeError, Frame, Packet};
use parser::Str;
use std::borrow::Cow;

/// The engine.io protocol revision a session speaks (Node's `socket.protocol`).
///
/// v4 is what every current client speaks. v3 (socket.io-client 2.x, python-socketio 4.x) is
/// served only with [`allow_eio3`](crate::EngineIoConfigBuilder::allow_eio3): in it the client
/// pings and the server answers, polling payloads are length-prefixed, and binary travels as
/// binary in polling payloads too.
///
/// ```
/// use engineio::{EngineIoConfig, Protocol};
///
/// let config = EngineIoConfig::builder().allow_eio3(true).build();
/// assert!(config.allow_eio3);
/// assert_eq!(Protocol::V3 as u8, 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// Engine.io v3, socket.io protocol v4.
    V3 = 3,
    /// Engine.io v4, socket.io protocol v5.
    V4 = 4,
}

impl Protocol {
    /// The revision a handshake asks for with its `EIO` parameter: as Node reads it, `4` is v4
    /// and anything else (`3`, or nothing) is v3.
    pub(crate) fn of_query(query: &str) -> Self {
        match query_param(query, "EIO").as_deref() {
            Some("4") => Protocol::V4,
            _ => Protocol::V3,
        }
    }
}

/// How one transport of a session writes and reads: its protocol, and whether the client takes
/// binary (a v3 client that asked for `b64` gets binary messages as base64 text).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wire {
    protocol: Protocol,
    binary: bool,
}

impl Wire {
    /// The wire of a transport opened by a request with this query.
    pub(crate) fn new(protocol: Protocol, query: &str) -> Self {
        // Node tests `b64` for truth: present and not empty. Only v3 reads it.
        let binary = protocol == Protocol::V4
            || query_param(query, "b64").is_none_or(|value| value.is_empty());
        Self { protocol, binary }
    }

    /// The frames as this WebSocket sends them: v4 as queued, v3 with each binary message
    /// re-framed (a copy for binary messages alone, which only old clients get).
    pub(crate) fn websocket_frames<'a>(&self, frames: &'a [Frame]) -> Cow<'a, [Frame]> {
        let legacy = self.protocol == Protocol::V3;
        if !legacy || !frames.iter().any(|f| matches!(f, Frame::Binary(_))) {
            return Cow::Borrowed(frames);
        }
        frames
            .iter()
            .map(|frame| v3::websocket_frame(frame.clone(), self.binary))
            .collect()
    }

    /// A text message received on a WebSocket.
    pub(crate) fn decode_text(&self, text: Str) -> Result<Packet, DecodeError> {
        match self.protocol {
            Protocol::V3 => v3::decode_text(text),
            Protocol::V4 => Packet::decode_text(text),
        }
    }

    /// A binary message received on a WebSocket: v4's is the message itself, v3's starts with
    /// its type.
    pub(crate) fn decode_binary(&self, bytes: bytes::Bytes) -> Result<Packet, DecodeError> {
        match self.protocol {
            Protocol::V3 => v3::decode_binary_message(bytes),
            Protocol::V4 => Ok(Packet::Binary(bytes)),
        }
    }

    /// A polling answer's body and content type.
    pub(crate) fn encode_polling(&self, frames: &[Frame]) -> (&'static str, Vec<u8>) {
        const TEXT: &str = "text/plain; charset=UTF-8";
        match self.protocol {
            Protocol::V4 => (TEXT, encode_payload(frames).into_bytes()),
            Protocol::V3 => match v3::encode_payload(frames, self.binary) {
                Payload::Text(text) => (TEXT, text.into_bytes()),
                Payload::Binary(bytes) => ("application/octet-stream", bytes),
            },
        }
    }

    /// The packets of a polling POST body, in order, an error last. A binary body
    /// (`application/octet-stream`) is v3's alone: the caller refuses it from a v4 client.
    pub(crate) fn decode_polling(
        &self,
        body: bytes::Bytes,
        binary_body: bool,
    ) -> Box<dyn Iterator<Item = Result<Packet, DecodeError>>> {
        match self.protocol {
            Protocol::V4 => Box::new(decode_payload(body)),
            Protocol::V3 => Box::new(v3::decode_payload(body, binary_body)),
        }
    }
}
