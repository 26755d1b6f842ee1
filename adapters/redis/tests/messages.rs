//! What other servers publish that is not a message this adapter knows, and the older forms of
//! Node's requests: a server of ours beside a stand-in for another server that speaks to Redis
//! directly. Whatever is not understood is ignored; the server goes on serving.

mod common;
use common::*;
use rmpv::Value as Mp;
use serde_json::{json, Value};
use std::time::Duration;

const BROADCASTS: &str = "socket.io#/#";
const REQUESTS: &str = "socket.io-request#/#";
const RESPONSES: &str = "socket.io-response#/#";

fn msgpack(value: &Mp) -> Vec<u8> {
    let mut bytes = Vec::new();
    rmpv::encode::write_value(&mut bytes, value).expect("into a Vec");
    bytes
}

/// A broadcast of `event` to everyone, as Node's adapter publishes it.
fn node_broadcast(event: &str) -> Vec<u8> {
    msgpack(&Mp::Array(vec![
        Mp::from("strngr"),
        Mp::Map(vec![
            (Mp::from("type"), Mp::from(2)),
            (Mp::from("data"), Mp::Array(vec![Mp::from(event)])),
            (Mp::from("nsp"), Mp::from("/")),
        ]),
        Mp::Map(vec![
            (Mp::from("rooms"), Mp::Array(vec![])),
            (Mp::from("except"), Mp::Array(vec![])),
            (Mp::from("flags"), Mp::Map(vec![])),
        ]),
    ]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_not_a_message_is_ignored_and_the_older_requests_are_answered() {
    let redis = Redis::start();
    let (a, addr) = server(&redis).await;
    let mut stranger = Stranger::join(&redis, &[RESPONSES]).await;
    cluster_of(1, &[&a]).await;
    let mut client = Client::connect(addr).await;
    let nested = [vec![0x91; 100_000], vec![0xc0]].concat();
    let garbage: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"{".to_vec(),
        b"{}".to_vec(),
        b"null".to_vec(),
        json!({"type": 42, "requestId": "x"})
            .to_string()
            .into_bytes(),
        json!({"type": "5", "requestId": "x", "opts": {}})
            .to_string()
            .into_bytes(),
        json!({"type": 6, "data": "not a list"})
            .to_string()
            .into_bytes(),
        json!({"type": 6, "data": [1, "not an event name"]})
            .to_string()
            .into_bytes(),
        json!({"type": 7, "requestId": "x", "packet": 1, "opts": {}})
            .to_string()
            .into_bytes(),
        json!({"type": 9, "requestId": "x", "packet": 1})
            .to_string()
            .into_bytes(),
        vec![0xc1],
        vec![0xdd, 0xff, 0xff, 0xff, 0xff],
        nested,
        msgpack(&Mp::Array(vec![Mp::from(1), Mp::from(2), Mp::from(3)])),
        msgpack(&Mp::Array(vec![Mp::Nil, Mp::Nil, Mp::Nil])),
    ];
    for payload in &garbage {
        for channel in [BROADCASTS, REQUESTS, RESPONSES] {
            stranger.publish(channel, payload.clone()).await;
        }
    }
    // The older form of a disconnect names one socket, and there is none such: nothing
    // happens (it is not a disconnect of everyone, which `opts` left out would say).
    let request = json!({"uid": "strngr", "requestId": "r0", "type": 4, "sid": "nobody",
        "close": true});
    stranger
        .publish(REQUESTS, request.to_string().into_bytes())
        .await;
    // The older form of a join: that socket joins, and the answer says it is done.
    let request = json!({"uid": "strngr", "requestId": "r1", "type": 2, "sid": client.id,
        "room": "legacy"});
    stranger
        .publish(REQUESTS, request.to_string().into_bytes())
        .await;
    // The stranger hears its own garbage on the response channel first, then our answer;
    // none to r0, which would have come before r1's.
    loop {
        let payload = stranger.next().await;
        let Ok(answer) = serde_json::from_slice::<Value>(&payload) else {
            continue;
        };
        assert_ne!(answer["requestId"], "r0", "an answer for no socket");
        if answer["requestId"] == "r1" {
            assert_eq!(answer, json!({"requestId": "r1"}));
            break;
        }
    }
    let socket = a.of("/").get_socket(&client.id).expect("still connected");
    assert!(socket.rooms().iter().any(|r| r.as_str() == "legacy"));

    // The server still hears broadcasts, and its client is still there to get them.
    stranger.publish(BROADCASTS, node_broadcast("after")).await;
    assert_eq!(client.next_event().await.0, json!(["after"]));
    client.assert_no_event(Duration::from_millis(100)).await;
    assert!(socket.connected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_claims_every_client_there_is_ends_in_a_timeout_not_a_crash() {
    let redis = Redis::start();
    let (a, addr) = server(&redis).await;
    // The stranger listens where broadcasts with acks are asked: it counts as a server.
    let mut stranger = Stranger::join(&redis, &[REQUESTS]).await;
    cluster_of(2, &[&a]).await;
    // A client of ours that never answers: the local count is 1, the remote u64::MAX.
    let mut client = Client::connect(addr).await;
    let asking = tokio::spawn({
        let a = a.clone();
        async move {
            a.timeout(Duration::from_millis(500))
                .emit_with_ack::<_, Value>("question", &json!(1))
                .await
        }
    });
    let request_id = loop {
        let request: Value = rmp_serde::from_slice(&stranger.next().await).unwrap_or(Value::Null);
        if request["type"] == 7 {
            break request["requestId"].clone();
        }
    };
    let claim = json!({"type": 8, "requestId": request_id, "clientCount": u64::MAX});
    stranger
        .publish(RESPONSES, claim.to_string().into_bytes())
        .await;
    let result = asking.await.expect("the asking task does not panic");
    match result {
        Err(socketio::BroadcastAckError::Timeout { received, expected }) => {
            assert!(received.is_empty());
            assert_eq!(expected, Some(usize::MAX));
        }
        other => panic!("a timeout, not {other:?}"),
    }
    // The server goes on: its client still gets broadcasts.
    a.emit("after", &json!(2)).expect("emit");
    let question = client.next_text().await;
    assert!(
        question.starts_with("42") && question.ends_with(r#"["question",1]"#),
        "{question}"
    );
    assert_eq!(client.next_event().await.0, json!(["after", 2]));
}
