//! `follow_up::ResponseFuture`: the follow-up loop as a hand-written future.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::{HeaderMap, Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::layer::Settings;
use super::progress::{Next, Progress};
use crate::{AuthFuture, Error, ReplayBody};

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
        /// Waiting for the inner service to be ready for the next attempt.
        Readying { request: Option<Request<B>> },
        /// Waiting for the authenticator's answer to a 401.
        Authenticating { answer: AuthFuture<Option<HeaderMap>> },
        /// Over; holds the output until it is returned.
        Finished { output: Option<Result<R, Error>> },
    }
}

impl<S, B, RB> ResponseFuture<S, B>
where
    S: Service<Request<B>, Response = Response<RB>, Error = Error>,
    B: ReplayBody,
{
    /// Starts the call: `service` is ready and sends `request` at once.
    pub(crate) fn start(service: S, settings: Arc<Settings>, request: Request<B>) -> Self {
        let (mut progress, next) = Progress::start(service, settings, request);
        let state = match next {
            Next::Send(request) => State::Calling {
                future: progress.service.call(request),
            },
            Next::Authenticate(answer) => State::Authenticating { answer },
            Next::Done(output) => State::Finished {
                output: Some(output),
            },
        };
        ResponseFuture { state, progress }
    }
}

impl<S, B, RB> Future for ResponseFuture<S, B>
where
    S: Service<Request<B>, Response = Response<RB>, Error = Error>,
    B: ReplayBody,
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
                            let future = this.progress.service.call(request);
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
                StateProj::Finished { output } => {
                    return Poll::Ready(
                        output
                            .take()
                            .expect("ResponseFuture polled after completion"),
                    );
                }
            };
            match next {
                Next::Send(request) => this.state.set(State::Readying {
                    request: Some(request),
                }),
                Next::Authenticate(answer) => this.state.set(State::Authenticating { answer }),
                Next::Done(output) => {
                    this.state.set(State::Finished { output: None });
                    return Poll::Ready(output);
                }
            }
        }
    }
}
