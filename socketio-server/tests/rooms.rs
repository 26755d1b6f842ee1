//! Rooms and broadcasts, with several clients: who each operator reaches, broadcasts with
//! acknowledgements, and rooms left on disconnect.

mod common;
use common::*;

/// `n` clients connected to `/` on `io`, with their server-side sockets.
async fn connect_all(io: &SocketIo, addr: SocketAddr, n: usize) -> (Vec<Client>, Vec<Socket>) {
    let mut clients = Vec::new();
    let mut sockets = Vec::new();
    for _ in 0..n {
        let (client, sid) = Client::connect(addr, "/").await;
        sockets.push(socket_of(io, "/", &sid));
        clients.push(client);
    }
    (clients, sockets)
}

/// After a broadcast of `event` with `arg`: emits a control event to everyone, then checks that
/// exactly the `recipients` got the broadcast, once, before the control, and the others got the
/// control first.
async fn expect_only(
    io: &SocketIo,
    clients: &mut [Client],
    recipients: &[usize],
    event: &str,
    arg: Value,
) {
    io.emit("control", &()).unwrap();
    for (i, client) in clients.iter_mut().enumerate() {
        let p = client.next().await;
        if recipients.contains(&i) {
            assert_eq!(
                (p.event_name(), p.args()),
                (Some(event), vec![arg.clone()]),
                "client {i} should get {event:?} first, got {:?}",
                p.raw
            );
            let p = client.next().await;
            assert_eq!(
                p.event_name(),
                Some("control"),
                "client {i} should get {event:?} once then the control, got {:?}",
                p.raw
            );
        } else {
            assert_eq!(
                p.event_name(),
                Some("control"),
                "client {i} should not get {event:?}, got {:?}",
                p.raw
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_leave_and_rooms() {
    let io = new_io();
    io.on_connection(|socket: Socket| async move {
        socket.on(
            "join",
            |socket: Socket, Data(room): Data<String>, ack: AckSender| async move {
                socket.join(room);
                let _ = ack.send(&sorted(socket.rooms()));
            },
        );
        socket.on(
            "leave",
            |socket: Socket, Data(room): Data<String>, ack: AckSender| async move {
                socket.leave(room);
                let _ = ack.send(&sorted(socket.rooms()));
            },
        );
    });
    let addr = serve(&io).await;
    let (mut client, sid) = Client::connect(addr, "/").await;
    let socket = socket_of(&io, "/", &sid);

    // A socket starts in the room named by its own id.
    assert_eq!(sorted(socket.rooms()), [sid.as_str()]);
    client.emit_with_ack("/", "join", json!(["a"]), 1).await;
    assert_eq!(
        client.next_ack("/", 1).await,
        [json!(sorted([sid.as_str(), "a"]))]
    );
    socket.join(["b", "c"]);
    socket.join("a"); // joining twice is a no-op
    assert_eq!(
        sorted(socket.rooms()),
        sorted([sid.as_str(), "a", "b", "c"])
    );
    client.emit_with_ack("/", "leave", json!(["b"]), 2).await;
    assert_eq!(
        client.next_ack("/", 2).await,
        [json!(sorted([sid.as_str(), "a", "c"]))]
    );
    socket.leave("not-a-member"); // leaving a room one is not in is a no-op
    socket.leave("a");
    assert_eq!(sorted(socket.rooms()), sorted([sid.as_str(), "c"]));
    assert_eq!(io.to("c").socket_ids(), [sid.as_str()]);
    assert!(io.to("a").socket_ids().is_empty());
    assert_eq!(io.to(sid.as_str()).socket_ids(), [sid.as_str()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_may_leave_its_own_room_and_others_may_join_it() {
    let io = new_io();
    let addr = serve(&io).await;
    let (mut clients, sockets) = connect_all(&io, addr, 3).await;
    let (a, b) = (sockets[0].id().clone(), sockets[1].id().clone());

    // Joining the room named by another socket's id puts one beside that socket.
    sockets[2].join(a.clone());
    assert_eq!(
        sorted(io.to(a.clone()).socket_ids()),
        sorted([a.as_str(), sockets[2].id().as_str()])
    );
    io.to(a.clone()).emit("m", &"to a").unwrap();
    expect_only(&io, &mut clients, &[0, 2], "m", json!("to a")).await;

    // As in Node, a socket can leave its own room: it is then out of broadcasts to it, and
    // `except` its id no longer excludes it.
    sockets[1].leave(b.clone());
    assert!(!sockets[1].rooms().contains(b.as_room()));
    assert!(io.to(b.clone()).socket_ids().is_empty());
    io.except(b.clone()).emit("m", &"all").unwrap();
    expect_only(&io, &mut clients, &[0, 1, 2], "m", json!("all")).await;
    sockets[1].join(b.clone());
    assert_eq!(io.to(b.clone()).socket_ids(), [b.as_str()]);
    io.except(b.clone()).emit("m", &"not b").unwrap();
    expect_only(&io, &mut clients, &[0, 2], "m", json!("not b")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn io_to_a_room_reaches_its_members_only() {
    let io = new_io();
    let addr = serve(&io).await;
    let (mut clients, sockets) = connect_all(&io, addr, 3).await;
    sockets[0].join("r");
    sockets[1].join("r");
    io.to("r").emit("m", &"hi").unwrap();
    expect_only(&io, &mut clients, &[0, 1], "m", json!("hi")).await;

    // A socket's own id is a room.
    io.to(sockets[2].id().clone()).emit("m", &"you").unwrap();
    expect_only(&io, &mut clients, &[2], "m", json!("you")).await;

    // A room nobody is in reaches nobody.
    io.to("empty").emit("m", &"nobody").unwrap();
    expect_only(&io, &mut clients, &[], "m", json!("nobody")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_to_a_room_excludes_the_sender() {
    let io = new_io();
    io.on_connection(|socket: Socket| async move {
        socket.join("r");
        socket.on(
            "say",
            |socket: Socket, Data(text): Data<String>, ack: AckSender| async move {
                let _ = socket.to("r").emit("said", &text);
                let _ = ack.send("sent");
            },
        );
    });
    let addr = serve(&io).await;
    let (mut clients, sockets) = connect_all(&io, addr, 4).await;
    sockets[3].leave("r");

    clients[0]
        .emit_with_ack("/", "say", json!(["hello"]), 1)
        .await;
    // The ack comes after the broadcast was queued, and first: the sender got no copy.
    assert_eq!(clients[0].next_ack("/", 1).await, [json!("sent")]);
    expect_only(&io, &mut clients, &[1, 2], "said", json!("hello")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_broadcast_reaches_everyone_but_the_sender() {
    let io = new_io();
    let addr = serve(&io).await;
    let (mut clients, sockets) = connect_all(&io, addr, 4).await;
    sockets[1].broadcast().emit("b", &1).unwrap();
    expect_only(&io, &mut clients, &[0, 2, 3], "b", json!(1)).await;
    // broadcast().to(room): members but the sender.
    sockets[1].join("r");
    sockets[2].join("r");
    sockets[1].broadcast().to("r").emit("b", &2).unwrap();
    expect_only(&io, &mut clients, &[2], "b", json!(2)).await;
    // socket.except(room): everyone but the room's members and the sender.
    sockets[0].except("r").emit("b", &3).unwrap();
    expect_only(&io, &mut clients, &[3], "b", json!(3)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn io_except_and_to_except() {
    let io = new_io();
    let addr = serve(&io).await;
    let (mut clients, sockets) = connect_all(&io, addr, 4).await;
    sockets[0].join("x");
    io.except("x").emit("e", &1).unwrap();
    expect_only(&io, &mut clients, &[1, 2, 3], "e", json!(1)).await;

    sockets[1].join(["r", "muted"]);
    sockets[2].join("r");
    sockets[3].join("r");
    io.to("r").except("muted").emit("e", &2).unwrap();
    expect_only(&io, &mut clients, &[2, 3], "e", json!(2)).await;
    io.to("r")
        .except(["muted", "x"])
        .except(sockets[3].id().clone())
        .emit("e", &3)
        .unwrap();
    expect_only(&io, &mut clients, &[2], "e", json!(3)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn to_several_rooms_reaches_their_union_once_each() {
    let io = new_io();
    let addr = serve(&io).await;
    let (mut clients, sockets) = connect_all(&io, addr, 4).await;
    sockets[0].join("a");
    sockets[1].join("b");
    sockets[2].join(["a", "b"]);
    io.to("a").to("b").emit("u", &1).unwrap();
    expect_only(&io, &mut clients, &[0, 1, 2], "u", json!(1)).await;
    io.to(["a", "b"]).emit("u", &2).unwrap();
    expect_only(&io, &mut clients, &[0, 1, 2], "u", json!(2)).await;
    // From a socket in both rooms: the others of the union.
    sockets[2].to("a").to("b").emit("u", &3).unwrap();
    expect_only(&io, &mut clients, &[0, 1], "u", json!(3)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_emit_reaches_that_namespace_only() {
    let io = new_io();
    io.of("/other");
    let addr = serve(&io).await;
    let (mut both, _) = Client::connect(addr, "/").await;
    both.join_ok("/other", None).await;
    let (mut main_only, _) = Client::connect(addr, "/").await;
    let mut other_only = Client::open(addr).await;
    other_only.join_ok("/other", None).await;

    io.of("/other").emit("o", &"x").unwrap();
    io.of("/other").emit("control", &()).unwrap();
    io.emit("control", &()).unwrap();
    assert_eq!(both.next().await.raw, r#"2/other,["o","x"]"#);
    both.next_event("/other", "control").await;
    both.next_event("/", "control").await;
    main_only.next_event("/", "control").await;
    other_only.next_args("/other", "o").await;
    other_only.next_event("/other", "control").await;
    other_only.assert_quiet(QUIET).await;
    main_only.assert_quiet(QUIET).await;

    // Rooms are per namespace.
    io.of("/other").sockets()[0].join("r");
    io.to("r").emit("m", &1).unwrap();
    io.emit("control", &()).unwrap();
    both.next_event("/", "control").await;
    main_only.next_event("/", "control").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volatile_emits_to_a_writable_socket_arrive() {
    let io = new_io();
    let addr = serve(&io).await;
    let (mut clients, sockets) = connect_all(&io, addr, 2).await;
    assert!(sockets[0].is_writable());
    sockets[0].volatile().emit("v", &1).expect("queued");
    assert_eq!(clients[0].next_args("/", "v").await, [json!(1)]);
    io.volatile().emit("v", &2).unwrap();
    expect_only(&io, &mut clients, &[0, 1], "v", json!(2)).await;
    sockets[1].join("r");
    io.to("r").volatile().emit("v", &3).unwrap();
    expect_only(&io, &mut clients, &[1], "v", json!(3)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_emit_with_ack_collects_every_answer() {
    let io = new_io();
    let addr = serve(&io).await;
    let (mut clients, sockets) = connect_all(&io, addr, 3).await;
    sockets[0].join("r");
    sockets[2].join("r");

    let server = io.clone();
    let pending = tokio::spawn(async move {
        server
            .timeout(Duration::from_secs(3))
            .emit_with_ack::<_, u32>("q", &"all")
            .await
    });
    for (i, client) in clients.iter_mut().enumerate() {
        let p = client.next_event("/", "q").await;
        assert_eq!(p.args(), [json!("all")]);
        let id = p.ack_id().expect("an ack id");
        client.ack("/", id, json!([i * 10])).await;
    }
    let mut answers = within("the broadcast acks", pending)
        .await
        .unwrap()
        .expect("every client answered");
    answers.sort();
    assert_eq!(answers, [0, 10, 20]);

    // To a room: only its members are asked and awaited.
    let server = io.clone();
    let pending = tokio::spawn(async move {
        server
            .to("r")
            .timeout(Duration::from_secs(3))
            .emit_with_ack::<_, String>("q", &"room")
            .await
    });
    for i in [0, 2] {
        let p = clients[i].next_event("/", "q").await;
        clients[i]
            .ack("/", p.ack_id().unwrap(), json!([format!("c{i}")]))
            .await;
    }
    let mut answers = within("the room acks", pending).await.unwrap().unwrap();
    answers.sort();
    assert_eq!(answers, ["c0", "c2"]);
    io.emit("control", &()).unwrap();
    clients[1].next_event("/", "control").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raw_broadcast_ack_returns_each_answer_whole_bytes_included() {
    let io = new_io();
    let addr = serve(&io).await;
    let (mut clients, _) = connect_all(&io, addr, 2).await;

    let server = io.clone();
    let pending = tokio::spawn(async move {
        let question = RawArgs {
            args: vec![r#"{"_placeholder":true,"num":0}"#.into()],
            attachments: vec![Bytes::from_static(b"?")],
        };
        server
            .timeout(Duration::from_secs(3))
            .emit_with_ack_raw("q", question)
            .await
    });
    // One client answers with two arguments, the second binary; the other with plain JSON.
    let p = clients[0].next_event("/", "q").await;
    clients[0]
        .send(&format!(
            r#"61-{}["a",{{"_placeholder":true,"num":0}}]"#,
            p.ack_id().unwrap()
        ))
        .await;
    clients[0].send_binary(&[7, 8]).await;
    let p = clients[1].next_event("/", "q").await;
    clients[1]
        .ack("/", p.ack_id().unwrap(), json!([{"n": 1}]))
        .await;

    let mut answers = within("the raw acks", pending).await.unwrap().unwrap();
    answers.sort_by_key(|a| a.args.len());
    assert_eq!(answers[0].args, [r#"{"n":1}"#]);
    assert!(answers[0].attachments.is_empty());
    assert_eq!(
        answers[1].args,
        [r#""a""#, r#"{"_placeholder":true,"num":0}"#]
    );
    assert_eq!(answers[1].attachments, [Bytes::from_static(&[7, 8])]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_ack_with_a_silent_client_returns_the_others_answers_after_the_timeout() {
    let io = new_io();
    let addr = serve(&io).await;
    let (mut clients, _) = connect_all(&io, addr, 3).await;

    let server = io.clone();
    let started = Instant::now();
    let pending = tokio::spawn(async move {
        server
            .timeout(Duration::from_millis(300))
            .emit_with_ack::<_, u32>("q", &())
            .await
    });
    for (i, client) in clients.iter_mut().enumerate() {
        let p = client.next_event("/", "q").await;
        if i != 1 {
            client.ack("/", p.ack_id().unwrap(), json!([i])).await;
        }
    }
    let result = within("the broadcast ack timeout", pending).await.unwrap();
    let elapsed = started.elapsed();
    let err = result.expect_err("one client was silent");
    let BroadcastAckError::Timeout {
        mut received,
        expected,
    } = err
    else {
        panic!("expected a timeout, got {err}");
    };
    received.sort();
    assert_eq!((received, expected), (vec![0, 2], Some(3)));
    assert!(
        elapsed >= Duration::from_millis(290),
        "gave up too early: {elapsed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_are_left_on_disconnect() {
    let io = new_io();
    let (tx, mut gone) = probe::<String>();
    io.on_connection(move |socket: Socket| {
        socket.join("r");
        let tx = tx.clone();
        socket.on_disconnect(move |socket: Socket, _: DisconnectReason| {
            let _ = tx.send(socket.id().to_string());
            async {}
        });
        async {}
    });
    io.of("/custom");
    let addr = serve(&io).await;
    let (mut clients, sockets) = connect_all(&io, addr, 3).await;
    clients[0].join_ok("/custom", None).await;
    let ids: Vec<String> = sockets.iter().map(|s| s.id().to_string()).collect();

    // Client 0 leaves `/` but keeps its connection (for `/custom`).
    clients[0].send("1").await;
    assert_eq!(gone.next("the first disconnect").await, ids[0]);
    // Client 1 closes its connection.
    let closed = clients.remove(1);
    closed.close().await;
    assert_eq!(gone.next("the second disconnect").await, ids[1]);

    assert!(sockets[0].rooms().is_empty());
    assert!(sockets[1].rooms().is_empty());
    assert_eq!(io.to("r").socket_ids(), [ids[2].as_str()]);
    let fetched = io.to("r").fetch_sockets().await.unwrap();
    assert_eq!(
        fetched.iter().map(|s| s.id.to_string()).collect::<Vec<_>>(),
        [ids[2].clone()]
    );
    assert_eq!(io.fetch_sockets().await.unwrap().len(), 1);

    io.to("r").emit("m", &1).unwrap();
    io.to(ids[0].as_str()).emit("m", &2).unwrap();
    io.of("/custom").emit("control", &()).unwrap();
    // Client 0, still connected, gets neither message: only the /custom control.
    clients[0].next_event("/custom", "control").await;
    clients[0].assert_quiet(QUIET).await;
    assert_eq!(clients[1].next_args("/", "m").await, [json!(1)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binary_broadcast_carries_its_attachments_to_every_recipient() {
    let io = new_io();
    let addr = serve(&io).await;
    let (mut clients, sockets) = connect_all(&io, addr, 3).await;
    sockets[0].join("r");
    sockets[2].join("r");
    io.to("r")
        .emit_args("bin", &("name", Bytes::from_static(&[7, 7, 7])))
        .unwrap();
    io.emit("control", &()).unwrap();
    for i in [0, 2] {
        let p = clients[i].next_event("/", "bin").await;
        assert_eq!(p.raw, r#"51-["bin","name",{"_placeholder":true,"num":0}]"#);
        assert_eq!(p.attachments, [Bytes::from_static(&[7, 7, 7])]);
        clients[i].next_event("/", "control").await;
    }
    clients[1].next_event("/", "control").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_emitter_has_the_same_family_and_errors_say_what_went_wrong() {
    let io = new_io();
    let addr = serve(&io).await;
    let (mut client, id) = Client::connect(addr, "/").await;
    let socket = socket_of(&io, "/", &id);
    socket.join(["a", "b", "c"]);
    socket.leave(vec!["a", "b"]);
    assert!(!socket.rooms().iter().any(|r| r == "a" || r == "b"));

    io.emit_args("pair", &(1, "two")).unwrap();
    assert_eq!(
        client.next_args("/", "pair").await,
        [json!(1), json!("two")]
    );
    let raw = RawArgs {
        args: vec![Str::from("{\"k\":3}")],
        attachments: Vec::new(),
    };
    io.of("/").emit_raw("raw", raw).unwrap();
    assert_eq!(client.next_args("/", "raw").await, [json!({"k": 3})]);

    // A broadcast that cannot go out says why, rather than "nobody answered".
    let refused = io.emit_with_ack::<_, Value>("disconnect", &1).await;
    assert!(
        matches!(
            refused,
            Err(BroadcastAckError::Emit(EmitError::Reserved(ref name))) if name == "disconnect"
        ),
        "{refused:?}"
    );
}
