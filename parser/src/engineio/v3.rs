//! Engine.io protocol v3, as Node's `engine.io` serves it with `allowEIO3` (socket.io-client 2.x,
//! python-socketio 4.x): the same packets as v4, framed differently.
//!
//! - A polling payload is a sequence of `<length>:<packet>`, the length counted in UTF-16 code
//!   units as JavaScript counts a string's length, a binary message written `b4<base64>`.
//! - A client that takes binary (it did not ask for `b64`) gets a payload with a binary message
//!   as binary: each packet is a marker (0 text, 1 binary), its length as one byte per decimal
//!   digit, 255, then the packet: text as UTF-8, binary as the type byte 4 and the bytes.
//! - On a WebSocket a binary message carries its type byte first (`\x04` + bytes).
//!
//! A server encodes a packet once as a v4 [`Frame`]; these functions turn frames into v3 wire
//! forms at the transport, so one encoding still serves every recipient of a broadcast.
//!
//! ```
//! use parser::engineio::v3::{self, Payload};
//! use parser::engineio::{Frame, Packet};
//!
//! let frames = [Packet::message("é").encode(), Packet::Binary(vec![1, 2].into()).encode()];
//! // Lengths count UTF-16 units: "4é" is 2.
//! assert_eq!(v3::encode_payload(&frames, false), Payload::Text("2:4é6:b4AQI=".into()));
//! assert_eq!(
//!     v3::encode_payload(&frames, true),
//!     Payload::Binary(b"\x00\x03\xff4\xc3\xa9\x01\x03\xff\x04\x01\x02".to_vec())
//! );
//! let decoded: Vec<_> = v3::decode_payload("2:4é6:b4AQI=".into(), false).collect();
//! assert_eq!(decoded, [Ok(Packet::message("é")), Ok(Packet::Binary(vec![1, 2].into()))]);
//! ```

use super::packet::{DecodeError, Frame, Packet};
use crate::Str;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use bytes::{BufMut, Bytes};

/// The type byte of a message, as v3 writes it before a binary message's bytes.
const MESSAGE: u8 = 4;
/// The end of a length in a binary payload.
const LENGTH_END: u8 = 255;
/// The most digits a length may have: Node's parser gives up past 310.
const MAX_DIGITS: usize = 310;

/// A v3 polling response body: text, or binary when the client takes binary and a binary
/// message is in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// `text/plain; charset=UTF-8`.
    Text(String),
    /// `application/octet-stream`.
    Binary(Vec<u8>),
}

/// Joins frames into one v3 polling payload. `binary` says whether the client takes binary
/// payloads (it did not ask for `b64`); without a binary message the payload is text anyway.
#[must_use]
pub fn encode_payload(frames: &[Frame], binary: bool) -> Payload {
    if binary && frames.iter().any(|f| matches!(f, Frame::Binary(_))) {
        let mut out = Vec::new();
        for frame in frames {
            match frame {
                Frame::Text(text) => {
                    write_length(&mut out, 0, text.len());
                    out.extend_from_slice(text.as_bytes());
                }
                Frame::Binary(bytes) => {
                    write_length(&mut out, 1, bytes.len() + 1);
                    out.push(MESSAGE);
                    out.extend_from_slice(bytes);
                }
            }
        }
        return Payload::Binary(out);
    }
    let mut out = String::new();
    for frame in frames {
        match frame {
            Frame::Text(text) => {
                out.push_str(&text.as_str().encode_utf16().count().to_string());
                out.push(':');
                out.push_str(text);
            }
            Frame::Binary(bytes) => {
                // "b4" and the base64, all ASCII: bytes and UTF-16 units agree.
                out.push_str(&(2 + bytes.len().div_ceil(3) * 4).to_string());
                out.push_str(":b4");
                BASE64.encode_string(bytes, &mut out);
            }
        }
    }
    Payload::Text(out)
}

fn write_length(out: &mut Vec<u8>, marker: u8, length: usize) {
    out.push(marker);
    out.extend(length.to_string().bytes().map(|digit| digit - b'0'));
    out.push(LENGTH_END);
}

/// Splits a v3 polling payload (a POST body) into packets, in order; `binary` says whether it
/// came as `application/octet-stream`. As Node, the packets before a malformed one are still
/// handled: the error comes last, and nothing follows it.
pub fn decode_payload(
    body: Bytes,
    binary: bool,
) -> impl Iterator<Item = Result<Packet, DecodeError>> {
    let mut packets = Vec::new();
    let result = if binary {
        decode_binary(body, &mut packets)
    } else {
        match Str::from_utf8(body) {
            Ok(text) => decode_text_payload(&text, &mut packets),
            Err(_) => Err(DecodeError::InvalidUtf8),
        }
    };
    packets.into_iter().map(Ok).chain(result.err().map(Err))
}

