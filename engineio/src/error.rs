use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use std::fmt;

/// The engine.io error codes, answered as `{"code":N,"message":"..."}` with HTTP 400 (403 for
/// [`Forbidden`](Self::Forbidden)), as Node's engine.io answers them.
///
/// The engine answers these itself; the type is public for code that mounts the engine by
/// other means ([`EngineIo::handle`](crate::EngineIo::handle)) or tests what it answers.
///
/// ```
/// use engineio::RequestError;
///
/// let error = RequestError::Forbidden("bad token".into());
/// assert_eq!((error.code(), error.message()), (4, "bad token"));
/// assert_eq!(error.status(), http::StatusCode::FORBIDDEN);
/// assert_eq!(RequestError::UnknownSid.to_string(), "Session ID unknown");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// Code 0: the `transport` parameter is missing, unknown or not allowed by the config.
    UnknownTransport,
    /// Code 1: no session has the `sid` (it never existed, or it has ended).
    UnknownSid,
    /// Code 2: a handshake that is not a GET.
    BadHandshakeMethod,
    /// Code 3: a request the session cannot take (overlapping GETs or POSTs, a binary POST,
    /// the wrong transport for the sid, a broken WebSocket handshake).
    BadRequest,
    /// Code 4: refused by `allow_request`, with its message (`Forbidden` when empty).
    Forbidden(String),
    /// Code 5: the `EIO` parameter is not `4`.
    UnsupportedProtocolVersion,
}

impl RequestError {
    /// The engine.io error code, 0 to 5.
    #[must_use]
    pub fn code(&self) -> u8 {
        match self {
            RequestError::UnknownTransport => 0,
            RequestError::UnknownSid => 1,
            RequestError::BadHandshakeMethod => 2,
            RequestError::BadRequest => 3,
            RequestError::Forbidden(_) => 4,
            RequestError::UnsupportedProtocolVersion => 5,
        }
    }

    /// The message of the answer, Node's text for each code.
    #[must_use]
    pub fn message(&self) -> &str {
        match self {
            RequestError::UnknownTransport => "Transport unknown",
            RequestError::UnknownSid => "Session ID unknown",
            RequestError::BadHandshakeMethod => "Bad handshake method",
            RequestError::BadRequest => "Bad request",
            RequestError::Forbidden(message) if !message.is_empty() => message,
            RequestError::Forbidden(_) => "Forbidden",
            RequestError::UnsupportedProtocolVersion => "Unsupported protocol version",
        }
    }

    /// The HTTP status of the answer: 403 for [`Forbidden`](Self::Forbidden), 400 otherwise.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            RequestError::Forbidden(_) => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for RequestError {}

impl IntoResponse for RequestError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "code": self.code(), "message": self.message() });
        (
            self.status(),
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body.to_string(),
        )
            .into_response()
    }
}
