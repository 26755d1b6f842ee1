//! Connection state recovery (Node's `connectionStateRecovery`): `RECOVERY_MS` turns it on, and
//! the handlers on `/` that `e2e-js/test/recovery.test.mjs` drives, registered with or without
//! it (see the header of `main.rs`).

use bytes::Bytes;
use serde::{Serialize, Serializer};
use serde_json::{json, Value};
use socketio::{
    AckSender, BroadcastAckError, ConnectionStateRecovery, Data, RawArgs, Socket,
    SocketIoConfigBuilder,
};
use std::time::Duration;

/// How long `broadcast-with-ack` waits for the clients' answers (Node: `io.timeout(1000)`).
const ASK_TIMEOUT: Duration = Duration::from_millis(1000);

/// With `RECOVERY_MS=N`: recovery on, sessions kept N ms, middlewares skipped on recovery (as
/// Node's `connectionStateRecovery: {maxDisconnectionDuration: N, skipMiddlewares: true}`).
/// A value that is not a number of milliseconds stops the server: a test that asked for
/// recovery must not run without it.
pub fn config(config: SocketIoConfigBuilder) -> SocketIoConfigBuilder {
    let Ok(text) = std::env::var("RECOVERY_MS") else {
        return config;
    };
    let Ok(ms) = text.trim().parse::<u64>() else {
        eprintln!("sio-conformance: RECOVERY_MS must be a number of milliseconds, got {text:?}");
        std::process::exit(2);
    };
    config.connection_state_recovery(ConnectionStateRecovery {
        max_disconnection_duration: Duration::from_millis(ms),
        skip_middlewares: true,
        ..ConnectionStateRecovery::default()
    })
}

/// The arguments after the first, with every attachment (the first, a room name, holds none).
fn rest(args: &RawArgs) -> RawArgs {
    RawArgs {
        args: args.args.iter().skip(1).cloned().collect(),
        attachments: args.attachments.clone(),
    }
}

/// The first argument as a string.
fn first_text(args: &RawArgs) -> Option<String> {
    serde_json::from_str(args.args.first()?).ok()
}

/// What `broadcast-with-ack` acks with: `{error, answers}`, each answer with its own bytes.
#[derive(Serialize)]
struct Answers {
    error: Value,
    answers: Vec<FirstArg>,
}

/// A client's answer: its first argument (`null` without one) and the attachments its
/// placeholders point to, serialized back with the bytes where the placeholders were, so that
/// the reply numbers them afresh among all the answers.
struct FirstArg {
    value: Value,
    attachments: Vec<Bytes>,
}

impl FirstArg {
    fn of(answer: &RawArgs) -> Option<Self> {
        let value = match answer.args.first() {
            Some(text) => serde_json::from_str(text).ok()?,
            None => Value::Null,
        };
        Some(Self {
            value,
            attachments: answer.attachments.clone(),
        })
    }
}

impl Serialize for FirstArg {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        WithBytes(&self.value, &self.attachments).serialize(serializer)
    }
}

/// A JSON value whose placeholders are serialized as the bytes they stand for.
struct WithBytes<'a>(&'a Value, &'a [Bytes]);

impl Serialize for WithBytes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let WithBytes(value, attachments) = *self;
        match value {
            Value::Object(map) => {
                let placeholder = map.len() == 2 && map.get("_placeholder") == Some(&json!(true));
                let bytes = map
                    .get("num")
                    .and_then(Value::as_u64)
                    .and_then(|num| attachments.get(usize::try_from(num).ok()?));
                if let (true, Some(bytes)) = (placeholder, bytes) {
                    return serializer.serialize_bytes(bytes);
                }
                serializer.collect_map(map.iter().map(|(k, v)| (k, WithBytes(v, attachments))))
            }
            Value::Array(items) => {
                serializer.collect_seq(items.iter().map(|v| WithBytes(v, attachments)))
            }
            other => other.serialize(serializer),
        }
    }
}

pub fn handlers(socket: &Socket) {
    // The broadcasts ack (with no arguments) once they went out, so that a client knows that
    // they are in before it lets another reconnect.
    socket.on(
        "broadcast",
        |socket: Socket, args: RawArgs, ack: AckSender| async move {
            let _ = socket.namespace().emit_raw("broadcast", args);
            let _ = ack.send_args(&());
        },
    );
    socket.on(
        "join",
        |socket: Socket, Data(room): Data<String>, ack: AckSender| async move {
            socket.join(room.clone());
            let _ = ack.send(&room);
        },
    );
    socket.on(
        "to-room",
        |socket: Socket, args: RawArgs, ack: AckSender| async move {
            if let Some(room) = first_text(&args) {
                let _ = socket.namespace().to(room).emit_raw("room", rest(&args));
            }
            let _ = ack.send_args(&());
        },
    );
    socket.on(
        "volatile",
        |socket: Socket, args: RawArgs, ack: AckSender| async move {
            let _ = socket.namespace().volatile().emit_raw("volatile", args);
            let _ = ack.send_args(&());
        },
    );
    socket.on(
        "broadcast-with-ack",
        |socket: Socket, args: RawArgs, ack: AckSender| async move {
            // Node's `io.timeout(1000).emit("ask", value, cb)`: the value and the answers pass
            // through as they are, bytes included.
            let value = RawArgs {
                args: args.args.into_iter().take(1).collect(),
                attachments: args.attachments,
            };
            let result = socket
                .namespace()
                .timeout(ASK_TIMEOUT)
                .emit_with_ack_raw("ask", value)
                .await;
            // Node's error message on a timeout, with the answers that came in time.
            let (error, answers) = match result {
                Ok(answers) => (Value::Null, answers),
                Err(BroadcastAckError::Timeout { received, .. }) => {
                    (json!("operation has timed out"), received)
                }
                Err(BroadcastAckError::Emit(error)) => (json!(error.to_string()), Vec::new()),
            };
            let answers: Vec<FirstArg> = answers.iter().filter_map(FirstArg::of).collect();
            let _ = ack.send(&Answers { error, answers });
        },
    );
    // One handler for both uses: the cluster tests' (`fetchSockets` on another server reads the
    // data) and the recovery tests' (`get-data` after a reconnection).
    socket.on(
        "set-data",
        |socket: Socket, Data(value): Data<Value>, ack: AckSender| async move {
            socket.set_data(value);
            let _ = ack.send_args(&());
        },
    );
    socket.on("get-data", |socket: Socket, ack: AckSender| async move {
        let _ = ack.send(&socket.data_json());
    });
    socket.on(
        "get-recovered",
        |socket: Socket, ack: AckSender| async move {
            let _ = ack.send(&socket.recovered());
        },
    );
}
