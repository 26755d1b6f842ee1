use crate::Str;
use serde_json::value::RawValue;

/// The seven socket.io packet types; each one's value is its wire digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketType {
    /// `0`: a client joins a namespace, or the server accepts it.
    Connect = 0,
    /// `1`: either side leaves a namespace.
    Disconnect = 1,
    /// `2`: an event without binary attachments.
    Event = 2,
    /// `3`: an acknowledgement without binary attachments.
    Ack = 3,
    /// `4`: the server refuses a CONNECT.
    ConnectError = 4,
    /// `5`: an event followed by binary attachments.
    BinaryEvent = 5,
    /// `6`: an acknowledgement followed by binary attachments.
    BinaryAck = 6,
}

impl PacketType {
    fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            b'0' => Self::Connect,
            b'1' => Self::Disconnect,
            b'2' => Self::Event,
            b'3' => Self::Ack,
            b'4' => Self::ConnectError,
            b'5' => Self::BinaryEvent,
            b'6' => Self::BinaryAck,
            _ => return None,
        })
    }
}

/// Event names a client may not emit: they are the server's own events.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// A socket.io packet: a namespace and what is said in it.
///
/// Its text is what an engine.io message carries after the `4`. Arguments are raw JSON text
/// ([`Str`]), which the caller serializes and deserializes with its own types (binary data
/// through [`to_json_with_attachments`](super::to_json_with_attachments) and
/// [`from_json_with_attachments`](super::from_json_with_attachments)).
///
/// ```
/// use parser::socketio::{Packet, PacketData, PacketType, DEFAULT_MAX_ATTACHMENTS};
///
/// // socket.emit("chat", "hi", 2) on /rooms, with an ack callback (id 5).
/// let mut packet = Packet::event("/rooms", "chat", vec![r#""hi""#.into(), "2".into()]);
/// if let PacketData::Event(event) = &mut packet.data {
///     event.id = Some(5);
/// }
/// let text = packet.encode();
/// assert_eq!(text, r#"2/rooms,5["chat","hi",2]"#);
///
/// let back = Packet::decode(text.into(), DEFAULT_MAX_ATTACHMENTS).unwrap();
/// assert_eq!(back, packet);
/// assert_eq!(back.packet_type(), PacketType::Event);
///
/// // The namespace `/` is left out on the wire; reserved event names are refused.
/// assert_eq!(Packet::connect("/", None).encode(), "0");
/// assert!(Packet::decode(r#"2["disconnect"]"#.into(), DEFAULT_MAX_ATTACHMENTS).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The namespace, `/` when the wire omits it.
    pub nsp: Str,
    /// What the packet says, by type.
    pub data: PacketData,
}

/// What a [`Packet`] says: one variant per type, the binary types folded into
/// [`PacketData::Event`] and [`PacketData::Ack`] (their `attachments` tell them apart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PacketData {
    /// From a client: the auth object, if any. From the server: `{"sid":..}`.
    Connect(Option<Str>),
    /// Leaving the namespace.
    Disconnect,
    /// An EVENT or BINARY_EVENT.
    Event(Event),
    /// An ACK or BINARY_ACK.
    Ack(Ack),
    /// Why a CONNECT was refused: a JSON object (`{"message":..,"data":..}`) or string.
    ConnectError(Option<Str>),
}

/// An EVENT or BINARY_EVENT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event name, unescaped. A numeric name (which Node accepts) is its JSON text.
    pub name: Str,
    /// The arguments after the name, each raw JSON.
    pub args: Vec<Str>,
    /// Set when the sender wants an acknowledgement.
    pub id: Option<u64>,
    /// `Some(n)` for a BINARY_EVENT followed by `n` binary attachments.
    pub attachments: Option<usize>,
}

/// An ACK or BINARY_ACK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// The id of the event being acknowledged.
    pub id: u64,
    /// The acknowledgement's arguments, each raw JSON.
    pub args: Vec<Str>,
    /// `Some(n)` for a BINARY_ACK followed by `n` binary attachments.
    pub attachments: Option<usize>,
}

