//! Deflating one message with a sync flush, as RFC 7692 frames it: the server's fresh-state
//! compression and a client's context-keeping one share it.

use flate2::{Compress, Compression, FlushCompress};

/// The end of every message compressed with a sync flush, which RFC 7692 has the sender remove.
pub(crate) const TRAILER: [u8; 4] = [0, 0, 0xff, 0xff];

/// Deflates `payload` onto `out` through `compress` and flushes, leaving the trailer on.
/// `None` when the compressor fails, or once `out` holds more than `give_up_past` bytes (the
/// message is not worth compressing).
pub(crate) fn sync_flush(
    compress: &mut Compress,
    payload: &[u8],
    out: &mut Vec<u8>,
    give_up_past: usize,
) -> Option<()> {
    // The compressor's counts run over everything it was given since it was made or reset.
    let start = compress.total_in();
    loop {
        let consumed = usize::try_from(compress.total_in() - start).ok()?;
        if out.capacity() - out.len() < 64 {
            out.reserve(out.capacity().max(64));
        }
        compress
            .compress_vec(&payload[consumed..], out, FlushCompress::Sync)
            .ok()?;
        // Done once every byte is in and the flush left room to spare: it is complete.
        if compress.total_in() - start == payload.len() as u64 && out.len() < out.capacity() {
            return Some(());
        }
        if out.len() > give_up_past {
            return None;
        }
    }
}

/// The sending side of per-message deflate as a client has it (a browser, the `ws` package):
/// one compressor for the connection, its context kept from message to message. For programs
/// that play the client: load generators, fuzzers, tests. The server needs none: it
/// compresses each message on its own, so that a broadcast is compressed once.
///
/// ```
/// use engineio::{Deflater, Inflater};
///
/// let mut deflater = Deflater::new(6);
/// let message = b"4hello hello hello hello".repeat(8);
/// let payload = deflater.compress(&message);
/// assert!(payload.len() < message.len());
/// // What goes on the wire: a final text frame with RSV1, masked as clients send theirs.
/// let mut wire = vec![0xc1, 0x80 | payload.len() as u8, 0, 0, 0, 0];
/// wire.extend(&payload);
/// let mut server = Inflater::server(1 << 20, false);
/// let mut frames = Vec::new();
/// assert_eq!(server.process(&wire, &mut frames), Ok(wire.len()));
/// assert!(frames.ends_with(&message));
/// ```
pub struct Deflater {
    compress: Compress,
}

impl std::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deflater").finish_non_exhaustive()
    }
}

impl Deflater {
    /// A compressor at `level` (0 to 9; zlib's 6 is the usual) with the full window.
    #[must_use]
    pub fn new(level: u32) -> Self {
        Self {
            compress: Compress::new(Compression::new(level.min(9)), false),
        }
    }

    /// `message` as the payload of one compressed frame: deflated, flushed, its trailer
    /// removed. An empty message (or one that adds nothing since the last) is RFC 7692's
    /// single empty block.
    pub fn compress(&mut self, message: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(message.len() / 2 + 64);
        if sync_flush(&mut self.compress, message, &mut out, usize::MAX).is_none() {
            // zlib fails only on misuse; a fresh stream starts over from here.
            self.compress.reset();
            out.clear();
            let _ = sync_flush(&mut self.compress, message, &mut out, usize::MAX);
        }
        if out.ends_with(&TRAILER) {
            out.truncate(out.len() - TRAILER.len());
        }
        if out.is_empty() {
            out.push(0x00);
        }
        out
    }
}
