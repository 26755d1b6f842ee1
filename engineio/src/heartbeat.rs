//! The v4 heartbeat: the server pings every `ping_interval` and closes the session when no pong
//! comes within `ping_timeout`, with no grace period.

use crate::{CloseReason, EngineIo, EngineIoHandler, Socket};
use parser::engineio::Frame;
use parser::Str;
use std::pin::{pin, Pin};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{sleep, Instant, Sleep};

const PING: Frame = Frame::Text(Str::from_static("2"));

/// Where a socket's heartbeat is: waiting to ping, or waiting for the pong. Its timer is kept
/// by whoever drives it, so that a WebSocket's task holds one timer and no second task.
pub(crate) struct Heartbeat {
    interval: Duration,
    timeout: Duration,
    pinging: bool,
}

impl Heartbeat {
    /// A heartbeat, and its timer set for the first ping.
    pub fn start<H: EngineIoHandler>(engine: &EngineIo<H>) -> (Self, Sleep) {
        let config = engine.config();
        let heartbeat = Self {
            interval: config.ping_interval,
            timeout: config.ping_timeout,
            pinging: false,
        };
        (heartbeat, sleep(config.ping_interval))
    }

    /// Waits for the timer, then pings, or closes the socket when the last ping went
    /// unanswered; false once it has closed it. Cancelling it before the timer fires loses
    /// nothing.
    pub async fn tick<H: EngineIoHandler>(
        &mut self,
        mut timer: Pin<&mut Sleep>,
        engine: &EngineIo<H>,
        socket: &Arc<Socket<H::Data>>,
    ) -> bool {
        timer.as_mut().await;
        if self.pinging {
            // A pong handled but not yet checked, at the deadline, still counts.
            if !socket.awaiting_pong.load(Ordering::Acquire) {
                self.check_pong(timer, socket);
                return true;
            }
            engine.close_socket(socket, CloseReason::PingTimeout);
            return false;
        }
        socket.awaiting_pong.store(true, Ordering::Release);
        socket.send_control(PING);
        self.pinging = true;
        timer.reset(Instant::now() + self.timeout);
        true
    }

    /// Once the pong to the last ping has come, the next ping is due an interval from now.
    pub fn check_pong<D>(&mut self, timer: Pin<&mut Sleep>, socket: &Socket<D>) {
        if self.pinging && !socket.awaiting_pong.load(Ordering::Acquire) {
            self.pinging = false;
            timer.reset(Instant::now() + self.interval);
        }
    }

    pub fn awaits_pong(&self) -> bool {
        self.pinging
    }
}

/// Runs the heartbeat of a socket opened on polling in a task of its own, until it closes: it
/// outlives polling requests and transport changes. A socket opened on a WebSocket has its
/// heartbeat driven by the WebSocket's task instead, which saves a task per connection.
pub(crate) fn spawn<H: EngineIoHandler>(engine: EngineIo<H>, socket: Arc<Socket<H::Data>>) {
    tokio::spawn(async move {
        let (mut heartbeat, timer) = Heartbeat::start(&engine);
        let mut timer = pin!(timer);
        loop {
            tokio::select! {
                alive = heartbeat.tick(timer.as_mut(), &engine, &socket) => if !alive { return },
                _ = socket.pong.notified(), if heartbeat.awaits_pong() => {
                    heartbeat.check_pong(timer.as_mut(), &socket);
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
