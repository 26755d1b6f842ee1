//! The adapter of one namespace: rooms and delivery as in memory, what every server must see
//! appended to the stream, requests and answers over pub/sub, sessions in Redis.

use crate::session;
use crate::stream::{self, Append};
use crate::wire::{self, kind, Message, Mp};
use crate::{redis_error, Shared};
use engineio::sync::lock;
use futures_util::future::BoxFuture;
use parser::socketio::PacketData;
use parser::Str;
use serde_json::Value;
use socketio::adapter::{
    AckSink, Adapter, AdapterError, BroadcastOptions, BroadcastPacket, LocalAdapter, NamespaceRef,
    RemoteSocket, RestoredSession, Room, Session, Sid,
};
use socketio::ConnectionStateRecovery;
use socketio_redis::bus::Slot;
use socketio_redis::bus::{Listener, Subscription};
use socketio_redis::cluster::incoming::{self, ClusterNamespace, Response};
use socketio_redis::cluster::outgoing::{self, ClusterRequests};
use socketio_redis::requests::Pending;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

pub(crate) struct StreamsNamespace {
    local: LocalAdapter,
    name: Str,
    shared: Arc<Shared>,
    /// This adapter's id in the cluster (Node: one per namespace, 16 hex digits).
    uid: String,
    /// The stream its entries go to.
    stream: String,
    /// `{prefix}#{nsp}#`: requests of every server, and what `server_count` counts.
    public_channel: String,
    /// `{prefix}#{nsp}#{uid}#`: the answers to this server's requests.
    private_channel: String,
    pending: Arc<Pending<Response>>,
    namespace: NamespaceRef,
    /// The server's recovery settings, known once the namespace is (it is being made while
    /// this is), so read on first use.
    recovery: OnceLock<Option<ConnectionStateRecovery>>,
    /// The newest entry id of its stream this server knows of (where the stream ended when it
    /// connected, then each broadcast's): what a socket connecting now starts after.
    last_offset: Mutex<Option<String>>,
    me: Weak<StreamsNamespace>,
}

mod restore;

impl StreamsNamespace {
    pub(crate) fn new(shared: &Arc<Shared>, name: Str, namespace: NamespaceRef) -> Arc<Self> {
        let config = &shared.config;
        let uid = uuid::Uuid::new_v4().simple().to_string()[..16].to_owned();
        let public_channel = format!("{}#{name}#", config.channel_prefix);
        let stream = crate::stream_of(config, &name);
        let adapter = Arc::new_cyclic(|me| Self {
            local: LocalAdapter::without_recovery(namespace.clone()),
            last_offset: Mutex::new(shared.start_ids.get(&stream).cloned()),
            stream,
            private_channel: format!("{public_channel}{uid}#"),
            public_channel,
            uid,
            name,
            shared: shared.clone(),
            pending: Arc::default(),
            namespace,
            recovery: OnceLock::new(),
            me: me.clone(),
        });
        let listener: Arc<dyn Listener> = adapter.clone();
        shared.bus.listen(
            &adapter.prefixes(),
            Arc::downgrade(&listener),
            adapter.subscriptions(),
        );
        adapter
    }

    fn prefixes(&self) -> [String; 1] {
        [self.public_channel.clone()]
    }

    fn subscriptions(&self) -> Vec<Subscription> {
        vec![
            Subscription::Channel(self.private_channel.clone()),
            // Last: once the others count this server, it hears their answers.
            Subscription::Channel(self.public_channel.clone()),
        ]
    }

    /// Moves the newest known entry id forward to `offset` (own appends and other servers'
    /// entries come by two paths, so not always in order).
    fn saw(&self, offset: &str) {
        let Some(new) = session::parse_offset(offset) else {
            return;
        };
        let mut last = lock(&self.last_offset);
        if last
            .as_deref()
            .and_then(session::parse_offset)
            .is_none_or(|old| old < new)
        {
            *last = Some(offset.to_owned());
        }
    }

    fn recovery(&self) -> Option<&ConnectionStateRecovery> {
        self.recovery
            .get_or_init(|| self.namespace.connection_state_recovery())
            .as_ref()
    }

    /// Whether recovery keeps this broadcast, so that it carries an offset (Node's
    /// `addOffsetIfNecessary`): recovery on, an event, without acknowledgement, not volatile.
    fn keeps(&self, packet: &BroadcastPacket, opts: &BroadcastOptions) -> bool {
        let PacketData::Event(event) = &packet.packet.data else {
            return false;
        };
        self.recovery().is_some() && event.id.is_none() && !opts.flags.volatile
    }

