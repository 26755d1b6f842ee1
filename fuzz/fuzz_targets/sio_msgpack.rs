//! One msgpack parser message, any bytes (what a client with `socket.io-msgpack-parser` sends):
//! it decodes or is refused, and what decodes is written again and read back to the same
//! number of arguments and attachments, with its arguments JSON as the rest of the server
//! expects them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parser::socketio::{msgpack, PacketData};

fuzz_target!(|bytes: &[u8]| {
    let Ok(decoded) = msgpack::decode(bytes, 10) else {
        return;
    };
    let args = |data: &PacketData| match data {
        PacketData::Event(event) => event.args.clone(),
        PacketData::Ack(ack) => ack.args.clone(),
        _ => Vec::new(),
    };
    for arg in args(&decoded.packet.data) {
        serde_json::from_str::<&serde_json::value::RawValue>(&arg)
            .unwrap_or_else(|e| panic!("{arg:?} is not JSON: {e}"));
    }
    let wire = msgpack::encode(&decoded.packet, &decoded.attachments);
    let again = msgpack::decode(&wire, 10).expect("what was written reads back");
    assert_eq!(again.packet.packet_type(), decoded.packet.packet_type());
    assert_eq!(again.packet.nsp, decoded.packet.nsp);
    assert_eq!(
        args(&again.packet.data).len(),
        args(&decoded.packet.data).len()
    );
    // A client may send a map that looks like a placeholder: written again, it becomes the
    // attachment it names, as the official parser would make of it too.
    let marks: usize = args(&decoded.packet.data)
        .iter()
        .map(|arg| arg.matches(r#""_placeholder":true"#).count())
        .sum();
    if marks == decoded.attachments.len() {
        assert_eq!(again.attachments.len(), decoded.attachments.len());
    }
});
