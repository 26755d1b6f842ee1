//! The adapter of one namespace (Node's `PostgresAdapter`, a `ClusterAdapterWithHeartbeat`):
//! rooms and delivery as in memory, every cluster operation a NOTIFY on the namespace's
//! channel, and the servers of the cluster known by their heartbeats.

use crate::client::Publication;
use crate::requests::Requests;
use crate::wire::{self, kind, Mp, ResponseData};
use crate::Shared;
use engineio::sync::lock;
use futures_util::future::BoxFuture;
use parser::Str;
use serde_json::Value;
use socketio::adapter::{
    AckData, AckSink, Adapter, AdapterError, BroadcastOptions, BroadcastPacket, LocalAdapter,
    NamespaceRef, RemoteSocket, Room, Sid, SocketDescription,
};
use socketio_redis::requests::{broadcast_answers, Answer, BroadcastAnswer, Pending};
use socketio_redis::wire::Opts;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

mod incoming;

/// Another server's answer to one of our broadcasts with acknowledgements.
pub(crate) struct AckResponse {
    kind: u8,
    data: ResponseData,
}

impl Answer for AckResponse {
    fn request_id(&self) -> &str {
        &self.data.request_id
    }
}

pub(crate) struct PgNamespace {
    local: LocalAdapter,
    name: Str,
    shared: Arc<Shared>,
    /// This adapter's id in the cluster (Node: one per namespace, 16 hex digits).
    uid: String,
    /// `{prefix}#{nsp}`: every message of the namespace, answers included.
    channel: String,
    /// The other servers, by uid, with when each was last heard from (Node's `nodesMap`).
    nodes: Mutex<HashMap<String, Instant>>,
    /// `fetch_sockets` and `server_side_emit_with_ack` waiting for answers.
    requests: Arc<Requests>,
    /// Broadcasts with acknowledgements waiting for answers.
    acks: Arc<Pending<AckResponse>>,
    namespace: NamespaceRef,
    /// When this adapter last published: a heartbeat is due `heartbeat_interval` after it.
    last_publish: Mutex<Instant>,
    closed: AtomicBool,
    me: Weak<PgNamespace>,
}

impl PgNamespace {
    pub(crate) fn new(shared: &Arc<Shared>, name: Str, namespace: NamespaceRef) -> Arc<Self> {
        let adapter = Arc::new_cyclic(|me| Self {
            local: LocalAdapter::without_recovery(namespace.clone()),
            channel: shared.channel(&name),
            uid: request_id(),
            name,
            shared: shared.clone(),
            nodes: Mutex::default(),
            requests: Arc::default(),
            acks: Arc::default(),
            namespace,
            last_publish: Mutex::new(Instant::now()),
            closed: AtomicBool::new(false),
            me: me.clone(),
        });
        tokio::spawn(beat(
            Arc::downgrade(&adapter),
            shared.config.heartbeat_interval,
        ));
        adapter
    }

    pub(crate) fn uid(&self) -> &str {
        &self.uid
    }

    /// Publishes a message of ours on the namespace's channel; [`AdapterError::Backlog`] when
    /// the queue is full.
    fn publish(&self, kind: u8, data: Option<Mp>) -> Result<(), AdapterError> {
        let config = &self.shared.config;
        let message = wire::encode(kind, data, &self.uid, &self.name, config.payload_threshold);
        self.shared.publish(Publication {
            channel: self.channel.clone(),
            kind,
            uid: self.uid.clone(),
            message,
        })?;
        *lock(&self.last_publish) = Instant::now();
        Ok(())
    }

    /// Publishes an answer to another server's request; dropped with a warning when the queue
    /// is full (that server's request then waits for this one, up to its timeout).
    fn respond(&self, kind: u8, data: Mp) {
        if let Err(error) = self.publish(kind, Some(data)) {
            tracing::warn!(nsp = %self.name, kind, %error, "answer to another server dropped");
        }
    }

    /// Tells the cluster this server is here (Node's `init`): the others answer with a
    /// heartbeat, so that each counts the other at once.
    pub(crate) fn greet(&self) {
        if !self.closed.load(Ordering::Acquire) {
            let _ = self.publish(kind::INITIAL_HEARTBEAT, None);
        }
    }

