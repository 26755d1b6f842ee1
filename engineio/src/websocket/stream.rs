//! The byte stream under tungstenite, which reads without an idle buffer per connection.
//!
//! tungstenite reads into a buffer of `read_buffer_size` bytes that each connection keeps for
//! its whole life, idle or not: with thousands of idle sockets that buffer is most of their
//! memory. Here each read goes into a per-thread scratch buffer instead, so tungstenite's own
//! buffer can stay a few hundred bytes; only what tungstenite could not take at once is kept,
//! in a buffer freed as soon as it is consumed. A burst still costs one `read` syscall.
//!
//! On a connection that agreed to per-message deflate, what is read goes through the
//! [`Inflater`] first, which hands tungstenite the compressed messages as plain frames.

use super::deflate::Inflater;
use super::scratch::with_scratch;
use bytes::{Buf, Bytes};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

pub(crate) struct WsStream<S> {
    inner: S,
    /// Bytes read but not yet taken by tungstenite; empty, and unallocated, between bursts.
    leftover: Bytes,
    /// Only on a connection with per-message deflate: one pointer on the others.
    deflate: Option<Box<Deflate>>,
}

/// The reading state of a connection with per-message deflate.
struct Deflate {
    inflater: Inflater,
    /// Bytes read but not yet through the inflater (it stops after a chunk of output).
    unread: Bytes,
    /// Why the inflater ended the connection: the close code sent to the peer.
    failed: Option<CloseCode>,
}

impl<S> WsStream<S> {
    pub(crate) fn new(inner: S, inflater: Option<Inflater>) -> Self {
        Self {
            inner,
            leftover: Bytes::new(),
            deflate: inflater.map(|inflater| {
                Box::new(Deflate {
                    inflater,
                    unread: Bytes::new(),
                    failed: None,
                })
            }),
        }
    }

    /// The close code for the peer when the inflater refused what it sent.
    pub(crate) fn close_code(&self) -> Option<CloseCode> {
        self.deflate.as_ref().and_then(|deflate| deflate.failed)
    }

    fn take_leftover(&mut self, buf: &mut ReadBuf<'_>) {
        let n = self.leftover.len().min(buf.remaining());
        buf.put_slice(&self.leftover[..n]);
        self.leftover.advance(n);
        if self.leftover.is_empty() {
            self.leftover = Bytes::new();
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WsStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.leftover.is_empty() {
            this.take_leftover(buf);
            return Poll::Ready(Ok(()));
        }
        if this.deflate.is_some() {
            return this.poll_read_inflated(cx, buf);
        }
        with_scratch(|scratch| {
            let mut read = ReadBuf::new(scratch);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
            let read = read.filled();
            let n = read.len().min(buf.remaining());
            buf.put_slice(&read[..n]);
            if n < read.len() {
                this.leftover = Bytes::copy_from_slice(&read[n..]);
            }
            Poll::Ready(Ok(()))
        })
    }
}

impl<S: AsyncRead + Unpin> WsStream<S> {
    /// Reads through the inflater: what it gives goes to `buf`, the rest of it to `leftover`.
    /// A burst it turns into nothing yet (part of a header, compressed bytes still in the
    /// inflater) is followed by the next read, never by an empty answer, which would be EOF.
    fn poll_read_inflated(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let Some(deflate) = self.deflate.as_deref_mut() else {
            return Poll::Ready(Ok(()));
        };
        let mut out = Vec::new();
        loop {
            if deflate.failed.is_some() {
                return Poll::Ready(Err(io::ErrorKind::InvalidData.into()));
            }
            let result: Poll<io::Result<Option<Result<usize, CloseCode>>>> =
                if deflate.unread.is_empty() {
                    with_scratch(|scratch| {
                        let mut read = ReadBuf::new(scratch);
                        ready!(Pin::new(&mut self.inner).poll_read(cx, &mut read))?;
                        let read = read.filled();
                        if read.is_empty() {
                            return Poll::Ready(Ok(None));
                        }
                        let taken = deflate.inflater.process(read, &mut out);
                        if let Ok(taken) = taken {
                            deflate.unread = Bytes::copy_from_slice(&read[taken..]);
                        }
                        Poll::Ready(Ok(Some(taken)))
                    })
                } else {
                    let taken = deflate.inflater.process(&deflate.unread, &mut out);
                    if let Ok(taken) = taken {
                        deflate.unread.advance(taken);
                    }
                    Poll::Ready(Ok(Some(taken)))
                };
            match ready!(result)? {
                // The end of the stream.
                None => return Poll::Ready(Ok(())),
                Some(Err(code)) => {
                    deflate.failed = Some(code);
                    return Poll::Ready(Err(io::ErrorKind::InvalidData.into()));
                }
                Some(Ok(_)) if out.is_empty() => continue,
                Some(Ok(_)) => break,
            }
        }
        let n = out.len().min(buf.remaining());
        buf.put_slice(&out[..n]);
        if n < out.len() {
            self.leftover = Bytes::from(out).slice(n..);
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WsStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn small_reads_take_a_burst_in_order_then_hold_nothing() {
        let (mut client, server) = tokio::io::duplex(1 << 20);
        let burst: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        client.write_all(&burst).await.unwrap();
        let mut stream = WsStream::new(server, None);
        let mut got = Vec::new();
        let mut small = [0u8; 100];
        while got.len() < burst.len() {
            let n = stream.read(&mut small).await.unwrap();
            got.extend_from_slice(&small[..n]);
        }
        assert_eq!(got, burst);
        assert!(stream.leftover.is_empty());
        client.write_all(b"next").await.unwrap();
        let n = stream.read(&mut small).await.unwrap();
        assert_eq!(&small[..n], b"next");
    }
}
