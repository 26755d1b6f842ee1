//! Reading msgpack a value at a time, straight from the wire's bytes: no tree of values is
//! built, and a value becomes JSON text in one pass over it (a client's 4 KB string is copied
//! once, into the text). Every length is checked against what is left of the message before
//! anything is read or reserved, so a hostile length costs nothing.

use super::super::packet::DecodeError;
use bytes::Bytes;
use rmp::Marker;
use serde_json::Number;

/// How deep a packet's values may nest: as deep as `serde_json` reads JSON.
const MAX_DEPTH: usize = 128;

/// One msgpack item: a scalar, or the head of a container whose elements follow it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Item<'a> {
    Nil,
    Bool(bool),
    /// Any integer that is not negative, whatever its encoding.
    Uint(u64),
    /// A negative integer.
    Int(i64),
    Float(f64),
    /// A string's bytes, not yet checked to be UTF-8 (as `rmpv` keeps them).
    Str(&'a [u8]),
    Bin(&'a [u8]),
    Ext(i8, &'a [u8]),
    Array(u32),
    Map(u32),
}

impl Item<'_> {
    /// JavaScript's `undefined` as `notepack.io` 2.2 writes it (what `socket.io-msgpack-parser`
    /// 3.0 depends on): `fixext 1` of type 0, e.g. a CONNECT's data when there is no auth. Newer
    /// notepack writes `nil`.
    pub(super) fn is_undefined(&self) -> bool {
        matches!(self, Item::Ext(0, bytes) if bytes.len() == 1)
    }

    pub(super) fn as_u64(&self) -> Option<u64> {
        match *self {
            Item::Uint(n) => Some(n),
            _ => None,
        }
    }

    pub(super) fn as_str(&self) -> Result<&str, DecodeError> {
        match self {
            Item::Str(bytes) => std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidPayload),
            _ => Err(DecodeError::InvalidPayload),
        }
    }
}

/// A cursor over one msgpack message.
#[derive(Debug, Clone)]
pub(super) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// What is left, for a caller that remembers where a value starts.
    pub(super) fn rest(&self) -> &'a [u8] {
        self.rest
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.rest.len() {
            return Err(DecodeError::InvalidPayload);
        }
        let (taken, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N)?;
        <[u8; N]>::try_from(bytes).map_err(|_| DecodeError::InvalidPayload)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn signed(n: i64) -> Item<'a> {
        u64::try_from(n).map_or(Item::Int(n), Item::Uint)
    }

    fn ext(&mut self, len: usize) -> Result<Item<'a>, DecodeError> {
        let kind = i8::from_be_bytes(self.array()?);
        Ok(Item::Ext(kind, self.take(len)?))
    }

    /// The next item; a container's elements are the items after it.
    pub(super) fn next(&mut self) -> Result<Item<'a>, DecodeError> {
        Ok(match Marker::from_u8(self.u8()?) {
            Marker::FixPos(n) => Item::Uint(n.into()),
            Marker::FixNeg(n) => Item::Int(n.into()),
            Marker::Null => Item::Nil,
            Marker::True => Item::Bool(true),
            Marker::False => Item::Bool(false),
            Marker::U8 => Item::Uint(self.u8()?.into()),
            Marker::U16 => Item::Uint(self.u16()?.into()),
            Marker::U32 => Item::Uint(self.u32()?.into()),
            Marker::U64 => Item::Uint(self.u64()?),
            Marker::I8 => Self::signed(i8::from_be_bytes(self.array()?).into()),
            Marker::I16 => Self::signed(i16::from_be_bytes(self.array()?).into()),
            Marker::I32 => Self::signed(i32::from_be_bytes(self.array()?).into()),
            Marker::I64 => Self::signed(i64::from_be_bytes(self.array()?)),
            Marker::F32 => Item::Float(f32::from_be_bytes(self.array()?).into()),
            Marker::F64 => Item::Float(f64::from_be_bytes(self.array()?)),
            Marker::FixStr(n) => Item::Str(self.take(n.into())?),
            Marker::Str8 => {
                let n = self.u8()?;
                Item::Str(self.take(n.into())?)
            }
            Marker::Str16 => {
                let n = self.u16()?;
                Item::Str(self.take(n.into())?)
            }
            Marker::Str32 => {
                let n = self.u32()?;
                Item::Str(self.take(n as usize)?)
            }
            Marker::Bin8 => {
                let n = self.u8()?;
                Item::Bin(self.take(n.into())?)
            }
            Marker::Bin16 => {
                let n = self.u16()?;
                Item::Bin(self.take(n.into())?)
            }
            Marker::Bin32 => {
                let n = self.u32()?;
                Item::Bin(self.take(n as usize)?)
            }
            Marker::FixExt1 => self.ext(1)?,
            Marker::FixExt2 => self.ext(2)?,
            Marker::FixExt4 => self.ext(4)?,
            Marker::FixExt8 => self.ext(8)?,
            Marker::FixExt16 => self.ext(16)?,
            Marker::Ext8 => {
                let n = self.u8()?;
                self.ext(n.into())?
            }
            Marker::Ext16 => {
                let n = self.u16()?;
                self.ext(n.into())?
            }
            Marker::Ext32 => {
                let n = self.u32()?;
                self.ext(n as usize)?
            }
            Marker::FixArray(n) => Item::Array(n.into()),
            Marker::Array16 => Item::Array(self.u16()?.into()),
            Marker::Array32 => Item::Array(self.u32()?),
            Marker::FixMap(n) => Item::Map(n.into()),
            Marker::Map16 => Item::Map(self.u16()?.into()),
            Marker::Map32 => Item::Map(self.u32()?),
            Marker::Reserved => return Err(DecodeError::InvalidPayload),
        })
    }

    /// Past the elements of `item`, if it is a container, checking that they are there. A
    /// count larger than the message only reads to its end: each element takes a byte at least.
    pub(super) fn skip(&mut self, item: Item<'a>, depth: usize) -> Result<(), DecodeError> {
        let elements = match item {
            Item::Array(n) => u64::from(n),
            Item::Map(n) => 2 * u64::from(n),
            _ => return Ok(()),
        };
        if depth >= MAX_DEPTH {
            return Err(DecodeError::InvalidPayload);
        }
        for _ in 0..elements {
            let element = self.next()?;
            self.skip(element, depth + 1)?;
        }
        Ok(())
    }

    /// How many bytes `item` and its elements take in the message (the reader is left where
    /// it is): what their JSON text is sized from.
    pub(super) fn size_of(&self, item: Item<'a>) -> Result<usize, DecodeError> {
        let mut elements = self.clone();
        elements.skip(item, 0)?;
        let own = match item {
            Item::Str(bytes) | Item::Bin(bytes) | Item::Ext(_, bytes) => bytes.len(),
            _ => 0,
        };
        Ok(own + self.rest.len() - elements.rest.len())
    }

    /// `item` and its elements as JSON text, as `JSON.stringify` would write what
    /// `socket.io-msgpack-parser` decodes: `bin` (and notepack's old ArrayBuffer extension)
    /// becomes a placeholder for the next attachment, integer map keys their decimal text,
    /// NaN and the infinities `null`, `undefined` `null` in an array and left out of a map; map
    /// entries keep their order. More than `max_attachments` pieces of binary data is refused.
    pub(super) fn write_json(
        &mut self,
        item: Item<'a>,
        out: &mut String,
        attachments: &mut Vec<Bytes>,
        max_attachments: usize,
    ) -> Result<(), DecodeError> {
        let mut json = Json {
            reader: self,
            out,
            attachments,
            max_attachments,
        };
        json.write(item, 0)
    }
}

