//! The engine.io v4 protocol: packets, their encoded frames, and polling payloads; and, in
//! [`v3`], how the older revision frames the same packets.
//!
//! A [`Packet`] is what a peer means; a [`Frame`] is how it travels: one WebSocket frame, or one
//! segment of a polling payload. The two forms coincide for text (`4hello` is both), so a server
//! can encode a packet once and hand the same [`Frame`] to WebSocket and polling recipients alike.

mod packet;
mod payload;
pub mod v3;

pub use packet::{DecodeError, Frame, Packet, PacketType};
pub use payload::{decode_payload, encode_payload, PayloadDecoder, SEPARATOR};
