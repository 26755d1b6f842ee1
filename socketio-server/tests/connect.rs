//! Joining namespaces: the CONNECT answer, the handshake a connection handler sees, refusals,
//! connect middlewares, dynamic namespaces, the connect timeout, and protocol violations that
//! close the connection.

mod common;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_answer_carries_a_socket_id_distinct_from_the_engine_sid() {
    let io = new_io();
    let (tx, mut seen) = probe();
    let t = tx.clone();
    io.on_connection(move |socket: Socket| {
        let _ = t.send((socket.id().to_string(), socket.conn_id().to_string()));
        async {}
    });
    io.of("/custom").on_connection(move |socket: Socket| {
        let _ = tx.send((socket.id().to_string(), socket.conn_id().to_string()));
        async {}
    });
    let addr = serve(&io).await;

    let mut client = Client::open(addr).await;
    let sid = client.join_ok("/", None).await;
    assert!(!sid.is_empty());
    assert_ne!(
        sid, client.engine_sid,
        "socket id must differ from the engine sid"
    );
    let (server_id, conn_id) = seen.next("the connection handler").await;
    assert_eq!(server_id, sid);
    assert_eq!(conn_id, client.engine_sid);

    let custom = client.join_ok("/custom", None).await;
    assert_ne!(custom, sid, "each namespace gets its own socket id");
    assert_ne!(custom, client.engine_sid);
    let (server_id, conn_id) = seen.next("the /custom connection handler").await;
    assert_eq!(server_id, custom);
    assert_eq!(conn_id, client.engine_sid);

