//! Micro-benchmarks of the engine.io and socket.io codecs.
//!
//! ```sh
//! cargo bench -p socketio-parser --bench codec
//! cargo bench -p socketio-parser --bench codec -- socketio/decode   # a filter
//! ```
//!
//! Inputs are built once, outside the measured closure; what is measured is one encode or decode
//! as a server performs it. Cloning a `Str` or `Bytes` input is a reference-count increment, so
//! the decode benches pass owned inputs by cloning inside the loop.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use parser::engineio::{self, decode_payload, encode_payload, Frame};
use parser::socketio::{
    self, from_json_with_attachments, to_json_with_attachments, Decoder, PacketData,
};
use parser::Str;
use serde::{Deserialize, Serialize};
use std::hint::black_box;

/// The event argument used throughout: `socket.emit("chat", {room, text, n})`.
const CHAT_ARG: &str = r#"{"room":"general","text":"hello world","n":42}"#;
/// The socket.io text of that event, on the default namespace.
const CHAT_EVENT: &str = r#"2["chat",{"room":"general","text":"hello world","n":42}]"#;
/// The same event as an engine.io message frame.
const CHAT_MESSAGE: &str = r#"42["chat",{"room":"general","text":"hello world","n":42}]"#;
/// A BINARY_EVENT header announcing one attachment, as Node's client writes it.
const UPLOAD_EVENT: &str =
    r#"51-["upload",{"room":"general","name":"a.bin","data":{"_placeholder":true,"num":0}}]"#;
const ATTACHMENT_LEN: usize = 1024;

/// A payload struct holding a buffer, for the serde adapter.
#[derive(Debug, Serialize, Deserialize)]
struct Upload {
    room: String,
    name: String,
    data: Bytes,
}

fn attachment() -> Bytes {
    (0..ATTACHMENT_LEN)
        .map(|i| i as u8)
        .collect::<Vec<u8>>()
        .into()
}

fn upload() -> Upload {
    Upload {
        room: "general".into(),
        name: "a.bin".into(),
        data: attachment(),
    }
}

fn engineio(c: &mut Criterion) {
    let mut g = c.benchmark_group("engineio");

    let packet = engineio::Packet::message(&CHAT_MESSAGE[1..]);
    g.throughput(Throughput::Bytes(CHAT_MESSAGE.len() as u64));
    g.bench_function("encode_message", |b| b.iter(|| black_box(&packet).encode()));

    let frame = Str::from_static(CHAT_MESSAGE);
    g.bench_function("decode_message", |b| {
        b.iter(|| engineio::Packet::decode(Frame::Text(black_box(&frame).clone())))
    });

    // Ten text messages, as a polling GET drains them.
    let text_frames: Vec<Frame> = (0..10)
        .map(|_| engineio::Packet::message(&CHAT_MESSAGE[1..]).encode())
        .collect();
    let text_body = Bytes::from(encode_payload(&text_frames));
    g.throughput(Throughput::Bytes(text_body.len() as u64));
    g.bench_function("encode_payload_10_text", |b| {
        b.iter(|| encode_payload(black_box(&text_frames)))
    });
    g.bench_function("decode_payload_10_text", |b| {
        b.iter(|| {
            decode_payload(black_box(&text_body).clone())
                .collect::<Result<Vec<_>, _>>()
                .unwrap()
        })
    });

    // Ten packets, five binary events each followed by its 1 KiB attachment: the attachments
    // travel as `b` + base64.
    let data = attachment();
    let binary_frames: Vec<Frame> = (0..5)
        .flat_map(|_| {
            [
                engineio::Packet::message(UPLOAD_EVENT).encode(),
                engineio::Packet::Binary(data.clone()).encode(),
            ]
        })
        .collect();
    let binary_body = Bytes::from(encode_payload(&binary_frames));
    g.throughput(Throughput::Bytes(binary_body.len() as u64));
    g.bench_function("encode_payload_10_binary", |b| {
        b.iter(|| encode_payload(black_box(&binary_frames)))
    });
    g.bench_function("decode_payload_10_binary", |b| {
        b.iter(|| {
            decode_payload(black_box(&binary_body).clone())
                .collect::<Result<Vec<_>, _>>()
                .unwrap()
        })
    });

    g.finish();
}

