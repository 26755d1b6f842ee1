//! An engine.io v4 server for axum: the transport layer under socket.io.
//!
//! Clients reach a session over HTTP long-polling or a WebSocket, and polling sessions upgrade to
//! WebSocket when they can. The engine keeps them alive with heartbeats, queues what the
//! application sends in a bounded per-socket buffer that each transport drains whole, and reports
//! everything to an [`EngineIoHandler`]. It behaves as Node's `engine.io` 6.6 does on the wire,
//! so every engine.io v4 client works with it unchanged.
//!
//! Start with [`EngineIo::builder`], mount [`EngineIo::router`] in an axum app, and implement
//! [`EngineIoHandler`] for what happens on connect, message and close.

mod config;
mod engine;
mod error;
mod handler;
mod handshake;
mod heartbeat;
mod message;
mod polling;
mod sid;
mod signal;
mod socket;
mod websocket;

pub use config::{EngineIoConfig, EngineIoConfigBuilder, Transport};
pub use engine::{EngineIo, EngineIoBuilder};
pub use error::RequestError;
pub use handler::EngineIoHandler;
pub use handshake::Handshake;
pub use message::{CloseReason, Message, SendError};
pub use parser::engineio::Frame;
pub use parser::Str;
pub use sid::Sid;
pub use socket::Socket;
pub use tower_http::cors;