fn decode_text_payload(text: &Str, packets: &mut Vec<Packet>) -> Result<(), DecodeError> {
    if text.is_empty() {
        return Err(DecodeError::Empty);
    }
    let mut rest = text.as_str();
    while !rest.is_empty() {
        let colon = rest.find(':').ok_or(DecodeError::BadLength)?;
        let digits = &rest[..colon];
        if digits.is_empty()
            || digits.len() > MAX_DIGITS
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(DecodeError::BadLength);
        }
        let units: usize = digits.parse().map_err(|_| DecodeError::BadLength)?;
        let after = &rest[colon + 1..];
        let end = utf16_prefix(after, units).ok_or(DecodeError::BadLength)?;
        let message = &after[..end];
        if !message.is_empty() {
            packets.push(decode_text(text.slice_ref(message))?);
        }
        rest = &after[end..];
    }
    Ok(())
}

/// The byte length of the first `units` UTF-16 code units of `s`, when it has that many and
/// they end on a character.
fn utf16_prefix(s: &str, units: usize) -> Option<usize> {
    let mut counted = 0;
    for (at, c) in s.char_indices() {
        if counted == units {
            return Some(at);
        }
        counted += c.len_utf16();
        if counted > units {
            return None;
        }
    }
    (counted == units).then_some(s.len())
}

fn decode_binary(mut rest: Bytes, packets: &mut Vec<Packet>) -> Result<(), DecodeError> {
    if rest.is_empty() {
        return Err(DecodeError::Empty);
    }
    while !rest.is_empty() {
        let is_text = rest[0] == 0;
        let end = rest
            .iter()
            .skip(1)
            .take(MAX_DIGITS + 1)
            .position(|&b| b == LENGTH_END)
            .ok_or(DecodeError::BadLength)?
            + 1;
        let mut length: usize = 0;
        for &digit in &rest[1..end] {
            if digit > 9 {
                return Err(DecodeError::BadLength);
            }
            length = length
                .checked_mul(10)
                .and_then(|l| l.checked_add(usize::from(digit)))
                .ok_or(DecodeError::BadLength)?;
        }
        // No overflow: the length was read with checked arithmetic, and so is its end.
        let stop = (end + 1)
            .checked_add(length)
            .filter(|&stop| end > 1 && stop <= rest.len())
            .ok_or(DecodeError::BadLength)?;
        let message = rest.slice(end + 1..stop);
        rest = rest.slice(stop..);
        let packet = if is_text {
            decode_text(Str::from_utf8(message).map_err(|_| DecodeError::InvalidUtf8)?)?
        } else {
            decode_binary_message(message)?
        };
        packets.push(packet);
    }
    Ok(())
}

/// Decodes a v3 text packet: as v4, except that a base64 binary message is `b4<base64>`, the
/// type after the `b`.
///
/// # Errors
///
/// As [`Packet::decode_text`]; a `b` packet whose type is not a message is
/// [`DecodeError::UnknownType`].
pub fn decode_text(text: Str) -> Result<Packet, DecodeError> {
    match text.as_bytes().first() {
        Some(b'b') => match text.as_bytes().get(1) {
            Some(b'4') => BASE64
                .decode(&text.as_bytes()[2..])
                .map(|bytes| Packet::Binary(bytes.into()))
                .map_err(|_| DecodeError::InvalidBase64),
            Some(&other) => Err(DecodeError::UnknownType(other)),
            None => Err(DecodeError::Empty),
        },
        _ => Packet::decode_text(text),
    }
}

/// Decodes a v3 binary WebSocket message or binary payload segment: the type byte (a message,
/// 4), then the bytes.
///
/// # Errors
///
/// [`DecodeError::Empty`] with no type byte, [`DecodeError::UnknownType`] when it is not 4.
pub fn decode_binary_message(bytes: Bytes) -> Result<Packet, DecodeError> {
    match bytes.first() {
        Some(&MESSAGE) => Ok(Packet::Binary(bytes.slice(1..))),
        Some(&other) => Err(DecodeError::UnknownType(other)),
        None => Err(DecodeError::Empty),
    }
}

