//! What the other servers send: their broadcasts and room operations from the stream, their
//! requests from pub/sub (Node's `ClusterAdapter.onMessage`).

use super::*;

impl StreamsNamespace {
    /// A message of another server, from the stream (with its entry id) or from pub/sub
    /// (Node's `ClusterAdapter.onMessage`).
    pub(crate) fn on_message(&self, message: Message, offset: Option<&str>) {
        if message.uid.as_deref() == Some(self.uid.as_str()) || message.nsp != *self.name {
            return;
        }
        if let Err(error) = self.apply(&message, offset) {
            tracing::debug!(nsp = %self.name, kind = message.kind, %error, "message ignored");
        }
    }

    fn apply(&self, message: &Message, offset: Option<&str>) -> Result<(), wire::DecodeError> {
        let from = message.uid.as_deref();
        match message.kind {
            kind::BROADCAST => {
                let body: wire::BroadcastData = message.body()?;
                if let Some(request_id) = body.request_id {
                    self.on_broadcast_request(from, request_id, body.packet, &body.opts);
                    return Ok(());
                }
                let packet = wire::packet_of(body.packet, &self.name)
                    .ok_or_else(|| wire::DecodeError("not an event".into()))?;
                self.deliver(Arc::new(packet), &body.opts.local(), offset);
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
                let (me, from) = (self.me.clone(), from.map(str::to_owned));
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
                    me.respond(from.as_deref(), kind::FETCH_SOCKETS_RESPONSE, data);
                });
            }
            kind::SERVER_SIDE_EMIT => {
                let body: wire::ServerSideEmitData = message.body()?;
                let (event, args) = body
                    .packet
                    .split_first()
                    .ok_or_else(|| wire::DecodeError("an empty server-side emit".into()))?;
                let event = event
                    .as_str()
                    .ok_or_else(|| wire::DecodeError("an event that is not a name".into()))?;
                let args = args.iter().map(wire::json_of).collect();
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
                    let data = wire::map(vec![
                        ("requestId", Mp::from(request_id)),
                        ("packet", wire::mp_of(answer)),
                    ]);
                    me.respond(from.as_deref(), kind::SERVER_SIDE_EMIT_RESPONSE, data);
                });
            }
            kind::FETCH_SOCKETS_RESPONSE
            | kind::SERVER_SIDE_EMIT_RESPONSE
            | kind::BROADCAST_CLIENT_COUNT
            | kind::BROADCAST_ACK => {
                let data: wire::ResponseData = message.body()?;
                self.pending.deliver(Response {
                    kind: message.kind,
                    data,
                });
            }
            // Node 0.2's heartbeats: 0.3 counts servers by their subscriptions instead.
            kind::INITIAL_HEARTBEAT | kind::HEARTBEAT | kind::ADAPTER_CLOSE => {}
            other => return Err(wire::DecodeError(format!("unknown type {other}"))),
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
        let Some(mut packet) = wire::packet_of(packet, &self.name) else {
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
        let (me, from, namespace) = (
            self.me.clone(),
            from.map(str::to_owned),
            self.namespace.clone(),
        );
        tokio::spawn(async move {
            let count = count.await.unwrap_or(0);
            if let Some(me) = me.upgrade() {
                let data = wire::map(vec![
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
                me.respond(from.as_deref(), kind::BROADCAST_ACK, data);
            }
            namespace.forget_ack(ack_id);
        });
    }
}
