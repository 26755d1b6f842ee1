//! One engine.io connection seen from socket.io: it decodes packets, and routes each to the
//! connection's socket in that packet's namespace.

use crate::codec::{PacketDecoder, Parser};
use crate::inline::run_inline;
use crate::io::ServerInner;
use crate::{DisconnectReason, Socket};
use engineio::sync::{lock, read, write};
use engineio::{CloseReason, EngineIoHandler, Message, Protocol};
use parser::socketio::{Decoded, Packet, PacketData};
use parser::Str;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use tokio::task::AbortHandle;

pub(crate) type EngineSocket = engineio::Socket<Client>;

/// The socket.io state of one engine connection, kept as the engine socket's data.
#[derive(Default)]
pub(crate) struct Client {
    decoder: Mutex<PacketDecoder>,
    /// The server's parser, read for every packet sent: set once, read without a lock.
    parser: OnceLock<Parser>,
    /// The socket of each namespace joined: a few at most, so a list, sized for one at first.
    sockets: RwLock<Vec<(Str, Socket)>>,
    /// Namespaces whose CONNECT is still in the middlewares: a second CONNECT to one of them
    /// is as much a protocol error as a CONNECT to a joined one.
    connecting: Mutex<HashSet<Str>>,
    connect_timeout: Mutex<Option<AbortHandle>>,
}

impl Client {
    pub(crate) fn add_socket(&self, namespace: Str, socket: Socket) {
        let mut sockets = write(&self.sockets);
        match sockets.iter_mut().find(|(name, _)| *name == namespace) {
            Some(entry) => entry.1 = socket,
            None => {
                sockets.reserve_exact(1);
                sockets.push((namespace, socket));
            }
        }
        drop(sockets);
        if let Some(timer) = lock(&self.connect_timeout).take() {
            timer.abort();
        }
    }

    pub(crate) fn remove_socket(&self, namespace: &Str) {
        write(&self.sockets).retain(|(name, _)| name != namespace);
    }

    fn socket(&self, namespace: &str) -> Option<Socket> {
        read(&self.sockets)
            .iter()
            .find(|(name, _)| name == namespace)
            .map(|(_, socket)| socket.clone())
    }

    /// The parser the connection speaks: the server's.
    pub(crate) fn parser(&self) -> Parser {
        self.parser.get().copied().unwrap_or_default()
    }

    fn sockets(&self) -> Vec<Socket> {
        read(&self.sockets)
            .iter()
            .map(|(_, socket)| socket.clone())
            .collect()
    }
}

/// The engine's handler for socket.io.
pub(crate) struct EngineHandler {
    pub(crate) server: Arc<ServerInner>,
}

impl EngineIoHandler for EngineHandler {
    type Data = Client;

    fn on_connect(&self, conn: Arc<EngineSocket>) {
        self.server.observers.each(|o| o.opened(conn.transport()));
        let config = &self.server.config;
        *lock(&conn.data().decoder) = PacketDecoder::new(config.parser, config.max_attachments);
        let _ = conn.data().parser.set(config.parser);
        let timeout = self.server.config.connect_timeout;
        let weak = Arc::downgrade(&conn);
        let timer = tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            if let Some(conn) = weak.upgrade() {
                if read(&conn.data().sockets).is_empty() {
                    tracing::debug!(conn = %conn.id(), "no namespace joined in time");
                    close_connection(&conn, DisconnectReason::ForcedServerClose);
                }
            }
        });
        *lock(&conn.data().connect_timeout) = Some(timer.abort_handle());
        // A v3 client (socket.io protocol v4) is in the main namespace from the start: it sends
        // no CONNECT for it, and Node connects it as if it had, with no auth.
        if conn.protocol() == Protocol::V3 {
            let packet = Packet::connect(Str::from_static("/"), None);
            self.route(
                &conn,
                Decoded {
                    packet,
                    attachments: Vec::new(),
                },
            );
        }
    }

    fn on_message(&self, conn: &Arc<EngineSocket>, message: Message) {
        let bytes = match &message {
            Message::Text(text) => text.len(),
            Message::Binary(bytes) => bytes.len(),
        };
        self.server.observers.each(|o| o.received(bytes));
        let decoded = lock(&conn.data().decoder).decode(message);
        match decoded {
            Ok(Some(decoded)) => self.route(conn, decoded),
            Ok(None) => {}
            Err(error) => {
                tracing::debug!(conn = %conn.id(), %error, "invalid socket.io packet");
                close_connection(conn, DisconnectReason::ForcedClose);
            }
        }
    }

    fn on_close(&self, conn: &Arc<EngineSocket>, reason: CloseReason) {
        self.server
            .observers
            .each(|o| o.closed(conn.transport(), reason));
        if let Some(timer) = lock(&conn.data().connect_timeout).take() {
            timer.abort();
        }
        for socket in conn.data().sockets() {
            socket.close(reason.into());
        }
    }

    fn on_flush(&self, _conn: &Arc<EngineSocket>, frames: &[engineio::Frame]) {
        let observers = self.server.observers.current();
        if observers.is_empty() {
            return;
        }
        // Messages, not the engine's pings and noops (Node counts packets that carry data);
        // bytes, every frame's.
        let messages = frames
            .iter()
            .filter(|frame| match frame {
                engineio::Frame::Text(text) => text.as_bytes().first() == Some(&b'4'),
                engineio::Frame::Binary(_) => true,
            })
            .count();
        let bytes = frames.iter().map(engineio::Frame::len).sum();
        for observer in observers.iter() {
            observer.sent(messages, bytes);
        }
    }

    fn on_upgrade(&self, conn: &Arc<EngineSocket>) {
        let sockets = conn.data().sockets();
        self.server.observers.each(|o| o.upgraded(&sockets));
    }
}

