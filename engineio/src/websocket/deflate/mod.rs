//! WebSocket per-message deflate (RFC 7692, Node's `perMessageDeflate`): the option, the
//! agreement made at the upgrade (`negotiate`), the reading side that inflates what the client
//! compressed (`inflate`) and the writing side that compresses what the server sends
//! (`compress`). The design and what it trades against Node's are in
//! `docs/per-message-deflate.md`.

mod compress;
mod deflater;
mod inflate;
mod negotiate;

pub(crate) use compress::compressed;
pub use deflater::Deflater;
pub use inflate::Inflater;
pub(crate) use negotiate::{negotiate, Agreed};

/// WebSocket messages compressed with per-message deflate, when the client offers it (Node:
/// `perMessageDeflate`, off).
///
/// Every message of at least `threshold` bytes is compressed, unless its emit said
/// `compress(false)`. Each one is compressed on its own, from a fresh state: a broadcast is
/// compressed once, whatever the number of recipients, and no connection keeps a compressor
/// (Node keeps about 300 KiB per connection). A client that keeps its context (browsers, Node's
/// `ws`) costs the server one 42 KiB inflater from its first compressed message;
/// `client_no_context_takeover` asks it not to, so that an inflater is needed only while a
/// message is read.
///
/// ```
/// use engineio::{EngineIoConfig, PerMessageDeflate};
///
/// let config = EngineIoConfig::builder()
///     .per_message_deflate(Some(PerMessageDeflate {
///         threshold: 4096,
///         ..PerMessageDeflate::default()
///     }))
///     .build();
/// assert_eq!(config.per_message_deflate.unwrap().level, 6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerMessageDeflate {
    /// The smallest message compressed, in bytes (Node: `threshold`, 1024).
    pub threshold: usize,
    /// Tells the client that the server keeps no context between messages (Node:
    /// `serverNoContextTakeover`, false). The server never relies on one either way.
    pub server_no_context_takeover: bool,
    /// Asks the client to compress each message on its own (Node:
    /// `clientNoContextTakeover`, false): less memory here, larger client messages.
    pub client_no_context_takeover: bool,
    /// The zlib level, 0 to 9 (Node: `zlibDeflateOptions.level`, 6).
    pub level: u32,
}

impl Default for PerMessageDeflate {
    fn default() -> Self {
        Self {
            threshold: 1024,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            level: 6,
        }
    }
}
