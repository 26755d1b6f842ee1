//! A handler that records every event the engine reports, for tests to await.

use super::*;
use engineio::sync::lock;

/// One thing the engine told the handler.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Connect(String),
    Message(String, Message),
    Close(String, CloseReason),
    Flush(String, Vec<Frame>),
    Drain(String),
    Upgrade(String),
}

impl Event {
    pub fn sid(&self) -> &str {
        match self {
            Event::Connect(s)
            | Event::Message(s, _)
            | Event::Close(s, _)
            | Event::Flush(s, _)
            | Event::Drain(s)
            | Event::Upgrade(s) => s,
        }
    }
}

/// What `on_connect` saw of the handshake.
#[derive(Debug, Clone)]
pub struct ConnectInfo {
    pub sid: String,
    pub transport: Transport,
    pub query: Vec<(String, String)>,
    pub remote_addr: Option<SocketAddr>,
    pub headers: engineio::Headers,
    pub uri: String,
}

impl ConnectInfo {
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

type MessageHook = dyn Fn(&Arc<Socket>, &Message) + Send + Sync;

/// A handler that records every event and echoes messages back (unless built silent or with
/// its own message hook).
pub struct Recorder {
    events: Mutex<Vec<Event>>,
    connects: Mutex<Vec<ConnectInfo>>,
    changed: Notify,
    echo: bool,
    hook: Option<Box<MessageHook>>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::echo()
    }
}

impl Recorder {
    /// Echoes every message back.
    pub fn echo() -> Self {
        Self {
            events: Mutex::default(),
            connects: Mutex::default(),
            changed: Notify::new(),
            echo: true,
            hook: None,
        }
    }

    /// Records but never sends anything.
    pub fn silent() -> Self {
        Self {
            echo: false,
            ..Self::echo()
        }
    }

    /// Runs `hook` on every message instead of echoing it.
    pub fn with_hook(hook: impl Fn(&Arc<Socket>, &Message) + Send + Sync + 'static) -> Self {
        Self {
            echo: false,
            hook: Some(Box::new(hook)),
            ..Self::echo()
        }
    }

    fn record(&self, event: Event) {
        lock(&self.events).push(event);
        self.changed.notify_waiters();
    }

    /// A copy of every event so far.
    pub fn events(&self) -> Vec<Event> {
        lock(&self.events).clone()
    }

    /// The events of one session so far.
    pub fn events_of(&self, sid: &str) -> Vec<Event> {
        lock(&self.events)
            .iter()
            .filter(|e| e.sid() == sid)
            .cloned()
            .collect()
    }

