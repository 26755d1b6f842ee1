//! Requests to the other servers of a namespace and their answers: the request types of Node's
//! adapter, the table of requests waiting for answers, and waiting for as many answers as
//! there are other servers.

use bytes::Bytes;
use parser::Str;
use serde_json::Value;
use socketio::adapter::AdapterError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

pub const SOCKETS: u64 = 0;
pub const ALL_ROOMS: u64 = 1;
pub const REMOTE_JOIN: u64 = 2;
pub const REMOTE_LEAVE: u64 = 3;
pub const REMOTE_DISCONNECT: u64 = 4;
pub const REMOTE_FETCH: u64 = 5;
pub const SERVER_SIDE_EMIT: u64 = 6;
pub const BROADCAST: u64 = 7;
pub const BROADCAST_CLIENT_COUNT: u64 = 8;
pub const BROADCAST_ACK: u64 = 9;

/// An answer from another server: its JSON fields, and for an acknowledgement (type 9) the
/// client's answer as an argument with its binary parts.
pub struct Answer {
    pub value: Value,
    pub args: Vec<Str>,
    pub attachments: Vec<Bytes>,
}

impl Answer {
    pub fn json(value: Value) -> Self {
        Self {
            value,
            args: Vec::new(),
            attachments: Vec::new(),
        }
    }
}

/// Requests of this server still waiting for answers, by request id.
#[derive(Default)]
pub struct Pending(Mutex<HashMap<String, mpsc::UnboundedSender<Answer>>>);

impl Pending {
    /// A new request id, and where its answers will arrive.
    pub fn open(self: &Arc<Self>) -> Answers {
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        let (tx, rx) = mpsc::unbounded_channel();
        self.table().insert(id.clone(), tx);
        Answers {
            id,
            rx,
            pending: self.clone(),
        }
    }

    /// Hands an answer to the request it is for; answers to others' requests are dropped.
    pub fn deliver(&self, answer: Answer) {
        let Some(id) = answer.value["requestId"].as_str() else {
            return;
        };
        if let Some(tx) = self.table().get(id) {
            let _ = tx.send(answer);
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::UnboundedSender<Answer>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The answers to one request; the request is forgotten when this is dropped.
pub struct Answers {
    pub id: String,
    rx: mpsc::UnboundedReceiver<Answer>,
    pending: Arc<Pending>,
}

impl Answers {
    /// Waits for `expected` answers, failing when they have not all come within `timeout`
    /// (as Node's adapter does: no partial result).
    pub async fn collect(
        mut self,
        expected: usize,
        timeout: Duration,
    ) -> Result<Vec<Value>, AdapterError> {
        let mut answers = Vec::with_capacity(expected);
        let all = async {
            while answers.len() < expected {
                match self.rx.recv().await {
                    Some(answer) => answers.push(answer.value),
                    None => break,
                }
            }
        };
        match tokio::time::timeout(timeout, all).await {
            Ok(()) if answers.len() == expected => Ok(answers),
            _ => Err(AdapterError::Timeout),
        }
    }
}

impl Answers {
    pub async fn recv(&mut self) -> Option<Answer> {
        self.rx.recv().await
    }
}

impl Drop for Answers {
    fn drop(&mut self) {
        self.pending.table().remove(&self.id);
    }
}