    /// Appends a message to the stream; `then` runs with its entry id once Redis has it.
    fn append(
        &self,
        kind: u8,
        data: Option<Vec<u8>>,
        then: Option<stream::Then>,
    ) -> Result<(), (AdapterError, Option<stream::Then>)> {
        let slot = match self.shared.bus.reserve() {
            Ok(slot) => slot,
            Err(error) => return Err((error, then)),
        };
        self.shared.append(Append {
            stream: self.stream.clone(),
            fields: wire::entry_fields(&self.uid, &self.name, kind, data),
            then,
            slot,
        });
        Ok(())
    }
}

/// The packet with `offset` appended as its last argument.
fn with_offset(packet: &BroadcastPacket, offset: &str) -> Arc<BroadcastPacket> {
    let mut with = packet.packet.clone();
    if let PacketData::Event(event) = &mut with.data {
        event.args.push(session::offset_arg(offset));
    }
    Arc::new(BroadcastPacket::new(with, packet.attachments.clone()))
}

impl Listener for StreamsNamespace {
    fn on_message(&self, channel: &str, payload: &[u8]) {
        if channel != self.public_channel && channel != self.private_channel {
            return;
        }
        match Message::from_msgpack(payload) {
            Ok(message) => incoming::on_message(self, message, None),
            Err(error) => tracing::debug!(%channel, %error, "message ignored"),
        }
    }
}

impl ClusterNamespace for StreamsNamespace {
    fn local(&self) -> &LocalAdapter {
        &self.local
    }

    fn name(&self) -> &Str {
        &self.name
    }

    fn uid(&self) -> &str {
        &self.uid
    }

    fn namespace(&self) -> &NamespaceRef {
        &self.namespace
    }

    fn requests_timeout(&self) -> Duration {
        self.shared.config.requests_timeout
    }

    fn pending(&self) -> &Arc<Pending<Response>> {
        &self.pending
    }

    fn me(&self) -> Weak<Self> {
        self.me.clone()
    }

    /// Publishes an answer to the server `to`, on its own channel. When the queue is full the
    /// answer is dropped, and that server's request times out.
    fn respond(&self, to: Option<&str>, kind: u8, data: Mp) {
        let Some(to) = to else {
            return;
        };
        let channel = format!("{}{to}#", self.public_channel);
        let message = wire::pubsub_message(kind, Some(data), &self.uid, &self.name);
        if let Err(error) = self.shared.bus.publish(channel, message) {
            tracing::warn!(nsp = %self.name, %error, "answer to another server dropped");
        }
    }

    /// Delivers a broadcast to this server's sockets, with `offset` as its last argument when
    /// recovery keeps it.
    fn deliver(&self, packet: Arc<BroadcastPacket>, opts: &BroadcastOptions, offset: Option<&str>) {
        if let Some(offset) = offset {
            self.saw(offset);
        }
        let packet = match offset {
            Some(offset) if self.keeps(&packet, opts) => with_offset(&packet, offset),
            _ => packet,
        };
        let mut opts = opts.clone();
        opts.flags.local = true;
        // Local delivery has nothing to forward, so it cannot fail.
        let _ = self.local.broadcast(packet, &opts);
    }
}

impl ClusterRequests for StreamsNamespace {
    fn reserve(&self) -> Result<Slot, AdapterError> {
        self.shared.bus.reserve()
    }

    fn requests_channel(&self) -> String {
        self.public_channel.clone()
    }

    /// The subscribers of its channel (Node 0.3's `serverCount`).
    fn count_servers(&self) -> BoxFuture<'static, Result<usize, AdapterError>> {
        let mut commands = self.shared.bus.commands();
        let channel = self.public_channel.clone();
        let timeout = self.shared.config.command_timeout;
        Box::pin(async move {
            let mut numsub = redis::cmd("PUBSUB");
            numsub.arg("NUMSUB").arg(&channel);
            let count = numsub.query_async::<(String, usize)>(&mut commands);
            match tokio::time::timeout(timeout, count).await {
                Ok(Ok((_, count))) => Ok(count),
                Ok(Err(error)) => Err(redis_error(error)),
                Err(_) => Err(AdapterError::Timeout),
            }
        })
    }
}

