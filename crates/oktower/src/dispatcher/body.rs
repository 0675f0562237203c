//! `dispatcher::ResponseBody`: a response body that holds its call's dispatcher slot.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::shared::Registration;

pin_project! {
    /// The body of a response from [`Dispatched`](super::Dispatched): the inner body,
    /// holding the call's dispatcher slot until it reaches its end, fails or is dropped. A
    /// body already at its end when the response arrives frees the slot at once.
    ///
    /// ```
    /// use http_body_util::BodyExt;
    /// use oktower::{Dispatched, Dispatcher, Error};
    /// use tower::{Service, ServiceExt};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let dispatcher = Dispatcher::new();
    /// let inner = tower::service_fn(|_request: http::Request<()>| async {
    ///     Ok::<_, Error>(http::Response::new(http_body_util::Full::new(bytes::Bytes::from("hi"))))
    /// });
    /// let mut service = Dispatched::new(inner, dispatcher.clone());
    /// let request = http::Request::get("http://a.test/").body(()).unwrap();
    /// let body = service.ready().await.unwrap().call(request).await.unwrap().into_body();
    /// assert!(body.holds_slot());
    /// let bytes = body.collect().await.unwrap().to_bytes();
    /// assert_eq!(bytes, "hi");
    /// assert_eq!(dispatcher.running_calls_count(), 0);
    /// # });
    /// ```
    pub struct ResponseBody<B> {
        #[pin]
        inner: B,
        slot: Option<Registration>,
    }
}

impl<B: Body> ResponseBody<B> {
    /// `inner`, holding `slot` unless it is already at its end.
    pub(super) fn new(inner: B, slot: Option<Registration>) -> Self {
        let slot = slot.filter(|_| !inner.is_end_stream());
        ResponseBody { inner, slot }
    }
}

impl<B> ResponseBody<B> {
    /// Whether the body still holds its call's slot (it has not ended, failed or been
    /// dropped).
    pub fn holds_slot(&self) -> bool {
        self.slot.is_some()
    }

    /// The inner body.
    pub fn get_ref(&self) -> &B {
        &self.inner
    }

    /// The inner body; the call's slot is freed.
    pub fn into_inner(self) -> B {
        self.inner
    }
}

impl<B: Body> Body for ResponseBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let frame = ready!(this.inner.as_mut().poll_frame(cx));
        let finished = match &frame {
            Some(Ok(_)) => this.inner.is_end_stream(),
            Some(Err(_)) | None => true,
        };
        if finished {
            // Frees the slot and promotes the next waiters.
            *this.slot = None;
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B: fmt::Debug> fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseBody")
            .field("inner", &self.inner)
            .field("holds_slot", &self.holds_slot())
            .finish()
    }
}
