//! Binary attachments inside typed event arguments.
//!
//! socket.io lets binary data sit anywhere in an event's arguments. On the wire each buffer is
//! replaced, in the JSON, by `{"_placeholder":true,"num":N}` (N counting from 0 in the order
//! the buffers are met, depth first, left to right), and the buffers follow as separate binary
//! messages, the packet's attachments.
//!
//! [`to_json_with_attachments`] and [`from_json_with_attachments`] move between that form and
//! ordinary serde types: whatever serializes through `serialize_bytes` (such as
//! [`bytes::Bytes`], or `Vec<u8>` under `serde_bytes`) becomes a placeholder and an attachment,
//! and whatever deserializes through `deserialize_bytes` / `deserialize_byte_buf` is given the
//! attachment its placeholder names. Both wrap serde_json's own serializer and deserializer, in
//! one pass and without a `serde_json::Value` in between, so a value without bytes is written
//! byte for byte as `serde_json::to_string` writes it.
//!
//! # Limits
//!
//! - Only types that *ask* for bytes get them. A plain `Vec<u8>` serializes as an array of
//!   numbers and deserializes through `deserialize_seq`, so it neither makes a placeholder nor
//!   accepts one; use `bytes::Bytes` or `serde_bytes`.
//! - serde buffers the input of `#[serde(untagged)]` and internally tagged
//!   (`#[serde(tag = "..")]`) enums, of `#[serde(flatten)]` fields, and of an adjacently tagged
//!   enum whose content comes before its tag, through `deserialize_any` into its own private
//!   representation, which this module cannot reach. A `Bytes` inside such a type sees its
//!   placeholder as a map and fails to deserialize (an error, not wrong data). Serializing such
//!   types works.
//! - A bytes request on a JSON string gets the string's UTF-8 (like serde_json), and on an
//!   array of numbers gets those numbers (serde_json's behaviour); only a placeholder object
//!   becomes an attachment. Placeholder keys other than `_placeholder` and `num` are ignored, as
//!   Node's parser ignores them.
//! - Attachments are copied into the deserialized value: serde hands a visitor a slice or a
//!   `Vec`, never a `Bytes` to share. Serialization copies each buffer once too, for the same
//!   reason.
//! - A buffer used as a map key cannot be a placeholder (JSON keys are strings): that is an
//!   error, as it is with serde_json.

mod de;
mod ser;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;

/// Serializes `value` to compact JSON, replacing every buffer with a placeholder and pushing the
/// buffer to `attachments`.
///
/// A placeholder's `num` is `attachments.len()` when it is written, so several arguments of one
/// packet serialized in turn with the same vector number their buffers as one sequence, as the
/// packet needs. Without buffers the text is exactly `serde_json::to_string`'s. On error,
/// `attachments` is left as it was.
///
/// # Errors
///
/// What `serde_json::to_string` fails on (a `Serialize` impl's own error, a map key that is not
/// a string), a buffer used as a map key included.
///
/// ```
/// use bytes::Bytes;
/// use parser::socketio::to_json_with_attachments;
///
/// #[derive(serde::Serialize)]
/// struct Upload {
///     name: String,
///     file: Bytes,
/// }
///
/// let mut attachments = Vec::new();
/// let upload = Upload { name: "a.png".into(), file: Bytes::from_static(b"\x89PNG") };
/// let json = to_json_with_attachments(&upload, &mut attachments).unwrap();
/// assert_eq!(json, r#"{"name":"a.png","file":{"_placeholder":true,"num":0}}"#);
/// assert_eq!(attachments, [Bytes::from_static(b"\x89PNG")]);
///
/// // The next argument of the same packet numbers its buffers after those.
/// let json = to_json_with_attachments(&Bytes::from_static(b"more"), &mut attachments).unwrap();
/// assert_eq!(json, r#"{"_placeholder":true,"num":1}"#);
/// assert_eq!(attachments.len(), 2);
/// ```
pub fn to_json_with_attachments<T: Serialize + ?Sized>(
    value: &T,
    attachments: &mut Vec<Bytes>,
) -> Result<String, serde_json::Error> {
    let before = attachments.len();
    // serde_json::to_string's starting capacity.
    let mut out = Vec::with_capacity(128);
    let result = value.serialize(ser::Ser {
        inner: &mut serde_json::Serializer::new(&mut out),
        attachments: &RefCell::new(&mut *attachments),
    });
    if let Err(e) = result {
        attachments.truncate(before);
        return Err(e);
    }
    // SAFETY: `out` is valid UTF-8. Only serde_json's serializer (its compact formatter) wrote
    // to it: `Ser` holds that serializer, never `out`, and writes placeholders through it too.
    // serde_json writes only UTF-8: strings from `&str`, escapes, numbers and punctuation in
    // ASCII, raw values from `&str`; `serde_json::to_string` relies on the same.
    #[allow(unsafe_code)]
    let json = unsafe { String::from_utf8_unchecked(out) };
    Ok(json)
}