impl Adapter for StreamsNamespace {
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
        // As Node's, a local broadcast is neither published nor given an offset.
        if opts.flags.local {
            return self.local.broadcast(packet, opts);
        }
        let Some(data) = wire::broadcast_data(&packet, opts) else {
            return self.local.broadcast(packet, opts);
        };
        if self.recovery().is_none() {
            // No offset to wait for: the local sockets have it now.
            let appended = self.append(kind::BROADCAST, Some(data), None);
            self.local.broadcast(packet, opts)?;
            return appended.map_err(|(error, _)| error);
        }
        // With recovery on, every broadcast reaches the local sockets once its entry is in
        // the stream (or failed to be), in the order they were made, kept ones with their id.
        let (me, local_opts) = (self.me.clone(), opts.clone());
        let then: stream::Then = Box::new(move |id| {
            if let Some(me) = me.upgrade() {
                me.deliver(packet, &local_opts, id.as_deref());
            }
        });
        self.append(kind::BROADCAST, Some(data), Some(then))
            .map_err(|(error, then)| {
                // The queue is full: the local sockets have it now, without an offset.
                if let Some(then) = then {
                    then(None);
                }
                error
            })
    }

    fn broadcast_with_ack(
        &self,
        packet: Arc<BroadcastPacket>,
        opts: &BroadcastOptions,
        acks: AckSink,
    ) -> BoxFuture<'static, Result<usize, AdapterError>> {
        outgoing::broadcast_with_ack(self, packet, opts, acks)
    }

    fn fetch_sockets(
        &self,
        opts: &BroadcastOptions,
    ) -> BoxFuture<'static, Result<Vec<RemoteSocket>, AdapterError>> {
        outgoing::fetch_sockets(self, opts)
    }

    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) -> Result<(), AdapterError> {
        self.local.add_sockets(opts, rooms)?;
        if opts.flags.local {
            return Ok(());
        }
        self.append(kind::SOCKETS_JOIN, wire::rooms_data(opts, rooms), None)
            .map_err(|(error, _)| error)
    }

    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) -> Result<(), AdapterError> {
        self.local.del_sockets(opts, rooms)?;
        if opts.flags.local {
            return Ok(());
        }
        self.append(kind::SOCKETS_LEAVE, wire::rooms_data(opts, rooms), None)
            .map_err(|(error, _)| error)
    }

    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) -> Result<(), AdapterError> {
        self.local.disconnect_sockets(opts, close)?;
        if opts.flags.local {
            return Ok(());
        }
        self.append(
            kind::DISCONNECT_SOCKETS,
            wire::disconnect_data(opts, close),
            None,
        )
        .map_err(|(error, _)| error)
    }

    fn persist_session(&self, session: Session) {
        let Some(recovery) = self.recovery() else {
            return;
        };
        let key = format!("{}{}", self.shared.config.session_key_prefix, session.pid);
        let value = session::encode(&session);
        let expiry = u64::try_from(recovery.max_disconnection_duration.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let mut commands = self.shared.bus.commands();
        let timeout = self.shared.config.command_timeout;
        tokio::spawn(async move {
            let mut set = redis::cmd("SET");
            set.arg(&key).arg(value).arg("PX").arg(expiry);
            match tokio::time::timeout(timeout, set.query_async::<()>(&mut commands)).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::warn!(%error, "session not persisted"),
                Err(_) => tracing::warn!("session not persisted: redis did not answer in time"),
            }
        });
    }

    fn restore_session(
        &self,
        pid: &str,
        offset: Option<&str>,
    ) -> BoxFuture<'static, Result<Option<RestoredSession>, AdapterError>> {
        let Some(me) = self.me.upgrade() else {
            return Box::pin(std::future::ready(Ok(None)));
        };
        let (pid, offset) = (pid.to_owned(), offset.map(str::to_owned));
        Box::pin(async move { me.restore(pid, offset).await })
    }

    fn packets_after(
        &self,
        offset: &str,
        rooms: &[Room],
    ) -> BoxFuture<'static, Result<Option<Vec<Arc<BroadcastPacket>>>, AdapterError>> {
        let (Some(me), Some(position)) = (self.me.upgrade(), session::parse_offset(offset)) else {
            return Box::pin(std::future::ready(Ok(None)));
        };
        let rooms = rooms.to_vec();
        Box::pin(async move {
            let Some(recovery) = me.recovery().cloned() else {
                return Ok(None);
            };
            me.read_after(position, &rooms, &recovery).await
        })
    }

    fn last_offset(&self) -> Option<String> {
        self.recovery()?;
        lock(&self.last_offset).clone()
    }

    fn server_count(&self) -> BoxFuture<'static, usize> {
        let count = ClusterRequests::count_servers(self);
        Box::pin(async move { count.await.unwrap_or(1) })
    }

    fn server_side_emit(&self, event: Str, args: Vec<Value>) -> Result<(), AdapterError> {
        outgoing::server_side_emit(self, event, args)
    }

    fn server_side_emit_with_ack(
        &self,
        event: Str,
        args: Vec<Value>,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<Value>, AdapterError>> {
        outgoing::server_side_emit_with_ack(self, event, args, timeout)
    }

    fn close(&self) {
        self.shared
            .bus
            .forget(&self.prefixes(), self.subscriptions());
        self.shared.forget(&self.name, &self.me);
    }
}
