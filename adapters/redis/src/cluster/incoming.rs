//! What a server does with another server's message, whatever carried it (Node's
//! `ClusterAdapter.onMessage` and `onResponse`): shared by the adapters that speak Node's
//! `ClusterAdapter` messages (the sharded Redis adapter; `socketio-redis-streams`), each
//! telling through [`ClusterNamespace`] how it answers and how it delivers a broadcast.

use super::{kind, DecodeError, Message, Mp, ResponseData};
use crate::requests::{Answer, BroadcastAnswer, Pending};
use crate::wire::{Opts, Packet};
use parser::socketio::PacketData;
use parser::Str;
use socketio::adapter::{
    AckData, Adapter, BroadcastOptions, BroadcastPacket, LocalAdapter, NamespaceRef,
    SocketDescription,
};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::mpsc;

/// An answer of another server to one of this server's requests: its type and its `data`.
#[derive(Debug)]
pub struct Response {
    /// Its `MessageType` (8, 10, 11 or 12).
    pub kind: u8,
    /// Its `data`.
    pub data: ResponseData,
}

impl Answer for Response {
    fn request_id(&self) -> &str {
        &self.data.request_id
    }
}

/// What an answer to a broadcast with acknowledgements says.
pub fn read_answer(answer: Response) -> BroadcastAnswer {
    match answer.kind {
        kind::BROADCAST_CLIENT_COUNT => BroadcastAnswer::ClientCount(answer.data.client_count),
        kind::BROADCAST_ACK => {
            let (args, attachments) =
                crate::msgpack::msgpack_to_args(std::slice::from_ref(&answer.data.packet));
            BroadcastAnswer::Ack(AckData { args, attachments })
        }
        _ => BroadcastAnswer::Other,
    }
}

/// The adapter of one namespace, as [`on_message`] needs it.
pub trait ClusterNamespace: Send + Sync + Sized + 'static {
    /// Its local rooms and sockets.
    fn local(&self) -> &LocalAdapter;
    /// The namespace's name.
    fn name(&self) -> &Str;
    /// This adapter's id in the cluster.
    fn uid(&self) -> &str;
    /// The namespace, for server-side events and ack ids.
    fn namespace(&self) -> &NamespaceRef;
    /// How long another server's broadcast with acknowledgements waits for its clients' acks
    /// when it gives no timeout.
    fn requests_timeout(&self) -> Duration;
    /// This server's requests waiting for answers.
    fn pending(&self) -> &Arc<Pending<Response>>;
    /// The adapter itself, for the tasks that answer later.
    fn me(&self) -> Weak<Self>;
    /// Sends an answer of type `kind` to the server whose adapter id is `to` (none: nowhere).
    fn respond(&self, to: Option<&str>, kind: u8, data: Mp);
    /// Delivers another server's broadcast to this server's sockets; `offset` is where its
    /// transport keeps it, when it keeps it (a stream entry's id).
    fn deliver(&self, packet: Arc<BroadcastPacket>, opts: &BroadcastOptions, offset: Option<&str>);
}

/// Acts on a message of another server; skips (with a debug line) one that is this server's
/// own, another namespace's, or not understood.
pub fn on_message<N: ClusterNamespace>(node: &N, message: Message, offset: Option<&str>) {
    if message.uid.as_deref() == Some(node.uid()) || message.nsp != **node.name() {
        return;
    }
    if let Err(error) = apply(node, &message, offset) {
        let nsp = node.name();
        tracing::debug!(%nsp, kind = message.kind, %error, "message ignored");
    }
}

