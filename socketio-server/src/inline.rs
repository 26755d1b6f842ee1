use std::future::Future;
use std::task::Context;

/// Runs a future up to its first pending point right here, and on a task only if it has more to
/// do. This is how a handler's synchronous part (an emit, an ack, registering handlers) happens
/// before the next packet of its socket is dispatched, as it does in Node, without a task spawn
/// for handlers that never wait.
pub(crate) fn run_inline<F>(future: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    let mut future = Box::pin(future);
    // The no-op waker is replaced by the task's own waker on the task's first poll, which
    // re-checks whatever the future was waiting on, so no wake-up is lost in between.
    let mut cx = Context::from_waker(std::task::Waker::noop());
    if future.as_mut().poll(&mut cx).is_pending() {
        tokio::spawn(future);
    }
}
