//! The socket.io v5 protocol: packets carried inside engine.io messages.
//!
//! A packet is `<type>[<attachments>-][<nsp>,][<ack id>][JSON]`. Arguments stay raw JSON text,
//! each a shared slice of the received frame, so that a handler deserializes straight into its
//! own types and nothing is parsed twice. Binary data travels as placeholders
//! (`{"_placeholder":true,"num":N}`) in the JSON, each followed by one binary engine.io message;
//! the [`Decoder`] completes a packet once all of them have arrived.
//!
//! ```
//! use parser::socketio::{Decoder, Packet, PacketData};
//!
//! let mut decoder = Decoder::default();
//! let decoded = decoder.decode_text(r#"2/chat,7["message",{"text":"hi"}]"#.into()).unwrap().unwrap();
//! let PacketData::Event(event) = &decoded.packet.data else { panic!() };
//! assert_eq!(decoded.packet.nsp, "/chat");
//! assert_eq!((event.name.as_str(), event.id), ("message", Some(7)));
//! assert_eq!(event.args[0], r#"{"text":"hi"}"#);
//!
//! let ack = Packet::ack("/chat", 7, vec![r#""ok""#.into()]);
//! assert_eq!(ack.encode(), r#"3/chat,7["ok"]"#);
//! ```

mod binary;
mod decoder;
pub mod msgpack;
mod packet;

pub use binary::{from_json_with_attachments, to_json_with_attachments};
pub use decoder::{Decoded, Decoder, DEFAULT_MAX_ATTACHMENTS};
pub use packet::{Ack, DecodeError, Event, Packet, PacketData, PacketType, RESERVED_EVENTS};
