//! Property tests for the msgpack parser, against `rmpv` (a msgpack library of its own) as the
//! reference: what it writes is read back and written again byte for byte, what we write is
//! what it writes for the same values, and no input makes the decoder panic.

use bytes::Bytes;
use parser::socketio::{msgpack, PacketData, DEFAULT_MAX_ATTACHMENTS};
use proptest::prelude::*;
use rmpv::Value as Msg;

/// Values as `socket.io-msgpack-parser` sends them and as JSON can hold them: maps with
/// distinct string keys, finite floats, and binary data.
fn value() -> impl Strategy<Value = Msg> {
    let leaf = prop_oneof![
        Just(Msg::Nil),
        any::<bool>().prop_map(Msg::Boolean),
        any::<i64>().prop_map(Msg::from),
        any::<u64>().prop_map(Msg::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Msg::F64),
        any::<String>().prop_map(Msg::from),
        // Long enough to need the 8-, 16- and 32-bit length forms.
        (0usize..70_000).prop_map(|n| Msg::from("é".repeat(n / 2))),
        prop::collection::vec(any::<u8>(), 0..300).prop_map(Msg::Binary),
    ];
    leaf.prop_recursive(4, 64, 20, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..20).prop_map(Msg::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..20).prop_map(|entries| {
                Msg::Map(
                    entries
                        .into_iter()
                        .map(|(key, value)| (Msg::from(key), value))
                        .collect(),
                )
            }),
        ]
    })
}

fn wire(packet: &Msg) -> Vec<u8> {
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, packet).unwrap();
    out
}

fn event(nsp: &str, id: Option<u64>, name: &str, args: Vec<Msg>) -> Msg {
    let mut data = vec![Msg::from(name)];
    data.extend(args);
    let mut fields = vec![
        (Msg::from("type"), Msg::from(2)),
        (Msg::from("data"), Msg::Array(data)),
    ];
    if let Some(id) = id {
        fields.push((Msg::from("id"), Msg::from(id)));
    }
    fields.push((Msg::from("nsp"), Msg::from(nsp)));
    Msg::Map(fields)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// An event read from msgpack and written again is the same message, byte for byte:
    /// arguments through their JSON text and binary data through attachments lose nothing,
    /// and come back in the narrowest forms, as every msgpack encoder writes them.
    #[test]
    fn events_go_through_json_text_and_back_unchanged(
        args in prop::collection::vec(value(), 0..4),
        id in prop::option::of(any::<u64>()),
        nsp in prop_oneof![Just("/".to_owned()), "/[a-z]{1,8}"],
    ) {
        let message = wire(&event(&nsp, id, "e", args));
        let decoded = msgpack::decode(&message, usize::MAX).unwrap();
        let again = msgpack::encode(&decoded.packet, &decoded.attachments);
        prop_assert_eq!(again.as_ref(), &message[..]);
    }

    /// Acknowledgements too, with the JSON text of each argument the reference's value.
    #[test]
    fn acks_carry_their_arguments(args in prop::collection::vec(value(), 0..4), id in any::<u64>()) {
        let message = wire(&Msg::Map(vec![
            (Msg::from("type"), Msg::from(3)),
            (Msg::from("data"), Msg::Array(args.clone())),
            (Msg::from("id"), Msg::from(id)),
            (Msg::from("nsp"), Msg::from("/")),
        ]));
        let decoded = msgpack::decode(&message, usize::MAX).unwrap();
        let PacketData::Ack(ack) = &decoded.packet.data else {
            panic!("an ack was expected: {decoded:?}");
        };
        prop_assert_eq!(ack.id, id);
        prop_assert_eq!(ack.args.len(), args.len());
        for text in &ack.args {
            prop_assert!(serde_json::from_str::<serde_json::Value>(text).is_ok(), "{}", text);
        }
        let again = msgpack::encode(&decoded.packet, &decoded.attachments);
        prop_assert_eq!(again.as_ref(), &message[..]);
    }

    /// No message makes the decoder panic; what it accepts, it can write.
    #[test]
    fn no_bytes_make_it_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(decoded) = msgpack::decode(&bytes, DEFAULT_MAX_ATTACHMENTS) {
            let _ = msgpack::encode(&decoded.packet, &decoded.attachments);
        }
    }

    /// Nor does a cut or flipped well-formed one.
    #[test]
    fn damaged_messages_are_refused_or_read(
        args in prop::collection::vec(value(), 1..3),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut message = wire(&event("/", Some(1), "e", args));
        let at = flip.index(message.len());
        message[at] = byte;
        message.truncate(cut.index(message.len() + 1));
        let _ = msgpack::decode(&message, DEFAULT_MAX_ATTACHMENTS);
    }
}

/// JSON text made by the rest of the crate (or by a default-parser peer in a cluster) is
/// written as the reference writes the same values, object keys in the order they came.
#[test]
fn json_text_is_written_as_the_reference_writes_it() {
    let text = r#"{"z":[1,-1,-129,70000,1.5,true,null,"say \"hi\"\n"],"a":{"b":{}},"n":18446744073709551615}"#;
    let packet = parser::socketio::Packet::ack("/", 3, vec![text.into()]);
    let expected = Msg::Map(vec![
        (Msg::from("type"), Msg::from(3)),
        (
            Msg::from("data"),
            Msg::Array(vec![Msg::Map(vec![
                (
                    Msg::from("z"),
                    Msg::Array(vec![
                        Msg::from(1),
                        Msg::from(-1),
                        Msg::from(-129),
                        Msg::from(70000),
                        Msg::F64(1.5),
                        Msg::from(true),
                        Msg::Nil,
                        Msg::from("say \"hi\"\n"),
                    ]),
                ),
                (
                    Msg::from("a"),
                    Msg::Map(vec![(Msg::from("b"), Msg::Map(vec![]))]),
                ),
                (Msg::from("n"), Msg::from(u64::MAX)),
            ])]),
        ),
        (Msg::from("id"), Msg::from(3)),
        (Msg::from("nsp"), Msg::from("/")),
    ]);
    assert_eq!(msgpack::encode(&packet, &[]).as_ref(), &wire(&expected)[..]);
}

/// A placeholder becomes the binary data it stands for; one that points past the attachments,
/// or has other keys beside it, stays an object.
#[test]
fn placeholders_become_binary_data() {
    let args = vec![
        r#"[{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]"#.into(),
        r#"{"_placeholder":true,"num":2}"#.into(),
        r#"{"_placeholder":true,"num":0,"x":1}"#.into(),
    ];
    let mut packet = parser::socketio::Packet::event("/", "up", args);
    packet.data.set_attachments(2);
    let attachments = [Bytes::from_static(b"zero"), Bytes::from_static(b"one")];
    let object = |fields: Vec<(&str, Msg)>| {
        Msg::Map(
            fields
                .into_iter()
                .map(|(key, value)| (Msg::from(key), value))
                .collect(),
        )
    };
    let expected = event(
        "/",
        None,
        "up",
        vec![
            Msg::Array(vec![
                Msg::Binary(b"one".to_vec()),
                Msg::Binary(b"zero".to_vec()),
            ]),
            object(vec![
                ("_placeholder", Msg::from(true)),
                ("num", Msg::from(2)),
            ]),
            object(vec![
                ("_placeholder", Msg::from(true)),
                ("num", Msg::from(0)),
                ("x", Msg::from(1)),
            ]),
        ],
    );
    assert_eq!(
        msgpack::encode(&packet, &attachments).as_ref(),
        &wire(&expected)[..]
    );
}
