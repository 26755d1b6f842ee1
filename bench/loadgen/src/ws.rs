//! A socket.io v5 client over an engine.io v4 WebSocket, as thin as the protocol allows: the
//! scenarios write packets as text and look at the few bytes they need of what comes back.

use crate::tcp::Tcp;
use engineio::Deflater;
use futures_util::{FutureExt, SinkExt, StreamExt};
use std::net::{Ipv4Addr, SocketAddr};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::{Message, WebSocketConfig};
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_tungstenite::WebSocketStream;

pub type Error = Box<dyn std::error::Error>;

/// The smallest message the client compresses, as engine.io-client's default threshold.
const DEFLATE_THRESHOLD: usize = 1024;

pub struct Client {
    ws: WebSocketStream<Tcp>,
    /// With per-message deflate agreed: the client's compressor, its context kept between
    /// messages as browsers and Node's `ws` keep it.
    deflate: Option<Box<Deflater>>,
}

/// How a client speaks: the parser, and whether it offers per-message deflate.
#[derive(Clone, Copy, Default)]
pub struct Speech {
    pub msgpack: bool,
    pub deflate: bool,
}

impl Client {
    /// Opens the engine over WebSocket and connects to the namespace `/`.
    pub async fn connect(addr: &str) -> Result<Self, Error> {
        Self::connect_with(addr, Speech::default()).await
    }

    /// As [`connect`](Self::connect), speaking the msgpack parser and offering per-message
    /// deflate (as a browser offers it) as `speech` says.
    pub async fn connect_with(addr: &str, speech: Speech) -> Result<Self, Error> {
        Self::connect_from(addr, None, speech).await
    }

    /// As [`connect_with`](Self::connect_with), from the loopback address `source` when
    /// given: each source address has its own ephemeral ports, so that many thousands of
    /// clients do not run out of them.
    pub async fn connect_from(
        addr: &str,
        source: Option<Ipv4Addr>,
        speech: Speech,
    ) -> Result<Self, Error> {
        let msgpack = speech.msgpack;
        let tcp = match source {
            None => TcpStream::connect(addr).await?,
            Some(source) => {
                let socket = TcpSocket::new_v4()?;
                socket.bind(SocketAddr::from((source, 0)))?;
                socket.connect(addr.parse()?).await?
            }
        };
        tcp.set_nodelay(true)?;
        let mut tcp = Tcp::new(tcp);
        let mut request =
            format!("ws://{addr}/socket.io/?EIO=4&transport=websocket").into_client_request()?;
        if speech.deflate {
            tcp.inflate();
            request.headers_mut().insert(
                "sec-websocket-extensions",
                "permessage-deflate; client_max_window_bits".parse()?,
            );
        }
        // tungstenite's default 128 KiB read buffer is zeroed on each read: with many small
        // frames that memset alone would make this the bottleneck.
        let config = WebSocketConfig::default().read_buffer_size(16 * 1024);
        let (ws, response) =
            tokio_tungstenite::client_async_with_config(request, tcp, Some(config)).await?;
        let agreed = response
            .headers()
            .get("sec-websocket-extensions")
            .is_some_and(|v| v.as_bytes().starts_with(b"permessage-deflate"));
        if speech.deflate && !agreed {
            return Err("the server did not agree to per-message deflate".into());
        }
        // Level 1: a client's level changes little of what the server does to inflate, and a
        // faster one lets one core of load generator keep a server busy.
        let deflate = agreed.then(|| Box::new(Deflater::new(1)));
        let mut client = Self { ws, deflate };
        let open = client.next().await?;
        if !open.starts_with('0') {
            return Err(format!("expected an open packet, got {open:?}").into());
        }
        if msgpack {
            client
                .ws
                .send(Message::binary(crate::msgpack::connect()))
                .await?;
            let mut batch = Vec::new();
            loop {
                client.next_messages(&mut batch).await?;
                for message in batch.drain(..) {
                    match crate::msgpack::read(&message.into_data()) {
                        crate::msgpack::Incoming::Connected => return Ok(client),
                        crate::msgpack::Incoming::Refused => return Err("connect refused".into()),
                        _ => {}
                    }
                }
            }
        }
        client.send("40".into()).await?;
        loop {
            let packet = client.next().await?;
            if packet.starts_with("40") {
                return Ok(client);
            }
            if packet.starts_with("44") {
                return Err(format!("connect refused: {packet}").into());
            }
        }
    }

