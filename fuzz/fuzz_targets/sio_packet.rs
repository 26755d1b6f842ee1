//! One socket.io text packet, any UTF-8: it decodes or is refused, what decodes encodes back to
//! the same packet, and its arguments read as JSON, with or without attachments.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use parser::socketio::{from_json_with_attachments, Packet, PacketData};

/// Fields that ask for bytes, so that placeholder objects are resolved, or refused.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct WithBytes {
    data: Option<Bytes>,
    more: Option<Vec<Bytes>>,
}

fuzz_target!(|text: &str| {
    let Ok(packet) = Packet::decode(text.into(), 10) else {
        return;
    };
    let again = Packet::decode(packet.encode().into(), 10).expect("an encoded packet decodes");
    assert_eq!(again, packet, "from {text:?}");

    let attachments = [Bytes::from_static(b"one"), Bytes::from_static(b"two")];
    let args = match &packet.data {
        PacketData::Event(event) => &event.args,
        PacketData::Ack(ack) => &ack.args,
        _ => return,
    };
    for arg in args {
        // An argument is JSON, but it may not fit a `Value` (`1e999` is JSON, as in Node, where
        // it parses to Infinity): the placeholder-aware reader must agree with serde_json.
        let value = from_json_with_attachments::<serde_json::Value>(arg, &attachments);
        let plain = serde_json::from_str::<serde_json::Value>(arg);
        match (value, plain) {
            (Ok(value), Ok(plain)) => assert_eq!(value, plain),
            (Err(_), Err(_)) => {}
            (value, plain) => panic!("{arg:?}: {value:?} but serde_json gives {plain:?}"),
        }
        let _ = from_json_with_attachments::<Bytes>(arg, &attachments);
        let _ = from_json_with_attachments::<WithBytes>(arg, &attachments);
        let _ = from_json_with_attachments::<(String, Vec<Bytes>)>(arg, &attachments);
    }
});
