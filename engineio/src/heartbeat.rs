//! The v4 heartbeat: the server pings every `ping_interval` and closes the session when no pong
//! comes within `ping_timeout`, with no grace period. In v3 the client pings: the server answers
//! each ping and closes the session when none came for `ping_interval + ping_timeout`.
//!
//! Every deadline is an instant on the session's own clock, fixed when it is set: the first
//! ping is due `ping_interval` after the session opened, the close `ping_timeout` after that,
//! and each answered ping moves both on from the moment its pong arrived. Nothing is re-armed
//! from "now" when a timer happens to run, so a late scheduler delays the ping's sending but
//! never the session's end; and a request for a session past its deadline finds it gone
//! whether or not the timer has fired yet (as Node's, whose timers run on the clock too).

use crate::{CloseReason, EngineIo, EngineIoHandler, Protocol, Socket};
use parser::engineio::Frame;
use parser::Str;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::time::{sleep_until, Instant, Sleep};

const PING: Frame = Frame::Text(Str::from_static("2"));
const PONG: Frame = Frame::Text(Str::from_static("3"));

/// Where a socket's heartbeat is: waiting to ping, or waiting for the pong. Its timer is kept
/// by whoever drives it, so that a WebSocket's task holds one timer and no second task.
pub(crate) struct Heartbeat {
    timeout: Duration,
    pinging: bool,
    /// A v3 session: the client pings, the timer only watches the deadline.
    legacy: bool,
}

impl Heartbeat {
    /// A heartbeat, and its timer set for the socket's first ping.
    pub(crate) fn start<H: EngineIoHandler>(
        engine: &EngineIo<H>,
        socket: &Socket<H::Data>,
    ) -> (Self, Sleep) {
        let timeout = engine.config().ping_timeout;
        let legacy = socket.protocol() == Protocol::V3;
        let heartbeat = Self {
            timeout,
            pinging: false,
            legacy,
        };
        let first = match legacy {
            true => socket.expires_at(),
            false => socket.expires_at() - timeout,
        };
        (heartbeat, sleep_until(first))
    }

    /// Waits for the timer, then pings, or closes the socket when the last ping went
    /// unanswered; false once it has closed it. Cancelling it before the timer fires loses
    /// nothing.
    pub(crate) async fn tick<H: EngineIoHandler>(
        &mut self,
        mut timer: Pin<&mut Sleep>,
        engine: &EngineIo<H>,
        socket: &Arc<Socket<H::Data>>,
    ) -> bool {
        poll_fn(|cx| self.poll_tick(timer.as_mut(), cx, engine, socket)).await
    }

    /// [`tick`](Self::tick) as a poll: what a WebSocket's task waits on beside its reads and
    /// wake-ups, where a future of its own would make every connection's task larger.
    pub(crate) fn poll_tick<H: EngineIoHandler>(
        &mut self,
        mut timer: Pin<&mut Sleep>,
        cx: &mut Context<'_>,
        engine: &EngineIo<H>,
        socket: &Arc<Socket<H::Data>>,
    ) -> Poll<bool> {
        ready!(timer.as_mut().poll(cx));
        if self.legacy {
            // A client ping moves the deadline on; the timer follows it until one is missed.
            let deadline = socket.expires_at();
            if Instant::now() < deadline {
                timer.reset(deadline);
                return Poll::Ready(true);
            }
            engine.close_socket(socket, CloseReason::PingTimeout);
            return Poll::Ready(false);
        }
        if self.pinging {
            // A pong that arrived before the deadline counts, even if it was not seen yet.
            if !socket.awaiting_pong.load(Ordering::Acquire) {
                self.check_pong(timer, socket);
                return Poll::Ready(true);
            }
            engine.close_socket(socket, CloseReason::PingTimeout);
            return Poll::Ready(false);
        }
        socket.awaiting_pong.store(true, Ordering::Release);
        socket.send_control(PING);
        self.pinging = true;
        // Due when the ping was due plus the timeout, however late this ran.
        timer.reset(socket.expires_at());
        Poll::Ready(true)
    }

    /// Once the pong to the last ping has come, the next ping is due an interval after it came.
    pub(crate) fn check_pong<D>(&mut self, timer: Pin<&mut Sleep>, socket: &Socket<D>) {
        if self.pinging && !socket.awaiting_pong.load(Ordering::Acquire) {
            self.pinging = false;
            timer.reset(socket.expires_at() - self.timeout);
        }
    }

    pub(crate) fn awaits_pong(&self) -> bool {
        self.pinging
    }
}

/// Runs the heartbeat of a socket opened on polling in a task of its own, until it closes: it
/// outlives polling requests and transport changes. A socket opened on a WebSocket has its
/// heartbeat driven by the WebSocket's task instead, which saves a task per connection.
pub(crate) fn spawn<H: EngineIoHandler>(engine: EngineIo<H>, socket: Arc<Socket<H::Data>>) {
    tokio::spawn(async move {
        let (mut heartbeat, timer) = Heartbeat::start(&engine, &socket);
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

/// A v3 client's ping, answered with a pong, moves the session's deadline to an interval and a
/// timeout from now; one that comes past the deadline finds the session over.
pub(crate) fn on_ping<H: EngineIoHandler>(engine: &EngineIo<H>, socket: &Socket<H::Data>) {
    let now = Instant::now();
    if now >= socket.expires_at() {
        return;
    }
    let config = engine.config();
    socket.set_expiry(now + config.ping_interval + config.ping_timeout);
    socket.send_control(PONG);
}

/// A pong counts only as the answer to an outstanding ping, and only before the session's
/// deadline: one that comes later finds the session already over, timer or no timer.
pub(crate) fn on_pong<H: EngineIoHandler>(engine: &EngineIo<H>, socket: &Socket<H::Data>) {
    let now = Instant::now();
    if now >= socket.expires_at() || !socket.awaiting_pong.load(Ordering::Acquire) {
        return;
    }
    let config = engine.config();
    // The new deadline is in place before the ping counts as answered: whoever sees the answer
    // reads the deadline that goes with it.
    socket.set_expiry(now + config.ping_interval + config.ping_timeout);
    socket.awaiting_pong.store(false, Ordering::Release);
    socket.pong.notify_one();
}
