//! Event handlers and what they extract from an event.

use super::{impl_handlers, Data, ExtractError, State};
use crate::error::EmitError;
use crate::payload;
use crate::Socket;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use parser::Str;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::marker::PhantomData;

/// One incoming event, as extractors see it: what a [`FromEventParts`] reads to build a
/// handler's argument (axum's `request::Parts`).
///
/// ```
/// use socketio::{EventParts, ExtractError, FromEventParts, Socket, SocketIo};
///
/// /// The event's name and how many arguments came, for a log line.
/// struct Trace(String);
///
/// impl FromEventParts for Trace {
///     fn from_event_parts(parts: &EventParts) -> Result<Self, ExtractError> {
///         Ok(Trace(format!(
///             "{} sent {} ({} arguments, {} binary, ack {:?})",
///             parts.socket().id(),
///             parts.event(),
///             parts.args().len(),
///             parts.attachments().len(),
///             parts.ack_id(),
///         )))
///     }
/// }
///
/// let io = SocketIo::new();
/// io.on_connection(|socket: Socket| async move {
///     socket.on("upload", |Trace(line): Trace| async move { println!("{line}") });
/// });
/// ```
#[derive(Debug)]
pub struct EventParts {
    pub(crate) socket: Socket,
    pub(crate) event: Str,
    pub(crate) args: Vec<Str>,
    pub(crate) attachments: Vec<Bytes>,
    pub(crate) ack_id: Option<u64>,
}

impl EventParts {
    /// The socket the event came on.
    #[must_use]
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// The event's name.
    #[must_use]
    pub fn event(&self) -> &Str {
        &self.event
    }

    /// The event's arguments, each as raw JSON text (binary attachments as placeholders).
    #[must_use]
    pub fn args(&self) -> &[Str] {
        &self.args
    }

    /// The binary attachments the arguments' placeholders point to.
    #[must_use]
    pub fn attachments(&self) -> &[Bytes] {
        &self.attachments
    }

    /// The acknowledgement id, when the client waits for an answer.
    #[must_use]
    pub fn ack_id(&self) -> Option<u64> {
        self.ack_id
    }
}

/// Something an event handler can take from an event, as axum's `FromRequestParts`.
///
/// ```
/// use socketio::{EventParts, ExtractError, FromEventParts};
///
/// /// The number of arguments the client sent.
/// struct Arity(usize);
///
/// impl FromEventParts for Arity {
///     fn from_event_parts(parts: &EventParts) -> Result<Self, ExtractError> {
///         Ok(Arity(parts.args().len()))
///     }
/// }
///
/// # let io = socketio::SocketIo::new();
/// io.on_connection(|socket: socketio::Socket| async move {
///     socket.on("any", |Arity(n): Arity| async move { println!("{n} arguments") });
/// });
/// ```
pub trait FromEventParts: Sized {
    /// Builds the value, or refuses, and the handler is not called.
    fn from_event_parts(parts: &EventParts) -> Result<Self, ExtractError>;
}

impl FromEventParts for Socket {
    fn from_event_parts(parts: &EventParts) -> Result<Self, ExtractError> {
        Ok(parts.socket.clone())
    }
}

impl<T: DeserializeOwned> FromEventParts for Data<T> {
    fn from_event_parts(parts: &EventParts) -> Result<Self, ExtractError> {
        Ok(Data(payload::from_first_arg(
            &parts.args,
            &parts.attachments,
        )?))
    }
}

impl<T: Clone + Send + Sync + 'static> FromEventParts for State<T> {
    fn from_event_parts(parts: &EventParts) -> Result<Self, ExtractError> {
        State::of(&parts.socket)
    }
}

/// Lets a handler run when an extractor fails, to answer the client instead of ignoring it:
/// `payload: Result<Data<T>, ExtractError>`.
impl<T: FromEventParts> FromEventParts for Result<T, ExtractError> {
    fn from_event_parts(parts: &EventParts) -> Result<Self, ExtractError> {
        Ok(T::from_event_parts(parts))
    }
}

/// All of the event's arguments as one sequence: a tuple such as `Args<(String, u32)>` for Node's
/// `emit("ev", "a", 1)`, or a `Vec`.
///
/// ```
/// # let io = socketio::SocketIo::new();
/// io.on_connection(|socket: socketio::Socket| async move {
///     socket.on("move", |socketio::Args((x, y)): socketio::Args<(i32, i32)>| async move {
///         println!("to {x},{y}");
///     });
/// });
/// ```
#[derive(Debug, Clone)]
pub struct Args<T>(pub T);

impl<T: DeserializeOwned> FromEventParts for Args<T> {
    fn from_event_parts(parts: &EventParts) -> Result<Self, ExtractError> {
        Ok(Args(payload::from_args(&parts.args, &parts.attachments)?))
    }
}