/// Why a text frame is not a valid socket.io packet. Node's server closes the connection on
/// every one of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The text is empty or does not start with a type digit.
    #[error("unknown packet type")]
    UnknownType,
    /// A binary packet without its `<count>-` prefix.
    #[error("illegal attachments")]
    IllegalAttachments,
    /// A binary packet announcing more attachments than the decoder accepts.
    #[error("too many attachments")]
    TooManyAttachments,
    /// An ack id that does not fit a `u64`, or an ACK without one.
    #[error("invalid ack id")]
    InvalidAckId,
    /// The JSON is malformed or not what the type carries (an object for CONNECT, an array
    /// starting with an event name that is not reserved for EVENT, ...), or there is data where
    /// the type carries none.
    #[error("invalid payload")]
    InvalidPayload,
    /// A text message while a binary packet awaits attachments ([`Decoder`](super::Decoder)).
    #[error("got text data while waiting for binary attachments")]
    UnexpectedText,
    /// A binary message when no packet awaits attachments ([`Decoder`](super::Decoder)).
    #[error("got binary data when not reconstructing a packet")]
    UnexpectedBinary,
}

impl Packet {
    /// A CONNECT answer or request, with its JSON object if any.
    #[must_use]
    pub fn connect(nsp: impl Into<Str>, data: Option<Str>) -> Self {
        Self {
            nsp: nsp.into(),
            data: PacketData::Connect(data),
        }
    }

    /// A DISCONNECT from the namespace.
    #[must_use]
    pub fn disconnect(nsp: impl Into<Str>) -> Self {
        Self {
            nsp: nsp.into(),
            data: PacketData::Disconnect,
        }
    }

    /// An EVENT with arguments given as raw JSON, without an ack id or attachments (set them
    /// on the [`Event`]).
    #[must_use]
    pub fn event(nsp: impl Into<Str>, name: impl Into<Str>, args: Vec<Str>) -> Self {
        Self {
            nsp: nsp.into(),
            data: PacketData::Event(Event {
                name: name.into(),
                args,
                id: None,
                attachments: None,
            }),
        }
    }

    /// An ACK with arguments given as raw JSON.
    #[must_use]
    pub fn ack(nsp: impl Into<Str>, id: u64, args: Vec<Str>) -> Self {
        Self {
            nsp: nsp.into(),
            data: PacketData::Ack(Ack {
                id,
                args,
                attachments: None,
            }),
        }
    }

    /// A CONNECT_ERROR carrying raw JSON (an object or a string).
    #[must_use]
    pub fn connect_error(nsp: impl Into<Str>, data: Str) -> Self {
        Self {
            nsp: nsp.into(),
            data: PacketData::ConnectError(Some(data)),
        }
    }

    /// The packet's type on the wire: BINARY_EVENT or BINARY_ACK when attachments are set.
    #[must_use]
    pub fn packet_type(&self) -> PacketType {
        match &self.data {
            PacketData::Connect(_) => PacketType::Connect,
            PacketData::Disconnect => PacketType::Disconnect,
            PacketData::Event(e) if e.attachments.is_some() => PacketType::BinaryEvent,
            PacketData::Event(_) => PacketType::Event,
            PacketData::Ack(a) if a.attachments.is_some() => PacketType::BinaryAck,
            PacketData::Ack(_) => PacketType::Ack,
            PacketData::ConnectError(_) => PacketType::ConnectError,
        }
    }

    /// How many binary attachments follow this packet.
    #[must_use]
    pub fn attachments(&self) -> usize {
        self.announced_attachments().unwrap_or(0)
    }

    /// The attachment count the packet's text announces (`N-`), if it announces one.
    fn announced_attachments(&self) -> Option<usize> {
        match &self.data {
            PacketData::Event(Event { attachments, .. })
            | PacketData::Ack(Ack { attachments, .. }) => *attachments,
            _ => None,
        }
    }

