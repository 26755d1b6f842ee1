//! The adapter of one namespace: local rooms as in memory, and every operation that concerns
//! the cluster published on the namespace's channels.

use crate::bus::{Bus, Listener, Subscription};
use crate::messages::{
    self, DisconnectRequest, DoneAnswer, FetchRequest, Opts, Packet, Published, Request, Response,
    RoomsAnswer, RoomsRequest, ServerSideEmitAnswer, ServerSideEmitRequest, SocketIdsAnswer,
    SocketsAnswer, Type,
};
use crate::requests::Pending;
use crate::{RedisAdapter, RedisAdapterConfig};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use parser::Str;
use serde_json::Value;
use socketio::adapter::{
    AckSink, Adapter, AdapterError, BroadcastFlags, BroadcastOptions, BroadcastPacket, Room, Sid,
};
use socketio::adapter::{LocalAdapter, NamespaceRef, RemoteSocket, SocketDescription};
use std::sync::Arc;
use std::sync::Weak;
use std::time::Duration;

mod acks;

pub(crate) struct RedisNamespace {
    local: LocalAdapter,
    name: Str,
    bus: Arc<Bus>,
    config: Arc<RedisAdapterConfig>,
    uid: Arc<str>,
    /// `{key}#{nsp}#`: broadcasts to the namespace; with `{room}#` appended, to one room.
    channel: String,
    /// `{key}-request#{nsp}#`: requests, also what `serverCount` counts the subscribers of.
    request_channel: String,
    /// `{key}-response#{nsp}#`: every server's answers.
    response_channel: String,
    pending: Arc<Pending<Response>>,
    namespace: NamespaceRef,
    me: Weak<RedisNamespace>,
}

impl RedisNamespace {
    pub(crate) fn new(factory: &RedisAdapter, name: Str, namespace: NamespaceRef) -> Arc<Self> {
        let key = &factory.config.key;
        let adapter = Arc::new_cyclic(|me| Self {
            local: LocalAdapter::new(namespace.clone()),
            channel: format!("{key}#{name}#"),
            request_channel: format!("{key}-request#{name}#"),
            response_channel: format!("{key}-response#{name}#"),
            name,
            bus: factory.bus.clone(),
            config: factory.config.clone(),
            uid: factory.uid.clone(),
            pending: Arc::default(),
            namespace,
            me: me.clone(),
        });
        let listener: Arc<dyn Listener> = adapter.clone();
        factory.bus.listen(
            &adapter.prefixes(),
            Arc::downgrade(&listener),
            adapter.subscriptions(),
        );
        adapter
    }

    fn prefixes(&self) -> [String; 3] {
        [
            self.channel.clone(),
            self.request_channel.clone(),
            self.response_channel.clone(),
        ]
    }

    fn subscriptions(&self) -> Vec<Subscription> {
        vec![
            // The namespace's name taken literally: in `/*`, `*` is no wildcard.
            Subscription::Pattern(format!("{}*", glob_escape(&self.channel))),
            Subscription::Channel(self.response_channel.clone()),
            // Where Node's servers answer with `publishOnSpecificResponseChannel`.
            Subscription::Channel(format!("{}{}#", self.response_channel, self.uid)),
            // Subscribed last: once other servers count this one, it hears all the rest.
            Subscription::Channel(self.request_channel.clone()),
        ]
    }

