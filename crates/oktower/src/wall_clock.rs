//! The wall-clock time of a monotonic instant.
//!
//! An exchange reads the monotonic clock anyway (for its read timeout and its timings), and
//! its [`ResponseTimes`](crate::ResponseTimes) are on the wall clock. Reading both clocks would
//! cost a clock read more per instant (about 35 ns each on a virtual machine), so the exchange
//! keeps its instants, and they are put on the wall clock when asked for: plus the offset
//! between the two clocks, read again when the last reading is more than [`REFRESH`] old. An
//! offset that moved by less than [`JITTER`] is kept, so that instants in order give times in
//! order; a wall clock that was set or slewed by more is followed.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// How old the offset may be before it is read again.
const REFRESH: Duration = Duration::from_secs(1);

/// The smallest change of the offset that is taken: less is the noise of reading two clocks.
const JITTER: Duration = Duration::from_millis(1);

/// The offset between the clocks, shared by the whole process.
struct Anchor {
    /// Monotonic instants count in nanoseconds from here.
    base: Instant,
    /// When the offset was last read, in nanoseconds since `base`.
    read_at: AtomicU64,
    /// Nanoseconds since the Unix epoch on the wall clock, minus nanoseconds since `base`
    /// (wrapping: two's complement of a negative offset).
    offset: AtomicU64,
}

static ANCHOR: OnceLock<Anchor> = OnceLock::new();

/// The wall-clock time of `at`, an instant of tokio's clock (with the offset between the
/// clocks as it is now).
pub(crate) fn wall_clock_at(at: Instant) -> SystemTime {
    let anchor = ANCHOR.get_or_init(|| {
        let base = Instant::now();
        Anchor {
            base,
            read_at: AtomicU64::new(0),
            offset: AtomicU64::new(offset_between(wall_nanos(SystemTime::now()), 0)),
        }
    });
    let at = nanos_since(anchor.base, at);
    let read_at = anchor.read_at.load(Ordering::Relaxed);
    let mut offset = anchor.offset.load(Ordering::Relaxed);
    if needs_refresh(read_at, at) {
        let now = nanos_since(anchor.base, Instant::now());
        let fresh = offset_between(wall_nanos(SystemTime::now()), now);
        offset = kept_offset(offset, fresh);
        anchor.offset.store(offset, Ordering::Relaxed);
        anchor.read_at.store(now, Ordering::Relaxed);
    }
    SystemTime::UNIX_EPOCH + Duration::from_nanos(at.wrapping_add(offset))
}

/// Whether an offset read at `read_at` is too old for an instant at `at` (both in nanoseconds
/// since the base).
fn needs_refresh(read_at: u64, at: u64) -> bool {
    at.saturating_sub(read_at) > duration_nanos(REFRESH)
}

/// The offset to use: `fresh`, unless it is within [`JITTER`] of `current`.
fn kept_offset(current: u64, fresh: u64) -> u64 {
    let moved = fresh.wrapping_sub(current).cast_signed().unsigned_abs();
    if moved < duration_nanos(JITTER) {
        current
    } else {
        fresh
    }
}

/// The offset between a wall-clock reading and a monotonic one taken together.
fn offset_between(wall: u64, monotonic: u64) -> u64 {
    wall.wrapping_sub(monotonic)
}

/// Nanoseconds since the Unix epoch (zero before it; they fit in 64 bits until 2554).
fn wall_nanos(time: SystemTime) -> u64 {
    let since_epoch = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    duration_nanos(since_epoch)
}

/// Nanoseconds from `base` to `at`, zero when `at` is earlier.
fn nanos_since(base: Instant, at: Instant) -> u64 {
    duration_nanos(at.saturating_duration_since(base))
}

fn duration_nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_offset_within_the_jitter_is_ignored() {
        let current = 5_000_000_000;
        assert_eq!(kept_offset(current, current + 999_999), current);
        assert_eq!(kept_offset(current, current - 999_999), current);
    }

    #[test]
    fn a_wall_clock_set_forward_or_back_is_followed() {
        let current = 5_000_000_000;
        assert_eq!(
            kept_offset(current, current + 1_000_000),
            current + 1_000_000
        );
        assert_eq!(
            kept_offset(current, current - 3_000_000),
            current - 3_000_000
        );
    }

    #[test]
    fn an_offset_is_read_again_after_a_second() {
        assert!(!needs_refresh(10, 10 + 1_000_000_000));
        assert!(needs_refresh(10, 11 + 1_000_000_000));
        // An instant from before the last reading uses the offset as it is.
        assert!(!needs_refresh(2_000_000_000, 5));
    }

    #[test]
    fn a_negative_offset_wraps_around_and_back() {
        // A monotonic count larger than the wall clock's (a clock set before 1970).
        let offset = offset_between(100, 1_000);
        assert_eq!(1_500u64.wrapping_add(offset), 600);
    }

    #[test]
    fn a_derived_time_is_the_wall_clock_within_the_refresh_period() {
        let before = SystemTime::now();
        let derived = wall_clock_at(Instant::now());
        let after = SystemTime::now();
        let slack = Duration::from_millis(50);
        assert!(derived + slack >= before, "{derived:?} before {before:?}");
        assert!(derived <= after + slack, "{derived:?} after {after:?}");
    }

    #[test]
    fn instants_in_order_give_times_in_order() {
        let first = Instant::now();
        let second = first + Duration::from_micros(3);
        assert!(wall_clock_at(first) <= wall_clock_at(second));
    }
}
