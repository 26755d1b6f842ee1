use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use parser::Str;

/// A socket id: 128 random bits as 22 URL-safe characters, unguessable like the engine's.
pub(crate) fn random_id() -> Str {
    let bytes: [u8; 16] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes).into()
}
