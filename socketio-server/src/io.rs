use crate::adapter::AdapterFactory;
use crate::client::EngineHandler;
use crate::client::EngineSocket;
use crate::operators::BroadcastOperator;
use crate::{DisconnectReason, Namespace, ParentNamespace, SocketIoBuilder, SocketIoConfig};
use axum::Router;
use engineio::sync::{read, write};
use engineio::EngineIo;
use parser::Str;
use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, Weak};

/// The tower layer of [`SocketIo::layer`]: the engine's, which carries the socket.io server.
pub type SocketIoLayer = engineio::EngineIoLayer;
/// The service of [`SocketIoLayer`] around an inner service `S`.
pub type SocketIoService<S> = engineio::EngineIoService<S>;

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
    pub(crate) inner: Arc<ServerInner>,
    pub(crate) engine: EngineIo<EngineHandler>,
    /// Kept here, not in the server: its collector holds the engine, which holds the server.
    pub(crate) metrics: Option<crate::Metrics>,
}

pub(crate) struct ServerInner {
    pub(crate) config: SocketIoConfig,
    /// The metrics' counters, when the server keeps metrics.
    pub(crate) counters: Option<Arc<crate::metrics::Counters>>,
    /// Who watches the engine: the metrics' counters when kept, then what
    /// [`SocketIo::observe_engine`] added.
    pub(crate) observers: crate::observer::Observers,
    pub(crate) adapter_factory: Box<dyn AdapterFactory>,
    pub(crate) state: http::Extensions,
    client_dir: Option<PathBuf>,
    /// Node's `cleanupEmptyChildNamespaces`.
    cleanup_empty_child_namespaces: bool,
    /// Every namespace a CONNECT can reach. Its lock also orders the making and the removal
    /// of dynamic children, and is taken before a parent's list of children.
    namespaces: RwLock<HashMap<Str, Registered>>,
    dynamic: RwLock<Vec<ParentNamespace>>,
}

/// A namespace of the server, and when it is a dynamic child, what its removal depends on.
struct Registered {
    namespace: Namespace,
    child: Option<Child>,
}

struct Child {
    parent: ParentNamespace,
    /// The CONNECTs admitted to the child and not through the middlewares yet: an empty child
    /// with one pending is not removed under it.
    connecting: Arc<AtomicUsize>,
}

impl Registered {
    /// Counts a CONNECT in; called under the lock of namespaces, which a removal takes to write.
    fn admit(&self, server: &Arc<ServerInner>) -> Admission {
        let connecting = self.child.as_ref().map(|child| {
            child.connecting.fetch_add(1, Ordering::AcqRel);
            child.connecting.clone()
        });
        Admission {
            namespace: self.namespace.clone(),
            connecting,
            server: Arc::downgrade(server),
        }
    }
}

/// A CONNECT on its way into a namespace: a dynamic child counts it until it is through, or
/// refused, and may be removed then if it is empty.
pub(crate) struct Admission {
    namespace: Namespace,
    connecting: Option<Arc<AtomicUsize>>,
    server: Weak<ServerInner>,
}

impl Admission {
    /// Runs the middlewares and admits the socket, or refuses it (see `Namespace::connect`).
    pub(crate) async fn connect(self, conn: Arc<EngineSocket>, auth: serde_json::Value) {
        self.namespace.clone().connect(conn, auth).await;
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let Some(connecting) = &self.connecting else {
            return;
        };
        connecting.fetch_sub(1, Ordering::AcqRel);
        if let Some(server) = self.server.upgrade() {
            // Node removes a child whose only socket a middleware refused, too.
            server.remove_if_empty(self.namespace.name());
        }
    }
}

impl ServerInner {
    /// A server with no namespace yet, from what its builder gathered.
    pub(crate) fn new(
        config: SocketIoConfig,
        adapter_factory: Box<dyn AdapterFactory>,
        state: http::Extensions,
        client_dir: Option<PathBuf>,
        cleanup_empty_child_namespaces: bool,
        counters: Option<Arc<crate::metrics::Counters>>,
    ) -> Self {
        Self {
            config,
            counters,
            observers: crate::observer::Observers::default(),
            adapter_factory,
            state,
            client_dir,
            cleanup_empty_child_namespaces,
            namespaces: RwLock::default(),
            dynamic: RwLock::default(),
        }
    }

    /// The namespace a CONNECT asks for: an existing one, or a new child of the first dynamic
    /// parent that accepts the name.
    /// Every namespace a CONNECT can reach now.
    pub(crate) fn namespaces(&self) -> Vec<Namespace> {
        read(&self.namespaces)
            .values()
            .map(|registered| registered.namespace.clone())
            .collect()
    }

    pub(crate) fn namespace_for(
        self: &Arc<Self>,
        name: &Str,
        auth: &serde_json::Value,
    ) -> Option<Admission> {
        if let Some(registered) = read(&self.namespaces).get(name) {
            return Some(registered.admit(self));
        }
        // The application's predicates run under no lock of ours.
        let parents = read(&self.dynamic).clone();
        let parent = parents
            .into_iter()
            .find(|parent| parent.accepts(name, auth))?;
        let mut namespaces = write(&self.namespaces);
        // Another CONNECT may have made it meanwhile: then that one is joined.
        let registered = namespaces
            .entry(name.clone())
            .or_insert_with(|| Registered {
                namespace: parent.create_child(name.clone(), self),
                child: Some(Child {
                    parent,
                    connecting: Arc::default(),
                }),
            });
        Some(registered.admit(self))
    }

