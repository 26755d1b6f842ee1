//! Each thread's scratch buffer: where a connection's read lands before it is handed on, and
//! where a write gathers its frames' headers and small payloads. A thread does one read or
//! write at a time, so one buffer per thread serves all its connections, rather than one per
//! connection held between bursts.

use std::cell::RefCell;

/// The buffer's size: the most one read takes, the most one write gathers.
pub(crate) const SIZE: usize = 64 << 10;

thread_local! {
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; SIZE].into_boxed_slice());
}

/// Runs `use_it` with this thread's buffer of [`SIZE`] bytes; with a fresh one if the thread's
/// is taken, which only a read or write nested in another could find.
pub(crate) fn with_scratch<R>(use_it: impl FnOnce(&mut [u8]) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut shared) => use_it(&mut shared),
        Err(_) => use_it(&mut vec![0; SIZE]),
    })
}
