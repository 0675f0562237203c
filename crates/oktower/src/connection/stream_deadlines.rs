//! The response-head deadlines of an HTTP/2 connection's streams, watched by one task per
//! connection: OkHttp's `AsyncTimeout` watchdog, kept per connection.
//!
//! A tokio timer per stream costs a registration and a removal in the timer wheel, each under
//! the timer driver's lock, for every request (about 700 instructions with the timer's
//! creation); with hundreds of streams in flight the wheel holds hundreds of entries. Here a
//! stream registers its deadline in the connection's list (a lock and a slot) and removes it
//! when its response head arrives. The watchdog sleeps until the earliest deadline it knows;
//! when it wakes it marks and wakes the streams whose deadline passed, and sleeps until the
//! next. A stream's deadline is never earlier than the one the watchdog sleeps for unless the
//! stream has a shorter read timeout of its own, so the watchdog is told only then, or when it
//! sleeps with nothing to watch; otherwise it wakes about once per read timeout, finds the
//! streams that registered since, and sleeps again.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;

use tokio::sync::Notify;
use tokio::time::Instant;

/// The deadlines of one HTTP/2 connection's streams. Dropped with the connection, it ends the
/// watchdog.
pub(crate) struct StreamDeadlines {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    /// Tells the watchdog to look again: a stream's deadline is earlier than the one it
    /// sleeps for, or the connection is gone.
    wake_watchdog: Notify,
}

#[derive(Default)]
struct State {
    /// The registered streams, by slot.
    waiters: Vec<Option<Waiter>>,
    free: Vec<usize>,
    /// The deadline the watchdog sleeps until; `None` while it has nothing to watch.
    armed: Option<Instant>,
    closed: bool,
}

struct Waiter {
    deadline: Instant,
    waker: Waker,
    expired: bool,
}

impl StreamDeadlines {
    /// Deadlines for a new connection, and their watchdog, to spawn on the connection's runtime.
    pub(crate) fn new() -> (Self, impl Future<Output = ()> + Send + 'static) {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake_watchdog: Notify::new(),
        });
        let watchdog = watch(shared.clone());
        (StreamDeadlines { shared }, watchdog)
    }

    /// Registers a stream whose response head is due by `deadline`; `waker` is woken when the
    /// deadline passes (see [`StreamDeadline::poll_expired`]).
    pub(crate) fn register(&self, deadline: Instant, waker: &Waker) -> StreamDeadline<'_> {
        let mut state = self.shared.lock();
        let waiter = Waiter {
            deadline,
            waker: waker.clone(),
            expired: false,
        };
        let slot = match state.free.pop() {
            Some(slot) => {
                state.waiters[slot] = Some(waiter);
                slot
            }
            None => {
                state.waiters.push(Some(waiter));
                state.waiters.len() - 1
            }
        };
        let tell = state.armed.is_none_or(|armed| deadline < armed);
        if tell {
            // Later registrations need not tell it again: it will find them all.
            state.armed = Some(deadline);
        }
        drop(state);
        if tell {
            self.shared.wake_watchdog.notify_one();
        }
        StreamDeadline {
            deadlines: self,
            slot,
        }
    }
}

impl Drop for StreamDeadlines {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.wake_watchdog.notify_one();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// One stream's registered deadline; dropping it removes the registration.
pub(crate) struct StreamDeadline<'a> {
    deadlines: &'a StreamDeadlines,
    slot: usize,
}

impl StreamDeadline<'_> {
    /// Whether the watchdog found the deadline passed; if not, `waker` is the one it wakes
    /// when it does.
    pub(crate) fn poll_expired(&self, waker: &Waker) -> bool {
        let mut state = self.deadlines.shared.lock();
        let Some(waiter) = state.waiters.get_mut(self.slot).and_then(Option::as_mut) else {
            return true;
        };
        if waiter.expired {
            return true;
        }
        if !waiter.waker.will_wake(waker) {
            waiter.waker = waker.clone();
        }
        false
    }
}

impl Drop for StreamDeadline<'_> {
    fn drop(&mut self) {
        let mut state = self.deadlines.shared.lock();
        if let Some(waiter) = state.waiters.get_mut(self.slot)
            && waiter.take().is_some()
        {
            state.free.push(self.slot);
        }
    }
}

