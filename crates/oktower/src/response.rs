//! [`Response`]: a response with what reqwest and OkHttp users reach for.

use std::fmt;

use bytes::{Bytes, BytesMut};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, StatusCode, Uri, Version};
use http_body_util::BodyExt;

use crate::follow_up::FinalUri;
use crate::{
    Body, CallContext, ConnectionInfo, Error, Handshake, PriorResponse, Timings, TimingsRecorder,
};

/// The timings of a call, from its response ([`Response::call_timings`], or
/// [`Body::call_timings`](crate::Body::call_timings) for a response of the client as a
/// `tower::Service`); read them with [`timings`](Self::timings) (phases still running, such as
/// reading the body, are `None`). They stay readable after the response is gone.
#[derive(Clone)]
pub struct CallTimings {
    /// The call's context, whose timings recorder it reads.
    context: CallContext,
}

impl CallTimings {
    /// The timings of the call of `context` (one a client made, with a recorder).
    pub(crate) fn new(context: CallContext) -> Self {
        CallTimings { context }
    }

    /// The timings recorded so far.
    pub fn timings(&self) -> Timings {
        self.context
            .recorder()
            .map(TimingsRecorder::timings)
            .unwrap_or_default()
    }
}

impl fmt::Debug for CallTimings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.timings(), f)
    }
}

/// A response of a [`Client`](crate::Client): the head, and a [`Body`] to read.
///
/// Reading the body to its end (or dropping the response) gives the connection back and ends
/// the call.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), oktower::Error> {
/// let client = oktower::Client::new()?;
/// let response = client.get("https://example.com/").send().await?;
/// assert!(response.status().is_success());
/// println!("{:?} via {:?}", response.version(), response.connection().map(|c| c.protocol()));
/// println!("{:?}", response.timings());
/// let body = response.bytes().await?;
/// # let _ = body;
/// # Ok(())
/// # }
/// ```
pub struct Response {
    inner: http::Response<Body>,
}

impl Response {
    /// Wraps a response of the client's `tower::Service`.
    pub fn new(inner: http::Response<Body>) -> Self {
        Response { inner }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.inner.status()
    }

    /// The HTTP version the response came with.
    pub fn version(&self) -> Version {
        self.inner.version()
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        self.inner.headers()
    }

