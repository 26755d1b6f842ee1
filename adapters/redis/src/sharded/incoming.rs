//! What the other servers send, on the namespace's channel, a room's or this server's answers'
//! channel (Node's `ClusterAdapter.onMessage` and `onResponse`).

use super::namespace::{Response, ShardedNamespace};
use crate::cluster::{self, kind, Message, Mp};
use crate::wire::{Opts, Packet};
use parser::socketio::PacketData;
use socketio::adapter::{Adapter, SocketDescription};
use std::sync::Arc;
use tokio::sync::mpsc;

impl ShardedNamespace {
    /// A message of another server.
    pub(super) fn on_cluster_message(&self, message: Message) {
        if message.uid.as_deref() == Some(self.uid.as_str()) || message.nsp != *self.name {
            return;
        }
        if let Err(error) = self.apply(&message) {
            tracing::debug!(nsp = %self.name, kind = message.kind, %error, "message ignored");
        }
    }

    fn apply(&self, message: &Message) -> Result<(), cluster::DecodeError> {
        let from = message.uid.as_deref();
        match message.kind {
            kind::BROADCAST => {
                let body: cluster::BroadcastData = message.body()?;
                if let Some(request_id) = body.request_id {
                    self.on_broadcast_request(from, request_id, body.packet, &body.opts);
                    return Ok(());
                }
                let packet = body
                    .packet
                    .into_broadcast(&self.name)
                    .ok_or_else(|| cluster::DecodeError("not an event".into()))?;
                // Local delivery has nothing to forward, so it cannot fail.
                let _ = self.local.broadcast(Arc::new(packet), &body.opts.local());
            }
            kind::SOCKETS_JOIN => {
                let body: cluster::RoomsData = message.body()?;
                let _ = self.local.add_sockets(&body.opts.local(), &body.rooms);
            }
            kind::SOCKETS_LEAVE => {
                let body: cluster::RoomsData = message.body()?;
                let _ = self.local.del_sockets(&body.opts.local(), &body.rooms);
            }
            kind::DISCONNECT_SOCKETS => {
                let body: cluster::DisconnectData = message.body()?;
                let _ = self
                    .local
                    .disconnect_sockets(&body.opts.local(), body.close);
            }
            kind::FETCH_SOCKETS => {
                let body: cluster::FetchData = message.body()?;
                let found = self.local.fetch_sockets(&body.opts.local());
                let (me, from) = (self.me.clone(), from.map(str::to_owned));
                tokio::spawn(async move {
                    let sockets = found.await.unwrap_or_default();
                    let Some(me) = me.upgrade() else { return };
                    let described = sockets
                        .iter()
                        .map(|socket| cluster::to_mp(&SocketDescription::of(socket)))
                        .collect();
                    let data = cluster::map(vec![
                        ("requestId", Mp::from(body.request_id)),
                        ("sockets", Mp::Array(described)),
                    ]);
                    me.respond(from.as_deref(), kind::FETCH_SOCKETS_RESPONSE, data);
                });
            }
            kind::SERVER_SIDE_EMIT => {
                let body: cluster::ServerSideEmitData = message.body()?;
                let (event, args) = body
                    .packet
                    .split_first()
                    .ok_or_else(|| cluster::DecodeError("an empty server-side emit".into()))?;
                let event = event
                    .as_str()
                    .ok_or_else(|| cluster::DecodeError("an event that is not a name".into()))?;
                let args = args.iter().map(cluster::json_of).collect();
                let answered = body.request_id.is_some();
                let handled = self.namespace.dispatch_server_side(event, args, answered);
                let (me, from) = (self.me.clone(), from.map(str::to_owned));
                tokio::spawn(async move {
                    let answer = handled.await;
                    // Node answers only when the handler called its callback.
                    let (Some(answer), Some(request_id), Some(me)) =
                        (answer, body.request_id, me.upgrade())
                    else {
                        return;
                    };
                    let data = cluster::map(vec![
                        ("requestId", Mp::from(request_id)),
                        ("packet", cluster::mp_of(answer)),
                    ]);
                    me.respond(from.as_deref(), kind::SERVER_SIDE_EMIT_RESPONSE, data);
                });
            }
            kind::FETCH_SOCKETS_RESPONSE
            | kind::SERVER_SIDE_EMIT_RESPONSE
            | kind::BROADCAST_CLIENT_COUNT
            | kind::BROADCAST_ACK => {
                let data: cluster::ResponseData = message.body()?;
                self.pending.deliver(Response {
                    kind: message.kind,
                    data,
                });
            }
            other => return Err(cluster::DecodeError(format!("unknown type {other}"))),
        }
        Ok(())
    }

    /// Another server's broadcast with acknowledgements, delivered to this server's sockets
    /// under an ack id of this namespace; the count and each answer go back to it.
    fn on_broadcast_request(
        &self,
        from: Option<&str>,
        request_id: String,
        packet: Packet,
        opts: &Opts,
    ) {
        let Some(mut packet) = packet.into_broadcast(&self.name) else {
            return;
        };
        let ack_id = self.namespace.next_ack_id();
        if let PacketData::Event(event) = &mut packet.packet.data {
            event.id = Some(ack_id);
        }
        let opts = opts.local();
        let timeout = opts.flags.timeout.unwrap_or(self.config.requests_timeout);
        let (sink, mut answers) = mpsc::unbounded_channel();
        let count = self.local.broadcast_with_ack(Arc::new(packet), &opts, sink);
        let (me, from, namespace) = (
            self.me.clone(),
            from.map(str::to_owned),
            self.namespace.clone(),
        );
        tokio::spawn(async move {
            let count = count.await.unwrap_or(0);
            if let Some(me) = me.upgrade() {
                let data = cluster::map(vec![
                    ("requestId", Mp::from(request_id.as_str())),
                    ("clientCount", Mp::from(count)),
                ]);
                me.respond(from.as_deref(), kind::BROADCAST_CLIENT_COUNT, data);
            }
            let deadline = tokio::time::Instant::now() + timeout;
            for _ in 0..count {
                let Ok(Some(answer)) = tokio::time::timeout_at(deadline, answers.recv()).await
                else {
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
                let data = cluster::map(vec![
                    ("requestId", Mp::from(request_id.as_str())),
                    ("packet", first),
                ]);
                me.respond(from.as_deref(), kind::BROADCAST_ACK, data);
            }
            namespace.forget_ack(ack_id);
        });
    }
}
