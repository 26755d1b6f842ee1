//! The engine's HTTP handling: rounds of requests, those of a round sent at once, with fuzzed
//! methods, query parameters, headers and bodies, and session ids that are real (from earlier
//! handshakes) or made up. Every request gets an answer that is not a server error, and once the
//! engine closes no session is left behind.
#![no_main]

use arbitrary::Arbitrary;
use axum::body::Body;
use futures_util::future::join_all;
use http::{Method, Request, StatusCode};
use libfuzzer_sys::fuzz_target;
use socketio_fuzz::{answer, assert_all_closed, engine, run, sid_in};

#[derive(Arbitrary, Debug)]
enum Value {
    Good,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum Sid {
    /// The id of the n-th session handed out so far.
    Real(u8),
    Made(String),
}

#[derive(Arbitrary, Debug)]
struct Req {
    method: u8,
    eio: Option<Value>,
    websocket: bool,
    transport: Option<Value>,
    sid: Option<Sid>,
    /// Appended to the query as is, percent signs and all.
    extra: String,
    content_type: Option<String>,
    /// Written as a polling payload: `4` + each message, joined by the separator.
    messages: Vec<String>,
    /// Sent instead of the messages, when present.
    raw_body: Option<Vec<u8>>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    rounds: Vec<Vec<Req>>,
}

const METHODS: [Method; 6] = [
    Method::GET,
    Method::POST,
    Method::OPTIONS,
    Method::PUT,
    Method::DELETE,
    Method::HEAD,
];

fn request(req: &Req, sids: &[String]) -> Request<Body> {
    let mut query = Vec::new();
    match &req.eio {
        Some(Value::Good) => query.push("EIO=4".to_owned()),
        Some(Value::Other(v)) => query.push(format!("EIO={v}")),
        None => {}
    }
    let transport = if req.websocket {
        "websocket"
    } else {
        "polling"
    };
    match &req.transport {
        Some(Value::Good) => query.push(format!("transport={transport}")),
        Some(Value::Other(v)) => query.push(format!("transport={v}")),
        None => {}
    }
    match &req.sid {
        Some(Sid::Real(n)) if !sids.is_empty() => {
            query.push(format!("sid={}", sids[usize::from(*n) % sids.len()]))
        }
        Some(Sid::Made(v)) => query.push(format!("sid={v}")),
        _ => {}
    }
    let uri = format!("/engine.io/?{}{}", query.join("&"), req.extra);
    let mut builder = Request::builder()
        .method(METHODS[usize::from(req.method) % METHODS.len()].clone())
        .uri(&uri);
    if let Some(content_type) = &req.content_type {
        builder = builder.header(http::header::CONTENT_TYPE, content_type.as_str());
    }
    if req.websocket {
        builder = builder
            .header(http::header::CONNECTION, "Upgrade")
            .header(http::header::UPGRADE, "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
    }
    let body = match &req.raw_body {
        Some(raw) => raw.clone(),
        None => req
            .messages
            .iter()
            .map(|m| format!("4{m}"))
            .collect::<Vec<_>>()
            .join("\x1e")
            .into_bytes(),
    };
    // A URI or header the fuzzer made invalid is refused by `http` before it reaches a server.
    builder
        .body(Body::from(body))
        .unwrap_or_else(|_| Request::new(Body::empty()))
}

fuzz_target!(|input: Input| {
    let engine = engine();
    run(async {
        let mut sids: Vec<String> = Vec::new();
        for round in input.rounds.iter().take(8) {
            let requests: Vec<_> = round.iter().take(4).map(|r| request(r, &sids)).collect();
            let answers = join_all(requests.into_iter().map(|req| {
                let engine = engine.clone();
                async move { answer(engine.handle(req).await).await }
            }))
            .await;
            for (status, body) in answers {
                if status == StatusCode::OK {
                    sids.extend(sid_in(&body));
                }
            }
        }
        assert_all_closed(&engine).await;
    });
});
