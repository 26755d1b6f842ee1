//! The reading side: the client's bytes rewritten, under tungstenite, so that a compressed
//! message reaches it as plain frames. tungstenite refuses the RSV1 bit and has no extension
//! hook, so this layer follows the frames of the byte stream: plain ones (every control frame
//! among them) pass as they are, and the payload of a compressed message is unmasked, inflated
//! and handed on as frames of its own, with a zero mask and RSV1 clear. tungstenite still does
//! everything else: control frames, reassembly, UTF-8, limits, close codes.
//!
//! What a message may inflate to is bounded by `max_http_buffer_size`, and the output comes in
//! chunks of at most [`CHUNK`] bytes, so a decompression bomb costs at most that bound in CPU
//! and memory before the connection is closed with 1009, as ws closes it.

use flate2::{Decompress, FlushDecompress, Status};
use std::io::Cursor;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;

/// The most inflated bytes handed on as one frame, and about the most produced per call.
pub(crate) const CHUNK: usize = 64 << 10;

/// The end of every compressed message, which the sender removes and the reader puts back.
const TRAILER: [u8; 4] = [0, 0, 0xff, 0xff];

/// The longest frame header: 2 bytes, a 64-bit length, a mask key.
const MAX_HEADER: usize = 14;

/// Masked payload bytes unmasked and inflated per step.
const STEP: usize = 4 << 10;

/// The reading side of per-message deflate as a byte rewriter (no I/O of its own): what a
/// peer sends goes in, and comes out with every compressed message turned into plain frames,
/// for tungstenite (or any WebSocket reader that refuses RSV1) to read. The engine puts one
/// under each WebSocket that agreed to deflate; a client (the bench's load generator) can put
/// one under its own.
///
/// ```
/// use engineio::Inflater;
///
/// // A client reading a server's (unmasked) frames, up to 1 MB a message.
/// let mut inflater = Inflater::client(1 << 20, false);
/// // An unmasked text frame, RSV1 set: "hi" deflated.
/// let frame = [0xc1, 0x04, 0xca, 0xc8, 0x04, 0x00];
/// let mut out = Vec::new();
/// let taken = inflater.process(&frame, &mut out).unwrap();
/// assert_eq!(taken, frame.len());
/// assert_eq!(out, [0x81, 0x02, b'h', b'i']);
/// ```
#[derive(Debug)]
pub struct Inflater {
    /// The largest message, compressed or inflated (`max_http_buffer_size`).
    limit: usize,
    /// The frames are a client's: masked, and handed on with a zero mask.
    masked: bool,
    /// A new inflater per message: the client does not keep its context.
    no_context_takeover: bool,
    /// A frame header not yet complete.
    head: [u8; MAX_HEADER],
    head_len: usize,
    /// The frame whose payload is passing.
    frame: Option<Frame>,
    /// The compressed message being read.
    message: Option<Message>,
    /// Made on the first compressed message; kept between messages unless the client does not
    /// keep its context.
    decompress: Option<Box<Decompress>>,
    /// Inflated bytes not yet handed on as a frame.
    pending: Vec<u8>,
    /// A header that tungstenite will refuse came by: from there on everything passes as it
    /// is, for tungstenite to close with its own code.
    passthrough: bool,
}

#[derive(Debug)]
struct Frame {
    /// Payload bytes still to come.
    remaining: u64,
    /// `None` for a plain frame; for a compressed one, its mask and final bit.
    compressed: Option<Compressed>,
}

#[derive(Debug)]
struct Compressed {
    mask: [u8; 4],
    /// Payload bytes already unmasked, for the mask's phase.
    offset: usize,
    is_final: bool,
    /// How much of the trailer the inflater has taken, once the final frame's payload is in.
    trailer: usize,
}

#[derive(Debug)]
struct Message {
    opcode: Data,
    /// Whether a frame of it has been handed on (the next ones are continuations).
    started: bool,
    /// Compressed bytes received, and inflated bytes made, so far.
    wire: u64,
    inflated: usize,
}

