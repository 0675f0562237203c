//! Sending one request over a leased connection and waiting for its response head, within the
//! read timeout: two small hand-written futures, so that [`CallServer`](super::CallServer)'s
//! future holds hyper's send future once, in place, instead of copies of it nested in
//! `async fn` states.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::TrySendError;
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

use super::h2_stream::{self, H2Sending, Interim};
use super::wire_error::WireFault;
use super::wire_incoming::WireIncoming;
use crate::connection::lease::{HeadTimer, Lease, SenderMut};
use crate::connection::stream_deadlines::StreamDeadline;
use crate::connection::wire_body::{BodyTracker, WireBody};
use crate::deadline::deadline_after;
use crate::{Error, ErrorKind};

/// Why a request got no response.
pub(super) enum SendError {
    /// The connection was found closed before the request was written: it comes back.
    Unsent(Box<Request<WireBody>>, Option<WireFault>),
    /// The exchange failed after the request was (maybe) written.
    Failed(WireFault),
}

/// What hyper's HTTP/1 `try_send_request` future gives.
type TrySent = Result<Response<Incoming>, TrySendError<Request<WireBody>>>;

/// Waits until the lease's connection can take a request (an HTTP/1 connection becomes ready
/// once its previous response was read). `Err` when it never will: the connection is closed.
pub(super) fn poll_ready(lease: &mut Lease, cx: &mut Context<'_>) -> Poll<Result<(), SendFailure>> {
    let ready = match lease.sender_for_request() {
        Some(SenderMut::H1(parts)) => ready!(parts.sender.poll_ready(cx)).map_err(WireFault::from),
        Some(SenderMut::H2(sender)) => ready!(sender.poll_ready(cx)).map_err(WireFault::from),
        None => return Poll::Ready(Err(SendFailure(None))),
    };
    Poll::Ready(ready.map_err(|error| SendFailure(Some(error))))
}

/// A connection that cannot take a request, with the reason when there is one.
pub(super) struct SendFailure(pub(super) Option<WireFault>);

pin_project! {
    /// The request handed to the connection; resolves to the response head.
    #[project = SendingProjection]
    pub(super) enum Sending<H1> {
        /// On an HTTP/1 connection.
        Http1 { #[pin] future: H1 },
        /// As a stream of an HTTP/2 connection.
        Http2 { stream: H2Sending },
        /// The lease had no sender: the request never left.
        NoSender { request: Option<Box<Request<WireBody>>> },
    }
}

/// Hands `request` to the lease's connection at once (hyper queues an HTTP/1 request before
/// the returned future is first polled; an HTTP/2 stream is opened here). `interim` says
/// what an HTTP/2 stream does with informational responses (HTTP/1 requests carry that in
/// hyper's extension).
pub(super) fn start_sending(
    lease: &mut Lease,
    request: Request<WireBody>,
    interim: Option<Box<Interim>>,
) -> Sending<impl Future<Output = TrySent> + use<>> {
    match lease.sender_for_request() {
        Some(SenderMut::H1(parts)) => Sending::Http1 {
            future: parts.sender.try_send_request(request),
        },
        Some(SenderMut::H2(sender)) => Sending::Http2 {
            stream: h2_stream::send(sender, request, interim),
        },
        None => Sending::NoSender {
            request: Some(Box::new(request)),
        },
    }
}

impl<H1> Future for Sending<H1>
where
    H1: Future<Output = TrySent>,
{
    type Output = Result<Response<WireIncoming>, SendError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let sent = match self.project() {
            SendingProjection::Http1 { future } => ready!(future.poll(cx)),
            SendingProjection::Http2 { stream } => {
                let sent = ready!(Pin::new(stream).poll(cx));
                return Poll::Ready(sent.map_err(|error| SendError::Failed(error.into())));
            }
            SendingProjection::NoSender { request } => {
                // Polled again after it ended (the future contract allows anything but
                // unsafety): stay pending rather than panic.
                return match request.take() {
                    Some(request) => Poll::Ready(Err(SendError::Unsent(request, None))),
                    None => Poll::Pending,
                };
            }
        };
        Poll::Ready(match sent {
            Ok(response) => Ok(response.map(WireIncoming::Http1)),
            Err(mut error) => Err(match error.take_message() {
                Some(request) => {
                    SendError::Unsent(Box::new(request), Some(error.into_error().into()))
                }
                None => SendError::Failed(error.into_error().into()),
            }),
        })
    }
}

pin_project! {
    /// Waits for the response head within the read timeout, counted from the latest progress
    /// of the request body (from `started` without one). It uses the connection's own timer
    /// (HTTP/1) or its stream deadlines (HTTP/2) when it has them; otherwise a timer is created
    /// only when the head is not there at the first poll.
    pub(super) struct HeadTimeout<'t, F> {
        #[pin]
        sending: F,
        #[pin]
        timer: Option<Sleep>,
        head_timer: HeadTimer<'t>,
        // The deadline registered with the HTTP/2 connection's stream deadlines.
        registered: Option<StreamDeadline<'t>>,
        limit: Option<Duration>,
        started: Instant,
        tracker: Option<&'t BodyTracker>,
    }
}

impl<'t, F: Future> HeadTimeout<'t, F> {
    pub(super) fn new(
        sending: F,
        limit: Option<Duration>,
        started: Instant,
        tracker: Option<&'t BodyTracker>,
        head_timer: HeadTimer<'t>,
    ) -> Self {
        HeadTimeout {
            sending,
            timer: None,
            head_timer,
            registered: None,
            limit,
            started,
            tracker,
        }
    }
}

impl<F: Future> Future for HeadTimeout<'_, F> {
    type Output = Result<F::Output, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Poll::Ready(output) = this.sending.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        let Some(limit) = *this.limit else {
            return Poll::Pending;
        };
        let started = *this.started;
        let tracker = *this.tracker;
        loop {
            let base = tracker
                .map_or(started, BodyTracker::last_progress)
                .max(started);
            let deadline = deadline_after(base, limit);
            let mut timer = match (&mut *this.head_timer, this.timer.as_mut().as_pin_mut()) {
                (HeadTimer::Streams(deadlines), _) => {
                    let Some(registered) = this.registered else {
                        *this.registered = Some(deadlines.register(deadline, cx.waker()));
                        return Poll::Pending;
                    };
                    if !registered.poll_expired(cx.waker()) {
                        return Poll::Pending;
                    }
                    // The registered deadline passed; the body's progress may have moved the
                    // deadline since, and it is registered again.
                    *this.registered = None;
                    if deadline <= Instant::now() {
                        return Poll::Ready(Err(head_timeout(limit, tracker)));
                    }
                    continue;
                }
                (HeadTimer::Connection(timer), _) => timer.as_mut(),
                (HeadTimer::Own, Some(timer)) => timer,
                (HeadTimer::Own, None) => {
                    this.timer.set(Some(tokio::time::sleep_until(deadline)));
                    continue;
                }
            };
            super::read_deadline::arm(timer.as_mut(), deadline, limit);
            if timer.poll(cx).is_pending() {
                return Poll::Pending;
            }
            if deadline <= Instant::now() {
                return Poll::Ready(Err(head_timeout(limit, tracker)));
            }
        }
    }
}

#[cold]
fn head_timeout(limit: Duration, tracker: Option<&BodyTracker>) -> Error {
    let what = if tracker.is_some_and(BodyTracker::is_waiting_for_continue) {
        "waiting for 100 Continue"
    } else {
        "waiting for the response"
    };
    Error::new(
        ErrorKind::Timeout,
        format!("timed out after {limit:?} {what}"),
    )
}