    /// The packet as text.
    #[must_use]
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(self.encoded_len());
        self.encode_into(&mut out);
        out
    }

    /// The length in bytes of the text [`Packet::encode_into`] writes, to size a buffer once
    /// and exactly: a `String` with room to spare, turned into shared bytes, costs one
    /// allocation more than one without.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        let mut len = 1;
        if let Some(n) = self.announced_attachments() {
            len += decimal_len(n as u64) + 1;
        }
        if self.nsp.as_str() != "/" {
            len += self.nsp.len() + 1;
        }
        len + match &self.data {
            PacketData::Connect(data) | PacketData::ConnectError(data) => {
                data.as_ref().map_or(0, |data| data.len())
            }
            PacketData::Disconnect => 0,
            PacketData::Event(event) => {
                let args: usize = event.args.iter().map(|arg| arg.len() + 1).sum();
                event.id.map_or(0, decimal_len) + 2 + json_string_len(&event.name) + args
            }
            PacketData::Ack(ack) => {
                let args: usize = ack.args.iter().map(|arg| arg.len()).sum();
                decimal_len(ack.id) + 2 + args + ack.args.len().saturating_sub(1)
            }
        }
    }

    /// Appends the packet's text to `out`; a server prefixes `4` to make the engine.io message.
    pub fn encode_into(&self, out: &mut String) {
        out.push((b'0' + self.packet_type() as u8) as char);
        if let Some(n) = self.announced_attachments() {
            push_decimal(out, n as u64);
            out.push('-');
        }
        if self.nsp.as_str() != "/" {
            out.push_str(&self.nsp);
            out.push(',');
        }
        match &self.data {
            PacketData::Connect(data) | PacketData::ConnectError(data) => {
                if let Some(data) = data {
                    out.push_str(data);
                }
            }
            PacketData::Disconnect => {}
            PacketData::Event(event) => {
                if let Some(id) = event.id {
                    push_decimal(out, id);
                }
                out.push('[');
                push_json_string(out, &event.name);
                for arg in &event.args {
                    out.push(',');
                    out.push_str(arg);
                }
                out.push(']');
            }
            PacketData::Ack(ack) => {
                push_decimal(out, ack.id);
                push_json_array(out, &ack.args);
            }
        }
    }

    /// Decodes the text of one packet. `max_attachments` bounds what a binary packet may
    /// announce, since the receiver holds them all until the packet completes. A
    /// [`Decoder`](super::Decoder) also collects the attachments that follow.
    ///
    /// # Errors
    ///
    /// Why the text is not a packet, as a [`DecodeError`] (never `UnexpectedText` nor
    /// `UnexpectedBinary`, which are the [`Decoder`](super::Decoder)'s).
    pub fn decode(text: Str, max_attachments: usize) -> Result<Packet, DecodeError> {
        let s = text.as_str();
        let bytes = s.as_bytes();
        let packet_type = bytes
            .first()
            .and_then(|&b| PacketType::from_byte(b))
            .ok_or(DecodeError::UnknownType)?;
        // Every index below lands on an ASCII byte or the end, so slicing is on char boundaries.
        let mut i = 1;

        let binary = matches!(packet_type, PacketType::BinaryEvent | PacketType::BinaryAck);
        let attachments = if binary {
            let digits = count_digits(&bytes[i..]);
            if digits == 0 || bytes.get(i + digits) != Some(&b'-') {
                return Err(DecodeError::IllegalAttachments);
            }
            let n: usize = s[i..i + digits]
                .parse()
                .map_err(|_| DecodeError::TooManyAttachments)?;
            if n > max_attachments {
                return Err(DecodeError::TooManyAttachments);
            }
            i += digits + 1;
            Some(n)
        } else {
            None
        };

        let nsp = if bytes.get(i) == Some(&b'/') {
            let end = s[i..].find(',').map_or(s.len(), |at| i + at);
            let nsp = text.slice_ref(&s[i..end]);
            i = (end + 1).min(s.len());
            nsp
        } else {
            Str::from_static("/")
        };

        let digits = count_digits(&bytes[i..]);
        let id = if digits > 0 {
            let id = s[i..i + digits]
                .parse::<u64>()
                .map_err(|_| DecodeError::InvalidAckId)?;
            i += digits;
            Some(id)
        } else {
            None
        };

        // What follows the header, read in place: the values kept are slices of `text`.
        let payload = (i < s.len()).then(|| &s[i..]);
        let data = match (packet_type, payload) {
            (PacketType::Connect, None) => PacketData::Connect(None),
            (PacketType::Connect, Some(p)) => PacketData::Connect(Some(json_object(&text, p)?)),
            (PacketType::Disconnect, None) => PacketData::Disconnect,
            (PacketType::ConnectError, None) => PacketData::ConnectError(None),
            (PacketType::ConnectError, Some(p)) => {
                PacketData::ConnectError(Some(json_object_or_string(&text, p)?))
            }
            (PacketType::Event | PacketType::BinaryEvent, Some(p)) => {
                let mut args = json_array(&text, p)?;
                let name = args
                    .first()
                    .and_then(event_name)
                    .ok_or(DecodeError::InvalidPayload)?;
                // Shifting the few arguments down keeps the list's allocation, which
                // collecting the rest of an iterator would not.
                args.remove(0);
                PacketData::Event(Event {
                    name,
                    args,
                    id,
                    attachments,
                })
            }
            (PacketType::Ack | PacketType::BinaryAck, Some(p)) => PacketData::Ack(Ack {
                id: id.ok_or(DecodeError::InvalidAckId)?,
                args: json_array(&text, p)?,
                attachments,
            }),
            _ => return Err(DecodeError::InvalidPayload),
        };
        Ok(Packet { nsp, data })
    }
}

