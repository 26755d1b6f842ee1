//! Requests to the other servers of a namespace and their answers: the table of requests
//! waiting for answers, and waiting for as many answers as there are other servers.

use crate::messages::Response;
use socketio::adapter::AdapterError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// Requests of this server still waiting for answers, by request id.
#[derive(Default)]
pub(crate) struct Pending(Mutex<HashMap<String, mpsc::UnboundedSender<Response>>>);

impl Pending {
    /// A new request id, and where its answers will arrive.
    pub(crate) fn open(self: &Arc<Self>) -> Answers {
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
    pub(crate) fn deliver(&self, answer: Response) {
        if let Some(tx) = self.table().get(answer.request_id()) {
            let _ = tx.send(answer);
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::UnboundedSender<Response>>> {
        engineio::sync::lock(&self.0)
    }
}

/// The answers to one request; the request is forgotten when this is dropped.
pub(crate) struct Answers {
    pub id: String,
    rx: mpsc::UnboundedReceiver<Response>,
    pending: Arc<Pending>,
}

impl Answers {
    /// Waits for `expected` answers, failing when they have not all come within `timeout`
    /// (as Node's adapter does: no partial result).
    pub(crate) async fn collect(
        mut self,
        expected: usize,
        timeout: Duration,
    ) -> Result<Vec<Response>, AdapterError> {
        let mut answers = Vec::with_capacity(expected);
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

    pub(crate) async fn recv(&mut self) -> Option<Response> {
        self.rx.recv().await
    }
}

impl Drop for Answers {
    fn drop(&mut self) {
        self.pending.table().remove(&self.id);
    }
}
