//! Locking the stores' state.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, going on after a panic elsewhere poisoned it: every critical section of
/// the stores leaves their state consistent before anything that could panic.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
