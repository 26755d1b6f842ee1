//! A worker that emits to the clients of a socket.io cluster on Redis (`REDIS_URL`,
//! `redis://127.0.0.1:6379/` by default; `KEY` for another channel prefix than `socket.io`).
//!
//! Once: `cargo run -p socketio-redis-emitter --example emit -- <event> [<JSON argument>...]`
//! emits `event` to every client of namespace `/`.
//!
//! Without arguments it reads commands, one JSON object a line, on stdin, and answers each
//! with a line `ok` or `error: <why>` once Redis took it (`e2e-js/test/redis-emitter.test.mjs`
//! drives it so):
//! `{"op": "emit" | "sockets_join" | "sockets_leave" | "disconnect_sockets" |
//! "server_side_emit", "nsp": "/", "to": [..], "except": [..], "volatile": bool,
//! "compress": bool, "event": "..", "args": [..], "rooms": [..], "close": bool}`;
//! an argument `{"$binary": [1, 2, 3]}` is sent as binary.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use socketio_redis_emitter::{BroadcastOperator, Emitter, EmitterError};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

#[derive(Deserialize, Default)]
#[serde(default)]
struct Command {
    op: String,
    nsp: Option<String>,
    to: Vec<String>,
    except: Vec<String>,
    volatile: bool,
    compress: Option<bool>,
    event: String,
    args: Vec<Value>,
    rooms: Vec<String>,
    close: bool,
}

/// An argument: JSON, or bytes (sent as msgpack bin, which clients get as binary).
#[derive(Serialize)]
#[serde(untagged)]
enum Arg {
    Bytes(bytes::Bytes),
    Json(Value),
}

fn arg(value: Value) -> Arg {
    let bytes = value.get("$binary").and_then(Value::as_array).map(|list| {
        let bytes = list.iter().filter_map(Value::as_u64);
        bytes
            .filter_map(|b| u8::try_from(b).ok())
            .collect::<Vec<u8>>()
    });
    match bytes {
        Some(bytes) => Arg::Bytes(bytes.into()),
        None => Arg::Json(value),
    }
}

async fn run(emitter: &Emitter, command: Command) -> Result<(), EmitterError> {
    let emitter = match &command.nsp {
        Some(nsp) => emitter.of(nsp),
        None => emitter.clone(),
    };
    let mut operator: BroadcastOperator<_> = emitter.to(command.to).except(command.except);
    if command.volatile {
        operator = operator.volatile();
    }
    if let Some(compress) = command.compress {
        operator = operator.compress(compress);
    }
    let args: Vec<Arg> = command.args.into_iter().map(arg).collect();
    match command.op.as_str() {
        "emit" => operator.emit_args(&command.event, &args).await,
        "sockets_join" => operator.sockets_join(command.rooms).await,
        "sockets_leave" => operator.sockets_leave(command.rooms).await,
        "disconnect_sockets" => operator.disconnect_sockets(command.close).await,
        "server_side_emit" => emitter.server_side_emit_args(&command.event, &args).await,
        other => Err(EmitterError::Serialize(format!("unknown op {other:?}"))),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    let mut emitter = Emitter::connect(&url).await?;
    if let Ok(key) = std::env::var("KEY") {
        let client = redis::Client::open(url.as_str())?;
        emitter = Emitter::builder()
            .key(key)
            .build(client.get_connection_manager().await?);
    }
    let mut argv = std::env::args().skip(1);
    if let Some(event) = argv.next() {
        let args = argv
            .map(|a| serde_json::from_str(&a).unwrap_or(Value::String(a)))
            .collect::<Vec<Value>>();
        emitter.emit_args(&event, &args).await?;
        return Ok(());
    }
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut stdout = tokio::io::stdout();
    while let Some(line) = lines.next_line().await? {
        let answer = match serde_json::from_str::<Command>(&line) {
            Ok(command) => match run(&emitter, command).await {
                Ok(()) => "ok".to_owned(),
                Err(error) => format!("error: {error}"),
            },
            Err(error) => format!("error: {error}"),
        };
        stdout.write_all(format!("{answer}\n").as_bytes()).await?;
        stdout.flush().await?;
    }
    Ok(())
}
