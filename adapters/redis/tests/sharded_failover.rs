//! The cluster changing under the sharded adapter: a master killed while one server broadcasts
//! to another's client, and a replica taking its slots over (what reaches the client and what
//! does not); and the slots of the namespace's channel moved to another master by an operator.
//!
//! What this shows, as the adapter's documentation says:
//! - the broadcasting server's own clients get every broadcast (local delivery never waits
//!   for Redis);
//! - the other server's client gets everything published before the master died and
//!   everything published from a second after the cluster settled (a replica promoted, every
//!   node agreeing), in order and never twice; of what was published in between, it may miss
//!   some, all or none (those that reached the new master before the other server subscribed
//!   there again, or while the cluster connection moved its subscriptions): a couple of
//!   seconds' worth at most with Redis's node timeout at one second;
//! - broadcasts reach the other server again by themselves.

use adapter_test_support::*;
use socketio::SocketIo;
use socketio_redis::sharded::ShardedRedisAdapter;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

async fn sharded_server(cluster: &RedisCluster) -> (SocketIo, std::net::SocketAddr) {
    let adapter = ShardedRedisAdapter::connect(&cluster.urls())
        .await
        .expect("sharded adapter");
    serve(SocketIo::builder().adapter(adapter)).await
}

/// The number the next event of `client` carries; `None` when none comes within `wait`.
async fn next_number(client: &mut Client, wait: Duration) -> Option<u64> {
    let (event, _) = tokio::time::timeout(wait, client.next_event()).await.ok()?;
    event.get(1).and_then(serde_json::Value::as_u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_killed_during_a_broadcast_loses_only_what_the_failover_window_held() {
    master_killed_during_a_broadcast(0, 1).await;
}

/// The same with the broadcasts in bursts of 8: the publisher sends them as transactions of
/// several messages, so that the master dies under one (its messages must not come twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_under_bursts_sent_as_transactions() {
    master_killed_during_a_broadcast(0, 8).await;
}

/// The same with 300 more sockets on b: in dynamic mode, 300 more channels to subscribe to
/// again after the failover.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_with_a_channel_per_socket_of_300_sockets() {
    master_killed_during_a_broadcast(300, 1).await;
}

/// a broadcasts `burst` numbers every 5 ms to b's client, the master of the namespace's
/// channel dies, and what b's client gets is checked.
async fn master_killed_during_a_broadcast(more_sockets: usize, burst: u64) {
    let mut cluster = RedisCluster::start(3, 1);
    let (a, addr_a) = sharded_server(&cluster).await;
    let (b, addr_b) = sharded_server(&cluster).await;
    cluster_of(2, &[&a, &b]).await;
    let mut on_a = Client::connect(addr_a).await;
    let mut on_b = Client::connect(addr_b).await;
    let mut others = Vec::with_capacity(more_sockets);
    for _ in 0..more_sockets {
        others.push(Client::connect(addr_b).await);
    }
    // Their channels subscribed: `Client::connect` saw only the CONNECT reply.
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Every server hears the namespace on this channel: its master is the one to die.
    let doomed = cluster.master_of("socket.io#/#");

    // a broadcasts 0, 1, 2, ... (`burst` of them) every 5 ms until told to stop.
    let (next, stop) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let sender = {
        let (a, next, stop) = (a.clone(), next.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Acquire) {
                for _ in 0..burst {
                    let n = next.fetch_add(1, Ordering::AcqRel);
                    // An error here would be a full publish queue: not in 10 s at 1600 a
                    // second.
                    a.of("/").emit("n", &n).expect("queued");
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };

    // Once b has had some, the master dies.
    let mut got_b = Vec::new();
    while got_b.len() < 40 * burst as usize {
        got_b.push(
            next_number(&mut on_b, WAIT)
                .await
                .expect("b hears a before the kill"),
        );
    }
    let before_kill = *got_b.last().expect("some");
    cluster.kill(doomed);
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.wait_ok();
        cluster
    })
    .await
    .expect("the cluster settles with the replica as master");
    // From a second (200 ticks) after the cluster settled, b must hear every one.
    let whole_again = next.load(Ordering::Acquire) + 200 * burst;
    assert_ne!(cluster.master_of("socket.io#/#"), doomed);
    // Some more once the cluster is whole again, then a stop.
    tokio::time::sleep(Duration::from_secs(4)).await;
    stop.store(true, Ordering::Release);
    sender.await.expect("sender");
    let sent = next.load(Ordering::Acquire);

    // a's own client: every one, in order.
    let mut got_a = Vec::new();
    while let Some(n) = next_number(&mut on_a, WAIT).await {
        got_a.push(n);
        if n + 1 == sent {
            break;
        }
    }
    assert_eq!(got_a, (0..sent).collect::<Vec<_>>(), "a's client gets all");

    // b's client: up to the last one, in order and never twice.
    while let Some(n) = next_number(&mut on_b, Duration::from_secs(10)).await {
        got_b.push(n);
        if n + 1 == sent {
            break;
        }
    }
    assert_eq!(
        got_b.last(),
        Some(&(sent - 1)),
        "b hears a again after the failover"
    );
    assert!(
        got_b.windows(2).all(|w| w[0] < w[1]),
        "in order, never twice"
    );
    assert!(got_b[..got_b.len().min(before_kill as usize + 1)]
        .iter()
        .copied()
        .eq(0..=before_kill));
    let gaps: Vec<(u64, u64)> = got_b
        .windows(2)
        .filter(|w| w[1] != w[0] + 1)
        .map(|w| (w[0], w[1]))
        .collect();
    let lost = sent - got_b.len() as u64;
    println!("{sent} broadcast, {lost} lost for b, after {before_kill} (runs {gaps:?}); whole again from {whole_again}");
    assert!(
        gaps.iter()
            .all(|&(from, to)| from >= before_kill && to <= whole_again),
        "lost only between the kill and a second after the cluster settled: {gaps:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resharding_moves_the_channels_and_broadcasts_keep_arriving() {
    let cluster = RedisCluster::start(3, 0);
    let (a, _) = sharded_server(&cluster).await;
    let (b, addr_b) = sharded_server(&cluster).await;
    cluster_of(2, &[&a, &b]).await;
    let mut on_b = Client::connect(addr_b).await;
    let from = cluster.master_of("socket.io#/#");
    let to = cluster
        .nodes
        .iter()
        .map(|node| node.port)
        .find(|&port| port != from)
        .expect("another master");

    a.of("/").emit("n", &0).expect("emit");
    assert_eq!(next_number(&mut on_b, WAIT).await, Some(0));
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.move_slots(from, to);
        cluster
    })
    .await
    .expect("resharded");
    assert_eq!(cluster.master_of("socket.io#/#"), to);
    // Redis drops the subscriptions of the slots that moved: b subscribes again by itself, on
    // the new master, and hears a within a few seconds.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut n = 1u64;
    loop {
        a.of("/").emit("n", &n).expect("emit");
        if let Some(got) = next_number(&mut on_b, Duration::from_millis(200)).await {
            println!("b heard {got} after the move (sent {n})");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "b never heard a again"
        );
        n += 1;
    }
}
