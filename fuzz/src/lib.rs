//! What the engine targets share: an engine with small limits and short heartbeats, a handler
//! that echoes and can be asked to flood, and a runtime whose clock jumps ahead whenever every
//! task waits, so that heartbeats and long polls end within one fuzz iteration.

use axum::response::Response;
use bytes::Bytes;
use engineio::{CloseReason, EngineIo, EngineIoConfig, EngineIoHandler, Message, Socket};
use http::StatusCode;
use http_body_util::BodyExt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// The body limit the targets run with: small, so that going over it is within reach.
pub const MAX_BODY: usize = 512;

/// Echoes every message; `flood` sends enough back to fill the queue.
pub struct Echo;

impl EngineIoHandler for Echo {
    type Data = ();
    fn on_connect(&self, _socket: Arc<Socket>) {}
    fn on_message(&self, socket: &Arc<Socket>, message: Message) {
        if matches!(&message, Message::Text(text) if text.as_str() == "flood") {
            for _ in 0..64 {
                if socket.send("x".repeat(64)).is_err() {
                    break;
                }
            }
            return;
        }
        let _ = socket.send(message);
    }
    fn on_close(&self, _socket: &Arc<Socket>, _reason: CloseReason) {}
}

pub fn engine() -> EngineIo<Echo> {
    let config = EngineIoConfig::builder()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .upgrade_timeout(Duration::from_millis(500))
        .max_http_buffer_size(MAX_BODY)
        .max_buffer_size(2048)
        // Every handshake whose EIO is not 4 opens a v3 session: both revisions are fuzzed.
        .allow_eio3(true)
        // Agreed with a client that offers it (`eio_ws`); a low threshold so that the echoes
        // are compressed too.
        .per_message_deflate(Some(engineio::PerMessageDeflate {
            threshold: 16,
            ..engineio::PerMessageDeflate::default()
        }))
        .build();
    EngineIo::builder(Echo).config(config).build()
}

/// Runs `fut` on a fresh single-threaded runtime with paused time.
pub fn run<F: Future>(fut: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a runtime")
        .block_on(fut)
}

/// After the engine is closed, every session must be gone once the heartbeat deadlines pass.
pub async fn assert_all_closed(engine: &EngineIo<Echo>) {
    engine.close();
    assert_none_left("sessions outlived the engine's close", || engine.count()).await;
}

/// Waits (on paused time: 5 s pass in an instant) for `count` to reach zero.
pub async fn assert_none_left(what: &str, count: impl Fn() -> usize) {
    for _ in 0..50 {
        if count() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{} {what}", count());
}

/// A response's status and whole body, which must not be a server error. A long poll ends at the
/// latest with its session's heartbeat deadline, so a body that does not end within 5 s is a bug.
pub async fn answer(response: Response) -> (StatusCode, Bytes) {
    let status = response.status();
    let body = tokio::time::timeout(Duration::from_secs(5), response.into_body().collect())
        .await
        .expect("a response body ends")
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    assert!(!status.is_server_error(), "{status}: {body:?}");
    (status, body)
}

/// The session id in an open packet (`0{"sid":..}`), wherever it appears in a polling body.
pub fn sid_in(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("0{")? + 1;
    let end = start + text[start..].find('}')? + 1;
    let open: serde_json::Value = serde_json::from_str(&text[start..end]).ok()?;
    Some(open.get("sid")?.as_str()?.to_owned())
}
