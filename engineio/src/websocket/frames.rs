//! Writing engine frames as WebSocket messages, without a write buffer per connection.
//!
//! A server's frames are unmasked, so a message on the wire is a header of 2 to 10 bytes, then
//! the payload as it is. Each write gathers headers and small payloads in a per-thread scratch
//! buffer (one copy is cheaper than a slice per tiny payload) and hands large payloads to the
//! vectored write as slices of their own, so a broadcast's single encoding reaches every
//! recipient without a copy per recipient. Nothing stays allocated between writes: tungstenite's
//! writer copies every frame into a buffer that keeps the size of the largest batch for the rest
//! of the connection.
//!
//! A connection with per-message deflate writes [`Deflated`] frames instead: the same layout,
//! with RSV1 set on those whose payload is the compressed form, shared by a broadcast's
//! recipients as the plain one is.

use super::deflate::{compressed, Agreed};
use super::scratch::with_scratch;
use bytes::Bytes;
use parser::engineio::Frame;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::AsyncWrite;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;

/// Payloads up to this size are copied into the scratch buffer; larger ones go as they are.
const COPY_MAX: usize = 2 << 10;
/// The most slices one write takes, well under `IOV_MAX`.
const MAX_SLICES: usize = 64;
/// The longest header of an unmasked frame: 2 bytes, then a 64-bit length.
const MAX_HEADER: usize = 10;

/// A frame as it goes on the wire: its payload and its header.
pub(super) trait Outgoing {
    fn payload(&self) -> &[u8];
    fn header(&self) -> FrameHeader;
}

impl Outgoing for Frame {
    fn payload(&self) -> &[u8] {
        bytes(self)
    }

    fn header(&self) -> FrameHeader {
        header(opcode(self), false)
    }
}

/// A frame of a connection with per-message deflate: compressed (RSV1) or as it was.
pub(super) struct Deflated {
    opcode: Data,
    rsv1: bool,
    payload: Bytes,
}

impl Deflated {
    /// `frame` compressed when it may be (`compress`) and is at least the threshold, and when
    /// compressing makes it smaller.
    pub(super) fn new(frame: &Frame, agreed: &Agreed, compress: bool) -> Self {
        let payload = bytes(frame);
        let options = &agreed.options;
        let deflated = (compress && payload.len() >= options.threshold)
            .then(|| compressed(payload, options.level, agreed.server_max_window_bits))
            .flatten();
        Self {
            opcode: opcode(frame),
            rsv1: deflated.is_some(),
            payload: deflated.unwrap_or_else(|| payload.clone()),
        }
    }
}

impl Outgoing for Deflated {
    fn payload(&self) -> &[u8] {
        &self.payload
    }

    fn header(&self) -> FrameHeader {
        header(self.opcode, self.rsv1)
    }
}

/// Writes every frame, in order, then flushes.
pub(super) async fn write<S: AsyncWrite + Unpin, F: Outgoing>(
    io: &mut S,
    frames: &[F],
) -> io::Result<()> {
    let mut at = Position::default();
    poll_fn(|cx| poll_write(Pin::new(&mut *io), cx, frames, &mut at)).await?;
    poll_fn(|cx| Pin::new(&mut *io).poll_flush(cx)).await
}

/// How far the writing has got: the frame, and the bytes of it (header included) already sent.
#[derive(Default)]
struct Position {
    frame: usize,
    offset: usize,
}

/// One slice of a write: a range of the scratch buffer, or the payload of a frame.
#[derive(Clone, Copy)]
enum Segment {
    Scratch(usize, usize),
    Payload(usize),
}

