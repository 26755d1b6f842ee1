//! Mounting the engine as a tower layer, served by plain hyper (no axum Router): both transports
//! and the upgrade through the layer, every other request reaching the inner service unchanged,
//! CORS on the engine's answers alone, and the same layer on an axum Router.

mod common;

use common::*;
use engineio::cors::CorsLayer;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use tower::{Layer, ServiceExt};

/// What the inner service answers: 404, with the method, path, query, a header and the body it
/// received, so that a test can see the request reached it unchanged.
async fn inner(req: Request<Incoming>) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let seen = format!(
        "{} {} {} {}",
        parts.method,
        parts.uri.path_and_query().map_or("", |pq| pq.as_str()),
        parts
            .headers
            .get("x-app")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-"),
        String::from_utf8_lossy(&body),
    );
    let mut res = http::Response::new(Full::new(Bytes::from(seen)));
    *res.status_mut() = StatusCode::NOT_FOUND;
    res.headers_mut()
        .insert("x-inner", HeaderValue::from_static("yes"));
    Ok(res)
}

/// Serves `engine` through its layer around [`inner`] with hyper alone, on a free port. Each
/// request carries the peer's address as a plain `SocketAddr` extension, as a hyper server can
/// add it.
async fn serve_layered(engine: &EngineIo<Recorder>) -> SocketAddr {
    let service = engine.layer().layer(tower::service_fn(inner));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        loop {
            let Ok((tcp, peer)) = listener.accept().await else {
                return;
            };
            let service = service.clone();
            let per_request = hyper::service::service_fn(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(peer);
                service.clone().oneshot(req)
            });
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), per_request)
                    .with_upgrades()
                    .await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_websocket_and_upgrade_through_the_layer() {
    let engine = EngineIo::builder(Recorder::echo())
        .config(quiet_config().build())
        .build();
    let addr = serve_layered(&engine).await;

    // Polling: the handshake, a POST, the echo on a GET.
    let session = Polling::open(addr).await;
    assert_eq!(session.open["upgrades"], serde_json::json!(["websocket"]));
    let info = engine.handler().connect_info(&session.sid).await;
    assert_eq!(info.transport, Transport::Polling);
    assert_eq!(info.query("EIO"), Some("4"));
    assert_eq!(
        info.remote_addr.map(|a| a.ip()),
        Some(addr.ip()),
        "the SocketAddr extension is the handshake's remote address"
    );
    let posted = session.post("4hi").await;
    assert_eq!(
        (posted.status, posted.body.as_str()),
        (StatusCode::OK, "ok")
    );
    assert_eq!(posted.header("x-inner"), None, "the engine answered");
    assert_eq!(session.get().await.body, "4hi");

    // A session opened on a WebSocket, through hyper's upgrade.
    let (mut ws, _, _) = ws_open(addr).await;
    ws_send(&mut ws, "4yo").await;
    assert_eq!(text_of(&ws_next_data(&mut ws).await), "4yo");
    ws_send_binary(&mut ws, &[1, 2, 3]).await;
    assert_eq!(
        ws_next_data(&mut ws).await,
        WsMessage::binary(vec![1u8, 2, 3])
    );

    // The polling session moves onto a WebSocket and echoes there.
    let (mut upgraded, response) = ws_connect(addr, Some(&session.sid)).await;
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    ws_send(&mut upgraded, "2probe").await;
    assert_eq!(ws_recv_text(&mut upgraded).await, "3probe");
    ws_send(&mut upgraded, "5").await;
    engine.handler().wait_upgrade(&session.sid).await;
    ws_send(&mut upgraded, "4upgraded").await;
    assert_eq!(text_of(&ws_next_data(&mut upgraded).await), "4upgraded");

    assert_eq!(engine.count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_requests_reach_the_inner_service_unchanged() {
    let engine = EngineIo::builder(Recorder::echo())
        .config(quiet_config().build())
        .build();
    let addr = serve_layered(&engine).await;
    let http = Http::new(addr);

    let res = http
        .request(
            Method::POST,
            "/api/items?page=2",
            &[("x-app", "mine")],
            "the body",
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.header("x-inner"), Some("yes"));
    assert_eq!(res.body, "POST /api/items?page=2 mine the body");

    // Near the engine's path is not the engine's path.
    let res = http.get("/engine.io?EIO=4&transport=polling").await;
    assert_eq!(res.header("x-inner"), Some("yes"), "{res:?}");
    let res = http.get("/engine.iox/?EIO=4&transport=polling").await;
    assert_eq!(res.header("x-inner"), Some("yes"), "{res:?}");

    // Under the engine's path, even an error is the engine's.
    let res = http.get("/engine.io/?EIO=4&transport=tobi").await;
    res.assert_error(400, 0, Some("Transport unknown"));
    assert_eq!(res.header("x-inner"), None);
    assert_eq!(engine.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_applies_to_the_engines_answers_only() {
    let engine = EngineIo::builder(Recorder::echo())
        .config(quiet_config().build())
        .cors(
            CorsLayer::new()
                .allow_origin(HeaderValue::from_static("https://app.example"))
                .allow_methods([Method::GET, Method::POST]),
        )
        .build();
    let addr = serve_layered(&engine).await;
    let http = Http::new(addr);
    let origin = [("origin", "https://app.example")];

    let res = http
        .request(Method::GET, &handshake_url("polling"), &origin, "")
        .await;
    assert!(res.body.starts_with('0'), "{res:?}");
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some("https://app.example")
    );

    let preflight = http
        .request(
            Method::OPTIONS,
            &handshake_url("polling"),
            &[
                ("origin", "https://app.example"),
                ("access-control-request-method", "POST"),
            ],
            "",
        )
        .await;
    assert!(preflight.status.is_success(), "{preflight:?}");
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://app.example")
    );

    let res = http.request(Method::GET, "/app", &origin, "").await;
    assert_eq!(res.header("x-inner"), Some("yes"));
    assert_eq!(res.header("access-control-allow-origin"), None);
    assert_eq!(engine.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_layer_wraps_an_axum_router_too() {
    let engine = EngineIo::builder(Recorder::echo())
        .config(quiet_config().build())
        .build();
    let app = Router::new()
        .route("/health", axum::routing::get(|| async { "ok" }))
        .layer(engine.layer());
    let addr = serve_app(app).await;

    let health = Http::new(addr).get("/health").await;
    assert_eq!(
        (health.status, health.body.as_str()),
        (StatusCode::OK, "ok")
    );
    let session = Polling::open(addr).await;
    session.post("4axum").await;
    assert_eq!(session.get().await.body, "4axum");
    let (mut ws, _, _) = ws_open(addr).await;
    ws_send(&mut ws, "4ws").await;
    assert_eq!(text_of(&ws_next_data(&mut ws).await), "4ws");
    // axum's ConnectInfo is the remote address here.
    let info = engine.handler().connect_info(&session.sid).await;
    assert!(info.remote_addr.is_some());
}
