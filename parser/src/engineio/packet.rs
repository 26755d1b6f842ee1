use crate::Str;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;

/// The seven engine.io packet types; each one's value is its wire digit as an ASCII byte.
///
/// ```
/// use parser::engineio::PacketType;
///
/// assert_eq!(PacketType::from_byte(b'4'), Some(PacketType::Message));
/// assert_eq!(PacketType::Message as u8, b'4');
/// assert_eq!(PacketType::from_byte(b'7'), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PacketType {
    /// `0`: the server's handshake.
    Open = b'0',
    /// `1`: the end of the session.
    Close = b'1',
    /// `2`: a heartbeat, or the upgrade probe.
    Ping = b'2',
    /// `3`: the answer to a ping.
    Pong = b'3',
    /// `4`: a message (binary messages carry no digit on a WebSocket).
    Message = b'4',
    /// `5`: the end of an upgrade to WebSocket.
    Upgrade = b'5',
    /// `6`: nothing, sent to end a polling request during an upgrade.
    Noop = b'6',
}

impl PacketType {
    /// The type whose wire digit is `b`, if any.
    #[must_use]
    pub fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            b'0' => Self::Open,
            b'1' => Self::Close,
            b'2' => Self::Ping,
            b'3' => Self::Pong,
            b'4' => Self::Message,
            b'5' => Self::Upgrade,
            b'6' => Self::Noop,
            _ => return None,
        })
    }
}

/// A decoded engine.io packet.
///
/// Binary messages have no type digit on a WebSocket (the frame opcode says it) and travel as
/// `b` + base64 in polling payloads; both decode to [`Packet::Binary`].
///
/// ```
/// use bytes::Bytes;
/// use parser::engineio::{Frame, Packet};
///
/// // Encoded once, the frame goes to WebSocket and polling recipients alike.
/// let frame = Packet::message("hello").encode();
/// assert_eq!(frame, Frame::Text("4hello".into()));
///
/// // What a WebSocket received, whatever its opcode.
/// assert_eq!(Packet::decode(frame), Ok(Packet::message("hello")));
/// assert_eq!(
///     Packet::decode(Frame::Binary(Bytes::from_static(b"\x01\x02"))),
///     Ok(Packet::Binary(Bytes::from_static(b"\x01\x02")))
/// );
///
/// // The upgrade probe, and a binary message as polling carries it.
/// assert_eq!(Packet::decode_text("2probe".into()), Ok(Packet::Ping("probe".into())));
/// assert_eq!(Packet::decode_text("bAQI=".into()), Ok(Packet::Binary(vec![1, 2].into())));
/// assert!(Packet::decode_text("9".into()).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// The handshake, its JSON body as sent.
    Open(Str),
    /// The end of the session, from either side.
    Close,
    /// A heartbeat; the data is empty except for the upgrade probe (`2probe`).
    Ping(Str),
    /// The answer to a ping, with its data (`3probe` answers the probe).
    Pong(Str),
    /// A text message.
    Message(Str),
    /// A binary message.
    Binary(Bytes),
    /// The client's message on the new WebSocket that completes an upgrade from polling.
    Upgrade,
    /// Nothing: the server's answer to a polling request it closes during an upgrade.
    Noop,
}

/// An encoded packet: one WebSocket frame, or one segment of a polling payload.
///
/// [`Packet::encode`] makes one; a transport sends it as it is (WebSocket) or joins it with
/// others in a payload ([`encode_payload`](super::encode_payload), polling).
///
/// ```
/// use parser::engineio::{Frame, Packet};
///
/// let text = Packet::message("hi").encode();
/// let binary = Packet::Binary(vec![1, 2, 3].into()).encode();
/// assert_eq!((text.len(), binary.len()), (3, 3)); // on a WebSocket
///
/// let mut polling = String::new();
/// binary.write_polling(&mut polling);
/// assert_eq!(polling, "bAQID");
/// assert_eq!(binary.polling_len(), polling.len());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A packet type digit followed by its data, e.g. `4hello`.
    Text(Str),
    /// The raw bytes of a binary message.
    Binary(Bytes),
}

