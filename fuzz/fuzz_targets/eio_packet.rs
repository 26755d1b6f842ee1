//! One engine.io packet as a WebSocket frame: text frames are UTF-8 by the time the decoder sees
//! them (tungstenite checks), binary frames are anything. What decodes must encode back to a frame
//! that decodes to the same packet.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use parser::engineio::{Frame, Packet};
use parser::Str;

fuzz_target!(|data: &[u8]| {
    let (binary, body) = match data.split_first() {
        Some((kind, body)) => (kind & 1 == 1, body),
        None => return,
    };
    let frame = if binary {
        Frame::Binary(Bytes::copy_from_slice(body))
    } else {
        match Str::from_utf8(Bytes::copy_from_slice(body)) {
            Ok(text) => Frame::Text(text),
            Err(_) => return,
        }
    };
    if let Ok(packet) = Packet::decode(frame) {
        let frame = packet.encode();
        let again = Packet::decode(frame.clone()).expect("an encoded packet decodes");
        assert_eq!(again, packet);
        let mut polling = String::new();
        frame.write_polling(&mut polling);
        assert_eq!(
            polling.len(),
            frame.polling_len(),
            "announced polling length"
        );
    }
});
