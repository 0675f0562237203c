//! Request bodies that can be sent more than once.

use bytes::Buf;
use http_body_util::{Either, Empty, Full};

/// A request body that can be sent again: what a redirect that keeps the body (307, 308,
/// `PROPFIND`), an authentication retry (401, 407), a 408, 421 or 503 retry, and a recovery
/// from a failed connection need.
///
/// [`FollowUp`](crate::FollowUp) takes a copy with [`try_clone`](Self::try_clone) before each
/// attempt is sent. When there is none (a stream that can be read once, OkHttp's one-shot
/// body), nothing that would send the body again happens: such a follow-up is not made (the
/// response that asked for it is returned as final) and a failure after the request may have
/// been sent is not retried. A body that is already at its end (`is_end_stream`) counts as
/// replayable whatever its type: [`empty`](Self::empty) stands in for it.
///
/// Implemented for [`Full`], [`Empty`], [`String`], [`Box`] and [`Either`]; the client's own
/// body type implements it too.
///
/// ```
/// use bytes::Bytes;
/// use http_body_util::Full;
/// use oktower::ReplayBody;
///
/// let body = Full::new(Bytes::from_static(b"hello"));
/// assert!(body.try_clone().is_some());
/// assert!(<Full<Bytes> as http_body::Body>::is_end_stream(&Full::<Bytes>::empty()));
/// ```
pub trait ReplayBody: http_body::Body + Sized {
    /// A copy of the body from its beginning, or `None` if it can be sent only once.
    ///
    /// Called before the body is sent, never on a body that was partly read.
    fn try_clone(&self) -> Option<Self>;

    /// An empty body: what a redirect that turns the request into a `GET` sends.
    fn empty() -> Self;
}

impl<D: Buf + Clone> ReplayBody for Full<D> {
    fn try_clone(&self) -> Option<Self> {
        Some(self.clone())
    }

    fn empty() -> Self {
        Full::default()
    }
}

impl<D: Buf> ReplayBody for Empty<D> {
    fn try_clone(&self) -> Option<Self> {
        Some(Empty::new())
    }

    fn empty() -> Self {
        Empty::new()
    }
}

impl ReplayBody for String {
    fn try_clone(&self) -> Option<Self> {
        Some(self.clone())
    }

    fn empty() -> Self {
        String::new()
    }
}

impl<B: ReplayBody + Unpin> ReplayBody for Box<B> {
    fn try_clone(&self) -> Option<Self> {
        (**self).try_clone().map(Box::new)
    }

    fn empty() -> Self {
        Box::new(B::empty())
    }
}

/// Replayable when the side it holds is; [`empty`](ReplayBody::empty) is `Left`'s.
impl<L, R> ReplayBody for Either<L, R>
where
    L: ReplayBody,
    R: ReplayBody<Data = L::Data>,
    L::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    R::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn try_clone(&self) -> Option<Self> {
        match self {
            Either::Left(left) => left.try_clone().map(Either::Left),
            Either::Right(right) => right.try_clone().map(Either::Right),
        }
    }

    fn empty() -> Self {
        Either::Left(L::empty())
    }
}

/// The copy of `body` to keep for sending again: its clone, or an empty body when it holds
/// nothing, or `None` when it can be sent only once.
pub(crate) fn replay_copy<B: ReplayBody>(body: &B) -> Option<B> {
    body.try_clone()
        .or_else(|| body.is_end_stream().then(B::empty))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http_body::Body;
    use http_body_util::BodyExt;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// A body that can be read once, holding `Some(bytes)` until read.
    struct Stream(Option<Bytes>);

    impl Body for Stream {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
            Poll::Ready(self.0.take().map(|data| Ok(http_body::Frame::data(data))))
        }

        fn is_end_stream(&self) -> bool {
            self.0.is_none()
        }
    }

    impl ReplayBody for Stream {
        fn try_clone(&self) -> Option<Self> {
            None
        }

        fn empty() -> Self {
            Stream(None)
        }
    }

    async fn text<B: Body<Data = Bytes>>(body: B) -> String
    where
        B::Error: std::fmt::Debug,
    {
        let bytes = body.collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn buffered_bodies_copy_their_content() {
        let full = Full::new(Bytes::from_static(b"abc"));
        assert_eq!(text(full.try_clone().unwrap()).await, "abc");
        assert_eq!(text(full).await, "abc");
        assert_eq!(text(Full::<Bytes>::empty()).await, "");
        assert_eq!("xyz".to_owned().try_clone().unwrap(), "xyz");
        assert_eq!(String::empty(), "");
        assert!(Empty::<Bytes>::new().try_clone().unwrap().is_end_stream());
        let boxed = Box::new(Full::new(Bytes::from_static(b"boxed")));
        assert_eq!(text(boxed.try_clone().unwrap()).await, "boxed");
        assert!(Box::<Full<Bytes>>::empty().is_end_stream());
    }

    #[tokio::test]
    async fn either_is_replayable_when_its_side_is() {
        type Body2 = Either<Full<Bytes>, Stream>;
        let left: Body2 = Either::Left(Full::new(Bytes::from_static(b"l")));
        assert_eq!(text(left.try_clone().unwrap()).await, "l");
        let right: Body2 = Either::Right(Stream(Some(Bytes::from_static(b"r"))));
        assert!(right.try_clone().is_none());
        assert!(matches!(Body2::empty(), Either::Left(_)));
    }

    #[test]
    fn one_shot_bodies_have_no_copy_unless_empty() {
        assert!(replay_copy(&Stream(Some(Bytes::from_static(b"once")))).is_none());
        let copy = replay_copy(&Stream(None)).expect("an empty stream is replayable");
        assert!(copy.is_end_stream());
        assert!(replay_copy(&Full::new(Bytes::from_static(b"x"))).is_some());
    }
}