    // Another client gets other ids.
    let (other, other_sid) = Client::connect(addr, "/").await;
    assert_ne!(other_sid, sid);
    assert_ne!(other.engine_sid, client.engine_sid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_handler_sees_auth_and_handshake() {
    let io = new_io();
    let (tx, mut seen) = probe();
    io.on_connection(move |socket: Socket| {
        let _ = tx.send(socket.handshake().clone());
        async {}
    });
    let addr = serve(&io).await;

    let mut client = Client::open_with(addr, "&foo=bar&n=1", &[("x-custom", "hello")]).await;
    client
        .join_ok("/", Some(json!({"token": "abc", "n": 2})))
        .await;
    let hs = seen.next("the handshake").await;
    assert_eq!(hs.auth, json!({"token": "abc", "n": 2}));
    assert_eq!(hs.query("foo").as_deref(), Some("bar"));
    assert_eq!(hs.query("n").as_deref(), Some("1"));
    assert_eq!(hs.query("EIO").as_deref(), Some("4"));
    assert_eq!(hs.query("transport").as_deref(), Some("websocket"));
    assert_eq!(hs.query("missing"), None);
    assert_eq!(hs.header("x-custom"), Some("hello"));
    assert_eq!(hs.header("host"), Some(addr.to_string().as_str()));
    assert_eq!(hs.address(), Some(client.local_addr));
    assert_eq!(
        hs.url(),
        "/socket.io/?EIO=4&transport=websocket&foo=bar&n=1"
    );

    // Without an auth payload, the handler sees `{}` (Node's default).
    let mut bare = Client::open(addr).await;
    bare.join_ok("/", None).await;
    let hs = seen.next("the second handshake").await;
    assert_eq!(hs.auth, json!({}));
    assert_eq!(hs.address(), Some(bare.local_addr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_namespace_is_refused_and_the_connection_stays_open() {
    let io = new_io();
    let addr = serve(&io).await;
    let mut client = Client::open(addr).await;
    client.send("0/nope,").await;
    let answer = client.next().await;
    assert_eq!(answer.raw, r#"4/nope,{"message":"Invalid namespace"}"#);

    // The connection is still usable.
    let sid = client.join_ok("/", None).await;
    assert!(!sid.is_empty());
    assert_eq!(
        client.join("/nope", None).await,
        Err(json!({"message": "Invalid namespace"}))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_middleware_error_reaches_the_client_with_its_data() {
    let io = new_io();
    let admin = io.of("/admin");
    admin.use_middleware(|socket: Socket| async move {
        if socket.handshake().auth["token"] == "secret" {
            Ok(())
        } else {
            Err(ConnectError::new("unauthorized").with_data(json!({"reason": "x"})))
        }
    });
    let (tx, mut connected) = probe();
    admin.on_connection(move |socket: Socket| {
        let _ = tx.send(socket.id().to_string());
        async {}
    });
    // A refusal without data has no "data" key.
    io.of("/plain")
        .use_middleware(|_: Socket| async { Err(ConnectError::new("nope")) });
    let addr = serve(&io).await;

    let mut client = Client::open(addr).await;
    client.send(r#"0/admin,{"token":"wrong"}"#).await;
    let answer = client.next().await;
    assert!(
        answer.raw.starts_with("4/admin,"),
        "expected CONNECT_ERROR on /admin, got {:?}",
        answer.raw
    );
    let body: Value = serde_json::from_str(&answer.raw["4/admin,".len()..]).unwrap();
    assert_eq!(
        body,
        json!({"message": "unauthorized", "data": {"reason": "x"}})
    );
    connected
        .assert_none("connection on a refused namespace", QUIET)
        .await;
    assert!(io.of("/admin").sockets().is_empty());

    assert_eq!(
        client.join("/plain", None).await,
        Err(json!({"message": "nope"}))
    );

    // The right token is admitted, on the same connection.
    let sid = client
        .join_ok("/admin", Some(json!({"token": "secret"})))
        .await;
    assert_eq!(connected.next("the admitted connection").await, sid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_middlewares_run_in_order_and_stop_at_the_first_refusal() {
    let io = new_io();
    let (tx, mut log) = probe::<String>();
    let ordered = io.of("/ordered");
    for step in 1..=3 {
        let tx = tx.clone();
        ordered.use_middleware(move |socket: Socket| {
            let tx = tx.clone();
            async move {
                if step == 2 {
                    // An await in the middle must not let the next middleware run early.
                    tokio::time::sleep(Duration::from_millis(30)).await;
                }
                let _ = tx.send(format!("mw{step}"));
                if step == 2 && socket.handshake().auth["fail"] == true {
                    return Err(ConnectError::new("stopped at 2"));
                }
                Ok(())
            }
        });
    }
    let t = tx.clone();
    ordered.on_connection(move |_: Socket| {
        let _ = t.send("connection".to_owned());
        async {}
    });
    let addr = serve(&io).await;

    let mut client = Client::open(addr).await;
    client.join_ok("/ordered", None).await;
    let mut steps = Vec::new();
    for _ in 0..4 {
        steps.push(log.next("a middleware step").await);
    }
    assert_eq!(steps, ["mw1", "mw2", "mw3", "connection"]);

    let mut refused = Client::open(addr).await;
    assert_eq!(
        refused.join("/ordered", Some(json!({"fail": true}))).await,
        Err(json!({"message": "stopped at 2"}))
    );
    assert_eq!(log.next("mw1").await, "mw1");
    assert_eq!(log.next("mw2").await, "mw2");
    log.assert_none("step after a refusal", QUIET).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamic_namespaces_create_a_child_that_runs_the_parent_handlers() {
    let io = new_io();
    let rooms = io.of_dynamic(|name, _auth| {
        name.strip_prefix("/room-")
            .is_some_and(|n| n.parse::<u32>().is_ok())
    });
    let (mw_tx, mut mw) = probe::<String>();
    rooms.use_middleware(move |socket: Socket| {
        let _ = mw_tx.send(socket.namespace().name().to_string());
        async { Ok(()) }
    });
    rooms.on_connection(|socket: Socket| async move {
        let _ = socket.emit("hello", socket.namespace().name().as_str());
    });
    // A parent that accepts by auth.
    let vip = io.of_dynamic(|name, auth| name.starts_with("/vip-") && auth["vip"] == true);
    vip.on_connection(|socket: Socket| async move {
        let _ = socket.emit("vip", socket.namespace().name().as_str());
    });
    let addr = serve(&io).await;

    let mut a = Client::open(addr).await;
    a.join_ok("/room-1", None).await;
    assert_eq!(a.next_args("/room-1", "hello").await, [json!("/room-1")]);
    assert_eq!(mw.next("the parent's middleware").await, "/room-1");

    // The child exists now, and a second client joins the same one.
    let mut b = Client::open(addr).await;
    b.join_ok("/room-1", None).await;
    assert_eq!(b.next_args("/room-1", "hello").await, [json!("/room-1")]);
    assert_eq!(io.of("/room-1").sockets().len(), 2);
    io.of("/room-1").emit("to-child", &1).unwrap();
    assert_eq!(a.next_args("/room-1", "to-child").await, [json!(1)]);
    assert_eq!(b.next_args("/room-1", "to-child").await, [json!(1)]);

    a.join_ok("/room-42", None).await;
    assert_eq!(a.next_args("/room-42", "hello").await, [json!("/room-42")]);

    assert_eq!(
        a.join("/room-x", None).await,
        Err(json!({"message": "Invalid namespace"}))
    );
    assert_eq!(
        a.join("/vip-1", None).await,
        Err(json!({"message": "Invalid namespace"}))
    );
    a.join_ok("/vip-1", Some(json!({"vip": true}))).await;
    assert_eq!(a.next_args("/vip-1", "vip").await, [json!("/vip-1")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_timeout_closes_a_connection_that_joins_no_namespace() {
    let io = io_with(
        SocketIoConfig::builder()
            .connect_timeout(Duration::from_millis(300))
            .build(),
    );
    io.on_connection(|socket: Socket| async move {
        socket.on("ping", |ack: AckSender| async move {
            let _ = ack.send("pong");
        });
    });
    let addr = serve(&io).await;

    let started = Instant::now();
    let mut idle = Client::open(addr).await;
    let mut joined = Client::open(addr).await;
    joined.join_ok("/", None).await;

    assert!(idle.expect_closed().await.is_empty());
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(250),
        "closed too early: {elapsed:?}"
    );

    // The one that joined in time is unaffected, well after the timeout.
    tokio::time::sleep(Duration::from_millis(200)).await;
    joined.emit_with_ack("/", "ping", json!([]), 1).await;
    assert_eq!(joined.next_ack("/", 1).await, [json!("pong")]);
}

/// A server whose `/` sockets report their disconnect reason.
async fn reason_reporting_server() -> (SocketIo, SocketAddr, Probe<DisconnectReason>) {
    let io = new_io();
    let (tx, reasons) = probe();
    io.on_connection(move |socket: Socket| {
        let tx = tx.clone();
        socket.on_disconnect(move |_: Socket, reason: DisconnectReason| {
            let _ = tx.send(reason);
            async {}
        });
        async {}
    });
    io.of("/custom").on_connection(|socket: Socket| async move {
        socket.on("ev", |socket: Socket| async move {
            let _ = socket.emit("handled", &());
        });
    });
    let addr = serve(&io).await;
    (io, addr, reasons)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_connect_to_the_same_namespace_closes_the_connection() {
    let (io, addr, mut reasons) = reason_reporting_server().await;
    let mut client = Client::open(addr).await;
    client.join_ok("/", None).await;
    client.send("0").await;
    let before = client.expect_closed().await;
    assert!(before.is_empty(), "no answer expected: {before:?}");
    reasons.next("the disconnect").await;
    assert!(io.of("/").sockets().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_packet_for_a_namespace_never_joined_closes_the_connection() {
    let (io, addr, mut reasons) = reason_reporting_server().await;
    let mut client = Client::open(addr).await;
    client.join_ok("/", None).await;
    client.emit("/custom", "ev", json!([1])).await;
    let before = client.expect_closed().await;
    assert!(before.is_empty(), "no answer expected: {before:?}");
    reasons.next("the disconnect").await;
    assert!(io.of("/").sockets().is_empty());
    assert!(io.of("/custom").sockets().is_empty());
}

/// Node's `Client.ondecoded` answers an "invalid state" packet (a second CONNECT, or a packet
/// for a namespace the client has not joined) with `client.close()`, whose reason is
/// "forced server close" (the reason this crate's own `DisconnectReason::ForcedServerClose`
/// documents for "a protocol error").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_state_packet_disconnects_with_forced_server_close() {
    let (_io, addr, mut reasons) = reason_reporting_server().await;
    let mut client = Client::open(addr).await;
    client.join_ok("/", None).await;
    client.send("0").await;
    client.expect_closed().await;
    let second_connect = reasons.next("the disconnect").await;

    let mut client = Client::open(addr).await;
    client.join_ok("/", None).await;
    client.emit("/custom", "ev", json!([1])).await;
    client.expect_closed().await;
    let unjoined = reasons.next("the disconnect").await;

    assert_eq!(
        (second_connect.as_str(), unjoined.as_str()),
        ("forced server close", "forced server close")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_the_main_namespace_keeps_the_connection_and_other_namespaces() {
    let io = new_io();
    let (tx, mut reasons) = probe();
    io.on_connection(move |socket: Socket| {
        let tx = tx.clone();
        socket.on_disconnect(move |_: Socket, reason: DisconnectReason| {
            let _ = tx.send(reason);
            async {}
        });
        async {}
    });
    io.of("/custom").on_connection(|socket: Socket| async move {
        socket.on("echo", |socket: Socket, Data(v): Data<Value>| async move {
            let _ = socket.emit("echo", &v);
        });
    });
    let addr = serve(&io).await;

    let mut client = Client::open(addr).await;
    let main_sid = client.join_ok("/", None).await;
    client.join_ok("/custom", None).await;
    client.send("1").await;
    assert_eq!(
        reasons.next("the / disconnect").await,
        DisconnectReason::ClientNamespaceDisconnect
    );
    assert!(io.of("/").get_socket(&main_sid).is_none());

    client.emit("/custom", "echo", json!(["still here"])).await;
    assert_eq!(
        client.next_args("/custom", "echo").await,
        [json!("still here")]
    );
    // The client may come back to `/` on the same connection.
    let again = client.join_ok("/", None).await;
    assert_ne!(again, main_sid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_middleware_can_set_data_the_connection_handler_reads() {
    let io = new_io();
    io.use_middleware(|socket: Socket| async move {
        let user = socket.handshake().auth["user"]
            .as_str()
            .unwrap_or("anon")
            .to_owned();
        socket.set_data(user);
        Ok(())
    });
    io.on_connection(|socket: Socket| async move {
        let _ = socket.emit("welcome", &socket.data::<String>());
    });
    let addr = serve(&io).await;
    let mut client = Client::open(addr).await;
    client.join_ok("/", Some(json!({"user": "zoe"}))).await;
    assert_eq!(client.next_args("/", "welcome").await, [json!("zoe")]);
}

/// Node ignores a socket whose middlewares finish after its connection closed
/// ("next called after client was closed - ignoring socket").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_gone_during_a_slow_middleware_is_not_admitted() {
    let io = new_io();
    let slow = io.of("/slow");
    slow.use_middleware(|_: Socket| async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        Ok(())
    });
    let (tx, mut connected) = probe::<()>();
    slow.on_connection(move |_: Socket| {
        let _ = tx.send(());
        async {}
    });
    let addr = serve(&io).await;
    let mut client = Client::open(addr).await;
    client.send("0/slow,").await;
    client.close().await;
    connected
        .assert_none("a connection handler call", Duration::from_millis(500))
        .await;
    assert!(io.of("/slow").sockets().is_empty());
}

/// A second CONNECT sent while the first is still in the namespace's (async) middlewares: Node
/// admits both (its client keeps sockets by id) and closes both with the connection. Whatever
/// the server answers, no socket may outlive its connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_connect_during_the_middlewares_closes_the_connection_and_leaves_no_socket() {
    // Node would admit both CONNECTs (its client keys pending sockets by id); here a second
    // CONNECT to a namespace whose first is still in the middlewares is the protocol error it
    // is for a joined namespace, so no duplicate socket can ever be left behind.
    let io = new_io();
    let slow = io.of("/slow");
    slow.use_middleware(|_: Socket| async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok(())
    });
    let (tx, mut admitted) = probe::<String>();
    slow.on_connection(move |socket: Socket| {
        socket.join("members");
        let _ = tx.send(socket.id().to_string());
        async {}
    });
    let addr = serve(&io).await;
    let mut client = Client::open(addr).await;
    client.send("0/slow,").await;
    client.send("0/slow,").await;
    let mut answers = Vec::new();
    let closed = loop {
        match client.recv_within(Duration::from_millis(500)).await {
            Some(Incoming::Packet(p)) => answers.push(p.packet),
            Some(Incoming::Closed) => break true,
            None => break false,
        }
    };
    assert!(
        closed,
        "the connection stays open after a duplicate CONNECT"
    );
    assert!(answers.is_empty(), "no socket may be admitted: {answers:?}");
    // Past the middleware's delay: the first CONNECT must not have admitted a socket late.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        admitted.drain().is_empty(),
        "a socket was admitted on a closed connection"
    );
    assert!(io.of("/slow").sockets().is_empty());
    assert!(io.of("/slow").to("members").socket_ids().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_request_refuses_a_connection_with_403_and_initial_headers_add_to_the_handshake() {
    let io = SocketIo::builder()
        .allow_request(|handshake| {
            let token = handshake.query("token").map(|t| t.into_owned());
            async move {
                match token.as_deref() {
                    Some("good") => Ok(()),
                    _ => Err("no entry".to_owned()),
                }
            }
        })
        .initial_headers(|_, headers| {
            headers.insert("set-cookie", http::HeaderValue::from_static("io=1"));
        })
        .build();
    let addr = serve(&io).await;

    let (status, _, body) = http_get(addr, "/socket.io/?EIO=4&transport=polling", "").await;
    assert_eq!(status, 403);
    assert!(body.contains(r#""code":4"#), "{body}");
    let query = "/socket.io/?EIO=4&transport=polling&token=good";
    let (status, head, body) = http_get(addr, query, "").await;
    assert_eq!(status, 200);
    assert!(body.starts_with("0{"), "{body}");
    assert!(head.contains("set-cookie: io=1"), "{head}");
}

#[derive(Debug, Clone, Deserialize)]
struct Auth {
    token: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn middlewares_and_handlers_take_the_auth_typed_and_the_socket_is_not_connected_before() {
    let io = new_io();
    let (tx, mut seen) = probe();
    let t = tx.clone();
    io.use_middleware(move |socket: Socket, Data(auth): Data<Auth>| {
        let _ = t.send(format!(
            "middleware {} connected={}",
            auth.token,
            socket.connected()
        ));
        async move {
            match auth.token.as_str() {
                "good" => Ok(()),
                _ => Err(ConnectError::new("bad token")),
            }
        }
    });
    io.on_connection(move |socket: Socket, Data(auth): Data<Auth>| {
        let _ = tx.send(format!(
            "connection {} connected={}",
            auth.token,
            socket.connected()
        ));
        async {}
    });
    let addr = serve(&io).await;

    let mut client = Client::open(addr).await;
    client.join_ok("/", Some(json!({"token": "good"}))).await;
    assert_eq!(
        seen.next("the middleware").await,
        "middleware good connected=false"
    );
    assert_eq!(
        seen.next("the handler").await,
        "connection good connected=true"
    );

    // The middleware's own refusal, then an auth of the wrong shape: the extractor's refusal.
    let mut refused = Client::open(addr).await;
    let error = refused
        .join("/", Some(json!({"token": "bad"})))
        .await
        .unwrap_err();
    assert_eq!(error["message"], "bad token");
    let error = refused
        .join("/", Some(json!({"user": 1})))
        .await
        .unwrap_err();
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("token"),
        "refusal names the missing field: {message}"
    );
    assert_eq!(
        seen.next("the refused middleware").await,
        "middleware bad connected=false"
    );
    seen.assert_none("a handler for a refused socket", QUIET)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_handler_whose_extractor_refuses_sends_the_socket_away() {
    let io = new_io();
    let (tx, mut seen) = probe();
    io.on_connection(move |Data(auth): Data<Auth>| {
        let _ = tx.send(auth.token);
        async {}
    });
    let addr = serve(&io).await;

    let mut client = Client::open(addr).await;
    client.join_ok("/", Some(json!({"nothing": true}))).await;
    let next = client.next().await;
    assert!(
        next.is_disconnect(),
        "expected a DISCONNECT, got {}",
        next.raw
    );
    seen.assert_none("the handler", QUIET).await;
}
