//! The writing side: a message's payload deflated on its own, from a fresh state, so that the
//! result depends on the payload alone. RFC 7692 lets a sender do so even when context takeover
//! was agreed (takeover is the sender's permission, not its duty). That is what lets every
//! recipient of a broadcast share one compression, and no connection keep a compressor.

use super::deflater::{sync_flush, TRAILER};
use bytes::Bytes;
use flate2::{Compress, Compression};
use std::cell::RefCell;
use std::collections::VecDeque;

/// How many recent compressions each thread remembers: a broadcast's frame reaches its
/// recipients' writers one after another, so a few suffice.
const RECENT: usize = 4;

/// What a compression depends on besides the payload: the level and the window's bits.
type Settings = (u32, u8);

thread_local! {
    /// One compressor per thread and settings, reset before each message.
    static COMPRESSOR: RefCell<Option<(Settings, Compress)>> = const { RefCell::new(None) };
    /// The last payloads compressed on this thread, with their result. Each entry holds the
    /// payload itself, so its address cannot be reused by another payload while it is here:
    /// the same address and length is the same bytes.
    static RECENT_RESULTS: RefCell<VecDeque<(Bytes, Settings, Option<Bytes>)>> =
        RefCell::new(VecDeque::with_capacity(RECENT));
}

/// `payload` deflated as one message at `level` with a window of `window_bits` (9 to 15),
/// without its trailer; `None` when that is no smaller than the payload (it then goes as it
/// is). A payload compressed a moment ago on this thread (the same broadcast to another
/// recipient) is not compressed again.
pub(crate) fn compressed(payload: &Bytes, level: u32, window_bits: u8) -> Option<Bytes> {
    let settings = (level.min(9), window_bits.clamp(9, 15));
    let same = |(recent, at, _): &&(Bytes, Settings, Option<Bytes>)| {
        recent.as_ptr() == payload.as_ptr() && recent.len() == payload.len() && *at == settings
    };
    let hit = RECENT_RESULTS.with(|recent| {
        recent
            .borrow()
            .iter()
            .find(same)
            .map(|(_, _, out)| out.clone())
    });
    if let Some(out) = hit {
        return out;
    }
    let out = deflate(payload, settings);
    RECENT_RESULTS.with(|recent| {
        let mut recent = recent.borrow_mut();
        if recent.len() == RECENT {
            recent.pop_front();
        }
        recent.push_back((payload.clone(), settings, out.clone()));
    });
    out
}

fn deflate(payload: &[u8], settings: Settings) -> Option<Bytes> {
    let (level, bits) = settings;
    COMPRESSOR.with(|compressor| {
        let mut compressor = compressor.borrow_mut();
        let compress = match &mut *compressor {
            Some((at, compress)) if *at == settings => compress,
            slot => {
                let compress = Compress::new_with_window_bits(Compression::new(level), false, bits);
                &mut slot.insert((settings, compress)).1
            }
        };
        compress.reset();
        let mut out = Vec::with_capacity(payload.len() / 2 + 64);
        sync_flush(compress, payload, &mut out, payload.len() + TRAILER.len())?;
        if !out.ends_with(&TRAILER) || out.len() - TRAILER.len() >= payload.len() {
            return None;
        }
        out.truncate(out.len() - TRAILER.len());
        Some(Bytes::from(out))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Decompress, FlushDecompress};

    /// Inflates messages one after another with one inflater, as a client that keeps its
    /// context does.
    fn inflate_all(messages: &[Bytes]) -> Vec<Vec<u8>> {
        let mut inflater = Decompress::new(false);
        messages
            .iter()
            .map(|message| {
                let mut input = message.to_vec();
                input.extend_from_slice(&TRAILER);
                let mut out = Vec::with_capacity(1 << 20);
                inflater
                    .decompress_vec(&input, &mut out, FlushDecompress::Sync)
                    .unwrap();
                out
            })
            .collect()
    }

    #[test]
    fn messages_inflate_back_in_a_kept_context() {
        let first = Bytes::from("4".to_owned() + &"hello world ".repeat(200));
        let second = Bytes::from(
            (0..5000u32)
                .map(|i| (i % 7) as u8 + b'a')
                .collect::<Vec<u8>>(),
        );
        let a = compressed(&first, 6, 15).unwrap();
        let b = compressed(&second, 1, 9).unwrap();
        assert!(a.len() < first.len() / 10);
        assert_eq!(inflate_all(&[a, b]), [first.to_vec(), second.to_vec()]);
    }

    #[test]
    fn the_same_payload_is_compressed_once_and_random_bytes_not_at_all() {
        let payload = Bytes::from("x".repeat(4096));
        let once = compressed(&payload, 6, 15).unwrap();
        let again = compressed(&payload.clone(), 6, 15).unwrap();
        assert_eq!(
            once.as_ptr(),
            again.as_ptr(),
            "shared, not compressed twice"
        );
        // Equal bytes elsewhere are compressed anew, to the same result.
        let copy = Bytes::from(payload.to_vec());
        assert_eq!(compressed(&copy, 6, 15).unwrap(), once);
        // xorshift: bytes that deflate cannot shrink.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        assert_eq!(compressed(&Bytes::from(noise), 6, 15), None);
    }
}
