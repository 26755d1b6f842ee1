//! The v4 heartbeat: the server pings every `ping_interval` and closes the session when no pong
//! comes within `ping_timeout`, with no grace period.

use crate::{CloseReason, EngineIo, EngineIoHandler, Socket};
use parser::engineio::Frame;
use parser::Str;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::time::sleep;

const PING: Frame = Frame::Text(Str::from_static("2"));

/// Runs the heartbeat of a socket opened on polling in a task of its own, until it closes: it
/// outlives polling requests and transport changes. A socket opened on a WebSocket has its
/// heartbeat driven by the WebSocket's task instead, which saves a task per connection.
pub(crate) fn spawn<H: EngineIoHandler>(engine: EngineIo<H>, socket: Arc<Socket<H::Data>>) {
    tokio::spawn(async move {
        tokio::select! {
            _ = beat(&engine, &socket) => {}
            _ = socket.closed.wait() => {}
        }
    });
}

/// Pings, and waits for each pong; returns once it has closed the socket for a missing pong.
/// Whoever polls it stops when the socket closes otherwise.
pub(crate) async fn beat<H: EngineIoHandler>(engine: &EngineIo<H>, socket: &Arc<Socket<H::Data>>) {
    let interval = engine.config().ping_interval;
    let timeout = engine.config().ping_timeout;
    loop {
        sleep(interval).await;
        socket.awaiting_pong.store(true, Ordering::Release);
        socket.send_control(PING);
        tokio::select! {
            _ = socket.pong.notified() => {}
            _ = sleep(timeout) => {
                engine.close_socket(socket, CloseReason::PingTimeout);
                return;
            }
        }
    }
}

/// A pong counts only as the answer to an outstanding ping; an unsolicited one changes nothing.
pub(crate) fn on_pong<D>(socket: &Socket<D>) {
    if socket.awaiting_pong.swap(false, Ordering::AcqRel) {
        socket.pong.notify_one();
    }
}
