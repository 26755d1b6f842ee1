//! The official socket.io Admin UI on the chat, when `ADMIN_PASSWORD` is set: the admin
//! namespace `/admin` (user `admin`, development mode, so every socket, room and message is
//! seen), and the UI's own files from npm's `@socket.io/admin-ui` (`ui/dist`) at `/admin/`
//! when a copy is found: `ADMIN_UI_DIR`, or the one `e2e-js/` installs (`npm ci`). Without a
//! copy, the hosted UI at <https://admin.socket.io> connects to the chat just as well.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use socketio::SocketIo;
use socketio_admin_ui::{instrument, Auth, InstrumentOptions};
use std::path::{Component, PathBuf};

/// Turns the admin namespace on when `ADMIN_PASSWORD` is set; says where the UI is.
pub fn enable(io: &SocketIo) -> std::io::Result<bool> {
    let Ok(password) = std::env::var("ADMIN_PASSWORD") else {
        return Ok(false);
    };
    // The password is in the environment already; the hash only keeps it out of memory
    // dumps, so a cost of 8 keeps each login fast even in a debug build.
    let password_hash =
        socketio_admin_ui::hash_password(&password, 8).map_err(std::io::Error::other)?;
    let options = InstrumentOptions::new(Auth::Basic {
        username: "admin".into(),
        password_hash,
    });
    instrument(io, options).map_err(std::io::Error::other)?;
    Ok(true)
}

/// Lets the hosted UI's page (<https://admin.socket.io>) reach the chat over long-polling too;
/// WebSocket needs no CORS. `None` when the admin UI is off.
pub fn hosted_ui_cors() -> Option<socketio::cors::CorsLayer> {
    use socketio::cors::{AllowOrigin, Any, CorsLayer};
    std::env::var_os("ADMIN_PASSWORD")?;
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::exact(axum::http::HeaderValue::from_static(
                "https://admin.socket.io",
            )))
            .allow_methods(Any)
            .allow_headers(Any),
    )
}

/// Where npm's UI files are, if anywhere.
pub fn ui_dir() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("ADMIN_UI_DIR").map(PathBuf::from),
        Some(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../e2e-js/node_modules/@socket.io/admin-ui/ui/dist"),
        ),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|dir| dir.join("index.html").is_file())
}

/// `/admin/` and the files under it, from `dir`.
pub fn routes(dir: PathBuf) -> Router {
    let files = dir.clone();
    Router::new()
        .route("/admin", get(|| async { Redirect::permanent("/admin/") }))
        .route(
            "/admin/",
            get(move || {
                let dir = dir.clone();
                async move { file(dir, "index.html").await }
            }),
        )
        .route(
            "/admin/{*path}",
            get(move |Path(path): Path<String>| {
                let dir = files.clone();
                async move { file(dir, &path).await }
            }),
        )
}

/// One file of the UI; a path that climbs out of `dir` is not found.
async fn file(dir: PathBuf, path: &str) -> Response {
    let relative = std::path::Path::new(path);
    if !relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return StatusCode::NOT_FOUND.into_response();
    }
    let Ok(body) = tokio::fs::read(dir.join(relative)).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let kind = match relative.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript",
        Some("css") => "text/css",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json" | "map") => "application/json",
        _ => "application/octet-stream",
    };
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}
