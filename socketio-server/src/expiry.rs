//! Sessions that end without their client coming back: what connection state recovery kept for
//! a socket, once `max_disconnection_duration` has passed and no server restored it. Node has no
//! event for this (its issue #5250 asks for one): an app that shows presence or holds a seat for
//! a user cannot tell "away for a moment" from "gone" without it.

use crate::adapter::{BroadcastOptions, Room, Session, Sid};
use crate::namespace::NamespaceRef;
use engineio::sync::{lock, read, write};
use futures_util::future::BoxFuture;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// A socket's session that expired unrecovered: its client did not come back within
/// `max_disconnection_duration`, to this server or, in a cluster, to another one. Given to the
/// handlers of [`Namespace::on_session_expired`](crate::Namespace::on_session_expired).
///
/// ```
/// use socketio::{ExpiredSession, SocketIo};
///
/// let io = SocketIo::new();
/// io.on_session_expired(|session: ExpiredSession| async move {
///     // The user did not come back: now they have left.
///     let user: Option<String> = session.data();
///     println!("{} ({user:?}) is gone, it was in {:?}", session.id, session.rooms);
/// });
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ExpiredSession {
    /// The id the socket had, and would have had back.
    pub id: Sid,
    /// The rooms it was in when it left, its own id's room included.
    pub rooms: Vec<Room>,
    /// Its data (`socket.data`) when it left, as JSON.
    pub data_json: serde_json::Value,
}

impl ExpiredSession {
    /// Its data, deserialized; `None` when it was never set or is not a `T`.
    #[must_use]
    pub fn data<T: DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_value(self.data_json.clone()).ok()
    }
}

type Handler = Arc<dyn Fn(ExpiredSession) -> BoxFuture<'static, ()> + Send + Sync>;

/// One namespace's watch over the sessions its sockets left behind.
#[derive(Default)]
pub(crate) struct ExpiryWatch {
    handlers: RwLock<Vec<Handler>>,
    /// The sessions persisted by this server and not restored here yet, by private id: the
    /// number tells a session from a later one of the same id (recovered, then left again).
    away: Mutex<HashMap<Sid, u64>>,
    next: AtomicU64,
}

impl ExpiryWatch {
    pub(crate) fn on_expired<F, Fut>(&self, handler: F)
    where
        F: Fn(ExpiredSession) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        write(&self.handlers).push(Arc::new(move |session| Box::pin(handler(session))));
    }

    /// A session was just persisted: unless it is restored in time, the handlers get it once
    /// the duration has passed. Nothing is watched when no handler is registered.
    pub(crate) fn watch(&self, namespace: NamespaceRef, session: &Session, duration: Duration) {
        if read(&self.handlers).is_empty() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        lock(&self.away).insert(session.pid.clone(), number);
        let expired = ExpiredSession {
            id: session.sid.clone(),
            rooms: session.rooms.clone(),
            data_json: session.data.clone(),
        };
        let pid = session.pid.clone();
        runtime.spawn(async move {
            // Past the store's own deadline, which was taken before this timer started: a
            // restore that comes now finds the session gone, so the answer cannot change.
            tokio::time::sleep(duration + Duration::from_millis(1)).await;
            let Some(namespace) = namespace.upgrade() else {
                return;
            };
            namespace
                .expiry()
                .expire(&namespace, pid, number, expired)
                .await;
        });
    }

    /// A session was restored on this server: it did not expire.
    pub(crate) fn restored(&self, pid: &str) {
        lock(&self.away).remove(pid);
    }

    async fn expire(
        &self,
        namespace: &crate::Namespace,
        pid: Sid,
        number: u64,
        session: ExpiredSession,
    ) {
        {
            let mut away = lock(&self.away);
            if away.get(&pid) != Some(&number) {
                return;
            }
            away.remove(&pid);
        }
        // Restored by another server of the cluster: the socket of that id is connected
        // there. (If it has left again since, that server watches its session now.)
        let opts = BroadcastOptions {
            rooms: [Room::from(session.id.as_str())].into(),
            ..BroadcastOptions::default()
        };
        if let Ok(sockets) = namespace.adapter().fetch_sockets(&opts).await {
            if !sockets.is_empty() {
                return;
            }
        }
        let handlers = read(&self.handlers).clone();
        for handler in handlers {
            handler(session.clone()).await;
        }
    }
}

impl std::fmt::Debug for ExpiryWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExpiryWatch")
            .field("handlers", &read(&self.handlers).len())
            .field("away", &lock(&self.away).len())
            .finish()
    }
}
