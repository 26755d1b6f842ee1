use bytes::Bytes;
use std::fmt;
use std::ops::Deref;

/// An immutable, cheaply clonable UTF-8 string backed by [`Bytes`].
///
/// Text frames are shared between every recipient of a broadcast, so cloning must not copy: a
/// clone is a reference-count increment.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Str(Bytes);

impl Str {
    /// Wraps bytes that are valid UTF-8, or gives them back unchanged.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, Bytes> {
        match std::str::from_utf8(&bytes) {
            Ok(_) => Ok(Str(bytes)),
            Err(_) => Err(bytes),
        }
    }

    /// Wraps bytes the caller knows to be UTF-8 (e.g. a WebSocket text frame, already checked).
    ///
    /// # Safety
    /// `bytes` must be valid UTF-8.
    pub unsafe fn from_utf8_unchecked(bytes: Bytes) -> Self {
        // Debug and fuzz builds check the caller's promise.
        debug_assert!(
            std::str::from_utf8(&bytes).is_ok(),
            "Str from invalid UTF-8"
        );
        Str(bytes)
    }

    /// A string from a `'static` literal, without allocating.
    pub const fn from_static(s: &'static str) -> Self {
        Str(Bytes::from_static(s.as_bytes()))
    }

    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor checks or inherits UTF-8 validity, and `slice_str` only cuts on
        // char boundaries (it is built from `&str` sub-slices of this string).
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    /// The underlying bytes (shared, not copied).
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// A sub-string sharing this one's memory. `sub` must be a slice of `self.as_str()`.
    pub(crate) fn slice_ref(&self, sub: &str) -> Str {
        Str(self.0.slice_ref(sub.as_bytes()))
    }
}

impl Deref for Str {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

// Hashes as `str` does, so that maps keyed by `Str` can be searched with a `&str` (`Borrow`
// requires equal hashes for equal values).
impl std::hash::Hash for Str {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl std::borrow::Borrow<str> for Str {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Str {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<String> for Str {
    fn from(s: String) -> Self {
        Str(Bytes::from(s))
    }
}

impl From<&str> for Str {
    fn from(s: &str) -> Self {
        Str(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<Str> for Bytes {
    fn from(s: Str) -> Bytes {
        s.0
    }
}

impl PartialEq<str> for Str {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Str {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Str {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Str {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Str::from)
    }
}