    /// How many servers serve this namespace; an error when Redis does not answer in time, so
    /// that a request to the cluster fails rather than quietly covering this server alone.
    fn count_servers(&self) -> BoxFuture<'static, Result<usize, AdapterError>> {
        let mut commands = self.bus.commands();
        let channel = self.request_channel.clone();
        let timeout = self.config.requests_timeout;
        Box::pin(async move {
            let mut numsub = redis::cmd("PUBSUB");
            numsub.arg("NUMSUB").arg(&channel);
            let count = numsub.query_async::<(String, usize)>(&mut commands);
            match tokio::time::timeout(timeout, count).await {
                // As Node's: 0 for a moment after start, until this server's own subscription
                // is active.
                Ok(Ok((_, count))) => Ok(count),
                Ok(Err(error)) => Err(AdapterError::Other(format!("redis: {error}"))),
                Err(_) => Err(AdapterError::Timeout),
            }
        })
    }

    /// Publishes a request that asks for nothing back (join, leave, disconnect, server-side
    /// emit without acknowledgement); [`AdapterError::Backlog`] when the publish queue is full.
    fn tell(&self, request: &Request) -> Result<(), AdapterError> {
        self.bus
            .publish(self.request_channel.clone(), request.encode())
    }

    /// Publishes an answer to another server's request.
    fn answer(&self, response: &Response) {
        publish_answer(&self.bus, &self.response_channel, response);
    }

    /// Sends a request to the other servers and waits for each one's answer, within Node's
    /// `requestsTimeout`. Resolves at once, with no answer, when this server is alone, and
    /// with [`AdapterError::Backlog`] when the publish queue is full (its place in the queue
    /// is taken now, before the servers are counted). `request` makes the request from its id.
    fn ask(
        &self,
        request: impl FnOnce(String) -> Request + Send + 'static,
    ) -> BoxFuture<'static, Result<Vec<Response>, AdapterError>> {
        let Some(me) = self.me.upgrade() else {
            return Box::pin(std::future::ready(Ok(Vec::new())));
        };
        let slot = match self.bus.reserve() {
            Ok(slot) => slot,
            Err(error) => return Box::pin(std::future::ready(Err(error))),
        };
        Box::pin(async move {
            let others = me.count_servers().await?.saturating_sub(1);
            if others == 0 {
                return Ok(Vec::new());
            }
            let answers = me.pending.open();
            slot.publish(
                me.request_channel.clone(),
                request(answers.id.clone()).encode(),
            );
            answers.collect(others, me.config.requests_timeout).await
        })
    }

    /// A request from another server of the namespace.
    fn on_request(&self, request: Request) {
        // Node's own requests of types 2 to 4 come back to it; ours are applied when made,
        // and ours of the other types are never for us.
        if request.uid() == Some(&*self.uid) {
            return;
        }
        // What the local adapter does cannot fail (it forwards nothing): its results are
        // ignored below for that reason.
        match request {
            Request::Join(join) => {
                let _ = self.local.add_sockets(&join.opts.local(), &join.rooms);
            }
            Request::Leave(leave) => {
                let _ = self.local.del_sockets(&leave.opts.local(), &leave.rooms);
            }
            Request::Disconnect(disconnect) => {
                let _ = self
                    .local
                    .disconnect_sockets(&disconnect.opts.local(), disconnect.close);
            }
            Request::LegacyJoin(join) => {
                if let Some(opts) = self.one_socket(&join.sid) {
                    let _ = self.local.add_sockets(&opts, &[join.room]);
                    self.done(join.request_id);
                }
            }
            Request::LegacyLeave(leave) => {
                if let Some(opts) = self.one_socket(&leave.sid) {
                    let _ = self.local.del_sockets(&opts, &[leave.room]);
                    self.done(leave.request_id);
                }
            }
            Request::LegacyDisconnect(disconnect) => {
                if let Some(opts) = self.one_socket(&disconnect.sid) {
                    let _ = self.local.disconnect_sockets(&opts, disconnect.close);
                    self.done(disconnect.request_id);
                }
            }
            Request::SocketIds(request) => {
                let opts = BroadcastOptions {
                    rooms: request.rooms.into_iter().collect(),
                    ..BroadcastOptions::default()
                };
                let sockets = self.local.local_sockets(&opts);
                self.answer(&Response::SocketIds(SocketIdsAnswer {
                    request_id: request.request_id,
                    sockets,
                }));
            }
            Request::AllRooms(request) => {
                self.answer(&Response::Rooms(RoomsAnswer {
                    request_id: request.request_id,
                    rooms: self.local.rooms(),
                }));
            }
            Request::Fetch(fetch) => self.answer_fetch(fetch),
            Request::ServerSideEmit(emit) => self.answer_server_side_emit(emit),
            Request::Broadcast(broadcast) => self.on_broadcast_request(broadcast),
        }
    }

    /// Options that reach the local socket `sid` alone; `None` when it is not here.
    fn one_socket(&self, sid: &Sid) -> Option<BroadcastOptions> {
        let opts = BroadcastOptions {
            rooms: [sid.as_room().clone()].into(),
            flags: BroadcastFlags {
                local: true,
                ..BroadcastFlags::default()
            },
            ..BroadcastOptions::default()
        };
        (!self.local.local_sockets(&opts).is_empty()).then_some(opts)
    }

    /// Answers an older-form request that asked for it.
    fn done(&self, request_id: Option<String>) {
        if let Some(request_id) = request_id {
            self.answer(&Response::Done(DoneAnswer { request_id }));
        }
    }

    fn answer_fetch(&self, fetch: FetchRequest) {
        // The local adapter answers at once; its future is only a future for the trait's sake.
        let Some(Ok(found)) = self.local.fetch_sockets(&fetch.opts.local()).now_or_never() else {
            return;
        };
        self.answer(&Response::Sockets(SocketsAnswer {
            request_id: fetch.request_id,
            sockets: found.iter().map(SocketDescription::of).collect(),
        }));
    }

    fn answer_server_side_emit(&self, emit: ServerSideEmitRequest) {
        let mut data = emit.data;
        if data.is_empty() {
            return;
        }
        let Value::String(event) = data.remove(0) else {
            return;
        };
        // Node's sender asks for answers by giving a request id, and only then.
        let request_id = emit.request_id;
        let answer = self
            .namespace
            .dispatch_server_side(&event, data, request_id.is_some());
        let (bus, channel) = (self.bus.clone(), self.response_channel.clone());
        tokio::spawn(async move {
            // Node answers only when the handler called its callback, and only then.
            if let (Some(data), Some(request_id)) = (answer.await, request_id) {
                let answer = Response::ServerSideEmit(ServerSideEmitAnswer {
                    kind: Type,
                    request_id,
                    data,
                });
                publish_answer(&bus, &channel, &answer);
            }
        });
    }

    /// The channel of a broadcast: the room's own when it targets exactly one room, so that
    /// servers can skip rooms they have no member of.
    fn channel_for(&self, opts: &BroadcastOptions) -> String {
        match opts.rooms.iter().next() {
            Some(room) if opts.rooms.len() == 1 => format!("{}{room}#", self.channel),
            _ => self.channel.clone(),
        }
    }

    fn on_broadcast(&self, Published(uid, packet, opts): Published) {
        if uid.as_deref() == Some(&*self.uid) || packet.nsp() != self.name.as_str() {
            return;
        }
        let Some(packet) = packet.into_broadcast(&self.name) else {
            return;
        };
        // Local delivery has nothing to forward, so it cannot fail.
        let _ = self.local.broadcast(Arc::new(packet), &opts.local());
    }
}

