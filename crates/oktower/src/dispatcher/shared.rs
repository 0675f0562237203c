//! The dispatcher's shared state: the admission core, the calls it knows (with their
//! contexts and wakers), the idle callback; and [`Registration`], one call's place in it.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;

use tokio::sync::Notify;

use super::admission::{Admission, CallId};
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
    pub(crate) admission: Admission,
    calls: HashMap<CallId, Call>,
    pub(crate) idle_callback: Option<IdleCallback>,
}

struct Call {
    context: CallContext,
    phase: Phase,
}

enum Phase {
    /// Waiting in the queue; the waker of the future waiting for its turn.
    Queued(Option<Waker>),
    /// Holding a slot.
    Running,
}

/// One call's place in the dispatcher: while queued, its ticket; once admitted, its slot.
/// Dropping it leaves the queue or frees the slot (promoting the next waiters).
pub(crate) struct Registration {
    shared: Arc<Shared>,
    id: CallId,
    host: Arc<str>,
}

/// What has to happen once the lock is released: waiters to wake, the idle transition.
#[must_use]
pub(crate) struct AfterUnlock {
    wakers: Vec<Waker>,
    idle_callback: Option<IdleCallback>,
    became_idle: bool,
}

impl Shared {
    pub(crate) fn new(max_requests: usize, max_requests_per_host: usize) -> Self {
        Shared {
            state: Mutex::new(State {
                admission: Admission::new(max_requests, max_requests_per_host),
                calls: HashMap::new(),
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

    /// Registers a call to `host` (lower-cased) with `context`: it runs at once (`true`) or
    /// waits (`false`).
    pub(crate) fn arrive(
        self: &Arc<Self>,
        host: &str,
        context: CallContext,
    ) -> (Registration, bool) {
        let mut state = self.lock();
        let arrival = state.admission.arrive(host);
        let phase = if arrival.admitted {
            Phase::Running
        } else {
            Phase::Queued(None)
        };
        state.calls.insert(arrival.id, Call { context, phase });
        drop(state);
        let registration = Registration {
            shared: self.clone(),
            id: arrival.id,
            host: arrival.host,
        };
        (registration, arrival.admitted)
    }

    /// Every call's context (to cancel them outside the lock).
    pub(crate) fn contexts(&self) -> Vec<CallContext> {
        let state = self.lock();
        state
            .calls
            .values()
            .map(|call| call.context.clone())
            .collect()
    }

    /// Marks `promoted` calls as running and collects their wakers; `call_left`: a call just
    /// left, so the dispatcher may have become idle.
    pub(crate) fn mark_promoted(
        state: &mut State,
        promoted: &[CallId],
        call_left: bool,
    ) -> AfterUnlock {
        let mut wakers = Vec::with_capacity(promoted.len());
        for id in promoted {
            if let Some(call) = state.calls.get_mut(id)
                && let Phase::Queued(waker) = std::mem::replace(&mut call.phase, Phase::Running)
                && let Some(waker) = waker
            {
                wakers.push(waker);
            }
        }
        let became_idle = call_left && state.admission.running_count() == 0;
        AfterUnlock {
            wakers,
            idle_callback: if became_idle {
                state.idle_callback.clone()
            } else {
                None
            },
            became_idle,
        }
    }

    fn leave(&self, id: CallId, host: &str) {
        let mut state = self.lock();
        let Some(call) = state.calls.remove(&id) else {
            return;
        };
        let mut promoted = Vec::new();
        match call.phase {
            Phase::Queued(_) => {
                state.admission.withdraw(host, id);
            }
            Phase::Running => {
                state.admission.finish(host, &mut promoted);
            }
        }
        let after = Shared::mark_promoted(&mut state, &promoted, true);
        drop(state);
        after.run(self);
    }
}

impl AfterUnlock {
    /// Wakes the promoted waiters and, if the dispatcher became idle, runs the idle callback
    /// and wakes [`Dispatcher::idle`](super::Dispatcher::idle) waiters.
    pub(crate) fn run(self, shared: &Shared) {
        for waker in self.wakers {
            waker.wake();
        }
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
        match state.calls.get_mut(&self.id).map(|call| &mut call.phase) {
            Some(Phase::Queued(slot)) => {
                match slot {
                    Some(current) if current.will_wake(waker) => {}
                    _ => *slot = Some(waker.clone()),
                }
                false
            }
            // Unknown calls do not wait: there is nothing that would wake them.
            Some(Phase::Running) | None => true,
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.shared.leave(self.id, &self.host);
    }
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("id", &self.id)
            .field("host", &self.host)
            .finish()
    }
}