/// Why bytes did not decode to a packet. The engine answers every one of them by closing the
/// session with the reason `parse error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The frame or polling segment is empty: no packet type.
    #[error("empty packet")]
    Empty,
    /// The first byte is not a packet type digit (nor `b`); it is the field.
    #[error("unknown packet type {0:#04x}")]
    UnknownType(u8),
    /// A `b` segment whose rest is not valid base64.
    #[error("invalid base64 in a binary packet")]
    InvalidBase64,
    /// A polling payload that is not UTF-8 text.
    #[error("payload is not valid UTF-8")]
    InvalidUtf8,
    /// A v3 polling payload whose length prefix is missing, malformed, or longer than what
    /// follows it.
    #[error("invalid length in a v3 payload")]
    BadLength,
}

impl Packet {
    /// A text message packet.
    #[must_use]
    pub fn message(text: impl Into<Str>) -> Self {
        Packet::Message(text.into())
    }

    /// The packet's type; a binary message is a [`PacketType::Message`].
    #[must_use]
    pub fn packet_type(&self) -> PacketType {
        match self {
            Packet::Open(_) => PacketType::Open,
            Packet::Close => PacketType::Close,
            Packet::Ping(_) => PacketType::Ping,
            Packet::Pong(_) => PacketType::Pong,
            Packet::Message(_) | Packet::Binary(_) => PacketType::Message,
            Packet::Upgrade => PacketType::Upgrade,
            Packet::Noop => PacketType::Noop,
        }
    }

    /// Encodes the packet as it travels on a WebSocket (and, for text, in a polling payload).
    #[must_use]
    pub fn encode(&self) -> Frame {
        let data = match self {
            Packet::Binary(bytes) => return Frame::Binary(bytes.clone()),
            Packet::Open(d) | Packet::Ping(d) | Packet::Pong(d) | Packet::Message(d) => d.as_str(),
            Packet::Close | Packet::Upgrade | Packet::Noop => "",
        };
        let mut s = String::with_capacity(1 + data.len());
        s.push(self.packet_type() as u8 as char);
        s.push_str(data);
        Frame::Text(s.into())
    }

    /// Decodes one frame received on a WebSocket.
    ///
    /// # Errors
    ///
    /// As [`Packet::decode_text`], for a text frame; a binary frame is always a
    /// [`Packet::Binary`].
    pub fn decode(frame: Frame) -> Result<Packet, DecodeError> {
        match frame {
            Frame::Text(text) => Self::decode_text(text),
            Frame::Binary(bytes) => Ok(Packet::Binary(bytes)),
        }
    }

    /// Decodes a text frame or one polling segment. A leading `b` marks a base64 binary message,
    /// which Node's parser accepts on both transports, so this does too. Data after the type of a
    /// packet that carries none is ignored, as Node ignores it.
    ///
    /// # Errors
    ///
    /// [`DecodeError::Empty`] for an empty text, [`DecodeError::UnknownType`] when the first
    /// byte is neither a type digit nor `b`, [`DecodeError::InvalidBase64`] for a `b` segment
    /// that is not base64.
    pub fn decode_text(text: Str) -> Result<Packet, DecodeError> {
        let Some(&first) = text.as_bytes().first() else {
            return Err(DecodeError::Empty);
        };
        // The first byte is ASCII on every valid path below, so slicing at 1 is a char boundary.
        if first == b'b' {
            let decoded = BASE64
                .decode(&text.as_bytes()[1..])
                .map_err(|_| DecodeError::InvalidBase64)?;
            return Ok(Packet::Binary(decoded.into()));
        }
        let packet_type = PacketType::from_byte(first).ok_or(DecodeError::UnknownType(first))?;
        let data = || text.slice_ref(&text.as_str()[1..]);
        Ok(match packet_type {
            PacketType::Open => Packet::Open(data()),
            PacketType::Close => Packet::Close,
            PacketType::Ping => Packet::Ping(data()),
            PacketType::Pong => Packet::Pong(data()),
            PacketType::Message => Packet::Message(data()),
            PacketType::Upgrade => Packet::Upgrade,
            PacketType::Noop => Packet::Noop,
        })
    }
}

