//! The PostgreSQL side shared by the adapters of every namespace of one server (Node's
//! `PubSubClient`): one connection that LISTENs (reconnected and re-LISTENed when PostgreSQL
//! goes away), one for commands (NOTIFY, the attachments table, its cleanup), a bounded queue
//! of messages to publish in order, and the routing of what arrives to the namespace it is for.

use crate::wire::{Message, Notification, Outgoing};
use crate::PostgresAdapterConfig;
use futures_util::StreamExt;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, Client, NoTls, Statement};

/// Where what arrives goes: the adapters of this server's namespaces.
pub(crate) trait Router: Send + Sync {
    /// A message of another server (or our own, which the namespace skips).
    fn route(&self, message: Message);
    /// Whether `uid` is one of this server's namespaces (its attachments need no reading).
    fn is_own(&self, uid: &str) -> bool;
    /// `channel` is listened to now (again, after a reconnection): its namespace greets the
    /// cluster so that the others answer with heartbeats.
    fn listening(&self, channel: &str);
}

/// A message on its way to PostgreSQL.
pub(crate) struct Publication {
    pub(crate) channel: String,
    /// Its `MessageType`, for the log of what was lost.
    pub(crate) kind: u8,
    /// The adapter that sends it, for the header of an attachment.
    pub(crate) uid: String,
    pub(crate) message: Outgoing,
}

/// How long to wait before connecting again after PostgreSQL went away (Node: 1 to 3 s).
const RECONNECT_DELAY: Duration = Duration::from_millis(500);
/// At most this many messages go to PostgreSQL in one pipeline.
const BATCH: usize = 64;
/// How many notifications may wait between the socket and their handling; past it, reading
/// the socket waits (PostgreSQL keeps the rest in its own queue).
const NOTIFICATIONS: usize = 1024;

/// A connection for commands, with its prepared statements.
pub(crate) struct Conn {
    client: Client,
    notify: Statement,
    attach: Statement,
    select: Statement,
}

/// The command connection, made again on demand once it is lost.
pub(crate) struct Commands {
    config: Arc<PostgresAdapterConfig>,
    current: tokio::sync::Mutex<Option<Arc<Conn>>>,
}

impl Commands {
    pub(crate) fn new(config: Arc<PostgresAdapterConfig>) -> Self {
        Self {
            config,
            current: tokio::sync::Mutex::new(None),
        }
    }

    /// The connection, connecting when there is none (one attempt at a time).
    pub(crate) async fn get(&self) -> Result<Arc<Conn>, String> {
        let mut current = self.current.lock().await;
        if let Some(conn) = current.as_ref().filter(|c| !c.client.is_closed()) {
            return Ok(conn.clone());
        }
        *current = None;
        match tokio::time::timeout(self.config.command_timeout, self.connect()).await {
            Ok(Ok(conn)) => {
                let conn = Arc::new(conn);
                *current = Some(conn.clone());
                Ok(conn)
            }
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err("postgres did not answer in time".into()),
        }
    }

    async fn connect(&self) -> Result<Conn, tokio_postgres::Error> {
        let client = connect(&self.config.url).await?;
        let table = &self.config.table_name;
        if self.config.create_table {
            // Node's README has the app create it; the same columns. Two servers creating it at
            // once may collide: the loser's error is harmless.
            let create = format!(
                "CREATE TABLE IF NOT EXISTS {table} (id bigserial UNIQUE, \
                 created_at timestamptz DEFAULT NOW(), payload bytea)"
            );
            if let Err(error) = client.batch_execute(&create).await {
                tracing::debug!(%error, "attachments table not created");
            }
        }
        let notify = client.prepare("SELECT pg_notify($1, $2)").await?;
        // The row and its header in one statement: the header is never seen without its row,
        // and the header is Node's `{uid, type, attachmentId}`.
        let attach = client
            .prepare(&format!(
                "WITH a AS (INSERT INTO {table} (payload) VALUES ($1) RETURNING id) \
                 SELECT pg_notify($2, json_build_object('uid', $3::text, 'type', $4::int, \
                 'attachmentId', a.id::text)::text) FROM a"
            ))
            .await?;
        let select = client
            .prepare(&format!("SELECT payload FROM {table} WHERE id = $1"))
            .await?;
        Ok(Conn {
            client,
            notify,
            attach,
            select,
        })
    }

