//! The msgpack parser, wire-compatible with `socket.io-msgpack-parser` 3.0 (what the official
//! `socket.io.msgpack.min.js` bundle speaks): each packet is one binary engine.io message, a
//! msgpack map `{type, data, id?, nsp}`, binary data inside it as msgpack `bin` rather than as
//! attachments that follow. Its types are CONNECT to CONNECT_ERROR only (0 to 4): an event or
//! an acknowledgement with binary data is still type 2 or 3.
//!
//! The rest of the crate keeps one model of a packet, the default parser's: arguments as raw
//! JSON with placeholders for binary data and the binary data beside them. This module maps
//! between the two, so that everything above the parser (handlers, adapters, recovery) is the
//! same whichever parser a server speaks.
//!
//! ```
//! use bytes::Bytes;
//! use parser::socketio::{msgpack, Packet, DEFAULT_MAX_ATTACHMENTS};
//!
//! let mut packet = Packet::event("/", "file", vec![r#"{"_placeholder":true,"num":0}"#.into()]);
//! parser::socketio::PacketData::set_attachments(&mut packet.data, 1);
//! let wire = msgpack::encode(&packet, &[Bytes::from_static(b"\x01\x02")]);
//!
//! let back = msgpack::decode(&wire, DEFAULT_MAX_ATTACHMENTS).unwrap();
//! assert_eq!(back.packet, packet);
//! assert_eq!(back.attachments, [Bytes::from_static(b"\x01\x02")]);
//! ```

mod read;
mod write;

use super::decoder::Decoded;
use super::packet::{Ack, DecodeError, Event, Packet, PacketData, PacketType, RESERVED_EVENTS};
use crate::Str;
use bytes::Bytes;
use read::{Item, Reader};
use write::write_json_as_msgpack;

/// The packet as one msgpack message, `attachments` put back where their placeholders are.
#[must_use]
pub fn encode(packet: &Packet, attachments: &[Bytes]) -> Bytes {
    let packet_type = match packet.packet_type() {
        PacketType::BinaryEvent => PacketType::Event,
        PacketType::BinaryAck => PacketType::Ack,
        other => other,
    };
    let (args, id): (&[Str], _) = match &packet.data {
        PacketData::Event(event) => (&event.args, event.id),
        PacketData::Ack(ack) => (&ack.args, Some(ack.id)),
        _ => (&[], None),
    };
    // The text of the arguments is about the size of their msgpack (plus the attachments).
    let size = args.iter().map(|arg| arg.len()).sum::<usize>()
        + attachments.iter().map(Bytes::len).sum::<usize>()
        + packet.nsp.len()
        + 32;
    let mut out = Vec::with_capacity(size);
    let has_data = !matches!(
        packet.data,
        PacketData::Disconnect | PacketData::Connect(None) | PacketData::ConnectError(None)
    );
    let fields = 2 + u32::from(has_data) + u32::from(id.is_some());
    // Writing to a Vec cannot fail.
    let _ = rmp::encode::write_map_len(&mut out, fields);
    let _ = rmp::encode::write_str(&mut out, "type");
    let _ = rmp::encode::write_uint(&mut out, packet_type as u64);
    match &packet.data {
        PacketData::Connect(Some(data)) | PacketData::ConnectError(Some(data)) => {
            let _ = rmp::encode::write_str(&mut out, "data");
            write_json_as_msgpack(&mut out, data, attachments);
        }
        PacketData::Event(event) => {
            let _ = rmp::encode::write_str(&mut out, "data");
            let _ = rmp::encode::write_array_len(&mut out, len_u32(args.len() + 1));
            let _ = rmp::encode::write_str(&mut out, &event.name);
        }
        PacketData::Ack(_) => {
            let _ = rmp::encode::write_str(&mut out, "data");
            let _ = rmp::encode::write_array_len(&mut out, len_u32(args.len()));
        }
        _ => {}
    }
    for arg in args {
        write_json_as_msgpack(&mut out, arg, attachments);
    }
    if let Some(id) = id {
        let _ = rmp::encode::write_str(&mut out, "id");
        let _ = rmp::encode::write_uint(&mut out, id);
    }
    let _ = rmp::encode::write_str(&mut out, "nsp");
    let _ = rmp::encode::write_str(&mut out, &packet.nsp);
    Bytes::from(out)
}

/// A count as msgpack's headers hold it; no packet this crate makes has 2³² arguments.
fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// The fields of a packet's map that `socket.io-msgpack-parser` reads, each the bytes of its
/// value (the first of a repeated key, as `rmpv`'s lookup found it before).
#[derive(Default)]
struct Fields<'a> {
    packet_type: Option<&'a [u8]>,
    nsp: Option<&'a [u8]>,
    id: Option<&'a [u8]>,
    data: Option<&'a [u8]>,
}

