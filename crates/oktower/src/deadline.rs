//! Deadlines: an instant plus a timeout, which saturates far in the future instead of
//! overflowing the clock (and panicking) when the timeout is too long for it, such as
//! `Duration::MAX` for "no limit in practice".

use std::time::Duration;

use tokio::time::Instant;

/// How far a deadline too far for the clock is put instead: about 30 years, as tokio's own
/// `sleep` does.
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// `base + limit`, or [`FAR_FUTURE`] after `base` when that is beyond the clock's range.
pub(crate) fn deadline_after(base: Instant, limit: Duration) -> Instant {
    base.checked_add(limit)
        .or_else(|| base.checked_add(FAR_FUTURE))
        // Unreachable: the monotonic clock counts from boot in 64-bit seconds, so 30 years
        // always fit; `base` itself is only there to avoid a panic path.
        .unwrap_or(base)
}

/// `duration`, at most [`FAR_FUTURE`]: for durations handed to code that adds them to an
/// instant without checking, or store the sum (the HTTP/2 ping interval and timeout).
pub(crate) fn within_clock(duration: Duration) -> Duration {
    duration.min(FAR_FUTURE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_within_the_clock_is_exact() {
        let base = Instant::now();
        let limit = Duration::from_millis(1500);
        assert_eq!(deadline_after(base, limit), base + limit);
    }

    #[test]
    fn a_deadline_beyond_the_clock_is_far_in_the_future() {
        let base = Instant::now();
        assert_eq!(deadline_after(base, Duration::MAX), base + FAR_FUTURE);
    }

    #[test]
    fn durations_for_unchecked_arithmetic_stop_at_the_far_future() {
        assert_eq!(within_clock(Duration::MAX), FAR_FUTURE);
        assert_eq!(
            within_clock(Duration::from_secs(10)),
            Duration::from_secs(10)
        );
    }
}