    /// The message kept in row `id` of the attachments table.
    async fn attachment(&self, id: i64) -> Result<Message, String> {
        let conn = self.get().await?;
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&id];
        let read = conn.client.query_opt(&conn.select, &params);
        let row = tokio::time::timeout(self.config.command_timeout, read)
            .await
            .map_err(|_| "postgres did not answer in time".to_owned())?
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no attachment {id} (cleaned up already?)"))?;
        let payload: Vec<u8> = row.try_get(0).map_err(|e| e.to_string())?;
        Message::from_msgpack(&payload).map_err(|e| e.to_string())
    }

    /// Deletes the attachments older than the cleanup interval (Node's cleanup query).
    async fn cleanup(&self) -> Result<u64, String> {
        let conn = self.get().await?;
        let delete = format!(
            "DELETE FROM {} WHERE created_at < now() - interval '{} milliseconds'",
            self.config.table_name,
            self.config.cleanup_interval.as_millis()
        );
        let deleted = conn.client.execute(delete.as_str(), &[]);
        tokio::time::timeout(self.config.command_timeout, deleted)
            .await
            .map_err(|_| "postgres did not answer in time".to_owned())?
            .map_err(|e| e.to_string())
    }
}

/// Connects to `url`, the connection driven by a task of its own (notifications ignored).
async fn connect(url: &str) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "postgres command connection ended");
        }
    });
    Ok(client)
}

/// Publishes what is queued, in order: what has gathered (up to a batch) is pipelined on the
/// command connection. What PostgreSQL does not take is lost for the other servers (NOTIFY is
/// not durable); the loss is counted by message type and logged once PostgreSQL is back.
pub(crate) async fn publish(commands: Arc<Commands>, mut queue: mpsc::Receiver<Publication>) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut lost: BTreeMap<u8, usize> = BTreeMap::new();
    while queue.recv_many(&mut batch, BATCH).await > 0 {
        let sent = match commands.get().await {
            Ok(conn) => {
                let timeout = commands.config.command_timeout;
                let all = futures_util::future::join_all(batch.iter().map(|p| send(&conn, p)));
                match tokio::time::timeout(timeout, all).await {
                    Ok(results) => results.into_iter().map(|r| r.is_ok()).collect(),
                    Err(_) => vec![false; batch.len()],
                }
            }
            Err(_) => {
                // Not retried: what waits meanwhile (half a second's worth) goes out as soon
                // as PostgreSQL is back, and nothing is sent twice.
                tokio::time::sleep(RECONNECT_DELAY).await;
                vec![false; batch.len()]
            }
        };
        let mut ok = false;
        for (publication, sent) in batch.iter().zip(sent) {
            if sent {
                ok = true;
            } else {
                *lost.entry(publication.kind).or_default() += 1;
            }
        }
        if ok && !lost.is_empty() {
            let total: usize = lost.values().sum();
            tracing::warn!(
                messages = total,
                by_type = ?lost,
                "postgres was away: these messages never reached the other servers"
            );
            lost.clear();
        } else if !lost.is_empty() && lost.values().sum::<usize>() == batch.len() {
            tracing::debug!(
                messages = batch.len(),
                "postgres away: messages not published"
            );
        }
        batch.clear();
    }
}

async fn send(conn: &Conn, publication: &Publication) -> Result<(), tokio_postgres::Error> {
    let channel = publication.channel.as_str();
    match &publication.message {
        Outgoing::Json(json) => conn
            .client
            .execute(&conn.notify, &[&channel, &json.as_str()])
            .await
            .map(drop),
        Outgoing::Attachment(payload) => {
            let kind = i32::from(publication.kind);
            let uid = publication.uid.as_str();
            conn.client
                .execute(&conn.attach, &[payload, &channel, &uid, &kind])
                .await
                .map(drop)
        }
    }
}

/// Deletes old attachments every `cleanup_interval`, as every Node server does.
pub(crate) async fn clean_up(commands: Weak<Commands>, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(commands) = commands.upgrade() else {
            return;
        };
        match commands.cleanup().await {
            Ok(deleted) => tracing::trace!(deleted, "old attachments removed"),
            Err(error) => tracing::debug!(%error, "attachments not cleaned up"),
        }
    }
}

