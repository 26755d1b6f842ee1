//! Which parser a server speaks (Node's `parser` option): packets to engine frames and frames
//! back to packets, with the default parser (text, binary attachments as frames of their own)
//! or the msgpack one (`socket.io-msgpack-parser`: one binary frame per packet). Above this,
//! a packet is the same whichever parser carried it.

use bytes::Bytes;
use engineio::Frame;
use parser::socketio::{msgpack, DecodeError, Decoded, Decoder, Packet};

/// The parser a server speaks to all its clients (Node's `parser` option). Clients must use
/// the same: the official client with `parser: require("socket.io-msgpack-parser")`, or the
/// `socket.io.msgpack.min.js` bundle that [`serve_client`](crate::SocketIoBuilder::serve_client)
/// serves beside the default one.
///
/// ```
/// use socketio::{Parser, SocketIoConfig};
///
/// let config = SocketIoConfig::builder().parser(Parser::MsgPack).build();
/// assert_eq!(config.parser, Parser::MsgPack);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Parser {
    /// socket.io's own: each packet a text frame, each binary attachment a binary frame after
    /// it.
    #[default]
    Default,
    /// `socket.io-msgpack-parser` 3.0: each packet one binary msgpack frame, binary data
    /// inside it.
    MsgPack,
}

impl Parser {
    /// A packet's engine frames: with the default parser its text, then one binary frame per
    /// attachment; with msgpack one binary frame. Built once per emit, whatever the number of
    /// recipients; an iterator, so that a socket's queue takes the frames with no list of its
    /// own to allocate for every emit.
    pub(crate) fn frames<'a>(
        self,
        packet: &Packet,
        attachments: &'a [Bytes],
    ) -> impl Iterator<Item = Frame> + 'a {
        let (first, rest) = match self {
            Parser::Default => {
                // Sized exactly, so that the text becomes the frame's bytes as it is.
                let mut text = String::with_capacity(1 + packet.encoded_len());
                text.push('4');
                packet.encode_into(&mut text);
                (Frame::Text(text.into()), attachments)
            }
            Parser::MsgPack => (
                Frame::Binary(msgpack::encode(packet, attachments)),
                &attachments[..0],
            ),
        };
        std::iter::once(first).chain(rest.iter().cloned().map(Frame::Binary))
    }
}

/// One connection's decoder for the server's parser.
#[derive(Debug)]
pub(crate) enum PacketDecoder {
    Default(Decoder),
    MsgPack { max_attachments: usize },
}

impl PacketDecoder {
    pub(crate) fn new(parser: Parser, max_attachments: usize) -> Self {
        match parser {
            Parser::Default => PacketDecoder::Default(Decoder::new(max_attachments)),
            Parser::MsgPack => PacketDecoder::MsgPack { max_attachments },
        }
    }

    /// A complete packet, `None` while a default-parser packet waits for its attachments.
    pub(crate) fn decode(
        &mut self,
        message: engineio::Message,
    ) -> Result<Option<Decoded>, DecodeError> {
        match (self, message) {
            (PacketDecoder::Default(decoder), engineio::Message::Text(text)) => {
                decoder.decode_text(text)
            }
            (PacketDecoder::Default(decoder), engineio::Message::Binary(bytes)) => {
                decoder.decode_binary(bytes)
            }
            (PacketDecoder::MsgPack { max_attachments }, engineio::Message::Binary(bytes)) => {
                msgpack::decode(&bytes, *max_attachments).map(Some)
            }
            // A msgpack client never sends text: a client speaking the other parser.
            (PacketDecoder::MsgPack { .. }, engineio::Message::Text(_)) => {
                Err(DecodeError::UnexpectedText)
            }
        }
    }
}

impl Default for PacketDecoder {
    fn default() -> Self {
        PacketDecoder::Default(Decoder::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_frames_carry_the_engine_prefix_and_msgpack_is_one_binary_frame() {
        let mut packet = Packet::event(
            "/chat",
            "ev",
            vec![r#"{"_placeholder":true,"num":0}"#.into()],
        );
        packet.data.set_attachments(1);
        let attachment = [Bytes::from_static(b"\x01")];
        let frames: Vec<Frame> = Parser::Default.frames(&packet, &attachment).collect();
        assert_eq!(
            frames,
            vec![
                Frame::Text(r#"451-/chat,["ev",{"_placeholder":true,"num":0}]"#.into()),
                Frame::Binary(attachment[0].clone()),
            ]
        );
        let frames: Vec<Frame> = Parser::MsgPack.frames(&packet, &attachment).collect();
        let [Frame::Binary(bytes)] = &frames[..] else {
            panic!("{frames:?}")
        };
        let decoded = msgpack::decode(bytes, 10).unwrap();
        assert_eq!(decoded.packet, packet);
        assert_eq!(decoded.attachments, attachment);
    }
}
