//! [`SocketIoBuilder`]: a server's settings, hooks, adapter and state, gathered before it is
//! made.

use crate::adapter::AdapterFactory;
use crate::client::EngineHandler;
use crate::io::ServerInner;
use crate::{SocketIo, SocketIoConfig};
use engineio::cors::CorsLayer;
use engineio::{EngineIo, EngineIoBuilder};
use parser::Str;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

/// Why a [`SocketIoBuilder`] cannot make a server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Connection state recovery is on, but the adapter keeps no sessions (Node's Redis
    /// pub/sub adapter has no recovery, and neither has ours).
    #[error(
        "connection state recovery is on, but the adapter keeps no sessions: use the in-memory \
         adapter or one with recovery (Redis Streams), or turn recovery off"
    )]
    RecoveryUnsupported,
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
    cleanup_empty_child_namespaces: bool,
    metrics: bool,
}

impl Default for SocketIoBuilder {
    fn default() -> Self {
        Self {
            config: SocketIoConfig::default(),
            cors: None,
            engine_hooks: Vec::new(),
            adapter: Box::new(crate::adapter::LocalAdapterFactory),
            state: http::Extensions::new(),
            client_dir: None,
            cleanup_empty_child_namespaces: false,
            metrics: false,
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

    /// Makes each namespace's adapter (the in-memory [`LocalAdapter`](crate::adapter::LocalAdapter) by default).
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

    /// Removes a child of a dynamic parent ([`SocketIo::of_dynamic`]) when its last socket
    /// leaves, closing its adapter (Node's `cleanupEmptyChildNamespaces`, off by default); the
    /// next CONNECT to that name makes it again, with the parent's handlers of then. A child
    /// is kept while a CONNECT to it is in its middlewares, and removed when the only socket
    /// that asked for it is refused. A removed child's [`Namespace`](crate::Namespace) handle reaches no one;
    /// [`ParentNamespace::children`](crate::ParentNamespace::children) has the current ones.
    ///
    /// ```
    /// let io = socketio::SocketIo::builder()
    ///     .cleanup_empty_child_namespaces(true)
    ///     .build();
    /// // A namespace per user, gone when the user's last tab closes.
    /// let users = io.of_dynamic(|name, _| name.starts_with("/user-"));
    /// ```
    pub fn cleanup_empty_child_namespaces(mut self, cleanup: bool) -> Self {
        self.cleanup_empty_child_namespaces = cleanup;
        self
    }

    /// Keeps Prometheus metrics, read with [`SocketIo::metrics`] or served by
    /// [`SocketIo::metrics_route`] (the names are in the README). Off unless called: each
    /// packet then costs one atomic add or two.
    pub fn metrics(mut self) -> Self {
        self.metrics = true;
        self
    }

    /// The server, its namespace `/` created, ready to mount.
    ///
    /// # Panics
    ///
    /// When connection state recovery is on and the adapter keeps no sessions (the Redis
    /// pub/sub adapter, as Node's): a server that would silently recover nothing is a
    /// configuration error. [`try_build`](Self::try_build) returns it instead.
    pub fn build(self) -> SocketIo {
        match self.try_build() {
            Ok(io) => io,
            Err(error) => panic!("{error}"),
        }
    }

    /// The server, or why these settings cannot make one.
    ///
    /// # Errors
    ///
    /// [`BuildError::RecoveryUnsupported`] when connection state recovery is on and the
    /// adapter keeps no sessions.
    pub fn try_build(self) -> Result<SocketIo, BuildError> {
        if self.config.connection_state_recovery.is_some() && !self.adapter.supports_recovery() {
            return Err(BuildError::RecoveryUnsupported);
        }
        Ok(self.build_unchecked())
    }

    fn build_unchecked(self) -> SocketIo {
        let metrics = self.metrics.then(crate::metrics::Builder::new);
        let inner = Arc::new(ServerInner::new(
            self.config,
            self.adapter,
            self.state,
            self.client_dir,
            self.cleanup_empty_child_namespaces,
            metrics.as_ref().map(|m| m.counters.clone()),
        ));
        if let Some(counters) = &inner.counters {
            inner.observers.add(counters.clone());
        }
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
        let engine = engine.build();
        let metrics = metrics.map(|m| m.finish(&inner, &engine));
        SocketIo {
            inner,
            engine,
            metrics,
        }
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
