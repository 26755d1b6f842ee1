use bytes::Bytes;
use std::fmt;
use std::ops::Deref;

/// An immutable, cheaply clonable UTF-8 string backed by [`Bytes`].
///
/// Text frames are shared between every recipient of a broadcast, so cloning must not copy: a
/// clone is a reference-count increment. A `Str` dereferences to `str`, compares with `&str`,
/// and hashes as `str` does, so a map keyed by `Str` can be searched with a `&str`. Decoders
/// hand out sub-strings of the frame they read (an event's name and arguments, a namespace)
/// that share its memory.
///
/// Every constructor but [`Str::from_utf8_unchecked`] (whose caller promises it) checks that
/// the bytes are UTF-8 or takes them from a `str`.
///
/// ```
/// use bytes::Bytes;
/// use parser::Str;
/// use std::collections::HashSet;
///
/// let frame = Str::from_utf8(Bytes::from_static(b"4hello")).unwrap();
/// let copy = frame.clone(); // shares the bytes
/// assert_eq!(copy, "4hello");
/// assert_eq!(&frame[1..], "hello"); // through `Deref<Target = str>`
/// assert_eq!(frame.as_bytes().as_ptr(), copy.as_bytes().as_ptr());
///
/// let rooms: HashSet<Str> = ["general".into(), Str::from_static("rust")].into();
/// assert!(rooms.contains("rust"));
///
/// // Bytes that are not UTF-8 are given back.
/// assert_eq!(Str::from_utf8(Bytes::from_static(b"\xff")), Err(Bytes::from_static(b"\xff")));
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Str(Bytes);

impl Str {
    /// Wraps bytes that are valid UTF-8, or gives them back unchanged.
    ///
    /// # Errors
    ///
    /// The bytes themselves, when they are not valid UTF-8.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, Bytes> {
        match std::str::from_utf8(&bytes) {
            Ok(_) => Ok(Str(bytes)),
            Err(_) => Err(bytes),
        }
    }

    /// Wraps bytes the caller knows to be UTF-8 (e.g. a WebSocket text frame, already checked).
    ///
    /// Use it where the bytes were just validated by someone else, to skip checking them twice;
    /// [`Str::from_utf8`] is the checked form. Debug builds (and the fuzz targets) check the
    /// promise and panic when it is broken.
    ///
    /// # Safety
    ///
    /// `bytes` must be valid UTF-8. Every other method of `Str` relies on it: [`Str::as_str`]
    /// hands the bytes out as a `str` without checking them again.
    // SAFETY: declaring it is what the lint flags, and the body does nothing unsafe; the
    // contract above (`# Safety`) is what keeps `as_str` sound. The crate's one unsafe function
    // (see "Unsafe code" in the crate docs).
    #[allow(unsafe_code)]
    #[must_use]
    pub unsafe fn from_utf8_unchecked(bytes: Bytes) -> Self {
        // Debug and fuzz builds check the caller's promise.
        debug_assert!(
            std::str::from_utf8(&bytes).is_ok(),
            "Str from invalid UTF-8"
        );
        Str(bytes)
    }

    /// A string from a `'static` literal, without allocating.
    #[must_use]
    pub const fn from_static(s: &'static str) -> Self {
        Str(Bytes::from_static(s.as_bytes()))
    }

    /// The string, borrowed. Free: the bytes are not checked again.
    #[must_use]
    #[allow(unsafe_code)] // the one unsafe block below, which is the whole body
    pub fn as_str(&self) -> &str {
        // SAFETY: the bytes are valid UTF-8. The field is private and `Bytes` is immutable, so
        // the bytes are those a constructor stored, and every constructor stores UTF-8: it checks
        // them (`from_utf8`), takes them from a `str` or `String` (`from_static`, the `From`
        // impls, `Deserialize`, `Default`'s empty string, `slice_ref`, whose `sub` is a `&str`
        // and so cut on char boundaries), or has its caller promise them (`from_utf8_unchecked`,
        // an `unsafe fn` whose contract says so).
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    /// The underlying bytes (shared, not copied).
    #[must_use]
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// The underlying bytes, without copying them.
    #[must_use]
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// A sub-string sharing this one's memory. `sub` must be a slice of `self.as_str()` (it
    /// panics otherwise, as `Bytes::slice_ref` does: a bug of this crate, never of its input).
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

/// A WebSocket text frame's payload, which tungstenite has validated as UTF-8 on receipt: its
/// bytes, shared and not checked again (feature `tungstenite`).
#[cfg(feature = "tungstenite")]
impl From<tungstenite::Utf8Bytes> for Str {
    #[allow(unsafe_code)] // the one unsafe call below, which is the whole body
    fn from(text: tungstenite::Utf8Bytes) -> Self {
        // SAFETY: `Utf8Bytes` holds valid UTF-8 only, which its own `as_str` relies on: each of
        // its constructors takes a `str`, checks the bytes (tungstenite's frame reader does so
        // for a text message), or is its `unsafe fn from_bytes_unchecked`, whose caller promises.
        unsafe { Str::from_utf8_unchecked(text.into()) }
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