    /// The response headers, to change.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        self.inner.headers_mut()
    }

    /// The response's extensions.
    pub fn extensions(&self) -> &http::Extensions {
        self.inner.extensions()
    }

    /// The URL that answered: the request's, or the last one redirected to.
    pub fn url(&self) -> Option<&Uri> {
        match self.inner.extensions().get::<FinalUri>() {
            Some(uri) => Some(&uri.0),
            None => self.inner.body().call_uri(),
        }
    }

    /// The body's length when known in advance.
    pub fn content_length(&self) -> Option<u64> {
        http_body::Body::size_hint(self.inner.body()).exact()
    }

    /// The responses that were followed up before this one (redirects, authentication
    /// challenges), heads only, most recent first.
    pub fn prior_response(&self) -> Option<&PriorResponse> {
        PriorResponse::of(&self.inner)
    }

    /// The connection that carried the response (route, protocol, TLS handshake); `None` for a
    /// response that did not come from the network.
    pub fn connection(&self) -> Option<&ConnectionInfo> {
        self.inner.extensions().get::<ConnectionInfo>()
    }

    /// When the request was sent and the response head received (OkHttp's
    /// `sentRequestAtMillis` and `receivedResponseAtMillis`); `None` for a response that did
    /// not come from the network.
    pub fn response_times(&self) -> Option<crate::ResponseTimes> {
        self.connection().and_then(ConnectionInfo::response_times)
    }

    /// The TLS handshake of the connection (or of the stored response, for a cache hit).
    pub fn handshake(&self) -> Option<&Handshake> {
        self.connection()
            .and_then(ConnectionInfo::handshake)
            .or_else(|| self.inner.extensions().get::<Handshake>())
    }

    /// The stored response's head when the cache took part (a hit, or a conditional request
    /// that the server answered), as OkHttp's `cacheResponse`.
    pub fn cache_response(&self) -> Option<&crate::cache::ResponseHead> {
        self.inner
            .extensions()
            .get::<crate::cache::CacheResponseHead>()
            .map(|head| &head.0)
    }

    /// The network response's head when the network answered (a miss, a bypass, or the `304`
    /// of a conditional request), as OkHttp's `networkResponse`.
    pub fn network_response(&self) -> Option<&crate::cache::ResponseHead> {
        self.inner
            .extensions()
            .get::<crate::cache::NetworkResponseHead>()
            .map(|head| &head.0)
    }

    /// Where the response came from: the cache's outcome (hit, stale hit, conditional hit,
    /// miss, bypass), when the client has a cache.
    pub fn cache_outcome(&self) -> Option<crate::CacheOutcome> {
        self.inner
            .extensions()
            .get::<crate::CacheOutcome>()
            .copied()
    }

    /// The call's timings so far: queued, DNS, connect, TLS, request sent, time to first
    /// byte, and total once the body is read.
    pub fn timings(&self) -> Timings {
        // Read in place: no `CallTimings` (a clone of the context) is made for one reading.
        self.inner
            .body()
            .call_context()
            .and_then(CallContext::recorder)
            .map(TimingsRecorder::timings)
            .unwrap_or_default()
    }

    /// The call's timings, to keep: read them again once the body is read for the total.
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), oktower::Error> {
    /// let client = oktower::Client::new()?;
    /// let response = client.get("https://example.com/").send().await?;
    /// let timings = response.call_timings().expect("a client's call records its timings");
    /// response.bytes().await?;
    /// println!("{:?} in all", timings.timings().total);
    /// # Ok(())
    /// # }
    /// ```
    pub fn call_timings(&self) -> Option<CallTimings> {
        self.inner.body().call_timings()
    }

    /// This response, or an [`ErrorKind::Status`](crate::ErrorKind::Status) error when its
    /// status is 4xx or 5xx.
    pub fn error_for_status(self) -> Result<Self, Error> {
        match self.status_error() {
            Some(error) => Err(error),
            None => Ok(self),
        }
    }

    /// Like [`error_for_status`](Self::error_for_status), keeping the response.
    pub fn error_for_status_ref(&self) -> Result<&Self, Error> {
        match self.status_error() {
            Some(error) => Err(error),
            None => Ok(self),
        }
    }

    fn status_error(&self) -> Option<Error> {
        let status = self.status();
        (status.is_client_error() || status.is_server_error()).then(|| {
            let url = self.url().map(Uri::to_string).unwrap_or_default();
            Error::status_error(status, url)
        })
    }

    /// The next chunk of the body (`None` at its end).
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        loop {
            match self.inner.body_mut().frame().await {
                None => return Ok(None),
                Some(Err(error)) => return Err(error),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data()
                        && !data.is_empty()
                    {
                        return Ok(Some(data));
                    }
                }
            }
        }
    }

    /// The whole body.
    pub async fn bytes(mut self) -> Result<Bytes, Error> {
        let Some(first) = self.chunk().await? else {
            return Ok(Bytes::new());
        };
        let Some(second) = self.chunk().await? else {
            return Ok(first);
        };
        let capacity = self.content_length().unwrap_or(0) as usize + first.len() + second.len();
        let mut all = BytesMut::with_capacity(capacity.min(64 * 1024 * 1024));
        all.extend_from_slice(&first);
        all.extend_from_slice(&second);
        while let Some(chunk) = self.chunk().await? {
            all.extend_from_slice(&chunk);
        }
        Ok(all.freeze())
    }

    /// The body as text, decoded with the charset of `Content-Type` (UTF-8 when there is
    /// none or it is unknown); invalid sequences become U+FFFD, as in reqwest.
    pub async fn text(self) -> Result<String, Error> {
        self.text_with_charset("utf-8").await
    }

    /// The body as text, decoded with the `Content-Type` charset, or `default` when there is
    /// none.
    pub async fn text_with_charset(self, default: &str) -> Result<String, Error> {
        let label = charset_of(self.headers()).unwrap_or_else(|| default.to_owned());
        let encoding =
            encoding_rs::Encoding::for_label(label.as_bytes()).unwrap_or(encoding_rs::UTF_8);
        let bytes = self.bytes().await?;
        let (text, _, _) = encoding.decode(&bytes);
        Ok(text.into_owned())
    }

    /// The body parsed as JSON.
    #[cfg(feature = "serde")]
    pub async fn json<T: serde::de::DeserializeOwned>(self) -> Result<T, Error> {
        let url = self.url().map(Uri::to_string).unwrap_or_default();
        let bytes = self.bytes().await?;
        serde_json::from_slice(&bytes).map_err(|error| {
            Error::new(
                crate::ErrorKind::Decode,
                format!("the body is not the expected JSON: {error}"),
            )
            .with_url(url)
            .with_source(error)
        })
    }

    /// The body, to stream.
    pub fn into_body(self) -> Body {
        self.inner.into_body()
    }

    /// The `http::Response` inside.
    pub fn into_http(self) -> http::Response<Body> {
        self.inner
    }
}

