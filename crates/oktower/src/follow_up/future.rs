//! `follow_up::ResponseFuture`: the follow-up loop as a hand-written future.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Buf;
use tokio::time::Sleep;

use http::{HeaderMap, Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::layer::Settings;
use super::progress::{Next, Progress};
use crate::{AuthFuture, Error, ReplayBody};

/// How much of a followed-up response's body is read off to keep its connection (more, and
/// the connection is closed instead), as OkHttp's discard of an unread body.
const DRAIN_LIMIT: u64 = 64 * 1024;
/// How long reading it off may take.
const DRAIN_TIMEOUT: Duration = Duration::from_millis(100);

pin_project! {
    /// The response future of [`FollowUp`](crate::FollowUp): the call's final response, or
    /// its error with the failures recovered from attached.
    ///
    /// A hand-written state machine rather than a boxed `async` block: it allocates nothing
    /// itself, and it is `Send` whenever the inner service, its future and the bodies are,
    /// without requiring it. It waits on one thing at a time: the inner service's response,
    /// the inner service's readiness before a retry or follow-up, or an authenticator's answer
    /// when that is not known at once.
    pub struct ResponseFuture<S, B>
    where
        S: Service<Request<B>>,
    {
        #[pin]
        state: State<S::Future, B, S::Response>,
        progress: Progress<S, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B, R> {
        /// Waiting for the inner service's response.
        Calling { #[pin] future: F },
        /// Waiting for the inner service to be ready for the next attempt. This state and
        /// `Finished` box what they hold: they are rare, and every call's future would
        /// otherwise hold room for a request and a response.
        Readying { request: Option<Box<Request<B>>> },
        /// Waiting for the authenticator's answer to a 401.
        Authenticating { answer: AuthFuture<Option<HeaderMap>> },
        Draining { body: Pin<Box<dyn Drain>> },
        /// Over; holds the output until it is returned.
        Finished { output: Option<Box<Result<R, Error>>> },
    }
}

impl<S, B, RB> ResponseFuture<S, B>
where
    S: Service<Request<B>, Response = Response<RB>, Error = Error>,
    B: ReplayBody,
    RB: http_body::Body + Send + 'static,
{
    /// Starts the call: `service` is ready and sends `request` at once.
    pub(crate) fn start(service: S, settings: Arc<Settings>, request: Request<B>) -> Self {
        let (mut progress, next) = Progress::start(service, settings, request);
        let state = match next {
            Next::Send(request) => State::Calling {
                future: progress.service.call(request),
            },
            Next::Authenticate(answer) => State::Authenticating { answer },
            Next::Drain(response) => State::Draining {
                body: draining(response),
            },
            Next::Done(output) => State::Finished {
                output: Some(Box::new(output)),
            },
        };
        ResponseFuture { state, progress }
    }
}

impl<S, B, RB> Future for ResponseFuture<S, B>
where
    S: Service<Request<B>, Response = Response<RB>, Error = Error>,
    B: ReplayBody,
    RB: http_body::Body + Send + 'static,
{
    type Output = Result<Response<RB>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let next = match this.state.as_mut().project() {
                StateProj::Calling { future } => {
                    let outcome = ready!(future.poll(cx));
                    this.progress.on_outcome(outcome)
                }
                StateProj::Readying { request } => {
                    match ready!(this.progress.service.poll_ready(cx)) {
                        Ok(()) => {
                            let request = request
                                .take()
                                .expect("a readying state holds its request until it is sent");
                            let future = this.progress.service.call(*request);
                            this.state.set(State::Calling { future });
                            continue;
                        }
                        Err(error) => this.progress.on_outcome(Err(error)),
                    }
                }
                StateProj::Authenticating { answer } => {
                    let answer = ready!(Pin::new(answer).poll(cx));
                    this.progress.on_authentication(answer)
                }
                StateProj::Draining { body } => {
                    ready!(body.as_mut().poll_drain(cx));
                    this.progress.after_drain()
                }
                StateProj::Finished { output } => {
                    return Poll::Ready(
                        *output
                            .take()
                            .expect("ResponseFuture polled after completion"),
                    );
                }
            };
            match next {
                Next::Send(request) => this.state.set(State::Readying {
                    request: Some(Box::new(request)),
                }),
                Next::Authenticate(answer) => this.state.set(State::Authenticating { answer }),
                Next::Drain(response) => this.state.set(State::Draining {
                    body: draining(response),
                }),
                Next::Done(output) => {
                    this.state.set(State::Finished { output: None });
                    return Poll::Ready(output);
                }
            }
        }
    }
}

/// A body being read off, whatever its type.
trait Drain: Send {
    /// Reads until the end, an error, [`DRAIN_LIMIT`] bytes or [`DRAIN_TIMEOUT`].
    fn poll_drain(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()>;
}

pin_project! {
    struct Draining<RB> {
        #[pin]
        body: RB,
        read: u64,
        timer: Option<Pin<Box<Sleep>>>,
    }
}

impl<RB> Drain for Draining<RB>
where
    RB: http_body::Body + Send,
{
    fn poll_drain(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        loop {
            match this.body.as_mut().poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(data) = frame.data_ref() {
                        *this.read += data.remaining() as u64;
                    }
                    if *this.read > DRAIN_LIMIT {
                        return Poll::Ready(());
                    }
                }
                Poll::Ready(_) => return Poll::Ready(()),
                Poll::Pending => {
                    let timer = this
                        .timer
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep(DRAIN_TIMEOUT)));
                    return timer.as_mut().poll(cx);
                }
            }
        }
    }
}

fn draining<RB>(response: Response<RB>) -> Pin<Box<dyn Drain>>
where
    RB: http_body::Body + Send + 'static,
{
    Box::pin(Draining {
        body: response.into_body(),
        read: 0,
        timer: None,
    })
}
