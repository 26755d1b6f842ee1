//! The `polling` scenario: clients on HTTP long-polling only, each with one acked `echo` in
//! flight. A session's POSTs are never concurrent (servers refuse overlapping ones): the pong
//! to a ping goes out through the same writer as the calls.

use crate::http1::Conn;
use crate::scenarios::Options;
use crate::scenarios::{run_until_end, with, PAYLOAD};
use crate::stats::{cpu_during, Recorder, Window};
use crate::ws::{ack_id, Error};
use serde_json::{json, Value};
use std::time::Instant;
use tokio::sync::mpsc;
use tokio::task::spawn_local;

enum Incoming {
    Ack(u64),
    Ping,
}

/// Opens a polling session and connects it to `/`; returns the connection it used (the
/// session's POSTs go on it) and the session's URI.
async fn open(addr: &str) -> Result<(Conn, String), Error> {
    let mut conn = Conn::open(addr).await?;
    let base = "/socket.io/?EIO=4&transport=polling";
    let handshake = conn.request(base, None).await?;
    let open: Value = serde_json::from_slice(handshake.get(1..).unwrap_or_default())?;
    let sid = open["sid"].as_str().ok_or("no sid in the open packet")?;
    let uri = format!("{base}&sid={sid}");
    conn.request(&uri, Some(b"40")).await?;
    loop {
        let body = conn.request(&uri, None).await?;
        if body.split(|b| *b == 0x1e).any(|p| p.starts_with(b"40")) {
            return Ok((conn, uri));
        }
    }
}

pub async fn polling(o: &Options) -> Result<Value, Error> {
    let mut sessions = Vec::new();
    for _ in 0..o.connections {
        let (calls, uri) = open(&o.addr).await?;
        // The long-polling GETs have a connection of their own, as a browser's would.
        let polls = Conn::open(&o.addr).await?;
        sessions.push((calls, polls, uri));
    }
    let window = Window::after(o.warmup, o.seconds);
    let cpu = cpu_during(window, o.server_pid);
    let acks = Recorder::new();
    let tasks: Vec<_> = sessions
        .into_iter()
        .map(|(calls, polls, uri)| spawn_local(session(calls, polls, uri, window, acks.clone())))
        .collect();
    run_until_end(window, tasks).await;
    Ok(with(
        cpu.await?,
        json!({
            "acks_per_s": acks.count() as f64 / window.seconds(),
            "p50_us": acks.quantile_us(0.5),
            "p99_us": acks.quantile_us(0.99),
        }),
    ))
}

async fn session(mut calls: Conn, mut polls: Conn, uri: String, window: Window, acks: Recorder) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let poller = {
        let uri = uri.clone();
        spawn_local(async move {
            while let Ok(body) = polls.request(&uri, None).await {
                for packet in body.split(|b| *b == 0x1e) {
                    let incoming = match packet {
                        b"2" => Incoming::Ping,
                        b"1" => return,
                        _ => match std::str::from_utf8(packet).ok().and_then(ack_id) {
                            Some(id) => Incoming::Ack(id),
                            None => continue,
                        },
                    };
                    if tx.send(incoming).is_err() {
                        return;
                    }
                }
            }
        })
    };
    let _stop_poller = AbortOnDrop(poller);
    let mut id = 0u64;
    'calls: loop {
        let sent = Instant::now();
        let call = format!("42{id}[\"echo\",{PAYLOAD}]");
        if calls.request(&uri, Some(call.as_bytes())).await.is_err() {
            return;
        }
        loop {
            match rx.recv().await {
                Some(Incoming::Ack(acked)) if acked == id => break,
                Some(Incoming::Ack(_)) => {}
                Some(Incoming::Ping) => {
                    if calls.request(&uri, Some(b"3")).await.is_err() {
                        return;
                    }
                }
                None => break 'calls,
            }
        }
        let now = Instant::now();
        if window.contains(now) {
            acks.record(now - sent);
        }
        id += 1;
    }
}

/// Stops the poller with its session, even when the session's task is aborted.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
