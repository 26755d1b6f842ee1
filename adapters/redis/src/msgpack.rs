//! Between event arguments as this server holds them (raw JSON, with binary parts as
//! `{"_placeholder":true,"num":n}` and the bytes beside) and as Node's adapter publishes them
//! (msgpack values with the binary inline).

use bytes::Bytes;
use parser::Str;
pub use rmpv::Value as Mp;
use serde_json::Value as Json;

/// Our arguments as msgpack values, each placeholder replaced by its bytes.
pub fn args_to_msgpack(args: &[Str], attachments: &[Bytes]) -> Result<Vec<Mp>, serde_json::Error> {
    args.iter()
        .map(|arg| Ok(from_json(serde_json::from_str(arg)?, attachments)))
        .collect()
}

/// Msgpack values as our arguments: raw JSON, with each binary part moved to the attachments.
pub fn msgpack_to_args(values: &[Mp]) -> (Vec<Str>, Vec<Bytes>) {
    let mut attachments = Vec::new();
    let args = values
        .iter()
        .map(|value| Str::from(to_json(value, &mut attachments).to_string()))
        .collect();
    (args, attachments)
}

/// A JSON value as msgpack, each placeholder that points into `attachments` replaced by its
/// bytes.
pub fn from_json(value: Json, attachments: &[Bytes]) -> Mp {
    match value {
        Json::Null => Mp::Nil,
        Json::Bool(b) => Mp::Boolean(b),
        Json::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Mp::from(u),
            (None, Some(i)) => Mp::from(i),
            _ => Mp::F64(n.as_f64().unwrap_or(0.0)),
        },
        Json::String(s) => Mp::from(s),
        Json::Array(items) => Mp::Array(
            items
                .into_iter()
                .map(|v| from_json(v, attachments))
                .collect(),
        ),
        Json::Object(map) => {
            if let Some(bytes) = placeholder(&map).and_then(|n| attachments.get(n)) {
                return Mp::Binary(bytes.to_vec());
            }
            Mp::Map(
                map.into_iter()
                    .map(|(k, v)| (Mp::from(k), from_json(v, attachments)))
                    .collect(),
            )
        }
    }
}

/// A msgpack value as JSON, each binary part moved to `attachments` and replaced by its
/// placeholder.
pub fn to_json(value: &Mp, attachments: &mut Vec<Bytes>) -> Json {
    match value {
        Mp::Nil => Json::Null,
        Mp::Boolean(b) => Json::Bool(*b),
        Mp::Integer(i) => match (i.as_u64(), i.as_i64()) {
            (Some(u), _) => Json::from(u),
            (None, Some(i)) => Json::from(i),
            _ => Json::Null,
        },
        Mp::F32(f) => Json::from(f64::from(*f)),
        Mp::F64(f) => Json::from(*f),
        Mp::String(s) => Json::String(s.as_str().map_or_else(
            || String::from_utf8_lossy(s.as_bytes()).into_owned(),
            str::to_owned,
        )),
        Mp::Binary(bytes) => {
            attachments.push(Bytes::copy_from_slice(bytes));
            serde_json::json!({ "_placeholder": true, "num": attachments.len() - 1 })
        }
        Mp::Array(items) => Json::Array(items.iter().map(|v| to_json(v, attachments)).collect()),
        Mp::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| (key(k), to_json(v, attachments)))
                .collect(),
        ),
        // notepack's extension types (dates, undefined) have no JSON form; Node's JSON
        // encoder would also drop or stringify them.
        Mp::Ext(..) => Json::Null,
    }
}

fn key(k: &Mp) -> String {
    match k {
        Mp::String(s) => s.as_str().unwrap_or_default().to_owned(),
        other => other.to_string(),
    }
}

fn placeholder(map: &serde_json::Map<String, Json>) -> Option<usize> {
    if map.len() == 2 && map.get("_placeholder") == Some(&Json::Bool(true)) {
        map.get("num")?.as_u64().map(|n| n as usize)
    } else {
        None
    }
}

/// The field `name` of a msgpack map.
pub fn field<'a>(map: &'a Mp, name: &str) -> Option<&'a Mp> {
    map.as_map()?
        .iter()
        .find(|(k, _)| k.as_str() == Some(name))
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_round_trips_through_placeholders() {
        let args = vec![Str::from(
            r#"{"a":1,"b":{"_placeholder":true,"num":0},"c":[-2,1.5,"x",null]}"#,
        )];
        let attachments = vec![Bytes::from_static(b"\x00\x01")];
        let values = args_to_msgpack(&args, &attachments).unwrap();
        assert_eq!(field(&values[0], "b"), Some(&Mp::Binary(vec![0, 1])));
        let (back, back_attachments) = msgpack_to_args(&values);
        assert_eq!(back_attachments, attachments);
        let json: Json = serde_json::from_str(&back[0]).unwrap();
        assert_eq!(json, serde_json::from_str::<Json>(&args[0]).unwrap());
    }
}
