//! Events both ways: typed extractors, binary attachments, ordering, catch-all listeners,
//! message middlewares and reserved names.

mod common;
use common::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Chat {
    room: String,
    text: String,
    n: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Upload {
    name: String,
    data: Bytes,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_data_and_args_extractors() {
    let io = new_io();
    let (tx, mut seen) = probe::<String>();
    let t = tx.clone();
    io.on_connection(move |socket: Socket| {
        let t1 = t.clone();
        socket.on("chat", move |Data(chat): Data<Chat>| {
            let _ = t1.send(format!("chat {chat:?}"));
            async {}
        });
        let t2 = t.clone();
        socket.on("pair", move |Args((name, n)): Args<(String, u32)>| {
            let _ = t2.send(format!("pair {name} {n}"));
            async {}
        });
        let t3 = t.clone();
        socket.on("named", move |EventName(name): EventName, raw: RawArgs| {
            let _ = t3.send(format!("{name} {:?}", raw.args));
            async {}
        });
        // No argument at all: `Data<Option<_>>` sees null.
        let t4 = t.clone();
        socket.on("none", move |Data(v): Data<Option<u32>>| {
            let _ = t4.send(format!("none {v:?}"));
            async {}
        });
        async {}
    });
    let addr = serve(&io).await;
    let (mut client, _) = Client::connect(addr, "/").await;

    client
        .emit(
            "/",
            "chat",
            json!([{"room": "r1", "text": "hi \"there\"", "n": 7}]),
        )
        .await;
    assert_eq!(
        seen.next("chat").await,
        format!(
            "chat {:?}",
            Chat {
                room: "r1".into(),
                text: "hi \"there\"".into(),
                n: 7
            }
        )
    );
    client.emit("/", "pair", json!(["alice", 42])).await;
    assert_eq!(seen.next("pair").await, "pair alice 42");
    client.emit("/", "named", json!([1, {"a": [true]}])).await;
    assert_eq!(seen.next("named").await, r#"named ["1", "{\"a\":[true]}"]"#);
    client.emit("/", "none", json!([])).await;
    assert_eq!(seen.next("none").await, "none None");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payload_that_does_not_deserialize_skips_the_handler_and_the_socket_keeps_working() {
    let io = new_io();
    let (tx, mut seen) = probe::<Chat>();
    io.on_connection(move |socket: Socket| {
        let tx = tx.clone();
        socket.on("chat", move |Data(chat): Data<Chat>| {
            let _ = tx.send(chat);
            async {}
        });
        socket.on("ping", |socket: Socket| async move {
            let _ = socket.emit("pong", &());
        });
        async {}
    });
    let addr = serve(&io).await;
    let (mut client, _) = Client::connect(addr, "/").await;

    client.emit("/", "chat", json!([{"room": 1}])).await;
    client.emit("/", "chat", json!(["not a chat"])).await;
    client.emit("/", "ping", json!([])).await;
    client.next_event("/", "pong").await;
    seen.assert_none("a handler call for a bad payload", QUIET)
        .await;

    let good = Chat {
        room: "r".into(),
        text: "t".into(),
        n: 1,
    };
    client.emit("/", "chat", json!([good])).await;
    assert_eq!(seen.next("the good chat").await, good);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_taking_a_result_answers_a_payload_that_does_not_deserialize() {
    let io = new_io();
    io.on_connection(|socket: Socket| async move {
        socket.on(
            "chat",
            |chat: Result<Data<Chat>, socketio::ExtractError>, ack: AckSender| async move {
                let _ = match chat {
                    Ok(Data(chat)) => ack.send(&json!({ "ok": chat.text })),
                    Err(error) => ack.send(&json!({ "error": error.to_string() })),
                };
            },
        );
    });
    let addr = serve(&io).await;
    let (mut client, _) = Client::connect(addr, "/").await;

    client
        .emit_with_ack("/", "chat", json!(["not a chat"]), 1)
        .await;
    let answer = client.next_ack("/", 1).await;
    let error = answer[0]["error"].as_str().expect("an error answer");
    assert!(error.starts_with("payload does not match"), "{error}");
    let good = json!([{"room": "r", "text": "t", "n": 1}]);
    client.emit_with_ack("/", "chat", good, 2).await;
    assert_eq!(client.next_ack("/", 2).await, vec![json!({ "ok": "t" })]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_binary_emit_arrives_as_a_binary_event_with_an_attachment() {
    let io = new_io();
    io.on_connection(|socket: Socket| async move {
        let upload = Upload {
            name: "a.bin".into(),
            data: Bytes::from_static(&[1, 2, 3, 255]),
        };
        socket.emit("file", &upload).unwrap();
        socket
            .emit_args(
                "two",
                &(Bytes::from_static(b"x"), 5, Bytes::from_static(b"yz")),
            )
            .unwrap();
    });
    let addr = serve(&io).await;
    let (mut client, _) = Client::connect(addr, "/").await;

    let file = client.next_event("/", "file").await;
    assert_eq!(
        file.raw,
        r#"51-["file",{"name":"a.bin","data":{"_placeholder":true,"num":0}}]"#
    );
    assert_eq!(file.attachments, [Bytes::from_static(&[1, 2, 3, 255])]);

    let two = client.next_event("/", "two").await;
    assert_eq!(
        two.raw,
        r#"52-["two",{"_placeholder":true,"num":0},5,{"_placeholder":true,"num":1}]"#
    );
    assert_eq!(
        two.attachments,
        [Bytes::from_static(b"x"), Bytes::from_static(b"yz")]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_binary_event_reaches_a_typed_handler_and_binary_acks_go_back() {
    let io = new_io();
    let (tx, mut seen) = probe::<Upload>();
    io.on_connection(move |socket: Socket| {
        let tx = tx.clone();
        socket.on(
            "upload",
            move |Data(upload): Data<Upload>, ack: AckSender| {
                let _ = tx.send(upload.clone());
                let _ = ack.send(&upload.data);
                async {}
            },
        );
        async {}
    });
    let addr = serve(&io).await;
    let (mut client, _) = Client::connect(addr, "/").await;

    client
        .send(r#"51-["upload",{"name":"x.png","data":{"_placeholder":true,"num":0}}]"#)
        .await;
    client.send_binary(&[9, 8, 7]).await;
    assert_eq!(
        seen.next("the upload").await,
        Upload {
            name: "x.png".into(),
            data: Bytes::from_static(&[9, 8, 7])
        }
    );

    // With an ack id: the answer is a BINARY_ACK with its attachment.
    client
        .send(r#"51-12["upload",{"name":"y","data":{"_placeholder":true,"num":0}}]"#)
        .await;
    client.send_binary(b"hello").await;
    seen.next("the second upload").await;
    let ack = client.next().await;
    assert_eq!(ack.raw, r#"61-12[{"_placeholder":true,"num":0}]"#);
    assert_eq!(ack.attachments, [Bytes::from_static(b"hello")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_events_from_one_client_are_handled_in_order() {
    let io = new_io();
    let (tx, mut seen) = probe::<u32>();
    io.on_connection(move |socket: Socket| {
        let tx = tx.clone();
        socket.on("n", move |socket: Socket, Data(n): Data<u32>| {
            let _ = tx.send(n);
            let _ = socket.emit("echo", &n);
            async {}
        });
        async {}
    });
    let addr = serve(&io).await;
    let (mut client, _) = Client::connect(addr, "/").await;

    for i in 0..1000u32 {
        client.emit("/", "n", json!([i])).await;
    }
    let mut handled = Vec::with_capacity(1000);
    for _ in 0..1000 {
        handled.push(seen.next("a handled event").await);
    }
    assert_eq!(handled, (0..1000).collect::<Vec<_>>());
    for i in 0..1000u32 {
        assert_eq!(client.next_args("/", "echo").await, [json!(i)]);
    }
}

/// Node runs a listener synchronously up to its first `await`, before the next packet is
/// dispatched: what it emits there goes out before anything the next event's handler emits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_emit_before_its_first_await_precedes_the_next_events_reply() {
    let io = new_io();
    io.on_connection(|socket: Socket| async move {
        socket.on("slow", |socket: Socket| async move {
            let _ = socket.emit("slow-sync", &());
            tokio::time::sleep(Duration::from_millis(100)).await;
            let _ = socket.emit("slow-late", &());
        });
        socket.on("fast", |socket: Socket, ack: AckSender| async move {
            let _ = socket.emit("fast-reply", &());
            let _ = ack.send("fast-ack");
        });
    });
    let addr = serve(&io).await;
    let (mut client, _) = Client::connect(addr, "/").await;

    client.emit("/", "slow", json!([])).await;
    client.emit_with_ack("/", "fast", json!([]), 3).await;
    client.next_event("/", "slow-sync").await;
    client.next_event("/", "fast-reply").await;
    assert_eq!(client.next_ack("/", 3).await, [json!("fast-ack")]);
    client.next_event("/", "slow-late").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_any_sees_every_incoming_event_and_on_any_outgoing_every_emit() {
    let io = new_io();
    let (in_tx, mut incoming) = probe::<(String, Vec<String>)>();
    let (out_tx, mut outgoing) = probe::<(String, Vec<String>)>();
    let (h_tx, mut handled) = probe::<()>();
    io.on_connection(move |socket: Socket| {
        let in_tx = in_tx.clone();
        socket.on_any(move |_: Socket, event, args| {
            let _ = in_tx.send((
                event.to_string(),
                args.args.iter().map(|a| a.to_string()).collect(),
            ));
            async {}
        });
        let out_tx = out_tx.clone();
        socket.on_any_outgoing(move |_: Socket, event, args| {
            let _ = out_tx.send((
                event.to_string(),
                args.args.iter().map(|a| a.to_string()).collect(),
            ));
            async {}
        });
        let h_tx = h_tx.clone();
        socket.on("known", move |socket: Socket| {
            let _ = h_tx.send(());
            let _ = socket.emit_args("reply", &(1, "two"));
            async {}
        });
        async {}
    });
    let addr = serve(&io).await;
    let (mut client, _) = Client::connect(addr, "/").await;

    client.emit("/", "known", json!([{"a": 1}])).await;
    client.emit("/", "unknown", json!(["x", 2])).await;
    assert_eq!(
        incoming.next("on_any known").await,
        ("known".to_owned(), vec![r#"{"a":1}"#.to_owned()])
    );
    assert_eq!(
        incoming.next("on_any unknown").await,
        (
            "unknown".to_owned(),
            vec![r#""x""#.to_owned(), "2".to_owned()]
        )
    );
    handled.next("the known handler").await;
    assert_eq!(
        client.next_args("/", "reply").await,
        [json!(1), json!("two")]
    );
    assert_eq!(
        outgoing.next("on_any_outgoing reply").await,
        (
            "reply".to_owned(),
            vec!["1".to_owned(), r#""two""#.to_owned()]
        )
    );

    // Broadcasts reach the outgoing listeners of their recipients too.
    io.emit("news", &"hello").unwrap();
    assert_eq!(client.next_args("/", "news").await, [json!("hello")]);
    assert_eq!(
        outgoing.next("on_any_outgoing news").await,
        ("news".to_owned(), vec![r#""hello""#.to_owned()])
    );
    // Acks are not events: no outgoing report for them.
    incoming.assert_none("another incoming event", QUIET).await;
    outgoing.assert_none("another outgoing event", QUIET).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_middleware_refusal_skips_the_handler_and_reaches_on_error() {
    let io = new_io();
    let (tx, mut log) = probe::<String>();
    io.on_connection(move |socket: Socket| {
        let t = tx.clone();
        socket.use_middleware(move |_: Socket, event, _args| {
            let _ = t.send(format!("mw1 {event}"));
            async move {
                if event == "forbidden" {
                    return Err("not allowed".into());
                }
                Ok(())
            }
        });
        let t = tx.clone();
        socket.use_middleware(move |_: Socket, event, _args| {
            let t = t.clone();
            async move {
                // An async middleware: the chain waits for it.
                tokio::time::sleep(Duration::from_millis(10)).await;
                let _ = t.send(format!("mw2 {event}"));
                Ok(())
            }
        });
        let t = tx.clone();
        socket.on_error(move |_: Socket, error| {
            let _ = t.send(format!("error {error}"));
            async {}
        });
        for name in ["forbidden", "allowed"] {
            let t = tx.clone();
            socket.on(name, move |ack: AckSender| {
                let _ = t.send(format!("handler {name}"));
                let _ = ack.send(name);
                async {}
            });
        }
        async {}
    });
    let addr = serve(&io).await;
    let (mut client, _) = Client::connect(addr, "/").await;

    client.emit_with_ack("/", "forbidden", json!([]), 1).await;
    assert_eq!(log.next("mw1").await, "mw1 forbidden");
    assert_eq!(log.next("the error").await, "error not allowed");

    client.emit_with_ack("/", "allowed", json!([]), 2).await;
    // The refused event got no ack: the allowed one's is the next packet.
    assert_eq!(client.next_ack("/", 2).await, [json!("allowed")]);
    assert_eq!(log.next("mw1").await, "mw1 allowed");
    assert_eq!(log.next("mw2").await, "mw2 allowed");
    assert_eq!(log.next("the handler").await, "handler allowed");
    log.assert_none("anything more", QUIET).await;
    client.assert_quiet(QUIET).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_event_names_are_refused_by_emit() {
    let io = new_io();
    let (tx, mut results) = probe::<Vec<String>>();
    io.on_connection(move |socket: Socket| {
        let mut out = Vec::new();
        for name in [
            "connect",
            "connect_error",
            "disconnect",
            "disconnecting",
            "newListener",
            "removeListener",
        ] {
            match socket.emit(name, &1) {
                Err(EmitError::Reserved(n)) => out.push(n),
                other => out.push(format!("{name}: unexpected {other:?}")),
            }
        }
        match socket.to("room").emit("disconnect", &1) {
            Err(EmitError::Reserved(n)) => out.push(format!("to {n}")),
            other => out.push(format!("to: unexpected {other:?}")),
        }
        match socket.emit_args("connect", &(1, 2)) {
            Err(EmitError::Reserved(n)) => out.push(format!("args {n}")),
            other => out.push(format!("args: unexpected {other:?}")),
        }
        let _ = tx.send(out);
        let _ = socket.emit("fine", &1);
        async {}
    });
    let addr = serve(&io).await;
    let (mut client, _) = Client::connect(addr, "/").await;

    assert_eq!(
        results.next("the emit results").await,
        [
            "connect",
            "connect_error",
            "disconnect",
            "disconnecting",
            "newListener",
            "removeListener",
            "to disconnect",
            "args connect"
        ]
    );
    assert!(matches!(
        io.emit("disconnecting", &1),
        Err(EmitError::Reserved(_))
    ));
    // Nothing reserved went out: the next packet is the allowed emit.
    assert_eq!(client.next_args("/", "fine").await, [json!(1)]);
    client.assert_quiet(QUIET).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_event_with_a_reserved_name_closes_the_connection() {
    let io = new_io();
    let (tx, mut seen) = probe::<String>();
    io.on_connection(move |socket: Socket| {
        let t = tx.clone();
        socket.on_any(move |_: Socket, event, _| {
            let _ = t.send(format!("event {event}"));
            async {}
        });
        let tx = tx.clone();
        socket.on_disconnect(move |_: Socket, reason: DisconnectReason| {
            let _ = tx.send(format!("disconnect {reason}"));
            async {}
        });
        async {}
    });
    let addr = serve(&io).await;
    let (mut client, _) = Client::connect(addr, "/").await;

    client.emit("/", "disconnect", json!(["x"])).await;
    assert!(client.expect_closed().await.is_empty());
    // A parse error: Node's client.onerror closes the engine, "forced close".
    assert_eq!(seen.next("the disconnect").await, "disconnect forced close");
    assert!(io.of("/").sockets().is_empty());
}
