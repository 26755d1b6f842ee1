//! Acknowledgements both ways: a handler answering the client's callback, and the server's
//! `emit_with_ack` resolving, timing out, or failing when the client leaves.

mod common;
use common::*;

#[derive(Debug, PartialEq, Deserialize)]
struct Answer {
    ok: bool,
    n: u32,
}

async fn ack_server() -> (SocketIo, SocketAddr) {
    let io = new_io();
    let handlers = |socket: Socket| async move {
        socket.on("one", |ack: AckSender| async move {
            let _ = ack.send(&json!({"n": 1}));
        });
        socket.on("many", |ack: AckSender| async move {
            let _ = ack.send_args(&(1, "a", [true]));
        });
        socket.on("empty", |ack: AckSender| async move {
            let _ = ack.send_args(&());
        });
        socket.on("echo", |args: RawArgs, ack: AckSender| async move {
            let _ = ack.send_raw(args);
        });
        socket.on("later", |ack: AckSender| async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let _ = ack.send("later");
        });
        socket.on("requested", |socket: Socket, ack: AckSender| async move {
            let requested = ack.requested();
            // Without an id, sending is a no-op that succeeds.
            let sent = ack.send("ignored").is_ok();
            let _ = socket.emit("requested", &(requested, sent));
        });
    };
    io.on_connection(handlers);
    io.of("/custom").on_connection(handlers);
    let addr = serve(&io).await;
    (io, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_ack_answers_the_clients_callback() {
    let (_io, addr) = ack_server().await;
    let (mut client, _) = Client::connect(addr, "/").await;
    client.join_ok("/custom", None).await;

    client.emit_with_ack("/", "one", json!([]), 5).await;
    assert_eq!(client.next().await.raw, r#"35[{"n":1}]"#);
    client.emit_with_ack("/", "many", json!([]), 6).await;
    assert_eq!(client.next().await.raw, r#"36[1,"a",[true]]"#);
    client.emit_with_ack("/", "empty", json!([]), 7).await;
    assert_eq!(client.next().await.raw, "37[]");
    client
        .emit_with_ack("/", "echo", json!(["x", {"y": null}]), 0)
        .await;
    assert_eq!(client.next().await.raw, r#"30["x",{"y":null}]"#);
    client.emit_with_ack("/custom", "one", json!([]), 8).await;
    assert_eq!(client.next().await.raw, r#"3/custom,8[{"n":1}]"#);

    // An ack sent after an await, and acks answered out of order.
    client.emit_with_ack("/", "later", json!([]), 100).await;
    client.emit_with_ack("/", "one", json!([]), 101).await;
    assert_eq!(client.next_ack("/", 101).await, [json!({"n": 1})]);
    assert_eq!(client.next_ack("/", 100).await, [json!("later")]);

    // No id: the handler sees no request, and nothing is sent for it.
    client.emit("/", "requested", json!([])).await;
    assert_eq!(
        client.next_args("/", "requested").await,
        [json!([false, true])]
    );
    client.emit_with_ack("/", "requested", json!([]), 9).await;
    // The handler acks before it emits: both go out in that order.
    assert_eq!(client.next_ack("/", 9).await, [json!("ignored")]);
    assert_eq!(
        client.next_args("/", "requested").await,
        [json!([true, true])]
    );
    client.assert_quiet(QUIET).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emit_with_ack_resolves_with_the_clients_answer() {
    let (io, addr) = ack_server().await;
    let (mut client, sid) = Client::connect(addr, "/").await;
    let socket = socket_of(&io, "/", &sid);

    let s = socket.clone();
    let first = tokio::spawn(async move { s.emit_with_ack::<_, Answer>("q1", &"first").await });
    let s = socket.clone();
    let second = tokio::spawn(async move { s.emit_with_ack::<_, Value>("q2", &[1, 2]).await });

    let mut asked = Vec::new();
    for _ in 0..2 {
        let p = client.next().await;
        let id = p
            .ack_id()
            .unwrap_or_else(|| panic!("event without ack id: {:?}", p.raw));
        asked.push((p.event_name().unwrap().to_owned(), p.args(), id));
    }
    asked.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(asked[0].0, "q1");
    assert_eq!(asked[0].1, [json!("first")]);
    assert_eq!(asked[1].0, "q2");
    assert_eq!(asked[1].1, [json!([1, 2])]);
    assert_ne!(asked[0].2, asked[1].2, "each emit gets its own ack id");

    // Answered in the reverse order; extra arguments are ignored.
    client
        .ack("/", asked[1].2, json!([{"any": "thing"}, "extra"]))
        .await;
    client
        .ack("/", asked[0].2, json!([{"ok": true, "n": 3}]))
        .await;
    assert_eq!(
        within("the second ack", second).await.unwrap().unwrap(),
        json!({"any": "thing"})
    );
    assert_eq!(
        within("the first ack", first).await.unwrap().unwrap(),
        Answer { ok: true, n: 3 }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emit_with_ack_takes_a_binary_answer() {
    let (io, addr) = ack_server().await;
    let (mut client, sid) = Client::connect(addr, "/").await;
    let socket = socket_of(&io, "/", &sid);
    let pending = tokio::spawn(async move { socket.emit_with_ack::<_, Bytes>("file?", &()).await });
    let id = client.next_event("/", "file?").await.ack_id().unwrap();
    client
        .send(&format!(r#"61-{id}[{{"_placeholder":true,"num":0}}]"#))
        .await;
    client.send_binary(&[0, 1, 2]).await;
    assert_eq!(
        within("the binary ack", pending).await.unwrap().unwrap(),
        Bytes::from_static(&[0, 1, 2])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_of_the_wrong_type_is_a_deserialize_error() {
    let (io, addr) = ack_server().await;
    let (mut client, sid) = Client::connect(addr, "/").await;
    let socket = socket_of(&io, "/", &sid);
    let pending = tokio::spawn(async move { socket.emit_with_ack::<_, Answer>("q", &()).await });
    let id = client.next_event("/", "q").await.ack_id().unwrap();
    client.ack("/", id, json!(["not an answer"])).await;
    let result = within("the ack", pending).await.unwrap();
    assert!(
        matches!(result, Err(AckError::Deserialize(_))),
        "got {result:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emit_with_ack_times_out_when_the_client_never_answers() {
    let (io, addr) = ack_server().await;
    let (mut client, sid) = Client::connect(addr, "/").await;
    let socket = socket_of(&io, "/", &sid);

    let started = Instant::now();
    let s = socket.clone();
    let pending = tokio::spawn(async move {
        s.timeout(Duration::from_millis(200))
            .emit_with_ack::<_, Value>("silent", &1)
            .await
    });
    let id = client.next_event("/", "silent").await.ack_id().unwrap();
    let result = within("the timeout", pending).await.unwrap();
    assert!(matches!(result, Err(AckError::Timeout)), "got {result:?}");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(190),
        "timed out too early: {elapsed:?}"
    );

    // A late answer is ignored, and the socket keeps working.
    client.ack("/", id, json!(["late"])).await;
    client.emit_with_ack("/", "one", json!([]), 1).await;
    assert_eq!(client.next_ack("/", 1).await, [json!({"n": 1})]);
    assert!(socket.connected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emit_with_ack_waits_the_configured_ack_timeout_by_default() {
    let io = io_with(
        SocketIoConfig::builder()
            .ack_timeout(Duration::from_millis(300))
            .build(),
    );
    let addr = serve(&io).await;
    let (mut client, sid) = Client::connect(addr, "/").await;
    let socket = socket_of(&io, "/", &sid);
    let started = Instant::now();
    let pending = tokio::spawn(async move { socket.emit_with_ack::<_, Value>("silent", &1).await });
    client.next_event("/", "silent").await;
    let result = within("the timeout", pending).await.unwrap();
    assert!(matches!(result, Err(AckError::Timeout)), "got {result:?}");
    let elapsed = started.elapsed();
    assert!(
        (Duration::from_millis(290)..Duration::from_secs(3)).contains(&elapsed),
        "timed out after {elapsed:?}, configured 300 ms"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_ack_fails_with_disconnected_when_the_client_leaves() {
    let (io, addr) = ack_server().await;

    // The client closes its connection.
    let (mut client, sid) = Client::connect(addr, "/").await;
    let socket = socket_of(&io, "/", &sid);
    let pending = tokio::spawn(async move {
        socket
            .timeout(Duration::from_secs(30))
            .emit_with_ack::<_, Value>("never", &1)
            .await
    });
    client.next_event("/", "never").await;
    client.close().await;
    let result = within("the failed ack", pending).await.unwrap();
    assert!(
        matches!(result, Err(AckError::Disconnected)),
        "got {result:?}"
    );

    // The client leaves the namespace only.
    let (mut client, sid) = Client::connect(addr, "/").await;
    let socket = socket_of(&io, "/", &sid);
    let pending = tokio::spawn(async move {
        socket
            .timeout(Duration::from_secs(30))
            .emit_with_ack::<_, Value>("never", &1)
            .await
    });
    client.next_event("/", "never").await;
    client.send("1").await;
    let result = within("the failed ack", pending).await.unwrap();
    assert!(
        matches!(result, Err(AckError::Disconnected)),
        "got {result:?}"
    );

    // Emitting on a departed socket fails at once.
    let (mut client, sid) = Client::connect(addr, "/").await;
    let socket = socket_of(&io, "/", &sid);
    socket.disconnect(false);
    assert!(client.next().await.is_disconnect());
    let result = socket.emit_with_ack::<_, Value>("x", &1).await;
    assert!(
        matches!(result, Err(AckError::Emit(EmitError::Disconnected))),
        "got {result:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_stay_in_their_namespace() {
    let (io, addr) = ack_server().await;
    let (mut client, _) = Client::connect(addr, "/").await;
    let custom_sid = client.join_ok("/custom", None).await;
    let socket = socket_of(&io, "/custom", &custom_sid);

    let pending = tokio::spawn(async move {
        socket
            .emit_with_ack::<_, String>("q", &Bytes::from_static(b"bin"))
            .await
    });
    let p = client.next_event("/custom", "q").await;
    let id = p.ack_id().unwrap();
    assert_eq!(
        p.raw,
        format!(r#"51-/custom,{id}["q",{{"_placeholder":true,"num":0}}]"#)
    );
    assert_eq!(p.attachments, [Bytes::from_static(b"bin")]);

    // An answer with the right id on the wrong namespace does not resolve it.
    client.ack("/", id, json!(["wrong namespace"])).await;
    client.emit_with_ack("/", "one", json!([]), 1).await;
    assert_eq!(client.next_ack("/", 1).await, [json!({"n": 1})]);
    assert!(!pending.is_finished());
    client.ack("/custom", id, json!(["right"])).await;
    assert_eq!(within("the ack", pending).await.unwrap().unwrap(), "right");
}