/// Deserializes `json` as `serde_json::from_str` does, except that a bytes request met on a
/// placeholder `{"_placeholder":true,"num":N}` gets attachment N.
///
/// A placeholder whose `num` is missing, not a non-negative integer, or not below
/// `attachments.len()`, or without `"_placeholder":true`, is an error wherever bytes are
/// expected. Types that do not ask for bytes (`serde_json::Value`, a map) see the placeholder as
/// the object it is.
///
/// # Errors
///
/// What `serde_json::from_str` fails on (malformed JSON, trailing characters, a value of the
/// wrong shape, nesting deeper than 128), and a malformed or out-of-range placeholder where
/// bytes are expected.
///
/// ```
/// use bytes::Bytes;
/// use parser::socketio::from_json_with_attachments;
///
/// #[derive(serde::Deserialize)]
/// struct Upload {
///     name: String,
///     data: Bytes,
/// }
///
/// // The arguments of `socket.emit("upload", {name, data: buf1}, buf2)` from Node.
/// let json = r#"[{"name":"a.png","data":{"_placeholder":true,"num":0}},{"num":1,"_placeholder":true}]"#;
/// let attachments = [Bytes::from_static(b"png"), Bytes::from_static(b"raw")];
/// let (upload, raw): (Upload, Bytes) = from_json_with_attachments(json, &attachments).unwrap();
/// assert_eq!((upload.name.as_str(), &upload.data[..], &raw[..]), ("a.png", &b"png"[..], &b"raw"[..]));
///
/// let out_of_range = r#"{"_placeholder":true,"num":2}"#;
/// assert!(from_json_with_attachments::<Bytes>(out_of_range, &attachments).is_err());
/// ```
pub fn from_json_with_attachments<'de, T: Deserialize<'de>>(
    json: &'de str,
    attachments: &[Bytes],
) -> Result<T, serde_json::Error> {
    let mut inner = serde_json::Deserializer::from_str(json);
    let value = T::deserialize(de::De {
        inner: &mut inner,
        attachments,
    })?;
    inner.end()?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserializer, Serializer};
    use serde_json::value::RawValue;
    use serde_json::{json, Value};
    use std::collections::{BTreeMap, HashMap};

    fn b(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    fn ph(num: usize) -> String {
        format!(r#"{{"_placeholder":true,"num":{num}}}"#)
    }

    /// Serializes, checks the text and attachments, and deserializes back to the same value.
    #[track_caller]
    fn round_trip<T>(value: &T, json: &str, attachments: &[Bytes])
    where
        T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug,
    {
        let mut got = Vec::new();
        let text = to_json_with_attachments(value, &mut got).unwrap();
        assert_eq!(text, json);
        assert_eq!(got, attachments);
        let back: T = from_json_with_attachments(&text, &got).unwrap();
        assert_eq!(&back, value);
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Upload {
        name: String,
        file: Bytes,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Deep {
        id: u32,
        upload: Upload,
        thumbs: Vec<Bytes>,
        preview: Option<Bytes>,
        nested: Vec<Option<Upload>>,
    }

    #[test]
    fn buffers_at_several_depths_are_numbered_depth_first() {
        let value = Deep {
            id: 7,
            upload: Upload {
                name: "a".into(),
                file: b("f0"),
            },
            thumbs: vec![b("t1"), b("t2")],
            preview: Some(b("p3")),
            nested: vec![
                None,
                Some(Upload {
                    name: "b".into(),
                    file: b("n4"),
                }),
            ],
        };
        let json = format!(
            r#"{{"id":7,"upload":{{"name":"a","file":{}}},"thumbs":[{},{}],"preview":{},"nested":[null,{{"name":"b","file":{}}}]}}"#,
            ph(0),
            ph(1),
            ph(2),
            ph(3),
            ph(4)
        );
        round_trip(
            &value,
            &json,
            &[b("f0"), b("t1"), b("t2"), b("p3"), b("n4")],
        );
    }

    #[test]
    fn exact_text_of_a_simple_struct() {
        round_trip(
            &Upload {
                name: "a".into(),
                file: b("x"),
            },
            r#"{"name":"a","file":{"_placeholder":true,"num":0}}"#,
            &[b("x")],
        );
    }

    #[test]
    fn options_vecs_maps_and_tuples() {
        round_trip(&Some(b("x")), &ph(0), &[b("x")]);
        round_trip(&None::<Bytes>, "null", &[]);
        round_trip(&Vec::<Bytes>::new(), "[]", &[]);
        round_trip(
            &vec![b("a"), b("b")],
            &format!("[{},{}]", ph(0), ph(1)),
            &[b("a"), b("b")],
        );
        let map: BTreeMap<String, Bytes> = [("k".into(), b("v")), ("l".into(), b("w"))].into();
        round_trip(
            &map,
            &format!(r#"{{"k":{},"l":{}}}"#, ph(0), ph(1)),
            &[b("v"), b("w")],
        );
        let map: HashMap<String, Bytes> = [("only".into(), b("v"))].into();
        round_trip(&map, &format!(r#"{{"only":{}}}"#, ph(0)), &[b("v")]);
        round_trip(
            &("s".to_owned(), b("x")),
            &format!(r#"["s",{}]"#, ph(0)),
            &[b("x")],
        );
        round_trip(
            &(b("x"), (1u8, b("y"))),
            &format!(r#"[{},[1,{}]]"#, ph(0), ph(1)),
            &[b("x"), b("y")],
        );
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Newtype(Bytes);

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Pair(String, Bytes);

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Message {
        Ping,
        Blob(Bytes),
        Two(Bytes, Option<Bytes>),
        File { name: String, data: Bytes },
    }

    #[test]
    fn newtypes_tuple_structs_and_enums() {
        round_trip(&Newtype(b("x")), &ph(0), &[b("x")]);
        round_trip(
            &Pair("p".into(), b("x")),
            &format!(r#"["p",{}]"#, ph(0)),
            &[b("x")],
        );
        round_trip(&Message::Ping, r#""Ping""#, &[]);
        round_trip(
            &Message::Blob(b("x")),
            &format!(r#"{{"Blob":{}}}"#, ph(0)),
            &[b("x")],
        );
        round_trip(
            &Message::Two(b("x"), Some(b("y"))),
            &format!(r#"{{"Two":[{},{}]}}"#, ph(0), ph(1)),
            &[b("x"), b("y")],
        );
        round_trip(
            &vec![
                Message::File {
                    name: "n".into(),
                    data: b("x"),
                },
                Message::Blob(b("y")),
            ],
            &format!(
                r#"[{{"File":{{"name":"n","data":{}}}}},{{"Blob":{}}}]"#,
                ph(0),
                ph(1)
            ),
            &[b("x"), b("y")],
        );
    }

    /// What `#[serde(with = "serde_bytes")]` does for a `Vec<u8>`.
    mod as_bytes {
        use super::*;

        pub(super) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(v)
        }

        pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
            struct V;
            impl serde::de::Visitor<'_> for V {
                type Value = Vec<u8>;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("bytes")
                }
                fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                    Ok(v)
                }
            }
            d.deserialize_byte_buf(V)
        }
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct WithVec {
        #[serde(with = "as_bytes")]
        raw: Vec<u8>,
        plain: Vec<u8>,
    }

    #[test]
    fn any_type_that_asks_for_bytes_gets_a_placeholder_but_a_plain_vec_does_not() {
        round_trip(
            &WithVec {
                raw: vec![1, 2],
                plain: vec![3],
            },
            &format!(r#"{{"raw":{},"plain":[3]}}"#, ph(0)),
            &[Bytes::from_static(&[1, 2])],
        );
    }

    #[test]
    fn numbering_continues_after_existing_attachments() {
        let mut attachments = vec![b("earlier")];
        let json = to_json_with_attachments(&(b("x"), b("y")), &mut attachments).unwrap();
        assert_eq!(json, format!("[{},{}]", ph(1), ph(2)));
        assert_eq!(attachments, [b("earlier"), b("x"), b("y")]);
    }

    #[test]
    fn a_failed_serialization_leaves_attachments_as_they_were() {
        let mut attachments = vec![b("earlier")];
        // A buffer as a map key cannot be written; the value before it was.
        let value: Vec<BTreeMap<Bytes, u8>> = vec![[(b("k"), 1)].into()];
        let value = (b("x"), value);
        assert!(to_json_with_attachments(&value, &mut attachments).is_err());
        assert_eq!(attachments, [b("earlier")]);
    }

    #[test]
    fn without_buffers_the_text_is_serde_jsons() {
        let value = json!({"a": [1, 2.5, null, true, "é\n\u{1}"], "b": {"c": -3, "d": u64::MAX}});
        let mut attachments = Vec::new();
        assert_eq!(
            to_json_with_attachments(&value, &mut attachments).unwrap(),
            serde_json::to_string(&value).unwrap()
        );
        assert!(attachments.is_empty());
        let odd = (f64::NAN, 'c', (), i128::MIN, u128::MAX, "x".to_owned());
        assert_eq!(
            to_json_with_attachments(&odd, &mut attachments).unwrap(),
            serde_json::to_string(&odd).unwrap()
        );
    }

    #[test]
    fn raw_values_pass_through_both_ways() {
        #[derive(Serialize, Deserialize)]
        struct Mixed<'a> {
            #[serde(borrow)]
            raw: &'a RawValue,
            file: Bytes,
            name: &'a str,
        }
        let raw = RawValue::from_string(r#"{"x": [1, 2]}"#.into()).unwrap();
        let mixed = Mixed {
            raw: &raw,
            file: b("f"),
            name: "n",
        };
        let mut attachments = Vec::new();
        let json = to_json_with_attachments(&mixed, &mut attachments).unwrap();
        assert_eq!(
            json,
            format!(r#"{{"raw":{{"x": [1, 2]}},"file":{},"name":"n"}}"#, ph(0))
        );
        let back: Mixed<'_> = from_json_with_attachments(&json, &attachments).unwrap();
        assert_eq!(back.raw.get(), r#"{"x": [1, 2]}"#);
        assert_eq!(back.file, b("f"));
        // Borrowed from the text: the wrapper keeps serde_json's zero-copy strings.
        assert!(json.as_bytes().as_ptr_range().contains(&back.name.as_ptr()));
    }

    #[test]
    fn a_node_socket_io_payload_decodes_into_typed_arguments() {
        #[derive(Deserialize)]
        struct Upload {
            name: String,
            data: Bytes,
        }
        let json = r#"["upload",{"name":"a.png","data":{"_placeholder":true,"num":0}},{"_placeholder":true,"num":1}]"#;
        let attachments = [b("png bytes"), b("second")];
        let (event, upload, extra): (String, Upload, Bytes) =
            from_json_with_attachments(json, &attachments).unwrap();
        assert_eq!(event, "upload");
        assert_eq!(upload.name, "a.png");
        assert_eq!(upload.data, attachments[0]);
        assert_eq!(extra, attachments[1]);
    }

    #[test]
    fn placeholder_keys_may_come_in_any_order_with_extra_keys() {
        let attachments = [b("a"), b("b")];
        for json in [
            r#"{"num":1,"_placeholder":true}"#,
            r#" { "_placeholder" : true , "extra" : [1, {"x": null}], "num" : 1 } "#,
            r#"{"\u005fplaceholder":true,"num":1}"#,
        ] {
            let got: Bytes = from_json_with_attachments(json, &attachments).unwrap();
            assert_eq!(got, b("b"), "{json}");
        }
    }

    #[test]
    fn malformed_placeholders_are_errors() {
        let attachments = [b("a")];
        for json in [
            r#"{"_placeholder":true,"num":1}"#,
            r#"{"_placeholder":true,"num":18446744073709551615}"#,
            r#"{"_placeholder":true,"num":-1}"#,
            r#"{"_placeholder":true,"num":0.5}"#,
            r#"{"_placeholder":true,"num":"0"}"#,
            r#"{"_placeholder":true,"num":null}"#,
            r#"{"_placeholder":true}"#,
            r#"{"num":0}"#,
            r#"{"_placeholder":false,"num":0}"#,
            r#"{"_placeholder":1,"num":0}"#,
            r#"{"_placeholder":true,"num":0,"num":0}"#,
            r#"{"_placeholder":true,"_placeholder":true,"num":0}"#,
            r#"{"_placeholder":true,"num":0"#,
            r#"{}"#,
            "5",
            "null",
            r#"{"_placeholder":true,"num":0} x"#,
        ] {
            assert!(
                from_json_with_attachments::<Bytes>(json, &attachments).is_err(),
                "{json}"
            );
        }
        let err = from_json_with_attachments::<Upload>(
            r#"{"name":"a","file":{"_placeholder":true,"num":3}}"#,
            &attachments,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("placeholder 3 out of range"),
            "{err}"
        );
    }

    #[test]
    fn bytes_requests_on_strings_and_arrays_behave_as_in_serde_json() {
        for json in [r#""h\u00e9""#, "[104,195,169]", "[]"] {
            assert_eq!(
                from_json_with_attachments::<Bytes>(json, &[]).unwrap(),
                serde_json::from_str::<Bytes>(json).unwrap(),
                "{json}"
            );
        }
        assert!(from_json_with_attachments::<Bytes>("[256]", &[]).is_err());
    }

    #[test]
    fn targets_that_do_not_ask_for_bytes_see_the_object() {
        let json = format!(r#"["x",{},{{"a":{}}}]"#, ph(0), ph(5));
        let value: Value = from_json_with_attachments(&json, &[b("a")]).unwrap();
        assert_eq!(value, serde_json::from_str::<Value>(&json).unwrap());
        assert_eq!(value[1], json!({"_placeholder": true, "num": 0}));
        // `true` is not a u32: the map's own error, placeholders play no part.
        assert!(from_json_with_attachments::<HashMap<String, u32>>(&ph(0), &[]).is_err());
        let map: HashMap<String, Value> = from_json_with_attachments(&ph(0), &[]).unwrap();
        assert_eq!(map["num"], json!(0));
    }

    #[test]
    fn buffered_serde_attributes_are_a_documented_limit() {
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        #[serde(untagged)]
        enum Untagged {
            File { data: Bytes },
        }
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct Outer {
            #[serde(flatten)]
            inner: Upload,
        }
        let mut attachments = Vec::new();
        let json =
            to_json_with_attachments(&Untagged::File { data: b("x") }, &mut attachments).unwrap();
        assert_eq!(json, format!(r#"{{"data":{}}}"#, ph(0)));
        assert!(from_json_with_attachments::<Untagged>(&json, &attachments).is_err());

        let outer = Outer {
            inner: Upload {
                name: "n".into(),
                file: b("y"),
            },
        };
        let json = to_json_with_attachments(&outer, &mut attachments).unwrap();
        assert_eq!(json, format!(r#"{{"name":"n","file":{}}}"#, ph(1)));
        assert!(from_json_with_attachments::<Outer>(&json, &attachments).is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(from_json_with_attachments::<Value>(&deep, &[]).is_err());
        assert!(from_json_with_attachments::<Vec<Bytes>>(&deep, &[]).is_err());
        let deep = r#"{"a":"#.repeat(100_000);
        assert!(from_json_with_attachments::<Value>(&deep, &[]).is_err());
    }
}
