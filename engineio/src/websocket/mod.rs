//! The WebSocket transport: the HTTP upgrade through hyper, the polling to WebSocket upgrade
//! (probe), and the one task that reads frames and writes batches for a socket. tungstenite
//! reads and answers the control frames; the engine's own frames are written by `frames`.

mod deflate;
mod frames;
mod scratch;
mod stream;

pub use deflate::{Deflater, Inflater, PerMessageDeflate};

use crate::heartbeat::Heartbeat;
use crate::message::CloseReason;
use crate::protocol::{Protocol, Wire};
use crate::{EngineIo, EngineIoHandler, Handshake, RequestError, Socket, Transport};
use axum::extract::Request;
use axum::response::Response;
use futures_util::{FutureExt, SinkExt, StreamExt};
use http::{header, HeaderMap, HeaderValue, StatusCode};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use parser::engineio::{Frame, Packet};
use parser::Str;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{timeout, Sleep};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

type Ws = WebSocketStream<stream::WsStream<TokioIo<Upgraded>>>;

/// How long a closing WebSocket may take to say goodbye to a peer that does not read.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

pub(crate) fn is_upgrade_request(req: &Request) -> bool {
    req.headers()
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
}

/// A session opened directly on a WebSocket.
pub(crate) fn open<H: EngineIoHandler>(
    engine: &EngineIo<H>,
    sid: crate::Sid,
    handshake: Handshake,
    protocol: Protocol,
    req: &mut Request,
) -> Result<Response, RequestError> {
    let (response, on_upgrade, deflate) = accept(req, engine.config())?;
    let wire = Wire::new(protocol, req.uri().query().unwrap_or_default());
    let engine = engine.clone();
    // The task lives as long as the connection: what only its start needs is boxed, so that it
    // does not stay in the task's memory for the rest of the connection.
    let handshake = Box::new(handshake);
    tokio::spawn(async move {
        let Some(ws) = Box::pin(connect(&engine, on_upgrade, deflate)).await else {
            return;
        };
        let socket = engine.open_socket(sid, unbox(handshake), Transport::Websocket, protocol);
        run(&engine, &socket, ws, Writer { wire, deflate }, true).await;
    });
    Ok(response)
}

/// Moves the value out and frees the box now, where `*boxed` would free it only when the box
/// goes out of scope: for a task's captured box, at the end of the connection.
#[allow(clippy::boxed_local)] // taking the box by value is the point
fn unbox<T>(boxed: Box<T>) -> T {
    *boxed
}

/// A WebSocket for an existing polling session: probe it, then move the session onto it.
pub(crate) fn upgrade<H: EngineIoHandler>(
    engine: &EngineIo<H>,
    socket: Arc<Socket<H::Data>>,
    req: &mut Request,
) -> Result<Response, RequestError> {
    let (response, on_upgrade, deflate) = accept(req, engine.config())?;
    let wire = Wire::new(socket.protocol(), req.uri().query().unwrap_or_default());
    let engine = engine.clone();
    tokio::spawn(async move {
        let Some(mut ws) = Box::pin(connect(&engine, on_upgrade, deflate)).await else {
            return;
        };
        let refused = !engine.config().allow_upgrades
            || socket.transport() != Transport::Polling
            || socket.upgrade_started.swap(true, Ordering::AcqRel);
        if refused {
            close_quietly(&mut ws).await;
            return;
        }
        let upgrade_timeout = engine.config().upgrade_timeout;
        match Box::pin(timeout(upgrade_timeout, probe(&socket, &mut ws))).await {
            Ok(true) if !socket.is_closed() => {
                socket.set_transport(Transport::Websocket);
                socket.upgrading.store(false, Ordering::Release);
                socket.writable.store(true, Ordering::Release);
                socket.upgrade_signal.notify_waiters();
                engine.handler().on_upgrade(&socket);
                run(&engine, &socket, ws, Writer { wire, deflate }, false).await;
            }
            _ => {
                // The session stays on polling; the client may try again.
                socket.upgrading.store(false, Ordering::Release);
                socket.upgrade_started.store(false, Ordering::Release);
                socket.upgrade_signal.notify_waiters();
                close_quietly(&mut ws).await;
            }
        }
    });
    Ok(response)
}

