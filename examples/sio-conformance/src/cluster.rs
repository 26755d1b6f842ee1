//! With `REDIS_URL`: the server joins the Redis cluster there (Node's
//! `@socket.io/redis-adapter` 8.3 speaks the same), with the handlers of Node's cluster tests
//! (see the header of `main.rs`). With `REDIS_STREAMS_URL` instead, it joins through Redis
//! Streams (Node's `@socket.io/redis-streams-adapter` 0.3 speaks the same), with the same
//! handlers; with `RECOVERY_MS` as well, connection state recovery goes through Redis. With
//! `POSTGRES_URL`, it joins through PostgreSQL (Node's `@socket.io/postgres-adapter` 0.5
//! speaks the same), with the same handlers. With `REDIS_CLUSTER_URLS`, it joins a Redis 7
//! Cluster through sharded pub/sub (Node's `createShardedAdapter` speaks the same), with the
//! same handlers. More than one of these variables is refused.

use serde_json::{json, Value};
use socketio::{AckSender, Args, Socket, SocketIo};
use std::time::Duration;

/// How long `server-side-emit-with-ack` waits for the other servers: the adapter's own
/// `requestsTimeout` (5 s, with either adapter) ends it first.
const ANSWERS_WAIT: Duration = Duration::from_secs(6);

/// Connects to Redis at `url`, or says why not.
pub async fn adapter(url: &str) -> std::io::Result<socketio_redis::RedisAdapter> {
    socketio_redis::RedisAdapter::connect(url)
        .await
        .map_err(|error| std::io::Error::other(format!("REDIS_URL {url}: {error}")))
}

/// Joins the Redis Streams cluster at `url` with Node's default options, or says why not.
pub async fn streams_adapter(
    url: &str,
) -> std::io::Result<socketio_redis_streams::RedisStreamsAdapter> {
    socketio_redis_streams::RedisStreamsAdapter::connect(url)
        .await
        .map_err(|error| std::io::Error::other(format!("REDIS_STREAMS_URL {url}: {error}")))
}

/// Joins the PostgreSQL cluster at `url` with Node's default options (heartbeats as
/// `PG_HEARTBEAT_MS` and `PG_HEARTBEAT_TIMEOUT_MS` say, when set), or says why not.
pub async fn postgres_adapter(url: &str) -> std::io::Result<socketio_postgres::PostgresAdapter> {
    let mut config = socketio_postgres::PostgresAdapterConfig::new(url);
    let millis = |name: &str| -> std::io::Result<Option<Duration>> {
        match std::env::var(name) {
            Err(_) => Ok(None),
            Ok(ms) => ms
                .parse()
                .map(|ms| Some(Duration::from_millis(ms)))
                .map_err(|_| std::io::Error::other(format!("{name} must be milliseconds"))),
        }
    };
    if let Some(interval) = millis("PG_HEARTBEAT_MS")? {
        config.heartbeat_interval = interval;
    }
    if let Some(timeout) = millis("PG_HEARTBEAT_TIMEOUT_MS")? {
        config.heartbeat_timeout = timeout;
    }
    socketio_postgres::PostgresAdapter::connect_with(config)
        .await
        .map_err(|error| std::io::Error::other(format!("POSTGRES_URL {url}: {error}")))
}

/// Joins the Redis Cluster that the comma-separated `urls` belong to through the sharded
/// adapter, in the subscription mode `REDIS_SUBSCRIPTION_MODE` names (Node's default,
/// `dynamic`, when unset), or says why not.
pub async fn sharded_adapter(
    urls: &str,
) -> std::io::Result<socketio_redis::sharded::ShardedRedisAdapter> {
    use socketio_redis::sharded::{ShardedRedisAdapter, ShardedRedisAdapterConfig};
    let nodes: Vec<&str> = urls
        .split(',')
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .collect();
    if nodes.is_empty() {
        return Err(std::io::Error::other("REDIS_CLUSTER_URLS names no node"));
    }
    let mut config = ShardedRedisAdapterConfig::default();
    if let Ok(mode) = std::env::var("REDIS_SUBSCRIPTION_MODE") {
        config.subscription_mode = mode
            .parse()
            .map_err(|error| std::io::Error::other(format!("REDIS_SUBSCRIPTION_MODE: {error}")))?;
    }
    ShardedRedisAdapter::connect_with(&nodes, config)
        .await
        .map_err(|error| std::io::Error::other(format!("REDIS_CLUSTER_URLS {urls}: {error}")))
}

/// Server-side `hello` from another server: broadcast to the whole cluster when no answer is
/// awaited, otherwise answer with the first argument as it came.
pub fn server_handlers(io: &SocketIo) {
    let server = io.clone();
    io.on_server_side_with_ack("hello", move |args: Vec<Value>, ack_requested| {
        if !ack_requested {
            let _ = server.broadcast().emit_args("hello", &args);
        }
        let answer = ack_requested.then(|| args.into_iter().next().unwrap_or(Value::Null));
        async move { answer }
    });
}

/// The client events that make this server use the cluster (`set-data`, which the cluster tests
/// use too, is registered with or without a cluster: see `recovery`).
pub fn socket_handlers(socket: &Socket) {
    socket.on(
        "server-side-emit",
        |socket: Socket, Args(args): Args<Vec<Value>>, ack: AckSender| async move {
            let _ = socket.namespace().server_side_emit("hello", &args);
            let _ = ack.send_args(&());
        },
    );
    socket.on(
        "server-side-emit-with-ack",
        |socket: Socket, Args(args): Args<Vec<Value>>, ack: AckSender| async move {
            let answers = socket
                .namespace()
                .server_side_emit_with_ack("hello", &args, ANSWERS_WAIT)
                .await;
            let _ = match answers {
                Ok(answers) => ack.send(&answers),
                Err(error) => ack.send(&json!({ "error": error.to_string() })),
            };
        },
    );
    socket.on(
        "fetch-sockets",
        |socket: Socket, Args(args): Args<Vec<Value>>, ack: AckSender| async move {
            let found = socket.namespace().to(text(&args, 0)).fetch_sockets().await;
            let _ = match found {
                Ok(found) => {
                    let mut ids: Vec<String> = found.iter().map(|s| s.id.to_string()).collect();
                    ids.sort();
                    ack.send(&ids)
                }
                Err(error) => ack.send(&json!({ "error": error.to_string() })),
            };
        },
    );
    socket.on(
        "sockets-join",
        |socket: Socket, Args(args): Args<Vec<Value>>, ack: AckSender| async move {
            let operator = socket.namespace().to(text(&args, 0));
            let _ = operator.sockets_join(text(&args, 1));
            let _ = ack.send_args(&());
        },
    );
    socket.on(
        "sockets-leave",
        |socket: Socket, Args(args): Args<Vec<Value>>, ack: AckSender| async move {
            let operator = socket.namespace().to(text(&args, 0));
            let _ = operator.sockets_leave(text(&args, 1));
            let _ = ack.send_args(&());
        },
    );
    socket.on(
        "disconnect-sockets",
        |socket: Socket, Args(args): Args<Vec<Value>>, ack: AckSender| async move {
            let _ = socket
                .namespace()
                .to(text(&args, 0))
                .disconnect_sockets(false);
            let _ = ack.send_args(&());
        },
    );
}

/// The `n`th argument as text (a room or a socket id): a string as it is, anything else as
/// its JSON.
fn text(args: &[Value], n: usize) -> String {
    match args.get(n) {
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}
