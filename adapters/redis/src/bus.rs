//! The Redis side shared by the adapters of every namespace of one server: one connection that
//! subscribes (reconnected and resubscribed when Redis goes away), one that publishes (in the
//! order the server published, through a bounded queue), and the routing of what arrives to the
//! namespace it is for.

use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use socketio::adapter::AdapterError;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;
use tokio::sync::mpsc;

/// What arrives from Redis for a namespace.
pub trait Listener: Send + Sync {
    /// A message that arrived on `channel`.
    fn on_message(&self, channel: &str, payload: &[u8]);
}

/// A subscription a namespace needs: a channel, or a pattern (`psubscribe`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subscription {
    /// `SUBSCRIBE` to this channel.
    Channel(String),
    /// `PSUBSCRIBE` to this pattern.
    Pattern(String),
}

enum Change {
    Add(Subscription),
    Remove(Subscription),
}

/// A listener and the patterns it subscribed: a message that came through a pattern is its
/// only when the pattern is one of these.
struct Routed {
    listener: Weak<dyn Listener>,
    patterns: Vec<String>,
}

/// A message on its way to Redis.
pub(crate) struct Publication {
    pub(crate) channel: String,
    pub(crate) payload: Vec<u8>,
}

/// What the publisher holds: the messages queued and those being sent, never more than the
/// bound. The channel itself is unbounded; this count is what bounds it, and it is given back
/// only once Redis has answered a message (or failed to), so what is in flight counts too.
/// Shared with the sharded adapter's publisher, which sends with `SPUBLISH` instead.
pub(crate) struct Queue {
    to_publish: mpsc::UnboundedSender<Publication>,
    held: AtomicUsize,
    bound: usize,
}

/// A place in the publish queue, taken before its message is ready (a request's id comes only
/// once the servers are counted) so that a full queue fails the operation at once; given back
/// when dropped unused.
pub struct Slot {
    queue: Arc<Queue>,
    used: bool,
}

impl Slot {
    /// Queues `payload` for `channel`, after everything queued before it.
    pub fn publish(mut self, channel: String, payload: Vec<u8>) {
        self.used = true;
        if self
            .queue
            .to_publish
            .send(Publication { channel, payload })
            .is_err()
        {
            // The publisher is gone (the runtime is shutting down): nothing is held.
            self.queue.held.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot").field("used", &self.used).finish()
    }
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus")
            .field("queued", &self.queued())
            .finish()
    }
}

impl Queue {
    /// An empty queue holding at most `bound` messages (at least one), and the receiving end
    /// its publisher drains.
    pub(crate) fn new(bound: usize) -> (Arc<Self>, mpsc::UnboundedReceiver<Publication>) {
        let (to_publish, publications) = mpsc::unbounded_channel();
        let queue = Arc::new(Self {
            to_publish,
            held: AtomicUsize::new(0),
            bound: bound.max(1),
        });
        (queue, publications)
    }