fn apply<N: ClusterNamespace>(
    node: &N,
    message: &Message,
    offset: Option<&str>,
) -> Result<(), DecodeError> {
    let from = message.uid.as_deref();
    let local = node.local();
    // What the local adapter does cannot fail (it forwards nothing): its results are ignored.
    match message.kind {
        kind::BROADCAST => {
            let body: super::BroadcastData = message.body()?;
            if let Some(request_id) = body.request_id {
                on_broadcast_request(node, from, request_id, body.packet, &body.opts);
                return Ok(());
            }
            let packet = body
                .packet
                .into_broadcast(node.name())
                .ok_or_else(|| DecodeError("not an event".into()))?;
            node.deliver(Arc::new(packet), &body.opts.local(), offset);
        }
        kind::SOCKETS_JOIN => {
            let body: super::RoomsData = message.body()?;
            let _ = local.add_sockets(&body.opts.local(), &body.rooms);
        }
        kind::SOCKETS_LEAVE => {
            let body: super::RoomsData = message.body()?;
            let _ = local.del_sockets(&body.opts.local(), &body.rooms);
        }
        kind::DISCONNECT_SOCKETS => {
            let body: super::DisconnectData = message.body()?;
            let _ = local.disconnect_sockets(&body.opts.local(), body.close);
        }
        kind::FETCH_SOCKETS => {
            let body: super::FetchData = message.body()?;
            let found = local.fetch_sockets(&body.opts.local());
            let (me, from) = (node.me(), from.map(str::to_owned));
            tokio::spawn(async move {
                let sockets = found.await.unwrap_or_default();
                let Some(me) = me.upgrade() else { return };
                let described = sockets
                    .iter()
                    .map(|socket| super::to_mp(&SocketDescription::of(socket)))
                    .collect();
                let data = super::map(vec![
                    ("requestId", Mp::from(body.request_id)),
                    ("sockets", Mp::Array(described)),
                ]);
                me.respond(from.as_deref(), kind::FETCH_SOCKETS_RESPONSE, data);
            });
        }
        kind::SERVER_SIDE_EMIT => {
            let body: super::ServerSideEmitData = message.body()?;
            let (event, args) = body
                .packet
                .split_first()
                .ok_or_else(|| DecodeError("an empty server-side emit".into()))?;
            let event = event
                .as_str()
                .ok_or_else(|| DecodeError("an event that is not a name".into()))?;
            let args = args.iter().map(super::json_of).collect();
            let answered = body.request_id.is_some();
            let handled = node.namespace().dispatch_server_side(event, args, answered);
            let (me, from) = (node.me(), from.map(str::to_owned));
            tokio::spawn(async move {
                let answer = handled.await;
                // Node answers only when the handler called its callback.
                let (Some(answer), Some(request_id), Some(me)) =
                    (answer, body.request_id, me.upgrade())
                else {
                    return;
                };
                let data = super::map(vec![
                    ("requestId", Mp::from(request_id)),
                    ("packet", super::mp_of(answer)),
                ]);
                me.respond(from.as_deref(), kind::SERVER_SIDE_EMIT_RESPONSE, data);
            });
        }
        kind::FETCH_SOCKETS_RESPONSE
        | kind::SERVER_SIDE_EMIT_RESPONSE
        | kind::BROADCAST_CLIENT_COUNT
        | kind::BROADCAST_ACK => {
            let data: ResponseData = message.body()?;
            node.pending().deliver(Response {
                kind: message.kind,
                data,
            });
        }
        // Heartbeats of `ClusterAdapterWithHeartbeat` (Node's streams adapter 0.2): these
        // adapters count servers by their subscriptions instead.
        kind::INITIAL_HEARTBEAT | kind::HEARTBEAT | kind::ADAPTER_CLOSE => {}
        other => return Err(DecodeError(format!("unknown type {other}"))),
    }
    Ok(())
}

/// Another server's broadcast with acknowledgements, delivered to this server's sockets under
/// an ack id of this namespace; the count and each answer go back to it.
fn on_broadcast_request<N: ClusterNamespace>(
    node: &N,
    from: Option<&str>,
    request_id: String,
    packet: Packet,
    opts: &Opts,
) {
    let Some(mut packet) = packet.into_broadcast(node.name()) else {
        return;
    };
    let namespace = node.namespace().clone();
    let ack_id = namespace.next_ack_id();
    if let PacketData::Event(event) = &mut packet.packet.data {
        event.id = Some(ack_id);
    }
    let opts = opts.local();
    let timeout = opts.flags.timeout.unwrap_or(node.requests_timeout());
    let (sink, mut answers) = mpsc::unbounded_channel();
    let count = node
        .local()
        .broadcast_with_ack(Arc::new(packet), &opts, sink);
    let (me, from) = (node.me(), from.map(str::to_owned));
    tokio::spawn(async move {
        let count = count.await.unwrap_or(0);
        if let Some(me) = me.upgrade() {
            let data = super::map(vec![
                ("requestId", Mp::from(request_id.as_str())),
                ("clientCount", Mp::from(count)),
            ]);
            me.respond(from.as_deref(), kind::BROADCAST_CLIENT_COUNT, data);
        }
        let deadline = tokio::time::Instant::now() + timeout;
        for _ in 0..count {
            let Ok(Some(answer)) = tokio::time::timeout_at(deadline, answers.recv()).await else {
                break;
            };
            let Some(me) = me.upgrade() else { break };
            // As Node's, only the first argument travels.
            let first = crate::msgpack::args_to_msgpack(
                &answer.args[..answer.args.len().min(1)],
                &answer.attachments,
            )
            .ok()
            .and_then(|args| args.into_iter().next())
            .unwrap_or(Mp::Nil);
            let data = super::map(vec![
                ("requestId", Mp::from(request_id.as_str())),
                ("packet", first),
            ]);
            me.respond(from.as_deref(), kind::BROADCAST_ACK, data);
        }
        namespace.forget_ack(ack_id);
    });
}
