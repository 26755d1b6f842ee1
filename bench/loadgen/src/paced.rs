//! Latency at equal load: `echo --rate N` and `fanout --rate N` offer every server the same
//! work per second, well below the slowest one's ceiling, rather than as much as each takes.
//! Each call goes out at its scheduled time whatever the server is doing (the loop is open:
//! no call waits for an answer). Its latency runs from when it went out, or from its
//! scheduled time when the client was still writing an earlier call then: a server that stops
//! reading blocks the writes, and that wait counts. A call that went out late for the load
//! generator's own reasons (tokio's timer fires up to two milliseconds after a tick, and a
//! virtual machine's core is sometimes taken away) counts from when it went out: on the
//! machines of these benches the late timer alone made every server's p99 about 2.2 ms, the
//! same for all three, when each answered in well under a millisecond.

use crate::scenarios::{connect_all, receive, with, Options, Wire};
use crate::stats::{cpu_during, Recorder, Window};
use crate::ws::{Client, Error, Speech};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::task::{spawn_local, JoinHandle};
use tokio::time::{interval_at, MissedTickBehavior};

/// How many calls of one client may wait for their ack: past it, the oldest is forgotten.
const OUTSTANDING: usize = 4096;

/// When a call scheduled `at` counts from, if it goes out now: from now, unless the client's
/// last write ended after `at` (see the module).
fn counted_from(at: tokio::time::Instant, written: Instant) -> Instant {
    let at = at.into_std();
    if written > at {
        at
    } else {
        Instant::now()
    }
}

/// The figures every paced scenario gives: the work offered and done, and the latencies.
fn figures(offered: f64, done: &Recorder, window: Window, failed: usize, key: &str) -> Value {
    json!({
        "offered_per_s": offered,
        key: done.count() as f64 / window.seconds(),
        "p50_us": done.quantile_us(0.5),
        "p99_us": done.quantile_us(0.99),
        "p999_us": done.quantile_us(0.999),
        "failed_connects": failed,
    })
}

/// `connections` clients making `rate` acked echo calls a second between them, each client
/// on its own schedule, the schedules spread over one period.
pub async fn echo(o: &Options, rate: u64) -> Result<Value, Error> {
    let (clients, failed) = connect_all(&o.addr, o.connections, o.speech).await;
    if clients.is_empty() {
        return Err("no client connected".into());
    }
    let window = Window::after(o.warmup, o.seconds);
    let cpu = cpu_during(window, o.server_pid);
    let acks = Recorder::new();
    let period = Duration::from_secs_f64(clients.len() as f64 / rate.max(1) as f64);
    let wire = Wire::of(o);
    let count = clients.len() as u32;
    let tasks: Vec<JoinHandle<()>> = clients
        .into_iter()
        .enumerate()
        .map(|(i, client)| {
            let first = window.origin + period * i as u32 / count;
            spawn_local(echo_client(
                client,
                wire.clone(),
                first,
                period,
                window,
                acks.clone(),
            ))
        })
        .collect();
    crate::scenarios::run_until_end(window, tasks).await;
    Ok(with(
        cpu.await?,
        figures(rate as f64, &acks, window, failed, "acks_per_s"),
    ))
}

async fn echo_client(
    mut client: Client,
    wire: Wire,
    first: Instant,
    period: Duration,
    window: Window,
    acks: Recorder,
) {
    let mut ticks = interval_at(first.into(), period);
    // Late ticks all fire: a call is never skipped because the client was held up.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut scheduled = vec![first; OUTSTANDING];
    let mut next: u64 = 0;
    let mut batch = Vec::new();
    let mut written = Instant::now();
    loop {
        tokio::select! {
            at = ticks.tick() => {
                scheduled[(next % OUTSTANDING as u64) as usize] = counted_from(at, written);
                let call = wire.call(next);
                next += 1;
                if client.feed_message(call).await.is_err() || client.flush().await.is_err() {
                    return;
                }
                written = Instant::now();
            }
            read = client.next_messages(&mut batch) => {
                if read.is_err() {
                    return;
                }
                let now = Instant::now();
                for message in batch.drain(..) {
                    let Some(id) = Wire::ack_id(&message) else { continue };
                    // An ack older than the ring is one whose time was forgotten.
                    if id + (OUTSTANDING as u64) < next || id >= next {
                        continue;
                    }
                    let at = scheduled[(id % OUTSTANDING as u64) as usize];
                    if window.contains(now) {
                        acks.record(now - at);
                    }
                }
            }
        }
    }
}

/// `connections` receivers and one sender broadcasting to all of them `rate` times a second;
/// each delivery's latency runs from its broadcast's sending (see the module).
pub async fn fanout(o: &Options, rate: u64) -> Result<Value, Error> {
    let (receivers, failed) = connect_all(&o.addr, o.connections, Speech::default()).await;
    let sender = Client::connect(&o.addr).await?;
    let window = Window::after(o.warmup, o.seconds);
    let cpu = cpu_during(window, o.server_pid);
    let deliveries = Recorder::new();
    let mut tasks: Vec<JoinHandle<()>> = receivers
        .into_iter()
        .map(|client| spawn_local(receive(client, window, deliveries.clone(), None)))
        .collect();
    let period = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    tasks.push(spawn_local(broadcaster(sender, period, window)));
    crate::scenarios::run_until_end(window, tasks).await;
    let mut line = figures(rate as f64, &deliveries, window, failed, "deliveries_per_s");
    line["offered_per_s"] = json!(rate * o.connections as u64);
    Ok(with(cpu.await?, line))
}

async fn broadcaster(mut client: Client, period: Duration, window: Window) {
    let mut ticks = interval_at(window.origin.into(), period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut next: u64 = 0;
    let mut written = Instant::now();
    loop {
        tokio::select! {
            at = ticks.tick() => {
                // The receivers read the time it counts from in the payload.
                let t = window.micros(counted_from(at, written));
                let call = format!("42{next}[\"broadcast\",null,{{\"t\":{t}}}]");
                next += 1;
                if client.send(call).await.is_err() {
                    return;
                }
                written = Instant::now();
            }
            // Its acks and its own copy of each broadcast: read, so that they do not pile up.
            read = client.next() => {
                if read.is_err() {
                    return;
                }
            }
        }
    }
}
