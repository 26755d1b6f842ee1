//! The TCP stream under each client's tungstenite: it counts the bytes that cross the wire
//! (every client's, in one per-thread total, since the load generator runs on one thread), and
//! with per-message deflate it inflates what the server compressed, with the engine's own
//! [`Inflater`], before tungstenite (which refuses RSV1) reads it.

use engineio::Inflater;
use std::cell::Cell;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

thread_local! {
    static WIRE_BYTES: Cell<u64> = const { Cell::new(0) };
}

/// Every byte read or written by the clients of this thread so far.
pub fn wire_bytes() -> u64 {
    WIRE_BYTES.with(Cell::get)
}

fn count(n: usize) {
    WIRE_BYTES.with(|total| total.set(total.get() + n as u64));
}

pub struct Tcp {
    inner: TcpStream,
    inflater: Option<Box<Inflater>>,
    /// How much of the `\r\n\r\n` that ends the server's HTTP answer has been read: only
    /// what follows it is WebSocket frames.
    http_end: usize,
    /// Inflated bytes not yet taken by tungstenite.
    out: Vec<u8>,
    taken: usize,
}

impl Tcp {
    pub fn new(inner: TcpStream) -> Self {
        Self {
            inner,
            inflater: None,
            http_end: 0,
            out: Vec::new(),
            taken: 0,
        }
    }

    /// What is read after the HTTP answer is inflated where the server compressed it (set
    /// before the handshake: a server may send a compressed message right behind its 101).
    pub fn inflate(&mut self) {
        self.inflater = Some(Box::new(Inflater::client(usize::MAX >> 1, false)));
    }
}

impl AsyncRead for Tcp {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.taken < this.out.len() {
                let n = (this.out.len() - this.taken).min(buf.remaining());
                buf.put_slice(&this.out[this.taken..this.taken + n]);
                this.taken += n;
                return Poll::Ready(Ok(()));
            }
            let Some(inflater) = &mut this.inflater else {
                let before = buf.filled().len();
                ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
                count(buf.filled().len() - before);
                return Poll::Ready(Ok(()));
            };
            let mut raw = [0u8; 16 << 10];
            let mut read = ReadBuf::new(&mut raw);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
            let read = read.filled();
            if read.is_empty() {
                return Poll::Ready(Ok(()));
            }
            count(read.len());
            this.out.clear();
            this.taken = 0;
            let mut at = 0;
            while this.http_end < 4 && at < read.len() {
                let expected = b"\r\n\r\n"[this.http_end];
                this.http_end = match read[at] {
                    byte if byte == expected => this.http_end + 1,
                    b'\r' => 1,
                    _ => 0,
                };
                this.out.push(read[at]);
                at += 1;
            }
            while at < read.len() {
                at += inflater
                    .process(&read[at..], &mut this.out)
                    .map_err(|code| {
                        io::Error::new(io::ErrorKind::InvalidData, format!("{code}"))
                    })?;
            }
        }
    }
}

impl AsyncWrite for Tcp {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let n = ready!(Pin::new(&mut self.get_mut().inner).poll_write(cx, buf))?;
        count(n);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