impl Inflater {
    /// For a server reading a client's frames: messages up to `limit` bytes, compressed or
    /// inflated; `no_context_takeover` when the client agreed to compress each message alone.
    #[must_use]
    pub fn server(limit: usize, no_context_takeover: bool) -> Self {
        Self::new(limit, no_context_takeover, true)
    }

    /// For a client reading a server's (unmasked) frames.
    #[must_use]
    pub fn client(limit: usize, no_context_takeover: bool) -> Self {
        Self::new(limit, no_context_takeover, false)
    }

    fn new(limit: usize, no_context_takeover: bool, masked: bool) -> Self {
        Self {
            limit,
            masked,
            no_context_takeover,
            head: [0; MAX_HEADER],
            head_len: 0,
            frame: None,
            message: None,
            decompress: None,
            pending: Vec::new(),
            passthrough: false,
        }
    }

    /// Rewrites from `input` into `out` until the input is used up or `out` holds about
    /// 64 KiB; returns how much of `input` it took. An `Err` is the close code the
    /// connection ends with.
    ///
    /// # Errors
    ///
    /// [`CloseCode::Size`] past the limit, [`CloseCode::Invalid`] for data that does not
    /// inflate, [`CloseCode::Protocol`] for RSV1 where it does not belong or a mask that the
    /// role does not expect. The stream cannot go on after an error.
    pub fn process(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, CloseCode> {
        let mut taken = 0;
        while out.len() < CHUNK {
            let rest = &input[taken..];
            if self.passthrough {
                out.extend_from_slice(rest);
                return Ok(input.len());
            }
            let Some(frame) = &mut self.frame else {
                if rest.is_empty() {
                    break;
                }
                taken += self.read_header(rest, out)?;
                continue;
            };
            match &mut frame.compressed {
                None => {
                    let n = rest
                        .len()
                        .min(usize::try_from(frame.remaining).unwrap_or(usize::MAX));
                    out.extend_from_slice(&rest[..n]);
                    taken += n;
                    frame.remaining -= n as u64;
                    if frame.remaining == 0 {
                        self.frame = None;
                    } else {
                        break;
                    }
                }
                Some(_) => {
                    let (n, done) = self.inflate(rest, out)?;
                    taken += n;
                    if !done {
                        break;
                    }
                }
            }
        }
        // The pending output is not unbounded: `inflate` hands it on at CHUNK.
        Ok(taken)
    }

    /// Takes header bytes from `input`; once a header is whole, starts its frame. Returns how
    /// many bytes it took.
    fn read_header(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, CloseCode> {
        let had = self.head_len;
        let n = input.len().min(MAX_HEADER - had);
        self.head[had..had + n].copy_from_slice(&input[..n]);
        let mut cursor = Cursor::new(&self.head[..had + n]);
        match FrameHeader::parse(&mut cursor) {
            Ok(None) if had + n < MAX_HEADER => {
                self.head_len += n;
                Ok(n)
            }
            Ok(None) | Err(_) => {
                // A reserved opcode: tungstenite closes with 1002 on these very bytes.
                out.extend_from_slice(&self.head[..had]);
                self.head_len = 0;
                self.passthrough = true;
                Ok(0)
            }
            Ok(Some((header, len))) => {
                let size = usize::try_from(cursor.position()).unwrap_or(MAX_HEADER);
                self.head_len = 0;
                self.start_frame(&header, len, size, out)?;
                Ok(size - had)
            }
        }
    }

    fn start_frame(
        &mut self,
        header: &FrameHeader,
        len: u64,
        header_size: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), CloseCode> {
        let data = match header.opcode {
            OpCode::Data(data) => Some(data),
            OpCode::Control(_) => None,
        };
        let continuation = data == Some(Data::Continue);
        let compressed = match (header.rsv1, data, &mut self.message) {
            // RSV1 on a control frame, RSV2 or RSV3: tungstenite refuses them.
            (_, None, _) | (false, _, None) => false,
            _ if header.rsv2 || header.rsv3 => false,
            (true, Some(Data::Text | Data::Binary), None) => {
                self.message = Some(Message {
                    opcode: data.unwrap_or(Data::Binary),
                    started: false,
                    wire: 0,
                    inflated: 0,
                });
                true
            }
            (false, _, Some(_)) if continuation => true,
            // RSV1 on a continuation, or a new message before the compressed one ended.
            _ => return Err(CloseCode::Protocol),
        };
        if !compressed {
            out.extend_from_slice(&self.head[..header_size]);
            if len > 0 {
                self.frame = Some(Frame {
                    remaining: len,
                    compressed: None,
                });
            }
            return Ok(());
        }
        let Some(message) = &mut self.message else {
            return Err(CloseCode::Protocol);
        };
        // A frame's length is the peer's (up to 2^64 - 1): added without overflowing.
        message.wire = message.wire.saturating_add(len);
        if message.wire > self.limit as u64 {
            return Err(CloseCode::Size);
        }
        // A client's frames are masked, a server's are not; tungstenite refuses the others.
        let mask = match (self.masked, header.mask) {
            (true, Some(mask)) => mask,
            (false, None) => [0; 4],
            _ => return Err(CloseCode::Protocol),
        };
        self.frame = Some(Frame {
            remaining: len,
            compressed: Some(Compressed {
                mask,
                offset: 0,
                is_final: header.is_final,
                trailer: 0,
            }),
        });
        Ok(())
    }

    /// Inflates the current compressed frame's payload from `input`. Returns how much input
    /// it took and whether the frame is done.
    fn inflate(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(usize, bool), CloseCode> {
        let (Some(frame), Some(message)) = (&mut self.frame, &mut self.message) else {
            return Err(CloseCode::Protocol);
        };
        let Some(compressed) = &mut frame.compressed else {
            return Err(CloseCode::Protocol);
        };
        let decompress = self
            .decompress
            .get_or_insert_with(|| Box::new(Decompress::new(false)));
        let mut taken = 0;
        let mut step = [0u8; STEP];
        loop {
            if self.pending.len() >= CHUNK {
                hand_on(&mut self.pending, message, false, self.masked, out);
                if out.len() >= CHUNK {
                    return Ok((taken, false));
                }
            }
            // The payload, unmasked a step at a time; then, after the final frame's, the
            // trailer; then what the inflater still holds.
            let remaining = usize::try_from(frame.remaining).unwrap_or(usize::MAX);
            let source: &[u8] = if remaining > 0 {
                let n = remaining.min(input.len() - taken).min(STEP);
                if n == 0 {
                    return Ok((taken, false));
                }
                for (i, (to, from)) in step[..n].iter_mut().zip(&input[taken..]).enumerate() {
                    *to = from ^ compressed.mask[(compressed.offset + i) % 4];
                }
                &step[..n]
            } else if compressed.is_final && compressed.trailer < TRAILER.len() {
                &TRAILER[compressed.trailer..]
            } else {
                &[]
            };
            let room = (CHUNK - self.pending.len()).min(self.limit - message.inflated + 1);
            self.pending.reserve(room);
            let (before_in, before_out) = (decompress.total_in(), decompress.total_out());
            let status = decompress
                .decompress_vec(source, &mut self.pending, FlushDecompress::Sync)
                .map_err(|_| CloseCode::Invalid)?;
            let used = (decompress.total_in() - before_in) as usize;
            let made = (decompress.total_out() - before_out) as usize;
            message.inflated += made;
            if message.inflated > self.limit {
                return Err(CloseCode::Size);
            }
            if remaining > 0 {
                taken += used;
                compressed.offset += used;
                frame.remaining -= used as u64;
            } else if !source.is_empty() {
                compressed.trailer += used;
            }
            if status == Status::StreamEnd {
                // A final block inside a message: the next bytes start a new stream.
                decompress.reset(false);
            } else if used == 0 && made == 0 {
                if !source.is_empty() && room > 0 {
                    // Input that the inflater neither takes nor turns into output.
                    return Err(CloseCode::Invalid);
                }
                if source.is_empty() {
                    break;
                }
            }
        }
        // The frame's payload is all in and inflated.
        let is_final = compressed.is_final;
        if is_final || !self.pending.is_empty() {
            hand_on(&mut self.pending, message, is_final, self.masked, out);
        }
        self.frame = None;
        if is_final {
            self.message = None;
            if self.no_context_takeover {
                self.decompress = None;
            }
            // The inflated message went on: its buffer need not stay with an idle connection.
            self.pending = Vec::new();
        }
        Ok((taken, true))
    }
}

/// Hands the inflated bytes on as one frame of the message: the message's opcode on its first,
/// a continuation after; a client's masked with zeros, which changes nothing, because
/// tungstenite refuses a client's frame without a mask.
fn hand_on(
    pending: &mut Vec<u8>,
    message: &mut Message,
    is_final: bool,
    masked: bool,
    out: &mut Vec<u8>,
) {
    let opcode = if message.started {
        Data::Continue
    } else {
        message.opcode
    };
    message.started = true;
    let header = FrameHeader {
        is_final,
        opcode: OpCode::Data(opcode),
        mask: masked.then_some([0; 4]),
        ..FrameHeader::default()
    };
    // Writing into a Vec cannot fail.
    let _ = header.format(pending.len() as u64, out);
    out.extend_from_slice(pending);
    pending.clear();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::websocket::deflate::Deflater;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::Control;
    use tokio_tungstenite::tungstenite::protocol::frame::FrameSocket;

    const MASK: [u8; 4] = [0x11, 0x22, 0x33, 0x44];
    const TEXT: OpCode = OpCode::Data(Data::Text);
    const BINARY: OpCode = OpCode::Data(Data::Binary);
    const CONTINUE: OpCode = OpCode::Data(Data::Continue);
    const PING: OpCode = OpCode::Control(Control::Ping);

    /// A frame as tungstenite would read it: opcode, final bit, RSV1, unmasked payload.
    type Seen = (OpCode, bool, bool, Vec<u8>);

    /// A client's frame: masked, as clients send them.
    fn frame(opcode: OpCode, is_final: bool, rsv1: bool, payload: &[u8]) -> Vec<u8> {
        let header = FrameHeader {
            is_final,
            rsv1,
            opcode,
            mask: Some(MASK),
            ..FrameHeader::default()
        };
        let mut out = Vec::new();
        header.format(payload.len() as u64, &mut out).unwrap();
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
        out
    }

    fn compressor() -> Deflater {
        Deflater::new(6)
    }

    /// Feeds `wire` in pieces of `split` bytes, as reads would bring it, and reads back the
    /// frames tungstenite would see: (opcode, final, rsv1, payload).
    fn through(inflater: &mut Inflater, wire: &[u8], split: usize) -> Result<Vec<Seen>, CloseCode> {
        let mut out = Vec::new();
        for piece in wire.chunks(split) {
            let mut at = 0;
            while at < piece.len() || out.len() >= CHUNK {
                let mut chunk = Vec::new();
                at += inflater.process(&piece[at..], &mut chunk)?;
                assert!(chunk.len() <= CHUNK + 2 * STEP + MAX_HEADER + split);
                out.extend(chunk);
                if at == piece.len() {
                    break;
                }
            }
        }
        let mut socket = FrameSocket::new(Cursor::new(out));
        let mut frames = Vec::new();
        while let Some(frame) = socket.read(Some(1 << 30)).unwrap() {
            let header = frame.header();
            // Plain frames pass with the client's mask; the inflated ones have a zero mask.
            let mask = header.mask.unwrap_or([0; 4]);
            let payload = frame
                .payload()
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ mask[i % 4]);
            frames.push((
                header.opcode,
                header.is_final,
                header.rsv1,
                payload.collect(),
            ));
        }
        Ok(frames)
    }

    /// The messages in frames: the first frame's opcode, with every fragment's bytes.
    fn messages(frames: &[Seen]) -> Vec<(OpCode, Vec<u8>)> {
        let mut messages: Vec<(OpCode, Vec<u8>)> = Vec::new();
        let mut open = false;
        for (opcode, is_final, rsv1, payload) in frames {
            assert!(!rsv1, "a frame went on with RSV1");
            match opcode {
                OpCode::Control(_) => messages.push((*opcode, payload.clone())),
                OpCode::Data(Data::Continue) => {
                    assert!(open, "a continuation outside a message");
                    let last = messages
                        .iter_mut()
                        .rev()
                        .find(|(op, _)| matches!(op, OpCode::Data(_)));
                    last.unwrap().1.extend(payload);
                }
                _ => {
                    assert!(!open, "a new message inside another");
                    messages.push((*opcode, payload.clone()));
                }
            }
            if matches!(opcode, OpCode::Data(_)) {
                open = !is_final;
            }
        }
        assert!(!open);
        messages
    }

    #[test]
    fn compressed_and_plain_messages_come_out_plain_at_any_read_size() {
        let mut client = compressor();
        let hello = b"4hello, hello, hello, hello".to_vec();
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut wire = frame(TEXT, true, true, &client.compress(&hello));
        wire.extend(frame(TEXT, true, false, b"4plain"));
        wire.extend(frame(BINARY, true, true, &client.compress(&big)));
        wire.extend(frame(TEXT, true, true, &client.compress(b"")));
        for split in [1, 2, 3, 7, 13, 100, 4096, wire.len()] {
            let mut inflater = Inflater::server(1 << 20, false);
            let frames = through(&mut inflater, &wire, split).unwrap();
            assert_eq!(
                messages(&frames),
                [
                    (TEXT, hello.clone()),
                    (TEXT, b"4plain".to_vec()),
                    (BINARY, big.clone()),
                    (TEXT, Vec::new())
                ],
                "split {split}"
            );
            // The large message was handed on in chunks, not whole.
            assert!(frames.len() > 5);
        }
    }

    #[test]
    fn a_fragmented_message_with_a_ping_between_its_fragments() {
        let mut client = compressor();
        let text = "4".to_owned() + &"fragments ".repeat(500);
        let compressed = client.compress(text.as_bytes());
        let (a, b) = compressed.split_at(compressed.len() / 2);
        let mut wire = frame(TEXT, false, true, a);
        wire.extend(frame(PING, true, false, b"hi"));
        wire.extend(frame(CONTINUE, false, false, &b[..1]));
        wire.extend(frame(CONTINUE, true, false, &b[1..]));
        for split in [1, 5, wire.len()] {
            let frames = through(&mut Inflater::server(1 << 20, false), &wire, split).unwrap();
            // The ping comes out before the message is whole; where among its fragments
            // depends on how much the inflater had made of the first one.
            let mut got = messages(&frames);
            got.sort_by_key(|(opcode, _)| *opcode == PING);
            assert_eq!(
                got,
                [(TEXT, text.as_bytes().to_vec()), (PING, b"hi".to_vec())]
            );
        }
    }

    #[test]
    fn context_is_kept_between_messages_unless_agreed_otherwise() {
        let text = b"4the same words again and again and again".to_vec();
        // Kept: the second message refers back to the first.
        let mut client = compressor();
        let first = client.compress(&text);
        let second = client.compress(&text);
        assert!(second.len() < first.len());
        let mut wire = frame(TEXT, true, true, &first);
        wire.extend(frame(TEXT, true, true, &second));
        let frames = through(&mut Inflater::server(1 << 20, false), &wire, 3).unwrap();
        assert_eq!(
            messages(&frames),
            [(TEXT, text.clone()), (TEXT, text.clone())]
        );

        // Not kept: each message is compressed alone, and the inflater starts over.
        let mut wire = Vec::new();
        for _ in 0..2 {
            let mut client = compressor();
            wire.extend(frame(TEXT, true, true, &client.compress(&text)));
        }
        let mut inflater = Inflater::server(1 << 20, true);
        let frames = through(&mut inflater, &wire, 5).unwrap();
        assert_eq!(messages(&frames), [(TEXT, text.clone()), (TEXT, text)]);
        assert!(
            inflater.decompress.is_none(),
            "no inflater kept between messages"
        );
        assert!(
            inflater.pending.capacity() == 0,
            "no buffer kept between messages"
        );
    }

    #[test]
    fn misused_rsv1_is_a_protocol_error_and_control_frames_pass_for_tungstenite() {
        let mut client = compressor();
        let compressed = client.compress(b"4abc");
        // RSV1 on a continuation.
        let mut wire = frame(TEXT, false, true, &compressed);
        wire.extend(frame(CONTINUE, true, true, b""));
        let result = through(&mut Inflater::server(1 << 20, false), &wire, 4);
        assert_eq!(result.unwrap_err(), CloseCode::Protocol);
        // A new message before the compressed one ended.
        let mut wire = frame(TEXT, false, true, &compressed);
        wire.extend(frame(TEXT, true, false, b"4x"));
        let result = through(&mut Inflater::server(1 << 20, false), &wire, 4);
        assert_eq!(result.unwrap_err(), CloseCode::Protocol);
        // RSV1 on a ping goes on as it is: tungstenite refuses it with 1002.
        let ping = frame(PING, true, true, b"x");
        let mut out = Vec::new();
        let taken = Inflater::server(1 << 20, false)
            .process(&ping, &mut out)
            .unwrap();
        assert_eq!((taken, out), (ping.len(), ping));
    }

    #[test]
    fn corrupt_data_is_invalid() {
        let wire = frame(TEXT, true, true, &[0xff; 32]);
        let result = through(&mut Inflater::server(1 << 20, false), &wire, 7);
        assert_eq!(result.unwrap_err(), CloseCode::Invalid);
    }

    #[test]
    fn a_bomb_stops_at_the_limit_in_bounded_steps() {
        let mut client = compressor();
        let zeros = vec![0u8; 10 << 20];
        let bomb = client.compress(&zeros);
        assert!(bomb.len() < 20_000, "{} bytes", bomb.len());
        let wire = frame(BINARY, true, true, &bomb);
        let mut inflater = Inflater::server(1_000_000, false);
        let mut made = 0;
        let mut at = 0;
        let error = loop {
            let mut out = Vec::new();
            match inflater.process(&wire[at..], &mut out) {
                Ok(taken) => {
                    at += taken;
                    made += out.len();
                    assert!(out.len() <= 2 * CHUNK);
                }
                Err(code) => break code,
            }
        };
        assert_eq!(error, CloseCode::Size);
        assert!(made <= 1_000_000, "{made} bytes handed on");
        // A frame whose declared length is over the limit is refused from its header.
        let mut out = Vec::new();
        let header = frame(BINARY, true, true, &vec![0; 1_000_001]);
        let result = Inflater::server(1_000_000, false).process(&header[..14], &mut out);
        assert_eq!(result.unwrap_err(), CloseCode::Size);
    }

    #[test]
    fn a_continuation_of_the_largest_length_is_refused_not_overflowed() {
        let mut client = compressor();
        let start = client.compress(b"x");
        let mut wire = frame(TEXT, false, true, &start);
        // A continuation that declares 2^64 - 1 bytes: its header alone must be refused.
        let header = FrameHeader {
            is_final: true,
            opcode: CONTINUE,
            mask: Some(MASK),
            ..FrameHeader::default()
        };
        header.format(u64::MAX, &mut wire).unwrap();
        let result = through(&mut Inflater::server(1_000_000, false), &wire, wire.len());
        assert_eq!(result.unwrap_err(), CloseCode::Size);
    }
}