/// The watchdog: wakes the streams whose deadline passed, then sleeps until the earliest
/// deadline left, or until told to look again. Ends when the connection's deadlines are
/// dropped.
async fn watch(shared: Arc<Shared>) {
    let sleep = tokio::time::sleep_until(Instant::now());
    tokio::pin!(sleep);
    loop {
        let Some(next) = expire(&shared, Instant::now()) else {
            return;
        };
        let told = shared.wake_watchdog.notified();
        match next {
            Some(at) => {
                sleep.as_mut().reset(at);
                tokio::select! {
                    () = &mut sleep => {}
                    () = told => {}
                }
            }
            None => told.await,
        }
    }
}

/// Marks and wakes the streams whose deadline is at or before `now`, and arms the watchdog for
/// the earliest deadline left: `Some(None)` when there is none, `None` once the connection is
/// gone.
fn expire(shared: &Shared, now: Instant) -> Option<Option<Instant>> {
    let mut state = shared.lock();
    if state.closed {
        return None;
    }
    let mut due = Vec::new();
    let mut next: Option<Instant> = None;
    for waiter in state.waiters.iter_mut().flatten() {
        if waiter.expired {
            continue;
        }
        if waiter.deadline <= now {
            waiter.expired = true;
            due.push(waiter.waker.clone());
        } else {
            next = Some(next.map_or(waiter.deadline, |next| next.min(waiter.deadline)));
        }
    }
    state.armed = next;
    drop(state);
    for waker in due {
        waker.wake();
    }
    Some(next)
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;
    use std::task::Poll;
    use std::time::Duration;

    use super::*;

    const LIMIT: Duration = Duration::from_secs(10);

    /// Waits for `deadline`'s watchdog verdict; the instant it came.
    async fn wait(deadlines: &StreamDeadlines, deadline: Instant) -> Instant {
        let mut registration = None;
        poll_fn(|cx| {
            let registration =
                registration.get_or_insert_with(|| deadlines.register(deadline, cx.waker()));
            match registration.poll_expired(cx.waker()) {
                true => Poll::Ready(Instant::now()),
                false => Poll::Pending,
            }
        })
        .await
    }

    #[tokio::test(start_paused = true)]
    async fn each_stream_expires_at_its_own_deadline() {
        let (deadlines, watchdog) = StreamDeadlines::new();
        let watchdog = tokio::spawn(watchdog);
        let start = Instant::now();
        let first = start + LIMIT;
        let second = start + LIMIT + Duration::from_secs(3);
        let shorter = start + Duration::from_secs(2);
        let (a, b, c) = tokio::join!(
            wait(&deadlines, first),
            wait(&deadlines, second),
            // Registered after the others, with an earlier deadline: the watchdog is told.
            async {
                tokio::time::sleep(Duration::from_secs(1)).await;
                wait(&deadlines, shorter).await
            },
        );
        assert_eq!((a, b, c), (first, second, shorter));
        drop(deadlines);
        watchdog.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_that_leaves_is_not_woken_and_the_watchdog_rests() {
        let (deadlines, watchdog) = StreamDeadlines::new();
        let watchdog = tokio::spawn(watchdog);
        let start = Instant::now();
        let waker = Waker::noop();
        // Registered and removed at once: the watchdog wakes at its deadline, finds nothing.
        drop(deadlines.register(start + LIMIT, waker));
        tokio::time::sleep(LIMIT * 2).await;
        assert_eq!(deadlines.shared.lock().armed, None);
        assert_eq!(deadlines.shared.lock().free, [0]);
        // A stream after the rest is watched again.
        let later = Instant::now() + LIMIT;
        assert_eq!(wait(&deadlines, later).await, later);
        drop(deadlines);
        watchdog.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn the_watchdog_ends_with_the_connection() {
        let (deadlines, watchdog) = StreamDeadlines::new();
        let watchdog = tokio::spawn(watchdog);
        let registration = deadlines.register(Instant::now() + LIMIT, Waker::noop());
        tokio::task::yield_now().await;
        drop(registration);
        drop(deadlines);
        tokio::time::timeout(Duration::from_secs(1), watchdog)
            .await
            .expect("the watchdog ended")
            .unwrap();
    }
}
