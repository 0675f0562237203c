//! The body hyper sends: a [`RequestBody`] plus, for requests that have a body, a tracker that
//! reports the body events, records progress for the read timeout, and holds the body back
//! until `100 Continue` when the request asked for it.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::Instant;

use crate::{BoxError, EventListener, RequestBody};

/// The body of a request on the wire.
pub(crate) struct WireBody {
    body: RequestBody,
    tracker: Option<Arc<BodyTracker>>,
}

impl WireBody {
    /// `body`, tracked by `tracker` (requests without a body need none).
    pub(crate) fn new(body: RequestBody, tracker: Option<Arc<BodyTracker>>) -> Self {
        WireBody { body, tracker }
    }

    /// The body, back from a connection that did not send it.
    pub(crate) fn into_inner(self) -> RequestBody {
        self.body
    }
}

/// What the exchange learns of its request body as hyper sends it.
pub(crate) struct BodyTracker {
    listener: Arc<dyn EventListener>,
    epoch: Instant,
    started: AtomicBool,
    finished: AtomicBool,
    bytes: AtomicU64,
    /// Nanoseconds from `epoch` to the latest progress of the body.
    last_progress: AtomicU64,
    gate: Option<ContinueGate>,
}

impl BodyTracker {
    /// A tracker reporting to `listener`; with `expect_continue` the body waits for
    /// [`open_gate`](Self::open_gate).
    pub(crate) fn new(listener: Arc<dyn EventListener>, expect_continue: bool) -> Arc<Self> {
        Arc::new(BodyTracker {
            listener,
            epoch: Instant::now(),
            started: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            bytes: AtomicU64::new(0),
            last_progress: AtomicU64::new(0),
            gate: expect_continue.then(ContinueGate::default),
        })
    }

    /// Whether the whole body was handed to the connection.
    pub(crate) fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    /// Whether the body waits for `100 Continue` (and has not had it).
    pub(crate) fn is_waiting_for_continue(&self) -> bool {
        self.gate
            .as_ref()
            .is_some_and(|gate| gate.state.load(Ordering::Acquire) == GATE_WAITING)
    }

    /// The instant of the body's latest progress (its creation before any).
    pub(crate) fn last_progress(&self) -> Instant {
        let nanos = self.last_progress.load(Ordering::Relaxed);
        self.epoch + std::time::Duration::from_nanos(nanos)
    }

    /// `100 Continue` arrived: the body may be sent.
    pub(crate) fn open_gate(&self) {
        if let Some(gate) = &self.gate {
            gate.set(GATE_OPEN);
        }
    }

    /// A final response arrived before `100 Continue`: the body is never sent. Returns whether
    /// the body was held back (and so is abandoned).
    pub(crate) fn abandon(&self) -> bool {
        match &self.gate {
            Some(gate) if gate.state.load(Ordering::Acquire) == GATE_WAITING => {
                gate.set(GATE_ABANDONED);
                true
            }
            _ => false,
        }
    }

    /// The body ended: reports it once.
    fn finish(&self) {
        if !self.finished.swap(true, Ordering::AcqRel) {
            self.progress();
            let bytes = self.bytes.load(Ordering::Relaxed);
            self.listener.request_body_end(bytes);
        }
    }

    fn progress(&self) {
        let nanos = Instant::now()
            .saturating_duration_since(self.epoch)
            .as_nanos();
        let nanos = u64::try_from(nanos).unwrap_or(u64::MAX);
        self.last_progress.store(nanos, Ordering::Relaxed);
    }
}

const GATE_WAITING: u8 = 0;
const GATE_OPEN: u8 = 1;
const GATE_ABANDONED: u8 = 2;

/// Holds a body back until `100 Continue`.
#[derive(Default)]
struct ContinueGate {
    state: AtomicU8,
    waker: Mutex<Option<Waker>>,
}

impl ContinueGate {
    fn set(&self, state: u8) {
        self.state.store(state, Ordering::Release);
        let waker = match self.waker.lock() {
            Ok(mut slot) => slot.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Ready with whether the body may be sent.
    fn poll_open(&self, cx: &mut Context<'_>) -> Poll<bool> {
        match self.state.load(Ordering::Acquire) {
            GATE_OPEN => return Poll::Ready(true),
            GATE_ABANDONED => return Poll::Ready(false),
            _ => {}
        }
        let mut slot = match self.waker.lock() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        *slot = Some(cx.waker().clone());
        drop(slot);
        match self.state.load(Ordering::Acquire) {
            GATE_OPEN => Poll::Ready(true),
            GATE_ABANDONED => Poll::Ready(false),
            _ => Poll::Pending,
        }
    }
}

impl Body for WireBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let Some(tracker) = &this.tracker else {
            return Pin::new(&mut this.body).poll_frame(cx);
        };
        if let Some(gate) = &tracker.gate {
            match gate.poll_open(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(true) => {}
                Poll::Ready(false) => {
                    return Poll::Ready(Some(Err(
                        "the request body was not sent: the server answered before 100 Continue"
                            .into(),
                    )));
                }
            }
        }
        if !tracker.started.swap(true, Ordering::Relaxed) {
            tracker.progress();
            tracker.listener.request_body_start();
        }
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    tracker
                        .bytes
                        .fetch_add(data.len() as u64, Ordering::Relaxed);
                }
                tracker.progress();
                if this.body.is_end_stream() {
                    tracker.finish();
                }
            }
            Poll::Ready(None) => tracker.finish(),
            Poll::Ready(Some(Err(_))) | Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        // A held-back body is not at its end yet, even when empty: hyper must wait for it.
        self.body.is_end_stream() && self.tracker.as_ref().is_none_or(|t| t.gate.is_none())
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