impl PacketData {
    /// Marks an EVENT or ACK as carrying `n` binary attachments (a BINARY_EVENT or BINARY_ACK
    /// for the default parser), or none when `n` is 0; other packets carry none.
    pub fn set_attachments(&mut self, n: usize) {
        let n = (n > 0).then_some(n);
        match self {
            PacketData::Event(Event { attachments, .. })
            | PacketData::Ack(Ack { attachments, .. }) => *attachments = n,
            _ => {}
        }
    }
}

fn count_digits(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// The JSON value that is the whole of `payload` (a part of `text`), with surrounding
/// whitespace trimmed, as a slice of `text`.
fn json_value(text: &Str, payload: &str) -> Result<Str, DecodeError> {
    let raw: &RawValue = serde_json::from_str(payload).map_err(|_| DecodeError::InvalidPayload)?;
    Ok(text.slice_ref(raw.get()))
}

fn json_object(text: &Str, payload: &str) -> Result<Str, DecodeError> {
    let value = json_value(text, payload)?;
    match value.as_bytes().first() {
        Some(b'{') => Ok(value),
        _ => Err(DecodeError::InvalidPayload),
    }
}

fn json_object_or_string(text: &Str, payload: &str) -> Result<Str, DecodeError> {
    let value = json_value(text, payload)?;
    match value.as_bytes().first() {
        Some(b'{' | b'"') => Ok(value),
        _ => Err(DecodeError::InvalidPayload),
    }
}

/// The elements of the JSON array `payload` (a part of `text`), each as raw JSON sharing
/// `text`'s memory. Read straight into the list of slices: every event goes through here, so
/// no list in between.
fn json_array(text: &Str, payload: &str) -> Result<Vec<Str>, DecodeError> {
    let mut de = serde_json::Deserializer::from_str(payload);
    let elements = serde::Deserializer::deserialize_seq(&mut de, Slices(text))
        .and_then(|elements| de.end().map(|()| elements));
    elements.map_err(|_| DecodeError::InvalidPayload)
}

/// Collects a JSON array's elements as slices of the text they were read from.
struct Slices<'p>(&'p Str);

impl<'de> serde::de::Visitor<'de> for Slices<'_> {
    type Value = Vec<Str>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON array")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Str>, A::Error> {
        let mut elements = Vec::with_capacity(seq.size_hint().unwrap_or(4));
        while let Some(raw) = seq.next_element::<&'de RawValue>()? {
            elements.push(self.0.slice_ref(raw.get()));
        }
        Ok(elements)
    }
}