/// One value being written as JSON text.
struct Json<'r, 'a, 'o> {
    reader: &'r mut Reader<'a>,
    out: &'o mut String,
    attachments: &'o mut Vec<Bytes>,
    max_attachments: usize,
}

impl<'a> Json<'_, 'a, '_> {
    fn write(&mut self, item: Item<'a>, depth: usize) -> Result<(), DecodeError> {
        use std::fmt::Write;
        if depth >= MAX_DEPTH {
            return Err(DecodeError::InvalidPayload);
        }
        match item {
            Item::Nil => self.out.push_str("null"),
            Item::Bool(b) => self.out.push_str(if b { "true" } else { "false" }),
            Item::Uint(n) => {
                let _ = write!(self.out, "{n}");
            }
            Item::Int(n) => {
                let _ = write!(self.out, "{n}");
            }
            Item::Float(f) => match Number::from_f64(f) {
                Some(n) => {
                    let _ = write!(self.out, "{n}");
                }
                None => self.out.push_str("null"),
            },
            Item::Str(_) => write_string(self.out, item.as_str()?),
            undefined if undefined.is_undefined() => self.out.push_str("null"),
            Item::Bin(bytes) | Item::Ext(0, bytes) => {
                if self.attachments.len() == self.max_attachments {
                    return Err(DecodeError::TooManyAttachments);
                }
                let num = self.attachments.len();
                let _ = write!(self.out, r#"{{"_placeholder":true,"num":{num}}}"#);
                self.attachments.push(Bytes::copy_from_slice(bytes));
            }
            Item::Ext(..) => return Err(DecodeError::InvalidPayload),
            Item::Array(n) => {
                self.out.push('[');
                for i in 0..n {
                    if i > 0 {
                        self.out.push(',');
                    }
                    let element = self.reader.next()?;
                    self.write(element, depth + 1)?;
                }
                self.out.push(']');
            }
            Item::Map(n) => {
                self.out.push('{');
                let mut first = true;
                for _ in 0..n {
                    let key = self.reader.next()?;
                    // A key that is a container is refused below, but past its elements
                    // first: an entry whose value is undefined is left out, key and all.
                    self.reader.skip(key, depth + 1)?;
                    let value = self.reader.next()?;
                    if value.is_undefined() {
                        continue;
                    }
                    if !first {
                        self.out.push(',');
                    }
                    first = false;
                    match key {
                        Item::Str(_) => write_string(self.out, key.as_str()?),
                        Item::Uint(n) => {
                            let _ = write!(self.out, "\"{n}\"");
                        }
                        Item::Int(n) => {
                            let _ = write!(self.out, "\"{n}\"");
                        }
                        _ => return Err(DecodeError::InvalidPayload),
                    }
                    self.out.push(':');
                    self.write(value, depth + 1)?;
                }
                self.out.push('}');
            }
        }
        Ok(())
    }
}

/// A JSON string. Most strings need no escape: they are copied whole, after a check written so
/// that the compiler can test many bytes at once; the others are escaped by `serde_json`.
fn write_string(out: &mut String, s: &str) {
    let needs_escape = |chunk: &[u8]| {
        chunk.iter().fold(false, |dirty, &b| {
            dirty | (b < 0x20) | (b == b'"') | (b == b'\\')
        })
    };
    if s.as_bytes().chunks(64).any(needs_escape) {
        out.push_str(&serde_json::Value::from(s).to_string());
    } else {
        out.reserve(s.len() + 2);
        out.push('"');
        out.push_str(s);
        out.push('"');
    }
}