impl From<http::Response<Body>> for Response {
    fn from(inner: http::Response<Body>) -> Self {
        Response::new(inner)
    }
}

impl From<Response> for http::Response<Body> {
    fn from(response: Response) -> Self {
        response.inner
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("url", &self.url())
            .field("status", &self.status())
            .field("version", &self.version())
            .field("headers", self.headers())
            .finish_non_exhaustive()
    }
}

/// The `charset` parameter of the `Content-Type` header.
fn charset_of(headers: &HeaderMap) -> Option<String> {
    let content_type = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    content_type.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(content_type: &str, body: &'static [u8]) -> Response {
        let inner = http::Response::builder()
            .header(CONTENT_TYPE, content_type)
            .body(Body::from(Bytes::from_static(body)))
            .unwrap();
        Response::new(inner)
    }

    #[tokio::test]
    async fn text_follows_the_charset() {
        let latin1 = response("text/plain; charset=ISO-8859-1", b"caf\xe9");
        assert_eq!(latin1.text().await.unwrap(), "café");
        let quoted = response("text/plain; Charset=\"utf-8\"", "café".as_bytes());
        assert_eq!(quoted.text().await.unwrap(), "café");
        let unknown = response("text/plain; charset=klingon", b"ok");
        assert_eq!(unknown.text().await.unwrap(), "ok");
        let broken = response("text/plain", b"a\xffb");
        assert_eq!(broken.text().await.unwrap(), "a\u{fffd}b");
    }

    #[tokio::test]
    async fn error_status_becomes_an_error_with_its_status() {
        let mut inner = http::Response::new(Body::empty());
        *inner.status_mut() = StatusCode::NOT_FOUND;
        inner
            .extensions_mut()
            .insert(FinalUri("http://a.test/x".parse().unwrap()));
        let response = Response::new(inner);
        assert!(response.error_for_status_ref().is_err());
        let error = response.error_for_status().unwrap_err();
        assert!(error.is_status());
        assert_eq!(error.status(), Some(StatusCode::NOT_FOUND));
        assert_eq!(error.url(), Some("http://a.test/x"));
        let ok = Response::new(http::Response::new(Body::empty()));
        assert!(ok.error_for_status().is_ok());
    }

    #[tokio::test]
    async fn bytes_and_chunks() {
        let mut response = response("text/plain", b"abc");
        assert_eq!(response.content_length(), Some(3));
        assert_eq!(response.chunk().await.unwrap().unwrap(), "abc");
        assert_eq!(response.chunk().await.unwrap(), None);
    }

    #[test]
    fn cache_markers_are_read_from_the_extensions() {
        let plain = Response::new(http::Response::new(Body::empty()));
        assert!(plain.cache_response().is_none() && plain.network_response().is_none());
        assert_eq!(plain.cache_outcome(), None);
        let mut inner = http::Response::new(Body::empty());
        let head =
            crate::cache::ResponseHead::new(StatusCode::OK, Version::HTTP_11, HeaderMap::new());
        inner
            .extensions_mut()
            .insert(crate::cache::CacheResponseHead(head));
        inner.extensions_mut().insert(crate::CacheOutcome::Hit);
        let hit = Response::new(inner);
        assert_eq!(
            hit.cache_response().map(|h| h.status()),
            Some(StatusCode::OK)
        );
        assert!(hit.network_response().is_none());
        assert_eq!(hit.cache_outcome(), Some(crate::CacheOutcome::Hit));
    }
}
