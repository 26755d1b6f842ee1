//! How sockets are described between servers in `fetchSockets` answers, seen on the wire: a
//! server of ours beside a stand-in for another server that speaks to Redis directly. Node
//! never leaves a socket's `data` or a handshake field null (`socket.data` is `{}` until set),
//! and Node code reads them without a check; Node reads answers in JSON and in msgpack.

mod common;
use common::*;
use rmpv::Value as Mp;
use serde_json::{json, Value};

const REQUESTS: &str = "socket.io-request#/#";
const RESPONSES: &str = "socket.io-response#/#";

/// Node's handshake fields, and the type Node gives each.
/// Whether a value is of the type Node gives a field.
type OfItsType = fn(&Value) -> bool;

const NODE_FIELDS: [(&str, OfItsType); 9] = [
    ("headers", Value::is_object),
    ("time", Value::is_string),
    ("address", Value::is_string),
    ("xdomain", Value::is_boolean),
    ("secure", Value::is_boolean),
    ("issued", Value::is_u64),
    ("url", Value::is_string),
    ("query", Value::is_object),
    ("auth", Value::is_object),
];

/// Asks the cluster for its sockets as Node's adapter does; the answers in JSON.
async fn fetch(stranger: &mut Stranger, request_id: &str) -> Value {
    let request = json!({"uid": "strngr", "requestId": request_id, "type": 5,
        "opts": {"rooms": [], "except": []}});
    stranger
        .publish(REQUESTS, request.to_string().into_bytes())
        .await;
    loop {
        let payload = stranger.next().await;
        assert_eq!(payload.first(), Some(&b'{'), "a JSON answer, as Node's");
        let answer: Value = serde_json::from_slice(&payload).expect("json");
        if answer["requestId"] == request_id {
            return answer;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_sockets_are_described_with_node_defaults_and_their_data() {
    let redis = Redis::start();
    let (a, addr) = server(&redis).await;
    cluster_of(1, &[&a]).await;
    let mut stranger = Stranger::join(&redis, &[RESPONSES]).await;
    let client = Client::connect(addr).await;

    let answer = fetch(&mut stranger, "no-data").await;
    let described = &answer["sockets"][0];
    assert_eq!(described["id"], client.id.as_str());
    assert_eq!(described["rooms"], json!([client.id]));
    // Never set: Node's default `socket.data`, not null.
    assert_eq!(described["data"], json!({}), "{described}");
    for (field, of_its_type) in NODE_FIELDS {
        let value = &described["handshake"][field];
        assert!(of_its_type(value), "handshake.{field} is {value}");
    }
    assert_eq!(described["handshake"]["auth"], json!({}));
    assert_eq!(described["handshake"]["query"]["EIO"], "4");

    let socket = a.of("/").get_socket(&client.id).expect("a's socket");
    socket.set_data(json!({"user": "ann", "n": 1}));
    let answer = fetch(&mut stranger, "with-data").await;
    assert_eq!(answer["sockets"][0]["data"], json!({"user": "ann", "n": 1}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_servers_descriptions_read_in_json_and_msgpack_with_node_defaults() {
    let redis = Redis::start();
    let (a, _) = server(&redis).await;
    // Counted as a server: a's requests wait for its answer.
    let mut stranger = Stranger::join(&redis, &[REQUESTS]).await;
    cluster_of(2, &[&a]).await;

    let answered = tokio::spawn(async move {
        let mut answers = 0;
        while answers < 2 {
            let payload = stranger.next().await;
            let Ok(request) = serde_json::from_slice::<Value>(&payload) else {
                continue;
            };
            let Some(id) = request["requestId"].as_str().map(str::to_owned) else {
                continue;
            };
            let answer = if answers == 0 {
                // msgpack, with binary in the data; the handshake's auth left null.
                let socket = Mp::Map(vec![
                    (Mp::from("id"), Mp::from("in-msgpack")),
                    (Mp::from("rooms"), Mp::Array(vec![Mp::from("in-msgpack")])),
                    (
                        Mp::from("handshake"),
                        Mp::Map(vec![
                            (Mp::from("auth"), Mp::Nil),
                            (Mp::from("url"), Mp::from("/socket.io/?EIO=4&k=v")),
                        ]),
                    ),
                    (
                        Mp::from("data"),
                        Mp::Map(vec![
                            (Mp::from("user"), Mp::from("bo")),
                            (Mp::from("file"), Mp::Binary(vec![1, 2])),
                        ]),
                    ),
                ]);
                let answer = Mp::Map(vec![
                    (Mp::from("requestId"), Mp::from(id.as_str())),
                    (Mp::from("sockets"), Mp::Array(vec![socket])),
                ]);
                let mut bytes = Vec::new();
                rmpv::encode::write_value(&mut bytes, &answer).expect("encode");
                bytes
            } else {
                // JSON, with no data (Node's `undefined`) and no handshake; and entries
                // without an id, which describe no socket.
                json!({"requestId": id, "sockets": [{"id": "in-json", "rooms": ["in-json"]},
                    {"rooms": ["x"]}, 7, null]})
                .to_string()
                .into_bytes()
            };
            stranger.publish(RESPONSES, answer).await;
            answers += 1;
        }
    });

    let found = a.of("/").fetch_sockets().await.expect("fetch (msgpack)");
    assert_eq!(found.len(), 1, "{found:?}");
    let socket = &found[0];
    assert_eq!(socket.id.as_str(), "in-msgpack");
    assert_eq!(
        socket.data,
        json!({"user": "bo", "file": {"type": "Buffer", "data": [1, 2]}})
    );
    assert_eq!(socket.handshake.auth, json!({}));
    assert_eq!(socket.handshake.query("k").as_deref(), Some("v"));

    let found = a.of("/").fetch_sockets().await.expect("fetch (json)");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].id.as_str(), "in-json");
    assert_eq!(found[0].data, json!({}));
    assert_eq!(found[0].handshake.auth, json!({}));
    answered.await.expect("the stranger answered");
}
