use crate::adapter::{AdapterFactory, LocalAdapter};
use crate::client::EngineHandler;
use crate::namespace::{read, write};
use crate::operators::BroadcastOperator;
use crate::{DisconnectReason, Namespace, SocketIoConfig};
use axum::Router;
use engineio::cors::CorsLayer;
use engineio::{EngineIo, EngineIoBuilder};
use parser::Str;
use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

/// The tower layer of [`SocketIo::layer`]: the engine's, which carries the socket.io server.
pub type SocketIoLayer = engineio::EngineIoLayer;
/// The service of [`SocketIoLayer`] around an inner service `S`.
pub type SocketIoService<S> = engineio::EngineIoService<S>;

type NamespacePredicate = Box<dyn Fn(&str, &serde_json::Value) -> bool + Send + Sync>;

/// A socket.io server (Node's `io`): its namespaces, mounted on an axum app by
/// [`router`](Self::router). Cloning is cheap and every clone is the same server.
///
/// ```no_run
/// use socketio::{AckSender, Data, Socket, SocketIo};
///
/// # async fn run() -> std::io::Result<()> {
/// let io = SocketIo::new();
/// io.on_connection(|socket: Socket| async move {
///     socket.on("ping", |ack: AckSender| async move {
///         let _ = ack.send("pong");
///     });
/// });
/// let app = axum::Router::new()
///     .route("/", axum::routing::get(|| async { "my app" }))
///     .merge(io.router());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum::serve(listener, app).await
/// # }
/// ```
#[derive(Clone)]
pub struct SocketIo {
    inner: Arc<ServerInner>,
    engine: EngineIo<EngineHandler>,
}

pub(crate) struct ServerInner {
    pub(crate) config: SocketIoConfig,
    pub(crate) adapter_factory: Box<dyn AdapterFactory>,
    pub(crate) state: http::Extensions,
    client_dir: Option<PathBuf>,
    namespaces: RwLock<HashMap<Str, Namespace>>,
    dynamic: RwLock<Vec<(NamespacePredicate, Namespace)>>,
}

impl ServerInner {
    /// The namespace a CONNECT asks for: an existing one, or a new child of the first dynamic
    /// parent that accepts the name.
    pub(crate) fn namespace_for(
        self: &Arc<Self>,
        name: &Str,
        auth: &serde_json::Value,
    ) -> Option<Namespace> {
        if let Some(namespace) = read(&self.namespaces).get(name) {
            return Some(namespace.clone());
        }
        let dynamic = read(&self.dynamic);
        let (_, parent) = dynamic.iter().find(|(accepts, _)| accepts(name, auth))?;
        let mut namespaces = write(&self.namespaces);
        let child = namespaces
            .entry(name.clone())
            .or_insert_with(|| Namespace::child_of(parent, name.clone(), self));
        Some(child.clone())
    }

    fn of(self: &Arc<Self>, name: Str) -> Namespace {
        write(&self.namespaces)
            .entry(name.clone())
            .or_insert_with(|| Namespace::new(name, self))
            .clone()
    }
}

type EngineHook =
    Box<dyn FnOnce(EngineIoBuilder<EngineHandler>) -> EngineIoBuilder<EngineHandler> + Send>;

/// Builds a [`SocketIo`] with settings, CORS, hooks on the first request, an adapter and
/// application state; what is not given keeps Node's default.
///
/// ```
/// use socketio::{cors::CorsLayer, SocketIo, SocketIoConfig};
/// use std::time::Duration;
///
/// #[derive(Clone)]
/// struct Db; // the application's handle, given to handlers by `State<Db>`
///
/// let io = SocketIo::builder()
///     .config(SocketIoConfig::builder().ping_interval(Duration::from_secs(10)).build())
///     .cors(CorsLayer::permissive())
///     .with_state(Db)
///     .build();
/// assert_eq!(io.config().engine.ping_interval, Duration::from_secs(10));
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct SocketIoBuilder {
    config: SocketIoConfig,
    cors: Option<CorsLayer>,
    /// Hooks of the engine underneath (`allow_request`, `initial_headers`), applied at build.
    engine_hooks: Vec<EngineHook>,
    adapter: Box<dyn AdapterFactory>,
    state: http::Extensions,
    client_dir: Option<PathBuf>,
}

impl Default for SocketIoBuilder {
    fn default() -> Self {
        Self {
            config: SocketIoConfig::default(),
            cors: None,
            engine_hooks: Vec::new(),
            adapter: Box::new(|_: &Str, namespace| {
                Arc::new(LocalAdapter::new(namespace)) as Arc<dyn crate::adapter::Adapter>
            }),
            state: http::Extensions::new(),
            client_dir: None,
        }
    }
}

impl SocketIoBuilder {
    /// The server's settings ([`SocketIoConfig::builder`]); Node's defaults otherwise.
    pub fn config(mut self, config: SocketIoConfig) -> Self {
        self.config = config;
        self
    }

