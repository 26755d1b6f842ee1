//! Mounting the engine in an app: other routes, custom paths, initial headers and CORS.

mod common;

use axum::routing::get;
use axum::Router;
use common::*;
use engineio::cors::CorsLayer;
use engineio::EngineIo;
use http::{HeaderValue, Method, StatusCode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_routes_and_engine_share_a_port() {
    let engine = EngineIo::builder(Recorder::echo())
        .config(quiet_config().build())
        .build();
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .merge(engine.router());
    let addr = serve_app(app).await;
    let http = Http::new(addr);

    let health = http.get("/health").await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body, "ok");
    assert_eq!(
        http.get("/nothing-here").await.status,
        StatusCode::NOT_FOUND
    );

    let session = Polling::open(addr).await;
    session.post("4hi").await;
    assert_eq!(session.get().await.body, "4hi");
    let (mut ws, _, _) = ws_open(addr).await;
    ws_send(&mut ws, "4yo").await;
    assert_eq!(text_of(&ws_next_data(&mut ws).await), "4yo");
    assert_eq!(engine.count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_path_is_where_the_engine_answers() {
    let config = quiet_config().path("/realtime").build();
    let (_engine, addr) = start(config).await;
    let http = Http::new(addr);
    let res = http.get("/realtime/?EIO=4&transport=polling").await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.starts_with("0{\"sid\":"), "{res:?}");
    assert_eq!(
        http.get("/engine.io/?EIO=4&transport=polling").await.status,
        StatusCode::NOT_FOUND
    );
    let (mut ws, _) = ws_connect_url(
        &format!("ws://{addr}/realtime/?EIO=4&transport=websocket"),
        &[],
    )
    .await;
    assert!(ws_recv_text(&mut ws).await.starts_with("0{"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_headers_go_on_the_handshake_only() {
    let engine = EngineIo::builder(Recorder::echo())
        .config(quiet_config().build())
        .initial_headers(|handshake, headers| {
            let value = format!("io={}; Path=/; HttpOnly", handshake.transport.name());
            headers.insert(
                http::header::SET_COOKIE,
                HeaderValue::from_str(&value).expect("cookie"),
            );
        })
        .build();
    let addr = serve(&engine).await;

    let session = Polling::open(addr).await;
    assert_eq!(
        session.handshake.header("set-cookie"),
        Some("io=polling; Path=/; HttpOnly")
    );
    // Later requests of the session do not carry it.
    let socket = engine.socket(&session.sid).expect("socket");
    socket.send("x").expect("send");
    assert_eq!(session.get().await.header("set-cookie"), None);
    assert_eq!(session.post("4y").await.header("set-cookie"), None);

    let (_ws, response) = ws_connect(addr, None).await;
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(
        response
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok()),
        Some("io=websocket; Path=/; HttpOnly")
    );
}

fn cors_engine() -> EngineIo<Recorder> {
    EngineIo::builder(Recorder::echo())
        .config(quiet_config().build())
        .cors(
            CorsLayer::new()
                .allow_origin(HeaderValue::from_static("https://app.example"))
                .allow_methods([Method::GET, Method::POST])
                .allow_headers([http::header::CONTENT_TYPE])
                .allow_credentials(true),
        )
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_answers_the_configured_origin() {
    let engine = cors_engine();
    let addr = serve(&engine).await;
    let http = Http::new(addr);
    let origin = [("origin", "https://app.example")];

    let res = http
        .request(Method::GET, &handshake_url("polling"), &origin, "")
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.starts_with('0'));
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(res.header("access-control-allow-credentials"), Some("true"));

    // Error answers carry the CORS headers too, so browsers can read them.
    let res = http
        .request(Method::GET, "/engine.io/?EIO=4&transport=tobi", &origin, "")
        .await;
    res.assert_error(400, 0, Some("Transport unknown"));
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some("https://app.example")
    );

    // Another origin is not allowed: as with Node's `cors` given a fixed origin string, the
    // header names the configured origin, never the caller's, so the browser refuses.
    let res = http
        .request(
            Method::GET,
            &handshake_url("polling"),
            &[("origin", "https://evil.example")],
            "",
        )
        .await;
    assert_ne!(
        res.header("access-control-allow-origin"),
        Some("https://evil.example")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_preflight_is_answered() {
    let engine = cors_engine();
    let addr = serve(&engine).await;
    let res = Http::new(addr)
        .request(
            Method::OPTIONS,
            "/engine.io/?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAAAA",
            &[
                ("origin", "https://app.example"),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "content-type"),
            ],
            "",
        )
        .await;
    assert!(res.status.is_success(), "preflight answered {res:?}");
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    let methods = res
        .header("access-control-allow-methods")
        .unwrap_or_default()
        .to_ascii_uppercase();
    assert!(methods.contains("POST"), "allow-methods {methods:?}");
    let headers = res
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        headers.contains("content-type"),
        "allow-headers {headers:?}"
    );
    assert_eq!(engine.count(), 0, "a preflight opens no session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_cors_no_cors_headers_are_sent() {
    let (_engine, addr) = start(quiet_config().build()).await;
    let res = Http::new(addr)
        .request(
            Method::GET,
            &handshake_url("polling"),
            &[("origin", "https://app.example")],
            "",
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(
        res.headers
            .keys()
            .all(|k| !k.as_str().starts_with("access-control-")),
        "unexpected CORS headers: {:?}",
        res.headers
    );
}
