//! What the chat does with each event of a socket. Every answer to a request is an ack holding
//! either the result or `{"error": "..."}`, a sentence the page shows as it is.

use crate::rooms::{check_name, no_such_room, Message, Rooms};
use serde::{Deserialize, Serialize};
use serde_json::json;
use socketio::{
    AckSender, Data, DisconnectReason, ExpiredSession, ExtractError, Namespace, Socket, SocketIo,
    State,
};
use std::collections::BTreeSet;

/// What the server remembers of a socket (Node's `socket.data`); other servers see it too
/// through `fetch_sockets`.
#[derive(Clone, Serialize, Deserialize)]
struct User {
    name: String,
    rooms: BTreeSet<String>,
}

#[derive(Deserialize)]
struct Said {
    room: String,
    text: String,
}

#[derive(Deserialize)]
struct Typing {
    room: String,
    typing: bool,
}

type Payload<T> = Result<Data<T>, ExtractError>;

/// What the servers of a cluster tell each other, so that each keeps the same rooms and
/// histories (with one server these are never sent anywhere).
const ROOM_CREATED: &str = "room-created";
const POSTED: &str = "posted";

/// Keeps this server's rooms and histories in step with the other servers of the cluster.
pub fn on_cluster_events(io: &SocketIo, rooms: Rooms) {
    let namespace = io.of("/");
    let (created, posted) = (rooms.clone(), rooms);
    let pages = namespace.clone();
    namespace.on_server_side(ROOM_CREATED, move |args| {
        let room = args.first().and_then(|r| r.as_str()).map(str::to_owned);
        if let Some(room) = room {
            if created.create(&room).is_ok() {
                let _ = pages.local().emit("rooms", &created.names());
            }
        }
        async { None }
    });
    namespace.on_server_side(POSTED, move |args| {
        let message = args
            .into_iter()
            .next()
            .map(serde_json::from_value::<Message>);
        if let Some(Ok(message)) = message {
            posted.record(message);
        }
        async { None }
    });
}

/// `recovery`: whether the server keeps the sessions of sockets that lose their connection.
pub async fn on_connection(socket: Socket, recovery: bool) {
    socket.on("login", login);
    socket.on("create", create);
    socket.on("join", join);
    socket.on("leave", leave);
    socket.on("message", message);
    socket.on("typing", typing);
    if socket.recovered() {
        // Back in its rooms as it left them. Lists sent while it was away did not name it.
        if let Some(user) = socket.data::<User>() {
            for room in &user.rooms {
                send_members(socket.namespace(), room).await;
            }
        }
    }
    socket.on_disconnect(move |socket: Socket, reason: DisconnectReason| async move {
        // A page that lost its connection may come back with its session (connection state
        // recovery): its user is away, not gone, until `on_session_expired` says otherwise.
        if recovery && reason.keeps_session() {
            return;
        }
        // The socket has left its rooms by now, so the lists sent no longer name it.
        if let Some(user) = socket.data::<User>() {
            for room in &user.rooms {
                send_members(socket.namespace(), room).await;
            }
        }
    });
}

/// A page that lost its connection did not come back in time: its user has left its rooms.
pub async fn on_session_expired(namespace: Namespace, session: ExpiredSession) {
    if let Some(user) = session.data::<User>() {
        for room in &user.rooms {
            send_members(&namespace, room).await;
        }
    }
}

async fn login(socket: Socket, name: Payload<String>, ack: AckSender, State(rooms): State<Rooms>) {
    let result = payload(name).and_then(|name| check_name(&name));
    let name = match result {
        Ok(name) => name,
        Err(error) => return refuse(ack, error),
    };
    // A rename keeps the rooms; a reconnected page logs in again and then rejoins them.
    let previous = socket
        .data::<User>()
        .map(|user| user.rooms)
        .unwrap_or_default();
    socket.set_data(User {
        name: name.clone(),
        rooms: previous.clone(),
    });
    let _ = ack.send(&json!({ "name": name, "rooms": rooms.names() }));
    for room in &previous {
        send_members(socket.namespace(), room).await;
    }
}

