use crate::adapter::{AdapterFactory, LocalAdapter};
use crate::client::EngineHandler;
use crate::namespace::{read, write};
use crate::operators::BroadcastOperator;
use crate::{ConnectError, DisconnectReason, Namespace, ParentNamespace, Socket, SocketIoConfig};
use axum::Router;
use engineio::cors::CorsLayer;
use engineio::{EngineIo, EngineIoBuilder};
use parser::Str;
use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

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
    pub config: SocketIoConfig,
    pub adapter_factory: Box<dyn AdapterFactory>,
    pub state: http::Extensions,
    client_dir: Option<PathBuf>,
    namespaces: RwLock<HashMap<Str, Namespace>>,
    dynamic: RwLock<Vec<ParentNamespace>>,
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
        // The application's predicates run under no lock of ours.
        let parents = read(&self.dynamic).clone();
        let parent = parents
            .into_iter()
            .find(|parent| parent.accepts(name, auth))?;
        let mut namespaces = write(&self.namespaces);
        // Another CONNECT may have made it meanwhile: then that one is joined.
        let child = namespaces
            .entry(name.clone())
            .or_insert_with(|| parent.create_child(name.clone(), self));
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

/// Builds a [`SocketIo`] with settings, CORS, an adapter and application state.
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

impl SocketIo {
    /// A server with Node's defaults.
    pub fn new() -> Self {
        Self::builder().build()
    }

    pub fn builder() -> SocketIoBuilder {
        SocketIoBuilder::default()
    }

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
    /// (Node's `io.of(regex)` or `io.of(fn)`); parents are asked in the order they were made.
    /// Handlers and middlewares given to the returned parent apply to each child made after,
    /// a broadcast on it reaches every child, and it has no adapter of its own (see
    /// [`ParentNamespace`]). [`of`](Self::of) returns a child while it exists; for a name no
    /// child has, it makes a plain namespace, which CONNECTs then join instead of a child.
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
    pub fn of_dynamic<F>(&self, accepts: F) -> ParentNamespace
    where
        F: Fn(&str, &serde_json::Value) -> bool + Send + Sync + 'static,
    {
        let parent = ParentNamespace::new(Box::new(accepts), &self.inner);
        write(&self.inner.dynamic).push(parent.clone());
        parent
    }

    /// Handles connections to `/` (Node's `io.on("connection")`).
    pub fn on_connection<F, Fut>(&self, handler: F)
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.main().on_connection(handler);
    }

    /// Adds a connect middleware to `/` (Node's `io.use`).
    pub fn use_middleware<F, Fut>(&self, middleware: F)
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        self.main().use_middleware(middleware);
    }

    /// A broadcast to every socket of `/`, to narrow with `to`, `except` and flags.
    pub fn broadcast(&self) -> BroadcastOperator {
        self.main().broadcast()
    }

    /// Sends an event to the other servers of the cluster, on `/` (Node's `io.serverSideEmit`).
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
