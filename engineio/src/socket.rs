use crate::handshake::Handshake;
use crate::message::{CloseReason, Message, SendError};
use crate::signal::Signal;
use crate::{Sid, Transport};
use parser::engineio::Frame;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// One engine.io session, whichever transport it is on now.
///
/// Sending never waits: frames go into a bounded queue that the transport drains whole, each
/// WebSocket batch with one flush, each polling GET as one payload. `D` is the application's
/// per-socket data, created with `Default` when the session opens.
///
/// ```no_run
/// # use engineio::Socket;
/// fn greet(socket: &Socket) {
///     match socket.send("hello") {
///         Ok(()) => {}
///         Err(e) => eprintln!("{} not greeted: {e}", socket.id()),
///     }
/// }
/// ```
pub struct Socket<D = ()> {
    id: Sid,
    handshake: Handshake,
    data: D,
    max_buffer_size: usize,
    buffer: Mutex<WriteBuffer>,
    /// Wakes the active transport's writer when the queue goes from empty to not, and when the
    /// session closes.
    pub(crate) wake: Notify,
    /// Wakes pending polling GETs when an upgrade is probed or completes.
    pub(crate) upgrade_signal: Notify,
    pub(crate) closed: Signal,
    close_reason: OnceLock<CloseReason>,
    pub(crate) pong: Notify,
    pub(crate) awaiting_pong: AtomicBool,
    /// When the session was created, before its handshake was answered: the heartbeat's clock.
    opened: Instant,
    /// Nanoseconds after `opened` at which the session ends unless a ping is answered first.
    expiry: AtomicU64,
    transport: AtomicU8,
    protocol: crate::Protocol,
    /// A WebSocket for this sid has arrived; a second one is refused.
    pub(crate) upgrade_started: AtomicBool,
    /// The upgrade WebSocket has been probed: polling GETs get a noop so the client can pause.
    pub(crate) upgrading: AtomicBool,
    pub(crate) writable: AtomicBool,
    pub(crate) poll_active: AtomicBool,
    pub(crate) post_active: AtomicBool,
}

#[derive(Default)]
struct WriteBuffer {
    frames: Vec<Frame>,
    /// The indexes in `frames` of those sent with `compress: false`; empty, and unallocated,
    /// unless an emit asked for it.
    uncompressed: Vec<usize>,
    bytes: usize,
    /// Bytes taken by the transport and not yet written: they count against the bound too, so
    /// that a stalled peer holds at most the bound, not the bound plus a batch.
    in_flight: usize,
    /// `close()` was called: nothing more is queued, and the batch that carries this flag is
    /// the last one, after which the transport closes.
    closing: bool,
}

/// How frames are sent (Node: the options of engine.io's `socket.send`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendOptions {
    /// Whether the frames may be compressed, when per-message deflate was agreed and they are
    /// at least its threshold (Node: `compress`, true).
    pub compress: bool,
}

impl Default for SendOptions {
    fn default() -> Self {
        Self { compress: true }
    }
}

/// What a transport takes from the queue in one go. Its bytes stay counted against the
/// queue bound until the transport calls [`Socket::written`].
pub(crate) struct Batch {
    pub(crate) frames: Vec<Frame>,
    /// The indexes in `frames` of those that must not be compressed.
    pub(crate) uncompressed: Vec<usize>,
    pub(crate) closing: bool,
    pub(crate) bytes: usize,
}

impl<D> Socket<D> {
    pub(crate) fn new(
        id: Sid,
        handshake: Handshake,
        data: D,
        transport: Transport,
        protocol: crate::Protocol,
        max_buffer_size: usize,
        heartbeat_window: Duration,
    ) -> Self {
        Self {
            opened: Instant::now(),
            expiry: AtomicU64::new(nanos(heartbeat_window)),
            id,
            data,
            max_buffer_size,
            transport: AtomicU8::new(transport as u8),
            protocol,
            handshake,
            buffer: Mutex::default(),
            wake: Notify::new(),
            upgrade_signal: Notify::new(),
            closed: Signal::default(),
            close_reason: OnceLock::new(),
            pong: Notify::new(),
            awaiting_pong: AtomicBool::new(false),
            upgrade_started: AtomicBool::new(false),
            upgrading: AtomicBool::new(false),
            writable: AtomicBool::new(transport == Transport::Websocket),
            poll_active: AtomicBool::new(false),
            post_active: AtomicBool::new(false),
        }
    }

