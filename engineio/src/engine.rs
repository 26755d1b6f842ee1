use crate::config::{EngineIoConfig, Transport};
use crate::error::RequestError;
use crate::handshake::{query_param, Handshake};
use crate::message::{CloseReason, Message};
use crate::protocol::Protocol;
use crate::service::{EngineIoLayer, Entry, EntryService};
use crate::{heartbeat, polling, websocket, EngineIoHandler, Sid, Socket};
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::{IntoResponse, Response};
use axum::{BoxError, Router};
use bytes::Bytes;
use http::{HeaderMap, Method};
use parser::engineio::Packet;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use tower_http::cors::CorsLayer;

type AllowRequest =
    dyn Fn(&Handshake) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync;
type InitialHeaders = dyn Fn(&Handshake, &mut HeaderMap) + Send + Sync;

/// The handshake body, its fields in the order Node sends them.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct OpenPacket<'a> {
    sid: &'a str,
    upgrades: &'static [&'static str],
    ping_interval: u64,
    ping_timeout: u64,
    max_payload: usize,
}

/// An engine.io v4 server: the sessions, and the HTTP entry point both transports arrive through.
///
/// Cloning is cheap and every clone is the same server. Mount it with [`router`](Self::router)
/// in an axum app, or with [`layer`](Self::layer) in front of any tower service.
///
/// ```no_run
/// use engineio::{CloseReason, EngineIo, EngineIoConfig, EngineIoHandler, Message, Socket};
/// use std::sync::Arc;
///
/// struct Echo;
/// impl EngineIoHandler for Echo {
///     type Data = ();
///     fn on_connect(&self, _socket: Arc<Socket>) {}
///     fn on_message(&self, socket: &Arc<Socket>, message: Message) {
///         let _ = socket.send(message);
///     }
///     fn on_close(&self, _socket: &Arc<Socket>, _reason: CloseReason) {}
/// }
///
/// # async fn run() -> std::io::Result<()> {
/// let engine = EngineIo::builder(Echo).config(EngineIoConfig::default()).build();
/// // The app keeps its own routes; the engine answers under `/engine.io/`.
/// let app = axum::Router::new()
///     .route("/health", axum::routing::get(|| async { "ok" }))
///     .merge(engine.router());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum::serve(listener, app).await
/// # }
/// ```
pub struct EngineIo<H: EngineIoHandler> {
    inner: Arc<Inner<H>>,
}

struct Inner<H: EngineIoHandler> {
    config: EngineIoConfig,
    handler: H,
    sockets: RwLock<HashMap<Sid, Arc<Socket<H::Data>>>>,
    allow_request: Option<Box<AllowRequest>>,
    initial_headers: Option<Box<InitialHeaders>>,
    cors: Option<CorsLayer>,
}

impl<H: EngineIoHandler> Clone for EngineIo<H> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<H: EngineIoHandler> fmt::Debug for EngineIo<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineIo")
            .field("config", &self.inner.config)
            .field("sockets", &self.count())
            .field("allow_request", &self.inner.allow_request.is_some())
            .field("initial_headers", &self.inner.initial_headers.is_some())
            .field("cors", &self.inner.cors)
            .finish_non_exhaustive()
    }
}

/// Builds an [`EngineIo`] from a handler, a config and the optional hooks: made by
/// [`EngineIo::builder`]. Everything not given keeps Node's default.
///
/// ```
/// use engineio::cors::CorsLayer;
/// use engineio::{EngineIo, EngineIoConfig, EngineIoHandler};
/// use http::HeaderValue;
/// use std::time::Duration;
///
/// # fn build<H: EngineIoHandler>(handler: H) -> EngineIo<H> {
/// EngineIo::builder(handler)
///     .config(EngineIoConfig::builder().ping_interval(Duration::from_secs(10)).build())
///     .cors(CorsLayer::new().allow_origin(HeaderValue::from_static("https://app.example")))
///     .initial_headers(|_handshake, headers| {
///         headers.insert("x-served-by", HeaderValue::from_static("engineio"));
///     })
///     .build()
/// # }
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct EngineIoBuilder<H: EngineIoHandler> {
    handler: H,
    config: EngineIoConfig,
    allow_request: Option<Box<AllowRequest>>,
    initial_headers: Option<Box<InitialHeaders>>,
    cors: Option<CorsLayer>,
}

