//! Writing an argument's JSON text as msgpack in one pass: `serde_json` reads the text and
//! each value it visits is written at once, with no JSON tree or msgpack tree between (a 4 KB
//! string without escapes goes from the text to the message in one copy). Object entries keep
//! their order, as `JSON.parse` keeps it.

use bytes::Bytes;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// `text` (raw JSON, as the rest of the crate keeps arguments) appended to `out` as msgpack,
/// placeholders (`{"_placeholder":true,"num":N}`) replaced by the attachments they stand for.
/// Text that is not JSON (which no part of this crate makes) goes as `nil`.
pub(super) fn write_json_as_msgpack(out: &mut Vec<u8>, text: &str, attachments: &[Bytes]) {
    let start = out.len();
    let mut reader = serde_json::Deserializer::from_str(text);
    let written = Value { out, attachments }.deserialize(&mut reader);
    if written.is_err() || reader.end().is_err() {
        out.truncate(start);
        out.push(NIL);
    }
}

const NIL: u8 = 0xc0;

/// The most bytes a container's header takes (`map 32`, `array 32`): what is kept free before
/// its elements while their count is not known yet.
const WIDEST_HEADER: usize = 5;

/// What a value was, as far as a placeholder needs to know.
enum Written {
    True,
    Uint(u64),
    Other,
}

/// One JSON value to write.
struct Value<'o, 'a> {
    out: &'o mut Vec<u8>,
    attachments: &'a [Bytes],
}

impl<'de> DeserializeSeed<'de> for Value<'_, '_> {
    type Value = Written;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Written, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Value<'_, '_> {
    type Value = Written;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Written, E> {
        self.out.push(NIL);
        Ok(Written::Other)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Written, E> {
        let _ = rmp::encode::write_bool(self.out, b);
        Ok(if b { Written::True } else { Written::Other })
    }

    fn visit_u64<E>(self, n: u64) -> Result<Written, E> {
        let _ = rmp::encode::write_uint(self.out, n);
        Ok(Written::Uint(n))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Written, E> {
        // serde_json gives negative integers only here; others come as u64.
        let _ = rmp::encode::write_sint(self.out, n);
        Ok(Written::Other)
    }

    fn visit_f64<E>(self, f: f64) -> Result<Written, E> {
        let _ = rmp::encode::write_f64(self.out, f);
        Ok(Written::Other)
    }

    fn visit_str<E>(self, s: &str) -> Result<Written, E> {
        let _ = rmp::encode::write_str(self.out, s);
        Ok(Written::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Written, A::Error> {
        let start = open(self.out);
        let mut count = 0u32;
        while seq
            .next_element_seed(Value {
                out: self.out,
                attachments: self.attachments,
            })?
            .is_some()
        {
            count = count.saturating_add(1);
        }
        close(self.out, start, count, false);
        Ok(Written::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Written, A::Error> {
        let start = open(self.out);
        let mut count = 0u32;
        let (mut flagged, mut num) = (false, None);
        while let Some(key) = map.next_key_seed(Key { out: self.out })? {
            let value = map.next_value_seed(Value {
                out: self.out,
                attachments: self.attachments,
            })?;
            match (key, value) {
                (KeyName::Placeholder, Written::True) => flagged = true,
                (KeyName::Num, Written::Uint(n)) => num = Some(n),
                _ => {}
            }
            count = count.saturating_add(1);
        }
        // `{"_placeholder":true,"num":N}` is the attachment N itself, as the official parser
        // turns it back into the Buffer it stood for.
        let attachment = num
            .and_then(|n| usize::try_from(n).ok())
            .and_then(|n| self.attachments.get(n));
        if let (2, true, Some(bytes)) = (count, flagged, attachment) {
            self.out.truncate(start);
            let _ = rmp::encode::write_bin(self.out, bytes);
            return Ok(Written::Other);
        }
        close(self.out, start, count, true);
        Ok(Written::Other)
    }
}

/// Room for a container's header, whose element count is known only at its end.
fn open(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0; WIDEST_HEADER]);
    start
}

/// The header written in its narrowest form (as every msgpack encoder writes it) and the
/// elements moved up against it.
fn close(out: &mut Vec<u8>, start: usize, count: u32, map: bool) {
    let mut header = [0; WIDEST_HEADER];
    let mut slot = &mut header[..];
    let _ = if map {
        rmp::encode::write_map_len(&mut slot, count)
    } else {
        rmp::encode::write_array_len(&mut slot, count)
    };
    let len = WIDEST_HEADER - slot.len();
    out.copy_within(start + WIDEST_HEADER.., start + len);
    out.truncate(out.len() - (WIDEST_HEADER - len));
    out[start..start + len].copy_from_slice(&header[..len]);
}

/// An object key: written as a msgpack string, and told apart when a placeholder's.
struct Key<'o> {
    out: &'o mut Vec<u8>,
}

enum KeyName {
    Placeholder,
    Num,
    Other,
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = KeyName;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<KeyName, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = KeyName;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E>(self, key: &str) -> Result<KeyName, E> {
        let _ = rmp::encode::write_str(self.out, key);
        Ok(match key {
            "_placeholder" => KeyName::Placeholder,
            "num" => KeyName::Num,
            _ => KeyName::Other,
        })
    }
}