    pub async fn send(&mut self, text: String) -> Result<(), Error> {
        let message = self.compressed(Message::text(text));
        self.ws.send(message).await?;
        Ok(())
    }

    /// Queues packets to go out with the next [`send`](Self::send) or flush.
    pub async fn feed(&mut self, text: String) -> Result<(), Error> {
        let message = self.compressed(Message::text(text));
        self.ws.feed(message).await?;
        Ok(())
    }

    /// The message as the client sends it: deflated (a frame with RSV1, which tungstenite
    /// writes as it is) when deflate was agreed and the message is large enough.
    fn compressed(&mut self, message: Message) -> Message {
        let Some(compress) = &mut self.deflate else {
            return message;
        };
        let opcode = match &message {
            Message::Text(_) => Data::Text,
            Message::Binary(_) => Data::Binary,
            _ => return message,
        };
        let payload = message.into_data();
        if payload.len() < DEFLATE_THRESHOLD {
            return match opcode {
                Data::Text => Message::Text(Utf8Bytes::try_from(payload).unwrap_or_default()),
                _ => Message::Binary(payload),
            };
        }
        let out = compress.compress(&payload);
        let mut frame = Frame::message(out, OpCode::Data(opcode), true);
        frame.header_mut().rsv1 = true;
        Message::Frame(frame)
    }

    pub async fn flush(&mut self) -> Result<(), Error> {
        self.ws.flush().await?;
        Ok(())
    }

    /// The next packets: at least one, then whatever else has already arrived, so that the
    /// caller can answer them all with one flush (one write for many packets, as a busy
    /// client would do).
    pub async fn next_batch(&mut self, batch: &mut Vec<Utf8Bytes>) -> Result<(), Error> {
        batch.push(self.next().await?);
        while let Some(message) = self.ws.next().now_or_never() {
            match message {
                Some(Ok(Message::Text(text))) if text.as_str() == "2" => {
                    self.feed("3".into()).await?;
                }
                Some(Ok(Message::Text(text))) => batch.push(text),
                Some(Ok(Message::Close(_))) | None => return Err("connection closed".into()),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Queues a message, text or binary, to go out with the next flush.
    pub async fn feed_message(&mut self, message: Message) -> Result<(), Error> {
        let message = self.compressed(message);
        self.ws.feed(message).await?;
        Ok(())
    }

    /// As [`next_batch`](Self::next_batch), for text and binary messages alike.
    pub async fn next_messages(&mut self, batch: &mut Vec<Message>) -> Result<(), Error> {
        let mut first = true;
        loop {
            let message = if first {
                Some(self.ws.next().await)
            } else {
                self.ws.next().now_or_never()
            };
            let Some(message) = message else {
                return Ok(());
            };
            match message {
                Some(Ok(Message::Text(text))) if text.as_str() == "2" => {
                    self.feed("3".into()).await?;
                    if first {
                        self.flush().await?;
                    }
                }
                Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => {
                    batch.push(message);
                    first = false;
                }
                Some(Ok(Message::Close(_))) | None => return Err("connection closed".into()),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
            }
        }
    }

    /// The next engine.io text packet that is not a ping (pings are answered here).
    pub async fn next(&mut self) -> Result<Utf8Bytes, Error> {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(text))) if text.as_str() == "2" => {
                    self.send("3".into()).await?;
                }
                Some(Ok(Message::Text(text))) => return Ok(text),
                Some(Ok(Message::Close(_))) | None => return Err("connection closed".into()),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
            }
        }
    }
}

/// The ack id of an ACK packet to `/` (`43<id>[...]`).
pub fn ack_id(packet: &str) -> Option<u64> {
    let digits = packet.strip_prefix("43")?;
    let end = digits.find('[')?;
    digits[..end].parse().ok()
}

/// The number after `"t":` in a packet: the send time stamped into a broadcast payload.
pub fn stamp(packet: &str) -> Option<u64> {
    let rest = &packet[packet.find("\"t\":")? + 4..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_what_the_scenarios_need() {
        assert_eq!(super::ack_id("4317[\"x\"]"), Some(17));
        assert_eq!(super::ack_id("42[\"x\"]"), None);
        assert_eq!(super::stamp("42[\"bcast\",{\"t\":12345}]"), Some(12345));
    }
}