impl<H: EngineIoHandler> fmt::Debug for EngineIoBuilder<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineIoBuilder")
            .field("config", &self.config)
            .field("allow_request", &self.allow_request.is_some())
            .field("initial_headers", &self.initial_headers.is_some())
            .field("cors", &self.cors)
            .finish_non_exhaustive()
    }
}

impl<H: EngineIoHandler> EngineIoBuilder<H> {
    /// The engine's settings; [`EngineIoConfig::default`] (Node's defaults) unless given.
    pub fn config(mut self, config: EngineIoConfig) -> Self {
        self.config = config;
        self
    }

    /// Decides whether a handshake may open a session (Node's `allowRequest`). An `Err` answers
    /// 403 `{"code":4,"message":<the error>}`. Take what you need from the handshake before the
    /// `async` block:
    ///
    /// ```
    /// # use engineio::{EngineIo, EngineIoHandler};
    /// # fn build<H: EngineIoHandler>(handler: H) -> EngineIo<H> {
    /// EngineIo::builder(handler)
    ///     .allow_request(|handshake| {
    ///         let token = handshake.query("token").map(|t| t.into_owned());
    ///         async move {
    ///             match token.as_deref() {
    ///                 Some("let-me-in") => Ok(()),
    ///                 _ => Err("bad token".to_owned()),
    ///             }
    ///         }
    ///     })
    ///     .build()
    /// # }
    /// ```
    pub fn allow_request<F, Fut>(mut self, allow: F) -> Self
    where
        F: Fn(&Handshake) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.allow_request = Some(Box::new(move |handshake| Box::pin(allow(handshake))));
        self
    }

    /// Adds headers to the response that opens a session, e.g. a cookie (Node's
    /// `initial_headers` event).
    pub fn initial_headers<F>(mut self, add: F) -> Self
    where
        F: Fn(&Handshake, &mut HeaderMap) + Send + Sync + 'static,
    {
        self.initial_headers = Some(Box::new(add));
        self
    }

    /// Answers cross-origin requests and preflights (Node's `cors` option), on every answer
    /// of [`router`](EngineIo::router) and [`layer`](EngineIo::layer), errors included. Off
    /// unless given.
    pub fn cors(mut self, cors: CorsLayer) -> Self {
        self.cors = Some(cors);
        self
    }

    /// The engine, ready to mount.
    pub fn build(self) -> EngineIo<H> {
        EngineIo {
            inner: Arc::new(Inner {
                config: self.config,
                handler: self.handler,
                sockets: RwLock::default(),
                allow_request: self.allow_request,
                initial_headers: self.initial_headers,
                cors: self.cors,
            }),
        }
    }
}

impl<H: EngineIoHandler> EngineIo<H> {
    /// A builder for an engine that reports to `handler`.
    pub fn builder(handler: H) -> EngineIoBuilder<H> {
        EngineIoBuilder {
            handler,
            config: EngineIoConfig::default(),
            allow_request: None,
            initial_headers: None,
            cors: None,
        }
    }

    /// The engine's settings.
    #[must_use]
    pub fn config(&self) -> &EngineIoConfig {
        &self.inner.config
    }

    /// The handler the engine reports to.
    #[must_use]
    pub fn handler(&self) -> &H {
        &self.inner.handler
    }

    pub(crate) fn cors(&self) -> Option<&CorsLayer> {
        self.inner.cors.as_ref()
    }

