//! The Redis Cluster side shared by the sharded adapters of every namespace of one server: one
//! cluster connection (RESP3, which carries sharded messages as pushes) that subscribes with
//! `SSUBSCRIBE` on each channel's shard and publishes with `SPUBLISH`, in order, through the
//! same bounded queue as the pub/sub adapter; and the routing of what arrives to the namespace
//! it is for.

use crate::bus::{Listener, Publication, Queue, Slot};
use redis::cluster_async::ClusterConnection;
use redis::{PushInfo, PushKind, Value};
use socketio::adapter::AdapterError;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;
use tokio::sync::mpsc;

/// A change of this server's sharded subscriptions.
enum Change {
    Subscribe(String),
    Unsubscribe(String),
    /// A node of the cluster went away: subscribe again to everything until every shard has
    /// taken it.
    Resync,
    /// Redis says this connection no longer subscribes to the channel: subscribe again if it
    /// is still wanted (not when this server asked for it).
    Check(String),
}

/// One server's Redis Cluster side.
pub(crate) struct ShardedBus {
    queue: Arc<Queue>,
    connection: ClusterConnection,
    changes: mpsc::UnboundedSender<Change>,
    /// Listeners by the prefix of the channels they own (`{prefix}#{nsp}#`).
    listeners: RwLock<HashMap<String, Weak<dyn Listener>>>,
}

impl std::fmt::Debug for ShardedBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardedBus")
            .field("queued", &self.queue.held())
            .finish()
    }
}

/// How long to wait before trying a subscription again that Redis refused (a shard without a
/// master during a failover, say).
const RETRY_DELAY: Duration = Duration::from_millis(250);
/// How many times a subscription is tried before it is given up with a warning.
const SUBSCRIBE_ATTEMPTS: usize = 40;

impl ShardedBus {
    /// Connects to the cluster that `nodes` belong to; at most `queue_size` messages (at least
    /// one) wait for Redis at any time.
    pub(crate) async fn connect(
        nodes: &[String],
        queue_size: usize,
    ) -> redis::RedisResult<Arc<Self>> {
        let (pushes, incoming) = mpsc::unbounded_channel();
        let client = redis::cluster::ClusterClientBuilder::new(nodes.to_vec())
            .use_protocol(redis::ProtocolVersion::RESP3)
            .push_sender(pushes)
            .build()?;
        let connection = client.get_async_connection().await?;
        let (queue, to_publish) = Queue::new(queue_size);
        let (changes, to_change) = mpsc::unbounded_channel();
        let bus = Arc::new(Self {
            queue: queue.clone(),
            connection: connection.clone(),
            changes,
            listeners: RwLock::default(),
        });
        tokio::spawn(publish(connection.clone(), to_publish, queue));
        tokio::spawn(subscribe(connection, to_change));
        tokio::spawn(receive(incoming, Arc::downgrade(&bus)));
        Ok(bus)
    }

    /// Takes a place in the publish queue; [`AdapterError::Backlog`] when it is full.
    pub(crate) fn reserve(&self) -> Result<Slot, AdapterError> {
        self.queue.reserve()
    }

    /// Queues `payload` for the sharded channel `channel`, after everything published before
    /// it; [`AdapterError::Backlog`] when the queue is full.
    pub(crate) fn publish(&self, channel: String, payload: Vec<u8>) -> Result<(), AdapterError> {
        self.reserve()?.publish(channel, payload);
        Ok(())
    }

    /// How many messages wait for Redis, queued or being sent.
    pub(crate) fn queued(&self) -> usize {
        self.queue.held()
    }

    /// Routes the channels starting with `prefix` to `listener`.
    pub(crate) fn listen(&self, prefix: String, listener: Weak<dyn Listener>) {
        engineio::sync::write(&self.listeners).insert(prefix, listener);
    }

    /// Stops routing the channels starting with `prefix`.
    pub(crate) fn forget(&self, prefix: &str) {
        engineio::sync::write(&self.listeners).remove(prefix);
    }

    /// `SSUBSCRIBE`s to `channel`, after the changes asked for before.
    pub(crate) fn subscribe(&self, channel: String) {
        let _ = self.changes.send(Change::Subscribe(channel));
    }

    /// `SUNSUBSCRIBE`s from `channel`, after the changes asked for before.
    pub(crate) fn unsubscribe(&self, channel: String) {
        let _ = self.changes.send(Change::Unsubscribe(channel));
    }

    /// How many connections subscribe to the sharded channel `channel`, over every node of the
    /// cluster (Node's `PUBSUB SHARDNUMSUB` summed over the masters).
    pub(crate) async fn subscribers(&self, channel: &str) -> redis::RedisResult<usize> {
        let mut connection = self.connection.clone();
        let mut numsub = redis::cmd("PUBSUB");
        numsub.arg("SHARDNUMSUB").arg(channel);
        let answer: Value = numsub.query_async(&mut connection).await?;
        Ok(count_of(&answer, channel))
    }

