//! Reading a POST's body under `max_http_buffer_size`, and refusing one over it so that its
//! client hears the refusal.
//!
//! A server that answers 413 and closes while the client is still sending makes the kernel
//! reset the connection, and a reset discards the answer the client had not read yet: the
//! client sees EPIPE or ECONNRESET, never the status. So, as Node does, the rest of an oversized
//! body is read and dropped before answering, never kept; only a body that is far over the limit,
//! or that trickles in, is cut off.

use axum::body::Body;
use bytes::Bytes;
use http_body_util::BodyExt;
use std::time::Duration;

/// How much of an oversized body is read and dropped, as a multiple of the limit.
const DISCARD_FACTOR: usize = 4;
/// How long the rest of an oversized body may take to arrive before the connection is cut.
const DISCARD_TIME: Duration = Duration::from_secs(5);

pub(crate) enum BodyError {
    /// Over the limit: the 413 may be answered now.
    TooLarge,
    /// The client went away or broke the body mid-way.
    Broken,
}

/// The whole body, if it is at most `limit` bytes. `declared` is its `Content-Length`.
pub(crate) async fn read(
    body: Body,
    declared: Option<u64>,
    limit: usize,
) -> Result<Bytes, BodyError> {
    if declared.is_some_and(|len| len > limit as u64) {
        discard(body, 0, limit).await;
        return Err(BodyError::TooLarge);
    }
    let mut body = body;
    // The pieces as they came: a body sent in one piece is kept as it is, without a copy.
    let mut pieces: Vec<Bytes> = Vec::new();
    let mut len = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Broken)?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        len += data.len();
        if len > limit {
            drop(pieces);
            discard(body, len, limit).await;
            return Err(BodyError::TooLarge);
        }
        pieces.push(data);
    }
    Ok(match pieces.len() {
        0 => Bytes::new(),
        1 => pieces.swap_remove(0),
        _ => pieces.concat().into(),
    })
}

/// Reads and drops what is left of a body, `seen` bytes of which are already in, up to
/// `DISCARD_FACTOR` times the limit and for at most `DISCARD_TIME`. Whatever is left past
/// either bound is the connection's to lose: hyper closes it.
async fn discard(mut body: Body, seen: usize, limit: usize) {
    let budget = limit.saturating_mul(DISCARD_FACTOR);
    let drain = async {
        let mut seen = seen;
        while seen <= budget {
            match body.frame().await {
                Some(Ok(frame)) => seen += frame.data_ref().map_or(0, Bytes::len),
                Some(Err(_)) | None => return,
            }
        }
    };
    let _ = tokio::time::timeout(DISCARD_TIME, drain).await;
}
