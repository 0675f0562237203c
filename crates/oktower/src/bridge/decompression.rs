//! Transparent decompression: the response half of the `Accept-Encoding` the bridge adds.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH};
use http::{HeaderMap, Response, StatusCode, Uri};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::body_reader::body_error;
use super::decoder::{Decoder, Encoding};
use crate::head_names;
use crate::{BoxError, Error};

/// The default limit on a decompressed response body: 64 MiB.
///
/// Compression ratios of 1000:1 are easy to reach (a few kilobytes of gzip can hold megabytes
/// of zeros, and gzip members can be chained without end), so a small response can expand
/// into more memory than a process has when it is collected with `.bytes()`. 64 MiB is far
/// above what API responses and pages need and small enough to hold in memory; raise it, or
/// lift it, with [`BridgeLayer::max_decompressed_size`](super::BridgeLayer::max_decompressed_size)
/// for large compressed downloads. Bodies the bridge does not decode are not limited.
pub const DEFAULT_MAX_DECOMPRESSED_SIZE: u64 = 64 * 1024 * 1024;

/// Whether a response to a request with method HEAD (`is_head`) and `status` has a body
/// (OkHttp's `promisesBody`, with RFC 9110's rule that 1xx, 204 and 304 responses never do,
/// whatever their headers say).
fn promises_body(is_head: bool, status: StatusCode) -> bool {
    !is_head
        && !status.is_informational()
        && status != StatusCode::NO_CONTENT
        && status != StatusCode::NOT_MODIFIED
}

/// The coding to remove from a response, if it has a body in exactly one coding the bridge
/// decodes.
fn encoding_to_decode(is_head: bool, status: StatusCode, headers: &HeaderMap) -> Option<Encoding> {
    if !promises_body(is_head, status) {
        return None;
    }
    // Most responses have no `Content-Encoding`: their few names are compared rather than
    // the map looked up.
    let mut values = 0;
    let mut encoding = None;
    head_names::for_each_value(headers, &CONTENT_ENCODING, |value| {
        values += 1;
        encoding = Encoding::from_content_encoding(value.as_bytes());
    });
    if values == 1 { encoding } else { None }
}

/// The response with its body decoded when it is in a coding the bridge asked for (the caller
/// added `Accept-Encoding`): then `Content-Encoding` and `Content-Length` are removed, as they
/// describe the encoded body. Otherwise the body passes through unchanged.
pub(super) fn decompress<B>(
    response: Response<B>,
    is_head: bool,
    limit: Option<u64>,
    url: Uri,
) -> Response<ResponseBody<B>>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let Some(encoding) = encoding_to_decode(is_head, response.status(), response.headers()) else {
        return response.map(ResponseBody::plain);
    };
    let (mut parts, body) = response.into_parts();
    parts.headers.remove(CONTENT_ENCODING);
    parts.headers.remove(CONTENT_LENGTH);
    let decoder = Box::pin(Decoder::new(body, encoding, limit, url));
    Response::from_parts(
        parts,
        ResponseBody {
            kind: Kind::Decoding { decoder },
        },
    )
}

pin_project! {
    /// The body of a response that passed through the [`Bridge`](super::Bridge): the inner
    /// body unchanged, or decoded when the bridge removed its `Content-Encoding`.
    ///
    /// Its error type is [`crate::Error`]: errors of the inner body that are already
    /// [`Error`]s (as the connection layers produce) pass through unchanged, others become
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) errors; a body that cannot be decoded fails with
    /// [`ErrorKind::Protocol`](crate::ErrorKind::Protocol), and one that decodes to more than
    /// the limit with [`ErrorKind::TooLarge`](crate::ErrorKind::TooLarge), both naming the URL.
    ///
    /// The plain case costs nothing per frame; a decoded body allocates its decoder once, and
    /// a buffer per 64 KiB of output at most.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http_body_util::{BodyExt, Full};
    /// use oktower::BridgeLayer;
    /// use tower::{Layer, ServiceExt, service_fn};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// // A server that answers in plain text whatever the request accepts.
    /// let server = service_fn(|_request: http::Request<Full<Bytes>>| async {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from("hello"))))
    /// });
    /// let bridge = BridgeLayer::new().layer(server);
    /// let request = http::Request::get("http://example.com/").body(Full::default()).unwrap();
    /// let response = bridge.oneshot(request).await.unwrap();
    /// assert!(!response.body().is_decompressing());
    /// let body: Bytes = response.into_body().collect().await.unwrap().to_bytes();
    /// assert_eq!(body, "hello");
    /// # }
    /// ```
    pub struct ResponseBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProjection]
    enum Kind<B> {
        Plain { #[pin] body: B },
        Decoding { decoder: Pin<Box<Decoder<B>>> },
    }
}

impl<B> ResponseBody<B> {
    /// The inner body, passed through unchanged.
    pub(super) fn plain(body: B) -> Self {
        ResponseBody {
            kind: Kind::Plain { body },
        }
    }

    /// Whether the bridge is decoding this body (and removed its `Content-Encoding`).
    pub fn is_decompressing(&self) -> bool {
        matches!(self.kind, Kind::Decoding { .. })
    }
}

impl<B> Body for ResponseBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        match self.project().kind.project() {
            KindProjection::Plain { body } => body
                .poll_frame(cx)
                .map(|frame| frame.map(|frame| frame.map_err(|error| body_error(error.into())))),
            KindProjection::Decoding { decoder } => decoder.as_mut().poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Plain { body } => body.is_end_stream(),
            Kind::Decoding { decoder } => decoder.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Plain { body } => body.size_hint(),
            Kind::Decoding { .. } => SizeHint::default(),
        }
    }
}

impl<B> fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseBody")
            .field("decompressing", &self.is_decompressing())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(content_encoding: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in content_encoding {
            headers.append(CONTENT_ENCODING, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn only_responses_with_a_body_in_one_known_coding_are_decoded() {
        let gzip = headers(&["gzip"]);
        assert_eq!(
            encoding_to_decode(false, StatusCode::OK, &gzip),
            Some(Encoding::Gzip)
        );
        assert_eq!(
            encoding_to_decode(false, StatusCode::NOT_FOUND, &headers(&["br"])),
            Some(Encoding::Brotli)
        );
        assert_eq!(encoding_to_decode(true, StatusCode::OK, &gzip), None);
        for status in [
            StatusCode::CONTINUE,
            StatusCode::NO_CONTENT,
            StatusCode::NOT_MODIFIED,
        ] {
            assert_eq!(encoding_to_decode(false, status, &gzip), None, "{status}");
        }
        assert_eq!(
            encoding_to_decode(false, StatusCode::OK, &headers(&[])),
            None
        );
        assert_eq!(
            encoding_to_decode(false, StatusCode::OK, &headers(&["gzip", "br"])),
            None
        );
        assert_eq!(
            encoding_to_decode(false, StatusCode::OK, &headers(&["identity"])),
            None
        );
    }
}
