//! Connection state recovery on one server (the in-memory adapter): a client that comes back
//! with its `pid` and last offset gets its id, rooms and data back, and the broadcasts it
//! missed, before the CONNECT reply; volatile ones are not kept; an expired session, or a
//! forged pid or offset, gets a fresh session.

mod common;
use common::*;
use socketio::ConnectionStateRecovery;

fn io_with_recovery(max: Duration) -> SocketIo {
    let config = SocketIoConfig::builder()
        .connection_state_recovery(ConnectionStateRecovery {
            max_disconnection_duration: max,
            ..ConnectionStateRecovery::default()
        })
        .build();
    io_with(config)
}

/// Sends a CONNECT to `/` with `auth`; returns the packets that came before the answer, and
/// the answer's data.
async fn connect_raw(client: &mut Client, auth: Value) -> (Vec<Received>, Value) {
    client.send(&format!("0{auth}")).await;
    let mut before = Vec::new();
    loop {
        let packet = client.next().await;
        match &packet.packet.data {
            PacketData::Connect(Some(data)) => {
                return (before, serde_json::from_str(data).expect("CONNECT JSON"));
            }
            _ => before.push(packet),
        }
    }
}

/// The offset a broadcast carries: its last argument.
fn offset_of(args: &[Value]) -> String {
    args.last()
        .and_then(Value::as_str)
        .expect("a broadcast's last argument is its offset")
        .to_owned()
}

/// A session as its client left it: the socket's id, the pid, and the offset of the last
/// broadcast it had.
struct Left {
    sid: Value,
    pid: Value,
    offset: String,
}

/// A client connects to `/`, gets one kept broadcast (`seen`) and leaves; returns once the
/// server has seen it go: the session the tests come back to.
async fn leave_after_one_broadcast(io: &SocketIo, addr: std::net::SocketAddr) -> Left {
    let mut client = Client::open(addr).await;
    let (_, reply) = connect_raw(&mut client, json!({})).await;
    io.emit("seen", &1).unwrap();
    let offset = offset_of(&client.next_args("/", "seen").await);
    client.close().await;
    eventually("the socket to leave", || io.of("/").sockets().is_empty()).await;
    Left {
        sid: reply["sid"].clone(),
        pid: reply["pid"].clone(),
        offset,
    }
}

