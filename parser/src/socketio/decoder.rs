use super::packet::{DecodeError, Packet};
use crate::Str;
use bytes::Bytes;

/// Node's default bound on the attachments one packet may announce.
pub const DEFAULT_MAX_ATTACHMENTS: usize = 10;

/// A complete packet with its binary attachments, in placeholder order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The packet; its arguments are raw JSON, placeholders included.
    pub packet: Packet,
    /// The binary attachments: `attachments[n]` is what placeholder `n` stands for. Empty for
    /// a packet that is not binary.
    pub attachments: Vec<Bytes>,
}

/// Turns one connection's engine.io messages into complete socket.io packets. A binary packet
/// is held until its attachments have arrived; anything out of that order is an error, after
/// which the connection should be closed.
///
/// ```
/// use bytes::Bytes;
/// use parser::socketio::{from_json_with_attachments, Decoder, PacketData};
///
/// let mut decoder = Decoder::default();
/// // A BINARY_EVENT announcing one attachment, then the attachment.
/// let header = r#"51-["upload",{"_placeholder":true,"num":0}]"#;
/// assert_eq!(decoder.decode_text(header.into()), Ok(None));
/// assert!(decoder.is_pending());
/// let decoded = decoder.decode_binary(Bytes::from_static(b"\x89PNG")).unwrap().unwrap();
///
/// let PacketData::Event(event) = &decoded.packet.data else { unreachable!() };
/// assert_eq!(event.name, "upload");
/// let file: Bytes = from_json_with_attachments(&event.args[0], &decoded.attachments).unwrap();
/// assert_eq!(file, Bytes::from_static(b"\x89PNG"));
///
/// // Binary data that no packet announced is an error.
/// assert!(decoder.decode_binary(Bytes::from_static(b"?")).is_err());
/// ```
#[derive(Debug)]
pub struct Decoder {
    max_attachments: usize,
    /// Boxed: packets with attachments are rare, and every connection holds a decoder.
    pending: Option<Box<Decoded>>,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_ATTACHMENTS)
    }
}

impl Decoder {
    /// A decoder that refuses a binary packet announcing more than `max_attachments`
    /// attachments ([`DEFAULT_MAX_ATTACHMENTS`] by default, as Node).
    #[must_use]
    pub fn new(max_attachments: usize) -> Self {
        Self {
            max_attachments,
            pending: None,
        }
    }

    /// A text message: a complete packet, or `None` while its attachments are awaited.
    ///
    /// # Errors
    ///
    /// [`DecodeError::UnexpectedText`] while a binary packet awaits attachments, or why the
    /// text is not a packet (as [`Packet::decode`]).
    pub fn decode_text(&mut self, text: Str) -> Result<Option<Decoded>, DecodeError> {
        if self.pending.is_some() {
            return Err(DecodeError::UnexpectedText);
        }
        let packet = Packet::decode(text, self.max_attachments)?;
        let expected = packet.attachments();
        let decoded = Decoded {
            packet,
            attachments: Vec::with_capacity(expected),
        };
        if expected == 0 {
            return Ok(Some(decoded));
        }
        self.pending = Some(Box::new(decoded));
        Ok(None)
    }

    /// A binary message: the next attachment of the pending packet; the packet once it is
    /// complete, `None` while more attachments are awaited.
    ///
    /// # Errors
    ///
    /// [`DecodeError::UnexpectedBinary`] when no binary packet awaits attachments.
    pub fn decode_binary(&mut self, data: Bytes) -> Result<Option<Decoded>, DecodeError> {
        let pending = self.pending.as_mut().ok_or(DecodeError::UnexpectedBinary)?;
        pending.attachments.push(data);
        if pending.attachments.len() < pending.packet.attachments() {
            return Ok(None);
        }
        Ok(self.pending.take().map(|decoded| *decoded))
    }

    /// Whether a binary packet is waiting for attachments.
    #[must_use]
    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_a_binary_packet_when_its_attachments_arrive() {
        let mut decoder = Decoder::default();
        let text = r#"52-["up",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
        assert_eq!(decoder.decode_text(text.into()), Ok(None));
        assert!(decoder.is_pending());
        assert_eq!(decoder.decode_binary(Bytes::from_static(b"a")), Ok(None));
        let done = decoder
            .decode_binary(Bytes::from_static(b"b"))
            .unwrap()
            .unwrap();
        assert_eq!(
            done.attachments,
            vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")]
        );
        assert!(!decoder.is_pending());
        // The next packet decodes normally.
        assert!(decoder.decode_text(r#"2["x"]"#.into()).unwrap().is_some());
    }

    #[test]
    fn out_of_order_messages_are_errors() {
        let mut decoder = Decoder::default();
        assert_eq!(
            decoder.decode_binary(Bytes::from_static(b"a")),
            Err(DecodeError::UnexpectedBinary)
        );
        decoder
            .decode_text(r#"51-["up",{"_placeholder":true,"num":0}]"#.into())
            .unwrap();
        assert_eq!(
            decoder.decode_text(r#"2["x"]"#.into()),
            Err(DecodeError::UnexpectedText)
        );
    }

    #[test]
    fn a_binary_packet_with_no_attachments_is_complete_at_once() {
        let mut decoder = Decoder::default();
        assert!(decoder.decode_text(r#"50-["x"]"#.into()).unwrap().is_some());
    }

    #[test]
    fn the_attachment_bound_is_configurable() {
        let mut decoder = Decoder::new(1);
        assert_eq!(
            decoder.decode_text(r#"52-["x"]"#.into()),
            Err(DecodeError::TooManyAttachments)
        );
    }
}
