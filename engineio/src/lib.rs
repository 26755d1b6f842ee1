#![doc = include_str!("../README.md")]
//!
//! ## Where to start
//!
//! Build an engine with [`EngineIo::builder`] and an [`EngineIoConfig`], implement
//! [`EngineIoHandler`] for what happens on connect, message and close, and mount the engine
//! with [`EngineIo::router`] (axum) or [`EngineIo::layer`] ([`EngineIoLayer`], any tower
//! stack). A [`Socket`] is one session: [`Socket::send`] queues a [`Message`], and its
//! [`Handshake`] is the request that opened it.
//!
//! [`sync`] and [`handshake`] hold the small helpers the engine uses for its locks and for
//! reading a handshake's query and headers, public for the crates built on it.

mod config;
mod cookie;
mod engine;
mod error;
mod handler;
pub mod handshake;
mod headers;
mod heartbeat;
mod message;
mod polling;
mod protocol;
mod service;
mod sid;
mod signal;
mod socket;
pub mod sync;
mod websocket;

pub use config::{EngineIoConfig, EngineIoConfigBuilder, Transport};
pub use cookie::{SameSite, SessionCookie};
pub use engine::{EngineIo, EngineIoBuilder};
pub use error::RequestError;
pub use handler::EngineIoHandler;
pub use handshake::{Handshake, Headers};
pub use message::{CloseReason, Message, SendError};
pub use parser::engineio::Frame;
pub use parser::Str;
pub use polling::HttpCompression;
pub use protocol::Protocol;
pub use service::{EngineIoLayer, EngineIoService, ResponseBody, ResponseFuture};
pub use sid::Sid;
pub use socket::{SendOptions, Socket};
pub use tower_http::cors;
pub use websocket::{Deflater, Inflater, PerMessageDeflate};
