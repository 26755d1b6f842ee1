use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Notify;

/// A one-shot flag that tasks can await: set once, seen by every waiter, now and later.
#[derive(Debug, Default)]
pub(crate) struct Signal {
    set: AtomicBool,
    notify: Notify,
}

impl Signal {
    /// Sets the flag; true for the one caller that set it first.
    pub(crate) fn set(&self) -> bool {
        let first = !self.set.swap(true, Ordering::AcqRel);
        if first {
            self.notify.notify_waiters();
        }
        first
    }

    pub(crate) fn is_set(&self) -> bool {
        self.set.load(Ordering::Acquire)
    }

    pub(crate) async fn wait(&self) {
        // A `Notified` receives `notify_waiters` from its creation on, so checking the flag after
        // creating it cannot miss a `set` in between.
        let notified = self.notify.notified();
        if self.is_set() {
            return;
        }
        notified.await;
    }
}
