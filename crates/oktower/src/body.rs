//! The request body type the connection side sends.

use std::any::Any;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::BoxError;

/// A request body: empty, bytes in memory (replayable), or a stream (one-shot).
///
/// Any [`http_body::Body`] with `Bytes` data converts with [`RequestBody::new`]; the common
/// bodies (this type itself, `Bytes`, `String`, `Vec<u8>`, `&'static str`, `()`,
/// `http_body_util::Full<Bytes>` and `Empty<Bytes>`) are recognised and kept in memory without
/// boxing, so they can be sent again on a retry or a redirect ([`try_clone`](Self::try_clone)).
///
/// ```
/// use bytes::Bytes;
/// use http_body::Body as _;
/// use oktower::RequestBody;
///
/// let body = RequestBody::from("hello");
/// assert_eq!(body.size_hint().exact(), Some(5));
/// assert!(body.try_clone().is_some());
///
/// let empty = RequestBody::new(http_body_util::Empty::<Bytes>::new());
/// assert!(empty.is_end_stream());
/// ```
pub struct RequestBody {
    kind: Kind,
}

type BoxedBody = Pin<Box<dyn Body<Data = Bytes, Error = BoxError> + Send + 'static>>;

/// Makes a fresh copy of a replayable stream.
type MakeBody = std::sync::Arc<dyn Fn() -> BoxedBody + Send + Sync + 'static>;

/// Bytes in memory, or anything else. Two levels, so that a body is 32 bytes (the niche of
/// `Bytes` tells the levels apart): a request of it is 256 bytes, and moving one through the
/// layers takes `memcpy`'s short path.
enum Kind {
    /// Bytes not sent yet (never empty).
    Full(Bytes),
    Other(Other),
}

enum Other {
    Empty,
    /// A `Full` body whose bytes were sent.
    Sent,
    Streaming(BoxedBody),
    Replayable(Box<Replayable>),
}

struct Replayable {
    make: MakeBody,
    current: BoxedBody,
}

impl RequestBody {
    /// No body.
    pub fn empty() -> Self {
        RequestBody {
            kind: Kind::Other(Other::Empty),
        }
    }

    /// A body of `bytes`, held in memory.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        if bytes.is_empty() {
            return RequestBody::empty();
        }
        RequestBody {
            kind: Kind::Full(bytes),
        }
    }

    /// A one-shot streaming body.
    pub fn streaming<B>(body: B) -> Self
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        RequestBody {
            kind: Kind::Other(Other::Streaming(Box::pin(ErrorInto(body)))),
        }
    }

    /// A stream that can be sent again: `make` is called for the first send and again for each
    /// retry or redirect that resends the body (a file reopened, a generator restarted).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http_body_util::Full;
    /// use oktower::RequestBody;
    ///
    /// let body = RequestBody::replayable(|| Full::new(Bytes::from_static(b"chunk")));
    /// assert!(body.try_clone().is_some());
    /// ```
    pub fn replayable<B, F>(make: F) -> Self
    where
        F: Fn() -> B + Send + Sync + 'static,
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let make: MakeBody =
            std::sync::Arc::new(move || -> BoxedBody { Box::pin(ErrorInto(make())) });
        let current = make();
        RequestBody {
            kind: Kind::Other(Other::Replayable(Box::new(Replayable { make, current }))),
        }
    }

    /// Converts any body, without boxing the bodies listed in the type's docs.
    pub fn new<B>(body: B) -> Self
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let mut slot = Some(body);
        let any = &mut slot as &mut dyn Any;
        if let Some(own) = any.downcast_mut::<Option<RequestBody>>() {
            return own.take().unwrap_or_else(RequestBody::empty);
        }
        if let Some(full) = any.downcast_mut::<Option<http_body_util::Full<Bytes>>>() {
            let mut full = full.take();
            return match full.as_mut().map(take_full) {
                Some(bytes) => RequestBody::full(bytes),
                None => RequestBody::empty(),
            };
        }
        if any
            .downcast_mut::<Option<http_body_util::Empty<Bytes>>>()
            .is_some()
        {
            return RequestBody::empty();
        }
        if let Some(bytes) = any.downcast_mut::<Option<Bytes>>() {
            return RequestBody::full(bytes.take().unwrap_or_default());
        }
        if let Some(text) = any.downcast_mut::<Option<String>>() {
            return RequestBody::full(text.take().unwrap_or_default());
        }
        match slot {
            Some(body) if body.is_end_stream() => RequestBody::empty(),
            Some(body) => RequestBody::streaming(body),
            None => RequestBody::empty(),
        }
    }

    /// A copy of the body to send again, for bodies held in memory (`None` for a stream, or for
    /// a body already partly sent).
    pub fn try_clone(&self) -> Option<RequestBody> {
        let kind = match &self.kind {
            Kind::Full(bytes) => Kind::Full(bytes.clone()),
            Kind::Other(Other::Empty) => Kind::Other(Other::Empty),
            Kind::Other(Other::Replayable(replayable)) => {
                Kind::Other(Other::Replayable(Box::new(Replayable {
                    make: replayable.make.clone(),
                    current: (replayable.make)(),
                })))
            }
            Kind::Other(Other::Sent | Other::Streaming(_)) => return None,
        };
        Some(RequestBody { kind })
    }

    /// Whether the body is a one-shot stream.
    pub fn is_streaming(&self) -> bool {
        matches!(self.kind, Kind::Other(Other::Streaming(_)))
    }
}