    /// Hands a message to the listener that owns its channel: the longest prefix wins, so that
    /// `/chat` does not take the messages of `/chat#admin`.
    fn route(&self, channel: &str, payload: &[u8]) {
        let listener = {
            let listeners = engineio::sync::read(&self.listeners);
            listeners
                .iter()
                .filter(|(prefix, _)| channel.starts_with(prefix.as_str()))
                .max_by_key(|(prefix, _)| prefix.len())
                .and_then(|(_, listener)| listener.upgrade())
        };
        if let Some(listener) = listener {
            listener.on_message(channel, payload);
        }
    }
}

/// The count of `channel` in an answer to `PUBSUB SHARDNUMSUB`: a map (the answers of the
/// nodes combined) or a flat list of names and counts (one node's); 0 for anything else.
fn count_of(answer: &Value, channel: &str) -> usize {
    let is_channel = |name: &Value| match name {
        Value::BulkString(name) => name.as_slice() == channel.as_bytes(),
        Value::SimpleString(name) => name == channel,
        _ => false,
    };
    let count = |count: &Value| match count {
        Value::Int(n) => usize::try_from(*n).unwrap_or(0),
        _ => 0,
    };
    match answer {
        Value::Map(entries) => entries
            .iter()
            .filter(|(name, _)| is_channel(name))
            .map(|(_, n)| count(n))
            .sum(),
        Value::Array(items) => items
            .chunks_exact(2)
            .filter_map(|pair| match pair {
                [name, n] if is_channel(name) => Some(count(n)),
                _ => None,
            })
            .sum(),
        _ => 0,
    }
}

/// At most this many messages go in one transaction: a bound on what the one duplicate a
/// failover could still make (see [`publish`]) may carry.
const TRANSACTION_MESSAGES: usize = 16;

/// Publishes what is queued, in order: a run of messages queued back to
/// back for one channel goes as one `MULTI`, `SPUBLISH`..., `EXEC` transaction to its shard,
/// any other message alone. A message at a time made the other servers get the broadcasts one
/// by one, and write their clients half as many frames per system call as with the pub/sub
/// adapter's bursts (half its fanout throughput across servers in `bench/`).
///
/// Not a plain pipeline, though it would carry as many: a master killed under the pipelines
/// made the other server's client get some broadcasts twice, once in six runs of the failover
/// test, because the cluster connection resends a pipeline whole when one of its answers is
/// missing or a refusal, the messages that had gone out included. A transaction runs whole or not at all:
/// Redis runs none of it before `EXEC`, discards it when its connection drops before that,
/// and refuses it whole (`EXECABORT`) when one of its commands was refused (a moved slot, a
/// shard without a master), after which each message is sent again alone, where the cluster
/// connection follows such refusals. What remains is what a single `SPUBLISH` has too: an
/// `EXEC` that ran on a master that died before its answer came back would be sent again.
async fn publish(
    mut connection: ClusterConnection,
    mut to_publish: mpsc::UnboundedReceiver<Publication>,
    queue: Arc<Queue>,
) {
    let mut next = None;
    loop {
        let first = match next.take() {
            Some(publication) => publication,
            None => match to_publish.recv().await {
                Some(publication) => publication,
                None => return,
            },
        };
        let mut run = vec![first];
        while run.len() < TRANSACTION_MESSAGES {
            match to_publish.try_recv() {
                Ok(publication) if publication.channel == run[0].channel => run.push(publication),
                Ok(publication) => {
                    next = Some(publication);
                    break;
                }
                Err(_) => break,
            }
        }
        if run.len() > 1 {
            let mut transaction = redis::pipe();
            transaction.atomic();
            for publication in &run {
                transaction
                    .cmd("SPUBLISH")
                    .arg(&publication.channel)
                    .arg(&publication.payload)
                    .ignore();
            }
            let sent: redis::RedisResult<()> = transaction.query_async(&mut connection).await;
            match sent {
                Ok(()) => {
                    queue.release(run.len());
                    continue;
                }
                // Discarded whole: nothing of it went out, so each may go again alone.
                Err(error)
                    if error.kind()
                        == redis::ErrorKind::Server(redis::ServerErrorKind::ExecAbort) =>
                {
                    tracing::debug!(%error, "redis: sharded transaction refused; sent alone");
                }
                Err(error) => {
                    let channel = &run[0].channel;
                    tracing::warn!(%channel, %error, messages = run.len(), "redis spublish failed");
                    queue.release(run.len());
                    continue;
                }
            }
        }
        for publication in run {
            spublish(&mut connection, &publication).await;
            queue.release(1);
        }
    }
}

/// Publishes one message alone.
async fn spublish(connection: &mut ClusterConnection, publication: &Publication) {
    let mut spublish = redis::cmd("SPUBLISH");
    spublish.arg(&publication.channel).arg(&publication.payload);
    let sent: redis::RedisResult<()> = spublish.query_async(connection).await;
    if let Err(error) = sent {
        // Other servers miss it; local delivery went on regardless.
        let channel = &publication.channel;
        tracing::warn!(%channel, %error, "redis spublish failed");
    }
}

