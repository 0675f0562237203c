//! `dispatcher::ResponseFuture`: waits for a slot, readies the inner service, calls it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::ResponseBody;
use super::shared::Registration;
use crate::cancel_wait::CancelWait;
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
        /// Waiting for a slot (if `queued` is set) or for the inner service's readiness.
        Waiting {
            queued: Option<CancelWait>,
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
    /// with its context (then it reports `dispatcher_queue_start` and waits for its turn or
    /// its cancellation).
    pub(super) fn new(
        registration: Registration,
        queued: Option<CallContext>,
        service: S,
        request: Request<B>,
    ) -> Self {
        let queued = queued.map(|context| {
            context.listener().dispatcher_queue_start();
            CancelWait::new(context)
        });
        ResponseFuture {
            state: State::Waiting {
                queued,
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
                    queued,
                    service,
                    request,
                } => {
                    if let Some(wait) = queued.as_mut() {
                        if wait.poll_canceled(cx) {
                            wait.context().listener().dispatcher_queue_end();
                            let request = request.as_ref().expect("the request is kept until sent");
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
                        wait.context().listener().dispatcher_queue_end();
                        *queued = None;
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::task::{Context, Poll};

    use bytes::Bytes;
    use http_body_util::Full;

    use crate::Error;
    use crate::cancel_wait::CancelWait;
    use crate::dispatcher::shared::Registration;

    /// An inner service the size of a pointer (an `Arc`), answering at once.
    #[derive(Clone)]
    struct Pointer(#[allow(dead_code)] Arc<()>);

    impl tower_service::Service<http::Request<()>> for Pointer {
        type Response = http::Response<Full<Bytes>>;
        type Error = Error;
        type Future = std::future::Ready<Result<Self::Response, Error>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: http::Request<()>) -> Self::Future {
            std::future::ready(Ok(http::Response::new(Full::new(Bytes::new()))))
        }
    }

    /// A queued call's future is its request (224 bytes), the inner service, its
    /// registration and its cancellation wait, nothing more: within 264 bytes, a tokio task
    /// holding it (with a pointer or two of the caller's) fits in 384 bytes instead of 512
    /// (tokio aligns a task to 128 bytes). The S9 benchmark measures memory per queued call.
    #[test]
    fn a_queued_call_is_small() {
        assert_eq!(std::mem::size_of::<http::Request<()>>(), 224);
        assert_eq!(std::mem::size_of::<Option<Registration>>(), 16);
        assert_eq!(std::mem::size_of::<Option<CancelWait>>(), 16);
        assert!(std::mem::size_of::<super::ResponseFuture<Pointer, ()>>() <= 264);
    }
}
