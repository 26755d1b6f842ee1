//! The headers of a session's first request, kept compactly for the session's life.

use http::{HeaderMap, HeaderName, HeaderValue};

/// The headers of the request that opened a session, read-only, in the order they came.
///
/// An [`http::HeaderMap`] is built for lookups into a changing map: a hash index and a
/// 100-byte entry per header, over 600 bytes for the five headers of a bare WebSocket
/// handshake. A handshake's headers never change and are looked up a few times at most, so
/// they are kept as one allocation of names and values (8 bytes of lengths per header) and
/// looked up by a scan. Names are lowercase, as HTTP/1 parsers give them; lookups ignore case.
///
/// ```
/// use engineio::handshake::Headers;
/// use http::{HeaderMap, HeaderValue};
///
/// let mut map = HeaderMap::new();
/// map.insert("x-token", HeaderValue::from_static("secret"));
/// map.append("accept-encoding", HeaderValue::from_static("gzip"));
/// map.append("accept-encoding", HeaderValue::from_static("br"));
/// let headers = Headers::from(&map);
///
/// assert_eq!(headers.get("X-Token"), Some("secret"));
/// assert_eq!(headers.get_all("accept-encoding").count(), 2);
/// assert!(!headers.contains_key("cookie"));
/// assert_eq!(headers.to_header_map(), map);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    /// For each header: the name's length and the value's length (u32, little-endian), then
    /// the name and the value.
    block: Box<[u8]>,
}

/// The bytes before each header's name: its name's and its value's lengths.
const LENGTHS: usize = 8;

impl Headers {
    /// How many header lines there are (a name sent twice counts twice).
    #[must_use]
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether the request had no headers.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.block.is_empty()
    }

    /// Every header in the order it came: the lowercase name and the raw value.
    pub fn iter(&self) -> Iter<'_> {
        Iter { rest: &self.block }
    }

    /// The first value of a header as text, when it is there and valid text (visible ASCII,
    /// as [`HeaderValue::to_str`] reads it).
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        let value = self.get_all(name).next()?;
        let visible = value
            .iter()
            .all(|&b| (b' '..0x7f).contains(&b) || b == b'\t');
        visible.then(|| std::str::from_utf8(value).ok()).flatten()
    }

    /// Every value of a header, in the order they came.
    pub fn get_all<'a, 'n>(
        &'a self,
        name: &'n str,
    ) -> impl Iterator<Item = &'a [u8]> + use<'a, 'n> {
        self.iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    }

    /// Whether the header was sent.
    #[must_use]
    pub fn contains_key(&self, name: &str) -> bool {
        self.get_all(name).next().is_some()
    }

    /// The headers as a map, for an API that takes one.
    #[must_use]
    pub fn to_header_map(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in self {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_bytes(value),
            ) {
                map.append(name, value);
            }
        }
        map
    }
}

impl From<&HeaderMap> for Headers {
    fn from(map: &HeaderMap) -> Self {
        map.iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes()))
            .collect()
    }
}

impl<'a> FromIterator<(&'a str, &'a [u8])> for Headers {
    /// Headers from names and values; names are stored lowercase. A name or value longer than
    /// 4 GiB, which no HTTP server accepts, is left out.
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a [u8])>>(pairs: I) -> Self {
        let mut block = Vec::new();
        for (name, value) in pairs {
            let (Ok(name_len), Ok(value_len)) =
                (u32::try_from(name.len()), u32::try_from(value.len()))
            else {
                continue;
            };
            block.extend_from_slice(&name_len.to_le_bytes());
            block.extend_from_slice(&value_len.to_le_bytes());
            block.extend(name.bytes().map(|b| b.to_ascii_lowercase()));
            block.extend_from_slice(value);
        }
        Self {
            block: block.into_boxed_slice(),
        }
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = (&'a str, &'a [u8]);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl std::fmt::Debug for Headers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(
                self.iter()
                    .map(|(name, value)| (name, String::from_utf8_lossy(value))),
            )
            .finish()
    }
}

/// The headers of a [`Headers`] in order: see [`Headers::iter`].
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let (lengths, rest) = self.rest.split_first_chunk::<LENGTHS>()?;
        let [n0, n1, n2, n3, v0, v1, v2, v3] = *lengths;
        let name_len = u32::from_le_bytes([n0, n1, n2, n3]) as usize;
        let value_len = u32::from_le_bytes([v0, v1, v2, v3]) as usize;
        let (name, rest) = rest.split_at_checked(name_len)?;
        let (value, rest) = rest.split_at_checked(value_len)?;
        self.rest = rest;
        // Names went in as `&str` and were only lowercased, so this always succeeds.
        Some((std::str::from_utf8(name).ok()?, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_repeats_and_reads_names_in_any_case() {
        let headers: Headers = [("Host", &b"a"[..]), ("cookie", b"x=1"), ("COOKIE", b"y=2")]
            .into_iter()
            .collect();
        let names: Vec<&str> = headers.iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["host", "cookie", "cookie"]);
        assert_eq!(headers.len(), 3);
        assert_eq!(headers.get("Cookie"), Some("x=1"));
        assert_eq!(
            headers.get_all("cookie").collect::<Vec<_>>(),
            [b"x=1", b"y=2"]
        );
        assert_eq!(headers.to_header_map().get_all("cookie").iter().count(), 2);
        assert_eq!(
            format!("{headers:?}"),
            r#"{"host": "a", "cookie": "x=1", "cookie": "y=2"}"#
        );
    }

    #[test]
    fn a_value_that_is_not_visible_text_is_only_read_as_bytes() {
        let headers: Headers = [("x-raw", &b"caf\xc3\xa9"[..])].into_iter().collect();
        assert_eq!(headers.get("x-raw"), None);
        assert_eq!(headers.get_all("x-raw").next(), Some(&b"caf\xc3\xa9"[..]));
        assert!(headers.contains_key("x-raw"));
    }

    #[test]
    fn empty() {
        let headers = Headers::default();
        assert!(
            headers.is_empty() && headers.iter().next().is_none() && headers.get("host").is_none()
        );
    }
}
