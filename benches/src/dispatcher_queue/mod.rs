//! Scenario S9: many calls queued in oktower's `Dispatcher` across many hosts. What does a
//! queued call cost in memory, and what does one promotion (a running call finishes, the
//! next waiting call is admitted) cost, at different queue lengths?
//!
//! The calls go through the public API: a [`DispatcherLayer`](oktower::DispatcherLayer)'s
//! service ([`Dispatched`]) over [`RecordingServer`], an inner tower service that answers at
//! once with a one-byte body. A call holds its slot until its response body is dropped, so
//! the scenario decides when each call finishes. Call `i` goes to host `i % hosts`. With the
//! default limits here (64 in all, 5 per host, 100 hosts) the first 64 calls run and every
//! later one waits; each call is a tokio task (as a `Client`'s `enqueue`d call would be) on
//! a current-thread runtime.
//!
//! What is measured (see [`QueueReport`]):
//!
//! - **memory per queued call**, from the heap counter the caller passes in (the
//!   `dispatcher_queue` binary counts every allocation with `stats_alloc`): the request
//!   itself (URI, extensions, its `CallContext` with the call's timings recorder, as a
//!   client's call has), the dispatcher's own bookkeeping (what
//!   `Dispatched::call` allocates: the call's entry in the dispatcher's tables), and the
//!   spawned task that owns the waiting `ResponseFuture` (tokio's task cell, the future
//!   inline). The future's own size is reported too.
//! - **promotion cost** at a steady queue length: the running calls' bodies are dropped one
//!   at a time; each drop frees a slot and admits (wakes) the oldest waiter. A new call is
//!   queued after each drop, so the queue keeps its length. Reported: time and allocations
//!   of the drop alone (the dispatcher's work: leave, promote, wake), the time of queueing a
//!   new call, and the time of a whole turn (drop + the promoted task running its call +
//!   queueing a replacement), per promotion.
//!
//! At the end every call is let through and the order in which calls reached the inner
//! service is checked: first in, first out per host, none lost or repeated.
//!
//! Reproduce: `cargo run -p oktower-benches --release --bin dispatcher_queue` (all queue
//! lengths), `-- --quick` for CI's short run.

mod report;
mod workload;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use oktower::dispatcher::ResponseFuture;
use oktower::{Dispatched, Dispatcher};
use pin_project_lite::pin_project;
use tokio::sync::mpsc;

pub use report::{QueueReport, report_table};
pub use workload::{CallTag, HeldBody, RecordingServer, RequestMaker, check_fifo_per_host};

use crate::BoxError;

/// The heap counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeapSnapshot {
    /// Bytes allocated and not yet freed.
    pub live_bytes: i64,
    /// Allocation and reallocation operations so far.
    pub allocations: u64,
}

/// Reads the heap counters (the binary's global allocator); [`no_heap_meter`] where there is
/// none.
pub type HeapMeter = fn() -> HeapSnapshot;

/// A meter that counts nothing (memory figures then read 0).
pub fn no_heap_meter() -> HeapSnapshot {
    HeapSnapshot::default()
}

/// One run of the scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueConfig {
    /// How many calls are made on top of `max_requests` (with enough hosts, the first
    /// `max_requests` run and these wait).
    pub queued: usize,
    /// How many hosts the calls are spread over.
    pub hosts: u32,
    /// The dispatcher's global limit.
    pub max_requests: usize,
    /// The dispatcher's per-host limit.
    pub max_requests_per_host: usize,
    /// How many promotions are measured.
    pub promotions: usize,
}

impl QueueConfig {
    /// `queued` waiting calls over 100 hosts, 64 in all / 5 per host, 2,000 promotions.
    pub fn new(queued: usize) -> Self {
        QueueConfig {
            queued,
            hosts: 100,
            max_requests: 64,
            max_requests_per_host: 5,
            promotions: 2_000,
        }
    }
}

/// The response future of one call.
type CallFuture = ResponseFuture<RecordingServer, ()>;

/// Runs the scenario on a new current-thread runtime, counting memory with `heap`.
pub fn run(config: &QueueConfig, heap: HeapMeter) -> Result<QueueReport, BoxError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run_on_runtime(config, heap))
}

