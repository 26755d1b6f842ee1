//! Property tests: every packet survives a round trip, and no input makes a decoder panic.

use bytes::Bytes;
use parser::engineio::{decode_payload, encode_payload, Frame, Packet};
use parser::Str;
use proptest::prelude::*;

fn any_packet() -> impl Strategy<Value = Packet> {
    let text = || any::<String>().prop_map(Str::from);
    prop_oneof![
        text().prop_map(Packet::Open),
        Just(Packet::Close),
        text().prop_map(Packet::Ping),
        text().prop_map(Packet::Pong),
        text().prop_map(Packet::Message),
        any::<Vec<u8>>().prop_map(|b| Packet::Binary(b.into())),
        Just(Packet::Upgrade),
        Just(Packet::Noop),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn frame_round_trip(packet in any_packet()) {
        prop_assert_eq!(Packet::decode(packet.encode()), Ok(packet));
    }

    #[test]
    fn payload_round_trip(packets in prop::collection::vec(any_packet(), 1..8)) {
        // The separator cannot appear inside a text packet of a payload: the client never sends
        // one there, and it would split the packet.
        let packets: Vec<Packet> = packets
            .into_iter()
            .map(|p| match p {
                Packet::Message(s) => Packet::message(s.replace('\x1e', "")),
                Packet::Open(s) => Packet::Open(s.replace('\x1e', "").into()),
                Packet::Ping(s) => Packet::Ping(s.replace('\x1e', "").into()),
                Packet::Pong(s) => Packet::Pong(s.replace('\x1e', "").into()),
                other => other,
            })
            .collect();
        let frames: Vec<Frame> = packets.iter().map(Packet::encode).collect();
        let body = encode_payload(&frames);
        let back: Result<Vec<Packet>, _> = decode_payload(Bytes::from(body)).collect();
        prop_assert_eq!(back, Ok(packets));
    }

    #[test]
    fn arbitrary_bytes_never_panic(body in any::<Vec<u8>>()) {
        let n = decode_payload(body.clone()).take(10_000).count();
        prop_assert!(n >= 1);
        let _ = Packet::decode(Frame::Binary(body.clone().into()));
        if let Ok(s) = Str::from_utf8(body.into()) {
            let _ = Packet::decode_text(s);
        }
    }

    #[test]
    fn arbitrary_payload_like_text_never_panics(body in "[0-9b\\x1eA-Za-z+/=é]{0,64}") {
        for item in decode_payload(body) {
            let _ = item;
        }
    }
}
