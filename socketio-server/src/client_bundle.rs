//! The browser client served beside the server (Node's `serveClient`), so that a page can load
//! `/socket.io/socket.io.min.js` without a CDN. Node ships the client inside its package; a Rust
//! crate can't, so the files come from a directory: the `dist/` of npm's `socket.io-client`.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

/// The names Node's `serveClient` answers; nothing else of the directory is reachable, so a
/// request path never becomes a file path.
const FILES: [&str; 8] = [
    "socket.io.js",
    "socket.io.js.map",
    "socket.io.min.js",
    "socket.io.min.js.map",
    "socket.io.esm.min.js",
    "socket.io.esm.min.js.map",
    "socket.io.msgpack.min.js",
    "socket.io.msgpack.min.js.map",
];

/// Routes `{path}{file}` for each client file. The files are read on each request: a bundle
/// rebuilt by npm is served without a restart, and nothing is held in memory when unused.
pub(crate) fn routes<S>(path: &str, dir: &Path) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let dir = Arc::new(dir.to_path_buf());
    FILES.iter().fold(Router::new(), |router, name| {
        let file = dir.join(name);
        router.route(
            &format!("{path}{name}"),
            get(move |headers: HeaderMap| serve(file.clone(), headers)),
        )
    })
}

async fn serve(file: PathBuf, headers: HeaderMap) -> Response {
    let Ok(meta) = tokio::fs::metadata(&file).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let etag = format!("\"{:x}-{:x}\"", meta.len(), modified);
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let Ok(bytes) = tokio::fs::read(&file).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let content_type = if file.extension().is_some_and(|e| e == "map") {
        "application/json"
    } else {
        "application/javascript; charset=utf-8"
    };
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=0"),
    );
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, etag);
    }
    response
}
