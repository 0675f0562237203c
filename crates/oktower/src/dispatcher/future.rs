//! `dispatcher::ResponseFuture`: waits for a slot, readies the inner service, calls it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tower_service::Service;

use super::ResponseBody;
use super::shared::Registration;
use crate::{CallContext, Error, ErrorKind};

pin_project! {
    /// The response future of [`Dispatched`](super::Dispatched): waits for the call's turn
    /// (ending with [`ErrorKind::Canceled`] if the call is canceled meanwhile), then makes
    /// the inner service ready and calls it. The response's body holds the call's slot.
    ///
    /// Dropping it gives up the call's place in the queue, or its slot.
    ///
    /// ```
    /// use oktower::dispatcher::ResponseFuture;
    /// use oktower::{CallContext, Dispatched, Dispatcher, Error, NoEvents};
    /// use tower::{Service, ServiceExt};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let dispatcher = Dispatcher::with_limits(1, 1);
    /// let inner = tower::service_fn(|_request: http::Request<()>| async {
    ///     Ok::<_, Error>(http::Response::new(http_body_util::Full::new(bytes::Bytes::from("hi"))))
    /// });
    /// let mut service = Dispatched::new(inner, dispatcher.clone());
    /// let first = service.call(http::Request::get("http://a.test/").body(()).unwrap());
    /// let _held = first.await.unwrap();
    ///
    /// // The next call waits for the slot; canceling it ends the wait.
    /// let context = CallContext::new(std::sync::Arc::new(NoEvents));
    /// let mut request = http::Request::get("http://a.test/").body(()).unwrap();
    /// request.extensions_mut().insert(context.clone());
    /// let waiting: ResponseFuture<_, ()> = service.call(request);
    /// assert_eq!(dispatcher.queued_calls_count(), 1);
    /// context.cancel();
    /// assert!(waiting.await.unwrap_err().is_canceled());
    /// assert_eq!(dispatcher.queued_calls_count(), 0);
    /// # });
    /// ```
    pub struct ResponseFuture<S, B>
    where
        S: Service<Request<B>>,
    {
        #[pin]
        state: State<S, B, S::Future>,
        registration: Option<Registration>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, B, F> {
        /// Waiting for a slot (if `canceled` is set) or for the inner service's readiness.
        Waiting {
            #[pin]
            canceled: Option<WaitForCancellationFutureOwned>,
            service: Option<S>,
            request: Option<Request<B>>,
        },
        /// Waiting for the inner service's response.
        Calling { #[pin] future: F },
        /// Over.
        Done,
    }
}

impl<S, B, RB> ResponseFuture<S, B>
where
    S: Service<Request<B>, Response = Response<RB>, Error = Error>,
    RB: http_body::Body,
{
    /// A call that holds `registration`: admitted already (`queued` is `None`), or queued
    /// (then it reports `dispatcher_queue_start` and waits, watching the call's token).
    pub(super) fn new(
        registration: Registration,
        queued: Option<CancellationToken>,
        service: S,
        request: Request<B>,
    ) -> Self {
        let canceled = queued.map(|cancel| {
            CallContext::listener_in(request.extensions()).dispatcher_queue_start();
            cancel.cancelled_owned()
        });
        ResponseFuture {
            state: State::Waiting {
                canceled,
                service: Some(service),
                request: Some(request),
            },
            registration: Some(registration),
        }
    }
}

impl<S, B, RB> Future for ResponseFuture<S, B>
where
    S: Service<Request<B>, Response = Response<RB>, Error = Error>,
    RB: http_body::Body,
{
    type Output = Result<Response<ResponseBody<RB>>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Waiting {
                    mut canceled,
                    service,
                    request,
                } => {
                    if let Some(wait) = canceled.as_mut().as_pin_mut() {
                        let request = request.as_ref().expect("the request is kept until sent");
                        let listener = CallContext::listener_in(request.extensions());
                        if wait.poll(cx).is_ready() {
                            listener.dispatcher_queue_end();
                            let error = canceled_while_queued(request);
                            // Leaves the queue, or frees the slot if promoted meanwhile.
                            *this.registration = None;
                            this.state.set(State::Done);
                            return Poll::Ready(Err(error));
                        }
                        let admitted = this
                            .registration
                            .as_ref()
                            .is_none_or(|registration| registration.poll_admitted(cx.waker()));
                        if !admitted {
                            return Poll::Pending;
                        }
                        listener.dispatcher_queue_end();
                        canceled.set(None);
                    }
                    let service_ref = service.as_mut().expect("the service is kept until called");
                    if let Err(error) = ready!(service_ref.poll_ready(cx)) {
                        *this.registration = None;
                        this.state.set(State::Done);
                        return Poll::Ready(Err(error));
                    }
                    let mut service = service.take().expect("the service is kept until called");
                    let request = request.take().expect("the request is kept until sent");
                    let future = service.call(request);
                    this.state.set(State::Calling { future });
                }
                StateProj::Calling { future } => {
                    let output = ready!(future.poll(cx));
                    this.state.set(State::Done);
                    return Poll::Ready(match output {
                        Ok(response) => {
                            let (parts, body) = response.into_parts();
                            let body = ResponseBody::new(body, this.registration.take());
                            Ok(Response::from_parts(parts, body))
                        }
                        Err(error) => {
                            *this.registration = None;
                            Err(error)
                        }
                    });
                }
                StateProj::Done => panic!("dispatcher::ResponseFuture polled after completion"),
            }
        }
    }
}

/// The error of a call canceled before its turn came.
fn canceled_while_queued<B>(request: &Request<B>) -> Error {
    Error::new(
        ErrorKind::Canceled,
        "the call was canceled while waiting in the dispatcher's queue",
    )
    .with_url(request.uri().to_string())
}
