//! Opening sessions over both transports, and the error answers of requests the engine refuses.

mod common;

use common::*;
use engineio::{EngineIo, EngineIoConfig, Transport};
use http::{Method, StatusCode};
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

fn is_sid(s: &str) -> bool {
    s.len() == 22
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn config() -> engineio::EngineIoConfig {
    EngineIoConfig::builder()
        .ping_interval(Duration::from_millis(5_000))
        .ping_timeout(Duration::from_millis(4_000))
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_handshake_answers_the_open_packet() {
    let (engine, addr) = start(config()).await;
    let http = Http::new(addr);
    let res = http
        .request(
            Method::GET,
            "/engine.io/?EIO=4&transport=polling&token=abc%20d&t=xyz",
            &[("x-test", "yes")],
            "",
        )
        .await;

    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        res.header("content-type"),
        Some("text/plain; charset=UTF-8")
    );
    let json: serde_json::Value = serde_json::from_str(&res.body[1..]).expect("JSON after 0");
    let sid = json["sid"].as_str().expect("sid").to_owned();
    assert!(is_sid(&sid), "sid {sid:?} is not 22 URL-safe characters");
    assert_eq!(
        res.body,
        format!(
            r#"0{{"sid":"{sid}","upgrades":["websocket"],"pingInterval":5000,"pingTimeout":4000,"maxPayload":1000000}}"#
        ),
        "exact open packet, keys in Node's order"
    );

    let info = engine.handler().connect_info(&sid).await;
    assert_eq!(info.transport, Transport::Polling);
    assert_eq!(info.query("EIO"), Some("4"));
    assert_eq!(info.query("transport"), Some("polling"));
    assert_eq!(info.query("token"), Some("abc d"), "query is URL-decoded");
    assert_eq!(info.query("t"), Some("xyz"));
    let remote = info.remote_addr.expect("remote address known");
    assert_eq!(remote.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert_ne!(remote.port(), addr.port(), "the client's port, not ours");
    assert_eq!(info.headers.get("x-test"), Some("yes"));
    assert!(info.uri.contains("token=abc%20d"), "uri {:?}", info.uri);

    assert_eq!(engine.count(), 1);
    let socket = engine.socket(&sid).expect("socket registered");
    assert_eq!(socket.id().as_str(), sid);
    assert_eq!(socket.transport(), Transport::Polling);
    assert_eq!(socket.handshake().query("token").as_deref(), Some("abc d"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_handshake_first_frame_is_the_open_packet() {
    let (engine, addr) = start(config()).await;
    let url = format!("{}&room=lobby", ws_url(addr, None));
    let (mut ws, response) = ws_connect_url(&url, &[("x-test", "ws")]).await;
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);

    let first = ws_recv_text(&mut ws).await;
    let json: serde_json::Value = serde_json::from_str(&first[1..]).expect("JSON after 0");
    let sid = json["sid"].as_str().expect("sid").to_owned();
    assert!(is_sid(&sid));
    assert_eq!(
        first,
        format!(
            r#"0{{"sid":"{sid}","upgrades":[],"pingInterval":5000,"pingTimeout":4000,"maxPayload":1000000}}"#
        )
    );

    let info = engine.handler().connect_info(&sid).await;
    assert_eq!(info.transport, Transport::Websocket);
    assert_eq!(info.query("room"), Some("lobby"));
    assert_eq!(info.query("transport"), Some("websocket"));
    assert_eq!(
        info.remote_addr.map(|a| a.ip()),
        Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
    );
    assert_eq!(info.headers.get("x-test"), Some("ws"));
    let socket = engine.socket(&sid).expect("socket registered");
    assert_eq!(socket.transport(), Transport::Websocket);
    assert_eq!(engine.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_session_gets_its_own_sid() {
    let (engine, addr) = start(config()).await;
    let mut sids = HashSet::new();
    for _ in 0..4 {
        sids.insert(Polling::open(addr).await.sid);
    }
    let mut sockets = Vec::new();
    for _ in 0..3 {
        let (ws, sid, _) = ws_open(addr).await;
        sockets.push(ws);
        sids.insert(sid);
    }
    assert_eq!(sids.len(), 7, "sids repeated: {sids:?}");
    assert!(sids.iter().all(|s| is_sid(s)));
    eventually("7 sockets counted", || engine.count() == 7).await;
    for sid in &sids {
        assert!(engine.socket(sid).is_some(), "{sid} registered");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_packet_reflects_the_config() {
    let config = EngineIoConfig::builder()
        .ping_interval(Duration::from_millis(1234))
        .ping_timeout(Duration::from_millis(567))
        .max_http_buffer_size(4096)
        .allow_upgrades(false)
        .build();
    let (_engine, addr) = start(config).await;
    let session = Polling::open(addr).await;
    assert_eq!(
        session.handshake.body,
        format!(
            r#"0{{"sid":"{}","upgrades":[],"pingInterval":1234,"pingTimeout":567,"maxPayload":4096}}"#,
            session.sid
        ),
        "no upgrades announced when upgrades are off"
    );
}

// ---------------------------------------------------------------------------------------------
// Error answers

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_transport_is_code_0() {
    let (engine, addr) = start(config()).await;
    let http = Http::new(addr);
    http.get("/engine.io/?EIO=4&transport=tobi")
        .await
        .assert_error(400, 0, Some("Transport unknown"));
    http.get("/engine.io/?EIO=4")
        .await
        .assert_error(400, 0, Some("Transport unknown"));
    http.get("/engine.io/?EIO=4&transport=constructor")
        .await
        .assert_error(400, 0, Some("Transport unknown"));
    assert_eq!(engine.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_transport_is_unknown() {
    let config = EngineIoConfig::builder()
        .transports([Transport::Websocket])
        .build();
    let (_engine, addr) = start(config).await;
    Http::new(addr)
        .get(&handshake_url("polling"))
        .await
        .assert_error(400, 0, Some("Transport unknown"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_sid_is_code_1() {
    let (_engine, addr) = start(config()).await;
    let http = Http::new(addr);
    for sid in ["AAAAAAAAAAAAAAAAAAAAAA", "test", "AAAAAAAAAAAAAAAAAAAAA!"] {
        http.get(&format!("/engine.io/?EIO=4&transport=polling&sid={sid}"))
            .await
            .assert_error(400, 1, Some("Session ID unknown"));
    }
    http.post(
        "/engine.io/?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAAAA",
        "4hi",
    )
    .await
    .assert_error(400, 1, Some("Session ID unknown"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_without_sid_is_code_2() {
    let (engine, addr) = start(config()).await;
    Http::new(addr)
        .post(&handshake_url("polling"), "4hi")
        .await
        .assert_error(400, 2, Some("Bad handshake method"));
    assert_eq!(engine.count(), 0);
    assert!(engine.handler().events().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eio3_and_missing_eio_are_code_5() {
    let (engine, addr) = start(config()).await;
    let http = Http::new(addr);
    for url in [
        "/engine.io/?EIO=3&transport=polling",
        "/engine.io/?transport=polling",
        "/engine.io/?EIO=5&transport=polling",
    ] {
        http.get(url)
            .await
            .assert_error(400, 5, Some("Unsupported protocol version"));
    }
    assert_eq!(engine.count(), 0);
    assert!(engine.handler().events().is_empty(), "no session opened");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_get_without_upgrade_is_code_3() {
    let (engine, addr) = start(config()).await;
    Http::new(addr)
        .get(&handshake_url("websocket"))
        .await
        .assert_error(400, 3, None);
    assert_eq!(engine.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_request_refusal_is_403_code_4() {
    let engine = EngineIo::builder(Recorder::echo())
        .config(config())
        .allow_request(|handshake| {
            let token = handshake.query("token").map(|t| t.into_owned());
            async move {
                match token.as_deref() {
                    Some("ok") => Ok(()),
                    _ => Err("nope".to_owned()),
                }
            }
        })
        .build();
    let addr = serve(&engine).await;
    let http = Http::new(addr);

    let res = http.get(&handshake_url("polling")).await;
    res.assert_error(403, 4, Some("nope"));
    assert_eq!(res.body, r#"{"code":4,"message":"nope"}"#);

    // The websocket handshake is refused the same way, before any upgrade.
    let ws_refused = tokio_tungstenite::connect_async(ws_url(addr, None)).await;
    match ws_refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::FORBIDDEN)
        }
        other => panic!("websocket handshake should be refused with 403, got {other:?}"),
    }
    assert_eq!(engine.count(), 0);
    assert!(engine.handler().events().is_empty(), "no session opened");

    // The hook lets the right request through.
    let ok = Polling::open_with(addr, "/engine.io/?EIO=4&transport=polling&token=ok", &[]).await;
    assert!(engine.socket(&ok.sid).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_request_on_a_websocket_session_is_code_3() {
    let (engine, addr) = start(config()).await;
    let (mut ws, sid, _) = ws_open(addr).await;
    let http = Http::new(addr);
    let url = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    http.get(&url).await.assert_error(400, 3, None);
    http.post(&url, "4hi").await.assert_error(400, 3, None);
    // The session itself is unharmed.
    ws_send(&mut ws, "4still").await;
    assert_eq!(text_of(&ws_next_data(&mut ws).await), "4still");
    assert!(engine.socket(&sid).is_some());
    assert!(engine.handler().messages(&sid).len() == 1);
}

/// Node tests `if (sid)`: an empty `sid` is no sid at all, so the GET is a handshake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_sid_is_a_handshake_as_in_node() {
    let (engine, addr) = start(config()).await;
    let res = Http::new(addr)
        .get("/engine.io/?EIO=4&transport=polling&sid=")
        .await;
    assert_eq!(res.status, StatusCode::OK, "answer: {res:?}");
    assert!(res.body.starts_with("0{\"sid\":"), "answer: {res:?}");
    assert_eq!(engine.count(), 1);
}
