//! Server-side operations: fetching sockets, making them join and leave rooms, disconnecting
//! them, the disconnect handlers and their reasons, application state and socket data.

mod common;
use common::*;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    name: String,
    score: u32,
}

/// A server whose `/` and `/custom` sockets report `(namespace, id, reason)` on disconnect.
async fn reporting_server() -> (SocketIo, SocketAddr, Probe<(String, String, String)>) {
    let io = new_io();
    let (tx, reasons) = probe();
    for nsp in ["/", "/custom"] {
        let tx = tx.clone();
        io.of(nsp).on_connection(move |socket: Socket| {
            let tx = tx.clone();
            socket.on_disconnect(move |socket: Socket, reason: DisconnectReason| {
                let _ = tx.send((
                    socket.namespace().name().to_string(),
                    socket.id().to_string(),
                    reason.to_string(),
                ));
                async {}
            });
            socket.on("echo", |socket: Socket, Data(v): Data<Value>| async move {
                let _ = socket.emit("echo", &v);
            });
            async {}
        });
    }
    let addr = serve(&io).await;
    (io, addr, reasons)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_sockets_lists_ids_rooms_and_data() {
    let io = new_io();
    let addr = serve(&io).await;
    let mut a = Client::open(addr).await;
    let a_id = a.join_ok("/", Some(json!({"user": "alice"}))).await;
    let (_b, b_id) = Client::connect(addr, "/").await;
    let a_socket = socket_of(&io, "/", &a_id);
    a_socket.join("r");
    a_socket.set_data(User {
        name: "alice".into(),
        score: 3,
    });

    let mut all = io.fetch_sockets().await.unwrap();
    all.sort_by(|x, y| {
        (x.id == a_id.as_str())
            .cmp(&(y.id == a_id.as_str()))
            .reverse()
    });
    assert_eq!(all.len(), 2);
    let (ra, rb) = (&all[0], &all[1]);
    assert_eq!(ra.id, a_id.as_str());
    assert_eq!(sorted(&ra.rooms), sorted([a_id.as_str(), "r"]));
    assert_eq!(ra.data, json!({"name": "alice", "score": 3}));
    assert_eq!(
        ra.data::<User>().unwrap(),
        User {
            name: "alice".into(),
            score: 3
        }
    );
    assert_eq!(ra.handshake.auth, json!({"user": "alice"}));
    assert_eq!(ra.handshake.address(), Some(a.local_addr));
    assert_eq!(rb.id, b_id.as_str());
    assert_eq!(sorted(&rb.rooms), [b_id.as_str()]);
    // Never set: Node's default `socket.data`, an empty object.
    assert_eq!(rb.data, json!({}));

    let in_r = io.to("r").fetch_sockets().await.unwrap();
    assert_eq!(
        in_r.iter().map(|s| s.id.to_string()).collect::<Vec<_>>(),
        [a_id.as_str()]
    );
    let except_r = io.except("r").fetch_sockets().await.unwrap();
    assert_eq!(
        except_r
            .iter()
            .map(|s| s.id.to_string())
            .collect::<Vec<_>>(),
        [b_id.as_str()]
    );
    assert!(io.of("/custom").fetch_sockets().await.unwrap().is_empty());

    // A fetched socket can be emitted to.
    ra.emit("hi", &"alice").unwrap();
    assert_eq!(a.next_args("/", "hi").await, [json!("alice")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_join_and_sockets_leave() {
    let io = new_io();
    let addr = serve(&io).await;
    let (mut a, a_id) = Client::connect(addr, "/").await;
    let (mut b, b_id) = Client::connect(addr, "/").await;
    let (sa, sb) = (socket_of(&io, "/", &a_id), socket_of(&io, "/", &b_id));

    io.sockets_join("all")
        .expect("the operation reaches the cluster");
    assert_eq!(sorted(sa.rooms()), sorted([a_id.as_str(), "all"]));
    assert_eq!(sorted(sb.rooms()), sorted([b_id.as_str(), "all"]));
    io.to(a_id.as_str())
        .sockets_join(["vip", "x"])
        .expect("the operation reaches the cluster");
    assert_eq!(
        sorted(sa.rooms()),
        sorted([a_id.as_str(), "all", "vip", "x"])
    );
    assert_eq!(sorted(sb.rooms()), sorted([b_id.as_str(), "all"]));

    io.to("vip").emit("m", &"vip").unwrap();
    io.to("all").emit("m", &"all").unwrap();
    assert_eq!(a.next_args("/", "m").await, [json!("vip")]);
    assert_eq!(a.next_args("/", "m").await, [json!("all")]);
    assert_eq!(b.next_args("/", "m").await, [json!("all")]);

    io.to("vip")
        .sockets_leave("x")
        .expect("the operation reaches the cluster");
    io.sockets_leave("all")
        .expect("the operation reaches the cluster");
    assert_eq!(sorted(sa.rooms()), sorted([a_id.as_str(), "vip"]));
    assert_eq!(sorted(sb.rooms()), [b_id.as_str()]);

    // Through a fetched socket.
    let remote = io
        .to(b_id.as_str())
        .fetch_sockets()
        .await
        .unwrap()
        .remove(0);
    remote
        .join("fetched")
        .expect("the operation reaches the cluster");
    assert_eq!(sorted(sb.rooms()), sorted([b_id.as_str(), "fetched"]));
    remote
        .leave("fetched")
        .expect("the operation reaches the cluster");
    assert_eq!(sorted(sb.rooms()), [b_id.as_str()]);

    io.to("all").emit("m", &"nobody").unwrap();
    io.emit("control", &()).unwrap();
    a.next_event("/", "control").await;
    b.next_event("/", "control").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_sockets_without_close_leaves_the_namespace_only() {
    let (io, addr, mut reasons) = reporting_server().await;
    let (mut a, a_id) = Client::connect(addr, "/").await;
    a.join_ok("/custom", None).await;
    let (mut b, b_id) = Client::connect(addr, "/").await;
    socket_of(&io, "/", &b_id).join("spared");

    io.except("spared")
        .disconnect_sockets(false)
        .expect("the operation reaches the cluster");
    let p = a.next().await;
    assert_eq!(p.raw, "1", "expected a DISCONNECT for /, got {:?}", p.raw);
    assert_eq!(
        reasons.next("the disconnect").await,
        (
            "/".to_owned(),
            a_id.clone(),
            "server namespace disconnect".to_owned()
        )
    );
    assert!(io.of("/").get_socket(&a_id).is_none());
    reasons.assert_none("another disconnect", QUIET).await;

    // The connection and its other namespace go on; the spared socket too.
    a.emit("/custom", "echo", json!(["ok"])).await;
    assert_eq!(a.next_args("/custom", "echo").await, [json!("ok")]);
    b.emit("/", "echo", json!(["b"])).await;
    assert_eq!(b.next_args("/", "echo").await, [json!("b")]);

    // The same through a socket's own disconnect(false).
    socket_of(&io, "/", &b_id).disconnect(false);
    assert!(b.next().await.is_disconnect());
    assert_eq!(
        reasons.next("b's disconnect").await,
        (
            "/".to_owned(),
            b_id.clone(),
            "server namespace disconnect".to_owned()
        )
    );
    assert!(
        !b.closes_within(QUIET).await,
        "the connection must stay open"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_with_close_ends_the_connection_and_every_namespace() {
    let (io, addr, mut reasons) = reporting_server().await;
    let (mut a, a_id) = Client::connect(addr, "/").await;
    let a_custom = a.join_ok("/custom", None).await;
    let (mut b, _) = Client::connect(addr, "/").await;

    socket_of(&io, "/custom", &a_custom).disconnect(true);
    let before = a.expect_closed().await;
    let mut raws: Vec<&str> = before.iter().map(|p| p.raw.as_str()).collect();
    raws.sort();
    // Node: each socket of the connection is told it leaves, then the connection closes.
    assert_eq!(raws, ["1", "1/custom,"]);
    let mut got = vec![
        reasons.next("a disconnect").await,
        reasons.next("a disconnect").await,
    ];
    got.sort();
    assert_eq!(
        got,
        [
            (
                "/".to_owned(),
                a_id,
                "server namespace disconnect".to_owned()
            ),
            (
                "/custom".to_owned(),
                a_custom,
                "server namespace disconnect".to_owned()
            ),
        ]
    );

    // The other client is untouched.
    b.emit("/", "echo", json!([1])).await;
    assert_eq!(b.next_args("/", "echo").await, [json!(1)]);

    // The broadcast form closes the connection too.
    io.disconnect_sockets(true)
        .expect("the operation reaches the cluster");
    let before = b.expect_closed().await;
    assert_eq!(
        before.iter().map(|p| p.raw.as_str()).collect::<Vec<_>>(),
        ["1"]
    );
    assert!(io.of("/").sockets().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnecting_sees_the_rooms_and_disconnect_gets_the_reason() {
    let io = new_io();
    let (tx, mut log) = probe::<(String, String, Vec<String>)>();
    io.on_connection(move |socket: Socket| {
        socket.join(["r1", "r2"]);
        let t = tx.clone();
        socket.on_disconnecting(move |socket: Socket, reason: DisconnectReason| {
            let _ = t.send((
                "disconnecting".to_owned(),
                reason.to_string(),
                sorted(socket.rooms()),
            ));
            async {}
        });
        let t = tx.clone();
        socket.on_disconnect(move |socket: Socket, reason: DisconnectReason| {
            let _ = t.send((
                "disconnect".to_owned(),
                reason.to_string(),
                sorted(socket.rooms()),
            ));
            async {}
        });
        async {}
    });
    let addr = serve(&io).await;

    let (mut client, sid) = Client::connect(addr, "/").await;
    client.send("1").await;
    assert_eq!(
        log.next("disconnecting").await,
        (
            "disconnecting".to_owned(),
            "client namespace disconnect".to_owned(),
            sorted([sid.as_str(), "r1", "r2"])
        )
    );
    assert_eq!(
        log.next("disconnect").await,
        (
            "disconnect".to_owned(),
            "client namespace disconnect".to_owned(),
            vec![]
        )
    );

    // Closing the transport: "transport close".
    let (client, sid) = Client::connect(addr, "/").await;
    client.close().await;
    assert_eq!(
        log.next("disconnecting").await,
        (
            "disconnecting".to_owned(),
            "transport close".to_owned(),
            sorted([sid.as_str(), "r1", "r2"])
        )
    );
    assert_eq!(
        log.next("disconnect").await,
        (
            "disconnect".to_owned(),
            "transport close".to_owned(),
            vec![]
        )
    );
}

/// Node's `_onclose` emits "disconnecting" before it sets `connected = false`: a disconnecting
/// handler still sees a connected socket, and a disconnect handler a disconnected one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnecting_socket_is_still_connected() {
    let io = new_io();
    let (tx, mut log) = probe::<(&'static str, bool)>();
    io.on_connection(move |socket: Socket| {
        let t = tx.clone();
        socket.on_disconnecting(move |socket: Socket, _: DisconnectReason| {
            let _ = t.send(("disconnecting", socket.connected()));
            async {}
        });
        let t = tx.clone();
        socket.on_disconnect(move |socket: Socket, _: DisconnectReason| {
            let _ = t.send(("disconnect", socket.connected()));
            async {}
        });
        async {}
    });
    let addr = serve(&io).await;
    let (mut client, _) = Client::connect(addr, "/").await;
    client.send("1").await;
    let got = [
        log.next("disconnecting").await,
        log.next("disconnect").await,
    ];
    assert_eq!(got, [("disconnecting", true), ("disconnect", false)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn io_close_disconnects_everyone_with_server_shutting_down() {
    let (io, addr, mut reasons) = reporting_server().await;
    let (mut a, a_id) = Client::connect(addr, "/").await;
    let a_custom = a.join_ok("/custom", None).await;
    let (mut b, b_id) = Client::connect(addr, "/").await;

    io.close();
    a.expect_closed().await;
    b.expect_closed().await;
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(reasons.next("a disconnect").await);
    }
    got.sort();
    let mut expected = vec![
        ("/".to_owned(), a_id, "server shutting down".to_owned()),
        ("/".to_owned(), b_id, "server shutting down".to_owned()),
        (
            "/custom".to_owned(),
            a_custom,
            "server shutting down".to_owned(),
        ),
    ];
    expected.sort();
    assert_eq!(got, expected);
    assert!(io.of("/").sockets().is_empty());
    assert!(io.of("/custom").sockets().is_empty());
}

#[derive(Clone)]
struct AppState {
    name: &'static str,
    hits: Arc<AtomicUsize>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_extractor_gets_the_application_state() {
    let hits = Arc::new(AtomicUsize::new(0));
    let io = SocketIo::builder()
        .with_state(AppState {
            name: "my-app",
            hits: hits.clone(),
        })
        .with_state(7u64)
        .build();
    io.on_connection(|socket: Socket| async move {
        socket.on(
            "hit",
            |State(app): State<AppState>, State(n): State<u64>, ack: AckSender| async move {
                let total = app.hits.fetch_add(1, Ordering::SeqCst) + 1;
                let _ = ack.send(&(app.name, total, n));
            },
        );
        // No state of this type: the handler is not called.
        socket.on(
            "missing",
            |State(_): State<String>, ack: AckSender| async move {
                let _ = ack.send("called");
            },
        );
    });
    let addr = serve(&io).await;
    let (mut client, _) = Client::connect(addr, "/").await;

    client.emit_with_ack("/", "hit", json!([]), 1).await;
    assert_eq!(client.next_ack("/", 1).await, [json!(["my-app", 1, 7])]);
    client.emit_with_ack("/", "missing", json!([]), 2).await;
    client.emit_with_ack("/", "hit", json!([]), 3).await;
    assert_eq!(client.next_ack("/", 3).await, [json!(["my-app", 2, 7])]);
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_data_is_set_read_and_updated() {
    let io = new_io();
    io.on_connection(|socket: Socket| async move {
        socket.set_data(User {
            name: socket.handshake().auth["name"]
                .as_str()
                .unwrap_or("anon")
                .to_owned(),
            score: 0,
        });
        socket.on("score", |socket: Socket, ack: AckSender| async move {
            let new = socket.update_data(|u: &mut User| {
                u.score += 10;
                u.score
            });
            let _ = ack.send(&new);
        });
        socket.on("whoami", |socket: Socket, ack: AckSender| async move {
            let _ = ack.send(&socket.data::<User>());
        });
    });
    let addr = serve(&io).await;
    let mut client = Client::open(addr).await;
    let sid = client.join_ok("/", Some(json!({"name": "bob"}))).await;

    client.emit_with_ack("/", "score", json!([]), 1).await;
    assert_eq!(client.next_ack("/", 1).await, [json!(10)]);
    client.emit_with_ack("/", "score", json!([]), 2).await;
    assert_eq!(client.next_ack("/", 2).await, [json!(20)]);
    client.emit_with_ack("/", "whoami", json!([]), 3).await;
    assert_eq!(
        client.next_ack("/", 3).await,
        [json!({"name": "bob", "score": 20})]
    );

    let socket = socket_of(&io, "/", &sid);
    assert_eq!(
        socket.data::<User>(),
        Some(User {
            name: "bob".into(),
            score: 20
        })
    );
    // Another type: nothing to read or update.
    assert_eq!(socket.data::<String>(), None);
    assert_eq!(socket.update_data(|s: &mut String| s.len()), None);
    assert_eq!(socket.data_json(), json!({"name": "bob", "score": 20}));
    // Replacing the data replaces its type too.
    socket.set_data("text".to_owned());
    assert_eq!(socket.data::<String>().as_deref(), Some("text"));
    assert_eq!(socket.data::<User>(), None);
    // Data is per socket: a fresh one has none.
    let (_other, other_id) = Client::connect(addr, "/").await;
    let other = socket_of(&io, "/", &other_id);
    assert_eq!(
        other.data::<User>().map(|u| u.name),
        Some("anon".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_can_disconnect_its_socket() {
    let (io, addr, mut reasons) = reporting_server().await;
    let (tx, mut after) = probe::<String>();
    io.on_connection(move |socket: Socket| {
        let tx = tx.clone();
        socket.on("kick-me", move |socket: Socket| {
            let _ = socket.emit("bye", &());
            socket.disconnect(false);
            let _ = tx.send(format!("{:?}", socket.emit("after", &())));
            async {}
        });
        async {}
    });
    let (mut client, sid) = Client::connect(addr, "/").await;
    client.emit("/", "kick-me", json!([])).await;
    client.next_event("/", "bye").await;
    assert!(client.next().await.is_disconnect());
    let (_, id, reason) = reasons.next("the disconnect").await;
    assert_eq!((id, reason.as_str()), (sid, "server namespace disconnect"));
    assert_eq!(after.next("the emit after").await, "Err(Disconnected)");
    client.assert_quiet(QUIET).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_answering_pings_leaves_with_ping_timeout() {
    let io = io_with(
        SocketIoConfig::builder()
            .ping_interval(Duration::from_millis(100))
            .ping_timeout(Duration::from_millis(100))
            .build(),
    );
    let (tx, mut reasons) = probe::<String>();
    io.on_connection(move |socket: Socket| {
        let tx = tx.clone();
        socket.on_disconnect(move |_: Socket, reason: DisconnectReason| {
            let _ = tx.send(reason.to_string());
            async {}
        });
        async {}
    });
    let addr = serve(&io).await;

    // A client that keeps reading answers pings and stays.
    let (mut alive, _) = Client::connect(addr, "/").await;
    // One that reads nothing more never answers.
    let (_silent, _) = Client::connect(addr, "/").await;
    // The live client must keep reading (and answering) while the silent one times out.
    alive.assert_quiet(Duration::from_millis(600)).await;
    assert_eq!(reasons.drain(), ["ping timeout"]);
    assert_eq!(io.of("/").sockets().len(), 1);
}
