//! A scripted response.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::fault::{AfterResponse, ExpectContinue, Fault};

/// A scripted response: what the server sends for one request, and how.
///
/// Cheap to clone (the contents are shared). Built by value:
///
/// ```
/// use std::time::Duration;
/// use oktower_testkit::MockResponse;
///
/// let response = MockResponse::new()
///     .status(201)
///     .header("Content-Type", "text/plain")
///     .body("created")
///     .headers_delay(Duration::from_millis(10));
/// assert_eq!(response.status_code(), 201);
/// ```
#[derive(Clone, Debug)]
pub struct MockResponse {
    inner: Arc<ResponseSpec>,
}

/// The contents of a [`MockResponse`], read by the server's protocol code.
#[derive(Clone, Debug)]
pub(crate) struct ResponseSpec {
    pub(crate) status: u16,
    pub(crate) reason: Option<String>,
    pub(crate) headers: Vec<HeaderLine>,
    pub(crate) body: ResponseBody,
    pub(crate) trailers: Vec<(String, Bytes)>,
    pub(crate) informational: Vec<Informational>,
    pub(crate) headers_delay: Duration,
    pub(crate) body_delay: Duration,
    pub(crate) throttle: Option<Throttle>,
    pub(crate) expect_continue: ExpectContinue,
    pub(crate) fault: Option<Fault>,
    pub(crate) after_response: AfterResponse,
}

/// One response header line.
#[derive(Clone, Debug)]
pub(crate) enum HeaderLine {
    /// A name and value, sent as `name: value` on HTTP/1 and as a header field on HTTP/2.
    Field(String, Bytes),
    /// Raw bytes sent as one HTTP/1 header line (without the CRLF), whatever they contain.
    /// Skipped on HTTP/2, where they cannot be expressed.
    Raw(Bytes),
}

/// How the response body is framed.
#[derive(Clone, Debug)]
pub(crate) enum ResponseBody {
    /// `Content-Length` framing (added unless a `Content-Length` header is set explicitly).
    Fixed(Bytes),
    /// `Transfer-Encoding: chunked` with the given chunk sizes; the last size repeats.
    Chunked {
        data: Bytes,
        chunk_sizes: Vec<usize>,
    },
    /// No length: the body ends when the server closes the connection (HTTP/1 only; on HTTP/2
    /// it is sent as a body without `content-length`).
    CloseDelimited(Bytes),
}

impl ResponseBody {
    pub(crate) fn data(&self) -> &Bytes {
        match self {
            ResponseBody::Fixed(data)
            | ResponseBody::Chunked { data, .. }
            | ResponseBody::CloseDelimited(data) => data,
        }
    }
}

/// A 1xx response sent before the final one.
#[derive(Clone, Debug)]
pub(crate) struct Informational {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, Bytes)>,
}

/// Send at most `bytes` bytes of the body per `period`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Throttle {
    pub(crate) bytes: usize,
    pub(crate) period: Duration,
}

impl Default for MockResponse {
    fn default() -> Self {
        MockResponse::new()
    }
}

impl MockResponse {
    /// A `200 OK` response with an empty body (`Content-Length: 0`).
    pub fn new() -> Self {
        MockResponse {
            inner: Arc::new(ResponseSpec {
                status: 200,
                reason: None,
                headers: Vec::new(),
                body: ResponseBody::Fixed(Bytes::new()),
                trailers: Vec::new(),
                informational: Vec::new(),
                headers_delay: Duration::ZERO,
                body_delay: Duration::ZERO,
                throttle: None,
                expect_continue: ExpectContinue::Continue,
                fault: None,
                after_response: AfterResponse::KeepOpen,
            }),
        }
    }

    /// A response that commits `fault` instead of (or while) answering.
    pub fn fault(fault: Fault) -> Self {
        MockResponse::new().with_fault(fault)
    }

    fn spec_mut(&mut self) -> &mut ResponseSpec {
        Arc::make_mut(&mut self.inner)
    }

    pub(crate) fn spec(&self) -> &ResponseSpec {
        &self.inner
    }

    /// Sets the status code. Any `u16` is sent as given, even an invalid one (HTTP/1).
    pub fn status(mut self, code: u16) -> Self {
        self.spec_mut().status = code;
        self
    }

