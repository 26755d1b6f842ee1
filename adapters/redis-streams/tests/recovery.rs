//! Connection state recovery through Redis: a client that drops comes back to another server
//! of the cluster with its id, rooms, data and exactly what it missed, in order, before the
//! CONNECT reply; its session outlives the server it was on; anything else gives a fresh
//! session, promptly, and never a panic.

mod common;
use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const KEEP: Duration = Duration::from_secs(30);

/// A client of `addr` that has one offset: it got a broadcast, then dropped, and its session
/// is in Redis. Returns its id, pid and offset.
async fn departed(
    redis: &Redis,
    io: &socketio::SocketIo,
    addr: std::net::SocketAddr,
) -> (String, String, String) {
    let mut client = Client::connect(addr).await;
    let pid = client.pid.clone().expect("a pid: recovery is on");
    let socket = io.of("/").get_socket(&client.id).expect("the socket");
    socket.join("room1");
    socket.set_data(json!({"name": "alice"}));
    io.of("/")
        .to(client.id.as_str())
        .emit("init", &())
        .expect("emit");
    let (init, _) = client.next_event().await;
    let offset = offset_of(&init);
    assert!(
        offset.split_once('-').is_some_and(|(ms, seq)| {
            ms.bytes().all(|b| b.is_ascii_digit()) && seq.bytes().all(|b| b.is_ascii_digit())
        }),
        "a stream entry id: {offset}"
    );
    let id = client.id.clone();
    client.drop_connection();
    session_stored(redis, &pid).await;
    (id, pid, offset)
}

