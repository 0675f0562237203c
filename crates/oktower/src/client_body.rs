//! [`Body`]: the response body a [`Client`](crate::Client) returns.

use std::any::Any;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::Uri;
use http_body::{Body as _, Frame, SizeHint};

use crate::call_guard::CallGuard;
use crate::{BoxError, CallContext, CallTimings, Error};

/// The body of the network stack's responses: decoded by the bridge, read from the connection.
pub(crate) type StackBody =
    crate::bridge::ResponseBody<crate::cache::ResponseBody<crate::ResponseBody>>;

/// The body of a response from a [`Client`](crate::Client): streamed from the connection (and
/// decoded, when the bridge asked for compression), or made by an application layer.
///
/// It implements [`http_body::Body`] with `Bytes` data and [`Error`] as its error. Reading it
/// to its end gives the connection back to the pool and ends the call; dropping it early does
/// the same (an HTTP/1 connection with unread bytes is closed). While it is read, the call's
/// cancellation and call timeout still apply: a canceled call fails its next read promptly.
///
/// Application layers that answer a call themselves build one with [`Body::empty`],
/// [`Body::from`] or [`Body::new`].
///
/// ```
/// use http_body_util::BodyExt;
/// use oktower::Body;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let body = Body::from("made by a layer");
/// let bytes = body.collect().await.unwrap().to_bytes();
/// assert_eq!(bytes, "made by a layer");
/// # }
/// ```
pub struct Body {
    kind: Kind,
    /// Boxed, like the connection's body: the response moves by value through the client's
    /// future a few times, and the guard (192 bytes) is cheaper to allocate than to copy.
    guard: Option<Box<CallGuard>>,
}

// The stack's body is the common case: boxing it would cost an allocation per response.
#[allow(clippy::large_enum_variant)]
enum Kind {
    Empty,
    Full(Option<Bytes>),
    Stack(StackBody),
    Boxed(Pin<Box<dyn http_body::Body<Data = Bytes, Error = Error> + Send + 'static>>),
}

impl Body {
    /// An empty body.
    pub fn empty() -> Self {
        Body {
            kind: Kind::Empty,
            guard: None,
        }
    }

    /// A body of `bytes`, held in memory.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        let kind = if bytes.is_empty() {
            Kind::Empty
        } else {
            Kind::Full(Some(bytes))
        };
        Body { kind, guard: None }
    }

    /// Converts any body with `Bytes` data; a [`Body`] stays itself (no boxing).
    pub fn new<B>(body: B) -> Self
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let mut slot = Some(body);
        if let Some(own) = (&mut slot as &mut dyn Any).downcast_mut::<Option<Body>>() {
            return own.take().unwrap_or_else(Body::empty);
        }
        match slot {
            Some(body) => Body {
                kind: Kind::Boxed(Box::pin(http_body_util::BodyExt::map_err(body, |e| {
                    Error::from_boxed(e.into())
                }))),
                guard: None,
            },
            None => Body::empty(),
        }
    }

    pub(crate) fn from_stack(body: StackBody) -> Self {
        Body {
            kind: Kind::Stack(body),
            guard: None,
        }
    }

    /// Puts the call's guard on this body: it ends the call when the body ends. The guard
    /// stays after that, ended, for the call's URL.
    ///
    /// Boxed by the caller: made straight into its box, the guard is not copied again.
    pub(crate) fn guard(&mut self, mut guard: Box<CallGuard>) {
        if http_body::Body::is_end_stream(self) {
            guard.finish(None);
        }
        self.guard = Some(guard);
    }

    /// The URL the call was made for, when this body ends a call of a
    /// [`Client`](crate::Client).
    pub(crate) fn call_uri(&self) -> Option<&Uri> {
        self.guard.as_deref().map(CallGuard::uri)
    }

    /// The timings of the call this body ends, when it is the body of a
    /// [`Client`](crate::Client)'s response; keep them to read the call's total once the body
    /// is read. [`Response::call_timings`](crate::Response::call_timings) is the same.
    ///
    /// A body made by a layer ([`Body::from`], [`Body::new`]) has none until the client puts
    /// its call on it.
    ///
    /// ```
    /// assert!(oktower::Body::from("made by a layer").call_timings().is_none());
    /// ```
    pub fn call_timings(&self) -> Option<CallTimings> {
        self.call_context()?.timings()
    }

    /// The context of the call this body ends, when it is the body of a client's response.
    pub(crate) fn call_context(&self) -> Option<&CallContext> {
        self.guard.as_deref().map(CallGuard::context)
    }
}