/// A string that is not reserved, or a number, as Node accepts for an event name.
fn event_name(raw: &Str) -> Option<Str> {
    match raw.as_bytes().first()? {
        b'"' => {
            // Without escapes the name is a slice of the frame, no copy (serde reads a
            // `Cow<str>` as owned always, so the borrowed form is asked for first).
            let name: Str = match serde_json::from_str::<&str>(raw) {
                Ok(name) => raw.slice_ref(name),
                Err(_) => serde_json::from_str::<String>(raw).ok()?.into(),
            };
            if RESERVED_EVENTS.contains(&name.as_str()) {
                return None;
            }
            Some(name)
        }
        b'-' | b'0'..=b'9' => Some(raw.clone()),
        _ => None,
    }
}

fn push_decimal(out: &mut String, n: u64) {
    out.push_str(itoa::Buffer::new().format(n));
}

fn decimal_len(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |log| log as usize + 1)
}

/// Whether JSON writes `s` as a string with escapes (a quote, a backslash or a control
/// character); event names almost never need any.
fn needs_escapes(s: &str) -> bool {
    s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\')
}

fn push_json_string(out: &mut String, s: &str) {
    if needs_escapes(s) {
        // Serializing a str to JSON cannot fail.
        out.push_str(&serde_json::to_string(s).unwrap_or_default());
    } else {
        out.push('"');
        out.push_str(s);
        out.push('"');
    }
}

fn json_string_len(s: &str) -> usize {
    if needs_escapes(s) {
        serde_json::to_string(s).map_or(0, |json| json.len())
    } else {
        s.len() + 2
    }
}