async fn create(socket: Socket, room: Payload<String>, ack: AckSender, State(rooms): State<Rooms>) {
    let room = match payload(room) {
        Ok(room) => room,
        Err(error) => return refuse(ack, error),
    };
    let existed = rooms.exists(&room);
    if let Err(error) = rooms.create(&room) {
        return refuse(ack, error);
    }
    if !existed {
        let namespace = socket.namespace();
        // The other servers of a cluster learn of the room, then tell their own pages.
        let _ = namespace.server_side_emit(ROOM_CREATED, &room);
        let _ = namespace.local().emit("rooms", &rooms.names());
    }
    enter(socket, room, ack, rooms).await;
}

async fn join(socket: Socket, room: Payload<String>, ack: AckSender, State(rooms): State<Rooms>) {
    match payload(room) {
        Ok(room) if rooms.exists(&room) => enter(socket, room, ack, rooms).await,
        Ok(room) => refuse(ack, no_such_room(&room)),
        Err(error) => refuse(ack, error),
    }
}

async fn enter(socket: Socket, room: String, ack: AckSender, rooms: Rooms) {
    let joined = socket.update_data(|user: &mut User| user.rooms.insert(room.clone()));
    if joined.is_none() {
        return refuse(ack, "Pick a nickname first.".into());
    }
    socket.join(room.clone());
    let _ = ack.send(&json!({ "room": room, "history": rooms.history(&room) }));
    send_members(socket.namespace(), &room).await;
}

async fn leave(socket: Socket, room: Payload<String>, ack: AckSender) {
    let room = match payload(room) {
        Ok(room) => room,
        Err(error) => return refuse(ack, error),
    };
    socket.update_data(|user: &mut User| user.rooms.remove(&room));
    socket.leave(room.clone());
    let _ = ack.send(&json!({ "room": room }));
    send_members(socket.namespace(), &room).await;
}

async fn message(socket: Socket, said: Payload<Said>, ack: AckSender, State(rooms): State<Rooms>) {
    let result = payload(said).and_then(|said| {
        let user = member_of(&socket, &said.room)?;
        rooms.post(&said.room, &user.name, &said.text)
    });
    match result {
        Ok(message) => {
            let _ = socket.to(message.room.clone()).emit("message", &message);
            let _ = socket.namespace().server_side_emit(POSTED, &message);
            let _ = ack.send(&message);
        }
        Err(error) => refuse(ack, error),
    }
}

/// Typing indicators are volatile both ways: a stale one is worth nothing, so none is queued
/// for a page that cannot take it now.
async fn typing(socket: Socket, typing: Payload<Typing>) {
    let Ok(Data(typing)) = typing else { return };
    if let Ok(user) = member_of(&socket, &typing.room) {
        let _ = socket.to(typing.room.clone()).volatile().emit(
            "typing",
            &json!({ "room": typing.room, "name": user.name, "typing": typing.typing }),
        );
    }
}

/// Tells everyone in `room` who is there now, by name.
async fn send_members(namespace: &Namespace, room: &str) {
    let Ok(sockets) = namespace.to(room.to_string()).fetch_sockets().await else {
        return;
    };
    let names: BTreeSet<String> = sockets
        .iter()
        .filter_map(|s| s.data::<User>().ok())
        .map(|user| user.name)
        .collect();
    let _ = namespace
        .to(room.to_string())
        .emit("members", &json!({ "room": room, "members": names }));
}

fn member_of(socket: &Socket, room: &str) -> Result<User, String> {
    let user = socket
        .data::<User>()
        .ok_or_else(|| "Pick a nickname first.".to_string())?;
    if user.rooms.contains(room) {
        Ok(user)
    } else {
        Err(format!("Join '{room}' before writing to it."))
    }
}

fn payload<T>(payload: Payload<T>) -> Result<T, String> {
    payload
        .map(|Data(value)| value)
        .map_err(|_| "That request is malformed.".to_string())
}

fn refuse(ack: AckSender, error: String) {
    let _ = ack.send(&json!({ "error": error }));
}
