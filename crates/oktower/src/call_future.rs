//! [`CallFuture`]: the future of [`RequestBuilder::send`](crate::RequestBuilder::send),
//! [`Call::execute`](crate::Call::execute) and [`Client::execute`](crate::Client::execute):
//! the client's call future, or the error found before the request could be sent, ending in
//! a [`Response`].
//!
//! A named future rather than an `async fn`: an `async fn` keeps its arguments twice (as
//! arguments and as locals), so its future would hold the call's whole future, and the
//! request inside it, once more.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;

use crate::{Body, Error, Response};

pin_project! {
    /// The call's future, or the error that kept it from starting.
    #[project = CallFutureProjection]
    pub(crate) enum CallFuture<F> {
        /// The call runs.
        Running { #[pin] call: F },
        /// The request could not be sent; the error is taken when polled.
        Failed { error: Option<Error> },
    }
}

impl<F> CallFuture<F> {
    /// `call` running, or `error` at the first poll.
    pub(crate) fn new(call: Result<F, Error>) -> Self {
        match call {
            Ok(call) => CallFuture::Running { call },
            Err(error) => CallFuture::Failed { error: Some(error) },
        }
    }
}

impl<F> Future for CallFuture<F>
where
    F: Future<Output = Result<http::Response<Body>, Error>>,
{
    type Output = Result<Response, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            CallFutureProjection::Running { call } => {
                Poll::Ready(ready!(call.poll(cx)).map(Response::new))
            }
            // Polled again after it ended (the future contract allows anything but unsafety):
            // stay pending rather than panic.
            CallFutureProjection::Failed { error } => match error.take() {
                Some(error) => Poll::Ready(Err(error)),
                None => Poll::Pending,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[tokio::test]
    async fn a_running_call_ends_in_its_response() {
        let call = async { Ok(http::Response::new(Body::from("done"))) };
        let response = CallFuture::new(Ok(call)).await.unwrap();
        assert_eq!(response.bytes().await.unwrap(), "done");
    }

    #[tokio::test]
    async fn a_request_that_could_not_be_sent_ends_in_its_error() {
        let error = Error::new(ErrorKind::Builder, "no host");
        let never_sent: Result<std::future::Pending<Result<http::Response<Body>, Error>>, Error> =
            Err(error);
        let failed = CallFuture::new(never_sent).await.unwrap_err();
        assert_eq!(failed.kind(), ErrorKind::Builder);
    }
}
