//! Property tests for the socket.io codec: encoded packets decode to themselves, and no input
//! makes the decoder panic.

use bytes::Bytes;
use parser::socketio::{Ack, Decoder, Event, Packet, PacketData, RESERVED_EVENTS};
use parser::Str;
use proptest::prelude::*;
use serde_json::Value;

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn raw(v: Value) -> Str {
    v.to_string().into()
}

fn object() -> impl Strategy<Value = Str> {
    prop::collection::btree_map(any::<String>(), json(), 0..4)
        .prop_map(|m| raw(Value::Object(m.into_iter().collect())))
}

fn namespace() -> impl Strategy<Value = Str> {
    prop_oneof![Just("/".to_owned()), "/[a-z0-9/_-]{1,12}"].prop_map(Str::from)
}

fn args() -> impl Strategy<Value = Vec<Str>> {
    prop::collection::vec(json().prop_map(raw), 0..4)
}

fn packet() -> impl Strategy<Value = Packet> {
    let name = any::<String>()
        .prop_filter("reserved", |n| !RESERVED_EVENTS.contains(&n.as_str()))
        .prop_map(Str::from);
    let attachments = prop::option::of(0usize..=10);
    let data = prop_oneof![
        prop::option::of(object()).prop_map(PacketData::Connect),
        Just(PacketData::Disconnect),
        (
            name,
            args(),
            prop::option::of(any::<u64>()),
            attachments.clone()
        )
            .prop_map(|(name, args, id, attachments)| PacketData::Event(Event {
                name,
                args,
                id,
                attachments
            })),
        (any::<u64>(), args(), attachments).prop_map(|(id, args, attachments)| {
            PacketData::Ack(Ack {
                id,
                args,
                attachments,
            })
        }),
        object().prop_map(|o| PacketData::ConnectError(Some(o))),
    ];
    (namespace(), data).prop_map(|(nsp, data)| Packet { nsp, data })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn round_trip(packet in packet()) {
        let text = packet.encode();
        prop_assert_eq!(text.len(), packet.encoded_len());
        prop_assert_eq!(Packet::decode(text.into(), 10), Ok(packet));
    }

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let _ = Packet::decode(text.into(), 10);
    }

    #[test]
    fn packet_like_text_never_panics(text in r#"[0-6][0-9-]{0,3}(/[a-z,]{0,4})?[0-9]{0,22}[\[\]{}",:a-z0-9 ]{0,24}"#) {
        let _ = Packet::decode(text.into(), 10);
    }

    #[test]
    fn arbitrary_message_sequences_never_panic(
        messages in prop::collection::vec(prop_oneof![
            any::<String>().prop_map(Ok),
            r#"5[0-3]-\["e",\{"_placeholder":true,"num":0\}\]"#.prop_map(Ok),
            any::<Vec<u8>>().prop_map(Err),
        ], 0..12)
    ) {
        let mut decoder = Decoder::default();
        for message in messages {
            let _ = match message {
                Ok(text) => decoder.decode_text(text.into()),
                Err(bytes) => decoder.decode_binary(Bytes::from(bytes)),
            };
        }
    }
}
