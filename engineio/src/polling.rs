//! HTTP long-polling: a GET waits for what the server has queued and takes all of it as one
//! payload; a POST carries the client's packets.

mod body;
mod compression;

use compression::Encoding;
pub use compression::HttpCompression;

use crate::message::CloseReason;
use crate::protocol::{Protocol, Wire};
use crate::socket::Batch;
use crate::{EngineIo, EngineIoHandler, RequestError, Socket, Transport};
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, Method, StatusCode};
use parser::engineio::Frame;
use parser::Str;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const NOOP: Frame = Frame::Text(Str::from_static("6"));
const CLOSE: Frame = Frame::Text(Str::from_static("1"));

/// Answers the handshake GET: the new session's open packet is already queued, so the poll
/// returns at once.
pub(crate) async fn open<H: EngineIoHandler>(
    engine: &EngineIo<H>,
    sid: crate::Sid,
    handshake: crate::Handshake,
    protocol: Protocol,
) -> Result<Response, RequestError> {
    let encoding = Encoding::accepted(handshake.headers.get_all("accept-encoding"));
    let socket = engine.open_socket(sid, handshake, Transport::Polling, protocol);
    poll(engine, socket, encoding).await
}

pub(crate) async fn serve<H: EngineIoHandler>(
    engine: &EngineIo<H>,
    socket: Arc<Socket<H::Data>>,
    req: Request,
) -> Result<Response, RequestError> {
    match *req.method() {
        Method::GET => {
            let values = req.headers().get_all(header::ACCEPT_ENCODING);
            poll(
                engine,
                socket,
                Encoding::accepted(values.iter().map(|v| v.as_bytes())),
            )
            .await
        }
        Method::POST => post(engine, socket, req).await,
        _ => Err(RequestError::BadRequest),
    }
}

/// Closes the session when a request ends before its answer was ready: the client went away.
struct AbortGuard<'a, H: EngineIoHandler> {
    engine: &'a EngineIo<H>,
    socket: &'a Arc<Socket<H::Data>>,
    active: &'a AtomicBool,
    finished: bool,
}

impl<H: EngineIoHandler> Drop for AbortGuard<'_, H> {
    fn drop(&mut self) {
        self.active.store(false, Ordering::Release);
        if !self.finished {
            self.engine
                .close_socket(self.socket, CloseReason::TransportError);
        }
    }
}

async fn poll<H: EngineIoHandler>(
    engine: &EngineIo<H>,
    socket: Arc<Socket<H::Data>>,
    encoding: Option<Encoding>,
) -> Result<Response, RequestError> {
    if socket.poll_active.swap(true, Ordering::AcqRel) {
        // Two GETs at once: Node ends the session; the pending GET gets the close packet.
        engine.close_socket(&socket, CloseReason::TransportError);
        return Err(RequestError::BadRequest);
    }
    let mut guard = AbortGuard {
        engine,
        socket: &socket,
        active: &socket.poll_active,
        finished: false,
    };
    let batch = wait_for_batch(&socket).await;
    socket.writable.store(false, Ordering::Release);
    guard.finished = true;
    drop(guard);

    if !batch.frames.is_empty() {
        engine.handler().on_flush(&socket, &batch.frames);
    }
    // The answer is hyper's from here (Node's polling drains at the same point): the queue
    // bound covers what is queued next, so a GET that is never read holds one answer more.
    socket.written(batch.bytes);
    let wire = Wire::new(
        socket.protocol(),
        socket.handshake().uri.query().unwrap_or_default(),
    );
    let (content_type, body) = if batch.closing && batch.frames.is_empty() {
        engine.close_socket(&socket, CloseReason::ForcedClose);
        wire.encode_polling(&[CLOSE])
    } else {
        // A closing socket's last frames go out alone and the close packet on the next GET, as
        // Node closes only after `drain`: a client handling both from one payload would see the
        // close before the messages (socket.io-client defers decoded packets to the next tick).
        let body = wire.encode_polling(&batch.frames);
        if !socket.is_closed() {
            engine.handler().on_drain(&socket);
        }
        body
    };
    let compression = engine.config().http_compression;
    let encoded = match (compression, encoding) {
        (Some(compression), Some(encoding)) if body.len() >= compression.threshold => {
            encoding.encode(&body).map(|bytes| (encoding, bytes))
        }
        _ => None,
    };
    let Some((encoding, bytes)) = encoded else {
        return Ok(respond(content_type, body));
    };
    let mut response = respond(content_type, bytes);
    response.headers_mut().insert(
        header::CONTENT_ENCODING,
        HeaderValue::from_static(encoding.name()),
    );
    Ok(response)
}

