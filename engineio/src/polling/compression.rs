//! Compressing polling answers (Node's `httpCompression`): an answer of at least `threshold`
//! bytes goes gzip- or deflate-encoded when the request's `Accept-Encoding` takes one, gzip
//! first, as Node chooses. WebSocket messages are not concerned (that is per-message deflate).

use flate2::write::{GzEncoder, ZlibEncoder};
use flate2::Compression;
use std::io::Write;

/// Polling answers compressed above a size (Node: `httpCompression`, on, 1024 bytes).
///
/// ```
/// use engineio::{EngineIoConfig, HttpCompression};
///
/// // Only answers of 4 KiB and more; `None` turns compression off.
/// let config = EngineIoConfig::builder()
///     .http_compression(Some(HttpCompression { threshold: 4096 }))
///     .build();
/// assert_eq!(config.http_compression.unwrap().threshold, 4096);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpCompression {
    /// The smallest answer compressed, in bytes (Node: `threshold`, 1024).
    pub threshold: usize,
}

impl Default for HttpCompression {
    fn default() -> Self {
        Self { threshold: 1024 }
    }
}

/// A content coding the server can answer in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Gzip,
    Deflate,
}

impl Encoding {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Deflate => "deflate",
        }
    }

    /// The coding to answer a request in, from its `Accept-Encoding` values, if any: gzip or
    /// deflate, whichever the client weighs higher, gzip on a tie (Node's
    /// `accepts(req).encodings(["gzip", "deflate"])`).
    pub(crate) fn accepted<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Option<Self> {
        let mut best: Option<(Self, f32)> = None;
        for value in values {
            let Ok(value) = std::str::from_utf8(value) else {
                continue;
            };
            for item in value.split(',') {
                let mut parts = item.split(';');
                let coding = parts.next().unwrap_or("").trim();
                let weight = parts
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                let candidates: &[Self] = if coding.eq_ignore_ascii_case("gzip") {
                    &[Encoding::Gzip]
                } else if coding.eq_ignore_ascii_case("deflate") {
                    &[Encoding::Deflate]
                } else if coding == "*" {
                    &[Encoding::Gzip, Encoding::Deflate]
                } else {
                    &[]
                };
                for &candidate in candidates {
                    let better = match best {
                        None => true,
                        Some((held, w)) => {
                            weight > w
                                || (weight == w && candidate == Encoding::Gzip && held != candidate)
                        }
                    };
                    if weight > 0.0 && better {
                        best = Some((candidate, weight));
                    }
                }
            }
        }
        best.map(|(encoding, _)| encoding)
    }

    /// `body` encoded; `None` if the encoder failed (the answer then goes as it is).
    pub(crate) fn encode(self, body: &[u8]) -> Option<Vec<u8>> {
        // Node's zlib default level.
        let level = Compression::new(6);
        let out = Vec::with_capacity(body.len() / 2);
        match self {
            Encoding::Gzip => {
                let mut encoder = GzEncoder::new(out, level);
                encoder.write_all(body).ok()?;
                encoder.finish().ok()
            }
            // HTTP's "deflate" is the zlib format (RFC 9110), as Node's `zlib.createDeflate`.
            Encoding::Deflate => {
                let mut encoder = ZlibEncoder::new(out, level);
                encoder.write_all(body).ok()?;
                encoder.finish().ok()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted(value: &str) -> Option<Encoding> {
        Encoding::accepted([value.as_bytes()])
    }

    #[test]
    fn picks_what_the_client_weighs_higher_and_gzip_on_a_tie() {
        assert_eq!(accepted("gzip, deflate, br"), Some(Encoding::Gzip));
        assert_eq!(accepted("deflate, gzip"), Some(Encoding::Gzip));
        assert_eq!(accepted("deflate"), Some(Encoding::Deflate));
        assert_eq!(accepted("gzip;q=0.5, deflate"), Some(Encoding::Deflate));
        assert_eq!(accepted("gzip;q=0, deflate;q=0"), None);
        assert_eq!(accepted("br, identity"), None);
        assert_eq!(accepted("*"), Some(Encoding::Gzip));
        assert_eq!(accepted(";;;,q=,gzip;q=x"), Some(Encoding::Gzip));
        assert_eq!(Encoding::accepted([]), None);
    }

    #[test]
    fn encodes_what_decodes_back() {
        use flate2::read::{GzDecoder, ZlibDecoder};
        use std::io::Read;
        let body = "4hello ".repeat(500);
        let mut out = String::new();
        let gz = Encoding::Gzip.encode(body.as_bytes()).unwrap();
        GzDecoder::new(&gz[..]).read_to_string(&mut out).unwrap();
        assert_eq!(out, body);
        assert!(gz.len() < body.len() / 10);
        out.clear();
        let deflated = Encoding::Deflate.encode(body.as_bytes()).unwrap();
        ZlibDecoder::new(&deflated[..])
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, body);
    }
}
