//! Arming a read-timeout timer for a new deadline without re-arming it on every exchange.
//!
//! An HTTP/1 connection keeps one timer for the read timeouts of its exchanges, and each
//! exchange moves the deadline a little later. Re-arming a tokio timer converts the instant to
//! the wheel's ticks every time; a timer left a little early instead fires before the
//! deadline, the caller sees that the deadline has not passed, and the timer is re-armed then.
//! So a connection busy for the whole timeout re-arms about once per [`SLACK_DIVISOR`]th of
//! it, and a timer never fires late.

use std::pin::Pin;
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// A timer set earlier than the deadline by less than `limit / SLACK_DIVISOR` is kept.
const SLACK_DIVISOR: u32 = 16;

/// Makes `timer` fire at `deadline`, or a little before it, for a timeout of `limit`.
pub(super) fn arm(timer: Pin<&mut Sleep>, deadline: Instant, limit: Duration) {
    if needs_rearm(timer.deadline(), deadline, limit, timer.is_elapsed()) {
        timer.reset(deadline);
    }
}

/// Whether a timer set for `current` must be re-armed for `wanted`: when it would fire late,
/// when it has fired already, or when it would fire too early to be worth a wake-up.
fn needs_rearm(current: Instant, wanted: Instant, limit: Duration, elapsed: bool) -> bool {
    if elapsed || current > wanted {
        return true;
    }
    current
        .checked_add(limit / SLACK_DIVISOR)
        .is_none_or(|kept_until| wanted >= kept_until)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: Duration = Duration::from_secs(16);

    #[test]
    fn a_timer_set_a_little_early_is_kept() {
        let now = Instant::now();
        let wanted = now + LIMIT;
        assert!(!needs_rearm(wanted, wanted, LIMIT, false));
        let early = wanted - Duration::from_millis(999);
        assert!(!needs_rearm(early, wanted, LIMIT, false));
    }

    #[test]
    fn a_timer_that_would_fire_late_or_much_too_early_or_has_fired_is_rearmed() {
        let now = Instant::now();
        let wanted = now + LIMIT;
        let late = wanted + Duration::from_nanos(1);
        assert!(needs_rearm(late, wanted, LIMIT, false));
        let much_too_early = wanted - Duration::from_secs(1);
        assert!(needs_rearm(much_too_early, wanted, LIMIT, false));
        assert!(needs_rearm(wanted, wanted, LIMIT, true));
    }

    /// The timer fires early, the deadline has not passed, and it is re-armed for the
    /// deadline: the timeout ends exactly at the deadline, never before.
    #[tokio::test(start_paused = true)]
    async fn an_early_timer_ends_at_the_deadline() {
        let start = Instant::now();
        let mut timer = Box::pin(tokio::time::sleep_until(start + LIMIT));
        let deadline = start + LIMIT + Duration::from_millis(500);
        loop {
            arm(timer.as_mut(), deadline, LIMIT);
            timer.as_mut().await;
            if deadline <= Instant::now() {
                break;
            }
        }
        assert_eq!(Instant::now(), deadline);
    }
}