/// The probe exchange: `2probe` is answered `3probe`, then `5` completes the upgrade. True when
/// it completed; anything else aborts it, as in Node.
async fn probe<D>(socket: &Socket<D>, ws: &mut Ws) -> bool {
    loop {
        let message = tokio::select! {
            message = ws.next() => message,
            _ = socket.closed.wait() => return false,
        };
        let packet = match message {
            Some(Ok(WsMessage::Text(text))) => Packet::decode_text(Str::from(text)),
            Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
            _ => return false,
        };
        match packet {
            Ok(Packet::Ping(data)) if data == "probe" => {
                let pong = Packet::Pong(Str::from_static("probe")).encode();
                if write_batch(ws, &[pong], None, &[]).await.is_err() {
                    return false;
                }
                socket.upgrading.store(true, Ordering::Release);
                socket.upgrade_signal.notify_waiters();
            }
            Ok(Packet::Upgrade) => return true,
            _ => return false,
        }
    }
}

/// Serves a socket whose transport is this WebSocket until the session ends; with `heartbeat`,
/// its heartbeat too (a session opened on polling has its own task for that).
///
/// The task lives as long as the connection, so its state is kept small: it waits on the
/// socket's `wake` alone (a close wakes it too) rather than on a close signal as well.
#[allow(clippy::manual_async_fn)] // on purpose: see the comment in the body
fn run<'a, H: EngineIoHandler>(
    engine: &'a EngineIo<H>,
    socket: &'a Arc<Socket<H::Data>>,
    mut ws: Ws,
    writer: Writer,
    heartbeat: bool,
) -> impl Future<Output = ()> + 'a {
    let wire = writer.wire;
    // An async block, not an async fn: its captured `ws` is stored once, where an async fn's
    // argument can take a second slot in the task's state.
    async move {
        let mut close_code = None;
        // The timer of a socket without its own heartbeat here is never polled.
        let (mut beat, timer) = Heartbeat::start(engine, socket);
        let mut timer = pin!(timer);
        let reason = 'connection: loop {
            if socket.is_closed() {
                break None;
            }
            // The batch is consumed in this block: nothing of it stays in the task's state while
            // the connection waits, idle.
            let closing = {
                let batch = socket.take_batch();
                let closing = batch.closing;
                if !batch.frames.is_empty() {
                    // Boxed: the write's state (the frames, the write in progress, what it
                    // watches meanwhile) exists only while a batch is written, and would
                    // otherwise make every idle connection's task as large as a writing one's.
                    let write = Box::pin(write_watched(
                        engine,
                        socket,
                        &mut ws,
                        &writer,
                        batch,
                        (&mut beat, timer.as_mut()),
                        heartbeat,
                    ));
                    match write.await {
                        Watched::Written(Ok(())) => {}
                        Watched::Written(Err(_)) => break Some(CloseReason::TransportError),
                        Watched::Ended => break None,
                    }
                    // A send during the write may have had its wake-up taken by the select in
                    // the write (senders wake the writer only when the queue was empty): take
                    // what is queued now rather than wait for a wake-up that already happened.
                    if socket.has_queued() {
                        continue;
                    }
                    engine.handler().on_drain(socket);
                }
                closing
            };
            if closing {
                break Some(CloseReason::ForcedClose);
            }
            tokio::select! {
                biased;
                _ = socket.wake.notified() => {
                    // Woken by a send from elsewhere (a broadcast, another socket's handler): let
                    // the scheduler run the other ready tasks first, so that what they send this
                    // socket too leaves in the same write. Under a broadcast load this turns one
                    // syscall per message into one per several; idle, it costs one scheduler pass.
                    tokio::task::yield_now().await;
                }
                alive = poll_fn(|cx| beat.poll_tick(timer.as_mut(), cx, engine, socket)), if heartbeat => {
                    if !alive { break 'connection None }
                }
                message = ws.next() => {
                    // Every message that has already arrived is handled before the answers go
                    // out, so that what they cause leaves in one write rather than one each.
                    if let Err(end) = on_message(engine, socket, wire, message, &mut close_code) {
                        close_code = ws.get_ref().close_code().or(close_code);
                        break 'connection end;
                    }
                    for _ in 1..READ_BATCH {
                        let Some(message) = ws.next().now_or_never() else { break };
                        if let Err(end) = on_message(engine, socket, wire, message, &mut close_code) {
                            close_code = ws.get_ref().close_code().or(close_code);
                            break 'connection end;
                        }
                    }
                    if heartbeat {
                        beat.check_pong(timer.as_mut(), socket);
                    }
                }
            }
        };
        if let Some(reason) = reason {
            engine.close_socket(socket, reason);
        }
        let frame = close_code.map(|code| CloseFrame {
            code,
            reason: Utf8Bytes::default(),
        });
        // Boxed: a state of the task's last moments need not make every connection's task larger.
        let _ = Box::pin(timeout(CLOSE_GRACE, ws.close(frame))).await;
    }
}