/// A new connection that comes back with `pid` and `offset`: what came before the CONNECT
/// reply, the reply, and the client.
async fn come_back(
    addr: std::net::SocketAddr,
    pid: &Value,
    offset: &str,
) -> (Vec<Received>, Value, Client) {
    let mut back = Client::open(addr).await;
    let (before, reply) = connect_raw(&mut back, json!({"pid": pid, "offset": offset})).await;
    (before, reply, back)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returning_client_gets_its_id_rooms_data_and_what_it_missed() {
    let io = io_with_recovery(Duration::from_secs(10));
    let (tx, mut seen) = probe();
    io.on_connection(move |socket: Socket| {
        let _ = tx.send((socket.id().to_string(), socket.recovered(), socket.rooms()));
        async move {
            socket.join("r");
            socket.set_data(json!({"user": "ann"}));
        }
    });
    let addr = serve(&io).await;

    let mut client = Client::open(addr).await;
    let (_, reply) = connect_raw(&mut client, json!({})).await;
    let (sid, pid) = (reply["sid"].clone(), reply["pid"].clone());
    assert!(pid.is_string(), "the CONNECT reply carries a pid: {reply}");
    let (id, recovered, _) = seen.next("the first connection").await;
    assert_eq!((json!(id), recovered), (sid.clone(), false));

    io.emit("seen", &1).unwrap();
    let offset = offset_of(&client.next_args("/", "seen").await);
    client.close().await;
    eventually("the socket to leave", || io.of("/").sockets().is_empty()).await;

    // While it is away: to everyone, to its room, to a room it is not in, volatile, and to
    // everyone but its room.
    io.emit_args("missed", &(2, Bytes::from_static(b"\x01\x02")))
        .unwrap();
    io.to("r").emit("missed", &3).unwrap();
    io.to("elsewhere").emit("missed", &"never").unwrap();
    io.volatile().emit("missed", &"volatile").unwrap();
    io.except("r").emit("missed", &"excluded").unwrap();

    let (before, reply, mut back) = come_back(addr, &pid, &offset).await;
    assert_eq!(reply["sid"], sid, "the same id");
    let missed: Vec<Vec<Value>> = before.iter().map(Received::args).collect();
    assert_eq!(
        missed.len(),
        2,
        "the two broadcasts it should have had: {missed:?}"
    );
    assert_eq!(missed[0][0], json!(2));
    assert_eq!(before[0].attachments, [Bytes::from_static(b"\x01\x02")]);
    assert_eq!(missed[1][0], json!(3));
    let (id, recovered, rooms) = seen.next("the recovered connection").await;
    assert_eq!((json!(id), recovered), (sid.clone(), true));
    assert!(
        rooms.iter().any(|room| room == "r"),
        "back in its room: {rooms:?}"
    );
    let socket = socket_of(&io, "/", sid.as_str().unwrap());
    assert_eq!(socket.data::<Value>(), Some(json!({"user": "ann"})));

    // And again: a recovered socket that drops recovers too.
    io.to("r").emit("after", &4).unwrap();
    let offset = offset_of(&back.next_args("/", "after").await);
    back.close().await;
    eventually("the socket to leave again", || {
        io.of("/").sockets().is_empty()
    })
    .await;
    io.to("r").emit("missed", &5).unwrap();
    let mut again = Client::open(addr).await;
    let (before, reply) = connect_raw(&mut again, json!({"pid": pid, "offset": offset})).await;
    assert_eq!(reply["sid"], sid);
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].args()[0], json!(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_or_a_forged_pid_or_offset_gets_a_fresh_one() {
    let io = io_with_recovery(Duration::from_millis(300));
    let addr = serve(&io).await;

    let Left { sid, pid, offset } = leave_after_one_broadcast(&io, addr).await;

    for auth in [
        json!({"pid": "forged", "offset": offset}),
        json!({"pid": pid, "offset": "not-an-offset"}),
        json!({"pid": pid, "offset": 7}),
        json!({"pid": "x".repeat(100_000), "offset": "y".repeat(100_000)}),
    ] {
        let mut other = Client::open(addr).await;
        let (before, reply) = connect_raw(&mut other, auth).await;
        assert!(before.is_empty());
        assert_ne!(reply["sid"], sid, "a fresh session");
        other.close().await;
    }

    // The session itself was left alone by those, until it expires.
    tokio::time::sleep(Duration::from_millis(500)).await;
    io.emit("seen", &2).unwrap(); // sweeps what is past the duration
    let mut late = Client::open(addr).await;
    let (_, reply) = connect_raw(&mut late, json!({"pid": pid, "offset": offset})).await;
    assert_ne!(reply["sid"], sid, "expired: a fresh session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emit_to_one_socket_is_kept_for_its_return_but_not_a_volatile_one() {
    let io = io_with_recovery(Duration::from_secs(10));
    let addr = serve(&io).await;

    let mut client = Client::open(addr).await;
    let (_, reply) = connect_raw(&mut client, json!({})).await;
    let (sid, pid) = (reply["sid"].clone(), reply["pid"].clone());
    let socket = socket_of(&io, "/", sid.as_str().unwrap());
    socket.emit("direct", &1).unwrap();
    let args = client.next_args("/", "direct").await;
    assert_eq!(args.len(), 2, "the argument, then its offset: {args:?}");
    let offset = offset_of(&args);

    // Emitted just before the drop is noticed: the client never reads them.
    socket.emit("direct", &2).unwrap();
    let _ = socket.volatile().emit("direct", &"volatile");
    client.close().await;
    eventually("the socket to leave", || io.of("/").sockets().is_empty()).await;

    let (before, reply, _back) = come_back(addr, &pid, &offset).await;
    assert_eq!(reply["sid"], sid);
    let missed: Vec<Value> = before.iter().map(|p| p.args()[0].clone()).collect();
    assert_eq!(missed, [json!(2)], "the kept emit, not the volatile one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_expires_unrecovered_is_reported_once_and_a_recovered_one_never() {
    let io = io_with_recovery(Duration::from_millis(300));
    let (tx, mut expired) = probe();
    io.on_session_expired(move |session: socketio::ExpiredSession| {
        let _ = tx.send((
            session.id.to_string(),
            session.rooms.clone(),
            session.data::<Value>(),
        ));
        async {}
    });
    io.on_connection(|socket: Socket| async move {
        if !socket.recovered() {
            socket.join("table-4");
            socket.set_data(json!({"user": "bo"}));
        }
    });
    let addr = serve(&io).await;

    // Gone for good: reported once the duration has passed, with what it left.
    let mut client = Client::open(addr).await;
    let (_, reply) = connect_raw(&mut client, json!({})).await;
    let gone = reply["sid"].as_str().unwrap().to_owned();
    client.close().await;
    let (id, rooms, data) = expired.next("the expired session").await;
    assert_eq!(id, gone);
    assert!(rooms.iter().any(|room| room == "table-4"), "{rooms:?}");
    assert_eq!(data, Some(json!({"user": "bo"})));

    // Back in time, then gone again: reported once, for the second absence only.
    let Left { sid, pid, offset } = leave_after_one_broadcast(&io, addr).await;
    let (_, reply, back) = come_back(addr, &pid, &offset).await;
    assert_eq!(reply["sid"], sid, "recovered");
    expired
        .assert_none("report of a recovered session", Duration::from_millis(500))
        .await;
    back.close().await;
    let (id, _, _) = expired.next("the second absence").await;
    assert_eq!(json!(id), sid);
    expired
        .assert_none("second report", Duration::from_millis(400))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_received_a_broadcast_recovers_with_its_pid_alone() {
    let io = io_with_recovery(Duration::from_secs(10));
    io.emit("before", &0).unwrap(); // before it connects: never its to miss
    let addr = serve(&io).await;

    let mut client = Client::open(addr).await;
    let (_, reply) = connect_raw(&mut client, json!({})).await;
    let (sid, pid) = (reply["sid"].clone(), reply["pid"].clone());
    client.close().await;
    eventually("the socket to leave", || io.of("/").sockets().is_empty()).await;
    io.emit("missed", &1).unwrap();

    // The official client sends `{pid}` alone when it holds no offset.
    let mut back = Client::open(addr).await;
    let (before, reply) = connect_raw(&mut back, json!({ "pid": pid })).await;
    assert_eq!(
        reply["sid"], sid,
        "recovered (Node gives a fresh session here: #5538)"
    );
    let missed: Vec<Value> = before.iter().map(|p| p.args()[0].clone()).collect();
    assert_eq!(
        missed,
        [json!(1)],
        "what it missed, not what came before it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_back_before_its_old_connection_timed_out_recovers() {
    let io = io_with_recovery(Duration::from_secs(10));
    let addr = serve(&io).await;

    let mut gone_dark = Client::open(addr).await;
    let (_, reply) = connect_raw(&mut gone_dark, json!({})).await;
    let (sid, pid) = (reply["sid"].clone(), reply["pid"].clone());
    io.emit("seen", &1).unwrap();
    let offset = offset_of(&gone_dark.next_args("/", "seen").await);
    // Its network is gone: it reads nothing more and says no goodbye, and the server's
    // heartbeat has not noticed. What is sent now goes into the dead connection.
    io.emit("missed", &2).unwrap();

    let (before, reply, _back) = come_back(addr, &pid, &offset).await;
    assert_eq!(reply["sid"], sid, "the same session, not a fresh one");
    let missed: Vec<Value> = before.iter().map(|p| p.args()[0].clone()).collect();
    assert_eq!(missed, [json!(2)]);
    assert_eq!(io.of("/").sockets().len(), 1, "the old socket is gone");
    drop(gone_dark);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_quiet_for_longer_than_the_duration_still_recovers() {
    // Kept: 300 ms + the heartbeat's 100 + 1000 ms (a generous timeout: the test's client
    // answers pings only while it reads).
    let config = SocketIoConfig::builder()
        .ping_interval(Duration::from_millis(100))
        .ping_timeout(Duration::from_millis(1000))
        .connection_state_recovery(ConnectionStateRecovery {
            max_disconnection_duration: Duration::from_millis(300),
            ..ConnectionStateRecovery::default()
        })
        .build();
    let io = io_with(config);
    let addr = serve(&io).await;

    let mut client = Client::open(addr).await;
    let (_, reply) = connect_raw(&mut client, json!({})).await;
    let (sid, pid) = (reply["sid"].clone(), reply["pid"].clone());
    io.emit("seen", &1).unwrap();
    let offset = offset_of(&client.next_args("/", "seen").await);
    // A long quiet connection: its last broadcast is long gone from the store (Node #5282).
    client.assert_quiet(Duration::from_millis(1600)).await;
    io.to("others").emit("sweep", &0).unwrap();
    client.close().await;
    eventually("the socket to leave", || io.of("/").sockets().is_empty()).await;
    io.emit("missed", &2).unwrap();

    let (before, reply, _back) = come_back(addr, &pid, &offset).await;
    assert_eq!(reply["sid"], sid, "recovered");
    let missed: Vec<Value> = before.iter().map(|p| p.args()[0].clone()).collect();
    assert_eq!(missed, [json!(2)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_whose_missed_broadcasts_were_pushed_out_starts_afresh() {
    let config = SocketIoConfig::builder()
        .connection_state_recovery(ConnectionStateRecovery {
            max_packets: 2,
            ..ConnectionStateRecovery::default()
        })
        .build();
    let io = io_with(config);
    let addr = serve(&io).await;

    let Left { sid, pid, offset } = leave_after_one_broadcast(&io, addr).await;
    for n in 2..5 {
        io.emit("missed", &n).unwrap(); // three, and only two are kept
    }

    let (before, reply, _back) = come_back(addr, &pid, &offset).await;
    assert_ne!(
        reply["sid"], sid,
        "a fresh session rather than a partial replay"
    );
    assert!(before.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_broadcast_while_a_session_is_restored_arrives_once() {
    // Middlewares run for recovered sockets too: a slow one leaves time for broadcasts between
    // the adapter handing the session back and the socket being in its rooms again.
    let config = SocketIoConfig::builder()
        .connection_state_recovery(ConnectionStateRecovery {
            skip_middlewares: false,
            ..ConnectionStateRecovery::default()
        })
        .build();
    let io = io_with(config);
    let (tx, mut restoring) = probe();
    io.use_middleware(move |socket: Socket| {
        let tx = tx.clone();
        async move {
            if socket.recovered() {
                let _ = tx.send(());
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Ok::<(), socketio::ConnectError>(())
        }
    });
    io.on_connection(|socket: Socket| async move {
        if !socket.recovered() {
            socket.join("r");
        }
    });
    let addr = serve(&io).await;

    let Left { sid, pid, offset } = leave_after_one_broadcast(&io, addr).await;
    io.to("r").emit("missed", &2).unwrap();

    let mut back = Client::open(addr).await;
    back.send(&format!("0{}", json!({"pid": pid, "offset": offset})))
        .await;
    restoring.next("the restore to start").await;
    io.to("r").emit("during", &3).unwrap();
    let mut got = Vec::new();
    let reply = loop {
        let packet = back.next().await;
        match &packet.packet.data {
            PacketData::Connect(Some(data)) => break serde_json::from_str::<Value>(data).unwrap(),
            _ => got.push(packet.args()[0].clone()),
        }
    };
    assert_eq!(reply["sid"], sid, "recovered");
    io.to("r").emit("after", &4).unwrap();
    got.push(back.next_args("/", "after").await[0].clone());
    back.assert_quiet(Duration::from_millis(200)).await;
    assert_eq!(got, [json!(2), json!(3), json!(4)], "each once, in order");
}
