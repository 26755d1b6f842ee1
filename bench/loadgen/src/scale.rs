//! `scale`: idle connections in steps (`--sizes 1000,5000,15000,19000`), and at each step what
//! the connections cost and what a broadcast to all of them costs: the server's resident
//! memory per connection, the connect rate, the time until the last receiver has one broadcast
//! (and that every receiver has it), and deliveries per second with several broadcasts in
//! flight. One set of connections serves every step: a step connects only the difference, so
//! the largest size is connected once.

use crate::scenarios::{with, Options};
use crate::stats::{rss_kb, CpuMeter};
use crate::ws::{stamp, Client, Error, Speech};
use futures_util::stream::{self, StreamExt};
use serde_json::{json, Map, Value};
use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::net::Ipv4Addr;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};
use tokio::task::{spawn_local, JoinHandle};

/// How many clients one loopback source address carries. Each run binds its clients to
/// addresses of its own, 127.H.L.1 and up where H.L is the server's port: one address has
/// only so many ephemeral ports (28,000 by default), and the kernel looks for a free one by
/// walking them, which slows as they fill (unbound, from 127.0.0.1, connecting fell from
/// 20,000/s to 700/s past 15,000 clients), and a bound port must be free of the previous runs'
/// sockets in TIME_WAIT too (reusing 127.0.0.2 and up in every run, 900/s right after another).
const PER_SOURCE: usize = 4000;
/// How many handshakes run at once while connecting (as the other scenarios).
const CONNECTING: usize = 64;
/// Broadcasts in flight while deliveries per second are measured: each counts as in flight
/// until every receiver has it, so that nothing queues without bound in the server.
const IN_FLIGHT: u64 = 4;
/// How long one broadcast may take to reach everyone; past it, the missing receivers count as
/// missed rather than the run hanging.
const STALL: Duration = Duration::from_secs(10);
/// Open files the load generator keeps besides its sockets.
const SPARE_FILES: u64 = 100;

/// What the receivers have had, shared by their tasks and the sender (one thread).
#[derive(Default)]
struct Arrivals {
    /// Broadcast deliveries to any receiver so far.
    total: Cell<u64>,
    /// The stamp of the broadcast being timed, how many receivers have it, and when the last
    /// one got it.
    probe: Cell<u64>,
    got: Cell<u64>,
    last: Cell<Option<Instant>>,
    /// Receivers whose connection closed.
    closed: Cell<u64>,
    /// The sender, waiting until `total` or `got` reaches its goal (or a receiver closes):
    /// woken then only, not on each of thousands of deliveries.
    goal: Cell<(u64, u64)>,
    waiter: RefCell<Option<Waker>>,
}

impl Arrivals {
    fn wake_if_done(&self) {
        let (total, got) = self.goal.get();
        if self.total.get() >= total || self.got.get() >= got {
            self.wake();
        }
    }

    fn wake(&self) {
        if let Some(waker) = self.waiter.borrow_mut().take() {
            waker.wake();
        }
    }
}

async fn receive(mut client: Client, arrivals: Rc<Arrivals>) {
    while let Ok(packet) = client.next().await {
        if !packet.starts_with("42[\"bcast\"") {
            continue;
        }
        arrivals.total.set(arrivals.total.get() + 1);
        if stamp(&packet) == Some(arrivals.probe.get()) {
            arrivals.got.set(arrivals.got.get() + 1);
            arrivals.last.set(Some(Instant::now()));
        }
        arrivals.wake_if_done();
    }
    arrivals.closed.set(arrivals.closed.get() + 1);
    arrivals.wake();
}

/// The receivers and the one client that broadcasts to them all.
struct Crowd {
    addr: String,
    sender: Client,
    arrivals: Rc<Arrivals>,
    tasks: Vec<JoinHandle<()>>,
    /// Connections attempted so far (they pick the source addresses in turn).
    attempted: usize,
    /// The first two bytes of this run's source addresses (the server's port).
    network: [u8; 2],
    failed: usize,
    /// The stamp of the next broadcast.
    next: u64,
}

impl Crowd {
    fn alive(&self) -> u64 {
        self.tasks.len() as u64 - self.arrivals.closed.get()
    }

