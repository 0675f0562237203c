//! The per-call state that travels down the stack in request extensions.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::Waker;

use http::Extensions;
use tokio_util::sync::CancellationToken;

use crate::event_listeners::forward_every_hook;
use crate::{CallTimings, EventListener, NoEvents, TimingsRecorder};

/// The listener used when a request carries no [`CallContext`].
static NO_EVENTS: NoEvents = NoEvents;

/// What every layer of a call may need: the call's [`EventListener`] and its cancellation
/// token. The `Call` inserts one into the request's extensions; layers read it with
/// [`CallContext::of`] and fall back to no events and no cancellation when it is absent (a
/// layer used on its own, under another client).
///
/// Cheap to clone.
///
/// ```
/// use std::sync::Arc;
/// use oktower::{CallContext, NoEvents};
///
/// let context = CallContext::new(Arc::new(NoEvents));
/// let mut request = http::Request::new(());
/// request.extensions_mut().insert(context.clone());
///
/// assert!(!CallContext::is_canceled_in(request.extensions()));
/// context.cancel();
/// assert!(CallContext::is_canceled_in(request.extensions()));
/// ```
#[derive(Clone)]
pub struct CallContext {
    inner: Arc<Inner>,
}

struct Inner {
    /// Someone hears the events beyond the timings recorder (false only for a client's call
    /// without listeners, which lets the exchange skip what only listeners need).
    heard: bool,
    /// The cancellation token, made when first asked for (most calls are never canceled and
    /// none of their layers needs the token).
    cancel: OnceLock<CancellationToken>,
    /// Whether `canceled` was reported, so that it is reported once.
    reported: AtomicBool,
    /// The waker of the waiter that owns this slot (the client's watch over the call, or the
    /// call's wait in a dispatcher's queue), woken by `cancel`: it waits for the cancellation
    /// without a token or a future of its own.
    watcher: Mutex<Option<Waker>>,
    /// Whether a waiter owns `watcher` (a context shared by several calls has one owner; the
    /// other waiters wait on the token).
    waker_slot_owned: AtomicBool,
    /// How many of the client's watches are watching this call now. Each ends the call itself
    /// once it is canceled, so the layers below need not wait on the token for it.
    watches: AtomicU32,
    /// Whether a follow-up layer decides on retries for this call: the connection layer then
    /// leaves the `connection_released` event of a failed exchange to it, to report after its
    /// `retry_decision`, as OkHttp orders them.
    retry_decider: AtomicBool,
    /// Who hears the call's events.
    listening: Listening,
}

/// Who hears a call's events.
// The recorder is inline on purpose: boxing it would bring back the allocation it saves; a
// context made with a caller's own listener (outside a client) carries the unused room. An
// unsized last field would size each context to what it holds, but make `CallContext` a
// pointer and a vtable, 8 bytes more in every future and value that holds one.
#[allow(clippy::large_enum_variant)]
enum Listening {
    /// A listener of the caller's.
    Plain(Arc<dyn EventListener>),
    /// The recorder of a client call's timings: it hears every event first and passes it on.
    /// It lives in the context's own allocation: a client's call allocates one for both.
    Recording(TimingsRecorder),
}

impl CallContext {
    /// A context whose events `listening` hears.
    fn made(listening: Listening, heard: bool, cancel: OnceLock<CancellationToken>) -> Self {
        let inner = Arc::new(Inner {
            heard,
            cancel,
            reported: AtomicBool::new(false),
            watcher: Mutex::new(None),
            waker_slot_owned: AtomicBool::new(false),
            watches: AtomicU32::new(0),
            retry_decider: AtomicBool::new(false),
            listening,
        });
        CallContext { inner }
    }

    /// A context reporting to `listener`, with a fresh cancellation token.
    pub fn new(listener: Arc<dyn EventListener>) -> Self {
        CallContext::made(Listening::Plain(listener), true, OnceLock::new())
    }

    /// A context reporting to `listener` and canceled by `cancel`.
    pub fn with_token(listener: Arc<dyn EventListener>, cancel: CancellationToken) -> Self {
        CallContext::made(Listening::Plain(listener), true, OnceLock::from(cancel))
    }

    /// A context that records the call's timings, as a [`Client`](crate::Client)'s call does,
    /// and passes every event on to `listener`; [`timings`](Self::timings) reads them. For a
    /// stack driven without a client whose calls should be timed too.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use oktower::{CallContext, NoEvents};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let context = CallContext::recording_timings(Arc::new(NoEvents));
    /// context.listener().call_start(&"http://a.test/".parse().unwrap());
    /// context.listener().call_end();
    /// let timings = context.timings().expect("this context records").timings();
    /// assert!(timings.total.is_some());
    /// # }
    /// ```
    pub fn recording_timings(listener: Arc<dyn EventListener>) -> Self {
        CallContext::recording(TimingsRecorder::new(listener), true)
    }

