//! Waiting for a call's cancellation without a future of its own: in the [`CallContext`]'s
//! waker slot while the context has no cancellation token, on the token once it has one.

use std::pin::Pin;
use std::task::Context;

use pin_project_lite::pin_project;
use tokio_util::sync::WaitForCancellationFutureOwned;

use crate::CallContext;

/// Waits for the cancellation of one call.
///
/// The context has one waker slot, which [`CallContext::cancel`] wakes. The first waiter
/// owns it and registers its waker there: that costs no token (most calls never make one, a
/// token being an allocation) and no future. A waiter that does not own the slot (a context
/// shared by several calls), or the owner once the token exists (someone asked for it, so it
/// may be canceled directly; the owner then gives the slot back), waits on the token instead,
/// through a boxed future made when it first waits. 16 bytes: it sits in every queued call's
/// future.
pub(crate) struct CancelWait(Waiting);

enum Waiting {
    /// Owns the context's waker slot and waits there.
    InSlot(CallContext),
    /// Owns no slot; waits on the token once polled.
    Token(CallContext),
    /// Waits on the token; owns no slot.
    OnToken(Pin<Box<TokenWait>>),
}

pin_project! {
    struct TokenWait {
        context: CallContext,
        #[pin]
        wait: WaitForCancellationFutureOwned,
    }
}

impl CancelWait {
    /// Waits for `context`'s cancellation: in the waker slot if no other waiter owns it.
    pub(crate) fn new(context: CallContext) -> Self {
        if context.claim_waker_slot() {
            CancelWait(Waiting::InSlot(context))
        } else {
            CancelWait(Waiting::Token(context))
        }
    }

    /// The call's context.
    pub(crate) fn context(&self) -> &CallContext {
        match &self.0 {
            Waiting::InSlot(context) | Waiting::Token(context) => context,
            Waiting::OnToken(wait) => &wait.context,
        }
    }

    /// Whether this waiter owns the context's waker slot.
    #[cfg(test)]
    pub(crate) fn owns_waker_slot(&self) -> bool {
        matches!(self.0, Waiting::InSlot(_))
    }

    /// Whether this waiter waits on the token through its boxed future.
    #[cfg(test)]
    fn waits_on_token(&self) -> bool {
        matches!(self.0, Waiting::OnToken(_))
    }

    /// Whether the call is canceled; if not, the task is woken when it is.
    pub(crate) fn poll_canceled(&mut self, cx: &mut Context<'_>) -> bool {
        loop {
            match &mut self.0 {
                Waiting::InSlot(context) => {
                    if context.wait_in_slot(cx.waker()) {
                        return false;
                    }
                    // The token exists (rare: the call is being canceled, or someone asked
                    // for its token): wait on it, and give the slot back.
                    context.release_waker_slot();
                    self.0 = Waiting::Token(context.clone());
                }
                Waiting::Token(context) => {
                    let context = context.clone();
                    let wait = context.cancel_token().clone().cancelled_owned();
                    self.0 = Waiting::OnToken(Box::pin(TokenWait { context, wait }));
                }
                Waiting::OnToken(wait) => return wait.as_mut().project().wait.poll(cx).is_ready(),
            }
        }
    }

    /// Stops waiting on the token, if it did (its future is dropped; polling again makes a
    /// new one).
    pub(crate) fn stop(&mut self) {
        if let Waiting::OnToken(wait) = &self.0 {
            self.0 = Waiting::Token(wait.context.clone());
        }
    }
}

impl Drop for CancelWait {
    fn drop(&mut self) {
        if let Waiting::InSlot(context) = &self.0 {
            context.release_waker_slot();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::task::Waker;

    use super::*;
    use crate::NoEvents;
    use crate::counting_waker::CountingWaker;

    fn poll(wait: &mut CancelWait, waker: &Waker) -> bool {
        wait.poll_canceled(&mut Context::from_waker(waker))
    }

    /// The first waiter owns the slot: it waits without a token, `cancel` wakes it, and it is
    /// not counted as a watch.
    #[test]
    fn a_queued_waiter_waits_in_the_slot_without_a_token() {
        let context = CallContext::new(Arc::new(NoEvents));
        let mut wait = CancelWait::new(context.clone());
        assert!(wait.owns_waker_slot() && !context.is_watched());
        let (wakes, waker) = CountingWaker::new();
        assert!(!poll(&mut wait, &waker));
        assert!(!wait.waits_on_token(), "no token is made while waiting");
        context.cancel();
        assert_eq!(wakes.count(), 1);
        assert!(poll(&mut wait, &waker));
    }

    /// The slot is owned by one waiter at a time: a second waits on the token; once the
    /// owner is gone, the next waiter owns it again, and the owner's waker is not left behind.
    #[test]
    fn the_slot_has_one_owner_and_is_given_back() {
        let context = CallContext::new(Arc::new(NoEvents));
        let (wakes, waker) = CountingWaker::new();
        let mut watch = CancelWait::new(context.clone());
        let queued = CancelWait::new(context.clone());
        assert!(watch.owns_waker_slot() && !queued.owns_waker_slot());
        assert!(!poll(&mut watch, &waker));
        drop(watch);
        let next = CancelWait::new(context.clone());
        assert!(next.owns_waker_slot());
        drop((queued, next));
        context.cancel();
        assert_eq!(wakes.count(), 0, "no stale waker was woken");
    }

    /// A token canceled directly (a context made with the caller's token) ends the wait of
    /// the slot's owner too.
    #[test]
    fn a_token_canceled_directly_ends_a_queued_wait() {
        let parent = tokio_util::sync::CancellationToken::new();
        let context = CallContext::with_token(Arc::new(NoEvents), parent.child_token());
        let mut wait = CancelWait::new(context);
        let (wakes, waker) = CountingWaker::new();
        assert!(!poll(&mut wait, &waker));
        parent.cancel();
        assert_eq!(wakes.count(), 1);
        assert!(poll(&mut wait, &waker));
    }
}
