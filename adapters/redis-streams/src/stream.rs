//! The stream side of one server: the writer, which appends entries (`XADD ... MAXLEN ~`) in
//! the order the server made them and tells each one's sender its entry id; and the readers,
//! one per stream, each an `XREAD BLOCK` loop on a connection of its own that hands every
//! entry to the namespace it names.

use crate::wire::{self, Message};
use redis::aio::{ConnectionManager, MultiplexedConnection};
use redis::Value;
use socketio_redis::bus::Slot;
use std::time::Duration;
use tokio::sync::mpsc;

/// What to do once an entry is in the stream: called with its id, or `None` when Redis did
/// not take it.
pub(crate) type Then = Box<dyn FnOnce(Option<String>) + Send>;

/// An entry on its way to the stream.
pub(crate) struct Append {
    pub stream: String,
    pub fields: Vec<(&'static str, Vec<u8>)>,
    pub then: Option<Then>,
    /// Its place in the server's bounded queue, given back once Redis has answered.
    pub slot: Slot,
}

/// At most this many entries go to Redis in one pipeline.
const BATCH: usize = 64;

/// Appends what is queued, in order, each batch in one pipeline; then calls each entry's
/// `then`, in the same order, with its id.
pub(crate) async fn write(
    mut commands: ConnectionManager,
    mut queue: mpsc::UnboundedReceiver<Append>,
    max_len: usize,
    timeout: Duration,
) {
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(first) = queue.recv().await {
        batch.push(first);
        while batch.len() < BATCH {
            let Ok(next) = queue.try_recv() else { break };
            batch.push(next);
        }
        let mut pipeline = redis::pipe();
        pipeline.ignore_errors();
        for append in &batch {
            let command = pipeline
                .cmd("XADD")
                .arg(&append.stream)
                .arg("MAXLEN")
                .arg("~")
                .arg(max_len)
                .arg("*");
            for (field, value) in &append.fields {
                command.arg(*field).arg(value.as_slice());
            }
        }
        let answered = tokio::time::timeout(
            timeout,
            pipeline.query_async::<Vec<redis::RedisResult<Value>>>(&mut commands),
        )
        .await;
        let ids: Vec<Option<String>> = match answered {
            Ok(Ok(results)) => results
                .into_iter()
                .map(|result| result.ok().and_then(|id| text(&id)))
                .collect(),
            Ok(Err(error)) => {
                tracing::warn!(%error, entries = batch.len(), "redis XADD failed");
                Vec::new()
            }
            Err(_) => {
                tracing::warn!(entries = batch.len(), "redis XADD timed out");
                Vec::new()
            }
        };
        let mut ids = ids.into_iter();
        for append in batch.drain(..) {
            let id = ids.next().flatten();
            if let Some(then) = append.then {
                then(id);
            }
            drop(append.slot);
        }
    }
}

/// Where the readers hand what they read.
pub(crate) trait Router: Send + Sync {
    /// An entry of the stream, with its id.
    fn route(&self, message: Message, id: &str);
    /// Whether the server has stopped listening (every namespace closed).
    fn closed(&self) -> bool;
}

/// How long a reader waits before connecting again, at first and at most.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// The settings of a reader.
pub(crate) struct ReadConfig {
    pub client: redis::Client,
    pub stream: String,
    pub count: usize,
    pub block: Duration,
    pub timeout: Duration,
}

/// Reads the stream from `from` on (the id of the last entry there was when the server
/// started), for as long as `router` is alive and listening; reconnects with backoff when
/// Redis goes away, and reads on from the last entry it had read.
pub(crate) async fn read(
    config: ReadConfig,
    first: MultiplexedConnection,
    mut from: String,
    router: std::sync::Weak<dyn Router>,
) {
    let mut connection = Some(first);
    let mut backoff = BACKOFF_MIN;
    loop {
        if router.upgrade().is_none_or(|router| router.closed()) {
            return;
        }
        let mut conn = match connection.take() {
            Some(conn) => conn,
            None => match connect(&config).await {
                Ok(conn) => {
                    tracing::warn!(stream = %config.stream, after = %from,
                        "stream reader connected again; reading on after the last entry read \
                         (entries trimmed away meanwhile by MAXLEN are lost to this server)");
                    backoff = BACKOFF_MIN;
                    conn
                }
                Err(error) => {
                    tracing::debug!(%error, "stream reader: not connected yet");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                    continue;
                }
            },
        };
        loop {
            let mut xread = redis::cmd("XREAD");
            xread
                .arg("BLOCK")
                .arg(u64::try_from(config.block.as_millis()).unwrap_or(u64::MAX))
                .arg("COUNT")
                .arg(config.count)
                .arg("STREAMS")
                .arg(&config.stream)
                .arg(&from);
            let read = tokio::time::timeout(
                config.block + config.timeout,
                xread.query_async::<Value>(&mut conn),
            )
            .await;
            let reply = match read {
                Ok(Ok(reply)) => reply,
                Ok(Err(error)) => {
                    tracing::warn!(stream = %config.stream, %error, after = %from,
                        "stream reader lost Redis; reconnecting");
                    break;
                }
                Err(_) => {
                    tracing::warn!(stream = %config.stream, after = %from,
                        "stream reader got no answer in time; reconnecting");
                    break;
                }
            };
            let Some(router) = router.upgrade() else {
                return;
            };
            for (id, fields) in entries_of_xread(&reply) {
                match wire::message_from_entry(&fields) {
                    Ok(message) => router.route(message, &id),
                    Err(error) => tracing::debug!(%id, %error, "stream entry ignored"),
                }
                from = id;
            }
            if router.closed() {
                return;
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// A connection of its own for a reader: its answers may take the whole blocking time.
pub(crate) async fn connect(config: &ReadConfig) -> redis::RedisResult<MultiplexedConnection> {
    let settings = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(config.timeout))
        .set_response_timeout(Some(config.block + config.timeout));
    config
        .client
        .get_multiplexed_async_connection_with_config(&settings)
        .await
}

/// The text of a bulk or simple string.
pub(crate) fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        _ => None,
    }
}

fn bytes(value: &Value) -> Option<Vec<u8>> {
    match value {
        Value::BulkString(bytes) => Some(bytes.clone()),
        Value::SimpleString(s) => Some(s.clone().into_bytes()),
        Value::Int(n) => Some(n.to_string().into_bytes()),
        _ => None,
    }
}

/// An entry: its id and its field/value pairs.
pub(crate) type Entry = (String, Vec<(Vec<u8>, Vec<u8>)>);

/// The `max-deleted-entry-id` of an `XINFO STREAM` reply (Redis 7): the newest entry id ever
/// trimmed or deleted from the stream; `None` when the reply has no such field.
pub(crate) fn max_deleted_id(reply: &Value) -> Option<String> {
    let pairs: Vec<(&Value, &Value)> = match reply {
        Value::Array(flat) => flat
            .chunks_exact(2)
            .filter_map(|pair| match pair {
                [k, v] => Some((k, v)),
                _ => None,
            })
            .collect(),
        Value::Map(pairs) => pairs.iter().map(|(k, v)| (k, v)).collect(),
        _ => return None,
    };
    pairs
        .into_iter()
        .find(|(key, _)| text(key).as_deref() == Some("max-deleted-entry-id"))
        .and_then(|(_, value)| text(value))
}

/// The entries of an `XRANGE` reply (`[[id, [field, value, ...]], ...]`); what is not of that
/// shape is left out.
pub(crate) fn entries_of_range(reply: &Value) -> Vec<Entry> {
    let Value::Array(entries) = reply else {
        return Vec::new();
    };
    entries.iter().filter_map(entry).collect()
}

fn entry(value: &Value) -> Option<Entry> {
    let Value::Array(parts) = value else {
        return None;
    };
    let [id, fields] = parts.as_slice() else {
        return None;
    };
    let id = text(id)?;
    let fields = match fields {
        Value::Array(flat) => flat
            .chunks_exact(2)
            .filter_map(|pair| match pair {
                [k, v] => Some((bytes(k)?, bytes(v)?)),
                _ => None,
            })
            .collect(),
        Value::Map(pairs) => pairs
            .iter()
            .filter_map(|(k, v)| Some((bytes(k)?, bytes(v)?)))
            .collect(),
        _ => Vec::new(),
    };
    Some((id, fields))
}

/// The entries of an `XREAD` reply for one stream: `[[stream, entries]]` (a map in RESP3),
/// nil when nothing came.
fn entries_of_xread(reply: &Value) -> Vec<Entry> {
    let streams: Vec<&Value> = match reply {
        Value::Array(streams) => streams
            .iter()
            .filter_map(|stream| match stream {
                Value::Array(parts) => parts.get(1),
                _ => None,
            })
            .collect(),
        Value::Map(streams) => streams.iter().map(|(_, entries)| entries).collect(),
        _ => Vec::new(),
    };
    streams.into_iter().flat_map(entries_of_range).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn odd_replies_give_no_entries_and_never_panic() {
        let replies = [
            Value::Nil,
            Value::Int(3),
            Value::Array(vec![Value::Nil]),
            Value::Array(vec![Value::Array(vec![bulk("s")])]),
            Value::Array(vec![Value::Array(vec![bulk("s"), Value::Int(1)])]),
            Value::Array(vec![Value::Array(vec![
                bulk("s"),
                Value::Array(vec![Value::Array(vec![bulk("1-0")])]),
            ])]),
        ];
        for reply in &replies {
            assert!(entries_of_xread(reply).is_empty(), "{reply:?}");
        }
        let odd_fields = Value::Array(vec![Value::Array(vec![
            bulk("s"),
            Value::Array(vec![Value::Array(vec![
                bulk("1-0"),
                Value::Array(vec![bulk("nsp"), bulk("/"), bulk("dangling")]),
            ])]),
        ])]);
        let entries = entries_of_xread(&odd_fields);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].1, vec![(b"nsp".to_vec(), b"/".to_vec())]);
    }
}
