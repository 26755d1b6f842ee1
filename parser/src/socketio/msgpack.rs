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

use super::decoder::Decoded;
use super::packet::{Ack, DecodeError, Event, Packet, PacketData, PacketType, RESERVED_EVENTS};
use crate::Str;
use bytes::Bytes;
use rmpv::Value as Msg;
use serde_json::{Map, Number, Value as Json};

/// How deep a packet's values may nest: as deep as `serde_json` reads JSON.
const MAX_DEPTH: usize = 128;

/// The packet as one msgpack message, `attachments` put back where their placeholders are.
#[must_use]
pub fn encode(packet: &Packet, attachments: &[Bytes]) -> Bytes {
    let packet_type = match packet.packet_type() {
        PacketType::BinaryEvent => PacketType::Event,
        PacketType::BinaryAck => PacketType::Ack,
        other => other,
    };
    let mut map = vec![(Msg::from("type"), Msg::from(packet_type as u8))];
    let (data, id) = match &packet.data {
        PacketData::Connect(data) | PacketData::ConnectError(data) => (
            data.as_ref().map(|data| from_json_text(data, attachments)),
            None,
        ),
        PacketData::Disconnect => (None, None),
        PacketData::Event(event) => {
            let mut items = Vec::with_capacity(event.args.len() + 1);
            items.push(Msg::from(event.name.as_str()));
            items.extend(
                event
                    .args
                    .iter()
                    .map(|arg| from_json_text(arg, attachments)),
            );
            (Some(Msg::Array(items)), event.id)
        }
        PacketData::Ack(ack) => {
            let items = ack.args.iter().map(|arg| from_json_text(arg, attachments));
            (Some(Msg::Array(items.collect())), Some(ack.id))
        }
    };
    if let Some(data) = data {
        map.push((Msg::from("data"), data));
    }
    if let Some(id) = id {
        map.push((Msg::from("id"), Msg::from(id)));
    }
    map.push((Msg::from("nsp"), Msg::from(packet.nsp.as_str())));
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut out, &Msg::Map(map));
    Bytes::from(out)
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
    let mut reader = bytes;
    let value = rmpv::decode::read_value_with_max_depth(&mut reader, MAX_DEPTH)
        .map_err(|_| DecodeError::InvalidPayload)?;
    if !reader.is_empty() {
        return Err(DecodeError::InvalidPayload);
    }
    let Msg::Map(fields) = value else {
        return Err(DecodeError::InvalidPayload);
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(key, _)| key.as_str() == Some(name))
            .map(|(_, value)| value)
    };
    let packet_type = match field("type").and_then(Msg::as_u64) {
        Some(0) => PacketType::Connect,
        Some(1) => PacketType::Disconnect,
        Some(2) => PacketType::Event,
        Some(3) => PacketType::Ack,
        Some(4) => PacketType::ConnectError,
        _ => return Err(DecodeError::UnknownType),
    };
    let nsp = match field("nsp") {
        Some(Msg::String(nsp)) => Str::from(nsp.as_str().ok_or(DecodeError::InvalidPayload)?),
        _ => return Err(DecodeError::InvalidPayload),
    };
    let id = match field("id") {
        None | Some(Msg::Nil) => None,
        Some(id) => Some(id.as_u64().ok_or(DecodeError::InvalidAckId)?),
    };
    let mut attachments = Vec::new();
    let mut text = |value: &Msg| -> Result<Str, DecodeError> {
        let mut json = String::new();
        write_json(value, &mut json, &mut attachments)?;
        if attachments.len() > max_attachments {
            return Err(DecodeError::TooManyAttachments);
        }
        Ok(Str::from(json))
    };
    let data = match (
        packet_type,
        field("data").filter(|data| !is_undefined(data)),
    ) {
        (PacketType::Connect, None | Some(Msg::Nil)) => PacketData::Connect(None),
        (PacketType::Connect, Some(data @ Msg::Map(_))) => PacketData::Connect(Some(text(data)?)),
        (PacketType::Disconnect, None) => PacketData::Disconnect,
        (PacketType::ConnectError, Some(data @ (Msg::Map(_) | Msg::String(_)))) => {
            PacketData::ConnectError(Some(text(data)?))
        }
        (PacketType::Event, Some(Msg::Array(items))) => {
            let (first, rest) = items.split_first().ok_or(DecodeError::InvalidPayload)?;
            let name = match first {
                Msg::String(name) => name.as_str().ok_or(DecodeError::InvalidPayload)?,
                Msg::Integer(_) | Msg::F32(_) | Msg::F64(_) => &text(first)?,
                _ => return Err(DecodeError::InvalidPayload),
            };
            if RESERVED_EVENTS.contains(&name) {
                return Err(DecodeError::InvalidPayload);
            }
            let args = rest.iter().map(&mut text);
            PacketData::Event(Event {
                name: Str::from(name),
                args: args.collect::<Result<_, _>>()?,
                id,
                attachments: None,
            })
        }
        (PacketType::Ack, Some(Msg::Array(items))) => {
            let args = items.iter().map(&mut text);
            PacketData::Ack(Ack {
                id: id.ok_or(DecodeError::InvalidAckId)?,
                args: args.collect::<Result<_, _>>()?,
                attachments: None,
            })
        }
        _ => return Err(DecodeError::InvalidPayload),
    };
    let mut packet = Packet { nsp, data };
    packet.data.set_attachments(attachments.len());
    Ok(Decoded {
        packet,
        attachments,
    })
}