    pub(crate) fn of(self: &Arc<Self>, name: Str) -> Namespace {
        write(&self.namespaces)
            .entry(name.clone())
            .or_insert_with(|| Registered {
                namespace: Namespace::new(name, self),
                child: None,
            })
            .namespace
            .clone()
    }

    /// A socket has left `namespace`: with `cleanup_empty_child_namespaces`, a dynamic child
    /// left empty is removed.
    pub(crate) fn socket_left(&self, namespace: &Namespace) {
        if self.cleanup_empty_child_namespaces && namespace.is_empty() {
            self.remove_if_empty(namespace.name());
        }
    }

    /// Removes the dynamic child `name` when no socket is in it and no CONNECT is on its way
    /// into it, with `cleanup_empty_child_namespaces` (Node's: its adapter is closed, it leaves
    /// the server and its parent, and the next CONNECT makes it again).
    fn remove_if_empty(&self, name: &Str) {
        if !self.cleanup_empty_child_namespaces {
            return;
        }
        let mut namespaces = write(&self.namespaces);
        let Some(Registered {
            namespace,
            child: Some(child),
        }) = namespaces.get(name)
        else {
            return;
        };
        if child.connecting.load(Ordering::Acquire) > 0 || !namespace.is_empty() {
            return;
        }
        let namespace = namespace.clone();
        child.parent.forget_child(&namespace);
        namespaces.remove(name);
        // Closed under the lock: the child's next self is made only after this one has let go
        // of what its adapter holds (a cluster adapter's subscriptions of the same channels).
        namespace.adapter().close();
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

    /// Tells `observer` of every engine connection from now on: its opening, upgrade, messages
    /// in and out, and closing (Node's `io.engine.on("connection", ...)` with the raw socket's
    /// events). The admin UI counts with one; see [`EngineObserver`](crate::EngineObserver)
    /// for an example.
    pub fn observe_engine(&self, observer: std::sync::Arc<dyn crate::EngineObserver>) {
        self.inner.observers.add(observer);
    }

    /// The server's metrics, when it was built with [`SocketIoBuilder::metrics`].
    #[must_use]
    pub fn metrics(&self) -> Option<&crate::Metrics> {
        self.metrics.as_ref()
    }

    /// A route that answers Prometheus with the metrics, to mount where the app wants them:
    /// `.route("/metrics", io.metrics_route())`. It answers 404 when the server keeps none.
    /// Before each answer it asks every namespace's adapter how many servers the cluster
    /// has (at most a second), for `socketio_cluster_servers`.
    pub fn metrics_route<S>(&self) -> axum::routing::MethodRouter<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let metrics = self.metrics.clone();
        let server = Arc::downgrade(&self.inner);
        axum::routing::get(move || {
            let (metrics, server) = (metrics.clone(), server.clone());
            async move {
                use axum::response::IntoResponse;
                let Some(metrics) = metrics else {
                    return http::StatusCode::NOT_FOUND.into_response();
                };
                if let Some(server) = server.upgrade() {
                    let asks = server.namespaces().into_iter().map(|namespace| async move {
                        let count = namespace.adapter().server_count();
                        let _ =
                            tokio::time::timeout(std::time::Duration::from_secs(1), count).await;
                    });
                    futures_util::future::join_all(asks).await;
                }
                (
                    [(http::header::CONTENT_TYPE, crate::Metrics::CONTENT_TYPE)],
                    metrics.render(),
                )
                    .into_response()
            }
        })
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

    /// Every namespace a CONNECT can reach now, dynamic children included (Node's `io._nsps`),
    /// for tools that look at the whole server, such as an admin UI.
    ///
    /// ```
    /// let io = socketio::SocketIo::new();
    /// io.of("/chat");
    /// let names: Vec<String> = io.namespaces().iter().map(|n| n.name().to_string()).collect();
    /// assert!(names.contains(&"/chat".to_string()));
    /// ```
    #[must_use]
    pub fn namespaces(&self) -> Vec<Namespace> {
        read(&self.inner.namespaces)
            .values()
            .map(|registered| registered.namespace.clone())
            .collect()
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
    pub fn on_connection<H, T>(&self, handler: H)
    where
        H: crate::ConnectHandler<T>,
        T: Send + Sync + 'static,
    {
        self.main().on_connection(handler);
    }

    /// Runs `handler` for each session of `/` that expires unrecovered (see
    /// [`Namespace::on_session_expired`]).
    pub fn on_session_expired<F, Fut>(&self, handler: F)
    where
        F: Fn(crate::ExpiredSession) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.main().on_session_expired(handler);
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
        let namespaces: Vec<Namespace> = read(&self.inner.namespaces)
            .values()
            .map(|registered| registered.namespace.clone())
            .collect();
        for namespace in namespaces {
            for socket in namespace.sockets() {
                socket.close(DisconnectReason::ServerShuttingDown);
            }
            // A child emptied just now was removed, its adapter closed with it.
            let registered = read(&self.inner.namespaces)
                .get(namespace.name())
                .is_some_and(|r| r.namespace.ptr_eq(&namespace));
            if registered {
                namespace.adapter().close();
            }
        }
        self.engine.close();
    }

    fn main(&self) -> Namespace {
        self.inner.of(Str::from_static("/"))
    }
}
