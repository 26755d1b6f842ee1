//! Pure codecs for the engine.io v4 and socket.io v5 wire formats.
//!
//! Nothing here does I/O or knows about sockets: every function takes bytes and returns a value or a
//! typed error. No input, however malformed, makes a decoder panic; the property tests and fuzz
//! targets hold it to that.
//!
//! ```
//! use parser::engineio::{Packet, decode_payload, encode_payload};
//!
//! let frames = [Packet::message("hello").encode(), Packet::Binary(vec![1, 2, 3].into()).encode()];
//! let payload = encode_payload(&frames);
//! assert_eq!(payload, "4hello\x1ebAQID");
//! let back: Vec<Packet> = decode_payload(payload).collect::<Result<_, _>>().unwrap();
//! assert_eq!(back[1], Packet::Binary(vec![1, 2, 3].into()));
//! ```

pub mod engineio;
pub mod socketio;
mod str;

pub use crate::str::Str;
