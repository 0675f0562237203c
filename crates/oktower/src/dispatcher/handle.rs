//! [`Dispatcher`]: the shared handle on the admission state of a client.

use std::fmt;
use std::sync::Arc;

use super::DispatcherLayer;
use super::shared::{IdleCallback, Shared, Wakers};

/// OkHttp's default global limit.
const DEFAULT_MAX_REQUESTS: usize = 64;
/// OkHttp's default per-host limit.
const DEFAULT_MAX_REQUESTS_PER_HOST: usize = 5;

/// How many calls run at once: at most [`max_requests`](Self::max_requests) (64 by default)
/// in all and [`max_requests_per_host`](Self::max_requests_per_host) (5 by default) to one
/// host; the others wait in per-host FIFO order. OkHttp's `Dispatcher`, applied by a
/// [`DispatcherLayer`] to every call that goes through it.
///
/// Cheap to clone: clones share the same queues and limits, so a dispatcher can be kept to
/// watch and steer the calls of the client it was given to. Limits can be changed at any
/// time; a raised limit starts waiting calls at once, a lowered one lets running calls finish
/// and holds new ones back until the count is below it. A limit of 0 is taken as 1 (OkHttp
/// rejects it; a dispatcher that admits nothing would only hang its calls).
///
/// ```
/// use oktower::Dispatcher;
///
/// let dispatcher = Dispatcher::new();
/// assert_eq!((dispatcher.max_requests(), dispatcher.max_requests_per_host()), (64, 5));
/// dispatcher.set_max_requests_per_host(10);
/// dispatcher.set_max_requests(0);
/// assert_eq!(dispatcher.max_requests(), 1);
/// assert_eq!(dispatcher.clone().max_requests_per_host(), 10);
/// assert_eq!((dispatcher.running_calls_count(), dispatcher.queued_calls_count()), (0, 0));
/// dispatcher.idle_callback(|| println!("nothing to do"));
/// ```
#[derive(Clone)]
pub struct Dispatcher {
    shared: Arc<Shared>,
}

impl Dispatcher {
    /// A dispatcher with OkHttp's limits: 64 calls in all, 5 per host.
    pub fn new() -> Self {
        Dispatcher::with_limits(DEFAULT_MAX_REQUESTS, DEFAULT_MAX_REQUESTS_PER_HOST)
    }

    /// A dispatcher with these limits (0 is taken as 1).
    pub fn with_limits(max_requests: usize, max_requests_per_host: usize) -> Self {
        Dispatcher {
            shared: Arc::new(Shared::new(max_requests, max_requests_per_host)),
        }
    }

    /// The layer that puts calls through this dispatcher.
    pub fn layer(&self) -> DispatcherLayer {
        DispatcherLayer::new(self.clone())
    }

    /// How many calls may run at once in all.
    pub fn max_requests(&self) -> usize {
        self.shared.lock().admission.max_requests()
    }

    /// Sets how many calls may run at once in all (0 is taken as 1). Raising it starts
    /// waiting calls at once; lowering it stops no running call.
    pub fn set_max_requests(&self, max: usize) {
        let mut wakers = Wakers::default();
        let mut state = self.shared.lock();
        state
            .admission
            .set_max_requests(max, |_, promoted| wakers.take_from(promoted));
        let after = state.after_unlock(wakers, false);
        drop(state);
        after.run(&self.shared);
    }

    /// How many calls to one host may run at once. Hosts are told apart by the request
    /// URI's host name alone (case-insensitive), as in OkHttp: ports and schemes share a
    /// host's count, and several host names for one IP address each have their own.
    pub fn max_requests_per_host(&self) -> usize {
        self.shared.lock().admission.max_requests_per_host()
    }

    /// Sets how many calls to one host may run at once (0 is taken as 1). Raising it starts
    /// waiting calls at once; lowering it stops no running call.
    pub fn set_max_requests_per_host(&self, max: usize) {
        let mut wakers = Wakers::default();
        let mut state = self.shared.lock();
        state
            .admission
            .set_max_requests_per_host(max, |_, promoted| wakers.take_from(promoted));
        let after = state.after_unlock(wakers, false);
        drop(state);
        after.run(&self.shared);
    }

    /// How many calls wait for their turn.
    pub fn queued_calls_count(&self) -> usize {
        self.shared.lock().admission.queued_count()
    }

    /// How many calls hold a slot: admitted and not yet finished (a call finishes when its
    /// response body ends, fails or is dropped).
    pub fn running_calls_count(&self) -> usize {
        self.shared.lock().admission.running_count()
    }

    /// Cancels every call queued or running in this dispatcher, through its
    /// [`CallContext`](crate::CallContext). Queued calls end at once with
    /// [`ErrorKind::Canceled`](crate::ErrorKind::Canceled); running calls stop wherever the
    /// layers below notice their cancellation. Calls that arrive later are not affected.
    pub fn cancel_all(&self) {
        for context in self.shared.contexts() {
            context.cancel();
        }
    }

    /// Runs `callback` each time the dispatcher becomes idle: when a call finishes and no
    /// other call runs or waits. Replaces any earlier callback. The callback runs on the task
    /// that finished the last call, with no lock held, and must return quickly.
    pub fn idle_callback(&self, callback: impl Fn() + Send + Sync + 'static) {
        let callback: IdleCallback = Arc::new(callback);
        self.shared.lock().idle_callback = Some(callback);
    }

    /// Removes the idle callback.
    pub fn clear_idle_callback(&self) {
        self.shared.lock().idle_callback = None;
    }

    /// Whether no call runs or waits.
    pub fn is_idle(&self) -> bool {
        let state = self.shared.lock();
        state.admission.running_count() == 0 && state.admission.queued_count() == 0
    }

    /// Resolves when no call runs or waits (at once if that is already so).
    pub async fn idle(&self) {
        loop {
            let notified = self.shared.idle.notified();
            let mut notified = std::pin::pin!(notified);
            // Registered before the check, so an idle transition right after it is not lost.
            notified.as_mut().enable();
            if self.is_idle() {
                return;
            }
            notified.await;
        }
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

impl Default for Dispatcher {
    fn default() -> Self {
        Dispatcher::new()
    }
}

impl fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("Dispatcher")
            .field("max_requests", &state.admission.max_requests())
            .field(
                "max_requests_per_host",
                &state.admission.max_requests_per_host(),
            )
            .field("running", &state.admission.running_count())
            .field("queued", &state.admission.queued_count())
            .finish()
    }
}
