//! The `polling` scenario: clients on HTTP long-polling only, each with one acked `echo` in
//! flight. A session's POSTs are never concurrent (servers refuse overlapping ones): the pong
//! to a ping goes out through the same writer as the calls.

use crate::scenarios::Options;
use crate::scenarios::{run_until_end, with, PAYLOAD};
use crate::stats::{cpu_during, Recorder, Window};
use crate::ws::{ack_id, Error};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use std::time::Instant;
use tokio::sync::mpsc;
use tokio::task::spawn_local;

type Http = Client<HttpConnector, Full<Bytes>>;

enum Incoming {
    Ack(u64),
    Ping,
}

async fn request(http: &Http, uri: &str, body: Option<String>) -> Result<Bytes, Error> {
    let builder = hyper::Request::builder().uri(uri);
    let request = match body {
        Some(body) => builder
            .method("POST")
            .header("content-type", "text/plain;charset=UTF-8")
            .body(Full::new(Bytes::from(body)))?,
        None => builder.body(Full::new(Bytes::new()))?,
    };
    let response = http.request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    if !status.is_success() {
        return Err(format!("{uri}: {status}").into());
    }
    Ok(body)
}

/// Opens a polling session and connects it to `/`; returns the session's URI.
async fn open(http: &Http, addr: &str) -> Result<String, Error> {
    let base = format!("http://{addr}/socket.io/?EIO=4&transport=polling");
    let handshake = request(http, &base, None).await?;
    let open: Value = serde_json::from_slice(handshake.get(1..).unwrap_or_default())?;
    let sid = open["sid"].as_str().ok_or("no sid in the open packet")?;
    let uri = format!("{base}&sid={sid}");
    request(http, &uri, Some("40".into())).await?;
    loop {
        let body = request(http, &uri, None).await?;
        if body.split(|b| *b == 0x1e).any(|p| p.starts_with(b"40")) {
            return Ok(uri);
        }
    }
}

pub async fn polling(o: &Options) -> Result<Value, Error> {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let http: Http = Client::builder(TokioExecutor::new()).build(connector);
    let mut sessions = Vec::new();
    for _ in 0..o.connections {
        sessions.push(open(&http, &o.addr).await?);
    }
    let window = Window::after(o.warmup, o.seconds);
    let cpu = cpu_during(window, o.server_pid);
    let acks = Recorder::new();
    let tasks: Vec<_> = sessions
        .into_iter()
        .map(|uri| spawn_local(session(http.clone(), uri, window, acks.clone())))
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

async fn session(http: Http, uri: String, window: Window, acks: Recorder) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let poller = {
        let (http, uri) = (http.clone(), uri.clone());
        spawn_local(async move {
            while let Ok(body) = request(&http, &uri, None).await {
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
        if request(&http, &uri, Some(call)).await.is_err() {
            return;
        }
        loop {
            match rx.recv().await {
                Some(Incoming::Ack(acked)) if acked == id => break,
                Some(Incoming::Ack(_)) => {}
                Some(Incoming::Ping) => {
                    if request(&http, &uri, Some("3".into())).await.is_err() {
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