/// Waits until there is something to answer a GET with.
async fn wait_for_batch<D>(socket: &Socket<D>) -> Batch {
    let single = |frame: Frame| Batch {
        frames: vec![frame],
        uncompressed: Vec::new(),
        closing: false,
        bytes: 0,
    };
    loop {
        // Created before the checks, so a wake-up between a check and the wait is not lost.
        let woken = socket.wake.notified();
        let upgrade_moved = socket.upgrade_signal.notified();
        if socket.is_closed() {
            // A client that asked to close gets a noop, as in Node; any other end, a close.
            return match socket.close_reason() {
                Some(CloseReason::TransportClose) => single(NOOP),
                _ => single(CLOSE),
            };
        }
        if socket.transport() != Transport::Polling {
            return single(NOOP);
        }
        let batch = socket.take_batch();
        if !batch.frames.is_empty() || batch.closing {
            return batch;
        }
        // The upgrade is probed: answer now so the client can pause polling and finish it.
        if socket.upgrading.load(Ordering::Acquire) {
            return single(NOOP);
        }
        socket.writable.store(true, Ordering::Release);
        tokio::select! {
            _ = woken => {}
            _ = upgrade_moved => {}
            _ = socket.closed.wait() => {}
        }
    }
}

async fn post<H: EngineIoHandler>(
    engine: &EngineIo<H>,
    socket: Arc<Socket<H::Data>>,
    req: Request,
) -> Result<Response, RequestError> {
    if socket.post_active.swap(true, Ordering::AcqRel) {
        engine.close_socket(&socket, CloseReason::TransportError);
        return Err(RequestError::BadRequest);
    }
    let mut guard = AbortGuard {
        engine,
        socket: &socket,
        active: &socket.post_active,
        finished: false,
    };
    // v4 sends binary as base64 text; a binary body is not a v4 client (v3 sends binary so).
    let binary_body = req.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes()
            .eq_ignore_ascii_case(b"application/octet-stream")
    });
    if binary_body && socket.protocol() == Protocol::V4 {
        return Err(RequestError::BadRequest);
    }
    let limit = engine.config().max_http_buffer_size;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let body = match body::read(req.into_body(), declared, limit).await {
        Ok(body) => body,
        // As in Node, only this request is refused; the session goes on.
        Err(body::BodyError::TooLarge) => {
            guard.finished = true;
            return Ok(StatusCode::PAYLOAD_TOO_LARGE.into_response());
        }
        // The client went away mid-body: the guard closes the session.
        Err(body::BodyError::Broken) => return Err(RequestError::BadRequest),
    };
    guard.finished = true;
    drop(guard);

    let wire = Wire::new(
        socket.protocol(),
        socket.handshake().uri.query().unwrap_or_default(),
    );
    for packet in wire.decode_polling(body, binary_body) {
        match packet {
            Ok(packet) => engine.on_packet(&socket, packet),
            Err(_) => {
                engine.close_socket(&socket, CloseReason::ParseError);
                break;
            }
        }
        if socket.is_closed() {
            break;
        }
    }
    // text/html rather than text/plain, as Node answers: some browsers offered text/plain as a
    // download.
    Ok(respond("text/html", "ok".to_owned()))
}

/// A polling answer; never cached, since each one is a different slice of the session.
fn respond(content_type: &'static str, body: impl IntoResponse) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}