fn poll_write<S: AsyncWrite, F: Outgoing>(
    mut io: Pin<&mut S>,
    cx: &mut Context<'_>,
    frames: &[F],
    at: &mut Position,
) -> Poll<io::Result<()>> {
    while at.frame < frames.len() {
        let written = with_scratch(|scratch| {
            let mut segments = [Segment::Payload(0); MAX_SLICES];
            let count = gather(&frames[at.frame..], scratch, &mut segments);
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            for (slice, segment) in slices.iter_mut().zip(&segments[..count]) {
                *slice = IoSlice::new(match *segment {
                    Segment::Scratch(start, end) => &scratch[start..end],
                    Segment::Payload(i) => frames[at.frame + i].payload(),
                });
            }
            let mut slices = &mut slices[..count];
            // The first frame may be partly written already.
            IoSlice::advance_slices(&mut slices, at.offset);
            io.as_mut().poll_write_vectored(cx, slices)
        });
        let mut written = match written {
            Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
            Poll::Ready(Ok(n)) => n,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        // Move past what went out: whole frames, then into the next one.
        while written > 0 {
            let remaining = wire_len(&frames[at.frame]) - at.offset;
            if written < remaining {
                at.offset += written;
                break;
            }
            written -= remaining;
            at.frame += 1;
            at.offset = 0;
        }
    }
    Poll::Ready(Ok(()))
}

/// Lays out as many of `frames` as one write takes: headers and small payloads copied into
/// `scratch`, large payloads as segments of their own. Returns how many segments it filled; the
/// frames it covers are whole, and there is always at least one.
fn gather<F: Outgoing>(
    frames: &[F],
    scratch: &mut [u8],
    segments: &mut [Segment; MAX_SLICES],
) -> usize {
    let mut count = 0;
    let mut start = 0;
    let mut used = 0;
    for (i, frame) in frames.iter().enumerate() {
        let payload = frame.payload();
        let copied = payload.len() <= COPY_MAX;
        let needed = MAX_HEADER + if copied { payload.len() } else { 0 };
        // A large payload closes the scratch segment and adds its own: room for two more.
        if i > 0 && (used + needed > scratch.len() || count + 2 >= MAX_SLICES) {
            break;
        }
        used += format_header(frame, &mut scratch[used..used + MAX_HEADER]);
        if copied {
            scratch[used..used + payload.len()].copy_from_slice(payload);
            used += payload.len();
        } else {
            segments[count] = Segment::Scratch(start, used);
            segments[count + 1] = Segment::Payload(i);
            count += 2;
            start = used;
        }
    }
    if used > start {
        segments[count] = Segment::Scratch(start, used);
        count += 1;
    }
    count
}

/// The frame's payload, shared (a broadcast's recipients hold the same `Bytes`, which is what
/// lets its compression be shared too).
fn bytes(frame: &Frame) -> &Bytes {
    match frame {
        Frame::Text(text) => text.as_bytes(),
        Frame::Binary(bytes) => bytes,
    }
}

fn opcode(frame: &Frame) -> Data {
    match frame {
        Frame::Text(_) => Data::Text,
        Frame::Binary(_) => Data::Binary,
    }
}

fn header(data: Data, rsv1: bool) -> FrameHeader {
    FrameHeader {
        opcode: OpCode::Data(data),
        rsv1,
        ..FrameHeader::default()
    }
}

/// The frame's length on the wire, header included.
fn wire_len<F: Outgoing>(frame: &F) -> usize {
    let len = frame.payload().len();
    frame.header().len(len as u64) + len
}

/// Formats the frame's WebSocket header into `out`; returns its length.
fn format_header<F: Outgoing>(frame: &F, out: &mut [u8]) -> usize {
    let mut cursor = out;
    let before = cursor.len();
    // MAX_HEADER bytes hold any unmasked header, so writing into them cannot fail.
    let _ = frame
        .header()
        .format(frame.payload().len() as u64, &mut cursor);
    before - cursor.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use parser::Str;
    use tokio::io::AsyncReadExt;
    use tokio_tungstenite::tungstenite::protocol::frame::FrameSocket;

    /// Writes `frames` through a pipe of `capacity` bytes, small enough that writes are partial,
    /// and parses what arrived with tungstenite's own frame reader.
    async fn round_trip(frames: Vec<Frame>, capacity: usize) -> Vec<(OpCode, Vec<u8>)> {
        let (mut writer, mut reader) = tokio::io::duplex(capacity);
        let sent = frames.clone();
        let writing = tokio::spawn(async move { write(&mut writer, &sent).await });
        let mut wire = Vec::new();
        reader.read_to_end(&mut wire).await.unwrap();
        writing.await.unwrap().unwrap();
        let mut socket = FrameSocket::new(io::Cursor::new(wire));
        let mut got = Vec::new();
        while let Some(frame) = socket.read(None).unwrap() {
            assert!(frame.header().is_final);
            assert!(frame.header().mask.is_none());
            got.push((frame.header().opcode, frame.payload().to_vec()));
        }
        got
    }

    #[tokio::test]
    async fn frames_of_every_length_format_survive_partial_writes() {
        let frames = vec![
            Frame::Text(Str::from_static("4hello")),
            Frame::Binary(Bytes::from(vec![1u8; 125])),
            Frame::Text(Str::from("4".repeat(126))),
            Frame::Binary(Bytes::from(vec![2u8; 70_000])),
            Frame::Text(Str::from_static("")),
        ];
        let got = round_trip(frames.clone(), 7).await;
        assert_eq!(got.len(), frames.len());
        for ((opcode, bytes), frame) in got.iter().zip(&frames) {
            let expected = match frame {
                Frame::Text(_) => OpCode::Data(Data::Text),
                Frame::Binary(_) => OpCode::Data(Data::Binary),
            };
            assert_eq!(*opcode, expected);
            assert_eq!(bytes.as_slice(), frame.payload());
        }
    }

    #[tokio::test]
    async fn more_frames_than_one_write_takes_stay_in_order() {
        // Small frames past the slice count, copied ones past the scratch size, and large
        // ones, interleaved.
        let frames: Vec<Frame> = (0..3 * MAX_SLICES + 100)
            .map(|i| match i % 3 {
                0 => Frame::Text(Str::from(format!("4{i}"))),
                1 => Frame::Binary(Bytes::from(vec![i as u8; COPY_MAX])),
                _ => Frame::Binary(Bytes::from(vec![i as u8; COPY_MAX + 1 + i])),
            })
            .collect();
        let got = round_trip(frames.clone(), 1000).await;
        assert_eq!(got.len(), frames.len());
        for ((_, bytes), frame) in got.iter().zip(&frames) {
            assert_eq!(bytes.as_slice(), frame.payload());
        }
    }
}
