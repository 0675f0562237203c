//! `cache::ResponseBody`: what a cached call's response body reads from.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::StoredBody;
use super::tee_body::Tee;
use crate::Error;

pin_project! {
    /// The body of a response from a [`Cache`](super::Cache): the network body as it is, the
    /// network body copied into the store as it is read, a stored body, or nothing (a `HEAD`
    /// answered from the cache, a synthetic `504`).
    ///
    /// A copied entry is committed only when the body is read to its end; an error or an early
    /// drop aborts it, so a truncated body is never stored.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http_body::Body;
    /// use oktower::StoredBody;
    /// use oktower::cache::ResponseBody;
    ///
    /// // Any network body type with `crate::Error` errors, such as oktower's connect body.
    /// type CachedBody = ResponseBody<oktower::ResponseBody>;
    /// let body = CachedBody::empty();
    /// assert!(body.is_end_stream());
    /// let stored = CachedBody::stored(StoredBody::from_bytes(Bytes::from_static(b"hi")));
    /// assert_eq!(stored.size_hint().exact(), Some(2));
    /// ```
    pub struct ResponseBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Network { #[pin] body: B },
        Teeing { #[pin] body: B, tee: Box<Tee> },
        Stored { body: Box<StoredBody> },
        Empty,
    }
}

impl<B> ResponseBody<B> {
    /// The network body, passed through.
    pub fn network(body: B) -> Self {
        ResponseBody {
            kind: Kind::Network { body },
        }
    }

    /// A body read from the store.
    pub fn stored(body: StoredBody) -> Self {
        ResponseBody {
            kind: Kind::Stored {
                body: Box::new(body),
            },
        }
    }

    /// No body.
    pub fn empty() -> Self {
        ResponseBody { kind: Kind::Empty }
    }

    pub(super) fn teeing(body: B, tee: Tee) -> Self {
        ResponseBody {
            kind: Kind::Teeing {
                body,
                tee: Box::new(tee),
            },
        }
    }

    /// Whether the body comes from the store.
    pub fn is_stored(&self) -> bool {
        matches!(self.kind, Kind::Stored { .. })
    }

    /// Whether the body is copied into the store as it is read.
    pub fn is_teeing(&self) -> bool {
        matches!(self.kind, Kind::Teeing { .. })
    }
}

impl<B> Body for ResponseBody<B>
where
    B: Body<Data = Bytes, Error = Error>,
{
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        match self.project().kind.project() {
            KindProj::Network { body } => body.poll_frame(cx),
            KindProj::Teeing { body, tee } => tee.poll_frame(body, cx),
            KindProj::Stored { body } => body
                .poll_chunk(cx)
                .map(|chunk| chunk.map(|chunk| chunk.map(Frame::data))),
            KindProj::Empty => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Network { body } => body.is_end_stream(),
            Kind::Teeing { body, tee } => tee.is_idle() && body.is_end_stream(),
            Kind::Stored { body } => body.remaining() == 0,
            Kind::Empty => true,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Network { body } | Kind::Teeing { body, .. } => body.size_hint(),
            Kind::Stored { body } => SizeHint::with_exact(body.remaining()),
            Kind::Empty => SizeHint::with_exact(0),
        }
    }
}

impl<B> fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Network { .. } => "network",
            Kind::Teeing { .. } => "teeing",
            Kind::Stored { .. } => "stored",
            Kind::Empty => "empty",
        };
        f.debug_struct("ResponseBody").field("kind", &kind).finish()
    }
}
