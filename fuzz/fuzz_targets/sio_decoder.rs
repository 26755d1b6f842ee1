//! One connection's messages in order, text and binary mixed: the decoder assembles binary
//! packets from their attachments or refuses the sequence, never panics, and every packet it
//! completes carries exactly the attachments it announced.
#![no_main]

use arbitrary::Arbitrary;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use parser::socketio::{from_json_with_attachments, Decoder, PacketData};

#[derive(Arbitrary, Debug)]
enum Message {
    Text(String),
    /// A binary event with this many placeholders, then the bytes of the rest of the text.
    BinaryEvent(u8, String),
    Binary(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct Input {
    max_attachments: u8,
    messages: Vec<Message>,
}

fuzz_target!(|input: Input| {
    let mut decoder = Decoder::new(usize::from(input.max_attachments % 16));
    for message in input.messages {
        let result = match message {
            Message::Text(text) => decoder.decode_text(text.into()),
            Message::BinaryEvent(count, rest) => {
                let placeholders: Vec<String> = (0..count % 8)
                    .map(|n| format!(r#"{{"_placeholder":true,"num":{n}}}"#))
                    .collect();
                let text = format!(r#"5{}-["e",{}{rest}]"#, count % 8, placeholders.join(","));
                decoder.decode_text(text.into())
            }
            Message::Binary(bytes) => decoder.decode_binary(Bytes::from(bytes)),
        };
        let Ok(Some(decoded)) = result else {
            if result.is_err() {
                return;
            }
            continue;
        };
        assert_eq!(decoded.attachments.len(), decoded.packet.attachments());
        let args = match &decoded.packet.data {
            PacketData::Event(event) => &event.args,
            PacketData::Ack(ack) => &ack.args,
            _ => continue,
        };
        for arg in args {
            let _ = from_json_with_attachments::<Bytes>(arg, &decoded.attachments);
            let _ = from_json_with_attachments::<Vec<Bytes>>(arg, &decoded.attachments);
        }
    }
});