/// A frame as a v3 WebSocket carries it: text unchanged; a binary message with its type byte
/// first, or as `b4<base64>` text for a client that asked for `b64`.
#[must_use]
pub fn websocket_frame(frame: Frame, binary: bool) -> Frame {
    match frame {
        Frame::Binary(bytes) if binary => {
            let mut out = bytes::BytesMut::with_capacity(1 + bytes.len());
            out.put_u8(MESSAGE);
            out.extend_from_slice(&bytes);
            Frame::Binary(out.freeze())
        }
        Frame::Binary(bytes) => {
            let mut out = String::from("b4");
            BASE64.encode_string(&bytes, &mut out);
            Frame::Text(out.into())
        }
        text => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(body: &'static [u8], binary: bool) -> Vec<Result<Packet, DecodeError>> {
        decode_payload(Bytes::from_static(body), binary).collect()
    }

    #[test]
    fn text_payload_lengths_count_utf16_units() {
        let emoji = Packet::message("😀").encode();
        assert_eq!(
            encode_payload(&[emoji], false),
            Payload::Text("3:4😀".into())
        );
        assert_eq!(
            decode("3:4😀".as_bytes(), false),
            [Ok(Packet::message("😀"))]
        );
        // Two units of a surrogate pair cannot be split.
        assert_eq!(
            decode("2:4😀".as_bytes(), false),
            [Err(DecodeError::BadLength)]
        );
    }

    #[test]
    fn a_malformed_text_payload_keeps_the_packets_before_it() {
        assert_eq!(
            decode(b"2:4a1:2x:3", false),
            [
                Ok(Packet::message("a")),
                Ok(Packet::Ping("".into())),
                Err(DecodeError::BadLength)
            ]
        );
        assert_eq!(decode(b"", false), [Err(DecodeError::Empty)]);
        assert_eq!(decode(b"5:4a", false), [Err(DecodeError::BadLength)]);
        assert_eq!(decode(b"1:9", false), [Err(DecodeError::UnknownType(b'9'))]);
        assert_eq!(decode(b"3:b4!", false), [Err(DecodeError::InvalidBase64)]);
    }

    #[test]
    fn binary_payload_round_trip() {
        let frames = [
            Packet::message("hi").encode(),
            Packet::Binary(vec![0, 255].into()).encode(),
        ];
        let Payload::Binary(body) = encode_payload(&frames, true) else {
            panic!("a binary payload was expected");
        };
        let decoded: Vec<_> = decode_payload(body.into(), true).collect();
        assert_eq!(
            decoded,
            [
                Ok(Packet::message("hi")),
                Ok(Packet::Binary(vec![0, 255].into()))
            ]
        );
    }

    #[test]
    fn a_hostile_binary_payload_is_an_error() {
        assert_eq!(decode(b"\x00\x01", true), [Err(DecodeError::BadLength)]);
        assert_eq!(
            decode(b"\x00\x0a\xff4", true),
            [Err(DecodeError::BadLength)]
        );
        assert_eq!(
            decode(b"\x00\x09\xff4", true),
            [Err(DecodeError::BadLength)]
        );
        assert_eq!(decode(b"\x01\xff", true), [Err(DecodeError::BadLength)]);
        assert_eq!(
            decode(b"\x01\x01\xff\x02", true),
            [Err(DecodeError::UnknownType(2))]
        );
        // A length of 20 nines overflows nothing: it is refused.
        let huge = [&[1u8][..], &[9u8; 20][..], &[255u8, 4][..]].concat();
        assert_eq!(
            decode_payload(huge.into(), true).collect::<Vec<_>>(),
            [Err(DecodeError::BadLength)]
        );
        let max = [
            &[1u8][..],
            &b"18446744073709551615".map(|d| d - b'0')[..],
            &[255u8, 4][..],
        ]
        .concat();
        assert_eq!(
            decode_payload(max.into(), true).collect::<Vec<_>>(),
            [Err(DecodeError::BadLength)]
        );
        let long = [&[0u8][..], &[9u8; 400][..], &[255u8][..]].concat();
        assert_eq!(
            decode_payload(long.into(), true).collect::<Vec<_>>(),
            [Err(DecodeError::BadLength)]
        );
    }

    #[test]
    fn websocket_binary_carries_its_type_byte() {
        let frame = websocket_frame(Frame::Binary(vec![7].into()), true);
        assert_eq!(frame, Frame::Binary(vec![4, 7].into()));
        assert_eq!(
            websocket_frame(Frame::Binary(vec![7].into()), false),
            Frame::Text("b4Bw==".into())
        );
        assert_eq!(
            decode_binary_message(vec![4, 7].into()),
            Ok(Packet::Binary(vec![7].into()))
        );
        assert_eq!(
            decode_text("b4Bw==".into()),
            Ok(Packet::Binary(vec![7].into()))
        );
    }
}