/// Publishes an answer to another server's request. When the publish queue is full the answer
/// is dropped, and that server's request times out, as if this server had not answered.
pub(crate) fn publish_answer(bus: &Bus, channel: &str, response: &Response) {
    if let Err(error) = bus.publish(channel.to_owned(), response.encode()) {
        let request_id = response.request_id();
        tracing::warn!(%channel, %request_id, %error, "answer to another server dropped");
    }
}

impl Listener for RedisNamespace {
    fn on_message(&self, channel: &str, payload: &[u8]) {
        if channel == self.request_channel {
            match messages::decode(payload) {
                Ok(request) => self.on_request(request),
                Err(error) => tracing::debug!(%channel, %error, "request ignored"),
            }
        } else if channel.starts_with(&self.response_channel) {
            match messages::decode(payload) {
                Ok(response) => self.pending.deliver(response),
                Err(error) => tracing::debug!(%channel, %error, "response ignored"),
            }
        } else if channel.starts_with(&self.channel) {
            match messages::decode(payload) {
                Ok(published) => self.on_broadcast(published),
                Err(error) => tracing::debug!(%channel, %error, "broadcast ignored"),
            }
        }
    }
}

impl Adapter for RedisNamespace {
    fn add_all(&self, id: &Sid, rooms: &[Room]) {
        self.local.add_all(id, rooms);
    }

    fn del(&self, id: &Sid, room: &Room) {
        self.local.del(id, room);
    }

    fn del_all(&self, id: &Sid) {
        self.local.del_all(id);
    }

    fn socket_rooms(&self, id: &Sid) -> Vec<Room> {
        self.local.socket_rooms(id)
    }

    fn local_sockets(&self, opts: &BroadcastOptions) -> Vec<Sid> {
        self.local.local_sockets(opts)
    }

    fn broadcast(
        &self,
        packet: Arc<BroadcastPacket>,
        opts: &BroadcastOptions,
    ) -> Result<(), AdapterError> {
        let mut published = Ok(());
        if !opts.flags.local {
            if let Some(message) = Packet::of(&self.name, &packet) {
                let message = Published(Some(self.uid.to_string()), message, Opts::broadcast(opts));
                published = self
                    .bus
                    .publish(self.channel_for(opts), messages::to_msgpack(&message));
            }
        }
        // The local sockets have it whether or not the other servers will.
        self.local.broadcast(packet, opts)?;
        published
    }