impl EngineHandler {
    fn route(&self, conn: &Arc<EngineSocket>, decoded: Decoded) {
        let Decoded {
            mut packet,
            attachments,
        } = decoded;
        let legacy_auth = match conn.protocol() {
            Protocol::V3 => legacy_connect(&mut packet),
            Protocol::V4 => None,
        };
        let client = conn.data();
        let existing = client.socket(&packet.nsp);
        let connecting = lock(&client.connecting).contains(&packet.nsp);
        match (&packet.data, existing) {
            (PacketData::Connect(auth), None) if !connecting => {
                let auth = legacy_auth.unwrap_or_else(|| {
                    auth.as_ref()
                        .and_then(|raw| serde_json::from_str(raw).ok())
                        .unwrap_or_else(|| serde_json::json!({}))
                });
                match self.server.namespace_for(&packet.nsp, &auth) {
                    Some(namespace) => {
                        lock(&client.connecting).insert(packet.nsp.clone());
                        let conn = conn.clone();
                        run_inline(Box::pin(async move {
                            namespace.connect(conn.clone(), auth).await;
                            let mut connecting = lock(&conn.data().connecting);
                            connecting.remove(&packet.nsp);
                            if connecting.is_empty() {
                                // An empty set keeps its table: free it, as every
                                // connection goes through here once.
                                *connecting = HashSet::new();
                            }
                        }));
                    }
                    None => {
                        let error = r#"{"message":"Invalid namespace"}"#;
                        let packet = Packet::connect_error(packet.nsp, error.into());
                        let _ = conn.send_frames(self.server.config.parser.frames(&packet, &[]));
                    }
                }
            }
            (_, Some(socket)) if !matches!(packet.data, PacketData::Connect(_)) => {
                socket.on_packet(packet, attachments);
            }
            // A second CONNECT to a namespace, or a packet for one not joined: Node closes the
            // connection ("forced server close").
            _ => close_connection(conn, DisconnectReason::ForcedServerClose),
        }
    }
}

/// A v3 client's CONNECT names its namespace with the namespace's query (`/chat?token=x`), and
/// carries no auth: as Node, the path is the namespace and the query's parameters are the auth.
/// Returns that auth for a CONNECT, and leaves any other packet as it is.
fn legacy_connect(packet: &mut Packet) -> Option<serde_json::Value> {
    let PacketData::Connect(_) = packet.data else {
        return None;
    };
    let (path, query) = packet
        .nsp
        .split_once('?')
        .unwrap_or((packet.nsp.as_str(), ""));
    let auth = engineio::handshake::query_pairs(query)
        .map(|(key, value)| {
            (
                key.into_owned(),
                serde_json::Value::from(value.into_owned()),
            )
        })
        .collect::<serde_json::Map<_, _>>();
    if path.len() != packet.nsp.len() {
        packet.nsp = Str::from(path.to_owned());
    }
    Some(serde_json::Value::Object(auth))
}

/// Ends a connection from the server: its sockets leave with `reason`, then the engine closes.
pub(crate) fn close_connection(conn: &Arc<EngineSocket>, reason: DisconnectReason) {
    for socket in conn.data().sockets() {
        socket.close(reason);
    }
    conn.close();
}

/// Node's `socket.disconnect(true)`: every socket of the connection is told it leaves its
/// namespace, then the connection closes.
pub(crate) fn disconnect_all(conn: &Arc<EngineSocket>) {
    for socket in conn.data().sockets() {
        socket.disconnect_with(false);
    }
    conn.close();
}