    /// Connects until `size` receivers are up (or have been tried); the time it took.
    async fn grow(&mut self, size: usize) -> Duration {
        let start = Instant::now();
        let from = self.attempted;
        let (addr, [high, low]) = (self.addr.as_str(), self.network);
        let results: Vec<Result<Client, Error>> = stream::iter(from..size.max(from))
            .map(|i| {
                let source = Ipv4Addr::new(127, high, low, 1 + (i / PER_SOURCE) as u8);
                Client::connect_from(addr, Some(source), Speech::default())
            })
            .buffer_unordered(CONNECTING)
            .collect()
            .await;
        let took = start.elapsed();
        self.attempted = size.max(from);
        for result in results {
            match result {
                Ok(client) => self
                    .tasks
                    .push(spawn_local(receive(client, self.arrivals.clone()))),
                Err(_) => self.failed += 1,
            }
        }
        took
    }

    /// Sends one broadcast to everyone; its stamp.
    async fn broadcast(&mut self) -> Result<u64, Error> {
        let t = self.next;
        self.next += 1;
        self.sender
            .send(format!("42{t}[\"broadcast\",null,{{\"t\":{t}}}]"))
            .await?;
        Ok(t)
    }

    /// Waits until `total` deliveries or `got` receivers of the probe have arrived, or `STALL`
    /// passed; whether they did. Meanwhile reads what comes to the sender (its acks and its
    /// own copy of each broadcast), which must not pile up in the server.
    async fn wait_for(&mut self, total: u64, got: u64) -> Result<bool, Error> {
        let deadline = tokio::time::sleep(STALL);
        tokio::pin!(deadline);
        let arrivals = self.arrivals.clone();
        arrivals.goal.set((total, got));
        let reached = poll_fn(|cx| {
            if arrivals.total.get() >= total || arrivals.got.get() >= got {
                return Poll::Ready(());
            }
            *arrivals.waiter.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        });
        tokio::pin!(reached);
        let done = loop {
            tokio::select! {
                () = &mut reached => break true,
                () = &mut deadline => break false,
                read = self.sender.next() => { read?; }
            }
        };
        arrivals.goal.set((u64::MAX, u64::MAX));
        Ok(done)
    }

    /// One broadcast to all: the time until the last receiver had it, and how many had it.
    async fn probe(&mut self) -> Result<(Duration, u64), Error> {
        let expected = self.alive();
        self.arrivals.got.set(0);
        self.arrivals.last.set(None);
        self.arrivals.probe.set(self.next);
        let sent = Instant::now();
        self.broadcast().await?;
        self.wait_for(u64::MAX, expected).await?;
        let last = self.arrivals.last.get().map_or(STALL, |t| t - sent);
        // A later broadcast must not count for this one.
        self.arrivals.probe.set(u64::MAX);
        Ok((last, self.arrivals.got.get()))
    }

    /// Broadcasts for `seconds`, `IN_FLIGHT` at a time, each in flight until every receiver
    /// has it; deliveries per second.
    async fn deliveries_per_s(&mut self, seconds: Duration) -> Result<f64, Error> {
        let receivers = self.alive();
        let start_total = self.arrivals.total.get();
        let start = Instant::now();
        let end = start + seconds;
        let mut sent = 0;
        while sent < IN_FLIGHT {
            self.broadcast().await?;
            sent += 1;
        }
        while Instant::now() < end {
            // The oldest broadcast in flight has reached everyone.
            let settled = start_total + (sent + 1 - IN_FLIGHT) * receivers;
            if !self.wait_for(settled, u64::MAX).await? {
                return Err(self.stalled(settled - start_total).into());
            }
            self.broadcast().await?;
            sent += 1;
        }
        let delivered = self.arrivals.total.get() - start_total;
        let rate = delivered as f64 / start.elapsed().as_secs_f64();
        // The next step starts with nothing in flight.
        let all = start_total + sent * receivers;
        if !self.wait_for(all, u64::MAX).await? {
            return Err(self.stalled(sent * receivers).into());
        }
        Ok(rate)
    }

    fn stalled(&self, expected: u64) -> String {
        format!(
            "broadcasts stalled: {} deliveries of {expected} after {STALL:?}, {} receivers closed",
            self.arrivals.total.get(),
            self.arrivals.closed.get()
        )
    }
}

/// The soft limit on this process's open files (from /proc, as `ulimit -n` gives it).
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// The sizes of `--sizes`, in increasing order.
pub fn sizes_of(list: &str) -> Result<Vec<usize>, Error> {
    let mut sizes = list
        .split(',')
        .map(|s| s.trim().parse::<usize>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| format!("--sizes: numbers separated by commas, not {list}"))?;
    sizes.sort_unstable();
    sizes.dedup();
    Ok(sizes)
}