impl<'a> Fields<'a> {
    /// The whole message read once, so that anything that is not msgpack is refused before
    /// any field is looked at.
    fn read(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(bytes);
        // Anything but a map is refused with the same error as what is not msgpack at all.
        let Item::Map(count) = reader.next()? else {
            return Err(DecodeError::InvalidPayload);
        };
        let mut fields = Fields::default();
        for _ in 0..count {
            let key = reader.next()?;
            reader.skip(key, 1)?;
            let start = reader.rest();
            let value = reader.next()?;
            reader.skip(value, 1)?;
            let value = &start[..start.len() - reader.rest().len()];
            let slot = match key {
                Item::Str(b"type") => &mut fields.packet_type,
                Item::Str(b"nsp") => &mut fields.nsp,
                Item::Str(b"id") => &mut fields.id,
                Item::Str(b"data") => &mut fields.data,
                _ => continue,
            };
            slot.get_or_insert(value);
        }
        if !reader.is_empty() {
            return Err(DecodeError::InvalidPayload);
        }
        Ok(fields)
    }
}

/// A field's first item, when the field is there.
fn field(bytes: Option<&[u8]>) -> Result<Option<Item<'_>>, DecodeError> {
    bytes
        .map(|bytes| open(bytes).map(|(item, _)| item))
        .transpose()
}

/// An argument (or data) as JSON text, sized from its msgpack: JSON text is about as long.
fn json_text<'a>(
    reader: &mut Reader<'a>,
    item: Item<'a>,
    attachments: &mut Vec<Bytes>,
    max_attachments: usize,
) -> Result<Str, DecodeError> {
    let mut json = String::with_capacity(reader.size_of(item)? + 16);
    reader.write_json(item, &mut json, attachments, max_attachments)?;
    Ok(Str::from(json))
}

/// The next `count` items as JSON text each: an event's or an acknowledgement's arguments.
/// `count` was checked against the message when it was first read (each item takes a byte).
fn json_texts<'a>(
    reader: &mut Reader<'a>,
    count: u32,
    attachments: &mut Vec<Bytes>,
    max_attachments: usize,
) -> Result<Vec<Str>, DecodeError> {
    let mut texts = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let item = reader.next()?;
        texts.push(json_text(reader, item, attachments, max_attachments)?);
    }
    Ok(texts)
}

/// The first item of a field's bytes, and a reader at its elements.
fn open(bytes: &[u8]) -> Result<(Item<'_>, Reader<'_>), DecodeError> {
    let mut reader = Reader::new(bytes);
    let item = reader.next()?;
    Ok((item, reader))
}