    /// The routes of the engine's path, to merge into an app's `Router`; the app's other routes
    /// are untouched. The engine's CORS, when it has one, applies to these routes alone.
    pub fn router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let service = EntryService(Arc::new(Entry::new(self)));
        let path = self.inner.config.path.as_str();
        Router::new()
            .route_service(path, service.clone())
            .route_service(&format!("{path}{{*rest}}"), service)
    }

    /// A tower layer that puts the engine in front of any service: requests under the engine's
    /// path are answered by the engine (CORS included, when it has one) and every other
    /// request goes to the wrapped service unchanged. For hyper alone, axum or any tower stack;
    /// see [`EngineIoLayer`].
    pub fn layer(&self) -> EngineIoLayer {
        EngineIoLayer::new(self)
    }

    /// Answers one HTTP request addressed to the engine, whatever its path: for mounting the
    /// engine by other means than [`router`](Self::router) or [`layer`](Self::layer). The
    /// engine's CORS is not applied here.
    ///
    /// The body may be any body of [`Bytes`] (hyper's `Incoming`, axum's `Body`, ...). A
    /// WebSocket upgrade needs hyper's `OnUpgrade` in the request's extensions, where hyper
    /// puts it when the connection is served with upgrades.
    pub async fn handle<B>(&self, req: http::Request<B>) -> Response
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        match self.dispatch(req.map(Body::new)).await {
            Ok(response) => response,
            Err(error) => error.into_response(),
        }
    }

    /// A connected socket by id.
    #[must_use]
    pub fn socket(&self, id: &str) -> Option<Arc<Socket<H::Data>>> {
        Sid::parse(id).and_then(|sid| self.socket_by_sid(sid))
    }

    fn socket_by_sid(&self, sid: Sid) -> Option<Arc<Socket<H::Data>>> {
        self.read_sockets().get(&sid).cloned()
    }

    /// Every connected socket.
    #[must_use]
    pub fn sockets(&self) -> Vec<Arc<Socket<H::Data>>> {
        self.read_sockets().values().cloned().collect()
    }

    /// How many sockets are connected (Node's `clientsCount`).
    #[must_use]
    pub fn count(&self) -> usize {
        self.read_sockets().len()
    }

    /// Closes every session now, with the reason `forced close`, as Node's `engine.close()`
    /// does. What a transport can take right away still goes out first: a WebSocket writes its
    /// queue, a pending polling GET gets its queue then the close packet. A polling session with
    /// no GET pending has nothing to send it on and ends at once.
    pub fn close(&self) {
        for socket in self.sockets() {
            socket.close();
            if socket.transport() == Transport::Polling
                && !socket
                    .poll_active
                    .load(std::sync::atomic::Ordering::Acquire)
            {
                self.close_socket(&socket, CloseReason::ForcedClose);
            }
        }
    }

    async fn dispatch(&self, mut req: Request) -> Result<Response, RequestError> {
        // The query is read in place, and what is needed of it taken out before the request
        // moves on.
        let query = req.uri().query().unwrap_or_default();
        let transport = query_param(query, "transport")
            .as_deref()
            .and_then(Transport::from_name)
            .filter(|t| self.inner.config.allows(*t))
            .ok_or(RequestError::UnknownTransport)?;
        // Node tests the sid for truth: `sid=` is no sid, so the request is a handshake. A sid
        // that is not one of ours in shape is `Some(None)`: unknown.
        let sid = query_param(query, "sid")
            .filter(|sid| !sid.is_empty())
            .map(|sid| Sid::parse(&sid));
        let protocol = Protocol::of_query(query);
        let upgrade = websocket::is_upgrade_request(&req);

        if let Some(sid) = sid {
            let socket = sid
                .and_then(|sid| self.socket_by_sid(sid))
                .ok_or(RequestError::UnknownSid)?;
            // Past its heartbeat deadline the session is over, even if its timer is running late.
            if socket.heartbeat_expired() {
                self.close_socket(&socket, CloseReason::PingTimeout);
                return Err(RequestError::UnknownSid);
            }
            if !upgrade && socket.transport() != transport {
                return Err(RequestError::BadRequest);
            }
            return match transport {
                Transport::Polling => polling::serve(self, socket, req).await,
                Transport::Websocket => websocket::upgrade(self, socket, &mut req),
            };
        }

        if req.method() != Method::GET {
            return Err(RequestError::BadHandshakeMethod);
        }
        if transport == Transport::Websocket && !upgrade {
            return Err(RequestError::BadRequest);
        }
        let remote_addr = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0)
            .or_else(|| req.extensions().get::<SocketAddr>().copied());
        let handshake = Handshake::new(
            req.uri().clone(),
            req.headers().clone(),
            remote_addr,
            transport,
        );
        if let Some(allow) = &self.inner.allow_request {
            allow(&handshake).await.map_err(RequestError::Forbidden)?;
        }
        if protocol == Protocol::V3 && !self.inner.config.allow_eio3 {
            return Err(RequestError::UnsupportedProtocolVersion);
        }
        let sid = Sid::random();
        let mut headers = HeaderMap::new();
        // Set before the application's hook, which may change it, as in Node; and as in Node on
        // a polling handshake only: a WebSocket is one connection, which needs no stickiness.
        if let Some(cookie) = self
            .inner
            .config
            .cookie
            .as_ref()
            .filter(|_| transport == Transport::Polling)
        {
            if let Ok(value) = http::HeaderValue::from_str(&cookie.header_value(sid.as_str())) {
                headers.insert(http::header::SET_COOKIE, value);
            }
        }
        if let Some(add) = &self.inner.initial_headers {
            add(&handshake, &mut headers);
        }
        let mut response = match transport {
            Transport::Polling => polling::open(self, sid, handshake, protocol).await?,
            Transport::Websocket => websocket::open(self, sid, handshake, protocol, &mut req)?,
        };
        response.headers_mut().extend(headers);
        Ok(response)
    }

    /// Registers a new session and queues its open packet; a polling session's heartbeat starts
    /// here, a WebSocket's in its task.
    pub(crate) fn open_socket(
        &self,
        sid: Sid,
        handshake: Handshake,
        transport: Transport,
        protocol: Protocol,
    ) -> Arc<Socket<H::Data>> {
        let config = &self.inner.config;
        let socket = Arc::new(Socket::new(
            sid,
            handshake,
            H::Data::default(),
            transport,
            protocol,
            config.max_buffer_size,
            config.ping_interval + config.ping_timeout,
        ));
        let open = OpenPacket {
            sid: sid.as_str(),
            upgrades: config.upgrades_from(transport),
            ping_interval: config.ping_interval.as_millis() as u64,
            ping_timeout: config.ping_timeout.as_millis() as u64,
            max_payload: config.max_http_buffer_size,
        };
        let open = serde_json::to_string(&open).unwrap_or_default();
        socket.send_control(Packet::Open(open.into()).encode());
        self.write_sockets().insert(sid, socket.clone());
        if transport == Transport::Polling {
            heartbeat::spawn(self.clone(), socket.clone());
        }
        self.inner.handler.on_connect(socket.clone());
        socket
    }

    /// Handles one packet from the client, whichever transport brought it.
    pub(crate) fn on_packet(&self, socket: &Arc<Socket<H::Data>>, packet: Packet) {
        if socket.is_closed() {
            return;
        }
        match packet {
            Packet::Message(text) => self.inner.handler.on_message(socket, Message::Text(text)),
            Packet::Binary(bytes) => self
                .inner
                .handler
                .on_message(socket, Message::Binary(bytes)),
            // In v4 only the server pings, in v3 only the client: a heartbeat the other way
            // breaks the protocol (Node: "invalid heartbeat direction").
            Packet::Pong(_) if socket.protocol() == Protocol::V4 => {
                heartbeat::on_pong(self, socket)
            }
            Packet::Ping(_) if socket.protocol() == Protocol::V3 => {
                heartbeat::on_ping(self, socket)
            }
            Packet::Ping(_) | Packet::Pong(_) => {
                self.close_socket(socket, CloseReason::TransportError);
            }
            Packet::Close => self.close_socket(socket, CloseReason::TransportClose),
            Packet::Open(_) | Packet::Upgrade | Packet::Noop => {}
        }
    }

    /// Ends a session now: unregisters it, wakes its transports and tells the handler, once.
    pub(crate) fn close_socket(&self, socket: &Arc<Socket<H::Data>>, reason: CloseReason) {
        // A socket closed by the server whose transport never came back to take its close
        // packet times out on its heartbeat, but it was closed by the server all the same.
        let reason = match reason {
            CloseReason::PingTimeout if socket.is_closing() => CloseReason::ForcedClose,
            reason => reason,
        };
        if socket.mark_closed(reason) {
            self.write_sockets().remove(&socket.id());
            tracing::debug!(sid = %socket.id(), %reason, "engine.io session closed");
            self.inner.handler.on_close(socket, reason);
        }
    }

    fn read_sockets(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Sid, Arc<Socket<H::Data>>>> {
        crate::sync::read(&self.inner.sockets)
    }

    fn write_sockets(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<Sid, Arc<Socket<H::Data>>>> {
        crate::sync::write(&self.inner.sockets)
    }
}
