//! Locks that survive a panic: one helper for each kind of guard.
//!
//! A lock is poisoned when a thread panics while holding it. The engine's locks guard plain
//! data (a socket's queue, the session map) that a panic cannot leave half-written in a way
//! that matters, so a poisoned lock is taken as it is rather than turned into a second panic
//! that would take the server down. Crates built on the engine that keep the same kind of
//! state use these too, so that the rule is written once.
//!
//! ```
//! use std::sync::{Mutex, RwLock};
//!
//! let queue = Mutex::new(Vec::new());
//! engineio::sync::lock(&queue).push(1);
//!
//! let names = RwLock::new(vec!["a"]);
//! engineio::sync::write(&names).push("b");
//! assert_eq!(engineio::sync::read(&names).len(), 2);
//! ```

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Locks `mutex`, poisoned or not.
pub fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Takes `lock` for reading, poisoned or not.
pub fn read<T: ?Sized>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

/// Takes `lock` for writing, poisoned or not.
pub fn write<T: ?Sized>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_poisoned_lock_is_still_taken() {
        let mutex = Arc::new(Mutex::new(1));
        let rwlock = Arc::new(RwLock::new(1));
        let (m, r) = (mutex.clone(), rwlock.clone());
        let _ = std::thread::spawn(move || {
            let _m = m.lock().unwrap();
            let _r = r.write().unwrap();
            panic!("poison both");
        })
        .join();
        assert!(mutex.is_poisoned() && rwlock.is_poisoned());
        *lock(&mutex) += 1;
        *write(&rwlock) += 1;
        assert_eq!((*lock(&mutex), *read(&rwlock)), (2, 2));
    }
}