/// One msgpack message into a packet and its binary data (at most `max_attachments` pieces),
/// checked as `socket.io-msgpack-parser` checks it.
///
/// # Errors
///
/// [`DecodeError::InvalidPayload`] for anything that is not such a packet (not msgpack, not a
/// map, a `nsp` that is not a string, data that is not what the type carries, nesting deeper
/// than 128), [`DecodeError::UnknownType`], [`DecodeError::InvalidAckId`],
/// [`DecodeError::TooManyAttachments`].
pub fn decode(bytes: &[u8], max_attachments: usize) -> Result<Decoded, DecodeError> {
    let fields = Fields::read(bytes)?;
    let packet_type = match field(fields.packet_type)?.and_then(|t| t.as_u64()) {
        Some(0) => PacketType::Connect,
        Some(1) => PacketType::Disconnect,
        Some(2) => PacketType::Event,
        Some(3) => PacketType::Ack,
        Some(4) => PacketType::ConnectError,
        _ => return Err(DecodeError::UnknownType),
    };
    let nsp = match field(fields.nsp)? {
        Some(nsp) => Str::from(nsp.as_str()?),
        None => return Err(DecodeError::InvalidPayload),
    };
    let id = match field(fields.id)? {
        None | Some(Item::Nil) => None,
        Some(id) => Some(id.as_u64().ok_or(DecodeError::InvalidAckId)?),
    };
    let mut data = match fields.data {
        Some(bytes) => Some(open(bytes)?),
        None => None,
    };
    if data.as_ref().is_some_and(|(item, _)| item.is_undefined()) {
        data = None;
    }
    let mut attachments = Vec::new();
    let max = max_attachments;
    let data = match (packet_type, data) {
        (PacketType::Connect, None) => PacketData::Connect(None),
        (PacketType::Connect, Some((Item::Nil, _))) => PacketData::Connect(None),
        (PacketType::Connect, Some((item @ Item::Map(_), mut reader))) => {
            PacketData::Connect(Some(json_text(&mut reader, item, &mut attachments, max)?))
        }
        (PacketType::Disconnect, None) => PacketData::Disconnect,
        (PacketType::ConnectError, Some((item @ (Item::Map(_) | Item::Str(_)), mut reader))) => {
            PacketData::ConnectError(Some(json_text(&mut reader, item, &mut attachments, max)?))
        }
        (PacketType::Event, Some((Item::Array(count), mut reader))) if count > 0 => {
            let first = reader.next()?;
            let name = match first {
                Item::Str(_) => Str::from(first.as_str()?),
                Item::Uint(_) | Item::Int(_) | Item::Float(_) => {
                    json_text(&mut reader, first, &mut attachments, max)?
                }
                _ => return Err(DecodeError::InvalidPayload),
            };
            if RESERVED_EVENTS.contains(&name.as_str()) {
                return Err(DecodeError::InvalidPayload);
            }
            PacketData::Event(Event {
                name,
                args: json_texts(&mut reader, count - 1, &mut attachments, max)?,
                id,
                attachments: None,
            })
        }
        (PacketType::Ack, Some((Item::Array(count), mut reader))) => PacketData::Ack(Ack {
            id: id.ok_or(DecodeError::InvalidAckId)?,
            args: json_texts(&mut reader, count, &mut attachments, max)?,
            attachments: None,
        }),
        _ => return Err(DecodeError::InvalidPayload),
    };
    let mut packet = Packet { nsp, data };
    packet.data.set_attachments(attachments.len());
    Ok(Decoded {
        packet,
        attachments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socketio::DEFAULT_MAX_ATTACHMENTS;
    use rmpv::Value as Msg;

    fn roundtrip(packet: Packet, attachments: Vec<Bytes>) {
        let wire = encode(&packet, &attachments);
        let back = decode(&wire, DEFAULT_MAX_ATTACHMENTS).unwrap();
        assert_eq!(back.packet, packet);
        assert_eq!(back.attachments, attachments);
    }

    #[test]
    fn every_packet_type_goes_and_comes_back() {
        roundtrip(Packet::connect("/", None), vec![]);
        roundtrip(
            Packet::connect("/admin", Some(r#"{"sid":"abc"}"#.into())),
            vec![],
        );
        roundtrip(Packet::disconnect("/x"), vec![]);
        roundtrip(
            Packet::connect_error("/", r#"{"message":"no"}"#.into()),
            vec![],
        );
        roundtrip(Packet::connect_error("/", r#""no""#.into()), vec![]);
        let mut event = Packet::event(
            "/",
            "chat",
            vec!["1".into(), r#"{"a":[true,null,-3,1.5]}"#.into()],
        );
        if let PacketData::Event(e) = &mut event.data {
            e.id = Some(12);
        }
        roundtrip(event, vec![]);
        roundtrip(Packet::ack("/", 7, vec![r#""ok""#.into()]), vec![]);
        let mut binary = Packet::ack(
            "/",
            8,
            vec![r#"[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#.into()],
        );
        binary.data.set_attachments(2);
        roundtrip(
            binary,
            vec![Bytes::from_static(b"a"), Bytes::from_static(b"")],
        );
    }

    #[test]
    fn what_the_official_parser_writes_is_read() {
        // notepack.encode({type: 2, data: ["hi", Buffer.from([1, 2]), 1.5], nsp: "/"})
        let wire = [
            0x83, 0xa4, b't', b'y', b'p', b'e', 0x02, 0xa4, b'd', b'a', b't', b'a', 0x93, 0xa2,
            b'h', b'i', 0xc4, 0x02, 0x01, 0x02, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0xa3, b'n',
            b's', b'p', 0xa1, b'/',
        ];
        let decoded = decode(&wire, DEFAULT_MAX_ATTACHMENTS).unwrap();
        let PacketData::Event(event) = &decoded.packet.data else {
            panic!("{decoded:?}")
        };
        assert_eq!(event.name, "hi");
        assert_eq!(event.args, [r#"{"_placeholder":true,"num":0}"#, "1.5"]);
        assert_eq!(decoded.attachments, [Bytes::from_static(b"\x01\x02")]);
    }

    #[test]
    fn notepack_2_undefined_is_no_data_or_null() {
        // notepack.io 2.2: {type: 0, data: undefined, nsp: "/"}, the CONNECT of a client
        // without auth.
        let wire = [
            0x83, 0xa4, b't', b'y', b'p', b'e', 0x00, 0xa4, b'd', b'a', b't', b'a', 0xd4, 0x00,
            0x00, 0xa3, b'n', b's', b'p', 0xa1, b'/',
        ];
        let decoded = decode(&wire, DEFAULT_MAX_ATTACHMENTS).unwrap();
        assert_eq!(decoded.packet, Packet::connect("/", None));
        // ["e", undefined, {a: undefined, b: 1}]
        let wire = [
            0x83, 0xa4, b't', b'y', b'p', b'e', 0x02, 0xa4, b'd', b'a', b't', b'a', 0x93, 0xa1,
            b'e', 0xd4, 0x00, 0x00, 0x82, 0xa1, b'a', 0xd4, 0x00, 0x00, 0xa1, b'b', 0x01, 0xa3,
            b'n', b's', b'p', 0xa1, b'/',
        ];
        let decoded = decode(&wire, DEFAULT_MAX_ATTACHMENTS).unwrap();
        let PacketData::Event(event) = &decoded.packet.data else {
            panic!("{decoded:?}")
        };
        assert_eq!(event.args, ["null", r#"{"b":1}"#]);
    }

    #[test]
    fn arguments_become_json_text_as_json_stringify_writes_it() {
        let undefined = Msg::Ext(0, vec![0]);
        let argument = Msg::Map(vec![
            ("z".into(), "say \"hi\"\n\u{1}é😀".into()),
            (
                "a".into(),
                Msg::Array(vec![Msg::F64(f64::NAN), Msg::F64(1.5), undefined.clone()]),
            ),
            (Msg::from(7), Msg::Binary(vec![1, 2])),
            ("gone".into(), undefined),
            ("n".into(), Msg::from(-3)),
        ]);
        let data = Msg::Array(vec!["ev".into(), argument]);
        let packet = Msg::Map(vec![
            ("type".into(), 2.into()),
            ("data".into(), data),
            ("nsp".into(), "/".into()),
        ]);
        let mut wire = Vec::new();
        rmpv::encode::write_value(&mut wire, &packet).unwrap();
        let decoded = decode(&wire, DEFAULT_MAX_ATTACHMENTS).unwrap();
        let PacketData::Event(event) = &decoded.packet.data else {
            panic!("an event was expected");
        };
        // Keys in the order they came, escapes as JSON.stringify writes them.
        assert_eq!(
            event.args[0].as_str(),
            r#"{"z":"say \"hi\"\n\u0001é😀","a":[null,1.5,null],"7":{"_placeholder":true,"num":0},"n":-3}"#
        );
        assert_eq!(decoded.attachments, [Bytes::from_static(b"\x01\x02")]);
    }

    #[test]
    fn anything_else_is_refused_without_a_panic() {
        let refused = |value: Msg| {
            let mut out = Vec::new();
            rmpv::encode::write_value(&mut out, &value).unwrap();
            decode(&out, DEFAULT_MAX_ATTACHMENTS).is_err()
        };
        let packet = |fields: Vec<(&str, Msg)>| {
            Msg::Map(fields.into_iter().map(|(k, v)| (Msg::from(k), v)).collect())
        };
        assert!(refused(Msg::from(3)));
        assert!(refused(packet(vec![
            ("type", Msg::from(5)),
            ("nsp", Msg::from("/"))
        ])));
        assert!(refused(packet(vec![
            ("type", Msg::from(2)),
            ("nsp", Msg::from(1))
        ])));
        assert!(refused(packet(vec![
            ("type", Msg::from(2)),
            ("nsp", Msg::from("/")),
            ("data", Msg::from("x"))
        ])));
        assert!(refused(packet(vec![
            ("type", Msg::from(2)),
            ("nsp", Msg::from("/")),
            ("data", Msg::Array(vec![Msg::from("disconnect")])),
        ])));
        assert!(refused(packet(vec![
            ("type", Msg::from(3)),
            ("nsp", Msg::from("/")),
            ("data", Msg::Array(vec![])),
        ])));
        assert!(refused(packet(vec![
            ("type", Msg::from(2)),
            ("nsp", Msg::from("/")),
            (
                "data",
                Msg::Array(
                    vec![Msg::from("e"); 1]
                        .into_iter()
                        .chain(vec![Msg::Binary(vec![1]); 11])
                        .collect()
                )
            ),
        ])));
        let mut deep = Msg::Nil;
        for _ in 0..1000 {
            deep = Msg::Array(vec![deep]);
        }
        assert!(refused(packet(vec![
            ("type", Msg::from(2)),
            ("nsp", Msg::from("/")),
            ("data", Msg::Array(vec![Msg::from("e"), deep])),
        ])));
        for garbage in [&b""[..], b"\xc1", b"\xdf\xff\xff\xff\xff", b"\x83\xa4type"] {
            assert!(decode(garbage, DEFAULT_MAX_ATTACHMENTS).is_err());
        }
    }
}