fn push_json_array(out: &mut String, items: &[Str]) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(item);
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(s: &str) -> Result<Packet, DecodeError> {
        Packet::decode(s.into(), 10)
    }

    fn event(p: &Packet) -> &Event {
        match &p.data {
            PacketData::Event(e) => e,
            other => panic!("not an event: {other:?}"),
        }
    }

    #[test]
    fn decodes_connect_with_and_without_namespace_and_auth() {
        assert_eq!(decode("0").unwrap(), Packet::connect("/", None));
        assert_eq!(decode("0/admin,").unwrap(), Packet::connect("/admin", None));
        // A namespace without the trailing comma still parses.
        assert_eq!(decode("0/admin").unwrap(), Packet::connect("/admin", None));
        assert_eq!(
            decode(r#"0/admin,{"token":"abc"}"#).unwrap(),
            Packet::connect("/admin", Some(r#"{"token":"abc"}"#.into()))
        );
        assert_eq!(decode("0[1]"), Err(DecodeError::InvalidPayload));
        assert_eq!(decode(r#"0"str""#), Err(DecodeError::InvalidPayload));
    }

    #[test]
    fn decodes_events_with_ids_and_raw_args() {
        let p = decode(r#"2["hello",1,{"a":[true,null]}]"#).unwrap();
        assert_eq!(p.nsp, "/");
        let e = event(&p);
        assert_eq!(e.name, "hello");
        assert_eq!(
            e.args,
            vec![Str::from("1"), Str::from(r#"{"a":[true,null]}"#)]
        );
        assert_eq!(e.id, None);

        let p = decode(r#"2/chat,12["a\"b"]"#).unwrap();
        assert_eq!(p.nsp, "/chat");
        assert_eq!(event(&p).name, "a\"b");
        assert_eq!(event(&p).id, Some(12));
        // A number is an event name too, as in Node.
        assert_eq!(event(&decode("2[42]").unwrap()).name, "42");
    }

    #[test]
    fn rejects_invalid_events() {
        for bad in [
            "2",
            "2{}",
            "2[]",
            "2[null]",
            r#"2["connect"]"#,
            r#"2["disconnecting",1]"#,
            r#"2["conn\u0065ct"]"#,
            r#"2["a"] x"#,
            r#"2["a""#,
            "2abc",
            "4abc",
            "1{}",
            "3",
            "3[1]",
            r#"3"x""#,
        ] {
            assert!(decode(bad).is_err(), "{bad:?} should be invalid");
        }
        assert_eq!(decode("9"), Err(DecodeError::UnknownType));
        assert_eq!(decode(""), Err(DecodeError::UnknownType));
        assert_eq!(
            decode(r#"2/a,99999999999999999999["x"]"#),
            Err(DecodeError::InvalidAckId)
        );
    }

    #[test]
    fn decodes_acks_and_errors() {
        assert_eq!(
            decode(r#"3/chat,5["ok",2]"#).unwrap(),
            Packet::ack("/chat", 5, vec![r#""ok""#.into(), "2".into()])
        );
        assert_eq!(
            decode(r#"4{"message":"no"}"#).unwrap(),
            Packet::connect_error("/", r#"{"message":"no"}"#.into())
        );
        assert_eq!(decode("1/chat,").unwrap(), Packet::disconnect("/chat"));
    }

    #[test]
    fn binary_packets_announce_attachments_within_the_limit() {
        let p = decode(
            r#"52-/up,3["file",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
        )
        .unwrap();
        assert_eq!(p.packet_type(), PacketType::BinaryEvent);
        assert_eq!(p.attachments(), 2);
        assert_eq!(event(&p).id, Some(3));
        assert_eq!(decode(r#"611-["x"]"#), Err(DecodeError::TooManyAttachments));
        assert_eq!(decode(r#"5["x"]"#), Err(DecodeError::IllegalAttachments));
        assert_eq!(decode(r#"5a-["x"]"#), Err(DecodeError::IllegalAttachments));
        assert_eq!(
            decode(r#"599999999999999999999999-["x"]"#),
            Err(DecodeError::TooManyAttachments)
        );
    }

    #[test]
    fn encodes_as_node_does() {
        assert_eq!(
            Packet::connect("/", Some(r#"{"sid":"x"}"#.into())).encode(),
            r#"0{"sid":"x"}"#
        );
        assert_eq!(Packet::connect("/admin", None).encode(), "0/admin,");
        assert_eq!(Packet::disconnect("/admin").encode(), "1/admin,");
        let mut p = Packet::event("/", "say \"hi\"", vec!["1".into(), r#"{"a":2}"#.into()]);
        assert_eq!(p.encode(), r#"2["say \"hi\"",1,{"a":2}]"#);
        if let PacketData::Event(e) = &mut p.data {
            e.id = Some(4);
            e.attachments = Some(1);
        }
        assert_eq!(p.encode(), r#"51-4["say \"hi\"",1,{"a":2}]"#);
        assert_eq!(Packet::ack("/x", 9, vec![]).encode(), "3/x,9[]");
    }

    #[test]
    fn encoded_len_is_the_length_encoded() {
        let mut packets = vec![
            Packet::connect("/", None),
            Packet::connect("/", Some(r#"{"sid":"x"}"#.into())),
            Packet::connect_error("/a", r#""no""#.into()),
            Packet::disconnect("/admin"),
            Packet::ack("/", 0, vec![]),
            Packet::ack("/x", 10, vec!["1".into()]),
            Packet::ack("/", u64::MAX, vec!["1".into(), "[2]".into(), "{}".into()]),
        ];
        for name in ["e", "say \"hi\"", "tab\there", "back\\slash", "é"] {
            for (id, attachments) in [(None, None), (Some(9), Some(1)), (Some(100), Some(10))] {
                let mut p = Packet::event("/n", name, vec!["1".into(), "\"x\"".into()]);
                if let PacketData::Event(e) = &mut p.data {
                    (e.id, e.attachments) = (id, attachments);
                }
                packets.push(p);
            }
        }
        for p in packets {
            assert_eq!(p.encoded_len(), p.encode().len(), "{p:?}");
        }
    }

    #[test]
    fn decoded_args_share_the_frame() {
        let frame = Str::from(r#"2["e",{"big":"payload"}]"#);
        let p = Packet::decode(frame.clone(), 10).unwrap();
        let arg = &event(&p).args[0];
        let frame_range = frame.as_bytes().as_ptr_range();
        assert!(frame_range.contains(&arg.as_bytes().as_ptr()));
        assert!(frame_range.contains(&event(&p).name.as_bytes().as_ptr()));
    }
}
