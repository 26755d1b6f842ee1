//! What a server asks of the others (Node's `ClusterAdapter` requests): a broadcast with
//! acknowledgements, `fetchSockets`, `serverSideEmit` with and without answers. Shared by the
//! adapters that speak Node's `ClusterAdapter` messages, each telling through
//! [`ClusterRequests`] where requests go and how it counts the servers.

use super::incoming::{read_answer, ClusterNamespace, Response};
use super::{kind, Mp};
use crate::bus::Slot;
use crate::requests::broadcast_answers;
use crate::wire::Opts;
use futures_util::future::BoxFuture;
use parser::Str;
use serde_json::Value;
use socketio::adapter::{
    AckSink, Adapter, AdapterError, BroadcastOptions, BroadcastPacket, RemoteSocket,
    SocketDescription,
};
use std::sync::Arc;
use std::time::Duration;

/// The adapter of one namespace, as the requests need it.
pub trait ClusterRequests: ClusterNamespace {
    /// Takes a place in the publish queue; [`AdapterError::Backlog`] when it is full.
    fn reserve(&self) -> Result<Slot, AdapterError>;
    /// The channel every server of the namespace hears requests on.
    fn requests_channel(&self) -> String;
    /// How many servers serve the namespace, this one included; an error when Redis does not
    /// answer in time.
    fn count_servers(&self) -> BoxFuture<'static, Result<usize, AdapterError>>;
}

/// A new request id: 16 random hex digits, as Node's `randomId`.
pub fn request_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_owned()
}

/// Publishes a message of this server that asks for nothing back.
pub fn tell<N: ClusterRequests>(node: &N, kind: u8, data: Mp) -> Result<(), AdapterError> {
    let message = super::message(kind, Some(data), node.uid(), node.name());
    node.reserve()?.publish(node.requests_channel(), message);
    Ok(())
}

/// Sends a request and waits for an answer of every other server within `timeout`; no answer
/// when this server is alone, and [`AdapterError::Backlog`] at once when the publish queue is
/// full (its place is taken now, before the servers are counted). `data` makes the request's
/// `data` from its id.
pub fn ask<N: ClusterRequests>(
    node: &N,
    kind: u8,
    timeout: Duration,
    data: impl FnOnce(String) -> Mp + Send + 'static,
) -> BoxFuture<'static, Result<Vec<Response>, AdapterError>> {
    let Some(me) = node.me().upgrade() else {
        return Box::pin(std::future::ready(Ok(Vec::new())));
    };
    let slot = match node.reserve() {
        Ok(slot) => slot,
        Err(error) => return Box::pin(std::future::ready(Err(error))),
    };
    Box::pin(async move {
        let others = me.count_servers().await?.saturating_sub(1);
        if others == 0 {
            return Ok(Vec::new());
        }
        let answers = me.pending().open_with(request_id());
        let data = data(answers.id.clone());
        let message = super::message(kind, Some(data), me.uid(), me.name());
        slot.publish(me.requests_channel(), message);
        answers.collect(others, timeout).await
    })
}

/// A broadcast with acknowledgements: this server's sockets, then the others' (their answers
/// handed to `acks` as they come); resolves with how many clients were reached.
pub fn broadcast_with_ack<N: ClusterRequests>(
    node: &N,
    packet: Arc<BroadcastPacket>,
    opts: &BroadcastOptions,
    acks: AckSink,
) -> BoxFuture<'static, Result<usize, AdapterError>> {
    let local = node
        .local()
        .broadcast_with_ack(packet.clone(), opts, acks.clone());
    if opts.flags.local {
        return local;
    }
    let (Some(me), Some(wire_packet)) = (node.me().upgrade(), super::broadcast_packet(&packet))
    else {
        return local;
    };
    let options = Opts::broadcast(opts);
    let timeout = opts.flags.timeout.unwrap_or(node.requests_timeout());
    let slot = match node.reserve() {
        Ok(slot) => slot,
        Err(error) => return Box::pin(std::future::ready(Err(error))),
    };
    Box::pin(async move {
        let local = local.await?;
        let others = me.count_servers().await?.saturating_sub(1);
        if others == 0 {
            return Ok(local);
        }
        let answers = me.pending().open_with(request_id());
        let data = super::broadcast_data(&wire_packet, &options, Some(&answers.id));
        let message = super::message(kind::BROADCAST, Some(data), me.uid(), me.name());
        slot.publish(me.requests_channel(), message);
        let remote = broadcast_answers(answers, others, acks, timeout, read_answer).await;
        Ok(local.saturating_add(remote))
    })
}

/// The sockets of every server that `opts` selects.
pub fn fetch_sockets<N: ClusterRequests>(
    node: &N,
    opts: &BroadcastOptions,
) -> BoxFuture<'static, Result<Vec<RemoteSocket>, AdapterError>> {
    let local = node.local().fetch_sockets(opts);
    if opts.flags.local {
        return local;
    }
    let options = Opts::broadcast(opts);
    let timeout = opts.flags.timeout.unwrap_or(node.requests_timeout());
    let remote = ask(node, kind::FETCH_SOCKETS, timeout, move |request_id| {
        super::map(vec![
            ("opts", super::to_mp(&options)),
            ("requestId", Mp::from(request_id)),
        ])
    });
    let namespace = node.namespace().clone();
    Box::pin(async move {
        let mut sockets = local.await?;
        for answer in remote.await? {
            if answer.kind != kind::FETCH_SOCKETS_RESPONSE {
                continue;
            }
            let Some(described) = answer.data.sockets else {
                continue;
            };
            let described =
                SocketDescription::deserialize_list(super::json_of(&described)).unwrap_or_default();
            sockets.extend(
                described
                    .into_iter()
                    .filter_map(|d| d.into_remote(&namespace)),
            );
        }
        Ok(sockets)
    })
}

/// `serverSideEmit` without answers.
pub fn server_side_emit<N: ClusterRequests>(
    node: &N,
    event: Str,
    mut args: Vec<Value>,
) -> Result<(), AdapterError> {
    args.insert(0, Value::from(event.as_str()));
    let packet = Mp::Array(args.into_iter().map(super::mp_of).collect());
    tell(
        node,
        kind::SERVER_SIDE_EMIT,
        super::map(vec![("packet", packet)]),
    )
}

/// `serverSideEmit` with answers: one of every other server, within `timeout` (and the
/// adapter's requests timeout).
pub fn server_side_emit_with_ack<N: ClusterRequests>(
    node: &N,
    event: Str,
    mut args: Vec<Value>,
    timeout: Duration,
) -> BoxFuture<'static, Result<Vec<Value>, AdapterError>> {
    args.insert(0, Value::from(event.as_str()));
    let wait = timeout.min(node.requests_timeout());
    let answers = ask(node, kind::SERVER_SIDE_EMIT, wait, move |request_id| {
        let packet = Mp::Array(args.into_iter().map(super::mp_of).collect());
        super::map(vec![
            ("requestId", Mp::from(request_id)),
            ("packet", packet),
        ])
    });
    Box::pin(async move {
        let answers = tokio::time::timeout(timeout, answers)
            .await
            .map_err(|_| AdapterError::Timeout)??;
        Ok(answers
            .into_iter()
            .filter(|answer| answer.kind == kind::SERVER_SIDE_EMIT_RESPONSE)
            .map(|answer| super::json_of(&answer.data.packet))
            .collect())
    })
}
