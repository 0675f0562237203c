//! The client process's CPU time, from `getrusage(RUSAGE_SELF)`: user and system time of every
//! thread of the process. The server runs in another process, so none of its work is counted.

use std::time::Duration;

use nix::sys::resource::{UsageWho, getrusage};

use crate::BoxError;

/// CPU time used by this process, split as the kernel accounts it: user time is the client's
/// own code (and the libraries it runs), system time the kernel's work for it (sockets, epoll,
/// wake-ups), which is about the same for every client doing the same requests.
///
/// The sum is exact; the split is not. Without `VIRT_CPU_ACCOUNTING` the kernel samples at
/// each clock tick whether the process runs its own code or the kernel's, and divides the
/// exact sum in that proportion, so a split over a short interval is rough.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcessCpu {
    /// Time spent running the process's own code.
    pub user: Duration,
    /// Time the kernel spent on the process's behalf.
    pub system: Duration,
}

impl ProcessCpu {
    /// User and system time together.
    pub fn total(self) -> Duration {
        self.user + self.system
    }

    /// The time used between `earlier` and `self` (zero where a clock went backwards).
    pub fn since(self, earlier: ProcessCpu) -> ProcessCpu {
        ProcessCpu {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }
}

/// The CPU time this process has used so far.
pub fn process_cpu_time() -> Result<ProcessCpu, BoxError> {
    let usage = getrusage(UsageWho::RUSAGE_SELF)?;
    let to_duration = |time: nix::sys::time::TimeVal| {
        Duration::from_secs(time.tv_sec().max(0) as u64)
            + Duration::from_micros(time.tv_usec().max(0) as u64)
    };
    Ok(ProcessCpu {
        user: to_duration(usage.user_time()),
        system: to_duration(usage.system_time()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_splits_and_never_goes_negative() {
        let earlier = ProcessCpu {
            user: Duration::from_micros(300),
            system: Duration::from_micros(500),
        };
        let later = ProcessCpu {
            user: Duration::from_micros(700),
            system: Duration::from_micros(400),
        };
        let used = later.since(earlier);
        assert_eq!(used.user, Duration::from_micros(400));
        assert_eq!(used.system, Duration::ZERO);
        assert_eq!(used.total(), Duration::from_micros(400));
    }

    /// The total is exact (the split is sampled at the kernel's tick): a few milliseconds of
    /// work show in it.
    #[test]
    fn the_process_time_grows_with_work() {
        let before = process_cpu_time().unwrap();
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        let used = process_cpu_time().unwrap().since(before);
        assert!(used.total() > Duration::ZERO, "{used:?}");
    }
}