    /// The session id.
    #[must_use]
    pub fn id(&self) -> Sid {
        self.id
    }

    /// The request that opened the session.
    #[must_use]
    pub fn handshake(&self) -> &Handshake {
        &self.handshake
    }

    /// The application's data for this socket.
    #[must_use]
    pub fn data(&self) -> &D {
        &self.data
    }

    /// The engine.io protocol revision the client speaks (Node's `socket.protocol`): v3 only
    /// when the engine serves it ([`allow_eio3`](crate::EngineIoConfigBuilder::allow_eio3)).
    #[must_use]
    pub fn protocol(&self) -> crate::Protocol {
        self.protocol
    }

    /// The transport in use now (it changes once, when a polling session upgrades).
    #[must_use]
    pub fn transport(&self) -> Transport {
        if self.transport.load(Ordering::Acquire) == Transport::Websocket as u8 {
            Transport::Websocket
        } else {
            Transport::Polling
        }
    }

    /// Whether a send now would go out without waiting: a polling GET is pending, or the
    /// WebSocket is not in the middle of a write. Volatile messages are dropped when it is false.
    #[must_use]
    pub fn is_writable(&self) -> bool {
        self.writable.load(Ordering::Acquire) && !self.is_closed()
    }

    /// Whether the session has ended (not merely been asked to close).
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.closed.is_set()
    }

    /// Why the session closed, once it has.
    #[must_use]
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.close_reason.get().copied()
    }

    /// Queues a message.
    pub fn send(&self, message: impl Into<Message>) -> Result<(), SendError> {
        self.send_frame(message.into().into_frame())
    }

    /// Queues an already encoded frame: how one encoding is shared by every recipient of a
    /// broadcast. The frame must be an engine.io message (text starting with `4`, or binary).
    pub fn send_frame(&self, frame: Frame) -> Result<(), SendError> {
        self.send_frames(std::iter::once(frame))
    }

    /// Queues frames together: none of them or all of them, contiguous (a socket.io packet and
    /// its binary attachments). Fails with [`SendError::Full`] when what is queued and what the
    /// transport is writing would pass `max_buffer_size`; a socket with nothing of either takes
    /// any one message, however large.
    pub fn send_frames(&self, frames: impl IntoIterator<Item = Frame>) -> Result<(), SendError> {
        self.send_frames_with(frames, SendOptions::default())
    }

    /// Queues frames as [`send_frames`](Self::send_frames) does, with options: Node's
    /// `socket.send(data, {compress: false})`.
    ///
    /// ```no_run
    /// # fn f(socket: &engineio::Socket) {
    /// use engineio::{Frame, SendOptions};
    ///
    /// // Already compressed (an image): deflating it again would only cost time.
    /// let png = Frame::Binary(bytes::Bytes::from_static(b"\x89PNG..."));
    /// let _ = socket.send_frames_with([png], SendOptions { compress: false });
    /// # }
    /// ```
    pub fn send_frames_with(
        &self,
        frames: impl IntoIterator<Item = Frame>,
        options: SendOptions,
    ) -> Result<(), SendError> {
        let frames = frames.into_iter();
        let mut buffer = self.lock_buffer();
        if buffer.closing || self.is_closed() {
            return Err(SendError::Closed);
        }
        let was_empty = buffer.frames.is_empty();
        let idle = was_empty && buffer.in_flight == 0;
        let start = buffer.frames.len();
        let mut added = 0;
        for frame in frames {
            added += frame.len();
            buffer.frames.push(frame);
        }
        if !idle && buffer.in_flight + buffer.bytes + added > self.max_buffer_size {
            buffer.frames.truncate(start);
            return Err(SendError::Full);
        }
        if !options.compress {
            let end = buffer.frames.len();
            buffer.uncompressed.extend(start..end);
        }
        buffer.bytes += added;
        drop(buffer);
        if was_empty {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Closes the session once what is queued has been sent: the close reason is
    /// `forced close`. Sends after this fail.
    pub fn close(&self) {
        let mut buffer = self.lock_buffer();
        if buffer.closing || self.is_closed() {
            return;
        }
        buffer.closing = true;
        drop(buffer);
        self.wake.notify_one();
    }

    /// Bytes queued and not yet written: what [`send`](Self::send) counts against
    /// `max_buffer_size`.
    #[must_use]
    pub fn buffered_bytes(&self) -> usize {
        let buffer = self.lock_buffer();
        buffer.bytes + buffer.in_flight
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.lock_buffer().closing
    }

    /// Queues an engine packet (ping, pong, noop) that the queue bound does not apply to. One
    /// the same as the last frame still queued is not queued twice: a v3 client's POST of a
    /// third of a million pings (1 MB) would otherwise queue as many pongs, which no GET may
    /// ever take, and the client needs only one.
    pub(crate) fn send_control(&self, frame: Frame) {
        let mut buffer = self.lock_buffer();
        if buffer.closing || self.is_closed() || buffer.frames.last() == Some(&frame) {
            return;
        }
        let was_empty = buffer.frames.is_empty();
        buffer.bytes += frame.len();
        buffer.frames.push(frame);
        drop(buffer);
        if was_empty {
            self.wake.notify_one();
        }
    }

    /// Takes everything queued. A transport that gets `closing` writes the frames, then closes.
    pub(crate) fn take_batch(&self) -> Batch {
        let mut buffer = self.lock_buffer();
        let bytes = std::mem::take(&mut buffer.bytes);
        buffer.in_flight += bytes;
        Batch {
            frames: std::mem::take(&mut buffer.frames),
            uncompressed: std::mem::take(&mut buffer.uncompressed),
            closing: buffer.closing,
            bytes,
        }
    }

    /// A batch's bytes have been written (or dropped): they no longer count against the bound.
    pub(crate) fn written(&self, bytes: usize) {
        let mut buffer = self.lock_buffer();
        buffer.in_flight = buffer.in_flight.saturating_sub(bytes);
    }

    pub(crate) fn has_queued(&self) -> bool {
        let buffer = self.lock_buffer();
        !buffer.frames.is_empty() || buffer.closing
    }

    pub(crate) fn set_transport(&self, transport: Transport) {
        self.transport.store(transport as u8, Ordering::Release);
    }

    /// When the heartbeat ends the session unless a ping is answered before.
    pub(crate) fn expires_at(&self) -> Instant {
        self.opened + Duration::from_nanos(self.expiry.load(Ordering::Acquire))
    }

    pub(crate) fn set_expiry(&self, at: Instant) {
        let after_open = at.saturating_duration_since(self.opened);
        self.expiry.store(nanos(after_open), Ordering::Release);
    }

    /// The heartbeat's deadline has passed: the session is over, whether or not its timer has
    /// run yet.
    pub(crate) fn heartbeat_expired(&self) -> bool {
        Instant::now() >= self.expires_at()
    }

    /// Marks the session closed; true for the first caller only, who then reports it.
    pub(crate) fn mark_closed(&self, reason: CloseReason) -> bool {
        if self.close_reason.set(reason).is_err() {
            return false;
        }
        self.closed.set();
        // The transport's writer waits for this one alone, the close included.
        self.wake.notify_one();
        // Queued frames will never be sent: free them now rather than with the last reference.
        let mut buffer = self.lock_buffer();
        buffer.frames = Vec::new();
        buffer.bytes = 0;
        buffer.in_flight = 0;
        true
    }

    fn lock_buffer(&self) -> MutexGuard<'_, WriteBuffer> {
        // The lock is never held across code that can panic, but a poisoned queue is still a
        // valid queue: keep serving rather than propagate.
        crate::sync::lock(&self.buffer)
    }
}

/// A duration in nanoseconds, saturating (u64 nanoseconds last 584 years).
fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

impl<D> std::fmt::Debug for Socket<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.id)
            .field("transport", &self.transport())
            .field("closed", &self.is_closed())
            .finish()
    }
}
