//! Event handlers as async closures whose arguments are extractors, as in axum: each argument
//! type says what it takes from the event.

use crate::error::EmitError;
use crate::payload;
use crate::Socket;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use parser::Str;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;
use std::marker::PhantomData;

/// One incoming event, as extractors see it.
pub struct EventContext {
    pub(crate) socket: Socket,
    pub(crate) event: Str,
    pub(crate) args: Vec<Str>,
    pub(crate) attachments: Vec<Bytes>,
    pub(crate) ack_id: Option<u64>,
}

/// Why an extractor could not be built from an event: the handler is not called.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("payload does not match the handler's type: {0}")]
    Payload(#[from] serde_json::Error),
    #[error("no application state of type {0}")]
    MissingState(&'static str),
}

/// Something a handler can take from an event.
pub trait FromEvent: Sized {
    fn from_event(ctx: &EventContext) -> Result<Self, ExtractError>;
}

impl FromEvent for Socket {
    fn from_event(ctx: &EventContext) -> Result<Self, ExtractError> {
        Ok(ctx.socket.clone())
    }
}

/// The event's first argument, deserialized (`null` when there is none). Binary data inside it
/// arrives in any `bytes::Bytes` field.
#[derive(Debug, Clone)]
pub struct Data<T>(pub T);

impl<T: DeserializeOwned> FromEvent for Data<T> {
    fn from_event(ctx: &EventContext) -> Result<Self, ExtractError> {
        Ok(Data(payload::from_first_arg(&ctx.args, &ctx.attachments)?))
    }
}

/// All of the event's arguments as one sequence: a tuple such as `Args<(String, u32)>` for Node's
/// `emit("ev", "a", 1)`, or a `Vec`.
#[derive(Debug, Clone)]
pub struct Args<T>(pub T);

impl<T: DeserializeOwned> FromEvent for Args<T> {
    fn from_event(ctx: &EventContext) -> Result<Self, ExtractError> {
        Ok(Args(payload::from_args(&ctx.args, &ctx.attachments)?))
    }
}

/// The arguments as raw JSON text, with the binary attachments their placeholders point to.
#[derive(Debug, Clone, Default)]
pub struct RawArgs {
    pub args: Vec<Str>,
    pub attachments: Vec<Bytes>,
}

impl FromEvent for RawArgs {
    fn from_event(ctx: &EventContext) -> Result<Self, ExtractError> {
        Ok(RawArgs {
            args: ctx.args.clone(),
            attachments: ctx.attachments.clone(),
        })
    }
}

/// The event's name: for a handler shared by several events.
#[derive(Debug, Clone)]
pub struct EventName(pub Str);

impl FromEvent for EventName {
    fn from_event(ctx: &EventContext) -> Result<Self, ExtractError> {
        Ok(EventName(ctx.event.clone()))
    }
}

/// Application state given to [`crate::SocketIoBuilder::with_state`], cloned for the handler.
#[derive(Debug, Clone)]
pub struct State<T>(pub T);

impl<T: Clone + Send + Sync + 'static> FromEvent for State<T> {
    fn from_event(ctx: &EventContext) -> Result<Self, ExtractError> {
        ctx.socket
            .namespace()
            .server()
            .and_then(|server| server.state.get::<T>().cloned())
            .map(State)
            .ok_or(ExtractError::MissingState(std::any::type_name::<T>()))
    }
}

/// Answers the client's acknowledgement callback, once. When the client asked for none,
/// sending does nothing.
#[derive(Debug)]
pub struct AckSender {
    socket: Socket,
    id: Option<u64>,
}

/// Lets a handler run when an extractor fails, to answer the client instead of ignoring it:
/// `payload: Result<Data<T>, ExtractError>`.
impl<T: FromEvent> FromEvent for Result<T, ExtractError> {
    fn from_event(ctx: &EventContext) -> Result<Self, ExtractError> {
        Ok(T::from_event(ctx))
    }
}

impl FromEvent for AckSender {
    fn from_event(ctx: &EventContext) -> Result<Self, ExtractError> {
        Ok(AckSender {
            socket: ctx.socket.clone(),
            id: ctx.ack_id,
        })
    }
}

impl AckSender {
    /// Whether the client is waiting for an answer.
    pub fn requested(&self) -> bool {
        self.id.is_some()
    }

    /// Answers with one argument.
    pub fn send<T: Serialize + ?Sized>(self, data: &T) -> Result<(), EmitError> {
        let Some(id) = self.id else {
            return Ok(());
        };
        let mut attachments = Vec::new();
        let arg = payload::to_arg(data, &mut attachments)?;
        self.socket.send_ack(id, vec![arg], attachments)
    }

    /// Answers with several arguments, given as a tuple or sequence (or `()` for none).
    pub fn send_args<T: Serialize + ?Sized>(self, args: &T) -> Result<(), EmitError> {
        let Some(id) = self.id else {
            return Ok(());
        };
        let mut attachments = Vec::new();
        let args = payload::to_args(args, &mut attachments)?;
        self.socket.send_ack(id, args, attachments)
    }

    /// Answers with raw JSON arguments and their attachments, e.g. to echo what came in.
    pub fn send_raw(self, raw: RawArgs) -> Result<(), EmitError> {
        match self.id {
            Some(id) => self.socket.send_ack(id, raw.args, raw.attachments),
            None => Ok(()),
        }
    }
}

/// A function that handles events; implemented for async closures of up to six extractors.
pub trait EventHandler<T>: Send + Sync + 'static {
    /// The handler's future, or `None` when an extractor failed.
    fn call(&self, ctx: EventContext) -> Option<BoxFuture<'static, ()>>;
}

macro_rules! impl_event_handler {
    ($($arg:ident),*) => {
        #[allow(non_snake_case, unused_variables)]
        impl<F, Fut, $($arg,)*> EventHandler<($($arg,)*)> for F
        where
            F: Fn($($arg),*) -> Fut + Send + Sync + 'static,
            Fut: Future<Output = ()> + Send + 'static,
            $($arg: FromEvent + Send + 'static,)*
        {
            fn call(&self, ctx: EventContext) -> Option<BoxFuture<'static, ()>> {
                $(
                    let $arg = match $arg::from_event(&ctx) {
                        Ok(value) => value,
                        Err(error) => {
                            tracing::debug!(event = %ctx.event, %error, "event not handled");
                            return None;
                        }
                    };
                )*
                Some(Box::pin(self($($arg),*)))
            }
        }
    };
}

impl_event_handler!();
impl_event_handler!(A1);
impl_event_handler!(A1, A2);
impl_event_handler!(A1, A2, A3);
impl_event_handler!(A1, A2, A3, A4);
impl_event_handler!(A1, A2, A3, A4, A5);
impl_event_handler!(A1, A2, A3, A4, A5, A6);

/// An [`EventHandler`] with its extractor types forgotten, so handlers of any shape share a map.
pub(crate) trait ErasedEventHandler: Send + Sync {
    fn call(&self, ctx: EventContext) -> Option<BoxFuture<'static, ()>>;
}

pub(crate) struct Erased<H, T> {
    handler: H,
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
    fn call(&self, ctx: EventContext) -> Option<BoxFuture<'static, ()>> {
        self.handler.call(ctx)
    }
}
