//! Connection handlers and connect middlewares, and what they extract from a CONNECT.

use super::{impl_handlers, Data, Erased, ExtractError, State};
use crate::{ConnectError, Socket};
use futures_util::future::BoxFuture;
use serde::de::DeserializeOwned;

/// One CONNECT to a namespace, as extractors see it: what a [`FromConnectParts`] reads to
/// build the argument of a connection handler or a connect middleware.
///
/// ```
/// use socketio::{ConnectParts, ExtractError, FromConnectParts, Socket, SocketIo};
///
/// /// The tenant the client names in its `auth` (`io({ auth: { tenant: "acme" } })`), or
/// /// `"public"`.
/// struct Tenant(String);
///
/// impl FromConnectParts for Tenant {
///     fn from_connect_parts(parts: &ConnectParts) -> Result<Self, ExtractError> {
///         let tenant = parts.auth()["tenant"].as_str().unwrap_or("public");
///         Ok(Tenant(tenant.to_owned()))
///     }
/// }
///
/// let io = SocketIo::new();
/// io.on_connection(|socket: Socket, Tenant(tenant): Tenant| async move {
///     socket.join(tenant);
/// });
/// ```
#[derive(Debug)]
pub struct ConnectParts {
    pub(crate) socket: Socket,
}

impl ConnectParts {
    /// The socket being admitted (not [`connected`](Socket::connected) while middlewares run).
    #[must_use]
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// The CONNECT packet's `auth` payload (`{}` when the client sent none).
    #[must_use]
    pub fn auth(&self) -> &serde_json::Value {
        &self.socket.handshake().auth
    }
}

/// Something a connection handler or a connect middleware can take from a CONNECT.
///
/// ```
/// use socketio::{ConnectError, ConnectParts, ExtractError, FromConnectParts, SocketIo};
///
/// /// The bearer token of the `Authorization` header of the first request.
/// struct Bearer(String);
///
/// impl FromConnectParts for Bearer {
///     fn from_connect_parts(parts: &ConnectParts) -> Result<Self, ExtractError> {
///         let header = parts.socket().handshake().header("authorization").unwrap_or_default();
///         match header.strip_prefix("Bearer ") {
///             Some(token) => Ok(Bearer(token.to_owned())),
///             None => Err(ExtractError::Rejected("no bearer token".to_owned())),
///         }
///     }
/// }
///
/// let io = SocketIo::new();
/// // A socket without the header is refused with "no bearer token".
/// io.use_middleware(|Bearer(token): Bearer| async move {
///     if token == "secret" { Ok(()) } else { Err(ConnectError::new("bad token")) }
/// });
/// ```
pub trait FromConnectParts: Sized {
    /// Builds the value, or refuses: a middleware then refuses the socket with the error's
    /// message, and a connection handler is not called.
    fn from_connect_parts(parts: &ConnectParts) -> Result<Self, ExtractError>;
}

impl FromConnectParts for Socket {
    fn from_connect_parts(parts: &ConnectParts) -> Result<Self, ExtractError> {
        Ok(parts.socket.clone())
    }
}

impl<T: DeserializeOwned> FromConnectParts for Data<T> {
    fn from_connect_parts(parts: &ConnectParts) -> Result<Self, ExtractError> {
        Ok(Data(T::deserialize(parts.auth())?))
    }
}

impl<T: Clone + Send + Sync + 'static> FromConnectParts for State<T> {
    fn from_connect_parts(parts: &ConnectParts) -> Result<Self, ExtractError> {
        State::of(&parts.socket)
    }
}

impl<T: FromConnectParts> FromConnectParts for Result<T, ExtractError> {
    fn from_connect_parts(parts: &ConnectParts) -> Result<Self, ExtractError> {
        Ok(T::from_connect_parts(parts))
    }
}

/// What runs for each socket admitted to a namespace (Node's `connection` event): async
/// closures of up to six [`FromConnectParts`] extractors.
pub trait ConnectHandler<T>: Send + Sync + 'static {
    /// The handler's future, or the extractor's refusal.
    fn call(&self, parts: &ConnectParts) -> Result<BoxFuture<'static, ()>, ExtractError>;
}

impl_handlers!(
    ConnectHandler,
    ConnectParts,
    FromConnectParts::from_connect_parts,
    ()
);

/// A check each socket passes before it is admitted (Node's `namespace.use`): async closures of
/// up to six [`FromConnectParts`] extractors that answer `Result<(), ConnectError>`.
pub trait ConnectMiddleware<T>: Send + Sync + 'static {
    /// The middleware's future, or the extractor's refusal.
    fn call(
        &self,
        parts: &ConnectParts,
    ) -> Result<BoxFuture<'static, Result<(), ConnectError>>, ExtractError>;
}

impl_handlers!(
    ConnectMiddleware,
    ConnectParts,
    FromConnectParts::from_connect_parts,
    Result<(), ConnectError>
);

/// A [`ConnectHandler`] with its extractor types forgotten.
pub(crate) trait ErasedConnectHandler: Send + Sync {
    fn call(&self, parts: &ConnectParts) -> Result<BoxFuture<'static, ()>, ExtractError>;
}

impl<H: ConnectHandler<T>, T: 'static> ErasedConnectHandler for Erased<H, T> {
    fn call(&self, parts: &ConnectParts) -> Result<BoxFuture<'static, ()>, ExtractError> {
        self.handler.call(parts)
    }
}

/// A [`ConnectMiddleware`] with its extractor types forgotten.
pub(crate) trait ErasedConnectMiddleware: Send + Sync {
    fn call(
        &self,
        parts: &ConnectParts,
    ) -> Result<BoxFuture<'static, Result<(), ConnectError>>, ExtractError>;
}

impl<H: ConnectMiddleware<T>, T: 'static> ErasedConnectMiddleware for Erased<H, T> {
    fn call(
        &self,
        parts: &ConnectParts,
    ) -> Result<BoxFuture<'static, Result<(), ConnectError>>, ExtractError> {
        self.handler.call(parts)
    }
}
