//! Property tests for binary attachments in typed arguments: buffers become placeholders in
//! depth-first order and come back, values without buffers are written exactly as serde_json
//! writes them, and no input makes decoding panic.

use bytes::Bytes;
use parser::socketio::{
    from_json_with_attachments, to_json_with_attachments, Decoder, Packet, PacketData,
};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Node {
    name: String,
    n: i64,
    data: Bytes,
    maybe: Option<Bytes>,
    list: Vec<Bytes>,
    kind: Kind,
    children: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Kind {
    Empty,
    Blob(Bytes),
    Pair(Bytes, u8),
    Named { label: String, b: Option<Bytes> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Plain {
    s: String,
    i: i64,
    u: u64,
    f: f64,
    o: Option<String>,
    v: Vec<i32>,
    m: BTreeMap<String, bool>,
    e: PlainEnum,
    t: (u8, char),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum PlainEnum {
    A,
    B(i8),
    C { x: Vec<String> },
}

fn bytes() -> impl Strategy<Value = Bytes> {
    prop::collection::vec(any::<u8>(), 0..6).prop_map(Bytes::from)
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Empty),
        bytes().prop_map(Kind::Blob),
        (bytes(), any::<u8>()).prop_map(|(b, n)| Kind::Pair(b, n)),
        (any::<String>(), prop::option::of(bytes()))
            .prop_map(|(label, b)| Kind::Named { label, b }),
    ]
}

type Fields = (String, i64, Bytes, Option<Bytes>, Vec<Bytes>, Kind);

fn fields() -> impl Strategy<Value = Fields> {
    (
        any::<String>(),
        any::<i64>(),
        bytes(),
        prop::option::of(bytes()),
        prop::collection::vec(bytes(), 0..3),
        kind(),
    )
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = fields().prop_map(|(name, n, data, maybe, list, kind)| Node {
        name,
        n,
        data,
        maybe,
        list,
        kind,
        children: Vec::new(),
    });
    leaf.prop_recursive(3, 12, 3, |inner| {
        (fields(), prop::collection::vec(inner, 0..3)).prop_map(
            |((name, n, data, maybe, list, kind), children)| Node {
                name,
                n,
                data,
                maybe,
                list,
                kind,
                children,
            },
        )
    })
}

fn plain() -> impl Strategy<Value = Plain> {
    let e = prop_oneof![
        Just(PlainEnum::A),
        any::<i8>().prop_map(PlainEnum::B),
        prop::collection::vec(any::<String>(), 0..3).prop_map(|x| PlainEnum::C { x }),
    ];
    (
        (any::<String>(), any::<i64>(), any::<u64>(), any::<f64>()),
        (
            prop::option::of(any::<String>()),
            prop::collection::vec(any::<i32>(), 0..4),
            prop::collection::btree_map(any::<String>(), any::<bool>(), 0..3),
            e,
            (any::<u8>(), any::<char>()),
        ),
    )
        .prop_map(|((s, i, u, f), (o, v, m, e, t))| Plain {
            s,
            i,
            u,
            f,
            o,
            v,
            m,
            e,
            t,
        })
}

/// Arbitrary JSON, with objects that look more or less like placeholders mixed in.
fn json() -> impl Strategy<Value = Value> {
    let num = prop_oneof![
        (0i64..4).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        Just(Value::from("0")),
        Just(Value::Null),
    ];
    let flag = prop_oneof![
        4 => Just(Value::Bool(true)),
        1 => Just(Value::Bool(false)),
        1 => Just(Value::from(1)),
    ];
    let placeholder = (prop::option::of(flag), prop::option::of(num)).prop_map(|(flag, num)| {
        let mut map = serde_json::Map::new();
        if let Some(flag) = flag {
            map.insert("_placeholder".into(), flag);
        }
        if let Some(num) = num {
            map.insert("num".into(), num);
        }
        Value::Object(map)
    });
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        placeholder,
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        let key = prop_oneof![
            any::<String>(),
            Just("name".to_owned()),
            Just("data".to_owned()),
            Just("list".to_owned()),
            Just("kind".to_owned()),
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The buffers of a node in the order its fields are written.
fn buffers(node: &Node, out: &mut Vec<Bytes>) {
    out.push(node.data.clone());
    out.extend(node.maybe.clone());
    out.extend(node.list.iter().cloned());
    match &node.kind {
        Kind::Empty => {}
        Kind::Blob(b) | Kind::Pair(b, _) => out.push(b.clone()),
        Kind::Named { b, .. } => out.extend(b.clone()),
    }
    for child in &node.children {
        buffers(child, out);
    }
}

const PLACEHOLDER: &str = r#"{"_placeholder":true,"num":"#;

/// `json` with every placeholder replaced by serde_json's own text for the buffer it names,
/// checking on the way that the nums run 0, 1, 2... A string cannot hold the placeholder's text,
/// its quotes would be escaped, so a plain text search finds exactly the placeholders.
fn substitute(json: &str, attachments: &[Bytes]) -> String {
    let mut out = String::new();
    let mut rest = json;
    let mut expected = 0;
    while let Some(at) = rest.find(PLACEHOLDER) {
        out.push_str(&rest[..at]);
        rest = &rest[at + PLACEHOLDER.len()..];
        let end = rest.find('}').unwrap();
        let num: usize = rest[..end].parse().unwrap();
        assert_eq!(num, expected, "placeholders out of order in {json}");
        expected += 1;
        out.push_str(&serde_json::to_string(&attachments[num]).unwrap());
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    assert_eq!(
        expected,
        attachments.len(),
        "attachments without placeholders"
    );
    out
}

proptest! {
    #[test]
    fn nodes_round_trip_with_buffers_in_depth_first_order(node in node()) {
        let mut attachments = Vec::new();
        let json = to_json_with_attachments(&node, &mut attachments).unwrap();

        let mut expected = Vec::new();
        buffers(&node, &mut expected);
        prop_assert_eq!(&attachments, &expected);
        // Apart from the placeholders, the text is serde_json's.
        prop_assert_eq!(substitute(&json, &attachments), serde_json::to_string(&node).unwrap());

        let back: Node = from_json_with_attachments(&json, &attachments).unwrap();
        prop_assert_eq!(&back, &node);
        // A target that does not ask for bytes sees placeholders as objects.
        let value: Value = from_json_with_attachments(&json, &attachments).unwrap();
        prop_assert_eq!(value, serde_json::from_str::<Value>(&json).unwrap());
    }

    #[test]
    fn arguments_share_one_numbering(nodes in prop::collection::vec(node(), 0..4)) {
        let mut attachments = Vec::new();
        let args: Vec<String> = nodes
            .iter()
            .map(|n| to_json_with_attachments(n, &mut attachments).unwrap())
            .collect();
        let whole = to_json_with_attachments(&nodes, &mut Vec::new()).unwrap();
        prop_assert_eq!(format!("[{}]", args.join(",")), whole);
        for (arg, node) in args.iter().zip(&nodes) {
            let back: Node = from_json_with_attachments(arg, &attachments).unwrap();
            prop_assert_eq!(&back, node);
        }
    }

    #[test]
    fn values_without_buffers_are_written_as_serde_json_writes_them(value in json()) {
        let mut attachments = Vec::new();
        let ours = to_json_with_attachments(&value, &mut attachments).unwrap();
        prop_assert_eq!(&ours, &serde_json::to_string(&value).unwrap());
        prop_assert!(attachments.is_empty());
        // Not `value` itself: without serde_json's `float_roundtrip`, parsing may move a float
        // by an ulp, whoever parses.
        let back: Value = from_json_with_attachments(&ours, &[]).unwrap();
        prop_assert_eq!(back, serde_json::from_str::<Value>(&ours).unwrap());
    }

    #[test]
    fn structs_without_buffers_are_written_as_serde_json_writes_them(plain in plain()) {
        let mut attachments = Vec::new();
        let ours = to_json_with_attachments(&plain, &mut attachments).unwrap();
        prop_assert_eq!(&ours, &serde_json::to_string(&plain).unwrap());
        prop_assert!(attachments.is_empty());
        let back: Plain = from_json_with_attachments(&ours, &[]).unwrap();
        prop_assert_eq!(back, serde_json::from_str::<Plain>(&ours).unwrap());
    }

    #[test]
    fn a_placeholder_resolves_only_in_range(num in prop_oneof![-3i64..6, any::<i64>()], count in 0usize..4) {
        let attachments: Vec<Bytes> = (0..count).map(|i| Bytes::from(vec![i as u8])).collect();
        let json = format!(r#"{{"_placeholder":true,"num":{num}}}"#);
        let got = from_json_with_attachments::<Bytes>(&json, &attachments);
        match usize::try_from(num).ok().filter(|&i| i < count) {
            Some(i) => prop_assert_eq!(got.unwrap(), attachments[i].clone()),
            None => prop_assert!(got.is_err()),
        }
    }

    #[test]
    fn arbitrary_text_never_panics(
        text in any::<String>(),
        attachments in prop::collection::vec(bytes(), 0..3),
    ) {
        let _ = from_json_with_attachments::<Node>(&text, &attachments);
        let _ = from_json_with_attachments::<Value>(&text, &attachments);
        let _ = from_json_with_attachments::<(String, Bytes)>(&text, &attachments);
    }

    #[test]
    fn arbitrary_json_never_panics(
        value in json(),
        attachments in prop::collection::vec(bytes(), 0..4),
    ) {
        let text = value.to_string();
        let _ = from_json_with_attachments::<Node>(&text, &attachments);
        let _ = from_json_with_attachments::<Vec<Option<Bytes>>>(&text, &attachments);
        let _ = from_json_with_attachments::<BTreeMap<String, Bytes>>(&text, &attachments);
        let _ = from_json_with_attachments::<Kind>(&text, &attachments);
        let got: Value = from_json_with_attachments(&text, &attachments).unwrap();
        prop_assert_eq!(got, serde_json::from_str::<Value>(&text).unwrap());
    }
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Upload {
    name: String,
    data: Bytes,
}

/// Node's socket.io-parser writes `socket.emit("upload", {name, data: buf0}, buf1)` so.
const NODE_FRAME: &str = r#"52-["upload",{"name":"a.png","data":{"_placeholder":true,"num":0}},{"_placeholder":true,"num":1}]"#;

#[test]
fn a_binary_event_from_node_decodes_into_typed_arguments() {
    let mut decoder = Decoder::default();
    assert!(decoder.decode_text(NODE_FRAME.into()).unwrap().is_none());
    assert!(decoder
        .decode_binary(Bytes::from_static(b"\x89PNG"))
        .unwrap()
        .is_none());
    let decoded = decoder
        .decode_binary(Bytes::from_static(b"raw"))
        .unwrap()
        .unwrap();
    let PacketData::Event(event) = &decoded.packet.data else {
        panic!("not an event: {decoded:?}");
    };
    assert_eq!(event.name, "upload");
    let upload: Upload = from_json_with_attachments(&event.args[0], &decoded.attachments).unwrap();
    let raw: Bytes = from_json_with_attachments(&event.args[1], &decoded.attachments).unwrap();
    assert_eq!(
        upload,
        Upload {
            name: "a.png".into(),
            data: Bytes::from_static(b"\x89PNG"),
        }
    );
    assert_eq!(raw, Bytes::from_static(b"raw"));

    // The whole array at once, as a handler taking `(String, Upload, Bytes)` would.
    let whole = &NODE_FRAME[3..];
    let (name, upload, raw): (String, Upload, Bytes) =
        from_json_with_attachments(whole, &decoded.attachments).unwrap();
    assert_eq!((name.as_str(), upload.name.as_str()), ("upload", "a.png"));
    assert_eq!(raw, decoded.attachments[1]);
}

#[test]
fn typed_arguments_encode_as_node_writes_them() {
    let mut attachments = Vec::new();
    let upload = Upload {
        name: "a.png".into(),
        data: Bytes::from_static(b"\x89PNG"),
    };
    let args = vec![
        to_json_with_attachments(&upload, &mut attachments)
            .unwrap()
            .into(),
        to_json_with_attachments(&Bytes::from_static(b"raw"), &mut attachments)
            .unwrap()
            .into(),
    ];
    let mut packet = Packet::event("/", "upload", args);
    if let PacketData::Event(event) = &mut packet.data {
        event.attachments = Some(attachments.len());
    }
    assert_eq!(packet.encode(), NODE_FRAME);
}