impl Default for Body {
    fn default() -> Self {
        Body::empty()
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Self {
        Body::full(bytes)
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Body::full(text)
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Self {
        Body::full(Bytes::from_static(text.as_bytes()))
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Self {
        Body::full(bytes)
    }
}

impl Kind {
    fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        match self {
            Kind::Empty => Poll::Ready(None),
            Kind::Full(bytes) => Poll::Ready(bytes.take().map(|bytes| Ok(Frame::data(bytes)))),
            Kind::Stack(body) => Pin::new(body).poll_frame(cx),
            Kind::Boxed(body) => body.as_mut().poll_frame(cx),
        }
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = self.get_mut();
        let Some(guard) = this.guard.as_mut().filter(|guard| !guard.is_finished()) else {
            return this.kind.poll_frame(cx);
        };
        if let Some(error) = guard.interrupted() {
            return Poll::Ready(Some(Err(this.interrupt(error))));
        }
        match this.kind.poll_frame(cx) {
            Poll::Ready(None) => {
                guard.finish(None);
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(error))) => {
                guard.finish(Some(&error));
                Poll::Ready(Some(Err(error)))
            }
            Poll::Ready(Some(Ok(frame))) => Poll::Ready(Some(Ok(frame))),
            Poll::Pending => match guard.poll_interrupt(cx) {
                Poll::Ready(error) => Poll::Ready(Some(Err(this.interrupt(error)))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Empty => true,
            Kind::Full(bytes) => bytes.is_none(),
            Kind::Stack(body) => body.is_end_stream(),
            Kind::Boxed(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Empty => SizeHint::with_exact(0),
            Kind::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |bytes| bytes.len() as u64))
            }
            Kind::Stack(body) => body.size_hint(),
            Kind::Boxed(body) => body.size_hint(),
        }
    }
}

impl Body {
    /// Ends a read that the call's cancellation or timeout interrupted: the stream below is
    /// dropped (closing its connection) and the call fails with `error`.
    fn interrupt(&mut self, error: Error) -> Error {
        self.kind = Kind::Empty;
        if let Some(guard) = &mut self.guard {
            guard.finish(Some(&error));
        }
        error
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Empty => "empty",
            Kind::Full(_) => "full",
            Kind::Stack(_) => "stream",
            Kind::Boxed(_) => "boxed",
        };
        f.debug_struct("Body").field("kind", &kind).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn bodies_in_memory_read_and_report_their_size() {
        let body = Body::from("abc");
        assert_eq!(body.size_hint().exact(), Some(3));
        assert!(!body.is_end_stream());
        assert_eq!(body.collect().await.unwrap().to_bytes(), "abc");
        assert!(Body::empty().is_end_stream());
        assert!(Body::from(Vec::new()).is_end_stream());
    }

    #[tokio::test]
    async fn any_body_converts_and_a_body_is_not_boxed_again() {
        let body = Body::new(Body::from("x"));
        assert!(matches!(body.kind, Kind::Full(_)));
        let other = Body::new(http_body_util::Full::new(Bytes::from_static(b"yz")));
        assert!(matches!(other.kind, Kind::Boxed(_)));
        assert_eq!(other.collect().await.unwrap().to_bytes(), "yz");
    }
}