    /// Answers cross-origin requests (Node's `cors` option). Off unless given.
    pub fn cors(mut self, cors: CorsLayer) -> Self {
        self.cors = Some(cors);
        self
    }

    /// Decides on each new connection from its first request, before any namespace (Node's
    /// `allowRequest`): an `Err` answers 403 with engine.io's code 4. Check the `Origin`
    /// header, a token in the query or a cookie here; per-namespace checks of the `auth`
    /// payload belong in connect middlewares.
    ///
    /// ```
    /// let io = socketio::SocketIo::builder()
    ///     .allow_request(|handshake| {
    ///         let allowed = handshake.header("origin") == Some("https://example.com");
    ///         async move { if allowed { Ok(()) } else { Err("origin not allowed".to_owned()) } }
    ///     })
    ///     .build();
    /// ```
    pub fn allow_request<F, Fut>(mut self, allow: F) -> Self
    where
        F: Fn(&engineio::Handshake) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.engine_hooks
            .push(Box::new(move |engine| engine.allow_request(allow)));
        self
    }

    /// Adds headers to the response that opens a connection, e.g. a cookie (Node's
    /// `initial_headers` event).
    pub fn initial_headers<F>(mut self, add: F) -> Self
    where
        F: Fn(&engineio::Handshake, &mut http::HeaderMap) + Send + Sync + 'static,
    {
        self.engine_hooks
            .push(Box::new(move |engine| engine.initial_headers(add)));
        self
    }

    /// Makes each namespace's adapter (the in-memory [`LocalAdapter`] by default).
    pub fn adapter(mut self, factory: impl AdapterFactory) -> Self {
        self.adapter = Box::new(factory);
        self
    }

    /// Application state that handlers take with the [`crate::State`] extractor, one value per
    /// type.
    pub fn with_state<T: Clone + Send + Sync + 'static>(mut self, state: T) -> Self {
        self.state.insert(state);
        self
    }

    /// Serves the browser client under the server's path (`/socket.io/socket.io.min.js`, ...),
    /// as Node's `serveClient` does, from a directory holding those files: the `dist/` of the
    /// npm package `socket.io-client`. Off unless given.
    pub fn serve_client(mut self, dir: impl Into<PathBuf>) -> Self {
        self.client_dir = Some(dir.into());
        self
    }

    /// The server, its namespace `/` created, ready to mount.
    pub fn build(self) -> SocketIo {
        let inner = Arc::new(ServerInner {
            config: self.config,
            adapter_factory: self.adapter,
            state: self.state,
            client_dir: self.client_dir,
            namespaces: RwLock::default(),
            dynamic: RwLock::default(),
        });
        inner.of(Str::from_static("/"));
        let mut engine = EngineIo::builder(EngineHandler {
            server: inner.clone(),
        })
        .config(inner.config.engine.clone());
        if let Some(cors) = self.cors {
            engine = engine.cors(cors);
        }
        for hook in self.engine_hooks {
            engine = hook(engine);
        }
        SocketIo {
            inner,
            engine: engine.build(),
        }
    }
}

impl Default for SocketIo {
    fn default() -> Self {
        Self::new()
    }
}

/// Shows the path and the namespaces, not the handlers.
impl std::fmt::Debug for SocketIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut namespaces: Vec<Str> = read(&self.inner.namespaces).keys().cloned().collect();
        namespaces.sort();
        f.debug_struct("SocketIo")
            .field("path", &self.inner.config.engine.path)
            .field("namespaces", &namespaces)
            .finish_non_exhaustive()
    }
}

/// Shows the settings and which options are set, not the hooks and the adapter factory.
impl std::fmt::Debug for SocketIoBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketIoBuilder")
            .field("config", &self.config)
            .field("cors", &self.cors.is_some())
            .field("engine_hooks", &self.engine_hooks.len())
            .field("state", &self.state)
            .field("client_dir", &self.client_dir)
            .finish_non_exhaustive()
    }
}

impl SocketIo {
    /// A server with Node's defaults.
    #[must_use]
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder for a server with settings, CORS, hooks, an adapter or state.
    pub fn builder() -> SocketIoBuilder {
        SocketIoBuilder::default()
    }

    /// The server's settings.
    #[must_use]
    pub fn config(&self) -> &SocketIoConfig {
        &self.inner.config
    }

