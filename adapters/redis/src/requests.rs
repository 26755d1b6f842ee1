//! Requests to the other servers of a namespace and their answers: the table of requests
//! waiting for answers, and waiting for as many answers as there are other servers. Generic
//! over the answer type, so that every Redis adapter of this workspace uses the same table
//! (`socketio-redis-streams` with Node's `ClusterAdapter` answers).

use socketio::adapter::{AckData, AckSink, AdapterError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// An answer to a request, which names the request it answers.
pub trait Answer: Send + 'static {
    /// The id of the request this answers.
    fn request_id(&self) -> &str;
}

impl Answer for crate::messages::Response {
    fn request_id(&self) -> &str {
        crate::messages::Response::request_id(self)
    }
}

/// Requests of this server still waiting for answers, by request id.
pub struct Pending<R>(Mutex<HashMap<String, mpsc::UnboundedSender<R>>>);

impl<R> Default for Pending<R> {
    fn default() -> Self {
        Self(Mutex::default())
    }
}

impl<R> std::fmt::Debug for Pending<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("requests", &self.table().len())
            .finish()
    }
}

impl<R: Answer> Pending<R> {
    /// A new request id (12 random hex digits), and where its answers will arrive.
    pub fn open(self: &Arc<Self>) -> Answers<R> {
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        self.open_with(id)
    }

    /// A request of id `id` (which must be unique among the open ones), and where its answers
    /// will arrive.
    pub fn open_with(self: &Arc<Self>, id: String) -> Answers<R> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.table().insert(id.clone(), tx);
        Answers {
            id,
            rx,
            pending: self.clone(),
        }
    }

    /// Hands an answer to the request it is for; answers to others' requests are dropped.
    pub fn deliver(&self, answer: R) {
        if let Some(tx) = self.table().get(answer.request_id()) {
            let _ = tx.send(answer);
        }
    }
}

impl<R> Pending<R> {
    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::UnboundedSender<R>>> {
        engineio::sync::lock(&self.0)
    }
}

/// The answers to one request; the request is forgotten when this is dropped.
pub struct Answers<R> {
    /// The request's id, which its answers carry.
    pub id: String,
    rx: mpsc::UnboundedReceiver<R>,
    pending: Arc<Pending<R>>,
}

impl<R> std::fmt::Debug for Answers<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answers").field("id", &self.id).finish()
    }
}

impl<R> Answers<R> {
    /// Waits for `expected` answers, failing when they have not all come within `timeout`
    /// (as Node's adapters do: no partial result).
    pub async fn collect(
        mut self,
        expected: usize,
        timeout: Duration,
    ) -> Result<Vec<R>, AdapterError> {
        let mut answers = Vec::with_capacity(expected.min(1024));
        let all = async {
            while answers.len() < expected {
                match self.rx.recv().await {
                    Some(answer) => answers.push(answer),
                    None => break,
                }
            }
        };
        match tokio::time::timeout(timeout, all).await {
            Ok(()) if answers.len() == expected => Ok(answers),
            _ => Err(AdapterError::Timeout),
        }
    }

    /// The next answer, as it comes.
    pub async fn recv(&mut self) -> Option<R> {
        self.rx.recv().await
    }
}

impl<R> Drop for Answers<R> {
    fn drop(&mut self) {
        self.pending.table().remove(&self.id);
    }
}

/// What an answer to a broadcast with acknowledgements says, whatever the adapter's wire.
#[derive(Debug)]
pub enum BroadcastAnswer {
    /// How many of its clients another server reached.
    ClientCount(u64),
    /// One client's acknowledgement.
    Ack(AckData),
    /// Anything else, ignored.
    Other,
}

/// The other servers' side of a broadcast with acknowledgements: a task of its own hands their
/// answers to the caller's sink until it stops listening or `timeout` passes, and this resolves
/// with the total of their client counts once all `others` have told it. If they do not all
/// tell it, it never resolves: the caller's deadline ends the wait, with the answers that came
/// (as Node's timeout does). `read` says what each answer is.
pub async fn broadcast_answers<R: Send + 'static>(
    answers: Answers<R>,
    others: usize,
    acks: AckSink,
    timeout: Duration,
    read: impl Fn(R) -> BroadcastAnswer + Send + 'static,
) -> usize {
    let (count_tx, count_rx) = oneshot::channel();
    tokio::spawn(forward_broadcast_answers(
        answers, others, acks, count_tx, timeout, read,
    ));
    match count_rx.await {
        Ok(count) => count,
        Err(_) => std::future::pending().await,
    }
}

/// Hands the answers to the sink and the total of the client counts to `count`: the task of
/// [`broadcast_answers`].
async fn forward_broadcast_answers<R>(
    mut answers: Answers<R>,
    others: usize,
    acks: AckSink,
    count: oneshot::Sender<usize>,
    timeout: Duration,
    read: impl Fn(R) -> BroadcastAnswer,
) {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut count = Some(count);
    let (mut servers, mut clients) = (0, 0usize);
    loop {
        let answer = tokio::select! {
            _ = acks.closed() => return,
            _ = tokio::time::sleep_until(deadline) => return,
            answer = answers.recv() => answer,
        };
        let Some(answer) = answer else { return };
        match read(answer) {
            BroadcastAnswer::ClientCount(n) => {
                servers += 1;
                clients = clients.saturating_add(usize::try_from(n).unwrap_or(usize::MAX));
                if servers == others {
                    if let Some(count) = count.take() {
                        let _ = count.send(clients);
                    }
                }
            }
            BroadcastAnswer::Ack(data) => {
                let _ = acks.send(data);
            }
            BroadcastAnswer::Other => {}
        }
    }
}
