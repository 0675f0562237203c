//! The dispatcher's shared state: the admission core with every call's context and waker,
//! the idle callback; and [`Registration`], one call's place in it.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;

use tokio::sync::Notify;

use super::admission::{Admission, CallKey};
use super::service::host_key;
use crate::CallContext;

/// The callback run each time the dispatcher becomes idle.
pub(crate) type IdleCallback = Arc<dyn Fn() + Send + Sync + 'static>;

/// What every clone of a [`Dispatcher`](super::Dispatcher) and every registered call share.
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Woken each time the dispatcher becomes idle.
    pub(crate) idle: Notify,
}

pub(crate) struct State {
    pub(crate) admission: Admission<Call>,
    pub(crate) idle_callback: Option<IdleCallback>,
}

/// What the dispatcher keeps of one call.
#[derive(Debug)]
pub(crate) struct Call {
    context: CallContext,
    /// While the call waits: the waker of the future waiting for its turn.
    waker: Option<Waker>,
}

/// One call's place in the dispatcher: while queued, its ticket; once admitted, its slot.
/// Dropping it leaves the queue or frees the slot (promoting the next waiters).
pub(crate) struct Registration {
    shared: Arc<Shared>,
    key: CallKey,
}

/// The wakers of promoted calls, kept to be woken once the lock is released. The first is
/// held inline: a finished call usually promotes at most one waiter.
#[derive(Default)]
pub(crate) struct Wakers {
    first: Option<Waker>,
    more: Vec<Waker>,
}

/// What has to happen once the lock is released: waiters to wake, the idle transition.
#[must_use]
pub(crate) struct AfterUnlock {
    wakers: Wakers,
    idle_callback: Option<IdleCallback>,
    became_idle: bool,
}

impl Shared {
    pub(crate) fn new(max_requests: usize, max_requests_per_host: usize) -> Self {
        Shared {
            state: Mutex::new(State {
                admission: Admission::new(max_requests, max_requests_per_host),
                idle_callback: None,
            }),
            idle: Notify::new(),
        }
    }

    /// The state, locked. No code outside this module runs under the lock, so a poisoned
    /// lock only means a panic elsewhere; the state is still consistent.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a call to `uri`'s host with `context`: it runs at once (`true`) or waits
    /// (`false`).
    pub(crate) fn arrive(
        self: &Arc<Self>,
        uri: &http::Uri,
        context: CallContext,
    ) -> (Registration, bool) {
        let call = Call {
            context,
            waker: None,
        };
        let authority = uri.authority().map_or("", |authority| authority.as_str());
        let arrival = self
            .lock()
            .admission
            .arrive_keyed(authority, host_key, call);
        let registration = Registration {
            shared: self.clone(),
            key: arrival.key,
        };
        (registration, arrival.admitted)
    }

    /// Every call's context (to cancel them outside the lock).
    pub(crate) fn contexts(&self) -> Vec<CallContext> {
        let state = self.lock();
        state
            .admission
            .payloads()
            .map(|call| call.context.clone())
            .collect()
    }

    fn leave(&self, key: CallKey) {
        let mut wakers = Wakers::default();
        let mut state = self.lock();
        let call = state
            .admission
            .leave(key, |_, promoted| wakers.take_from(promoted));
        let after = state.after_unlock(wakers, call.is_some());
        drop(state);
        after.run(self);
        // The call's context is released outside the lock.
        drop(call);
    }
}

impl State {
    /// What to do once the lock is released: wake `wakers` and, if `call_left` (a call just
    /// left) made the dispatcher idle, run the idle callback.
    pub(crate) fn after_unlock(&self, wakers: Wakers, call_left: bool) -> AfterUnlock {
        let became_idle = call_left && self.admission.running_count() == 0;
        AfterUnlock {
            wakers,
            idle_callback: if became_idle {
                self.idle_callback.clone()
            } else {
                None
            },
            became_idle,
        }
    }
}

impl Wakers {
    /// Keeps the waker of the `promoted` call (now running), if it has one.
    pub(crate) fn take_from(&mut self, promoted: &mut Call) {
        let Some(waker) = promoted.waker.take() else {
            return;
        };
        if self.first.is_none() {
            self.first = Some(waker);
        } else {
            self.more.push(waker);
        }
    }

    fn wake(self) {
        if let Some(waker) = self.first {
            waker.wake();
        }
        for waker in self.more {
            waker.wake();
        }
    }
}

impl AfterUnlock {
    /// Wakes the promoted waiters and, if the dispatcher became idle, runs the idle callback
    /// and wakes [`Dispatcher::idle`](super::Dispatcher::idle) waiters.
    pub(crate) fn run(self, shared: &Shared) {
        self.wakers.wake();
        if self.became_idle {
            if let Some(callback) = self.idle_callback {
                callback();
            }
            shared.idle.notify_waiters();
        }
    }
}

impl Registration {
    /// Whether the call holds a slot; if it is still queued, `waker` is woken when it is
    /// promoted.
    pub(crate) fn poll_admitted(&self, waker: &Waker) -> bool {
        let mut state = self.shared.lock();
        match state.admission.call_mut(self.key) {
            Some((call, true)) => {
                match &call.waker {
                    Some(current) if current.will_wake(waker) => {}
                    _ => call.waker = Some(waker.clone()),
                }
                false
            }
            // Unknown calls do not wait: there is nothing that would wake them.
            Some((_, false)) | None => true,
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.shared.leave(self.key);
    }
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("key", &self.key)
            .finish()
    }
}
