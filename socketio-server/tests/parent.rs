//! Dynamic namespaces as Node's `ParentNamespace`: the parent's middlewares and connection
//! handlers run for its children, a broadcast on the parent reaches every child, and the parent
//! has no adapter of its own.

mod common;
use common::*;
use socketio::adapter::{Adapter, LocalAdapter, NamespaceRef};
use socketio::ParentNamespace;

/// A server whose adapter factory reports the name of every namespace it makes an adapter for.
fn io_recording_adapters() -> (SocketIo, Arc<Mutex<Vec<String>>>) {
    let created = Arc::new(Mutex::new(Vec::new()));
    let record = created.clone();
    let io = SocketIo::builder()
        .adapter(move |name: &parser::Str, namespace: NamespaceRef| {
            record.lock().unwrap().push(name.to_string());
            Arc::new(LocalAdapter::new(namespace)) as Arc<dyn Adapter>
        })
        .build();
    (io, created)
}

/// A parent of `/room-<number>` whose children greet each socket with their name.
fn rooms_parent(io: &SocketIo) -> ParentNamespace {
    let rooms = io.of_dynamic(|name, _auth| {
        name.strip_prefix("/room-")
            .is_some_and(|n| n.parse::<u32>().is_ok())
    });
    rooms.on_connection(|socket: Socket| async move {
        let _ = socket.emit("hello", socket.namespace().name().as_str());
    });
    rooms
}