    /// The context of a client's call: `recorder` hears every event (and passes it on) and
    /// gives the call's [`CallTimings`].
    pub(crate) fn recording(recorder: TimingsRecorder, heard: bool) -> Self {
        CallContext::made(Listening::Recording(recorder), heard, OnceLock::new())
    }

    /// A follow-up layer decides on this call's retries (and reports the release of a failed
    /// exchange's connection after its decision).
    pub(crate) fn mark_retry_decider(&self) {
        self.inner.retry_decider.store(true, Ordering::Relaxed);
    }

    /// Whether a follow-up layer decides on this call's retries.
    pub(crate) fn has_retry_decider(&self) -> bool {
        self.inner.retry_decider.load(Ordering::Relaxed)
    }

    /// Whether a listener beyond the timings recorder hears this call's events.
    pub(crate) fn is_heard(&self) -> bool {
        self.inner.heard
    }

    /// The call's timings, when this context records them: a [`Client`](crate::Client)'s
    /// call's context, or one made with [`recording_timings`](Self::recording_timings).
    pub fn timings(&self) -> Option<CallTimings> {
        self.recorder().map(|_| CallTimings::new(self.clone()))
    }

    /// The recorder of the call's timings, when the client made this context (it is also
    /// the listener): a layer that read the clock for itself hands it the instant.
    pub(crate) fn recorder(&self) -> Option<&TimingsRecorder> {
        match &self.inner.listening {
            Listening::Recording(recorder) => Some(recorder),
            Listening::Plain(_) => None,
        }
    }

    /// The context in `extensions`, if any.
    pub fn of(extensions: &Extensions) -> Option<&CallContext> {
        extensions.get::<CallContext>()
    }

    /// The listener of the call whose request has `extensions` (one that ignores every event
    /// when there is no context).
    pub fn listener_in(extensions: &Extensions) -> &dyn EventListener {
        match extensions.get::<CallContext>() {
            Some(context) => context.listener(),
            None => &NO_EVENTS,
        }
    }

    /// Whether the call whose request has `extensions` was canceled.
    pub fn is_canceled_in(extensions: &Extensions) -> bool {
        extensions
            .get::<CallContext>()
            .is_some_and(CallContext::is_canceled)
    }

    /// The call's listener.
    pub fn listener(&self) -> &dyn EventListener {
        match &self.inner.listening {
            Listening::Plain(listener) => &**listener,
            Listening::Recording(recorder) => recorder,
        }
    }

    /// The call's cancellation token: awaiting `cancelled()` on it ends when the call is
    /// canceled.
    pub fn cancel_token(&self) -> &CancellationToken {
        if let Some(token) = self.inner.cancel.get() {
            return token;
        }
        let token = self.inner.cancel.get_or_init(CancellationToken::new);
        // From now on the token may be canceled directly, bypassing `cancel`: the watch that
        // waits on the waker slot is woken to wait on the token instead.
        let watcher = self.watcher().take();
        if let Some(waker) = watcher {
            waker.wake();
        }
        token
    }

    /// Cancels the call; the first cancel reports `canceled` to the listener, as OkHttp's
    /// `Call.cancel()` does (whoever cancels: the caller, the dispatcher's `cancel_all`, the
    /// call timeout). Idempotent.
    pub fn cancel(&self) {
        if !self.inner.reported.swap(true, Ordering::AcqRel) {
            self.listener().canceled();
        }
        // Making the token (if this is the first ask) wakes a watch waiting in the slot; once
        // the token exists, watches wait on it, so canceling it wakes them.
        self.cancel_token().cancel();
    }

    /// Whether the call was canceled.
    pub fn is_canceled(&self) -> bool {
        self.inner
            .cancel
            .get()
            .is_some_and(CancellationToken::is_cancelled)
    }
}

/// Who hears a call's events, owned: the call's context, or a listener outside any call (a
/// connect stack used on its own). For what hears them beyond a borrow of the context: an
/// exchange, a route selector, a request body's tracker.
#[derive(Clone)]
pub(crate) enum CallEvents {
    /// The call's context: its listener, and its timings recorder when it has one.
    Call(CallContext),
    /// A listener outside any call.
    Listener(Arc<dyn EventListener>),
}

impl CallEvents {
    /// The listener that hears the events.
    pub(crate) fn listener(&self) -> &dyn EventListener {
        match self {
            CallEvents::Call(context) => context.listener(),
            CallEvents::Listener(listener) => &**listener,
        }
    }

    /// The call's timings recorder, when it has one (it is also the listener).
    pub(crate) fn recorder(&self) -> Option<&TimingsRecorder> {
        match self {
            CallEvents::Call(context) => context.recorder(),
            CallEvents::Listener(_) => None,
        }
    }
}

