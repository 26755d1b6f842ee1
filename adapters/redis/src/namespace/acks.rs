//! Broadcasts with acknowledgements across the cluster (Node's request types 7, 8 and 9). The
//! server that broadcasts learns from each other server how many of its clients were reached,
//! and receives their answers; a server that receives such a broadcast delivers it to its
//! sockets under an ack id of its own and forwards what they answer.

use super::*;
use crate::messages::{AckAnswer, BroadcastRequest, ClientCountAnswer};
use crate::msgpack::{self, Mp};
use crate::requests::{broadcast_answers, BroadcastAnswer};
use parser::socketio::PacketData;
use socketio::adapter::AckData;
use tokio::sync::mpsc;

impl RedisNamespace {
    pub(super) fn cluster_broadcast_with_ack(
        &self,
        packet: Arc<BroadcastPacket>,
        opts: &BroadcastOptions,
        acks: AckSink,
    ) -> BoxFuture<'static, Result<usize, AdapterError>> {
        let local = self
            .local
            .broadcast_with_ack(packet.clone(), opts, acks.clone());
        if opts.flags.local {
            return local;
        }
        let (Some(me), Some(packet)) = (self.me.upgrade(), Packet::of(&self.name, &packet)) else {
            return local;
        };
        // The local sockets have the packet; with the queue full, the others will not, and
        // the caller learns it now rather than at its timeout.
        let slot = match self.bus.reserve() {
            Ok(slot) => slot,
            Err(error) => return Box::pin(std::future::ready(Err(error))),
        };
        let options = Opts::broadcast(opts);
        let timeout = opts.flags.timeout.unwrap_or(self.config.requests_timeout);
        Box::pin(async move {
            let local = local.await?;
            // Redis away or slow: the other servers cannot be asked, which is the caller's
            // error, not a timeout of theirs.
            let others = me.count_servers().await?.saturating_sub(1);
            if others == 0 {
                return Ok(local);
            }
            let answers = me.pending.open();
            let request = Request::Broadcast(BroadcastRequest {
                uid: Some(me.uid.to_string()),
                request_id: answers.id.clone(),
                kind: Type,
                packet,
                opts: options,
            });
            slot.publish(me.request_channel.clone(), request.encode());
            let remote = broadcast_answers(answers, others, acks, timeout, read_answer).await;
            Ok(local.saturating_add(remote))
        })
    }

    /// Another server's broadcast with acknowledgements, delivered to this server's sockets.
    pub(super) fn on_broadcast_request(&self, request: BroadcastRequest) {
        // The request channel is the namespace's own: Node does not look at the packet's.
        let Some(mut packet) = request.packet.into_broadcast(&self.name) else {
            return;
        };
        let namespace = self.namespace.clone();
        let ack_id = namespace.next_ack_id();
        if let PacketData::Event(event) = &mut packet.packet.data {
            event.id = Some(ack_id);
        }
        // As Node's adapter, the flags stay with the server that broadcast.
        let mut opts = request.opts.local();
        let timeout = opts.flags.timeout.unwrap_or(self.config.requests_timeout);
        opts.flags = BroadcastFlags {
            local: true,
            ..BroadcastFlags::default()
        };
        let (sink, answers) = mpsc::unbounded_channel();
        let count = self.local.broadcast_with_ack(Arc::new(packet), &opts, sink);
        let reply = Reply {
            bus: self.bus.clone(),
            channel: self.response_channel.clone(),
            request_id: request.request_id,
        };
        tokio::spawn(async move {
            // Local delivery cannot fail.
            let count = count.await.unwrap_or(0);
            reply.client_count(count);
            let deadline = tokio::time::Instant::now() + timeout;
            let mut answers = answers;
            for _ in 0..count {
                match tokio::time::timeout_at(deadline, answers.recv()).await {
                    Ok(Some(answer)) => reply.ack(&answer),
                    _ => break,
                }
            }
            namespace.forget_ack(ack_id);
        });
    }
}

/// Where a server sends what its sockets did with another server's broadcast.
struct Reply {
    bus: Arc<Bus>,
    channel: String,
    request_id: String,
}

impl Reply {
    fn client_count(&self, count: usize) {
        let answer = Response::ClientCount(ClientCountAnswer {
            kind: Type,
            request_id: self.request_id.clone(),
            client_count: count as u64,
        });
        publish_answer(&self.bus, &self.channel, &answer);
    }

    /// One client's answer; as Node's adapter, only its first argument travels.
    fn ack(&self, answer: &AckData) {
        let first = msgpack::args_to_msgpack(
            &answer.args[..answer.args.len().min(1)],
            &answer.attachments,
        )
        .ok()
        .and_then(|args| args.into_iter().next())
        .unwrap_or(Mp::Nil);
        let answer = Response::Ack(AckAnswer {
            kind: Type,
            request_id: self.request_id.clone(),
            packet: first,
        });
        publish_answer(&self.bus, &self.channel, &answer);
    }
}

/// What another server's answer to a broadcast with acknowledgements says.
fn read_answer(answer: Response) -> BroadcastAnswer {
    match answer {
        Response::ClientCount(answer) => BroadcastAnswer::ClientCount(answer.client_count),
        Response::Ack(answer) => {
            let (args, attachments) =
                msgpack::msgpack_to_args(std::slice::from_ref(&answer.packet));
            BroadcastAnswer::Ack(AckData { args, attachments })
        }
        _ => BroadcastAnswer::Other,
    }
}
