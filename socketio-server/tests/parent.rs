//! Dynamic namespaces as Node's `ParentNamespace`: the parent's middlewares and connection
//! handlers run for its children, a broadcast on the parent reaches every child, the parent has
//! no adapter of its own, and `cleanup_empty_child_namespaces` removes an emptied child.

mod common;
use common::*;
use socketio::adapter::{Adapter, LocalAdapter, NamespaceRef};
use socketio::ParentNamespace;

/// A server whose adapter factory reports the name of every namespace it makes an adapter for.
fn io_recording_adapters(cleanup: bool) -> (SocketIo, Arc<Mutex<Vec<String>>>) {
    let created = Arc::new(Mutex::new(Vec::new()));
    let record = created.clone();
    let io = SocketIo::builder()
        .adapter(move |name: &parser::Str, namespace: NamespaceRef| {
            record.lock().unwrap().push(name.to_string());
            Arc::new(LocalAdapter::new(namespace)) as Arc<dyn Adapter>
        })
        .cleanup_empty_child_namespaces(cleanup)
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
    let (io, created) = io_recording_adapters(false);
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
    rooms
        .sockets_join("everyone")
        .expect("the operation reaches the cluster");
    assert!(socket_of(&io, "/room-1", &one_sid)
        .rooms()
        .iter()
        .any(|r| r.as_str() == "everyone"));
    assert!(socket_of(&io, "/room-2", &two_sid)
        .rooms()
        .iter()
        .any(|r| r.as_str() == "everyone"));
    rooms
        .sockets_leave("everyone")
        .expect("the operation reaches the cluster");
    assert!(!socket_of(&io, "/room-2", &two_sid)
        .rooms()
        .iter()
        .any(|r| r.as_str() == "everyone"));

    main.assert_quiet(QUIET).await;
    other.assert_quiet(Duration::ZERO).await;

    rooms
        .to("vip")
        .disconnect_sockets(false)
        .expect("the operation reaches the cluster");
    assert!(two.next().await.is_disconnect());
    one.assert_quiet(QUIET).await;
    rooms
        .disconnect_sockets(false)
        .expect("the operation reaches the cluster");
    assert!(one.next().await.is_disconnect());
    main.assert_quiet(QUIET).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emptied_child_stays_by_default() {
    let (io, created) = io_recording_adapters(false);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_cleanup_an_emptied_child_is_removed_and_made_again() {
    let (io, created) = io_recording_adapters(true);
    let rooms = rooms_parent(&io);
    let (static_tx, mut static_seen) = probe::<()>();
    io.of("/static").on_connection(move |_: Socket| {
        let _ = static_tx.send(());
        async {}
    });
    let addr = serve(&io).await;

    let (a, _) = Client::connect(addr, "/room-1").await;
    let (b, _) = Client::connect(addr, "/room-1").await;
    assert_eq!(child_names(&rooms), ["/room-1"]);
    a.close().await;
    eventually("a to leave", || io.of("/room-1").sockets().len() == 1).await;
    // One socket left: the child stays.
    assert_eq!(child_names(&rooms), ["/room-1"]);
    b.close().await;
    eventually("the emptied child to go", || rooms.children().is_empty()).await;

    // The next CONNECT makes it again, with the parent's handlers of now, and a new adapter.
    let (tx, mut late) = probe::<String>();
    rooms.on_connection(move |socket: Socket| {
        let _ = tx.send(socket.namespace().name().to_string());
        async {}
    });
    let (mut c, _) = Client::connect(addr, "/room-1").await;
    assert_eq!(c.next_args("/room-1", "hello").await, [json!("/room-1")]);
    assert_eq!(late.next("the new child's handler").await, "/room-1");
    assert_eq!(child_names(&rooms), ["/room-1"]);
    assert_eq!(
        created.lock().unwrap().as_slice(),
        ["/", "/static", "/room-1", "/room-1"]
    );
    rooms.emit("again", &()).unwrap();
    assert_eq!(c.next_args("/room-1", "again").await, [json!(null)]);

    // A static namespace is never removed.
    let (d, _) = Client::connect(addr, "/static").await;
    static_seen.next("the static handler").await;
    d.close().await;
    eventually("d to leave", || io.of("/static").sockets().is_empty()).await;
    let _e = Client::connect(addr, "/static").await;
    static_seen.next("the static handler again").await;
    assert_eq!(
        created.lock().unwrap().as_slice(),
        ["/", "/static", "/room-1", "/room-1"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_cleanup_a_child_whose_only_socket_is_refused_is_removed() {
    let (io, _) = io_recording_adapters(true);
    let rooms = io.of_dynamic(|name, _| name.starts_with("/room-"));
    let (release_tx, release) = tokio::sync::watch::channel(false);
    rooms.use_middleware(move |socket: Socket| {
        let mut release = release.clone();
        let wait = socket.handshake().auth["wait"] == true;
        let allowed = socket.handshake().auth["token"] == "ok";
        async move {
            if wait {
                let _ = release.wait_for(|go| *go).await;
            }
            match allowed {
                true => Ok(()),
                false => Err(ConnectError::new("no token")),
            }
        }
    });
    let addr = serve(&io).await;

    let mut a = Client::open(addr).await;
    assert_eq!(
        a.join("/room-1", None).await,
        Err(json!({"message": "no token"}))
    );
    eventually("the refused child to go", || rooms.children().is_empty()).await;

    // A child with a CONNECT still in the middlewares is not removed when another socket
    // leaves it empty meanwhile.
    let mut b = Client::open(addr).await;
    b.join_ok("/room-2", Some(json!({"token": "ok"}))).await;
    let mut slow = Client::open(addr).await;
    slow.send(r#"0/room-2,{"wait":true,"token":"ok"}"#).await;
    b.close().await;
    eventually("b to leave", || {
        rooms
            .children()
            .iter()
            .all(|child| child.sockets().is_empty())
    })
    .await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(child_names(&rooms), ["/room-2"]);
    release_tx.send(true).unwrap();
    let answer = slow.next().await;
    assert!(
        matches!(answer.packet.data, PacketData::Connect(Some(_))),
        "{answer:?}"
    );
    let children = rooms.children();
    assert_eq!(children.len(), 1);
    assert_eq!(children[0].sockets().len(), 1);
    // That socket is in the child the parent broadcasts to.
    rooms.emit("still-here", &()).unwrap();
    assert_eq!(slow.next_args("/room-2", "still-here").await, [json!(null)]);
}