    /// The servers heard from within the heartbeat timeout.
    fn others(&self) -> HashSet<String> {
        let timeout = self.shared.config.heartbeat_timeout;
        lock(&self.nodes)
            .iter()
            .filter(|(_, seen)| seen.elapsed() <= timeout)
            .map(|(uid, _)| uid.clone())
            .collect()
    }

    /// Server `uid` is gone (it said so, or its heartbeats stopped): not counted, and no
    /// request waits for it any more.
    fn remove_node(&self, uid: &str) {
        lock(&self.nodes).remove(uid);
        self.requests.server_gone(uid);
    }

    /// Drops the servers not heard from within the heartbeat timeout.
    fn prune(&self) {
        let timeout = self.shared.config.heartbeat_timeout;
        let gone: Vec<String> = lock(&self.nodes)
            .iter()
            .filter(|(_, seen)| seen.elapsed() > timeout)
            .map(|(uid, _)| uid.clone())
            .collect();
        for uid in gone {
            tracing::info!(nsp = %self.name, %uid, "server seems down: no heartbeat in time");
            self.remove_node(&uid);
        }
    }

    /// Sends a request and waits for the answer of each server counted now, within
    /// `timeout`; no answer when this server is alone.
    fn ask(
        &self,
        kind: u8,
        timeout: Duration,
        data: impl FnOnce(&str) -> Mp,
    ) -> BoxFuture<'static, Result<Vec<ResponseData>, AdapterError>> {
        let others = self.others();
        if others.is_empty() {
            return Box::pin(std::future::ready(Ok(Vec::new())));
        }
        let id = request_id();
        let open = self.requests.open(id.clone(), others);
        if let Err(error) = self.publish(kind, Some(data(&id))) {
            return Box::pin(std::future::ready(Err(error)));
        }
        Box::pin(async move {
            let mut open = open;
            match tokio::time::timeout(timeout, &mut open.answers).await {
                Ok(Ok(answers)) => Ok(answers),
                _ => Err(AdapterError::Timeout),
            }
        })
    }
}

/// Heartbeats and the count of servers, for as long as the adapter lives: a heartbeat when it
/// has published nothing for `interval`, and servers silent for more than the heartbeat
/// timeout dropped (checked every second, as Node's).
async fn beat(me: Weak<PgNamespace>, interval: Duration) {
    loop {
        let wait = {
            let Some(me) = me.upgrade() else { return };
            if me.closed.load(Ordering::Acquire) {
                return;
            }
            let since = lock(&me.last_publish).elapsed();
            if since >= interval {
                let _ = me.publish(kind::HEARTBEAT, None);
            }
            me.prune();
            let since = lock(&me.last_publish).elapsed();
            interval.saturating_sub(since).min(Duration::from_secs(1))
        };
        tokio::time::sleep(wait.max(Duration::from_millis(10))).await;
    }
}

/// A new id: 16 random hex digits, as Node's `randomId`.
fn request_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_owned()
}

impl Adapter for PgNamespace {
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
            if let Some(wire_packet) = wire::broadcast_packet(&packet) {
                let data = wire::broadcast_data(&wire_packet, &Opts::broadcast(opts), None);
                published = self.publish(kind::BROADCAST, Some(data));
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
        let local = self
            .local
            .broadcast_with_ack(packet.clone(), opts, acks.clone());
        let others = self.others().len();
        if opts.flags.local || others == 0 {
            return local;
        }
        let answers = self.acks.open_with(request_id());
        let Some(wire_packet) = wire::broadcast_packet(&packet) else {
            return local;
        };
        let data = wire::broadcast_data(&wire_packet, &Opts::broadcast(opts), Some(&answers.id));
        if let Err(error) = self.publish(kind::BROADCAST, Some(data)) {
            return Box::pin(std::future::ready(Err(error)));
        }
        let timeout = opts
            .flags
            .timeout
            .unwrap_or(self.shared.config.requests_timeout);
        Box::pin(async move {
            let local = local.await?;
            let remote = broadcast_answers(answers, others, acks, timeout, read_answer).await;
            Ok(local.saturating_add(remote))
        })
    }