/// A LISTEN command for `channel`, quoted as an identifier.
fn listen_command(channel: &str) -> String {
    format!("LISTEN \"{}\"", channel.replace('"', "\"\""))
}

/// Listens to the channels asked for on `to_listen`, on a connection of its own, and hands
/// what arrives to `router`, in the order it arrives. When the connection is lost it connects
/// again and LISTENs again: the notifications sent meanwhile are lost (NOTIFY keeps nothing for
/// a listener that is away), which it logs with how long it was away.
pub(crate) async fn listen(
    config: Arc<PostgresAdapterConfig>,
    commands: Arc<Commands>,
    router: Weak<dyn Router>,
    mut to_listen: mpsc::UnboundedReceiver<String>,
    first: Option<(Client, mpsc::Receiver<tokio_postgres::Notification>)>,
) {
    let mut channels: HashSet<String> = HashSet::new();
    let mut first = first;
    let mut lost_at: Option<Instant> = None;
    loop {
        let (client, mut notifications) = match first.take() {
            Some(connected) => connected,
            None => match listener(&config.url).await {
                Ok(connected) => connected,
                Err(error) => {
                    tracing::debug!(%error, "postgres listener: not connected yet");
                    if router.strong_count() == 0 {
                        return;
                    }
                    tokio::time::sleep(RECONNECT_DELAY).await;
                    continue;
                }
            },
        };
        let mut listened = true;
        for channel in &channels {
            if client
                .batch_execute(&listen_command(channel))
                .await
                .is_err()
            {
                listened = false;
                break;
            }
        }
        if !listened {
            tokio::time::sleep(RECONNECT_DELAY).await;
            continue;
        }
        if let Some(since) = lost_at.take() {
            tracing::warn!(
                away_ms = since.elapsed().as_millis() as u64,
                channels = channels.len(),
                "postgres listener back: what the other servers sent while it was away is lost"
            );
        }
        if let Some(router) = router.upgrade() {
            for channel in &channels {
                router.listening(channel);
            }
        }
        loop {
            tokio::select! {
                channel = to_listen.recv() => {
                    let Some(channel) = channel else { return };
                    let listened = client.batch_execute(&listen_command(&channel)).await;
                    channels.insert(channel.clone());
                    if listened.is_err() {
                        break;
                    }
                    if let Some(router) = router.upgrade() {
                        router.listening(&channel);
                    }
                }
                notification = notifications.recv() => {
                    let Some(notification) = notification else { break };
                    let Some(router) = router.upgrade() else { return };
                    receive(&commands, router.as_ref(), notification.payload()).await;
                }
            }
        }
        if router.strong_count() == 0 {
            return;
        }
        lost_at = Some(Instant::now());
        tracing::warn!("postgres listener connection lost; reconnecting");
        tokio::time::sleep(RECONNECT_DELAY).await;
    }
}

/// A connection that LISTENs: its notifications come through the receiver, which closes
/// when the connection is lost.
pub(crate) async fn listener(
    url: &str,
) -> Result<(Client, mpsc::Receiver<tokio_postgres::Notification>), tokio_postgres::Error> {
    let (client, mut connection) = tokio_postgres::connect(url, NoTls).await?;
    let (tx, rx) = mpsc::channel(NOTIFICATIONS);
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(notification)) => {
                    if tx.send(notification).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::debug!(%error, "postgres listener connection ended");
                    return;
                }
            }
        }
    });
    Ok((client, rx))
}

/// One notification: the message it carries, or the one it points to in the attachments table.
async fn receive(commands: &Commands, router: &dyn Router, payload: &str) {
    tracing::trace!(payload, "notification");
    let message = match Notification::decode(payload) {
        Ok(Notification::Message(message)) => message,
        Ok(Notification::Attachment { uid, .. })
            if uid.as_deref().is_some_and(|u| router.is_own(u)) =>
        {
            return;
        }
        Ok(Notification::Attachment { id, .. }) => match commands.attachment(id).await {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(id, %error, "a message in the attachments table was not read");
                return;
            }
        },
        Err(error) => {
            tracing::debug!(%error, "notification ignored");
            return;
        }
    };
    router.route(message);
}