    /// The routes under the server's path, to merge into an app's `Router`.
    pub fn router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let router = self.engine.router();
        match &self.inner.client_dir {
            Some(dir) => router.merge(crate::client_bundle::routes(
                &self.inner.config.engine.path,
                dir,
            )),
            None => router,
        }
    }

    /// A tower layer that puts the server in front of any service (hyper alone, axum, any tower
    /// stack): requests under the server's path are answered by it, every other request goes
    /// to the wrapped service unchanged. The browser client of
    /// [`serve_client`](SocketIoBuilder::serve_client) is served by [`router`](Self::router)
    /// only.
    ///
    /// ```no_run
    /// # async fn run() -> std::io::Result<()> {
    /// let io = socketio::SocketIo::new();
    /// // As a layer of the app rather than routes merged into it; hyper alone works the same
    /// // way (`io.layer().layer(my_service)`, see `tests/layer.rs`).
    /// let app = axum::Router::new()
    ///     .route("/", axum::routing::get(|| async { "my app" }))
    ///     .layer(io.layer());
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    /// axum::serve(listener, app).await
    /// # }
    /// ```
    pub fn layer(&self) -> SocketIoLayer {
        self.engine.layer()
    }

    /// The namespace of that name, created if new (Node's `io.of(name)`).
    pub fn of(&self, name: impl AsRef<str>) -> Namespace {
        let name = name.as_ref();
        let name = if name.starts_with('/') {
            Str::from(name)
        } else {
            Str::from(format!("/{name}"))
        };
        self.inner.of(name)
    }

    /// A parent for namespaces created on their first CONNECT when `accepts(name, auth)` holds
    /// (Node's `io.of(regex)` or `io.of(fn)`). Handlers and middlewares given to the returned
    /// parent apply to each child.
    ///
    /// ```
    /// # let io = socketio::SocketIo::new();
    /// let rooms = io.of_dynamic(|name, _auth| {
    ///     name.strip_prefix("/room-").is_some_and(|n| n.parse::<u32>().is_ok())
    /// });
    /// rooms.on_connection(|socket: socketio::Socket| async move {
    ///     let _ = socket.emit("hello", socket.namespace().name().as_str());
    /// });
    /// ```
    pub fn of_dynamic<F>(&self, accepts: F) -> Namespace
    where
        F: Fn(&str, &serde_json::Value) -> bool + Send + Sync + 'static,
    {
        let parent = Namespace::new(Str::from_static("/*"), &self.inner);
        write(&self.inner.dynamic).push((Box::new(accepts), parent.clone()));
        parent
    }

    /// Handles connections to `/` (Node's `io.on("connection")`).
    pub fn on_connection<H, T>(&self, handler: H)
    where
        H: crate::ConnectHandler<T>,
        T: Send + Sync + 'static,
    {
        self.main().on_connection(handler);
    }

    /// Adds a connect middleware to `/` (Node's `io.use`).
    pub fn use_middleware<M, T>(&self, middleware: M)
    where
        M: crate::ConnectMiddleware<T>,
        T: Send + Sync + 'static,
    {
        self.main().use_middleware(middleware);
    }

    /// A broadcast to every socket of `/`, to narrow with `to`, `except` and flags.
    pub fn broadcast(&self) -> BroadcastOperator {
        self.main().broadcast()
    }

    /// Sends an event to the other servers of the cluster, on `/` (Node's `io.serverSideEmit`).
    ///
    /// # Errors
    ///
    /// As [`Namespace::server_side_emit`].
    pub fn server_side_emit<T: serde::Serialize + ?Sized>(
        &self,
        event: impl Into<Str>,
        args: &T,
    ) -> Result<(), crate::EmitError> {
        self.main().server_side_emit(event, args)
    }

    /// Handles an event another server sent on `/` with `server_side_emit`.
    pub fn on_server_side<F, Fut>(&self, event: impl Into<Str>, handler: F)
    where
        F: Fn(Vec<serde_json::Value>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<serde_json::Value>> + Send + 'static,
    {
        self.main().on_server_side(event, handler);
    }

    /// Handles an event another server sent on `/`, knowing whether it waits for an answer
    /// (see [`Namespace::on_server_side_with_ack`]).
    pub fn on_server_side_with_ack<F, Fut>(&self, event: impl Into<Str>, handler: F)
    where
        F: Fn(Vec<serde_json::Value>, bool) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<serde_json::Value>> + Send + 'static,
    {
        self.main().on_server_side_with_ack(event, handler);
    }

    /// How many engine.io connections are open, whether or not they joined a namespace (Node's
    /// `io.engine.clientsCount`).
    #[must_use]
    pub fn clients_count(&self) -> usize {
        self.engine.count()
    }

    /// Disconnects every socket ("server shutting down"), closes every connection, and
    /// takes the server out of its cluster.
    pub fn close(&self) {
        let namespaces: Vec<Namespace> = read(&self.inner.namespaces).values().cloned().collect();
        for namespace in namespaces {
            for socket in namespace.sockets() {
                socket.close(DisconnectReason::ServerShuttingDown);
            }
            namespace.adapter().close();
        }
        self.engine.close();
    }

    fn main(&self) -> Namespace {
        self.inner.of(Str::from_static("/"))
    }
}
