//! Between user data and the wire: serde values to raw JSON arguments and back, binary
//! attachments included, and packets to the engine frames that carry them.

use bytes::Bytes;

use parser::Str;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;

/// One argument as raw JSON; any bytes inside become placeholders appended to `attachments`.
pub(crate) fn to_arg<T: Serialize + ?Sized>(
    data: &T,
    attachments: &mut Vec<Bytes>,
) -> Result<Str, serde_json::Error> {
    parser::socketio::to_json_with_attachments(data, attachments).map(Str::from)
}

/// Several arguments from a value that serializes as a sequence (a tuple or a `Vec`); `()`
/// is no argument at all.
pub(crate) fn to_args<T: Serialize + ?Sized>(
    data: &T,
    attachments: &mut Vec<Bytes>,
) -> Result<Vec<Str>, serde_json::Error> {
    let array = to_arg(data, attachments)?;
    if array.as_str() == "null" {
        return Ok(Vec::new());
    }
    split_array(&array)
}

/// The elements of a JSON array, each sharing the array's memory.
pub(crate) fn split_array(array: &Str) -> Result<Vec<Str>, serde_json::Error> {
    let items: Vec<&RawValue> = serde_json::from_str(array)?;
    Ok(items
        .into_iter()
        .map(|raw| {
            let text = raw.get();
            // `raw` borrows `array`, so its offset locates it there.
            let start = text.as_ptr() as usize - array.as_ptr() as usize;
            Str::from_utf8(array.as_bytes().slice(start..start + text.len())).unwrap_or_default()
        })
        .collect())
}

/// One argument into a user type, placeholders resolved from `attachments`.
pub(crate) fn from_arg<T: DeserializeOwned>(
    raw: &str,
    attachments: &[Bytes],
) -> Result<T, serde_json::Error> {
    parser::socketio::from_json_with_attachments(raw, attachments)
}

/// The first argument into a user type (`null` when there is none): what `Data<T>` and
/// acknowledgements deserialize.
pub(crate) fn from_first_arg<T: DeserializeOwned>(
    args: &[Str],
    attachments: &[Bytes],
) -> Result<T, serde_json::Error> {
    from_arg(args.first().map_or("null", |a| a.as_str()), attachments)
}

/// Several arguments as one sequence (a tuple or a `Vec`).
pub(crate) fn from_args<T: DeserializeOwned>(
    args: &[Str],
    attachments: &[Bytes],
) -> Result<T, serde_json::Error> {
    let mut array = String::with_capacity(2 + args.iter().map(|a| a.len() + 1).sum::<usize>());
    array.push('[');
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            array.push(',');
        }
        array.push_str(arg);
    }
    array.push(']');
    from_arg(&array, attachments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_a_tuple_into_arguments() {
        let mut attachments = Vec::new();
        let args = to_args(&("a", 1, [true]), &mut attachments).unwrap();
        assert_eq!(
            args,
            vec![Str::from("\"a\""), Str::from("1"), Str::from("[true]")]
        );
        let back: (String, u8, Vec<bool>) = from_args(&args, &attachments).unwrap();
        assert_eq!(back, ("a".to_owned(), 1, vec![true]));
        assert!(to_args(&(), &mut attachments).unwrap().is_empty());
    }

    #[test]
    fn bytes_become_attachments_and_come_back() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct Upload {
            name: String,
            data: Bytes,
        }
        let upload = Upload {
            name: "a.png".into(),
            data: Bytes::from_static(&[1, 2, 3]),
        };
        let mut attachments = Vec::new();
        let arg = to_arg(&upload, &mut attachments).unwrap();
        assert_eq!(
            arg,
            r#"{"name":"a.png","data":{"_placeholder":true,"num":0}}"#
        );
        assert_eq!(attachments, vec![Bytes::from_static(&[1, 2, 3])]);
        let back: Upload = from_arg(&arg, &attachments).unwrap();
        assert_eq!(back, upload);
    }
}