/// The arguments as raw JSON text, with the binary attachments their placeholders point to: to
/// pass an event on without knowing its types.
///
/// ```
/// use socketio::{AckSender, RawArgs, Socket, SocketIo};
///
/// let io = SocketIo::new();
/// io.on_connection(|socket: Socket| async move {
///     // Relays "signal" to a room as it came, binary attachments included, and echoes it back
///     // as the acknowledgement.
///     socket.on("signal", |socket: Socket, raw: RawArgs, ack: AckSender| async move {
///         let _ = socket.to("peers").emit_raw("signal", raw.clone());
///         let _ = ack.send_raw(raw);
///     });
/// });
/// ```
#[derive(Debug, Clone, Default)]
pub struct RawArgs {
    /// Each argument as JSON text.
    pub args: Vec<Str>,
    /// The binary attachments, in placeholder order.
    pub attachments: Vec<Bytes>,
}

impl FromEventParts for RawArgs {
    fn from_event_parts(parts: &EventParts) -> Result<Self, ExtractError> {
        Ok(RawArgs {
            args: parts.args.clone(),
            attachments: parts.attachments.clone(),
        })
    }
}

/// The event's name: for a handler shared by several events.
///
/// ```
/// use socketio::{EventName, Socket, SocketIo};
///
/// let io = SocketIo::new();
/// io.on_connection(|socket: Socket| async move {
///     for event in ["like", "dislike"] {
///         socket.on(event, |EventName(event): EventName| async move { println!("{event}") });
///     }
/// });
/// ```
#[derive(Debug, Clone)]
pub struct EventName(pub Str);

impl FromEventParts for EventName {
    fn from_event_parts(parts: &EventParts) -> Result<Self, ExtractError> {
        Ok(EventName(parts.event.clone()))
    }
}

/// Answers the client's acknowledgement callback, once. When the client asked for none,
/// sending does nothing.
///
/// ```
/// # let io = socketio::SocketIo::new();
/// io.on_connection(|socket: socketio::Socket| async move {
///     socket.on("sum", |socketio::Args(n): socketio::Args<Vec<i64>>, ack: socketio::AckSender| async move {
///         let _ = ack.send(&n.iter().sum::<i64>());
///     });
/// });
/// ```
#[derive(Debug)]
pub struct AckSender {
    socket: Socket,
    id: Option<u64>,
}

impl FromEventParts for AckSender {
    fn from_event_parts(parts: &EventParts) -> Result<Self, ExtractError> {
        Ok(AckSender {
            socket: parts.socket.clone(),
            id: parts.ack_id,
        })
    }
}

impl AckSender {
    /// Whether the client is waiting for an answer.
    #[must_use]
    pub fn requested(&self) -> bool {
        self.id.is_some()
    }

    /// Answers with one argument (Node's `callback(arg)`).
    ///
    /// # Errors
    ///
    /// [`EmitError::Serialize`] when the answer does not serialize, [`EmitError::Disconnected`]
    /// once the socket has left, [`EmitError::Full`] when its send queue is full.
    pub fn send<T: Serialize + ?Sized>(self, data: &T) -> Result<(), EmitError> {
        let Some(id) = self.id else {
            return Ok(());
        };
        let mut attachments = Vec::new();
        let arg = payload::to_arg(data, &mut attachments)?;
        self.socket.send_ack(id, vec![arg], attachments)
    }

    /// Answers with several arguments, given as a tuple or sequence (or `()` for none).
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub fn send_args<T: Serialize + ?Sized>(self, args: &T) -> Result<(), EmitError> {
        let Some(id) = self.id else {
            return Ok(());
        };
        let mut attachments = Vec::new();
        let args = payload::to_args(args, &mut attachments)?;
        self.socket.send_ack(id, args, attachments)
    }

    /// Answers with raw JSON arguments and their attachments, e.g. to echo what came in.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send), but for [`EmitError::Serialize`].
    pub fn send_raw(self, raw: RawArgs) -> Result<(), EmitError> {
        match self.id {
            Some(id) => self.socket.send_ack(id, raw.args, raw.attachments),
            None => Ok(()),
        }
    }
}

/// A function that handles events: implemented for async closures of up to six extractors.
pub trait EventHandler<T>: Send + Sync + 'static {
    /// The handler's future, or the extractor's refusal.
    fn call(&self, parts: &EventParts) -> Result<BoxFuture<'static, ()>, ExtractError>;
}

impl_handlers!(
    EventHandler,
    EventParts,
    FromEventParts::from_event_parts,
    ()
);

/// An [`EventHandler`] with its extractor types forgotten, so handlers of any shape share a map.
pub(crate) trait ErasedEventHandler: Send + Sync {
    fn call(&self, parts: &EventParts) -> Result<BoxFuture<'static, ()>, ExtractError>;
}

/// A handler and the extractor types it was written with.
pub(crate) struct Erased<H, T> {
    pub(crate) handler: H,
    _marker: PhantomData<fn() -> T>,
}

impl<H, T> Erased<H, T> {
    pub(crate) fn new(handler: H) -> Self {
        Self {
            handler,
            _marker: PhantomData,
        }
    }
}

impl<H: EventHandler<T>, T: 'static> ErasedEventHandler for Erased<H, T> {
    fn call(&self, parts: &EventParts) -> Result<BoxFuture<'static, ()>, ExtractError> {
        self.handler.call(parts)
    }
}