impl From<Arc<dyn EventListener>> for CallEvents {
    fn from(listener: Arc<dyn EventListener>) -> Self {
        CallEvents::Listener(listener)
    }
}

macro_rules! to_listener {
    ($s:ident, $hook:ident($($arg:expr),*)) => {
        $s.listener().$hook($($arg),*)
    };
}

impl EventListener for CallEvents {
    forward_every_hook!(self, to_listener);
}

/// Waiting for the cancellation (`CancelWait`): one waiter owns the context's waker slot. And
/// the client's watches, counted.
impl CallContext {
    /// Starts a watch over the call ([`end_watch`](Self::end_watch) ends it).
    pub(crate) fn start_watch(&self) {
        self.inner.watches.fetch_add(1, Ordering::AcqRel);
    }

    /// Ends a watch [`start_watch`](Self::start_watch) started.
    pub(crate) fn end_watch(&self) {
        self.inner.watches.fetch_sub(1, Ordering::AcqRel);
    }

    /// Takes the waker slot for a waiter: true when no other waiter owns it.
    pub(crate) fn claim_waker_slot(&self) -> bool {
        !self.inner.waker_slot_owned.swap(true, Ordering::AcqRel)
    }

    /// Gives the waker slot back ([`claim_waker_slot`](Self::claim_waker_slot) returned true),
    /// letting its waker go.
    pub(crate) fn release_waker_slot(&self) {
        let watcher = self.watcher().take();
        drop(watcher);
        self.inner.waker_slot_owned.store(false, Ordering::Release);
    }

    /// Whether a client's watch is watching the call: it ends the call (and drops the futures
    /// of the layers below) once it is canceled or out of time, so a layer below need not
    /// wait on the token itself.
    pub(crate) fn is_watched(&self) -> bool {
        self.inner.watches.load(Ordering::Acquire) > 0
    }

    /// For the owner of the waker slot, while the context has no token (only [`cancel`] can
    /// cancel it then, and `cancel` wakes the slot): registers `waker` and returns true. False
    /// once the token exists: it may be canceled directly, so the watch waits on the token.
    ///
    /// [`cancel`]: Self::cancel
    pub(crate) fn wait_in_slot(&self, waker: &Waker) -> bool {
        if self.inner.cancel.get().is_some() {
            return false;
        }
        {
            let mut watcher = self.watcher();
            match &*watcher {
                Some(registered) if registered.will_wake(waker) => {}
                _ => *watcher = Some(waker.clone()),
            }
        }
        // Checked again after registering: a token made in between may not have found the
        // waker to wake.
        self.inner.cancel.get().is_none()
    }

    fn watcher(&self) -> std::sync::MutexGuard<'_, Option<Waker>> {
        self.inner
            .watcher
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for CallContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallContext")
            .field("canceled", &self.is_canceled())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_made_when_asked_for_and_follows_the_cancel_either_way() {
        let early = CallContext::new(Arc::new(NoEvents));
        assert!(early.inner.cancel.get().is_none());
        assert!(!early.is_canceled());
        assert!(
            early.inner.cancel.get().is_none(),
            "asking is_canceled makes no token"
        );
        let token = early.cancel_token().clone();
        assert!(!token.is_cancelled());
        early.cancel();
        assert!(token.is_cancelled() && early.is_canceled());

        let late = CallContext::new(Arc::new(NoEvents));
        late.cancel();
        assert!(late.is_canceled());
        assert!(late.cancel_token().is_cancelled());
    }

    #[test]
    fn a_given_token_is_the_context_s_token() {
        let token = CancellationToken::new();
        let context = CallContext::with_token(Arc::new(NoEvents), token.clone());
        token.cancel();
        assert!(context.is_canceled());
    }

    /// A client's context holds its timings recorder in its own allocation; what hears the
    /// call's events through it (a route selector, a body tracker) reaches the recorder.
    #[tokio::test(start_paused = true)]
    async fn events_heard_through_a_recording_context_are_recorded() {
        let context = CallContext::recording_timings(Arc::new(NoEvents));
        let shared = CallEvents::Call(context.clone());
        shared.dns_start("a.test");
        tokio::time::advance(std::time::Duration::from_millis(30)).await;
        shared.dns_end("a.test", &[]);
        let timings = context.timings().map(|timings| timings.timings());
        assert_eq!(
            timings.and_then(|timings| timings.dns),
            Some(std::time::Duration::from_millis(30))
        );
        // A context with a caller's listener records nothing.
        let context = CallContext::new(Arc::new(NoEvents));
        assert!(context.timings().is_none());
    }

    /// Every call a client makes (queued ones too: the S9 benchmark counts it) allocates one
    /// context with its timings recorder inline.
    #[test]
    fn a_context_is_small() {
        assert_eq!(std::mem::size_of::<CallContext>(), 8);
        assert!(std::mem::size_of::<Inner>() <= 224);
    }
}
