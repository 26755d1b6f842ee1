//! The engine's WebSocket transport over an in-memory connection served by hyper: a session
//! opened directly or upgraded from polling, then fuzzed frames, well-formed or not (unmasked,
//! reserved bits, unknown opcodes, fragments, oversized, control frames with long payloads),
//! read by a client that may stop reading. The server never panics, and once the engine closes
//! no session is left behind, a client that does not read included. With per-message deflate
//! offered (any offer, well-formed or not), frames may be compressed, truly or as garbage with
//! RSV1, whole or split into fragments, with the client's context kept across messages.
#![no_main]

use arbitrary::Arbitrary;
use axum::body::Body;
use engineio::Deflater;
use http::Request;
use hyper_util::rt::TokioIo;
use libfuzzer_sys::fuzz_target;
use socketio_fuzz::{answer, assert_all_closed, engine, run, sid_in, MAX_BODY};
use std::convert::Infallible;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Arbitrary, Debug)]
enum WsFrame {
    /// `4` + the text: an engine.io message.
    Message(String),
    /// A text frame as is: `2probe`, `5`, `3`, or anything.
    Text(String),
    Binary(Vec<u8>),
    /// A binary message just over the body limit.
    Oversized,
    Ping(Vec<u8>),
    Close(Vec<u8>),
    Raw {
        fin: bool,
        rsv: u8,
        opcode: u8,
        masked: bool,
        payload: Vec<u8>,
    },
    /// `4` + the text, deflated with the client's compressor (its context kept), in up to 4
    /// fragments; `rsv1` false sends the compressed bytes as if plain.
    Compressed {
        text: String,
        fragments: u8,
        rsv1: bool,
    },
    /// Lets the server run (and time pass) before the next frame.
    Pause(u8),
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// Open the session by polling and upgrade it, instead of opening it on the WebSocket.
    upgrade: bool,
    /// Whether the client reads what the server sends.
    reads: bool,
    /// The `Sec-WebSocket-Extensions` offer: none, ws's own, or any text.
    offer: Offer,
    frames: Vec<WsFrame>,
    /// Bytes written after the last frame, as is.
    tail: Vec<u8>,
}

#[derive(Arbitrary, Debug)]
enum Offer {
    None,
    Ws,
    NoContextTakeover,
    Any(String),
}

impl Offer {
    fn header(&self) -> String {
        let value = match self {
            Offer::None => return String::new(),
            Offer::Ws => "permessage-deflate; client_max_window_bits",
            Offer::NoContextTakeover => {
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
            }
            Offer::Any(text) if text.contains(['\r', '\n']) => return String::new(),
            Offer::Any(text) => text,
        };
        format!("Sec-WebSocket-Extensions: {value}\r\n")
    }
}

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn encode(out: &mut Vec<u8>, first: u8, masked: bool, payload: &[u8]) {
    out.push(first);
    let mask_bit = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n if n <= 0xffff => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        out.extend_from_slice(&KEY);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ KEY[i % 4]));
    } else {
        out.extend_from_slice(payload);
    }
}

fn frame_bytes(frame: &WsFrame, compress: &mut Deflater) -> Vec<u8> {
    let mut out = Vec::new();
    match frame {
        WsFrame::Compressed {
            text,
            fragments,
            rsv1,
        } => {
            let payload = compress.compress(format!("4{text}").as_bytes());
            let count = usize::from(fragments % 4) + 1;
            let size = payload.len().div_ceil(count).max(1);
            let pieces: Vec<&[u8]> = payload.chunks(size).collect();
            let pieces = if pieces.is_empty() {
                vec![&[][..]]
            } else {
                pieces
            };
            let last = pieces.len() - 1;
            for (i, piece) in pieces.into_iter().enumerate() {
                let fin = if i == last { 0x80 } else { 0 };
                let opcode = if i == 0 { 0x01 } else { 0x00 };
                let rsv = if i == 0 && *rsv1 { 0x40 } else { 0 };
                encode(&mut out, fin | rsv | opcode, true, piece);
            }
        }
        WsFrame::Message(text) => encode(&mut out, 0x81, true, format!("4{text}").as_bytes()),
        WsFrame::Text(text) => encode(&mut out, 0x81, true, text.as_bytes()),
        WsFrame::Binary(bytes) => encode(&mut out, 0x82, true, bytes),
        WsFrame::Oversized => encode(&mut out, 0x82, true, &vec![7; MAX_BODY + 1]),
        WsFrame::Ping(bytes) => encode(&mut out, 0x89, true, bytes),
        WsFrame::Close(bytes) => encode(&mut out, 0x88, true, bytes),
        WsFrame::Raw {
            fin,
            rsv,
            opcode,
            masked,
            payload,
        } => {
            let first = (u8::from(*fin) << 7) | ((rsv & 7) << 4) | (opcode & 0x0f);
            encode(&mut out, first, *masked, payload);
        }
        WsFrame::Pause(_) => {}
    }
    out
}

fn upgrade_request(sid: Option<&str>, offer: &Offer) -> Vec<u8> {
    let sid = sid.map(|s| format!("&sid={s}")).unwrap_or_default();
    let offer = offer.header();
    format!(
        "GET /engine.io/?EIO=4&transport=websocket{sid} HTTP/1.1\r\nHost: x\r\n\
         Upgrade: websocket\r\nConnection: Upgrade\r\n{offer}\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes()
}

/// Whether the bytes went out: a write that cannot go on (the server stopped reading, or
/// closed) ends the client.
async fn write(tx: &mut (impl AsyncWriteExt + Unpin), bytes: &[u8]) -> bool {
    matches!(
        tokio::time::timeout(Duration::from_secs(2), tx.write_all(bytes)).await,
        Ok(Ok(()))
    )
}

fuzz_target!(|input: Input| {
    let engine = engine();
    run(async {
        let sid = if input.upgrade {
            let handshake = Request::get("/engine.io/?EIO=4&transport=polling")
                .body(Body::empty())
                .expect("a request");
            let (_, body) = answer(engine.handle(handshake).await).await;
            Some(sid_in(&body).expect("a polling handshake succeeds"))
        } else {
            None
        };

        let (client, server) = tokio::io::duplex(4096);
        let service = {
            let engine = engine.clone();
            hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let engine = engine.clone();
                async move { Ok::<_, Infallible>(engine.handle(req.map(Body::new)).await) }
            })
        };
        tokio::spawn(
            hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(server), service)
                .with_upgrades(),
        );

        let (mut rx, mut tx) = tokio::io::split(client);
        let reader = input.reads.then(|| {
            tokio::spawn(async move {
                let mut sink = vec![0; 4096];
                while matches!(rx.read(&mut sink).await, Ok(n) if n > 0) {}
            })
        });
        let mut wire = upgrade_request(sid.as_deref(), &input.offer);
        let mut compress = Deflater::new(6);
        if input.upgrade {
            encode(&mut wire, 0x81, true, b"2probe");
        }
        if write(&mut tx, &wire).await {
            for frame in input.frames.iter().take(64) {
                if let WsFrame::Pause(ms) = frame {
                    tokio::time::sleep(Duration::from_millis(u64::from(*ms))).await;
                    continue;
                }
                if !write(&mut tx, &frame_bytes(frame, &mut compress)).await {
                    break;
                }
            }
            let _ = write(&mut tx, &input.tail).await;
        }
        assert_all_closed(&engine).await;
        drop(tx);
        if let Some(reader) = reader {
            reader.abort();
        }
    });
});
