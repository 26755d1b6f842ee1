//! The v4 heartbeat: the server pings every `ping_interval` and closes the session when no pong
//! comes within `ping_timeout`, with no grace period.

use crate::{CloseReason, EngineIo, EngineIoHandler, Socket};
use parser::engineio::Frame;
use parser::Str;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::time::sleep;

const PING: Frame = Frame::Text(Str::from_static("2"));

/// Runs the heartbeat of one socket until it closes. It outlives transport changes, which is why
/// it is its own task rather than part of a transport.
pub(crate) fn spawn<H: EngineIoHandler>(engine: EngineIo<H>, socket: Arc<Socket<H::Data>>) {
    let interval = engine.config().ping_interval;
    let timeout = engine.config().ping_timeout;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = sleep(interval) => {}
                _ = socket.closed.wait() => return,
            }
            socket.awaiting_pong.store(true, Ordering::Release);
            socket.send_control(PING);
            tokio::select! {
                _ = socket.pong.notified() => {}
                _ = sleep(timeout) => {
                    engine.close_socket(&socket, CloseReason::PingTimeout);
                    return;
                }
                _ = socket.closed.wait() => return,
            }
        }
    });
}

/// A pong counts only as the answer to an outstanding ping; an unsolicited one changes nothing.
pub(crate) fn on_pong<D>(socket: &Socket<D>) {
    if socket.awaiting_pong.swap(false, Ordering::AcqRel) {
        socket.pong.notify_one();
    }
}
