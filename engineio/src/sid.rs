use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use std::fmt;

/// An engine.io session id: 128 random bits from the OS-seeded CSPRNG, as 22 URL-safe characters.
/// Unguessable, because holding a sid is all it takes to post into its session.
///
/// It is `Copy` and holds its characters inline, so passing one around costs no allocation.
///
/// ```
/// use engineio::Sid;
///
/// let sid = Sid::random();
/// assert_eq!(sid.as_str().len(), 22);
/// assert_ne!(sid, Sid::random());
/// println!("session {sid}");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sid([u8; 22]);

impl Sid {
    /// A fresh random id: the one way ids are made here. Crates built on the engine that need
    /// unguessable ids of their own (socket.io's socket ids) can take them from here too.
    #[must_use]
    pub fn random() -> Self {
        let bytes: [u8; 16] = rand::random();
        let mut out = [0u8; 22];
        // 16 bytes always encode to exactly 22 characters without padding.
        let written = URL_SAFE_NO_PAD
            .encode_slice(bytes, &mut out)
            .unwrap_or_default();
        debug_assert_eq!(written, 22);
        Sid(out)
    }

    /// Parses a sid received from a client; anything that is not 22 URL-safe characters is not one
    /// of ours.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        let bytes: [u8; 22] = s.as_bytes().try_into().ok()?;
        bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
            .then_some(Sid(bytes))
    }

    /// The id as text: 22 characters of the URL-safe base64 alphabet.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored (see `random` and `parse`).
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for Sid {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for Sid {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Sid {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sid({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_sids_parse_back_and_differ() {
        let a = Sid::random();
        let b = Sid::random();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 22);
        assert_eq!(Sid::parse(a.as_str()), Some(a));
        assert_eq!(Sid::parse("short"), None);
        assert_eq!(Sid::parse("!!!!!!!!!!!!!!!!!!!!!!"), None);
    }
}
