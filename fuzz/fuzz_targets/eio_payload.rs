//! A polling POST body, any bytes: the payload decoder must stop at the first bad segment
//! without panicking, and the packets before it must survive a round trip through a payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parser::engineio::{decode_payload, encode_payload, Packet};

fuzz_target!(|data: &[u8]| {
    let mut packets = Vec::new();
    for packet in decode_payload(data.to_vec()) {
        match packet {
            Ok(packet) => packets.push(packet),
            Err(_) => break,
        }
    }
    // An empty payload is refused, and the server never writes one.
    if packets.is_empty() {
        return;
    }
    let frames: Vec<_> = packets.iter().map(Packet::encode).collect();
    let body = encode_payload(&frames);
    let back: Vec<Packet> = decode_payload(body)
        .collect::<Result<_, _>>()
        .expect("an encoded payload decodes");
    // An empty text segment is not a packet on the way back; everything else is.
    assert_eq!(back.len(), packets.len(), "{packets:?} became {back:?}");
    assert_eq!(back, packets);
});
