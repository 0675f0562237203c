//! CPU time of chosen threads, from Linux's `/proc/<pid>/task/<tid>/schedstat` (nanoseconds on
//! the CPU), so that a benchmark can report the client's CPU per request apart from the
//! server's, though both run in one process.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The threads whose CPU time is counted.
#[derive(Clone, Debug, Default)]
pub struct ThreadCpu {
    threads: Arc<Mutex<Vec<PathBuf>>>,
}

impl ThreadCpu {
    /// Counts the calling thread from now on (call it from a runtime's `on_thread_start`).
    pub fn register_current(&self) {
        if let Ok(link) = std::fs::read_link("/proc/thread-self") {
            let path = PathBuf::from("/proc").join(link).join("schedstat");
            if let Ok(mut threads) = self.threads.lock() {
                threads.push(path);
            }
        }
    }

    /// Whether the CPU time of threads can be read here.
    pub fn is_supported() -> bool {
        std::fs::read_to_string("/proc/thread-self/schedstat").is_ok()
    }

    /// The CPU time the counted threads used so far.
    pub fn total(&self) -> Duration {
        let threads = match self.threads.lock() {
            Ok(threads) => threads.clone(),
            Err(_) => return Duration::ZERO,
        };
        let nanos: u64 = threads
            .iter()
            .filter_map(|path| std::fs::read_to_string(path).ok())
            .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
            .sum();
        Duration::from_nanos(nanos)
    }
}
