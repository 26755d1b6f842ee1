//! A raw HTTP/1 client and polling sessions.

use super::*;

/// An HTTP answer as the client saw it.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body {:?} is not JSON: {e}", self.body))
    }

    /// The packets of a polling payload.
    pub fn packets(&self) -> Vec<String> {
        split_payload(&self.body)
    }

    /// Asserts an engine.io error answer: the status and the exact JSON body.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: u64, message: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "status of {self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "content-type of {self:?}"
        );
        let json = self.json();
        assert_eq!(json["code"], code, "code in {:?}", self.body);
        if let Some(message) = message {
            assert_eq!(json["message"], message, "message in {:?}", self.body);
            assert_eq!(
                self.body,
                serde_json::json!({"code": code, "message": message}).to_string()
            );
        }
    }
}

/// Splits a polling payload on the record separator.
pub fn split_payload(body: &str) -> Vec<String> {
    body.split('\x1e').map(str::to_owned).collect()
}

/// A raw HTTP/1 client for one server.
#[derive(Clone)]
pub struct Http {
    pub addr: SocketAddr,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Http {
    pub fn new(addr: SocketAddr) -> Self {
        let client = Client::builder(TokioExecutor::new()).build_http();
        Self { addr, client }
    }

    /// Sends a request; not bounded, see [`Http::request`].
    pub fn request_unbounded(
        &self,
        method: Method,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> impl Future<Output = Resp> + Send + 'static {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("http://{}{}", self.addr, path_and_query));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(body.into())).expect("valid request");
        let client = self.client.clone();
        async move {
            let res = client.request(req).await.expect("HTTP request failed");
            let status = res.status();
            let headers = res.headers().clone();
            let body = res
                .into_body()
                .collect()
                .await
                .expect("HTTP body")
                .to_bytes();
            let body = String::from_utf8(body.to_vec()).expect("UTF-8 body");
            Resp {
                status,
                headers,
                body,
            }
        }
    }

    pub async fn request(
        &self,
        method: Method,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Resp {
        let what = format!("HTTP answer to {path_and_query}");
        within(
            &what,
            self.request_unbounded(method, path_and_query, headers, body),
        )
        .await
    }

    pub async fn get(&self, path_and_query: &str) -> Resp {
        self.request(Method::GET, path_and_query, &[], Bytes::new())
            .await
    }

    pub async fn post(&self, path_and_query: &str, body: impl Into<Bytes>) -> Resp {
        self.request(Method::POST, path_and_query, &[], body).await
    }
}

/// The handshake URL of a transport.
pub fn handshake_url(transport: &str) -> String {
    format!("/engine.io/?EIO=4&transport={transport}")
}

/// A session opened over polling.
pub struct Polling {
    pub http: Http,
    pub sid: String,
    /// The handshake's open packet JSON.
    pub open: serde_json::Value,
    /// The handshake answer.
    pub handshake: Resp,
}

impl Polling {
    /// Opens a session with a handshake GET, checking it answered an open packet.
    pub async fn open(addr: SocketAddr) -> Self {
        Self::open_with(addr, &handshake_url("polling"), &[]).await
    }

    pub async fn open_with(addr: SocketAddr, url: &str, headers: &[(&str, &str)]) -> Self {
        let http = Http::new(addr);
        let handshake = http.request(Method::GET, url, headers, Bytes::new()).await;
        assert_eq!(handshake.status, StatusCode::OK, "handshake: {handshake:?}");
        let json = handshake
            .body
            .strip_prefix('0')
            .unwrap_or_else(|| panic!("not an open packet: {:?}", handshake.body));
        let open: serde_json::Value = serde_json::from_str(json).expect("open packet JSON");
        let sid = open["sid"].as_str().expect("sid in open packet").to_owned();
        Self {
            http,
            sid,
            open,
            handshake,
        }
    }

    pub fn url(&self) -> String {
        format!("/engine.io/?EIO=4&transport=polling&sid={}", self.sid)
    }

    /// A bounded GET.
    pub async fn get(&self) -> Resp {
        self.http.get(&self.url()).await
    }

    /// A bounded POST.
    pub async fn post(&self, body: impl Into<Bytes>) -> Resp {
        self.http.post(&self.url(), body).await
    }

    /// A GET with no bound: for tests that give up on it themselves.
    pub fn get_unbounded(&self) -> impl Future<Output = Resp> + Send + 'static {
        self.http
            .request_unbounded(Method::GET, &self.url(), &[], Bytes::new())
    }

    /// Starts a GET that stays pending until the server answers; join it with [`join`].
    pub fn spawn_get(&self) -> JoinHandle<Resp> {
        tokio::spawn(
            self.http
                .request_unbounded(Method::GET, &self.url(), &[], Bytes::new()),
        )
    }
}

/// Joins a spawned request, bounded.
pub async fn join(handle: JoinHandle<Resp>) -> Resp {
    within("a pending request to be answered", handle)
        .await
        .expect("request task panicked")
}

/// Waits (bounded) until the socket's polling GET is pending on the server.
pub async fn until_writable(engine: &EngineIo<Recorder>, sid: &str) {
    let socket = engine.socket(sid).expect("socket is connected");
    eventually("a pending GET (socket writable)", || socket.is_writable()).await;
}
