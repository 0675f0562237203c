//! The client process's CPU time, from `getrusage(RUSAGE_SELF)`: user + system time of every
//! thread of the process, in microseconds. The server runs in another process, so none of its
//! work is counted.

use std::time::Duration;

use nix::sys::resource::{UsageWho, getrusage};

use crate::BoxError;

/// User + system CPU time this process has used so far.
pub fn process_cpu_time() -> Result<Duration, BoxError> {
    let usage = getrusage(UsageWho::RUSAGE_SELF)?;
    let to_duration = |time: nix::sys::time::TimeVal| {
        Duration::from_secs(time.tv_sec().max(0) as u64)
            + Duration::from_micros(time.tv_usec().max(0) as u64)
    };
    Ok(to_duration(usage.user_time()) + to_duration(usage.system_time()))
}