/// The bytes of a `Full` body (it yields them as its one frame, synchronously).
fn take_full(full: &mut http_body_util::Full<Bytes>) -> Bytes {
    let waker = std::task::Waker::noop();
    let mut cx = Context::from_waker(waker);
    match Pin::new(full).poll_frame(&mut cx) {
        Poll::Ready(Some(Ok(frame))) => frame.into_data().unwrap_or_default(),
        _ => Bytes::new(),
    }
}

impl crate::follow_up::ReplayBody for RequestBody {
    fn try_clone(&self) -> Option<Self> {
        RequestBody::try_clone(self)
    }

    fn empty() -> Self {
        RequestBody::empty()
    }
}

impl Default for RequestBody {
    fn default() -> Self {
        RequestBody::empty()
    }
}

impl From<Bytes> for RequestBody {
    fn from(bytes: Bytes) -> Self {
        RequestBody::full(bytes)
    }
}

impl From<String> for RequestBody {
    fn from(text: String) -> Self {
        RequestBody::full(text)
    }
}

impl From<&'static str> for RequestBody {
    fn from(text: &'static str) -> Self {
        RequestBody::full(Bytes::from_static(text.as_bytes()))
    }
}

impl From<Vec<u8>> for RequestBody {
    fn from(bytes: Vec<u8>) -> Self {
        RequestBody::full(bytes)
    }
}

impl From<()> for RequestBody {
    fn from((): ()) -> Self {
        RequestBody::empty()
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let kind = &mut self.get_mut().kind;
        match kind {
            Kind::Full(_) => match std::mem::replace(kind, Kind::Other(Other::Sent)) {
                Kind::Full(bytes) => Poll::Ready(Some(Ok(Frame::data(bytes)))),
                Kind::Other(_) => Poll::Ready(None),
            },
            Kind::Other(Other::Empty | Other::Sent) => Poll::Ready(None),
            Kind::Other(Other::Streaming(body)) => body.as_mut().poll_frame(cx),
            Kind::Other(Other::Replayable(replayable)) => {
                replayable.current.as_mut().poll_frame(cx)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(_) => false,
            Kind::Other(Other::Empty | Other::Sent) => true,
            Kind::Other(Other::Streaming(body)) => body.is_end_stream(),
            Kind::Other(Other::Replayable(replayable)) => replayable.current.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(bytes) => SizeHint::with_exact(bytes.len() as u64),
            Kind::Other(Other::Empty | Other::Sent) => SizeHint::with_exact(0),
            Kind::Other(Other::Streaming(body)) => body.size_hint(),
            Kind::Other(Other::Replayable(replayable)) => replayable.current.size_hint(),
        }
    }
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Other(Other::Empty) => f.write_str("RequestBody::Empty"),
            Kind::Full(bytes) => f
                .debug_tuple("RequestBody::Full")
                .field(&bytes.len())
                .finish(),
            Kind::Other(Other::Sent) => f.debug_tuple("RequestBody::Full").field(&0).finish(),
            Kind::Other(Other::Streaming(_)) => f.write_str("RequestBody::Streaming"),
            Kind::Other(Other::Replayable(_)) => f.write_str("RequestBody::Replayable"),
        }
    }
}