    fn fetch_sockets(
        &self,
        opts: &BroadcastOptions,
    ) -> BoxFuture<'static, Result<Vec<RemoteSocket>, AdapterError>> {
        let local = self.local.fetch_sockets(opts);
        if opts.flags.local {
            return local;
        }
        let options = wire::to_mp(&Opts::broadcast(opts));
        let timeout = opts
            .flags
            .timeout
            .unwrap_or(self.shared.config.requests_timeout);
        let remote = self.ask(kind::FETCH_SOCKETS, timeout, |request_id| {
            wire::map(vec![("opts", options), ("requestId", Mp::from(request_id))])
        });
        let namespace = self.namespace.clone();
        Box::pin(async move {
            let mut sockets = local.await?;
            for answer in remote.await? {
                let Some(described) = answer.sockets else {
                    continue;
                };
                let described = SocketDescription::deserialize_list(wire::json_of(&described))
                    .unwrap_or_default();
                sockets.extend(
                    described
                        .into_iter()
                        .filter_map(|d| d.into_remote(&namespace)),
                );
            }
            Ok(sockets)
        })
    }

    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) -> Result<(), AdapterError> {
        self.local.add_sockets(opts, rooms)?;
        if opts.flags.local {
            return Ok(());
        }
        self.publish(kind::SOCKETS_JOIN, Some(wire::rooms_data(opts, rooms)))
    }

    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) -> Result<(), AdapterError> {
        self.local.del_sockets(opts, rooms)?;
        if opts.flags.local {
            return Ok(());
        }
        self.publish(kind::SOCKETS_LEAVE, Some(wire::rooms_data(opts, rooms)))
    }

    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) -> Result<(), AdapterError> {
        self.local.disconnect_sockets(opts, close)?;
        if opts.flags.local {
            return Ok(());
        }
        let data = wire::disconnect_data(opts, close);
        self.publish(kind::DISCONNECT_SOCKETS, Some(data))
    }

    /// Node's `serverCount`: this server and the others heard from within the heartbeat
    /// timeout.
    fn server_count(&self) -> BoxFuture<'static, usize> {
        let count = 1 + self.others().len();
        Box::pin(std::future::ready(count))
    }

    fn server_side_emit(&self, event: Str, mut args: Vec<Value>) -> Result<(), AdapterError> {
        args.insert(0, Value::from(event.as_str()));
        let packet = Mp::Array(args.into_iter().map(wire::mp_of).collect());
        self.publish(
            kind::SERVER_SIDE_EMIT,
            Some(wire::map(vec![("packet", packet)])),
        )
    }

    fn server_side_emit_with_ack(
        &self,
        event: Str,
        mut args: Vec<Value>,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<Value>, AdapterError>> {
        args.insert(0, Value::from(event.as_str()));
        let wait = timeout.min(self.shared.config.requests_timeout);
        let answers = self.ask(kind::SERVER_SIDE_EMIT, wait, move |request_id| {
            let packet = Mp::Array(args.into_iter().map(wire::mp_of).collect());
            wire::map(vec![
                ("requestId", Mp::from(request_id)),
                ("packet", packet),
            ])
        });
        Box::pin(async move {
            Ok(answers
                .await?
                .iter()
                .map(|answer| wire::json_of(&answer.packet))
                .collect())
        })
    }

    fn close(&self) {
        // As Node's: the others stop counting this server at once.
        let _ = self.publish(kind::ADAPTER_CLOSE, None);
        self.closed.store(true, Ordering::Release);
        self.shared.forget(&self.name, &self.me);
    }
}

/// What another server's answer to a broadcast with acknowledgements says.
fn read_answer(answer: AckResponse) -> BroadcastAnswer {
    match answer.kind {
        kind::BROADCAST_CLIENT_COUNT => BroadcastAnswer::ClientCount(answer.data.client_count),
        kind::BROADCAST_ACK => {
            let (args, attachments) =
                socketio_redis::msgpack::msgpack_to_args(std::slice::from_ref(&answer.data.packet));
            BroadcastAnswer::Ack(AckData { args, attachments })
        }
        _ => BroadcastAnswer::Other,
    }
}
