use super::packet::{DecodeError, Frame, Packet};
use crate::Str;
use bytes::Bytes;

/// The record separator between packets of one polling payload.
pub const SEPARATOR: char = '\x1e';

/// Joins frames into one polling payload: text as is, binary as `b` + base64, `\x1e` between.
///
/// ```
/// use parser::engineio::{encode_payload, Packet};
///
/// let frames = [Packet::message("hi").encode(), Packet::Binary(vec![1, 2, 3].into()).encode()];
/// assert_eq!(encode_payload(&frames), "4hi\x1ebAQID");
/// assert_eq!(encode_payload(&[]), "");
/// ```
#[must_use]
pub fn encode_payload<'a>(frames: impl IntoIterator<Item = &'a Frame>) -> String {
    let mut out = String::new();
    for (i, frame) in frames.into_iter().enumerate() {
        if i > 0 {
            out.push(SEPARATOR);
        }
        frame.write_polling(&mut out);
    }
    out
}

/// Splits a polling payload (an HTTP POST body) into packets, lazily and in order, so that the
/// packets before a malformed one are still handled, as Node handles them.
///
/// Like Node's `split("\x1e")`, an empty body or a trailing separator yields an empty segment,
/// which is an invalid packet. A body that is not UTF-8 yields one
/// [`DecodeError::InvalidUtf8`].
///
/// ```
/// use parser::engineio::{decode_payload, DecodeError, Packet};
///
/// let mut packets = decode_payload("4hi\x1ebAQID\x1e9\x1e4never");
/// assert_eq!(packets.next(), Some(Ok(Packet::message("hi"))));
/// assert_eq!(packets.next(), Some(Ok(Packet::Binary(vec![1, 2, 3].into()))));
/// assert_eq!(packets.next(), Some(Err(DecodeError::UnknownType(b'9'))));
/// assert_eq!(packets.next(), None); // nothing after an error
/// ```
pub fn decode_payload(body: impl Into<Bytes>) -> PayloadDecoder {
    PayloadDecoder {
        rest: Some(Str::from_utf8(body.into()).map_err(|_| DecodeError::InvalidUtf8)),
    }
}

/// The iterator of [`decode_payload`]. After an error it yields nothing more.
#[derive(Debug)]
#[must_use = "iterators are lazy and do nothing unless consumed"]
pub struct PayloadDecoder {
    /// What is left to split; `None` once the last segment or an error has been yielded.
    rest: Option<Result<Str, DecodeError>>,
}

impl Iterator for PayloadDecoder {
    type Item = Result<Packet, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = match self.rest.take()? {
            Ok(rest) => rest,
            Err(e) => return Some(Err(e)),
        };
        let segment = match rest.find(SEPARATOR) {
            Some(i) => {
                self.rest = Some(Ok(rest.slice_ref(&rest[i + SEPARATOR.len_utf8()..])));
                rest.slice_ref(&rest[..i])
            }
            None => rest,
        };
        let packet = Packet::decode_text(segment);
        if packet.is_err() {
            self.rest = None;
        }
        Some(packet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(body: &[u8]) -> Vec<Result<Packet, DecodeError>> {
        decode_payload(Bytes::copy_from_slice(body)).collect()
    }

    #[test]
    fn joins_text_and_binary() {
        let frames = [
            Packet::message("hi").encode(),
            Packet::Binary(vec![1, 2, 3].into()).encode(),
            Packet::Ping(Str::default()).encode(),
        ];
        assert_eq!(encode_payload(&frames), "4hi\x1ebAQID\x1e2");
        assert_eq!(encode_payload(&[]), "");
    }

    #[test]
    fn splits_in_order() {
        assert_eq!(
            decode_all(b"4hi\x1ebAQID\x1e3"),
            vec![
                Ok(Packet::message("hi")),
                Ok(Packet::Binary(vec![1, 2, 3].into())),
                Ok(Packet::Pong(Str::default())),
            ]
        );
    }

    #[test]
    fn empty_segments_are_invalid() {
        assert_eq!(decode_all(b""), vec![Err(DecodeError::Empty)]);
        assert_eq!(
            decode_all(b"4a\x1e"),
            vec![Ok(Packet::message("a")), Err(DecodeError::Empty)]
        );
    }

    #[test]
    fn stops_after_the_first_error() {
        assert_eq!(
            decode_all(b"4a\x1e9\x1e4b"),
            vec![
                Ok(Packet::message("a")),
                Err(DecodeError::UnknownType(b'9'))
            ]
        );
        assert_eq!(decode_all(b"4\xff"), vec![Err(DecodeError::InvalidUtf8)]);
    }
}