fn socketio(c: &mut Criterion) {
    let mut g = c.benchmark_group("socketio");

    let event = socketio::Packet::event("/", "chat", vec![Str::from_static(CHAT_ARG)]);
    g.throughput(Throughput::Bytes(CHAT_EVENT.len() as u64));
    g.bench_function("encode_event", |b| b.iter(|| black_box(&event).encode()));

    let mut with_ack = event.clone();
    if let PacketData::Event(e) = &mut with_ack.data {
        e.id = Some(12345);
    }
    g.throughput(Throughput::Bytes(with_ack.encode().len() as u64));
    g.bench_function("encode_event_ack", |b| {
        b.iter(|| black_box(&with_ack).encode())
    });

    let text = Str::from_static(CHAT_EVENT);
    g.throughput(Throughput::Bytes(CHAT_EVENT.len() as u64));
    g.bench_function("decode_event", |b| {
        let mut decoder = Decoder::default();
        b.iter(|| {
            decoder
                .decode_text(black_box(&text).clone())
                .unwrap()
                .unwrap()
        })
    });

    // A BINARY_EVENT whose argument holds a 1 KiB buffer.
    let data = attachment();
    // Text and attachment together, for the benches that handle both.
    let binary_len = (UPLOAD_EVENT.len() + ATTACHMENT_LEN) as u64;

    // The packet text alone, the argument already serialized.
    let mut attachments = Vec::new();
    let arg = to_json_with_attachments(&upload(), &mut attachments).unwrap();
    let mut binary = socketio::Packet::event("/", "upload", vec![arg.into()]);
    if let PacketData::Event(e) = &mut binary.data {
        e.attachments = Some(attachments.len());
    }
    assert_eq!(binary.encode(), UPLOAD_EVENT);
    g.throughput(Throughput::Bytes(UPLOAD_EVENT.len() as u64));
    g.bench_function("encode_binary_event_1k", |b| {
        b.iter(|| black_box(&binary).encode())
    });

    // What an emit does: serialize the typed argument, then encode the packet.
    let value = upload();
    g.throughput(Throughput::Bytes(binary_len));
    g.bench_function("emit_binary_event_1k", |b| {
        b.iter(|| {
            let mut attachments = Vec::new();
            let arg = to_json_with_attachments(black_box(&value), &mut attachments).unwrap();
            let mut packet = socketio::Packet::event("/", "upload", vec![arg.into()]);
            if let PacketData::Event(e) = &mut packet.data {
                e.attachments = Some(attachments.len());
            }
            (packet.encode(), attachments)
        })
    });

    let header = Str::from_static(UPLOAD_EVENT);
    g.bench_function("decode_binary_event_1k", |b| {
        let mut decoder = Decoder::default();
        b.iter(|| {
            assert!(decoder
                .decode_text(black_box(&header).clone())
                .unwrap()
                .is_none());
            decoder
                .decode_binary(black_box(&data).clone())
                .unwrap()
                .unwrap()
        })
    });

    // The serde adapter on its own, both directions.
    let mut attachments = Vec::new();
    let json = to_json_with_attachments(&value, &mut attachments).unwrap();
    g.throughput(Throughput::Bytes((json.len() + ATTACHMENT_LEN) as u64));
    g.bench_function("to_json_with_attachments_1k", |b| {
        b.iter(|| {
            let mut attachments = Vec::with_capacity(1);
            let json = to_json_with_attachments(black_box(&value), &mut attachments).unwrap();
            (json, attachments)
        })
    });
    g.bench_function("from_json_with_attachments_1k", |b| {
        b.iter(|| {
            from_json_with_attachments::<Upload>(black_box(&json), black_box(&attachments)).unwrap()
        })
    });

    g.finish();
}

criterion_group!(benches, engineio, socketio);
criterion_main!(benches);
