//! Our emitter and two servers of ours (`socketio-redis`) on one real `redis-server`: what it
//! emits reaches the clients of both, as Node's emitter's messages do.

use adapter_test_support::{cluster_of, serve, Client, Redis, WAIT};
use serde_json::{json, Value};
use socketio::SocketIo;
use socketio_redis_emitter::{Emitter, EmitterError};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A server of ours on `redis`, with a namespace `/admin` beside `/`.
async fn server(redis: &Redis) -> (SocketIo, SocketAddr) {
    let adapter = socketio_redis::RedisAdapter::connect(&redis.url())
        .await
        .expect("redis adapter");
    let (io, addr) = serve(SocketIo::builder().adapter(adapter)).await;
    io.of("/admin")
        .on_connection(|_socket: socketio::Socket| async {});
    (io, addr)
}

/// Two servers of ours, a client on each, and the emitter.
async fn cluster() -> (Redis, [SocketIo; 2], [Client; 2], Emitter) {
    let redis = Redis::start();
    let (a, addr_a) = server(&redis).await;
    let (b, addr_b) = server(&redis).await;
    cluster_of(2, &[&a, &b]).await;
    let on_a = Client::connect(addr_a).await;
    let on_b = Client::connect(addr_b).await;
    let emitter = Emitter::connect(&redis.url()).await.expect("emitter");
    (redis, [a, b], [on_a, on_b], emitter)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasts_reach_the_clients_of_every_server() {
    let (_redis, [a, _b], [mut on_a, mut on_b], emitter) = cluster().await;

    emitter.emit("hello", &json!({"n": 1})).await.expect("emit");
    assert_eq!(on_a.next_event().await.0, json!(["hello", {"n": 1}]));
    assert_eq!(on_b.next_event().await.0, json!(["hello", {"n": 1}]));

    // Binary arguments arrive as attachments.
    let bytes = bytes::Bytes::from_static(&[0, 1, 255]);
    emitter
        .emit_args("file", &("name", bytes.clone()))
        .await
        .expect("emit");
    for client in [&mut on_a, &mut on_b] {
        let (event, attachments) = client.next_event().await;
        assert_eq!(
            event,
            json!(["file", "name", {"_placeholder": true, "num": 0}])
        );
        assert_eq!(attachments, [bytes.to_vec()]);
    }

    // A room (its own channel), and except.
    a.of("/")
        .get_socket(&on_a.id)
        .expect("a's socket")
        .join("news");
    emitter.to("news").emit("news", &1).await.expect("emit");
    assert_eq!(on_a.next_event().await.0, json!(["news", 1]));
    emitter
        .except("news")
        .emit("not-news", &2)
        .await
        .expect("emit");
    assert_eq!(on_b.next_event().await.0, json!(["not-news", 2]));
    // Two rooms (the namespace's channel), volatile and compress: delivered to ready clients.
    emitter
        .to(["news", "other"])
        .volatile()
        .compress(false)
        .emit("flags", &())
        .await
        .expect("emit");
    assert_eq!(on_a.next_event().await.0, json!(["flags", null]));
    // A marker to all: what should not have come would have come before it.
    emitter.emit_args("marker", &()).await.expect("emit");
    assert_eq!(on_a.next_event().await.0, json!(["marker"]));
    assert_eq!(on_b.next_event().await.0, json!(["marker"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_gets_only_its_own() {
    let redis = Redis::start();
    let (a, addr) = server(&redis).await;
    cluster_of(1, &[&a]).await;
    let mut admin = Client::connect_to(addr, "/admin").await;
    let mut main = Client::connect(addr).await;
    let emitter = Emitter::connect(&redis.url()).await.expect("emitter");
    emitter
        .of("admin")
        .emit("reload", &true)
        .await
        .expect("emit");
    assert_eq!(admin.next_event().await.0, json!(["reload", true]));
    main.assert_no_event(Duration::from_millis(200)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_join_leave_and_disconnect_on_every_server() {
    let (_redis, [a, b], [mut on_a, mut on_b], emitter) = cluster().await;

    emitter
        .to(on_b.id.as_str())
        .sockets_join("j")
        .await
        .expect("join");
    emitter.to("j").emit("in-j", &1).await.expect("emit");
    assert_eq!(on_b.next_event().await.0, json!(["in-j", 1]));
    emitter.sockets_leave("j").await.expect("leave");
    emitter.to("j").emit("in-j", &2).await.expect("emit");
    emitter.emit("marker", &()).await.expect("emit");
    assert_eq!(on_a.next_event().await.0, json!(["marker", null]));
    assert_eq!(on_b.next_event().await.0, json!(["marker", null]));

    emitter
        .to(on_a.id.as_str())
        .disconnect_sockets(false)
        .await
        .expect("disconnect");
    let deadline = tokio::time::Instant::now() + WAIT;
    while a.of("/").get_socket(&on_a.id).is_some() {
        assert!(tokio::time::Instant::now() < deadline, "still connected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(b.of("/").get_socket(&on_b.id).is_some(), "b's socket stays");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_side_emit_reaches_every_server_s_handler() {
    let (_redis, [a, b], _clients, emitter) = cluster().await;
    let heard = Arc::new(Mutex::new(Vec::new()));
    for (name, io) in [("a", &a), ("b", &b)] {
        let heard = heard.clone();
        io.on_server_side("sync", move |args: Vec<Value>| {
            heard.lock().expect("not poisoned").push((name, args));
            async { None }
        });
    }
    emitter
        .server_side_emit_args("sync", &(1, "two"))
        .await
        .expect("server-side emit");
    let deadline = tokio::time::Instant::now() + WAIT;
    while heard.lock().expect("not poisoned").len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "not heard by both");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut heard = heard.lock().expect("not poisoned").clone();
    heard.sort_by_key(|(name, _)| *name);
    assert_eq!(
        heard,
        [
            ("a", vec![json!(1), json!("two")]),
            ("b", vec![json!(1), json!("two")])
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_names_and_a_single_value_as_arguments_are_refused() {
    let redis = Redis::start();
    let emitter = Emitter::connect(&redis.url()).await.expect("emitter");
    assert!(matches!(
        emitter.emit("disconnect", &1).await,
        Err(EmitterError::Reserved(_))
    ));
    assert!(matches!(
        emitter.emit_args("x", &1).await,
        Err(EmitterError::NotASequence)
    ));
    // A custom key: the same channels under another prefix.
    let client = redis::Client::open(redis.url()).expect("url");
    let connection = client.get_connection_manager().await.expect("connect");
    let custom = Emitter::builder().key("myapp").build(connection);
    custom.emit("x", &1).await.expect("published");
}
