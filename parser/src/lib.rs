#![doc = include_str!("../README.md")]
//!
//! ## Where to start
//!
//! - [`engineio::Packet`], [`engineio::Frame`], [`engineio::encode_payload`] and
//!   [`engineio::decode_payload`] for the engine.io layer;
//! - [`socketio::Packet`] and [`socketio::Decoder`] for the socket.io layer, with
//!   [`socketio::to_json_with_attachments`] and [`socketio::from_json_with_attachments`] for
//!   arguments that hold binary data;
//! - [`Str`] for the text they share.

pub mod engineio;
pub mod socketio;
mod str;

pub use crate::str::Str;