/// How a batch's write ended.
enum Watched {
    Written(Result<(), WsError>),
    /// The socket closed, or its heartbeat ended it, during the write.
    Ended,
}

/// Writes one batch while watching for the socket's close and, with `heartbeat`, driving its
/// heartbeat; more frames queued meanwhile wait for the next batch.
async fn write_watched<H: EngineIoHandler>(
    engine: &EngineIo<H>,
    socket: &Arc<Socket<H::Data>>,
    ws: &mut Ws,
    writer: &Writer,
    batch: crate::socket::Batch,
    (beat, mut timer): (&mut Heartbeat, Pin<&mut Sleep>),
    heartbeat: bool,
) -> Watched {
    engine.handler().on_flush(socket, &batch.frames);
    socket.writable.store(false, Ordering::Release);
    let frames = writer.wire.websocket_frames(&batch.frames);
    let mut write = pin!(write_batch(
        ws,
        &frames,
        writer.deflate.as_ref(),
        &batch.uncompressed
    ));
    let written = loop {
        tokio::select! {
            written = &mut write => break written,
            _ = socket.wake.notified() => if socket.is_closed() { return Watched::Ended },
            alive = poll_fn(|cx| beat.poll_tick(timer.as_mut(), cx, engine, socket)), if heartbeat => {
                if !alive { return Watched::Ended }
            }
        }
    };
    socket.written(batch.bytes);
    socket.writable.store(true, Ordering::Release);
    Watched::Written(written)
}

/// How many arrived messages are handled before what they caused is written.
const READ_BATCH: usize = 64;

/// Handles one message of the peer; `Err` ends the connection (with a close reason unless the
/// socket was already closed).
fn on_message<H: EngineIoHandler>(
    engine: &EngineIo<H>,
    socket: &Arc<Socket<H::Data>>,
    wire: Wire,
    message: Option<Result<WsMessage, WsError>>,
    close_code: &mut Option<CloseCode>,
) -> Result<(), Option<CloseReason>> {
    match message {
        // tungstenite has checked the text is UTF-8: `Str::from` does not check it again.
        Some(Ok(WsMessage::Text(text))) => match wire.decode_text(Str::from(text)) {
            Ok(packet) => engine.on_packet(socket, packet),
            Err(_) => return Err(Some(CloseReason::ParseError)),
        },
        Some(Ok(WsMessage::Binary(bytes))) => match wire.decode_binary(bytes) {
            Ok(packet) => engine.on_packet(socket, packet),
            Err(_) => return Err(Some(CloseReason::ParseError)),
        },
        Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_))) => {}
        Some(Ok(WsMessage::Close(_))) | None => return Err(Some(CloseReason::TransportClose)),
        Some(Err(error)) => {
            tracing::debug!(sid = %socket.id(), %error, "websocket error");
            *close_code = close_code_for(&error);
            return Err(Some(CloseReason::TransportError));
        }
    }
    Ok(())
}

