//! The single page, built into the binary so that the chat runs from any directory.

use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use axum::Router;

pub fn routes() -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html", include_str!("../static/index.html")) }),
        )
        .route(
            "/chat.css",
            get(|| async { asset("text/css", include_str!("../static/chat.css")) }),
        )
        .route(
            "/chat.js",
            get(|| async { asset("text/javascript", include_str!("../static/chat.js")) }),
        )
}

fn asset(
    content_type: &'static str,
    body: &'static str,
) -> ([(axum::http::HeaderName, &'static str); 1], &'static str) {
    ([(CONTENT_TYPE, content_type)], body)
}
