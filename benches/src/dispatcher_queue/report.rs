//! What one run of the dispatcher queue scenario found, and the table that shows it.

use std::fmt::Write as _;

/// The figures of one run of [`run`](super::run).
#[derive(Clone, Debug, PartialEq)]
pub struct QueueReport {
    /// Calls waiting once all were made.
    pub queued: usize,
    /// Hosts the calls were spread over.
    pub hosts: u32,
    /// Heap bytes per request (URI, extensions, `CallContext`), made before the call.
    pub request_bytes: f64,
    /// Heap bytes `Dispatched::call` allocated per call: the dispatcher's bookkeeping.
    pub dispatcher_bytes: f64,
    /// Heap bytes per queued call of its spawned task (tokio's task cell with the future).
    pub task_bytes: f64,
    /// `size_of` the waiting `ResponseFuture` (inside the task).
    pub future_size: usize,
    /// Promotions measured.
    pub promotions: usize,
    /// Time per promotion of dropping a running call's body: free the slot, admit the next
    /// waiter, wake it.
    pub promotion_ns: f64,
    /// Allocations per promotion (during the drop).
    pub promotion_allocations: f64,
    /// Time to queue one more call (`Dispatched::call`) at this queue length.
    pub arrival_ns: f64,
    /// Time of a whole turn per promotion: the drop, the promoted task running its call, a
    /// new call made and queued.
    pub turn_ns: f64,
    /// Calls waiting after the promotions (the queue kept its length if equal to `queued`).
    pub queued_after: usize,
    /// Calls running after the promotions.
    pub running_after: usize,
    /// Calls that reached the inner service, all in FIFO order per host.
    pub served: usize,
    /// Whether the calls also reached the inner service in overall arrival order.
    pub global_fifo: bool,
}

impl QueueReport {
    /// Heap bytes per queued call in all: request + dispatcher + task.
    pub fn total_bytes(&self) -> f64 {
        self.request_bytes + self.dispatcher_bytes + self.task_bytes
    }
}

/// A Markdown table of `reports`, one row per queue length: memory, then promotion cost.
pub fn report_table(reports: &[QueueReport]) -> String {
    let mut table = String::new();
    table.push_str(
        "| queued | hosts | request B | dispatcher B | task B (future) | total B/queued call \
         | promotion ns | allocs/promotion | arrival ns | turn ns | FIFO per host | global FIFO |\n",
    );
    table.push_str("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n");
    for report in reports {
        let _ = writeln!(
            table,
            "| {} | {} | {:.0} | {:.0} | {:.0} ({}) | {:.0} | {:.0} | {:.2} | {:.0} | {:.0} | {} calls | {} |",
            report.queued,
            report.hosts,
            report.request_bytes,
            report.dispatcher_bytes,
            report.task_bytes,
            report.future_size,
            report.total_bytes(),
            report.promotion_ns,
            report.promotion_allocations,
            report.arrival_ns,
            report.turn_ns,
            report.served,
            if report.global_fifo { "yes" } else { "no" },
        );
    }
    table
}
