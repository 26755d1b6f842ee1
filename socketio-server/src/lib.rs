#![doc = include_str!("../README.md")]
//!
//! ## Where to start
//!
//! [`SocketIo`] is the server ([`SocketIo::builder`] for a [`SocketIoBuilder`] and a
//! [`SocketIoConfig`]), mounted with [`SocketIo::router`] or [`SocketIo::layer`]. A
//! [`Namespace`] admits sockets through its middlewares and connection handlers; a [`Socket`]
//! handles events with [`Socket::on`] and emits, alone or through a [`SocketOperator`]
//! ([`Socket::timeout`], [`Socket::volatile`]). Broadcasts and the cluster-wide operations are
//! a [`BroadcastOperator`]'s, whose [`fetch_sockets`](BroadcastOperator::fetch_sockets) gives
//! [`RemoteSocket`]s. Handlers take extractors: [`Data`], [`Args`], [`RawArgs`], [`EventName`],
//! [`AckSender`], [`State`], [`DisconnectReason`], or your own through [`FromEventParts`],
//! [`FromConnectParts`] and [`FromDisconnectParts`]. What a cluster adapter needs is in
//! [`adapter`].

pub mod adapter;
mod builder;
mod client;
mod client_bundle;
mod codec;
mod config;
mod disconnect;
mod emit;
mod error;
mod expiry;
mod handler;
mod handshake;
mod hold;
mod id;
mod inline;
mod io;
mod metrics;
mod namespace;
mod observer;
mod operators;
mod parent;
mod payload;
mod recovery;
mod remote;
mod room_events;
mod rooms;
mod socket;
mod spans;

pub use adapter::Room;
pub use builder::{BuildError, SocketIoBuilder};
pub use codec::Parser;
pub use config::{SocketIoConfig, SocketIoConfigBuilder};
pub use disconnect::DisconnectReason;
pub use emit::SocketOperator;
pub use engineio::cors;
// The engine's options that `SocketIoConfigBuilder` takes, so that an app needs no second crate.
pub use engineio::{HttpCompression, PerMessageDeflate, SameSite, SessionCookie};
// What `Socket::transport` and an `EngineObserver` are told.
pub use engineio::{CloseReason, Transport};
pub use error::{AckError, ConnectError, EmitError};
pub use expiry::ExpiredSession;
pub use handler::{
    AckSender, Args, ConnectHandler, ConnectMiddleware, ConnectParts, Data, DisconnectHandler,
    DisconnectParts, EventHandler, EventName, EventParts, ExtractError, FromConnectParts,
    FromDisconnectParts, FromEventParts, RawArgs, State,
};
pub use handshake::Handshake;
pub use id::Sid;
pub use io::{SocketIo, SocketIoLayer, SocketIoService};
pub use metrics::Metrics;
pub use namespace::Namespace;
pub use observer::EngineObserver;
pub use operators::{BroadcastAckError, BroadcastOperator};
pub use parent::{ParentBroadcastOperator, ParentNamespace};
pub use parser::Str;
pub use recovery::ConnectionStateRecovery;
pub use remote::RemoteSocket;
pub use room_events::RoomChange;
pub use rooms::IntoRooms;
pub use socket::{BoxError, Socket};
