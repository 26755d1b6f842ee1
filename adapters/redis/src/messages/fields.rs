//! Readers of the fields Node writes loosely, for `#[serde(deserialize_with)]`: a field of the
//! wrong type takes its default, and a room may be a number.

use crate::msgpack::Mp;
use serde::de::{DeserializeOwned, Deserializer};
use serde::Deserialize;
use socketio::adapter::Room;

/// Any value; `T`'s default when it is not a `T` (Node reads what is of the wrong type as
/// falsy or absent). For `#[serde(deserialize_with)]`.
pub fn lenient<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned + Default,
{
    let value = Mp::deserialize(deserializer)?;
    Ok(rmpv::ext::from_value(value).unwrap_or_default())
}

/// Room names: strings, or numbers as Node's `io.to(123)` sends them; anything else in the
/// list is left out, and anything but a list is no rooms. For `#[serde(deserialize_with)]`.
pub fn rooms<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Room>, D::Error> {
    Ok(match Mp::deserialize(deserializer)? {
        Mp::Array(rooms) => rooms.iter().filter_map(room_name).collect(),
        _ => Vec::new(),
    })
}

/// A room as Node publishes it: a string, or a number as JavaScript's `String(n)` writes it.
pub fn room_name(room: &Mp) -> Option<Room> {
    match room {
        Mp::String(s) => s.as_str().map(Room::from),
        Mp::Integer(n) => Some(Room::from(n.to_string())),
        Mp::F64(f) if f.is_finite() => Some(Room::from(js_number(*f))),
        Mp::F32(f) if f.is_finite() => Some(Room::from(js_number(f64::from(*f)))),
        _ => None,
    }
}

fn js_number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e21 {
        // `+ 0.0` makes -0 into 0, as JavaScript writes it.
        format!("{:.0}", f + 0.0)
    } else {
        f.to_string()
    }
}