    fn broadcast_with_ack(
        &self,
        packet: Arc<BroadcastPacket>,
        opts: &BroadcastOptions,
        acks: AckSink,
    ) -> BoxFuture<'static, Result<usize, AdapterError>> {
        self.cluster_broadcast_with_ack(packet, opts, acks)
    }

    fn fetch_sockets(
        &self,
        opts: &BroadcastOptions,
    ) -> BoxFuture<'static, Result<Vec<RemoteSocket>, AdapterError>> {
        let local = self.local.fetch_sockets(opts);
        if opts.flags.local {
            return local;
        }
        let (uid, opts) = (self.uid.to_string(), Opts::targets(opts));
        let remote = self.ask(move |request_id| {
            Request::Fetch(FetchRequest {
                uid: Some(uid),
                request_id,
                kind: Type,
                opts,
            })
        });
        let namespace = self.namespace.clone();
        Box::pin(async move {
            let mut sockets = local.await?;
            for answer in remote.await? {
                if let Response::Sockets(answer) = answer {
                    let described = answer.sockets.into_iter();
                    sockets.extend(described.filter_map(|d| d.into_remote(&namespace)));
                }
            }
            Ok(sockets)
        })
    }

    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) -> Result<(), AdapterError> {
        self.local.add_sockets(opts, rooms)?;
        if opts.flags.local {
            return Ok(());
        }
        self.tell(&Request::Join(RoomsRequest {
            uid: Some(self.uid.to_string()),
            kind: Type,
            opts: Opts::targets(opts),
            rooms: rooms.to_vec(),
        }))
    }

    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) -> Result<(), AdapterError> {
        self.local.del_sockets(opts, rooms)?;
        if opts.flags.local {
            return Ok(());
        }
        self.tell(&Request::Leave(RoomsRequest {
            uid: Some(self.uid.to_string()),
            kind: Type,
            opts: Opts::targets(opts),
            rooms: rooms.to_vec(),
        }))
    }

    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) -> Result<(), AdapterError> {
        self.local.disconnect_sockets(opts, close)?;
        if opts.flags.local {
            return Ok(());
        }
        self.tell(&Request::Disconnect(DisconnectRequest {
            uid: Some(self.uid.to_string()),
            kind: Type,
            opts: Opts::targets(opts),
            close,
        }))
    }

    fn server_side_emit(&self, event: Str, mut args: Vec<Value>) -> Result<(), AdapterError> {
        args.insert(0, Value::from(event.as_str()));
        self.tell(&Request::ServerSideEmit(ServerSideEmitRequest {
            uid: Some(self.uid.to_string()),
            request_id: None,
            kind: Type,
            data: args,
        }))
    }

    fn server_side_emit_with_ack(
        &self,
        event: Str,
        mut args: Vec<Value>,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<Value>, AdapterError>> {
        args.insert(0, Value::from(event.as_str()));
        let uid = self.uid.to_string();
        let answers = self.ask(move |request_id| {
            Request::ServerSideEmit(ServerSideEmitRequest {
                uid: Some(uid),
                request_id: Some(request_id),
                kind: Type,
                data: args,
            })
        });
        Box::pin(async move {
            // The caller's timeout bounds the wait, as Node's `io.timeout(t).serverSideEmit`.
            let answers = tokio::time::timeout(timeout, answers)
                .await
                .map_err(|_| AdapterError::Timeout)??;
            Ok(answers
                .into_iter()
                .filter_map(|answer| match answer {
                    Response::ServerSideEmit(answer) => Some(answer.data),
                    _ => None,
                })
                .collect())
        })
    }

    fn close(&self) {
        self.bus.forget(&self.prefixes(), self.subscriptions());
    }

    /// Node's `serverCount`: the subscribers of the request channel, this server included;
    /// 1 while Redis cannot be reached.
    fn server_count(&self) -> BoxFuture<'static, usize> {
        let count = self.count_servers();
        Box::pin(async move { count.await.unwrap_or(1) })
    }
}

/// `text` as a Redis glob that matches only itself: Node's adapter does not escape, but the
/// pattern is this server's own business, and the channels it matches are the same.
fn glob_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::glob_escape;

    #[test]
    fn a_namespace_pattern_matches_only_its_own_channels() {
        assert_eq!(glob_escape("socket.io#/#"), "socket.io#/#");
        assert_eq!(glob_escape("socket.io#/*#"), r"socket.io#/\*#");
        assert_eq!(glob_escape(r"k#/a?[b]\#"), r"k#/a\?\[b\]\\#");
    }
}
