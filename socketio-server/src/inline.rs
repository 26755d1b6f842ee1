use std::future::Future;
use std::task::Context;

/// Runs a future up to its first pending point right here, and on a task only if it has more to
/// do. This is how a handler's synchronous part (an emit, an ack, registering handlers) happens
/// before the next packet of its socket is dispatched, as it does in Node, without a task spawn
/// for handlers that never wait.
///
/// The future must be `Unpin`, so that it can be polled where it is and still moved to a task
/// afterwards: a handler's future is already boxed, and boxing it again for every event was
/// one allocation per event; a caller with an `async` block boxes it itself.
pub(crate) fn run_inline<F>(mut future: F)
where
    F: Future<Output = ()> + Send + Unpin + 'static,
{
    // The no-op waker is replaced by the task's own waker on the task's first poll, which
    // re-checks whatever the future was waiting on, so no wake-up is lost in between.
    let mut cx = Context::from_waker(std::task::Waker::noop());
    if std::pin::Pin::new(&mut future).poll(&mut cx).is_pending() {
        tokio::spawn(future);
    }
}
