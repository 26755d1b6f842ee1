//! An engine.io echo server that behaves as Node's
//! `engine.io.listen(PORT, {pingInterval: 300, pingTimeout: 200, maxPayload: 1e6, cors: {origin: "*"}})`
//! with a handler that sends every message straight back: the server the conformance tests drive.
//!
//! It prints `{"event":"listening","port":N}` once it accepts connections. With `EIO_EVENTS=1`
//! it also prints one JSON line per socket event (connection, upgrade, drain, close), so that
//! tests can see what happened on the server side. With `COOKIE=1` it sets Node's session
//! cookie (`cookie: true`: `io=<sid>; Path=/; HttpOnly; SameSite=Lax`) on each handshake.

use engineio::{CloseReason, EngineIo, EngineIoConfig, EngineIoHandler, Message, Socket};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

struct Echo {
    report_events: bool,
}

impl Echo {
    fn report(&self, event: serde_json::Value) {
        if self.report_events {
            conformance::line(event);
        }
    }
}

impl EngineIoHandler for Echo {
    type Data = ();

    fn on_connect(&self, socket: Arc<Socket>) {
        let transport = socket.transport().name();
        self.report(
            json!({"event": "connection", "sid": socket.id().as_str(), "transport": transport}),
        );
    }

    fn on_message(&self, socket: &Arc<Socket>, message: Message) {
        if let Err(e) = socket.send(message) {
            tracing::warn!(sid = %socket.id(), "echo dropped: {e}");
        }
    }

    fn on_close(&self, socket: &Arc<Socket>, reason: CloseReason) {
        self.report(
            json!({"event": "close", "sid": socket.id().as_str(), "reason": reason.as_str()}),
        );
    }

    fn on_drain(&self, socket: &Arc<Socket>) {
        self.report(json!({"event": "drain", "sid": socket.id().as_str()}));
    }

    fn on_upgrade(&self, socket: &Arc<Socket>) {
        let transport = socket.transport().name();
        self.report(
            json!({"event": "upgrade", "sid": socket.id().as_str(), "transport": transport}),
        );
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = conformance::init();
    let mut config = EngineIoConfig::builder()
        .path("/engine.io/")
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_http_buffer_size(1_000_000);
    if conformance::flag("COOKIE") {
        config = config.cookie(engineio::SessionCookie::default());
    }
    let config = config.build();
    let engine = EngineIo::builder(Echo {
        report_events: conformance::flag("EIO_EVENTS"),
    })
    .config(config)
    .cors(conformance::any_origin())
    .build();
    conformance::serve(engine.router(), port, || engine.close()).await
}
