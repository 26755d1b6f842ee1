//! A socket.io v5 server for axum: namespaces, rooms, events with acknowledgements, broadcasts,
//! on the [`engineio`] transport layer. Every official socket.io client (v3 and v4) talks to it
//! as it would to Node's `socket.io` 4.
//!
//! ```no_run
//! use serde::{Deserialize, Serialize};
//! use socketio::{AckSender, Data, Socket, SocketIo};
//!
//! #[derive(Debug, Deserialize, Serialize)]
//! struct Message { room: String, text: String }
//!
//! # async fn run() -> std::io::Result<()> {
//! let io = SocketIo::new();
//! io.on_connection(|socket: Socket| async move {
//!     socket.on("join", |socket: Socket, Data(room): Data<String>| async move {
//!         socket.join(room);
//!     });
//!     socket.on("message", |socket: Socket, Data(msg): Data<Message>, ack: AckSender| async move {
//!         let _ = socket.to(msg.room.clone()).emit("message", &msg);
//!         let _ = ack.send("delivered");
//!     });
//! });
//!
//! let app = axum::Router::new().merge(io.router());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await
//! # }
//! ```

pub mod adapter;
mod client;
mod client_bundle;
mod config;
mod disconnect;
mod emit;
mod error;
mod handler;
mod handshake;
mod id;
mod inline;
mod io;
mod namespace;
mod operators;
mod parent;
mod payload;
mod remote;
mod rooms;
mod socket;

pub use adapter::Room;
pub use config::{SocketIoConfig, SocketIoConfigBuilder};
pub use disconnect::DisconnectReason;
pub use emit::SocketOperator;
pub use engineio::cors;
pub use error::{AckError, ConnectError, EmitError};
pub use handler::{
    AckSender, Args, ConnectHandler, ConnectMiddleware, ConnectParts, Data, DisconnectHandler,
    DisconnectParts, EventHandler, EventName, EventParts, ExtractError, FromConnectParts,
    FromDisconnectParts, FromEventParts, RawArgs, State,
};
pub use handshake::Handshake;
pub use id::Sid;
pub use io::{SocketIo, SocketIoBuilder, SocketIoLayer, SocketIoService};
pub use namespace::Namespace;
pub use operators::{BroadcastAckError, BroadcastOperator};
pub use parent::{ParentBroadcastOperator, ParentNamespace};
pub use parser::Str;
pub use remote::RemoteSocket;
pub use rooms::IntoRooms;
pub use socket::{BoxError, Socket};