/// JavaScript's `undefined` as `notepack.io` 2.2 writes it (what `socket.io-msgpack-parser` 3.0
/// depends on: `fixext 1` of type 0, e.g. a CONNECT's data when there is no auth), which
/// `rmpv` reads as a one-byte extension 0. Newer notepack writes `nil`.
fn is_undefined(value: &Msg) -> bool {
    matches!(value, Msg::Ext(0, bytes) if bytes.len() == 1)
}

/// Writes a msgpack value as JSON text, straight from the value (no JSON tree in between):
/// `bin` (and notepack's old ArrayBuffer extension) becomes a placeholder for the next
/// attachment, integer map keys their decimal text as in JavaScript, NaN and the infinities
/// `null` as `JSON.stringify` writes them, `undefined` `null` in an array and left out of a
/// map, as `JSON.stringify` does; map entries keep their order.
fn write_json(
    value: &Msg,
    out: &mut String,
    attachments: &mut Vec<Bytes>,
) -> Result<(), DecodeError> {
    use std::fmt::Write;
    match value {
        Msg::Nil => out.push_str("null"),
        Msg::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Msg::Integer(n) => match (n.as_u64(), n.as_i64()) {
            (Some(n), _) => {
                let _ = write!(out, "{n}");
            }
            (_, Some(n)) => {
                let _ = write!(out, "{n}");
            }
            _ => out.push_str("null"),
        },
        Msg::F32(f) => write_float(out, f64::from(*f)),
        Msg::F64(f) => write_float(out, *f),
        Msg::String(s) => write_string(out, s.as_str().ok_or(DecodeError::InvalidPayload)?),
        undefined if is_undefined(undefined) => out.push_str("null"),
        Msg::Binary(bytes) | Msg::Ext(0, bytes) => {
            let _ = write!(
                out,
                r#"{{"_placeholder":true,"num":{}}}"#,
                attachments.len()
            );
            attachments.push(Bytes::copy_from_slice(bytes));
        }
        Msg::Ext(..) => return Err(DecodeError::InvalidPayload),
        Msg::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out, attachments)?;
            }
            out.push(']');
        }
        Msg::Map(entries) => {
            out.push('{');
            let entries = entries.iter().filter(|(_, value)| !is_undefined(value));
            for (i, (key, value)) in entries.enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match key {
                    Msg::String(key) => {
                        write_string(out, key.as_str().ok_or(DecodeError::InvalidPayload)?);
                    }
                    Msg::Integer(n) => {
                        let _ = write!(out, "\"{n}\"");
                    }
                    _ => return Err(DecodeError::InvalidPayload),
                }
                out.push(':');
                write_json(value, out, attachments)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// A number as `serde_json` writes it; NaN and the infinities as `null`.
fn write_float(out: &mut String, f: f64) {
    use std::fmt::Write;
    match Number::from_f64(f) {
        Some(n) => {
            let _ = write!(out, "{n}");
        }
        None => out.push_str("null"),
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
        out.push_str(&Json::from(s).to_string());
    } else {
        out.reserve(s.len() + 2);
        out.push('"');
        out.push_str(s);
        out.push('"');
    }
}

/// Raw JSON text as msgpack, placeholders replaced by the attachments they stand for. Text
/// that is not JSON (which no part of this crate makes) goes as `nil`.
fn from_json_text(text: &str, attachments: &[Bytes]) -> Msg {
    serde_json::from_str(text).map_or(Msg::Nil, |json| from_json(&json, attachments))
}

fn from_json(value: &Json, attachments: &[Bytes]) -> Msg {
    match value {
        Json::Null => Msg::Nil,
        Json::Bool(b) => Msg::Boolean(*b),
        Json::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(n), _, _) => Msg::from(n),
            (_, Some(n), _) => Msg::from(n),
            (_, _, Some(f)) => Msg::F64(f),
            _ => Msg::Nil,
        },
        Json::String(s) => Msg::from(s.as_str()),
        Json::Array(items) => Msg::Array(items.iter().map(|i| from_json(i, attachments)).collect()),
        Json::Object(map) => {
            if let Some(bytes) = placeholder(map).and_then(|num| attachments.get(num)) {
                return Msg::Binary(bytes.to_vec());
            }
            Msg::Map(
                map.iter()
                    .map(|(key, value)| (Msg::from(key.as_str()), from_json(value, attachments)))
                    .collect(),
            )
        }
    }
}

/// The attachment number of a placeholder object (`{"_placeholder":true,"num":N}`).
fn placeholder(map: &Map<String, Json>) -> Option<usize> {
    if map.len() != 2 || map.get("_placeholder") != Some(&Json::Bool(true)) {
        return None;
    }
    usize::try_from(map.get("num")?.as_u64()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socketio::DEFAULT_MAX_ATTACHMENTS;

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
