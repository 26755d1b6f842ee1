//! Requests that wait for an answer of each server the cluster counts (Node's
//! `ClusterAdapterWithHeartbeat.customRequests`): `fetch_sockets` and
//! `server_side_emit_with_ack`. A request is done once every server it waits for has answered
//! or has been found gone (its heartbeats stopped, or it closed), so a server killed mid-request
//! costs the request its heartbeat timeout, not a failure.

use crate::wire::ResponseData;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

struct Waiting {
    missing: HashSet<String>,
    answers: Vec<ResponseData>,
    done: Option<oneshot::Sender<Vec<ResponseData>>>,
}

impl Waiting {
    /// Hands the answers over once nobody is missing; true when it did.
    fn finish_if_complete(&mut self) -> bool {
        if !self.missing.is_empty() {
            return false;
        }
        if let Some(done) = self.done.take() {
            let _ = done.send(std::mem::take(&mut self.answers));
        }
        true
    }
}

/// The requests of one namespace's adapter still waiting, by request id.
#[derive(Default)]
pub(crate) struct Requests(Mutex<HashMap<String, Waiting>>);

/// Where one request's answers arrive; the request is forgotten when this is dropped.
pub(crate) struct Open {
    pub(crate) answers: oneshot::Receiver<Vec<ResponseData>>,
    id: String,
    requests: Arc<Requests>,
}

impl Drop for Open {
    fn drop(&mut self) {
        engineio::sync::lock(&self.requests.0).remove(&self.id);
    }
}

impl Requests {
    /// Waits for an answer from each of `servers` to request `id`.
    pub(crate) fn open(self: &Arc<Self>, id: String, servers: HashSet<String>) -> Open {
        let (done, answers) = oneshot::channel();
        let waiting = Waiting {
            missing: servers,
            answers: Vec::new(),
            done: Some(done),
        };
        engineio::sync::lock(&self.0).insert(id.clone(), waiting);
        Open {
            answers,
            id,
            requests: self.clone(),
        }
    }

    /// The answer of server `from`; one server answers once, and only one the request waits
    /// for counts (so that the answers stay bounded by the servers counted).
    pub(crate) fn answer(&self, from: &str, data: ResponseData) {
        let mut table = engineio::sync::lock(&self.0);
        let Some(waiting) = table.get_mut(&data.request_id) else {
            return;
        };
        if !waiting.missing.remove(from) {
            return;
        }
        let id = data.request_id.clone();
        waiting.answers.push(data);
        if waiting.finish_if_complete() {
            table.remove(&id);
        }
    }

    /// Server `uid` is gone: no request waits for it any more.
    pub(crate) fn server_gone(&self, uid: &str) {
        engineio::sync::lock(&self.0).retain(|_, waiting| {
            waiting.missing.remove(uid);
            !waiting.finish_if_complete()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Mp;

    fn answer(id: &str) -> ResponseData {
        ResponseData {
            request_id: id.into(),
            sockets: None,
            packet: Mp::from(1),
            client_count: 0,
        }
    }

    #[tokio::test]
    async fn a_request_completes_with_the_answers_and_without_the_dead() {
        let requests = Arc::new(Requests::default());
        let mut open = requests.open("r".into(), ["a".into(), "b".into()].into());
        requests.answer("a", answer("r"));
        requests.answer("a", answer("r")); // twice: counted once
        requests.answer("c", answer("r")); // not waited for
        requests.server_gone("b");
        let answers = (&mut open.answers).await.expect("done");
        drop(open);
        assert_eq!(answers.len(), 1);
        assert!(engineio::sync::lock(&requests.0).is_empty());
    }
}