/// Applies the subscription changes in the order they were asked for. The cluster connection
/// remembers what it subscribed and subscribes again after a reconnection to the same node; but
/// when a master dies and a replica takes its slots over, nothing tells the connection until a
/// command of its fails on those slots. So after a node went away, this subscribes again to
/// every channel, every [`RETRY_DELAY`], until each one has been taken (by the node that serves
/// its slot by then, which the failing attempts make the connection look up), or for
/// [`RESYNC_WINDOW`] at most.
async fn subscribe(
    mut connection: ClusterConnection,
    mut changes: mpsc::UnboundedReceiver<Change>,
) {
    let mut active: HashSet<String> = HashSet::new();
    let mut resync_until: Option<tokio::time::Instant> = None;
    loop {
        let change = match resync_until {
            None => changes.recv().await,
            Some(until) => match tokio::time::timeout(RETRY_DELAY, changes.recv()).await {
                Ok(change) => change,
                Err(_) => {
                    if resubscribe_all(&mut connection, &active).await
                        || tokio::time::Instant::now() >= until
                    {
                        resync_until = None;
                    }
                    continue;
                }
            },
        };
        let Some(change) = change else { return };
        let (channel, subscribing) = match change {
            Change::Resync => {
                resync_until = Some(tokio::time::Instant::now() + RESYNC_WINDOW);
                continue;
            }
            Change::Check(channel) if active.contains(&channel) => (channel, true),
            Change::Check(_) => continue,
            Change::Subscribe(channel) => {
                active.insert(channel.clone());
                (channel, true)
            }
            Change::Unsubscribe(channel) => {
                active.remove(&channel);
                (channel, false)
            }
        };
        for attempt in 1..=SUBSCRIBE_ATTEMPTS {
            let done = if subscribing {
                connection.ssubscribe(&channel).await
            } else {
                connection.sunsubscribe(&channel).await
            };
            match done {
                Ok(()) => break,
                Err(error) if attempt == SUBSCRIBE_ATTEMPTS => {
                    tracing::warn!(%channel, subscribing, %error, "redis: subscription change given up");
                }
                Err(error) => {
                    tracing::debug!(%channel, subscribing, %error, "redis: subscription change failed; trying again");
                    tokio::time::sleep(RETRY_DELAY).await;
                }
            }
        }
    }
}

/// How long after a node went away the subscriptions are made again, at most.
const RESYNC_WINDOW: Duration = Duration::from_secs(30);
/// How long one subscription is given when made again.
const RESUBSCRIBE_WAIT: Duration = Duration::from_secs(1);

/// Subscribes again to every channel of `active`; whether every shard took its channels.
async fn resubscribe_all(connection: &mut ClusterConnection, active: &HashSet<String>) -> bool {
    let mut all = true;
    for channel in active {
        match tokio::time::timeout(RESUBSCRIBE_WAIT, connection.ssubscribe(channel)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::debug!(%channel, %error, "redis: subscribing again failed; trying again");
                all = false;
            }
            Err(_) => all = false,
        }
    }
    if all {
        tracing::info!(
            channels = active.len(),
            "redis: subscriptions made again after a node went away"
        );
    }
    all
}

/// Hands each sharded message the cluster pushes to the namespace it is for.
async fn receive(mut incoming: mpsc::UnboundedReceiver<PushInfo>, bus: Weak<ShardedBus>) {
    while let Some(push) = incoming.recv().await {
        let Some(bus) = bus.upgrade() else { return };
        if push.kind == PushKind::Disconnection {
            // A node went away: its shards' subscriptions must be made again where the
            // cluster serves those slots now, perhaps on a replica that took over.
            let _ = bus.changes.send(Change::Resync);
            continue;
        }
        if push.kind == PushKind::SUnsubscribe {
            // Redis drops the subscriptions of a slot that moves to another master (a
            // resharding): the channel is subscribed again if this server still wants it.
            if let Some(Value::BulkString(channel)) = push.data.first() {
                let channel = String::from_utf8_lossy(channel).into_owned();
                let _ = bus.changes.send(Change::Check(channel));
            }
            continue;
        }
        if push.kind != PushKind::SMessage {
            continue;
        }
        match push.data.as_slice() {
            [Value::BulkString(channel), Value::BulkString(payload)] => {
                bus.route(&String::from_utf8_lossy(channel), payload);
            }
            other => tracing::debug!(
                parts = other.len(),
                "redis: a sharded message of another form ignored"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shardnumsub_answers_are_counted_in_either_form() {
        let name = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let map = Value::Map(vec![
            (name("c#/#"), Value::Int(3)),
            (name("x"), Value::Int(9)),
        ]);
        assert_eq!(count_of(&map, "c#/#"), 3);
        let flat = Value::Array(vec![name("c#/#"), Value::Int(2)]);
        assert_eq!(count_of(&flat, "c#/#"), 2);
        assert_eq!(count_of(&Value::Array(vec![name("c#/#")]), "c#/#"), 0);
        assert_eq!(count_of(&Value::Nil, "c#/#"), 0);
        assert_eq!(
            count_of(&Value::Array(vec![name("c#/#"), Value::Int(-1)]), "c#/#"),
            0
        );
    }
}