impl Frame {
    /// Appends this frame as a polling segment: text as is, binary as `b` + base64.
    pub fn write_polling(&self, out: &mut String) {
        match self {
            Frame::Text(s) => out.push_str(s),
            Frame::Binary(b) => {
                out.push('b');
                BASE64.encode_string(b, out);
            }
        }
    }

    /// The length of this frame's polling segment, without encoding it.
    #[must_use]
    pub fn polling_len(&self) -> usize {
        match self {
            Frame::Text(s) => s.len(),
            Frame::Binary(b) => 1 + b.len().div_ceil(3) * 4,
        }
    }

    /// The frame's length on a WebSocket, in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Frame::Text(s) => s.len(),
            Frame::Binary(b) => b.len(),
        }
    }

    /// Whether the frame has no bytes at all (an encoded text frame has at least its type digit;
    /// a binary frame may be empty).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<Packet> for Frame {
    fn from(packet: Packet) -> Frame {
        packet.encode()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Frame {
        Frame::Text(s.into())
    }

    #[test]
    fn encodes_every_type() {
        assert_eq!(
            Packet::Open(r#"{"sid":"a"}"#.into()).encode(),
            text(r#"0{"sid":"a"}"#)
        );
        assert_eq!(Packet::Close.encode(), text("1"));
        assert_eq!(Packet::Ping("probe".into()).encode(), text("2probe"));
        assert_eq!(Packet::Pong(Str::default()).encode(), text("3"));
        assert_eq!(Packet::message("héllo").encode(), text("4héllo"));
        assert_eq!(Packet::Upgrade.encode(), text("5"));
        assert_eq!(Packet::Noop.encode(), text("6"));
        let bin = Bytes::from_static(&[0, 255]);
        assert_eq!(Packet::Binary(bin.clone()).encode(), Frame::Binary(bin));
    }

    #[test]
    fn decodes_text_frames() {
        assert_eq!(
            Packet::decode_text("2probe".into()),
            Ok(Packet::Ping("probe".into()))
        );
        assert_eq!(
            Packet::decode_text("3".into()),
            Ok(Packet::Pong(Str::default()))
        );
        assert_eq!(Packet::decode_text("4".into()), Ok(Packet::message("")));
        assert_eq!(Packet::decode_text("5".into()), Ok(Packet::Upgrade));
        assert_eq!(Packet::decode_text("1junk".into()), Ok(Packet::Close));
        assert_eq!(
            Packet::decode_text("bAQI=".into()),
            Ok(Packet::Binary(vec![1, 2].into()))
        );
    }

    #[test]
    fn rejects_bad_text_frames() {
        assert_eq!(Packet::decode_text("".into()), Err(DecodeError::Empty));
        assert_eq!(
            Packet::decode_text("7".into()),
            Err(DecodeError::UnknownType(b'7'))
        );
        assert_eq!(
            Packet::decode_text("é".into()),
            Err(DecodeError::UnknownType(0xc3))
        );
        assert_eq!(
            Packet::decode_text("b@@".into()),
            Err(DecodeError::InvalidBase64)
        );
    }

    #[test]
    fn polling_len_matches_written_segment() {
        for n in 0..10 {
            let frame = Frame::Binary(vec![7; n].into());
            let mut out = String::new();
            frame.write_polling(&mut out);
            assert_eq!(out.len(), frame.polling_len(), "binary of {n} bytes");
        }
    }
}
