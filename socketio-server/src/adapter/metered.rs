//! An adapter counted for the metrics: each request to the cluster, each that failed (timed
//! out, refused for backlog, or broken), and the cluster's size as last asked. It wraps the
//! factory's adapter when the server keeps metrics, so that every cluster engine is counted
//! alike and none of them needs to know of the metrics.

use super::{
    AckSink, Adapter, AdapterError, BoxFuture, BroadcastOptions, BroadcastPacket, RemoteSocket,
    RestoredSession, Room, Session, Sid,
};
use crate::metrics::AdapterCounters;
use parser::Str;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub(crate) struct Metered {
    inner: Arc<dyn Adapter>,
    counters: AdapterCounters,
}

impl Metered {
    pub(crate) fn wrap(inner: Arc<dyn Adapter>, counters: AdapterCounters) -> Arc<dyn Adapter> {
        Arc::new(Self { inner, counters })
    }

    /// Counts a request that answers at once.
    fn now<T>(
        &self,
        operation: &'static str,
        result: Result<T, AdapterError>,
    ) -> Result<T, AdapterError> {
        self.counters.request(operation);
        if let Err(error) = &result {
            self.counters.failure(operation, error);
        }
        result
    }

    /// Counts a request whose answer comes later.
    fn later<T: Send + 'static>(
        &self,
        operation: &'static str,
        answer: impl Future<Output = Result<T, AdapterError>> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, AdapterError>> {
        self.counters.request(operation);
        let counters = self.counters.clone();
        Box::pin(async move {
            let result = answer.await;
            if let Err(error) = &result {
                counters.failure(operation, error);
            }
            result
        })
    }
}

impl Adapter for Metered {
    fn add_all(&self, id: &Sid, rooms: &[Room]) {
        self.inner.add_all(id, rooms);
    }

    fn del(&self, id: &Sid, room: &Room) {
        self.inner.del(id, room);
    }

    fn del_all(&self, id: &Sid) {
        self.inner.del_all(id);
    }

    fn socket_rooms(&self, id: &Sid) -> Vec<Room> {
        self.inner.socket_rooms(id)
    }

    fn local_sockets(&self, opts: &BroadcastOptions) -> Vec<Sid> {
        self.inner.local_sockets(opts)
    }

    /// Broadcasts are counted by the namespace (`socketio_broadcasts`); here only those that
    /// did not reach the cluster.
    fn broadcast(
        &self,
        packet: Arc<BroadcastPacket>,
        opts: &BroadcastOptions,
    ) -> Result<(), AdapterError> {
        let result = self.inner.broadcast(packet, opts);
        if let Err(error) = &result {
            self.counters.failure("broadcast", error);
        }
        result
    }

    fn broadcast_with_ack(
        &self,
        packet: Arc<BroadcastPacket>,
        opts: &BroadcastOptions,
        acks: AckSink,
    ) -> BoxFuture<'static, Result<usize, AdapterError>> {
        let answer = self.inner.broadcast_with_ack(packet, opts, acks);
        self.later("broadcast_with_ack", answer)
    }

    fn fetch_sockets(
        &self,
        opts: &BroadcastOptions,
    ) -> BoxFuture<'static, Result<Vec<RemoteSocket>, AdapterError>> {
        let answer = self.inner.fetch_sockets(opts);
        self.later("fetch_sockets", answer)
    }

    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) -> Result<(), AdapterError> {
        self.now("sockets_join", self.inner.add_sockets(opts, rooms))
    }

    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) -> Result<(), AdapterError> {
        self.now("sockets_leave", self.inner.del_sockets(opts, rooms))
    }

    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) -> Result<(), AdapterError> {
        self.now(
            "disconnect_sockets",
            self.inner.disconnect_sockets(opts, close),
        )
    }

    fn persist_session(&self, session: Session) {
        self.inner.persist_session(session);
    }

    fn restore_session(
        &self,
        pid: &str,
        offset: Option<&str>,
    ) -> BoxFuture<'static, Result<Option<RestoredSession>, AdapterError>> {
        let answer = self.inner.restore_session(pid, offset);
        self.later("restore_session", answer)
    }

    fn packets_after(
        &self,
        offset: &str,
        rooms: &[Room],
    ) -> BoxFuture<'static, Result<Option<Vec<Arc<BroadcastPacket>>>, AdapterError>> {
        self.inner.packets_after(offset, rooms)
    }

    fn last_offset(&self) -> Option<String> {
        self.inner.last_offset()
    }

    fn server_count(&self) -> BoxFuture<'static, usize> {
        self.counters.request("server_count");
        let (answer, counters) = (self.inner.server_count(), self.counters.clone());
        Box::pin(async move {
            let count = answer.await;
            counters.servers(count);
            count
        })
    }

    fn server_side_emit(
        &self,
        event: Str,
        args: Vec<serde_json::Value>,
    ) -> Result<(), AdapterError> {
        self.now("server_side_emit", self.inner.server_side_emit(event, args))
    }

    fn close(&self) {
        self.inner.close();
    }

    fn server_side_emit_with_ack(
        &self,
        event: Str,
        args: Vec<serde_json::Value>,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<serde_json::Value>, AdapterError>> {
        let answer = self.inner.server_side_emit_with_ack(event, args, timeout);
        self.later("server_side_emit_with_ack", answer)
    }
}