fn child_names(parent: &ParentNamespace) -> Vec<String> {
    sorted(
        parent
            .children()
            .iter()
            .map(|child| child.name().to_string()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_parent_middlewares_and_handlers_run_for_every_child() {
    let (io, created) = io_recording_adapters();
    let rooms = io.of_dynamic(|name, _auth| name.starts_with("/room-"));
    let (mw_tx, mut middlewares) = probe::<(String, bool)>();
    rooms.use_middleware(move |socket: Socket| {
        let _ = mw_tx.send((socket.namespace().name().to_string(), socket.connected()));
        let allowed = socket.handshake().auth["token"] == "ok";
        async move {
            match allowed {
                true => Ok(()),
                false => Err(ConnectError::new("no token")),
            }
        }
    });
    let (first_tx, mut first) = probe::<String>();
    rooms.on_connection(move |socket: Socket| {
        let _ = first_tx.send(socket.namespace().name().to_string());
        async move {
            let _ = socket.emit("hello", socket.namespace().name().as_str());
        }
    });
    let addr = serve(&io).await;
    // The parent made no adapter: only `/` has one.
    assert_eq!(*created.lock().unwrap(), ["/"]);

    let mut a = Client::open(addr).await;
    a.join_ok("/room-1", Some(json!({"token": "ok"}))).await;
    assert_eq!(a.next_args("/room-1", "hello").await, [json!("/room-1")]);
    assert_eq!(middlewares.next("/room-1's middleware").await.0, "/room-1");
    assert_eq!(first.next("/room-1's handler").await, "/room-1");

    a.join_ok("/room-2", Some(json!({"token": "ok"}))).await;
    assert_eq!(a.next_args("/room-2", "hello").await, [json!("/room-2")]);
    assert_eq!(middlewares.next("/room-2's middleware").await.0, "/room-2");
    assert_eq!(first.next("/room-2's handler").await, "/room-2");
    // The parent's middleware refuses in the child, with its message.
    let mut b = Client::open(addr).await;
    assert_eq!(
        b.join("/room-1", None).await,
        Err(json!({"message": "no token"}))
    );
    assert_eq!(
        middlewares.next("the refusing middleware").await.0,
        "/room-1"
    );
    first
        .assert_none("a handler for a refused socket", QUIET)
        .await;

    // As in Node, a child starts with the parent's handlers of the moment it is made: one
    // added now runs in children made from now on, not in `/room-1` or `/room-2`.
    let (late_tx, mut late) = probe::<String>();
    rooms.on_connection(move |socket: Socket| {
        let _ = late_tx.send(socket.namespace().name().to_string());
        async {}
    });
    b.join_ok("/room-1", Some(json!({"token": "ok"}))).await;
    assert_eq!(b.next_args("/room-1", "hello").await, [json!("/room-1")]);
    assert_eq!(first.next("/room-1's handler again").await, "/room-1");
    b.join_ok("/room-3", Some(json!({"token": "ok"}))).await;
    assert_eq!(b.next_args("/room-3", "hello").await, [json!("/room-3")]);
    assert_eq!(late.next("the late handler in /room-3").await, "/room-3");
    late.assert_none("the late handler in an older child", QUIET)
        .await;

    assert_eq!(child_names(&rooms), ["/room-1", "/room-2", "/room-3"]);
    // Each child has an adapter of its own, made once.
    assert_eq!(
        sorted(created.lock().unwrap().iter()),
        ["/", "/room-1", "/room-2", "/room-3"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_on_the_parent_reaches_the_sockets_of_every_child() {
    let io = new_io();
    let rooms = rooms_parent(&io);
    io.of("/other").on_connection(|_: Socket| async {});
    let addr = serve(&io).await;

    // Nothing to reach yet: a broadcast to no child is not an error.
    rooms.emit("nobody", &()).unwrap();
    let mut one = Client::open(addr).await;
    let one_sid = one.join_ok("/room-1", None).await;
    assert_eq!(one.next_args("/room-1", "hello").await, [json!("/room-1")]);
    let mut two = Client::open(addr).await;
    let two_sid = two.join_ok("/room-2", None).await;
    assert_eq!(two.next_args("/room-2", "hello").await, [json!("/room-2")]);
    // Neither on `/` nor on a static namespace.
    let (mut main, _) = Client::connect(addr, "/").await;
    let mut other = Client::open(addr).await;
    other.join_ok("/other", None).await;

    rooms.emit("news", "for every room").unwrap();
    assert_eq!(
        one.next_args("/room-1", "news").await,
        [json!("for every room")]
    );
    assert_eq!(
        two.next_args("/room-2", "news").await,
        [json!("for every room")]
    );

    // Rooms and flags apply in each child.
    socket_of(&io, "/room-2", &two_sid).join("vip");
    rooms.to("vip").emit("vip", &1).unwrap();
    assert_eq!(two.next_args("/room-2", "vip").await, [json!(1)]);
    rooms.except("vip").emit("not-vip", &2).unwrap();
    assert_eq!(one.next_args("/room-1", "not-vip").await, [json!(2)]);
    rooms
        .broadcast()
        .local()
        .emit_args("args", &(1, "two"))
        .unwrap();
    assert_eq!(
        one.next_args("/room-1", "args").await,
        [json!(1), json!("two")]
    );
    assert_eq!(
        two.next_args("/room-2", "args").await,
        [json!(1), json!("two")]
    );

    // The answers of every child.
    let asking = rooms.timeout(WAIT);
    let answers = tokio::spawn(async move { asking.emit_with_ack::<_, String>("poll", &()).await });
    for (client, nsp, answer) in [(&mut one, "/room-1", "one"), (&mut two, "/room-2", "two")] {
        let poll = client.next_event(nsp, "poll").await;
        client
            .ack(nsp, poll.ack_id().expect("an ack id"), json!([answer]))
            .await;
    }
    let answers = answers.await.unwrap().expect("every answer");
    assert_eq!(sorted(answers), ["one", "two"]);

    // The operations on sockets too.
    let found = rooms.fetch_sockets().await.unwrap();
    assert_eq!(
        sorted(found.iter().map(|s| s.id.to_string())),
        sorted([&one_sid, &two_sid])
    );
    rooms.sockets_join("everyone");
    assert!(socket_of(&io, "/room-1", &one_sid)
        .rooms()
        .iter()
        .any(|r| r.as_str() == "everyone"));
    assert!(socket_of(&io, "/room-2", &two_sid)
        .rooms()
        .iter()
        .any(|r| r.as_str() == "everyone"));
    rooms.sockets_leave("everyone");
    assert!(!socket_of(&io, "/room-2", &two_sid)
        .rooms()
        .iter()
        .any(|r| r.as_str() == "everyone"));

    main.assert_quiet(QUIET).await;
    other.assert_quiet(Duration::ZERO).await;

    rooms.to("vip").disconnect_sockets(false);
    assert!(two.next().await.is_disconnect());
    one.assert_quiet(QUIET).await;
    rooms.disconnect_sockets(false);
    assert!(one.next().await.is_disconnect());
    main.assert_quiet(QUIET).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emptied_child_stays_by_default() {
    let (io, created) = io_recording_adapters();
    let rooms = rooms_parent(&io);
    let addr = serve(&io).await;

    let (a, _) = Client::connect(addr, "/room-1").await;
    a.close().await;
    // The child stays, as it was: a handler added now does not run in it.
    eventually("the socket to leave", || {
        io.of("/room-1").sockets().is_empty()
    })
    .await;
    let (tx, mut late) = probe::<String>();
    rooms.on_connection(move |socket: Socket| {
        let _ = tx.send(socket.namespace().name().to_string());
        async {}
    });
    let (mut b, _) = Client::connect(addr, "/room-1").await;
    assert_eq!(b.next_args("/room-1", "hello").await, [json!("/room-1")]);
    late.assert_none("a handler added after the child was made", QUIET)
        .await;
    assert_eq!(child_names(&rooms), ["/room-1"]);
    assert_eq!(sorted(created.lock().unwrap().iter()), ["/", "/room-1"]);
}
