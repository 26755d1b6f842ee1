//! What the other servers send (Node's `ClusterAdapterWithHeartbeat.onMessage`): heartbeats,
//! their broadcasts and room operations, their requests, and their answers to ours.

use super::*;
use parser::socketio::PacketData;
use tokio::sync::mpsc;

impl PgNamespace {
    /// A message on the namespace's channel.
    pub(crate) fn on_message(&self, message: wire::Message) {
        let Some(from) = message.uid.clone() else {
            // Node's servers always say who they are; a message that does not is ignored.
            return;
        };
        if from == self.uid || self.closed.load(Ordering::Acquire) {
            return;
        }
        if from != wire::EMITTER_UID {
            // Any message counts as a sign of life (Node's `nodesMap`).
            lock(&self.nodes).insert(from.clone(), Instant::now());
        }
        if let Err(error) = self.apply(&from, &message) {
            tracing::debug!(nsp = %self.name, kind = message.kind, %error, "message ignored");
        }
    }

    fn apply(&self, from: &str, message: &wire::Message) -> Result<(), wire::DecodeError> {
        match message.kind {
            kind::INITIAL_HEARTBEAT => {
                // A server that just came: it learns of this one from the answer.
                let _ = self.publish(kind::HEARTBEAT, None);
            }
            kind::HEARTBEAT => {}
            kind::ADAPTER_CLOSE => self.remove_node(from),
            kind::BROADCAST => {
                let body: wire::BroadcastData = message.body()?;
                if let Some(request_id) = body.request_id {
                    self.on_broadcast_request(request_id, body.packet, &body.opts);
                    return Ok(());
                }
                let packet = body
                    .packet
                    .into_broadcast(&self.name)
                    .ok_or_else(|| wire::DecodeError("not an event".into()))?;
                // Local delivery has nothing to forward, so it cannot fail.
                let _ = self.local.broadcast(Arc::new(packet), &body.opts.local());
            }
            kind::SOCKETS_JOIN => {
                let body: wire::RoomsData = message.body()?;
                let _ = self.local.add_sockets(&body.opts.local(), &body.rooms);
            }
            kind::SOCKETS_LEAVE => {
                let body: wire::RoomsData = message.body()?;
                let _ = self.local.del_sockets(&body.opts.local(), &body.rooms);
            }
            kind::DISCONNECT_SOCKETS => {
                let body: wire::DisconnectData = message.body()?;
                let _ = self
                    .local
                    .disconnect_sockets(&body.opts.local(), body.close);
            }
            kind::FETCH_SOCKETS => {
                let body: wire::FetchData = message.body()?;
                let found = self.local.fetch_sockets(&body.opts.local());
                let me = self.me.clone();
                tokio::spawn(async move {
                    let sockets = found.await.unwrap_or_default();
                    let Some(me) = me.upgrade() else { return };
                    let described = sockets
                        .iter()
                        .map(|socket| wire::to_mp(&SocketDescription::of(socket)))
                        .collect();
                    let data = wire::map(vec![
                        ("requestId", Mp::from(body.request_id)),
                        ("sockets", Mp::Array(described)),
                    ]);
                    me.respond(kind::FETCH_SOCKETS_RESPONSE, data);
                });
            }
            kind::SERVER_SIDE_EMIT => self.on_server_side_emit(message.body()?)?,
            kind::FETCH_SOCKETS_RESPONSE | kind::SERVER_SIDE_EMIT_RESPONSE => {
                self.requests.answer(from, message.body()?);
            }
            kind::BROADCAST_CLIENT_COUNT | kind::BROADCAST_ACK => {
                self.acks.deliver(AckResponse {
                    kind: message.kind,
                    data: message.body()?,
                });
            }
            other => return Err(wire::DecodeError(format!("unknown type {other}"))),
        }
        Ok(())
    }

    fn on_server_side_emit(&self, body: wire::ServerSideEmitData) -> Result<(), wire::DecodeError> {
        let (event, args) = body
            .packet
            .split_first()
            .ok_or_else(|| wire::DecodeError("an empty server-side emit".into()))?;
        let event = event
            .as_str()
            .ok_or_else(|| wire::DecodeError("an event that is not a name".into()))?;
        let args = args.iter().map(wire::json_of).collect();
        let handled = self
            .namespace
            .dispatch_server_side(event, args, body.request_id.is_some());
        let me = self.me.clone();
        tokio::spawn(async move {
            // Node answers only when the handler called its callback.
            let (Some(answer), Some(request_id), Some(me)) =
                (handled.await, body.request_id, me.upgrade())
            else {
                return;
            };
            let data = wire::map(vec![
                ("requestId", Mp::from(request_id)),
                ("packet", wire::mp_of(answer)),
            ]);
            me.respond(kind::SERVER_SIDE_EMIT_RESPONSE, data);
        });
        Ok(())
    }

    /// Another server's broadcast with acknowledgements, delivered to this server's sockets
    /// under an ack id of this namespace; the count and each answer go back to it.
    fn on_broadcast_request(
        &self,
        request_id: String,
        packet: socketio_redis::wire::Packet,
        opts: &socketio_redis::wire::Opts,
    ) {
        let Some(mut packet) = packet.into_broadcast(&self.name) else {
            return;
        };
        let ack_id = self.namespace.next_ack_id();
        if let PacketData::Event(event) = &mut packet.packet.data {
            event.id = Some(ack_id);
        }
        let opts = opts.local();
        let timeout = opts
            .flags
            .timeout
            .unwrap_or(self.shared.config.requests_timeout);
        let (sink, mut answers) = mpsc::unbounded_channel();
        let count = self.local.broadcast_with_ack(Arc::new(packet), &opts, sink);
        let (me, namespace) = (self.me.clone(), self.namespace.clone());
        tokio::spawn(async move {
            let count = count.await.unwrap_or(0);
            if let Some(me) = me.upgrade() {
                let data = wire::map(vec![
                    ("requestId", Mp::from(request_id.as_str())),
                    ("clientCount", Mp::from(count)),
                ]);
                me.respond(kind::BROADCAST_CLIENT_COUNT, data);
            }
            let deadline = tokio::time::Instant::now() + timeout;
            // At most one answer per client reached: what this loop holds stays bounded.
            for _ in 0..count {
                let Ok(Some(answer)) = tokio::time::timeout_at(deadline, answers.recv()).await
                else {
                    break;
                };
                let Some(me) = me.upgrade() else { break };
                // As Node's, only the first argument travels.
                let first = socketio_redis::msgpack::args_to_msgpack(
                    &answer.args[..answer.args.len().min(1)],
                    &answer.attachments,
                )
                .ok()
                .and_then(|args| args.into_iter().next())
                .unwrap_or(Mp::Nil);
                let data = wire::map(vec![
                    ("requestId", Mp::from(request_id.as_str())),
                    ("packet", first),
                ]);
                me.respond(kind::BROADCAST_ACK, data);
            }
            namespace.forget_ack(ack_id);
        });
    }
}
