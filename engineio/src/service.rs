//! The engine as a tower [`Layer`] and [`Service`], for any stack: hyper alone, axum, or any
//! tower middleware.
//!
//! [`EngineIo::layer`] gives an [`EngineIoLayer`]; wrapping a service `S` in it gives an
//! [`EngineIoService<S>`], which answers the requests under the engine's path itself and hands
//! every other request to `S` unchanged. Both this and [`EngineIo::router`] reach the engine
//! through the same entry, CORS included when the engine has it.

use crate::{EngineIo, EngineIoHandler};
use axum::body::Body;
use axum::response::Response;
use axum::BoxError;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::Request;
use http_body::{Frame, SizeHint};
use pin_project_lite::pin_project;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service, ServiceExt};
use tower_http::cors::Cors;

/// A tower [`Layer`] that mounts the engine in front of a service: made by
/// [`EngineIo::layer`].
///
/// Requests whose path starts with the engine's path ([`EngineIoConfig::path`]) are the
/// engine's; every other request goes to the wrapped service as it came. The layer is cheap to
/// clone, and every service it makes serves the same engine.
///
/// ```
/// use engineio::{CloseReason, EngineIo, EngineIoHandler, Message, Socket};
/// use std::convert::Infallible;
/// use std::sync::Arc;
/// use tower::{service_fn, Layer, ServiceBuilder};
///
/// # struct Echo;
/// # impl EngineIoHandler for Echo {
/// #     type Data = ();
/// #     fn on_connect(&self, _socket: Arc<Socket>) {}
/// #     fn on_message(&self, socket: &Arc<Socket>, message: Message) { let _ = socket.send(message); }
/// #     fn on_close(&self, _socket: &Arc<Socket>, _reason: CloseReason) {}
/// # }
/// let engine = EngineIo::builder(Echo).build();
/// let app = service_fn(|_req: http::Request<hyper::body::Incoming>| async {
///     Ok::<_, Infallible>(http::Response::new(String::from("the app")))
/// });
///
/// // Directly…
/// let service = engine.layer().layer(app);
/// // …or in a stack of middlewares.
/// let service = ServiceBuilder::new().layer(engine.layer()).service(app);
/// # let _ = service;
/// ```
///
/// [`EngineIoConfig::path`]: crate::EngineIoConfig::path
#[derive(Clone)]
#[must_use = "a layer does nothing until it wraps a service"]
pub struct EngineIoLayer {
    entry: Arc<Entry>,
}

impl EngineIoLayer {
    pub(crate) fn new<H: EngineIoHandler>(engine: &EngineIo<H>) -> Self {
        Self {
            entry: Arc::new(Entry::new(engine)),
        }
    }
}

impl<S> Layer<S> for EngineIoLayer {
    type Service = EngineIoService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        EngineIoService {
            entry: self.entry.clone(),
            inner,
        }
    }
}

impl fmt::Debug for EngineIoLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineIoLayer")
            .field("path", &self.entry.path)
            .finish_non_exhaustive()
    }
}

/// A service that answers the engine's requests and passes the others to `S`: made by
/// [`EngineIoLayer`].
///
/// It takes requests with any body that yields [`Bytes`] (hyper's `Incoming`, axum's `Body`,
/// ...): the engine reads the body of a polling POST, and upgrades a WebSocket with hyper's
/// `OnUpgrade`, which the request's extensions carry when the connection is served with
/// upgrades (`serve_connection(..).with_upgrades()` in hyper; axum's `serve` does it). Its
/// answers have a [`ResponseBody`], which is the engine's body or `S`'s as it was.
///
/// Readiness is `S`'s, so that a request for `S` finds it ready; the engine itself is always
/// ready.
///
/// ```no_run
/// use engineio::{CloseReason, EngineIo, EngineIoHandler, Message, Socket};
/// use hyper::server::conn::http1;
/// use hyper_util::rt::TokioIo;
/// use hyper_util::service::TowerToHyperService;
/// use std::convert::Infallible;
/// use std::sync::Arc;
/// use tower::{service_fn, Layer};
///
/// # struct Echo;
/// # impl EngineIoHandler for Echo {
/// #     type Data = ();
/// #     fn on_connect(&self, _socket: Arc<Socket>) {}
/// #     fn on_message(&self, socket: &Arc<Socket>, message: Message) { let _ = socket.send(message); }
/// #     fn on_close(&self, _socket: &Arc<Socket>, _reason: CloseReason) {}
/// # }
/// # async fn run() -> std::io::Result<()> {
/// let engine = EngineIo::builder(Echo).build();
/// let not_found = service_fn(|_req| async {
///     let mut res = http::Response::new(String::from("not found"));
///     *res.status_mut() = http::StatusCode::NOT_FOUND;
///     Ok::<_, Infallible>(res)
/// });
/// let service = engine.layer().layer(not_found);
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// loop {
///     let (tcp, _) = listener.accept().await?;
///     let service = TowerToHyperService::new(service.clone());
///     tokio::spawn(async move {
///         let connection = http1::Builder::new().serve_connection(TokioIo::new(tcp), service);
///         // Without upgrades, WebSocket handshakes would never complete.
///         let _ = connection.with_upgrades().await;
///     });
/// }
/// # }
/// ```
#[derive(Clone)]
pub struct EngineIoService<S> {
    entry: Arc<Entry>,
    inner: S,
}

