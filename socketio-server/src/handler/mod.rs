//! Handlers as async closures whose arguments are extractors, as in axum: each argument's type
//! says what it takes from the event, the CONNECT or the disconnection.
//!
//! | handler | extractors |
//! |---|---|
//! | [`Socket::on`](crate::Socket::on) | [`Socket`], [`Data`] (first argument), [`Args`], [`RawArgs`], [`EventName`], [`AckSender`], [`State`] |
//! | `on_connection`, `use_middleware` | [`Socket`], [`Data`] (the CONNECT's `auth`), [`State`] |
//! | `on_disconnecting`, `on_disconnect` | [`Socket`], [`DisconnectReason`](crate::DisconnectReason), [`State`] |
//!
//! Any of them also takes `Result<E, ExtractError>` to see an extractor's failure instead of
//! being skipped. Your own extractors implement [`FromEventParts`], [`FromConnectParts`] or
//! [`FromDisconnectParts`].

mod connect;
mod disconnect;
mod event;

pub use connect::{ConnectHandler, ConnectMiddleware, ConnectParts, FromConnectParts};
pub(crate) use connect::{ErasedConnectHandler, ErasedConnectMiddleware};
pub(crate) use disconnect::ErasedDisconnectHandler;
pub use disconnect::{DisconnectHandler, DisconnectParts, FromDisconnectParts};
pub use event::{AckSender, Args, EventHandler, EventName, EventParts, FromEventParts, RawArgs};
pub(crate) use event::{Erased, ErasedEventHandler};

use crate::Socket;

/// Why an extractor could not be built: the handler is not called (a middleware refuses the
/// socket with this message). Take `Result<E, ExtractError>` instead of `E` to be called
/// anyway and answer the client.
///
/// ```
/// use socketio::{AckSender, Data, ExtractError, Socket, SocketIo};
///
/// #[derive(serde::Deserialize)]
/// struct Move { x: i32, y: i32 }
///
/// let io = SocketIo::new();
/// io.on_connection(|socket: Socket| async move {
///     socket.on("move", |data: Result<Data<Move>, ExtractError>, ack: AckSender| async move {
///         match data {
///             Ok(Data(m)) => { let _ = ack.send(&(m.x + m.y)); }
///             Err(e) => { let _ = ack.send(&format!("bad move: {e}")); }
///         }
///     });
/// });
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError {
    /// The payload (an event's arguments, a CONNECT's auth) does not match the asked type.
    #[error("payload does not match the handler's type: {0}")]
    Payload(#[from] serde_json::Error),
    /// No application state of this type was given to the builder.
    #[error("no application state of type {0}")]
    MissingState(&'static str),
    /// A custom extractor's refusal.
    #[error("{0}")]
    Rejected(String),
}

/// A deserialized payload: an event's first argument (`null` when there is none; binary data in
/// any `bytes::Bytes` field), or the CONNECT packet's `auth` (`{}` when the client sent none).
///
/// ```
/// use socketio::{Data, Socket, SocketIo};
///
/// #[derive(serde::Deserialize)]
/// struct Auth { token: String }
///
/// let io = SocketIo::new();
/// io.on_connection(|socket: Socket, Data(auth): Data<Auth>| async move {
///     socket.on("rename", |Data(name): Data<String>| async move { println!("now {name}") });
///     println!("{} connected with {}", socket.id(), auth.token);
/// });
/// ```
#[derive(Debug, Clone)]
pub struct Data<T>(pub T);

/// Application state given to [`crate::SocketIoBuilder::with_state`], cloned for the handler.
///
/// ```
/// use socketio::{Socket, SocketIo, State};
/// use std::sync::{Arc, atomic::{AtomicUsize, Ordering}};
///
/// let io = SocketIo::builder().with_state(Arc::new(AtomicUsize::new(0))).build();
/// io.on_connection(|State(count): State<Arc<AtomicUsize>>| async move {
///     count.fetch_add(1, Ordering::Relaxed);
/// });
/// ```
#[derive(Debug, Clone)]
pub struct State<T>(pub T);

impl<T: Clone + Send + Sync + 'static> State<T> {
    /// The state of type `T` of the socket's server.
    fn of(socket: &Socket) -> Result<Self, ExtractError> {
        socket
            .namespace()
            .server()
            .and_then(|server| server.state.get::<T>().cloned())
            .map(State)
            .ok_or(ExtractError::MissingState(std::any::type_name::<T>()))
    }
}

/// Implements a handler trait for async closures of zero to six extractors: `$parts` is what the
/// extractors read, `$from` their trait and method, `$out` what the closure's future returns.
macro_rules! impl_handlers {
    ($trait:ident, $parts:ty, $from:ident :: $method:ident, $out:ty) => {
        impl_handlers!(@one $trait, $parts, $from::$method, $out;);
        impl_handlers!(@one $trait, $parts, $from::$method, $out; A1);
        impl_handlers!(@one $trait, $parts, $from::$method, $out; A1, A2);
        impl_handlers!(@one $trait, $parts, $from::$method, $out; A1, A2, A3);
        impl_handlers!(@one $trait, $parts, $from::$method, $out; A1, A2, A3, A4);
        impl_handlers!(@one $trait, $parts, $from::$method, $out; A1, A2, A3, A4, A5);
        impl_handlers!(@one $trait, $parts, $from::$method, $out; A1, A2, A3, A4, A5, A6);
    };
    (@one $trait:ident, $parts:ty, $from:ident :: $method:ident, $out:ty; $($arg:ident),*) => {
        #[allow(non_snake_case, unused_variables)]
        impl<F, Fut, $($arg,)*> $trait<($($arg,)*)> for F
        where
            F: Fn($($arg),*) -> Fut + Send + Sync + 'static,
            Fut: std::future::Future<Output = $out> + Send + 'static,
            $($arg: $from + Send + 'static,)*
        {
            fn call(
                &self,
                parts: &$parts,
            ) -> Result<futures_util::future::BoxFuture<'static, $out>, ExtractError> {
                $( let $arg = $arg::$method(parts)?; )*
                Ok(Box::pin(self($($arg),*)))
            }
        }
    };
}
pub(crate) use impl_handlers;
