//! A v3 polling POST body, any bytes, text or binary by the first byte: the decoder must stop at
//! the first bad packet without panicking, and the packets before it must survive a round trip
//! through a payload of either kind.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parser::engineio::v3::{decode_payload, encode_payload, Payload};
use parser::engineio::Packet;

fuzz_target!(|data: &[u8]| {
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    let binary = kind & 1 == 1;
    let packets: Vec<Packet> = decode_payload(body.to_vec().into(), binary)
        .map_while(Result::ok)
        .collect();
    if packets.is_empty() {
        return;
    }
    let frames: Vec<_> = packets.iter().map(Packet::encode).collect();
    for takes_binary in [false, true] {
        let (body, binary) = match encode_payload(&frames, takes_binary) {
            Payload::Text(text) => (text.into_bytes(), false),
            Payload::Binary(bytes) => (bytes, true),
        };
        let back: Vec<Packet> = decode_payload(body.into(), binary)
            .collect::<Result<_, _>>()
            .expect("an encoded payload decodes");
        assert_eq!(back, packets);
    }
});