async fn run_on_runtime(config: &QueueConfig, heap: HeapMeter) -> Result<QueueReport, BoxError> {
    let dispatcher = Dispatcher::with_limits(config.max_requests, config.max_requests_per_host);
    let initial_calls = config.queued + config.max_requests;
    let server = RecordingServer::with_capacity(initial_calls + config.promotions);
    let mut service = Dispatched::new(server.clone(), dispatcher.clone());
    let mut maker = RequestMaker::new(config.hosts);
    let (bodies_tx, mut bodies_rx) = mpsc::unbounded_channel::<Option<HeldBody>>();
    let started = Arc::new(AtomicUsize::new(0));
    let mut requests = Vec::with_capacity(initial_calls);
    let mut futures: Vec<CallFuture> = Vec::with_capacity(initial_calls);

    // Memory: the requests, then the dispatcher's bookkeeping (the futures sit in a vector
    // allocated beforehand), then the tasks that own the futures.
    let before_requests = heap();
    requests.extend((0..initial_calls).map(|_| maker.next_request()));
    let before_calls = heap();
    futures.extend(
        requests
            .drain(..)
            .map(|request| service_call(&mut service, request)),
    );
    let before_tasks = heap();
    let queued_at_start = dispatcher.queued_calls_count();
    let future_size = std::mem::size_of::<CallFuture>();
    for future in futures.drain(..) {
        spawn_call(future, &bodies_tx, &started);
    }
    // Every task polls its future once: the queued ones register their wakers.
    while started.load(Ordering::Relaxed) < initial_calls {
        tokio::task::yield_now().await;
    }
    let after_tasks = heap();
    drop(futures);
    drop(requests);

    // Promotions at a steady queue length.
    let mut promotion_time = Duration::ZERO;
    let mut promotion_allocations = 0u64;
    let mut arrival_time = Duration::ZERO;
    let mut received = 0usize;
    let mut failed = 0usize;
    let turns_started = Instant::now();
    for _ in 0..config.promotions {
        let body = bodies_rx.recv().await.ok_or("the calls' channel closed")?;
        received += 1;
        failed += usize::from(body.is_none());
        let before = heap();
        let start = Instant::now();
        finish_measured_call(body);
        promotion_time += start.elapsed();
        promotion_allocations += heap().allocations - before.allocations;
        let request = maker.next_request();
        let start = Instant::now();
        let future = service_call(&mut service, request);
        arrival_time += start.elapsed();
        spawn_call(future, &bodies_tx, &started);
    }
    let turns = turns_started.elapsed();
    let queued_after = dispatcher.queued_calls_count();
    let running_after = dispatcher.running_calls_count();

    // Let every call through, then check the order.
    let made = usize::try_from(maker.made())?;
    while received < made {
        let body = bodies_rx.recv().await.ok_or("the calls' channel closed")?;
        received += 1;
        failed += usize::from(body.is_none());
        finish_call(body);
    }
    if failed > 0 {
        return Err(format!("{failed} calls failed").into());
    }
    dispatcher.idle().await;
    let log = server.log();
    let served = check_fifo_per_host(&log, config.hosts)?;
    if served != made {
        return Err(format!("{made} calls were made but {served} reached the server").into());
    }
    let global_fifo = log
        .windows(2)
        .all(|pair| arrival_index(pair[0], config.hosts) < arrival_index(pair[1], config.hosts));

    let per = |bytes: i64, count: usize| bytes as f64 / count.max(1) as f64;
    let promotions = config.promotions.max(1) as f64;
    Ok(QueueReport {
        queued: queued_at_start,
        hosts: config.hosts,
        request_bytes: per(
            before_calls.live_bytes - before_requests.live_bytes,
            initial_calls,
        ),
        dispatcher_bytes: per(
            before_tasks.live_bytes - before_calls.live_bytes,
            initial_calls,
        ),
        task_bytes: per(
            after_tasks.live_bytes - before_tasks.live_bytes,
            queued_at_start,
        ),
        future_size,
        promotions: config.promotions,
        promotion_ns: promotion_time.as_nanos() as f64 / promotions,
        promotion_allocations: promotion_allocations as f64 / promotions,
        arrival_ns: arrival_time.as_nanos() as f64 / promotions,
        turn_ns: turns.as_nanos() as f64 / promotions,
        queued_after,
        running_after,
        served,
        global_fifo,
    })
}

/// Queues one call (what `Dispatched::call` does: register it, admit it or put it in line).
fn service_call(
    service: &mut Dispatched<RecordingServer>,
    request: http::Request<()>,
) -> CallFuture {
    tower_service::Service::call(service, request)
}

/// Finishes a running call: dropping its body frees its slot and promotes the next waiter.
fn finish_call(body: Option<HeldBody>) {
    drop(body);
}

/// [`finish_call`] in the measured promotions. Not inlined, so that a profiler can count its
/// instructions alone:
/// `valgrind --tool=callgrind --toggle-collect='*finish_measured_call*' dispatcher_queue ...`
/// gives the instructions of `--promotions` promotions.
#[inline(never)]
fn finish_measured_call(body: Option<HeldBody>) {
    drop(body);
}

/// Runs a call as its own task, sending its response body (which holds its slot) back.
fn spawn_call(
    future: CallFuture,
    bodies: &mpsc::UnboundedSender<Option<HeldBody>>,
    started: &Arc<AtomicUsize>,
) {
    tokio::spawn(CallTask {
        future,
        bodies: bodies.clone(),
        started: Some(started.clone()),
    });
}

pin_project! {
    /// The task of one call: a named future rather than an `async` block, because an `async`
    /// block that captures a future and awaits it keeps room for it twice, which would
    /// inflate the task's size measured here.
    struct CallTask {
        #[pin]
        future: CallFuture,
        bodies: mpsc::UnboundedSender<Option<HeldBody>>,
        // Counted on the first poll (then `None`).
        started: Option<Arc<AtomicUsize>>,
    }
}

impl Future for CallTask {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if let Some(started) = this.started.take() {
            started.fetch_add(1, Ordering::Relaxed);
        }
        let output = ready!(this.future.poll(cx));
        // A failed call (none is expected) is sent as `None`, so the count still adds up.
        let _ = this
            .bodies
            .send(output.ok().map(|response| response.into_body()));
        Poll::Ready(())
    }
}

/// The position of a call in the overall arrival order.
fn arrival_index(tag: CallTag, hosts: u32) -> u64 {
    u64::from(tag.seq) * u64::from(hosts) + u64::from(tag.host)
}
