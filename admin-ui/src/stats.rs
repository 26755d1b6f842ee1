//! `server_stats`: what each server says of itself every interval, aggregated event counts
//! included (Node's `initStatsEmitter` and `EventBuffer`).

use crate::engine::EngineCounts;
use crate::time;
use serde_json::{json, Value};
use socketio::{Namespace, SocketIo};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime};

/// At most this many distinct (second, type, sub-type) counts wait between two stats: a
/// flood of distinct disconnect reasons cannot grow the buffer past it.
const MAX_BUCKETS: usize = 4096;

/// A count's key: the second it fell in (ms since the epoch), its type and sub-type.
type Key = (u64, &'static str, Option<String>);

/// Counts of engine-level happenings, per second, until the next `server_stats` takes them.
#[derive(Debug, Default)]
pub(crate) struct EventBuffer {
    buckets: Mutex<HashMap<Key, u64>>,
}

impl EventBuffer {
    pub(crate) fn push(&self, kind: &'static str, sub_type: Option<&str>, count: u64) {
        let second = time::millis(SystemTime::now()) / 1000 * 1000;
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (second, kind, sub_type.map(str::to_owned));
        if let Some(n) = buckets.get_mut(&key) {
            *n += count;
        } else if buckets.len() < MAX_BUCKETS {
            buckets.insert(key, count);
        }
    }

    fn take(&self) -> Vec<Value> {
        let buckets =
            std::mem::take(&mut *self.buckets.lock().unwrap_or_else(PoisonError::into_inner));
        buckets
            .into_iter()
            .map(|((timestamp, kind, sub_type), count)| {
                let mut event = json!({ "timestamp": timestamp, "type": kind, "count": count });
                if let (Some(sub), Some(map)) = (sub_type, event.as_object_mut()) {
                    map.insert("subType".into(), json!(sub));
                }
                event
            })
            .collect()
    }
}

/// This server's identity in the stats.
#[derive(Debug)]
pub(crate) struct Identity {
    pub(crate) server_id: String,
    pub(crate) hostname: String,
    pub(crate) started: Instant,
}

impl Identity {
    pub(crate) fn new(server_id: Option<String>) -> Self {
        let hostname = hostname();
        Self {
            server_id: server_id.unwrap_or_else(|| hostname.clone()),
            hostname,
            started: Instant::now(),
        }
    }
}

/// The host name, as Node's `os.hostname()`, without a crate for one file read.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// One `server_stats` payload.
pub(crate) fn snapshot(
    io: &SocketIo,
    me: &Identity,
    events: &EventBuffer,
    engine: &EngineCounts,
) -> Value {
    engine.flush();
    let details: Vec<Value> = io
        .namespaces()
        .iter()
        .map(|ns| json!({ "name": ns.name().as_str(), "socketsCount": ns.sockets().len() }))
        .collect();
    json!({
        "serverId": me.server_id,
        "hostname": me.hostname,
        "pid": std::process::id(),
        "uptime": me.started.elapsed().as_secs_f64(),
        "clientsCount": io.clients_count(),
        "pollingClientsCount": engine.polling(),
        "aggregatedEvents": events.take(),
        "namespaces": details,
    })
}

/// Sends a snapshot to every admin socket of the cluster now and every `every`, through the
/// adapter as Node's `adminNamespace.emit` does, so that a UI on any server sees them all.
pub(crate) fn spawn_emitter(
    io: SocketIo,
    admin: Namespace,
    me: Identity,
    (events, engine): (Arc<EventBuffer>, Arc<EngineCounts>),
    every: std::time::Duration,
    mut on_tick: impl FnMut() + Send + 'static,
) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            on_tick();
            let stats = snapshot(&io, &me, &events, &engine);
            if let Err(e) = admin.emit("server_stats", &stats) {
                tracing::debug!(error = %e, "admin UI: server_stats not sent");
            }
        }
    });
}