/// The witness's next event but the volatile one, which must have no offset.
async fn but_volatile(witness: &mut Client) -> (Value, Vec<Vec<u8>>) {
    loop {
        let event = witness.next_event().await;
        if event.0 == json!(["m", 4]) {
            continue;
        }
        assert_ne!(
            event.0[1], 4,
            "a volatile broadcast has no offset: {event:?}"
        );
        return event;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_recovers_on_another_server_with_exactly_what_it_missed() {
    let redis = Redis::start();
    let (a, addr_a) = recovering_server(&redis, KEEP).await;
    let (b, addr_b) = recovering_server(&redis, KEEP).await;
    cluster_of(2, &[&a, &b]).await;
    // A witness on b, in room1 too, sees every broadcast that reaches room1 as b reads it.
    let mut witness = Client::connect(addr_b).await;
    b.of("/")
        .get_socket(&witness.id)
        .expect("the witness")
        .join("room1");

    let (id, pid, offset) = departed(&redis, &a, addr_a).await;

    // While it is away, from both servers: to all, to its room, to another room, volatile,
    // except its room, binary, in another namespace.
    let bytes = bytes::Bytes::from_static(&[0, 1, 2, 255]);
    let mut seen = Vec::new();
    a.of("/").emit("m", &1).expect("emit");
    seen.push(witness.next_event().await);
    b.of("/").to("room1").emit("m", &2).expect("emit");
    seen.push(witness.next_event().await);
    a.of("/").to("room2").emit("m", &3).expect("emit");
    // Volatile: the witness gets it only if its transport is ready at that moment, and
    // then without an offset.
    b.of("/").volatile().emit("m", &4).expect("emit");
    a.of("/").except("room1").emit("m", &5).expect("emit");
    b.of("/").emit_args("m", &(6, bytes.clone())).expect("emit");
    seen.push(but_volatile(&mut witness).await);
    a.of("/other").emit("m", &7).expect("emit");
    a.of("/").to("room1").emit("m", &8).expect("emit");
    seen.push(but_volatile(&mut witness).await);
    for (event, _) in &seen {
        assert!(event[0] == "m");
        offset_of(event);
    }

    let mut back = Client::connect_auth(addr_b, json!({"pid": pid, "offset": offset})).await;
    assert_eq!(back.id, id, "the same socket id");
    assert_eq!(back.pid.as_deref(), Some(pid.as_str()));
    // Exactly what it missed, in order, each with its stream id last, binary intact: the
    // same packets the witness got.
    assert_eq!(back.before_connect, seen);
    let (bin_event, bin) = &back.before_connect[2];
    assert_eq!(bin_event[1], 6);
    assert_eq!(bin, &vec![bytes.to_vec()]);
    let socket = b.of("/").get_socket(&id).expect("recovered on b");
    assert!(socket.recovered());
    assert!(socket.rooms().iter().any(|r| r.as_str() == "room1"));
    assert_eq!(socket.data::<Value>(), Some(json!({"name": "alice"})));
    // What comes now comes once.
    b.of("/").to("room1").emit("after", &()).expect("emit");
    let (after, _) = back.next_event().await;
    assert_eq!(after[0], "after");
    back.assert_no_event(Duration::from_millis(200)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_outlives_the_server_it_was_on() {
    let redis = Redis::start();
    let (a, addr_a) = recovering_server(&redis, KEEP).await;
    let (b, addr_b) = recovering_server(&redis, KEEP).await;
    cluster_of(2, &[&a, &b]).await;
    let (id, pid, offset) = departed(&redis, &a, addr_a).await;
    a.close();
    drop(a);
    cluster_of(1, &[&b]).await;
    b.of("/")
        .to("room1")
        .emit("while-a-is-gone", &1)
        .expect("emit");
    // The entry is in the stream once b's own witness has it.
    let mut witness = Client::connect(addr_b).await;
    b.of("/").emit("marker", &()).expect("emit");
    let (marker, _) = witness.next_event().await;
    assert_eq!(marker[0], "marker");

    let back = Client::connect_auth(addr_b, json!({"pid": pid, "offset": offset})).await;
    assert_eq!(back.id, id);
    let missed: Vec<Value> = back.before_connect.iter().map(|(e, _)| e.clone()).collect();
    assert_eq!(missed.len(), 2, "{missed:?}");
    assert_eq!(
        (missed[0][0].clone(), missed[0][1].clone()),
        (json!("while-a-is-gone"), json!(1))
    );
    assert_eq!(missed[1], marker);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_gives_a_fresh_one() {
    let redis = Redis::start();
    let (a, addr_a) = recovering_server(&redis, Duration::from_millis(300)).await;
    let (id, pid, offset) = departed(&redis, &a, addr_a).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let back = Client::connect_auth(addr_a, json!({"pid": pid, "offset": offset})).await;
    assert_ne!(back.id, id);
    assert!(back.before_connect.is_empty());
    // A session is taken once: the same pid again is unknown.
    let (id, pid, offset) = departed(&redis, &a, addr_a).await;
    let back = Client::connect_auth(addr_a, json!({"pid": pid, "offset": offset})).await;
    assert_eq!(back.id, id);
    let again = Client::connect_auth(addr_a, json!({"pid": pid, "offset": offset})).await;
    assert_ne!(again.id, id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_malformed_sessions_give_a_fresh_one() {
    let redis = Redis::start();
    let (a, addr_a) = recovering_server(&redis, KEEP).await;
    let (_, pid, offset) = departed(&redis, &a, addr_a).await;
    // A stored value that is no session, and sessions that are barely ones.
    let mut conn = redis_connection(&redis).await;
    for (key, value) in [
        ("sio:session:evil", "!!!not base64".to_owned()),
        ("sio:session:evil2", "kQ==".to_owned()), // msgpack [nil]
        ("sio:session:evil3", "gaNzaWTA".to_owned()), // {sid: nil}
    ] {
        let _: () = redis::cmd("SET")
            .arg(key)
            .arg(value)
            .query_async(&mut conn)
            .await
            .expect("SET");
    }
    let huge = "p".repeat(100_000);
    let cases = [
        json!({"pid": "unknown", "offset": offset}),
        json!({"pid": "evil", "offset": offset}),
        json!({"pid": "evil2", "offset": offset}),
        json!({"pid": "evil3", "offset": offset}),
        json!({"pid": huge, "offset": offset}),
        json!({"pid": "", "offset": offset}),
        json!({"pid": pid, "offset": "abc"}),
        json!({"pid": pid, "offset": "1-1-1"}),
        json!({"pid": pid, "offset": "-"}),
        json!({"pid": pid, "offset": "99999999999999999999999-0"}),
        json!({"pid": pid, "offset": "18446744073709551615-18446744073709551615"}),
        json!({"pid": pid, "offset": "0-0"}),
        json!({"pid": pid, "offset": "1-0\r\nFLUSHALL"}),
        json!({"pid": pid, "offset": "1".repeat(100_000)}),
        json!({"pid": pid, "offset": 12}),
        json!({"pid": {"a": 1}, "offset": offset}),
    ];
    for auth in cases {
        let started = Instant::now();
        let client = Client::connect_auth(addr_a, auth.clone()).await;
        assert!(client.before_connect.is_empty(), "{auth}");
        assert!(started.elapsed() < Duration::from_secs(2), "{auth}");
        client.drop_connection();
    }
    // A forged offset took the session (as Node's GETDEL does); the server is still well.
    let mut fresh = Client::connect(addr_a).await;
    a.of("/").emit("still-here", &()).expect("emit");
    assert_eq!(fresh.next_event().await.0[0], "still-here");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_stream_entries_are_skipped() {
    let redis = Redis::start();
    let (a, addr_a) = recovering_server(&redis, KEEP).await;
    // b reads what is written to the stream: the junk must not stop its reader.
    let (b, addr_b) = recovering_server(&redis, KEEP).await;
    cluster_of(2, &[&a, &b]).await;
    let mut on_b = Client::connect(addr_b).await;
    b.of("/")
        .get_socket(&on_b.id)
        .expect("b's socket")
        .join("room1");
    let (_, pid, offset) = departed(&redis, &a, addr_a).await;
    let mut conn = redis_connection(&redis).await;
    let junk: Vec<Vec<(&str, &[u8])>> = vec![
        vec![("nsp", b"/"), ("type", b"3"), ("data", b"{")],
        vec![("nsp", b"/"), ("type", b"3"), ("data", b"{\"packet\":1}")],
        vec![("nsp", b"/"), ("type", b"3"), ("data", b"!!!")],
        vec![("nsp", b"/"), ("type", b"3"), ("data", b"kQ==")],
        vec![
            ("nsp", b"/"),
            ("type", b"3"),
            ("data", b"{\"packet\":{\"type\":2,\"data\":[]},\"opts\":{}}"),
        ],
        vec![
            ("nsp", b"/"),
            ("type", b"3"),
            (
                "data",
                b"{\"packet\":{\"type\":2,\"data\":[7]},\"opts\":{\"rooms\":5}}",
            ),
        ],
        vec![("nsp", b"/"), ("type", b"4"), ("data", b"{\"opts\":null}")],
        vec![
            ("nsp", b"/"),
            ("type", b"6"),
            (
                "data",
                b"{\"opts\":{\"rooms\":[\"nobody\"]},\"close\":\"x\"}",
            ),
        ],
        vec![("nsp", b"/"), ("type", b"99")],
        vec![("nsp", b"/"), ("type", b"\xff\xfe")],
        vec![("uid", b"x")],
        vec![("nsp", b"\xff"), ("type", b"3"), ("data", b"{}")],
    ];
    for fields in junk {
        let mut xadd = redis::cmd("XADD");
        xadd.arg("socket.io").arg("*");
        for (k, v) in fields {
            xadd.arg(k).arg(v);
        }
        let _: String = xadd.query_async(&mut conn).await.expect("XADD");
    }
    // Node's shape, as another server would write it.
    let _: String = redis::cmd("XADD")
        .arg("socket.io")
        .arg("*")
        .arg("uid")
        .arg("node")
        .arg("nsp")
        .arg("/")
        .arg("type")
        .arg("3")
        .arg("data")
        .arg(r#"{"packet":{"type":2,"data":["from-node",1]},"opts":{"rooms":["room1"],"except":[],"flags":{}}}"#)
        .query_async(&mut conn)
        .await
        .expect("XADD");
    let mut witness = Client::connect(addr_a).await;
    a.of("/").emit("marker", &()).expect("emit");
    assert_eq!(witness.next_event().await.0[0], "marker");
    let (from_node, _) = on_b.next_event().await;
    assert_eq!(
        (from_node[0].clone(), from_node[1].clone()),
        (json!("from-node"), json!(1))
    );
    assert_eq!(on_b.next_event().await.0[0], "marker");
    let back = Client::connect_auth(addr_a, json!({"pid": pid, "offset": offset})).await;
    let missed: Vec<Value> = back.before_connect.iter().map(|(e, _)| e.clone()).collect();
    assert_eq!(missed.len(), 2, "{missed:?}");
    assert_eq!(missed[0], from_node, "the same entry id as b read it");
    assert_eq!(missed[1][0], "marker");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_without_redis_answers_promptly_with_a_fresh_session() {
    let redis = Redis::start();
    let (a, addr_a) = recovering_server(&redis, KEEP).await;
    let (id, pid, offset) = departed(&redis, &a, addr_a).await;
    drop(redis);
    let started = Instant::now();
    let back = Client::connect_auth(addr_a, json!({"pid": pid, "offset": offset})).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_ne!(back.id, id);
    assert!(back.before_connect.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_received_nothing_recovers_with_its_pid_alone() {
    let redis = Redis::start();
    let (a, addr_a) = recovering_server(&redis, KEEP).await;
    let (b, addr_b) = recovering_server(&redis, KEEP).await;
    cluster_of(2, &[&a, &b]).await;
    // Once a's witness has it, a has read it: a socket connecting now starts after it.
    let mut witness = Client::connect(addr_a).await;
    b.of("/").emit("before", &0).expect("emit"); // never its to miss
    assert_eq!(witness.next_event().await.0[0], "before");
    let client = Client::connect(addr_a).await;
    let (id, pid) = (client.id.clone(), client.pid.clone().expect("a pid"));
    client.drop_connection();
    session_stored(&redis, &pid).await;
    b.of("/").emit("missed", &1).expect("emit");
    assert_eq!(witness.next_event().await.0[0], "missed");

    // The official client sends `{pid}` alone when it holds no offset (Node: a fresh session).
    let back = Client::connect_auth(addr_b, json!({ "pid": pid })).await;
    assert_eq!(back.id, id, "recovered");
    let missed: Vec<Value> = back
        .before_connect
        .iter()
        .map(|(e, _)| e[0].clone())
        .collect();
    assert_eq!(missed, [json!("missed")]);
}