    /// Sets the HTTP/1 reason phrase (default: the canonical one for the code, or empty).
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.spec_mut().reason = Some(reason.into());
        self
    }

    /// Adds a header after those already set (several with the same name are all sent).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Bytes>) -> Self {
        self.spec_mut()
            .headers
            .push(HeaderLine::Field(name.into(), value.into()));
        self
    }

    /// Adds a raw HTTP/1 header line, sent byte for byte followed by CRLF, valid or not (for
    /// malformed responses). Ignored on HTTP/2.
    pub fn raw_header_line(mut self, line: impl Into<Bytes>) -> Self {
        self.spec_mut().headers.push(HeaderLine::Raw(line.into()));
        self
    }

    /// Removes every header named `name` (case-insensitive) set so far.
    pub fn remove_header(mut self, name: &str) -> Self {
        self.spec_mut().headers.retain(|line| match line {
            HeaderLine::Field(n, _) => !n.eq_ignore_ascii_case(name),
            HeaderLine::Raw(_) => true,
        });
        self
    }

    /// Sets a body framed by `Content-Length`.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.spec_mut().body = ResponseBody::Fixed(body.into());
        self
    }

    /// Sets a chunked body, cut into chunks of `chunk_size` bytes (the last may be shorter).
    pub fn chunked_body(self, body: impl Into<Bytes>, chunk_size: usize) -> Self {
        self.chunked_body_sizes(body, vec![chunk_size])
    }

    /// Sets a chunked body cut into chunks of the given sizes in order; the last size repeats
    /// until the body is sent. Sizes of zero are skipped.
    pub fn chunked_body_sizes(mut self, body: impl Into<Bytes>, chunk_sizes: Vec<usize>) -> Self {
        self.spec_mut().body = ResponseBody::Chunked {
            data: body.into(),
            chunk_sizes,
        };
        self
    }

    /// Sets a body with no length, delimited by closing the connection after it (HTTP/1).
    pub fn close_delimited_body(mut self, body: impl Into<Bytes>) -> Self {
        self.spec_mut().body = ResponseBody::CloseDelimited(body.into());
        self
    }

    /// Adds a trailer, sent after a chunked HTTP/1.1 body or as a trailing HEADERS frame on
    /// HTTP/2.
    pub fn trailer(mut self, name: impl Into<String>, value: impl Into<Bytes>) -> Self {
        self.spec_mut().trailers.push((name.into(), value.into()));
        self
    }

    /// Adds a 1xx informational response (100, 102, 103, ...) sent before the final one, with
    /// the given headers.
    pub fn informational(mut self, status: u16, headers: &[(&str, &str)]) -> Self {
        let headers = headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), Bytes::copy_from_slice(v.as_bytes())))
            .collect();
        self.spec_mut()
            .informational
            .push(Informational { status, headers });
        self
    }

    /// Waits this long after reading the request before sending the response head.
    pub fn headers_delay(mut self, delay: Duration) -> Self {
        self.spec_mut().headers_delay = delay;
        self
    }

    /// Waits this long after the response head before sending the body.
    pub fn body_delay(mut self, delay: Duration) -> Self {
        self.spec_mut().body_delay = delay;
        self
    }

    /// Sends at most `bytes` body bytes per `period` (each slice is written and flushed, then
    /// the server sleeps for `period`).
    pub fn throttle_body(mut self, bytes: usize, period: Duration) -> Self {
        self.spec_mut().throttle = Some(Throttle {
            bytes: bytes.max(1),
            period,
        });
        self
    }

    /// How to treat a request carrying `Expect: 100-continue`.
    pub fn expect_continue(mut self, behaviour: ExpectContinue) -> Self {
        self.spec_mut().expect_continue = behaviour;
        self
    }

    /// Commits a socket fault while serving this response.
    pub fn with_fault(mut self, fault: Fault) -> Self {
        self.spec_mut().fault = Some(fault);
        self
    }

    /// What to do with the connection once this response is sent.
    pub fn after_response(mut self, after: AfterResponse) -> Self {
        self.spec_mut().after_response = after;
        self
    }

    /// The status code.
    pub fn status_code(&self) -> u16 {
        self.inner.status
    }

    /// The scripted fault, if any.
    pub fn scripted_fault(&self) -> Option<Fault> {
        self.inner.fault
    }

    /// The body bytes, whatever the framing.
    pub fn body_bytes(&self) -> &Bytes {
        self.inner.body.data()
    }
}

impl ResponseSpec {
    /// The reason phrase to send on HTTP/1.
    pub(crate) fn reason_phrase(&self) -> &str {
        match &self.reason {
            Some(reason) => reason,
            None => http::StatusCode::from_u16(self.status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or(""),
        }
    }

    /// Whether a header named `name` was set explicitly (case-insensitive).
    pub(crate) fn has_header(&self, name: &str) -> bool {
        self.headers.iter().any(|line| match line {
            HeaderLine::Field(n, _) => n.eq_ignore_ascii_case(name),
            HeaderLine::Raw(_) => false,
        })
    }
}