    /// Takes a place; [`AdapterError::Backlog`] when the queue is full.
    pub(crate) fn reserve(self: &Arc<Self>) -> Result<Slot, AdapterError> {
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                (held < self.bound).then_some(held + 1)
            })
            .map_err(|_| AdapterError::Backlog)?;
        Ok(Slot {
            queue: self.clone(),
            used: false,
        })
    }

    /// How many messages are held, queued or being sent.
    pub(crate) fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }

    /// Gives back the places of `n` messages Redis has answered (or failed to).
    pub(crate) fn release(&self, n: usize) {
        self.held.fetch_sub(n, Ordering::AcqRel);
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if !self.used {
            self.queue.held.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// One server's Redis side: a subscriber connection (resubscribed after a reconnection), a
/// bounded queue of messages to publish in order, and a connection for other commands.
pub struct Bus {
    queue: Arc<Queue>,
    subscriptions: mpsc::UnboundedSender<Change>,
    commands: ConnectionManager,
    /// Listeners by the prefix of the channels they own.
    /// Listeners by the prefix of the channels they own, with the patterns they subscribed.
    listeners: RwLock<HashMap<String, Routed>>,
}

impl Bus {
    /// Connects to Redis; at most `queue_size` messages (at least one) wait for Redis at any
    /// time.
    pub async fn connect(
        client: redis::Client,
        queue_size: usize,
    ) -> redis::RedisResult<Arc<Self>> {
        let commands = client.get_connection_manager().await?;
        // Fail early on a wrong address, as Node does when its clients cannot connect.
        let pubsub = client.get_async_pubsub().await?;
        let (queue, to_publish) = Queue::new(queue_size);
        let (subscriptions, to_subscribe) = mpsc::unbounded_channel();
        let bus = Arc::new(Self {
            queue: queue.clone(),
            subscriptions,
            commands: commands.clone(),
            listeners: RwLock::default(),
        });
        tokio::spawn(publish(commands, to_publish, queue));
        tokio::spawn(subscribe(
            client,
            pubsub,
            Arc::downgrade(&bus),
            to_subscribe,
        ));
        Ok(bus)
    }

    /// Takes a place in the publish queue; [`AdapterError::Backlog`] when it is full.
    pub fn reserve(&self) -> Result<Slot, AdapterError> {
        self.queue.reserve()
    }

    /// Queues `payload` for `channel`, after everything published before it;
    /// [`AdapterError::Backlog`] when the queue is full.
    pub fn publish(&self, channel: String, payload: Vec<u8>) -> Result<(), AdapterError> {
        self.reserve()?.publish(channel, payload);
        Ok(())
    }

    /// How many messages wait for Redis, queued or being sent.
    pub fn queued(&self) -> usize {
        self.queue.held()
    }

    /// Routes the channels starting with any of `prefixes` to `listener`, subscribing to
    /// `wanted`.
    pub fn listen(
        &self,
        prefixes: &[String],
        listener: Weak<dyn Listener>,
        wanted: Vec<Subscription>,
    ) {
        let patterns: Vec<String> = wanted
            .iter()
            .filter_map(|subscription| match subscription {
                Subscription::Pattern(pattern) => Some(pattern.clone()),
                Subscription::Channel(_) => None,
            })
            .collect();
        let mut listeners = engineio::sync::write(&self.listeners);
        for prefix in prefixes {
            let routed = Routed {
                listener: listener.clone(),
                patterns: patterns.clone(),
            };
            listeners.insert(prefix.clone(), routed);
        }
        drop(listeners);
        for subscription in wanted {
            let _ = self.subscriptions.send(Change::Add(subscription));
        }
    }

    /// Stops routing `prefixes` and drops these subscriptions.
    pub fn forget(&self, prefixes: &[String], subscriptions: Vec<Subscription>) {
        let mut listeners = engineio::sync::write(&self.listeners);
        for prefix in prefixes {
            listeners.remove(prefix);
        }
        drop(listeners);
        for subscription in subscriptions {
            let _ = self.subscriptions.send(Change::Remove(subscription));
        }
    }

    /// A connection for commands that answer (`PUBSUB NUMSUB`).
    pub fn commands(&self) -> ConnectionManager {
        self.commands.clone()
    }

    /// Hands a message to the listener that owns its channel. A message that came through a
    /// pattern (`pmessage`) comes once per pattern of this connection that matches its
    /// channel: only the copy of the owner's own pattern is handed on.
    fn route(&self, channel: &str, pattern: Option<&str>, payload: &[u8]) {
        let listener = {
            let listeners = engineio::sync::read(&self.listeners);
            // The longest prefix wins: `/chat` must not take the messages of `/chat-admin`.
            listeners
                .iter()
                .filter(|(prefix, _)| channel.starts_with(prefix.as_str()))
                .max_by_key(|(prefix, _)| prefix.len())
                .filter(|(_, routed)| {
                    pattern.is_none_or(|pattern| routed.patterns.iter().any(|p| p == pattern))
                })
                .and_then(|(_, routed)| routed.listener.upgrade())
        };
        if let Some(listener) = listener {
            listener.on_message(channel, payload);
        }
    }
}

/// At most this many messages go to Redis in one pipeline...
const BATCH_MESSAGES: usize = 64;
/// ... and at most about this many bytes, so that one pipeline answers well within the
/// connection's response timeout.
const BATCH_BYTES: usize = 1 << 20;

/// Publishes what is queued, in order: each time, what has gathered (up to a batch) in one
/// pipeline, so that the queue drains at Redis's pace rather than one round trip per message.
async fn publish(
    mut commands: ConnectionManager,
    mut to_publish: mpsc::UnboundedReceiver<Publication>,
    queue: Arc<Queue>,
) {
    let mut batch = Vec::with_capacity(BATCH_MESSAGES);
    while let Some(first) = to_publish.recv().await {
        let mut bytes = first.payload.len();
        batch.push(first);
        while batch.len() < BATCH_MESSAGES && bytes < BATCH_BYTES {
            let Ok(next) = to_publish.try_recv() else {
                break;
            };
            bytes += next.payload.len();
            batch.push(next);
        }
        let mut pipeline = redis::pipe();
        for publication in &batch {
            pipeline
                .cmd("PUBLISH")
                .arg(&publication.channel)
                .arg(&publication.payload)
                .ignore();
        }
        let sent: redis::RedisResult<()> = pipeline.query_async(&mut commands).await;
        if let Err(error) = sent {
            // Other servers miss these; local delivery went on regardless.
            let channel = &batch[0].channel;
            tracing::warn!(%channel, messages = batch.len(), %error, "redis publish failed");
        }
        queue.release(batch.len());
        batch.clear();
    }
}

/// How long to wait before connecting again after Redis went away.
const RECONNECT_DELAY: Duration = Duration::from_millis(500);

async fn subscribe(
    client: redis::Client,
    first: redis::aio::PubSub,
    bus: Weak<Bus>,
    mut to_subscribe: mpsc::UnboundedReceiver<Change>,
) {
    let mut active: Vec<Subscription> = Vec::new();
    let mut connection = Some(first);
    loop {
        let pubsub = match connection.take() {
            Some(pubsub) => pubsub,
            None => match client.get_async_pubsub().await {
                Ok(pubsub) => pubsub,
                Err(error) => {
                    tracing::debug!(%error, "redis subscriber: not connected yet");
                    tokio::time::sleep(RECONNECT_DELAY).await;
                    continue;
                }
            },
        };
        let (mut sink, mut messages) = pubsub.split();
        let mut resubscribed = true;
        for subscription in &active {
            if apply(&mut sink, subscription).await.is_err() {
                resubscribed = false;
                break;
            }
        }
        if resubscribed {
            loop {
                tokio::select! {
                    change = to_subscribe.recv() => {
                        let applied = match change {
                            None => return,
                            Some(Change::Add(subscription)) => {
                                let applied = apply(&mut sink, &subscription).await;
                                active.push(subscription);
                                applied
                            }
                            Some(Change::Remove(subscription)) => {
                                active.retain(|s| *s != subscription);
                                unapply(&mut sink, &subscription).await
                            }
                        };
                        if applied.is_err() {
                            break;
                        }
                    }
                    message = messages.next() => {
                        let Some(message) = message else { break };
                        let Some(bus) = bus.upgrade() else { return };
                        let pattern = message
                            .from_pattern()
                            .then(|| message.get_pattern::<String>().ok())
                            .flatten();
                        bus.route(
                            message.get_channel_name(),
                            pattern.as_deref(),
                            message.get_payload_bytes(),
                        );
                    }
                }
            }
        }
        if bus.strong_count() == 0 {
            return;
        }
        tracing::warn!("redis subscriber connection lost; reconnecting");
        tokio::time::sleep(RECONNECT_DELAY).await;
    }
}

async fn apply(
    sink: &mut redis::aio::PubSubSink,
    subscription: &Subscription,
) -> redis::RedisResult<()> {
    match subscription {
        Subscription::Channel(channel) => sink.subscribe(channel).await,
        Subscription::Pattern(pattern) => sink.psubscribe(pattern).await,
    }
}

async fn unapply(
    sink: &mut redis::aio::PubSubSink,
    subscription: &Subscription,
) -> redis::RedisResult<()> {
    match subscription {
        Subscription::Channel(channel) => sink.unsubscribe(channel).await,
        Subscription::Pattern(pattern) => sink.punsubscribe(pattern).await,
    }
}