    /// Waits (bounded) until `f` returns `Some` for the events recorded so far.
    pub async fn wait_until<T>(&self, what: &str, mut f: impl FnMut(&[Event]) -> Option<T>) -> T {
        let deadline = Instant::now() + WAIT;
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(v) = f(&lock(&self.events)) {
                return v;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "timed out after {WAIT:?} waiting for {what}; events: {:?}",
                    summarize(&lock(&self.events))
                );
            }
        }
    }

    /// What `on_connect` saw for `sid` (waits for it).
    pub async fn connect_info(&self, sid: &str) -> ConnectInfo {
        self.wait_until(&format!("connect of {sid}"), |events| {
            events
                .iter()
                .any(|e| matches!(e, Event::Connect(s) if s == sid))
                .then_some(())
        })
        .await;
        lock(&self.connects)
            .iter()
            .find(|c| c.sid == sid)
            .cloned()
            .expect("connect info recorded with the event")
    }

    /// Waits for the `n`th connect overall and returns its sid.
    pub async fn wait_connects(&self, n: usize) -> Vec<String> {
        self.wait_until(&format!("{n} connects"), |events| {
            let sids: Vec<String> = events
                .iter()
                .filter_map(|e| match e {
                    Event::Connect(s) => Some(s.clone()),
                    _ => None,
                })
                .collect();
            (sids.len() >= n).then_some(sids)
        })
        .await
    }

    /// Waits for the session's close and returns its reason.
    pub async fn wait_close(&self, sid: &str) -> CloseReason {
        self.wait_until(&format!("close of {sid}"), |events| {
            events.iter().find_map(|e| match e {
                Event::Close(s, reason) if s == sid => Some(*reason),
                _ => None,
            })
        })
        .await
    }

    /// The close reason if the session has closed.
    pub fn close_reason(&self, sid: &str) -> Option<CloseReason> {
        lock(&self.events).iter().find_map(|e| match e {
            Event::Close(s, reason) if s == sid => Some(*reason),
            _ => None,
        })
    }

    /// How many times `on_close` was called for the session.
    pub fn close_count(&self, sid: &str) -> usize {
        lock(&self.events)
            .iter()
            .filter(|e| matches!(e, Event::Close(s, _) if s == sid))
            .count()
    }

    /// The messages received from the session so far.
    pub fn messages(&self, sid: &str) -> Vec<Message> {
        lock(&self.events)
            .iter()
            .filter_map(|e| match e {
                Event::Message(s, m) if s == sid => Some(m.clone()),
                _ => None,
            })
            .collect()
    }

    /// Waits until at least `n` messages arrived from the session and returns them all.
    pub async fn wait_messages(&self, sid: &str, n: usize) -> Vec<Message> {
        self.wait_until(&format!("{n} messages from {sid}"), |events| {
            let messages: Vec<Message> = events
                .iter()
                .filter_map(|e| match e {
                    Event::Message(s, m) if s == sid => Some(m.clone()),
                    _ => None,
                })
                .collect();
            (messages.len() >= n).then_some(messages)
        })
        .await
    }

    pub fn drain_count(&self, sid: &str) -> usize {
        lock(&self.events)
            .iter()
            .filter(|e| matches!(e, Event::Drain(s) if s == sid))
            .count()
    }

    pub async fn wait_drain(&self, sid: &str) {
        self.wait_until(&format!("drain of {sid}"), |events| {
            events
                .iter()
                .any(|e| matches!(e, Event::Drain(s) if s == sid))
                .then_some(())
        })
        .await
    }

    /// Every frame `on_flush` saw for the session, in order.
    pub fn flushed_frames(&self, sid: &str) -> Vec<Frame> {
        lock(&self.events)
            .iter()
            .filter_map(|e| match e {
                Event::Flush(s, frames) if s == sid => Some(frames.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    pub fn upgrade_count(&self, sid: &str) -> usize {
        lock(&self.events)
            .iter()
            .filter(|e| matches!(e, Event::Upgrade(s) if s == sid))
            .count()
    }

    pub async fn wait_upgrade(&self, sid: &str) {
        self.wait_until(&format!("upgrade of {sid}"), |events| {
            events
                .iter()
                .any(|e| matches!(e, Event::Upgrade(s) if s == sid))
                .then_some(())
        })
        .await
    }
}

fn summarize(events: &[Event]) -> Vec<String> {
    // Flushes of long bursts would drown the message: show their size only.
    events
        .iter()
        .map(|e| match e {
            Event::Flush(s, frames) => format!("Flush({s}, {} frames)", frames.len()),
            e => format!("{e:?}"),
        })
        .collect()
}

impl EngineIoHandler for Recorder {
    type Data = ();

    fn on_connect(&self, socket: Arc<Socket>) {
        let handshake = socket.handshake();
        let info = ConnectInfo {
            sid: socket.id().to_string(),
            transport: socket.transport(),
            query: handshake
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
            remote_addr: handshake.remote_addr,
            headers: handshake.headers.clone(),
            uri: handshake.uri.to_string(),
        };
        lock(&self.connects).push(info);
        self.record(Event::Connect(socket.id().to_string()));
    }

    fn on_message(&self, socket: &Arc<Socket>, message: Message) {
        self.record(Event::Message(socket.id().to_string(), message.clone()));
        if let Some(hook) = &self.hook {
            hook(socket, &message);
        } else if self.echo {
            let _ = socket.send(message);
        }
    }

    fn on_close(&self, socket: &Arc<Socket>, reason: CloseReason) {
        self.record(Event::Close(socket.id().to_string(), reason));
    }

    fn on_flush(&self, socket: &Arc<Socket>, frames: &[Frame]) {
        self.record(Event::Flush(socket.id().to_string(), frames.to_vec()));
    }

    fn on_drain(&self, socket: &Arc<Socket>) {
        self.record(Event::Drain(socket.id().to_string()));
    }

    fn on_upgrade(&self, socket: &Arc<Socket>) {
        self.record(Event::Upgrade(socket.id().to_string()));
    }
}
