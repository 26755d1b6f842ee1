//! A Redis 7 Cluster per test: `redis-server --cluster-enabled yes` nodes on free ports, joined
//! with `redis-cli --cluster create`, killed one by one for failovers, stopped with the test.

use std::collections::HashSet;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A Redis 7 Cluster of its own: `masters` masters (three at least, as Redis asks) with
/// `replicas` replicas each, every node a `redis-server --cluster-enabled yes` on a free port
/// (its bus port, ten thousand above, free too), joined with `redis-cli --cluster create`, and
/// ready (`cluster_state:ok` on every node) when this returns. Stopped and deleted with this
/// value. A short node timeout (one second) lets a replica take over a dead master quickly.
pub struct RedisCluster {
    pub nodes: Vec<ClusterNode>,
    dir: std::path::PathBuf,
}

/// One node of a [`RedisCluster`].
pub struct ClusterNode {
    child: Option<Child>,
    pub port: u16,
}

/// How long the cluster is given to form, or to settle after a failover.
const CLUSTER_WAIT: Duration = Duration::from_secs(30);

impl RedisCluster {
    pub fn start(masters: usize, replicas: usize) -> Self {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("sio-redis-cluster-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a cluster directory");
        let mut cluster = Self {
            nodes: Vec::new(),
            dir,
        };
        for _ in 0..masters * (1 + replicas) {
            let port = cluster_port();
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "1000"])
                // A replica takes over however long ago it last heard its master.
                .args(["--cluster-replica-validity-factor", "0"])
                .args(["--cluster-config-file", &format!("nodes-{port}.conf")])
                .args(["--dir", &cluster.dir.to_string_lossy()])
                .args(["--save", "", "--appendonly", "no"])
                .stdout(Stdio::null())
                .spawn()
                .expect("redis-server on PATH (apt-get install -y redis-server)");
            cluster.nodes.push(ClusterNode {
                child: Some(child),
                port,
            });
        }
        for node in &cluster.nodes {
            let deadline = Instant::now() + Duration::from_secs(5);
            while std::net::TcpStream::connect(("127.0.0.1", node.port)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "redis-server did not listen on {}",
                    node.port
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let addresses: Vec<String> = cluster
            .nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port))
            .collect();
        let created = Command::new("timeout")
            .args(["60", "redis-cli", "--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("redis-cli on PATH");
        assert!(created.success(), "redis-cli --cluster create failed");
        cluster.wait_ok();
        cluster
    }

    /// The `redis://host:port` URLs of its nodes, dead ones included.
    pub fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|node| format!("redis://127.0.0.1:{}", node.port))
            .collect()
    }

    /// Waits until every live node says `cluster_state:ok` and sees the same reachable masters
    /// serving all the slots (after a master's death: once a replica has taken its slots).
    pub fn wait_ok(&self) {
        let deadline = Instant::now() + CLUSTER_WAIT;
        loop {
            let live: Vec<u16> = self.live_ports();
            let ok = live
                .iter()
                .all(|&port| cli(port, &["cluster", "info"]).contains("cluster_state:ok"));
            let masters: HashSet<Vec<(u16, u16, u16)>> =
                live.iter().map(|&port| slot_owners(port)).collect();
            let covered = |owners: &Vec<(u16, u16, u16)>| {
                owners
                    .iter()
                    .map(|&(from, to, _)| usize::from(to - from) + 1)
                    .sum::<usize>()
                    == 16_384
            };
            if ok && masters.len() == 1 && masters.iter().all(covered) {
                return;
            }
            assert!(Instant::now() < deadline, "the redis cluster never settled");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn live_ports(&self) -> Vec<u16> {
        self.nodes
            .iter()
            .filter(|node| node.child.is_some())
            .map(|node| node.port)
            .collect()
    }

    /// The port of the master that serves `key` (a channel name, for sharded pub/sub) now.
    pub fn master_of(&self, key: &str) -> u16 {
        let port = *self.live_ports().first().expect("a live node");
        let slot: u16 = cli(port, &["cluster", "keyslot", key])
            .trim()
            .parse()
            .expect("a slot");
        slot_owners(port)
            .into_iter()
            .find(|&(from, to, _)| (from..=to).contains(&slot))
            .map(|(_, _, port)| port)
            .expect("a master for the slot")
    }

    /// Moves every slot of the master on `from` to the master on `to` (`redis-cli --cluster
    /// reshard`), keys and all, as an operator rebalancing the cluster would, then waits until
    /// every node agrees.
    pub fn move_slots(&self, from: u16, to: u16) {
        let port = *self.live_ports().first().expect("a live node");
        let id = |port: u16| cli(port, &["cluster", "myid"]).trim().to_owned();
        let slots: usize = slot_owners(port)
            .iter()
            .filter(|&&(_, _, master)| master == from)
            .map(|&(first, last, _)| usize::from(last - first) + 1)
            .sum();
        let moved = Command::new("timeout")
            .args(["120", "redis-cli", "--cluster", "reshard"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["--cluster-from", &id(from), "--cluster-to", &id(to)])
            .args(["--cluster-slots", &slots.to_string(), "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("redis-cli on PATH");
        assert!(moved.success(), "redis-cli --cluster reshard failed");
        self.wait_ok();
    }

    /// Kills the node on `port` at once (SIGKILL), as a crash.
    pub fn kill(&mut self, port: u16) {
        let node = self
            .nodes
            .iter_mut()
            .find(|node| node.port == port)
            .expect("a node on that port");
        if let Some(mut child) = node.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A free port whose cluster bus port (ten thousand above) is free too.
fn cluster_port() -> u16 {
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = listener.local_addr().expect("addr").port();
        if port < 55_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

/// What `redis-cli -p port args...` prints; empty when it fails (a node not up yet).
fn cli(port: u16, args: &[&str]) -> String {
    Command::new("timeout")
        .args(["5", "redis-cli", "-p", &port.to_string()])
        .args(args)
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default()
}

/// The slot ranges of the connected masters as the node on `port` sees them: `(first, last,
/// master's port)`, sorted.
fn slot_owners(port: u16) -> Vec<(u16, u16, u16)> {
    let mut owners = Vec::new();
    for line in cli(port, &["cluster", "nodes"]).lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(address), Some(flags), Some(link)) =
            (fields.get(1), fields.get(2), fields.get(7))
        else {
            continue;
        };
        if !flags.contains("master") || flags.contains("fail") || *link != "connected" {
            continue;
        }
        let Some(master) = address
            .split('@')
            .next()
            .and_then(|a| a.rsplit(':').next())
            .and_then(|p| p.parse().ok())
        else {
            continue;
        };
        for range in fields.iter().skip(8) {
            let (from, to) = range.split_once('-').unwrap_or((range, range));
            if let (Ok(from), Ok(to)) = (from.parse(), to.parse()) {
                owners.push((from, to, master));
            }
        }
    }
    owners.sort_unstable();
    owners
}