impl<S> EngineIoService<S> {
    /// The wrapped service.
    #[must_use]
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    #[must_use]
    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the service.
    #[must_use]
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: fmt::Debug> fmt::Debug for EngineIoService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineIoService")
            .field("path", &self.entry.path)
            .field("inner", &self.inner)
            .finish()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for EngineIoService<S>
where
    S: Service<Request<ReqBody>, Response = http::Response<ResBody>>,
    ReqBody: http_body::Body<Data = Bytes> + Send + 'static,
    ReqBody::Error: Into<BoxError>,
{
    type Response = http::Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let kind = if self.entry.matches(req.uri().path()) {
            FutureKind::Engine {
                future: self.entry.answer(req.map(Body::new)),
            }
        } else {
            FutureKind::Inner {
                future: self.inner.call(req),
            }
        };
        ResponseFuture { kind }
    }
}

pin_project! {
    /// The future of an [`EngineIoService`]'s answer.
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<F> {
        #[pin]
        kind: FutureKind<F>,
    }
}

pin_project! {
    #[project = FutureKindProj]
    enum FutureKind<F> {
        Engine { future: BoxFuture<'static, Response> },
        Inner { #[pin] future: F },
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = Result<http::Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            FutureKindProj::Engine { future } => future
                .as_mut()
                .poll(cx)
                .map(|res| Ok(res.map(|body| ResponseBody::new(BodyKind::Engine { body })))),
            FutureKindProj::Inner { future } => future
                .poll(cx)
                .map_ok(|res| res.map(|body| ResponseBody::new(BodyKind::Inner { body }))),
        }
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let by = match self.kind {
            FutureKind::Engine { .. } => "engine",
            FutureKind::Inner { .. } => "inner",
        };
        f.debug_struct("ResponseFuture").field("by", &by).finish()
    }
}

pin_project! {
    /// The body of an [`EngineIoService`]'s answer: the engine's, or the inner service's `B`
    /// unchanged. Its errors are `B`'s, boxed.
    pub struct ResponseBody<B> {
        #[pin]
        kind: BodyKind<B>,
    }
}

pin_project! {
    #[project = BodyKindProj]
    enum BodyKind<B> {
        Engine { body: Body },
        Inner { #[pin] body: B },
    }
}

impl<B> ResponseBody<B> {
    fn new(kind: BodyKind<B>) -> Self {
        Self { kind }
    }
}

impl<B> http_body::Body for ResponseBody<B>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.project().kind.project() {
            BodyKindProj::Engine { body } => Pin::new(body).poll_frame(cx).map_err(Into::into),
            BodyKindProj::Inner { body } => body.poll_frame(cx).map_err(Into::into),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            BodyKind::Engine { body } => body.is_end_stream(),
            BodyKind::Inner { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            BodyKind::Engine { body } => body.size_hint(),
            BodyKind::Inner { body } => body.size_hint(),
        }
    }
}

impl<B> fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let from = match self.kind {
            BodyKind::Engine { .. } => "engine",
            BodyKind::Inner { .. } => "inner",
        };
        f.debug_struct("ResponseBody").field("from", &from).finish()
    }
}

/// How every mount reaches the engine: its path, and its answer to a request, through the
/// engine's CORS when it has one. Its handler type is erased here, so that the layer and
/// service need no parameter for it; an answer is a boxed future either way.
pub(crate) struct Entry {
    path: String,
    answer: Box<dyn Fn(Request<Body>) -> BoxFuture<'static, Response> + Send + Sync>,
}

impl Entry {
    pub(crate) fn new<H: EngineIoHandler>(engine: &EngineIo<H>) -> Self {
        let path = engine.config().path.clone();
        let engine = engine.clone();
        let answer: Box<dyn Fn(Request<Body>) -> BoxFuture<'static, Response> + Send + Sync> =
            match engine.cors().cloned() {
                None => Box::new(move |req| {
                    let engine = engine.clone();
                    Box::pin(async move { engine.handle(req).await })
                }),
                Some(cors) => {
                    let cors: Cors<Handle<H>> = cors.layer(Handle(engine));
                    Box::new(move |req| {
                        let cors = cors.clone();
                        Box::pin(async move {
                            let Ok(response) = cors.oneshot(req).await;
                            response
                        })
                    })
                }
            };
        Self { path, answer }
    }

    /// Whether a request for `path` is the engine's: the same paths as [`EngineIo::router`]
    /// routes.
    pub(crate) fn matches(&self, path: &str) -> bool {
        path.starts_with(self.path.as_str())
    }

    pub(crate) fn answer(&self, req: Request<Body>) -> BoxFuture<'static, Response> {
        (self.answer)(req)
    }
}

/// The entry as the service `Router` routes to.
#[derive(Clone)]
pub(crate) struct EntryService(pub(crate) Arc<Entry>);

impl Service<Request<Body>> for EntryService {
    type Response = Response;
    type Error = Infallible;
    type Future = futures_util::future::Map<
        BoxFuture<'static, Response>,
        fn(Response) -> Result<Response, Infallible>,
    >;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let ok: fn(Response) -> Result<Response, Infallible> = Ok;
        futures_util::FutureExt::map(self.0.answer(req), ok)
    }
}

/// The engine as the service CORS wraps.
struct Handle<H: EngineIoHandler>(EngineIo<H>);

impl<H: EngineIoHandler> Clone for Handle<H> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<H: EngineIoHandler> Service<Request<Body>> for Handle<H> {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let engine = self.0.clone();
        Box::pin(async move { Ok(engine.handle(req).await) })
    }
}