/// The steps of `sizes`, timing `probes` single broadcasts at each (the median counts).
pub async fn scale(o: &Options, sizes: &[usize], probes: usize) -> Result<Value, Error> {
    let pid = o.server_pid.ok_or("scale needs --server-pid")?;
    let largest = *sizes.last().ok_or("--sizes: none given")?;
    if largest / PER_SOURCE >= 254 {
        return Err("--sizes: at most 1,016,000 connections (254 source addresses)".into());
    }
    let port: u16 = o
        .addr
        .rsplit_once(':')
        .and_then(|(_, port)| port.parse().ok())
        .ok_or("scale: --addr needs a port")?;
    // One process holds every client: it must be allowed the files (the server is capped by
    // the same limit, so a second load generator process would not take it further).
    let limit = open_files_limit().ok_or("cannot read this process's open-file limit")?;
    if largest as u64 + SPARE_FILES > limit {
        return Err(format!(
            "{largest} connections need {} open files; the limit here is {limit}",
            largest as u64 + SPARE_FILES
        )
        .into());
    }
    let before = rss_kb(pid).ok_or("cannot read the server's memory")?;
    let mut crowd = Crowd {
        sender: Client::connect(&o.addr).await?,
        addr: o.addr.clone(),
        arrivals: Rc::default(),
        tasks: Vec::new(),
        attempted: 0,
        network: port.to_be_bytes(),
        failed: 0,
        next: 0,
    };
    crowd.arrivals.probe.set(u64::MAX);
    crowd.arrivals.goal.set((u64::MAX, u64::MAX));
    let mut figures = Map::new();
    let mut connecting = Duration::ZERO;
    let mut loadgen_cpu: f64 = 0.0;
    let mut missed = 0;
    let mut previous = 0;
    for &size in sizes {
        let own = CpuMeter::start(std::process::id());
        let took = crowd.grow(size).await;
        loadgen_cpu = loadgen_cpu.max(own.and_then(|m| m.load()).unwrap_or(0.0));
        connecting += took;
        let connected = crowd.alive();
        figures.insert(
            format!("connects_per_s_{size}"),
            json!((size - previous) as f64 / took.as_secs_f64()),
        );
        previous = size;
        // The server settles (Node's garbage collector, freed handshake buffers) before its
        // memory is read.
        tokio::time::sleep(o.warmup).await;
        let rss = rss_kb(pid).ok_or("cannot read the server's memory")?;
        figures.insert(format!("rss_kb_{size}"), json!(rss));
        figures.insert(
            format!("kb_per_connection_{size}"),
            json!(rss.saturating_sub(before) as f64 / connected.max(1) as f64),
        );

        let mut times = Vec::new();
        let mut fewest = connected;
        for _ in 0..probes {
            let (last, got) = crowd.probe().await?;
            times.push(last.as_micros() as f64);
            fewest = fewest.min(got);
        }
        times.sort_by(f64::total_cmp);
        figures.insert(
            format!("broadcast_last_us_{size}"),
            json!(times[times.len() / 2]),
        );
        figures.insert(format!("receivers_{size}"), json!(fewest));
        missed += connected - fewest;

        let own = CpuMeter::start(std::process::id());
        let server = CpuMeter::start(pid);
        let rate = crowd.deliveries_per_s(o.seconds).await?;
        loadgen_cpu = loadgen_cpu.max(own.and_then(|m| m.load()).unwrap_or(0.0));
        figures.insert(format!("deliveries_per_s_{size}"), json!(rate));
        figures.insert(
            format!("server_cpu_{size}"),
            json!(server.and_then(|m| m.load())),
        );
    }
    let connected = crowd.alive();
    let first = sizes[0];
    let rss = |size: usize| figures[&format!("rss_kb_{size}")].as_f64().unwrap_or(0.0);
    // What one more connection costs, from the smallest step to the largest: the start-up
    // memory of the server and of its first connections do not count in it.
    let marginal =
        (largest > first).then(|| (rss(largest) - rss(first)) / (largest - first) as f64);
    for task in crowd.tasks.drain(..) {
        task.abort();
    }
    Ok(with(
        Value::Object(figures),
        json!({
            "sizes": sizes,
            "connected": connected,
            "failed_connects": crowd.failed,
            "missed_broadcasts": missed,
            "connects_per_s": connected as f64 / connecting.as_secs_f64(),
            "rss_before_kb": before,
            "kb_per_connection_marginal": marginal,
            "loadgen_cpu": loadgen_cpu,
        }),
    ))
}