/// The close code that tells the peer what it did wrong, as Node's `ws` tells it.
fn close_code_for(error: &WsError) -> Option<CloseCode> {
    match error {
        WsError::Capacity(_) => Some(CloseCode::Size),
        WsError::Protocol(_) => Some(CloseCode::Protocol),
        WsError::Utf8(_) => Some(CloseCode::Invalid),
        _ => None,
    }
}

/// How a connection writes the engine's frames: in its protocol's form, compressed where it
/// agreed to per-message deflate.
struct Writer {
    wire: Wire,
    deflate: Option<deflate::Agreed>,
}

async fn write_batch(
    ws: &mut Ws,
    frames: &[Frame],
    deflate: Option<&deflate::Agreed>,
    uncompressed: &[usize],
) -> Result<(), WsError> {
    // What tungstenite has queued itself (a pong) goes out whole before frames of ours follow.
    ws.flush().await?;
    match deflate {
        None => frames::write(ws.get_mut(), frames).await?,
        Some(agreed) => {
            let frames: Vec<frames::Deflated> = frames
                .iter()
                .enumerate()
                .map(|(i, frame)| frames::Deflated::new(frame, agreed, !uncompressed.contains(&i)))
                .collect();
            frames::write(ws.get_mut(), &frames).await?;
        }
    }
    Ok(())
}

async fn close_quietly(ws: &mut Ws) {
    let _ = timeout(CLOSE_GRACE, ws.close(None)).await;
}

/// Checks the upgrade request and builds the 101 answer, with per-message deflate when it is
/// configured and the client offers it; a request that is not a valid WebSocket handshake, or
/// that offers deflate with bad parameters, gets 400 (as from ws).
fn accept(
    req: &mut Request,
    config: &crate::EngineIoConfig,
) -> Result<(Response, OnUpgrade, Option<deflate::Agreed>), RequestError> {
    let headers = req.headers();
    let deflate = match &config.per_message_deflate {
        Some(options) => {
            let offers = headers.get_all(header::SEC_WEBSOCKET_EXTENSIONS);
            deflate::negotiate(options, offers).map_err(|()| RequestError::BadRequest)?
        }
        None => None,
    };
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    let valid = req.method() == http::Method::GET
        && has_token(header::CONNECTION, "upgrade")
        && has_token(header::UPGRADE, "websocket")
        && headers
            .get(header::SEC_WEBSOCKET_VERSION)
            .is_some_and(|v| v == "13");
    let key = headers.get(header::SEC_WEBSOCKET_KEY).filter(|_| valid);
    let accept_key = key
        .map(|key| derive_accept_key(key.as_bytes()))
        .ok_or(RequestError::BadRequest)?;
    let on_upgrade = req
        .extensions_mut()
        .remove::<OnUpgrade>()
        .ok_or(RequestError::BadRequest)?;
    let mut response = Response::new(axum::body::Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let out: &mut HeaderMap = response.headers_mut();
    out.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    out.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    let accept_value = HeaderValue::from_str(&accept_key).map_err(|_| RequestError::BadRequest)?;
    out.insert(header::SEC_WEBSOCKET_ACCEPT, accept_value);
    let deflate = deflate.map(|(agreed, answer)| {
        out.insert(header::SEC_WEBSOCKET_EXTENSIONS, answer);
        agreed
    });
    Ok((response, on_upgrade, deflate))
}

async fn connect<H: EngineIoHandler>(
    engine: &EngineIo<H>,
    on_upgrade: OnUpgrade,
    deflate: Option<deflate::Agreed>,
) -> Option<Ws> {
    let upgraded = on_upgrade.await.ok()?;
    let config = engine.config();
    // tungstenite writes only control frames (pongs, the close), each at once.
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(config.ws_read_buffer_size)
        .write_buffer_size(0)
        .max_message_size(Some(config.max_http_buffer_size))
        .max_frame_size(Some(config.max_http_buffer_size));
    Some(
        WebSocketStream::from_raw_socket(
            stream::WsStream::new(
                TokioIo::new(upgraded),
                deflate.map(|agreed| {
                    deflate::Inflater::server(
                        config.max_http_buffer_size,
                        agreed.client_no_context_takeover,
                    )
                }),
            ),
            Role::Server,
            Some(ws_config),
        )
        .await,
    )
}
