//! Bytes into messages and back: JSON or msgpack in, as Node's adapter reads them, and JSON or
//! msgpack out, as it writes them.

use crate::msgpack::Mp;
use serde::de::{self, DeserializeOwned};
use serde::Serialize;

/// How deep msgpack may nest (each level counts twice): serde_json's limit of 128 levels.
const MAX_DEPTH: usize = 256;

/// Why a message was not understood.
#[derive(Debug)]
pub struct DecodeError(String);

impl std::error::Error for DecodeError {}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A message as Node's adapter reads one: JSON when it starts with `{`, msgpack otherwise.
pub fn decode<T: DeserializeOwned>(payload: &[u8]) -> Result<T, DecodeError> {
    if payload.first() == Some(&b'{') {
        return serde_json::from_slice(payload).map_err(|e| DecodeError(format!("JSON: {e}")));
    }
    let value = rmpv::decode::read_value_with_max_depth(&mut &payload[..], MAX_DEPTH)
        .map_err(|e| DecodeError(format!("msgpack: {e}")))?;
    rmpv::ext::from_value(value).map_err(|e| DecodeError(format!("msgpack: {e}")))
}

/// A message in JSON. What these types hold always serializes, so nothing is ever lost here.
pub(super) fn to_json<T: Serialize>(message: &T) -> Vec<u8> {
    serde_json::to_vec(message).unwrap_or_else(|error| {
        tracing::warn!(%error, "adapter message not encoded");
        Vec::new()
    })
}

/// A message in msgpack as notepack writes it: structs as maps, their keys in the order of
/// the fields (Node's), every number in its smallest form.
pub fn to_msgpack<T: Serialize>(message: &T) -> Vec<u8> {
    rmp_serde::to_vec_named(message).unwrap_or_else(|error| {
        tracing::warn!(%error, "adapter message not encoded");
        Vec::new()
    })
}

/// One variant's fields, from the whole message.
pub(super) fn body<T: DeserializeOwned, E: de::Error>(message: Mp) -> Result<T, E> {
    rmpv::ext::from_value(message).map_err(E::custom)
}