pin_project_lite::pin_project! {
    /// A body whose errors are boxed.
    struct ErrorInto<B> {
        #[pin]
        body: B,
    }
}

#[allow(non_snake_case)]
fn ErrorInto<B>(body: B) -> ErrorInto<B> {
    ErrorInto { body }
}

impl<B> Body for ErrorInto<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.project()
            .body
            .poll_frame(cx)
            .map(|frame| frame.map(|frame| frame.map_err(Into::into)))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    /// Every layer moves the request by value: at 256 bytes it takes `memcpy`'s short path.
    #[test]
    fn a_request_with_its_body_is_256_bytes() {
        assert_eq!(std::mem::size_of::<RequestBody>(), 32);
        assert!(std::mem::size_of::<http::Request<RequestBody>>() <= 256);
    }

    #[tokio::test]
    async fn a_sent_full_body_is_at_its_end_and_does_not_replay() {
        let mut body = RequestBody::from("abc");
        let frame = body.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap(), "abc");
        assert!(body.is_end_stream());
        assert_eq!(body.size_hint().exact(), Some(0));
        assert!(body.try_clone().is_none());
        assert!(body.frame().await.is_none());
    }

    #[tokio::test]
    async fn known_bodies_stay_in_memory_and_replay() {
        let full = RequestBody::new(http_body_util::Full::new(Bytes::from_static(b"abc")));
        assert!(!full.is_streaming());
        let copy = full.try_clone().expect("in memory");
        assert_eq!(full.collect().await.unwrap().to_bytes(), "abc");
        assert_eq!(copy.collect().await.unwrap().to_bytes(), "abc");

        let text = RequestBody::new(String::from("xyz"));
        assert_eq!(text.size_hint().exact(), Some(3));
        let again = RequestBody::new(RequestBody::from("q"));
        assert_eq!(again.size_hint().exact(), Some(1));
        assert!(RequestBody::new(http_body_util::Empty::<Bytes>::new()).is_end_stream());
    }

    /// A body yielding its parts one by one: not one the conversion knows.
    struct Parts(Vec<&'static str>);

    impl Body for Parts {
        type Data = Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
            let parts = &mut self.get_mut().0;
            if parts.is_empty() {
                return Poll::Ready(None);
            }
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(
                parts.remove(0).as_bytes(),
            )))))
        }
    }

    #[tokio::test]
    async fn other_bodies_stream_once() {
        let body = RequestBody::new(Parts(vec!["a", "b"]));
        assert!(body.is_streaming());
        assert!(body.try_clone().is_none());
        assert_eq!(body.collect().await.unwrap().to_bytes(), "ab");
    }

    #[tokio::test]
    async fn a_replayable_stream_is_made_again_for_each_copy() {
        let made = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = made.clone();
        let body = RequestBody::replayable(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            http_body_util::Full::new(Bytes::from_static(b"again"))
        });
        let copy = body.try_clone().expect("replayable");
        assert_eq!(made.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert_eq!(body.size_hint().exact(), Some(5));
        assert_eq!(body.collect().await.unwrap().to_bytes(), "again");
        assert_eq!(copy.collect().await.unwrap().to_bytes(), "again");
        assert!(
            format!(
                "{:?}",
                RequestBody::replayable(http_body_util::Empty::<Bytes>::new)
            )
            .contains("Replayable")
        );
    }
}
