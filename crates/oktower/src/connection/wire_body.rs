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

use crate::call_context::CallEvents;
use crate::{BoxError, EventListener, RequestBody};

/// The body of a request on the wire.
///
/// One pointer: hyper moves each request through its channels several times (as
/// `Request<WireBody>`, in its envelope and in its errors), and a request of at most 256
/// bytes with its envelope takes the copy routine's short path (about half the instructions).
/// A body at its end already is never polled by hyper and needs no room at all.
pub(crate) struct WireBody {
    /// The body and its tracker; `None` for a body at its end.
    tracked: Option<Box<Tracked>>,
}

struct Tracked {
    body: RequestBody,
    tracker: Option<Arc<BodyTracker>>,
}

impl WireBody {
    /// `body`, tracked by `tracker` (requests without a body need none).
    pub(crate) fn new(body: RequestBody, tracker: Option<Arc<BodyTracker>>) -> Self {
        // A body at its end has nothing to send: it is left out, and `into_inner` gives back
        // an empty one.
        let tracked = (tracker.is_some() || !body.is_end_stream())
            .then(|| Box::new(Tracked { body, tracker }));
        WireBody { tracked }
    }

    /// Whether the body was held back for `100 Continue` and a final response came instead.
    pub(crate) fn is_abandoned(&self) -> bool {
        self.tracked
            .as_ref()
            .and_then(|tracked| tracked.tracker.as_ref())
            .is_some_and(|tracker| tracker.is_abandoned())
    }

    /// The body, back from a connection that did not send it.
    pub(crate) fn into_inner(self) -> RequestBody {
        match self.tracked {
            Some(tracked) => tracked.body,
            None => RequestBody::empty(),
        }
    }
}

/// What the exchange learns of its request body as hyper sends it.
pub(crate) struct BodyTracker {
    listener: CallEvents,
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
    pub(crate) fn new(listener: CallEvents, expect_continue: bool) -> Arc<Self> {
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

    /// Whether a final response made the held-back body moot.
    fn is_abandoned(&self) -> bool {
        self.gate
            .as_ref()
            .is_some_and(|gate| gate.state.load(Ordering::Acquire) == GATE_ABANDONED)
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
        let Some(this) = self.get_mut().tracked.as_deref_mut() else {
            return Poll::Ready(None);
        };
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
        let Some(this) = &self.tracked else {
            return true;
        };
        // A held-back body is not at its end yet, even when empty: hyper must wait for it.
        this.body.is_end_stream() && this.tracker.as_ref().is_none_or(|t| t.gate.is_none())
    }

    fn size_hint(&self) -> SizeHint {
        match &self.tracked {
            Some(this) => this.body.size_hint(),
            None => SizeHint::with_exact(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::mem::size_of;

    use http_body_util::BodyExt;

    use super::*;

    /// hyper's envelope for a request (the request and a two-word callback) stays within the
    /// 256 bytes of the copy routine's short path; with the body inline it was 296.
    #[test]
    fn a_request_on_the_wire_fits_the_short_copy() {
        assert_eq!(size_of::<WireBody>(), size_of::<usize>());
        let envelope = size_of::<Option<(http::Request<WireBody>, [usize; 2])>>();
        assert!(envelope <= 256, "the envelope grew to {envelope} bytes");
    }

    #[tokio::test]
    async fn a_body_at_its_end_is_left_out_and_given_back_empty() {
        let wire = WireBody::new(RequestBody::empty(), None);
        assert!(wire.is_end_stream());
        assert_eq!(wire.size_hint().exact(), Some(0));
        let body = wire.into_inner();
        assert!(body.is_end_stream());
    }

    #[tokio::test]
    async fn a_body_is_sent_and_given_back_whole() {
        let wire = WireBody::new(RequestBody::from("abc"), None);
        assert!(!wire.is_end_stream());
        assert_eq!(wire.size_hint().exact(), Some(3));
        assert_eq!(wire.collect().await.unwrap().to_bytes(), "abc");
        let unsent = WireBody::new(RequestBody::from("abc"), None).into_inner();
        assert_eq!(unsent.collect().await.unwrap().to_bytes(), "abc");
    }
}
