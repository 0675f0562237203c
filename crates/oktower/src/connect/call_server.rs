//! [`CallServer`], the terminal service: sends the request over its exchange with hyper, and
//! returns the response with a body that gives the connection back at its end.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{
    CONNECTION, CONTENT_LENGTH, EXPECT, HOST, PROXY_AUTHORIZATION, TRANSFER_ENCODING,
};
use http::uri::Authority;
use http::{Extensions, HeaderMap, HeaderValue, Request, Response, StatusCode, Uri, Version};
use http_body::Body as _;
use tokio::time::Instant;
use tower_service::Service;

use super::exchange::Exchange;
use super::h2_stream::Interim;
use super::response_body::ResponseBody;
use super::sending::{self, HeadTimeout, SendError};
use super::wire_error::{Awaited, StreamReset, WireFault, from_wire};
use super::wire_incoming::WireIncoming;
use crate::connection::lease::Lease;
use crate::connection::wire_body::{BodyTracker, WireBody};
use crate::head_names;
use crate::proxy_auth::basic_value;
use crate::{Address, CallContext, Error, ErrorKind, EventListener, RequestBody, RequestSent};

/// The bottom of the stack: sends each request over the [`Exchange`] that
/// [`ConnectLayer`](super::ConnectLayer) put into its extensions.
///
/// - HTTP/1.1 requests are sent in origin form (absolute form through an HTTP proxy without a
///   tunnel, with `Proxy-Authorization: Basic` when the proxy has credentials and the request
///   has no `Proxy-Authorization` of its own); HTTP/2 requests carry the scheme and authority as
///   pseudo-headers, the authority taken from the `Host` header when there is one (which is
///   then not sent, as OkHttp does).
/// - `Expect: 100-continue`: the body waits for `100 Continue`, within the read timeout; when
///   a final response comes first the body is not sent, and an HTTP/1 connection is not reused
///   (an HTTP/2 stream is reset once the response is read). Other 1xx responses (102, 103) are skipped and reported to the call's listener
///   (`informational_response`).
/// - `Connection: close` on the request or the response, an HTTP/1.0 response without
///   keep-alive, and a response delimited by the end of the connection end reuse.
/// - A `204` or `205` with a non-zero `Content-Length` fails ("HTTP 204 had non-zero
///   Content-Length: N") and closes the connection.
/// - A pooled connection found closed before the request was written gives the request back to
///   the connect layer, which sends it on another connection.
///
/// The response's extensions carry the [`ConnectionInfo`](crate::ConnectionInfo) (route,
/// protocol, TLS handshake), with the exchange's [`ResponseTimes`](crate::ResponseTimes) in it.
#[derive(Clone, Copy, Debug, Default)]
pub struct CallServer {
    _private: (),
}

impl CallServer {
    /// The terminal service.
    pub fn new() -> Self {
        CallServer { _private: () }
    }
}

impl Service<Request<RequestBody>> for CallServer {
    type Response = Response<ResponseBody>;
    type Error = Error;
    type Future = CallServerFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<RequestBody>) -> Self::Future {
        match take_exchange(&request) {
            Ok((exchange, lease)) => CallServer::send_on(exchange, lease, request),
            Err(error) => Box::pin(std::future::ready(Err(error))),
        }
    }
}

/// The future of [`CallServer`].
pub(crate) type CallServerFuture =
    Pin<Box<dyn Future<Output = Result<Response<ResponseBody>, Error>> + Send>>;

impl CallServer {
    /// Sends `request` on `exchange`, with its `lease` handed over directly rather than through
    /// the request's extensions (the connect layer's call when no network layer sits between).
    pub(crate) fn send_on(
        exchange: Exchange,
        lease: Lease,
        request: Request<RequestBody>,
    ) -> CallServerFuture {
        let prepared = prepare(request, &exchange);
        Box::pin(send_prepared(exchange, lease, prepared))
    }
}

/// Sends the prepared request and waits for the response head. Not an `async fn`: its
/// arguments would be stored twice in its future (as arguments and as locals), and the
/// future is boxed on every exchange, where a block of more than about 1 KB leaves the
/// allocator's per-thread cache (glibc's serves blocks up to 1032 bytes) for its slow path.
/// The block below uses what it captures in place.
fn send_prepared(
    exchange: Exchange,
    mut lease: Lease,
    prepared: Prepared,
) -> impl Future<Output = Result<Response<ResponseBody>, Error>> + Send + 'static {
    let Prepared {
        wire,
        tracker,
        interim,
        original,
        request_close,
        started,
    } = prepared;
    async move {
        let abandoned = ReleaseIfAbandoned {
            exchange: &exchange,
            armed: true,
        };
        if let Err(failure) = poll_fn(|cx| sending::poll_ready(&mut lease, cx)).await {
            abandoned.disarm();
            let unsent = SendError::Unsent(Box::new(wire), failure.0);
            let tracker = tracker.as_deref();
            return Err(unsent_or_failed(
                unsent, lease, &exchange, original, tracker,
            ));
        }
        let sending = sending::start_sending(&mut lease, wire, interim);
        let timer = lease.head_timer();
        let read_timeout = exchange.read_timeout();
        let outcome =
            HeadTimeout::new(sending, read_timeout, started, tracker.as_deref(), timer).await;
        abandoned.disarm();
        let response = match outcome {
            Ok(Ok(response)) => response,
            Ok(Err(error)) => {
                let tracker = tracker.as_deref();
                return Err(unsent_or_failed(error, lease, &exchange, original, tracker));
            }
            Err(timeout) => {
                let info = exchange.info();
                info.mark_no_new_exchanges();
                // The request was handed to the connection: the server may have it.
                let timeout = timeout.with_request_sent(RequestSent::Maybe);
                return Err(fail(timeout, StreamReset::None, lease, &exchange, None));
            }
        };
        let received = Instant::now();
        finish(
            response,
            original.extensions,
            lease,
            exchange,
            tracker.as_deref(),
            request_close,
            (started, received),
        )
    }
}

/// Reports `connection_released` when the exchange's future is dropped while it waits for the
/// connection or the response head (the call was canceled or timed out): the lease, dropped
/// with the future, gives the connection up without reusing it. Disarmed once the wait ends,
/// where the other paths report the release themselves.
struct ReleaseIfAbandoned<'a> {
    exchange: &'a Exchange,
    armed: bool,
}

impl ReleaseIfAbandoned<'_> {
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for ReleaseIfAbandoned<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.exchange
                .listener()
                .connection_released(self.exchange.info());
        }
    }
}

/// The exchange [`ConnectLayer`](super::ConnectLayer) put into the request, and its lease.
fn take_exchange(request: &Request<RequestBody>) -> Result<(Exchange, Lease), Error> {
    let Some(exchange) = request.extensions().get::<Exchange>().cloned() else {
        let message = "CallServer found no Exchange in the request: put ConnectLayer above it";
        return Err(Error::new(ErrorKind::Builder, message).with_url(request.uri().to_string()));
    };
    let Some(lease) = exchange.take_lease() else {
        let message = "the exchange was already used: a network layer called CallServer twice";
        return Err(Error::new(ErrorKind::Builder, message).with_url(request.uri().to_string()));
    };
    Ok((exchange, lease))
}

/// A request made ready for the wire, with what the exchange needs to remember of it.
struct Prepared {
    wire: Request<WireBody>,
    tracker: Option<Arc<BodyTracker>>,
    /// What an HTTP/2 stream does with informational responses, when they matter.
    interim: Option<Box<Interim>>,
    original: Original,
    /// The request said `Connection: close`.
    request_close: bool,
    /// When the request headers were reported: the base of the wait for the response head
    /// and the exchange's `sent_at`.
    started: Instant,
}

/// What [`prepare`] changed in the request, to give an unsent request back unchanged.
struct Original {
    /// The absolute URI, when the request target became the origin form.
    uri: Option<Uri>,
    version: Version,
    /// The request's extensions: hyper does not read them, and their map, already allocated,
    /// becomes the response's (cleared) instead of a new one. `None` for an HTTP/2 request
    /// with an extended-CONNECT `Protocol`, which hyper reads there.
    extensions: Option<Extensions>,
    /// The bridge's `Connection: keep-alive`, taken off an HTTP/2 request.
    /// (Only that value: it is put back as `keep-alive`, with no copy kept.)
    keep_alive: bool,
    /// The `Host` header, taken off an HTTP/2 request (its `:authority` says it).
    host: Option<HeaderValue>,
}

/// Puts the request in the connection's form (request target, version, proxy credentials),
/// wires its body to the call's events and reports the request headers.
fn prepare(request: Request<RequestBody>, exchange: &Exchange) -> Prepared {
    let info = exchange.info();
    let listener = exchange.listener();
    // 1xx responses other than 100 only matter to a listener.
    let heard = CallContext::of(request.extensions()).is_some_and(CallContext::is_heard);
    let (mut parts, body) = request.into_parts();
    let mut original_uri = None;
    let original_version = parts.version;
    let mut original_extensions = None;
    let multiplexed = info.protocol().is_multiplexed();
    let [has_connection, has_expect] = head_names::present(&parts.headers, [&CONNECTION, &EXPECT]);
    let connection = if has_connection {
        RequestConnection::of(&parts.headers)
    } else {
        RequestConnection::NONE
    };
    let request_close = connection.close;
    if multiplexed {
        parts.version = Version::HTTP_2;
        if parts.extensions.get::<hyper::ext::Protocol>().is_none() {
            original_extensions = Some(std::mem::take(&mut parts.extensions));
        }
    } else {
        parts.version = Version::HTTP_11;
        original_extensions = Some(std::mem::take(&mut parts.extensions));
        let route = info.route();
        let absolute_form = route.proxy().is_http() && !route.requires_tunnel();
        if !absolute_form {
            let origin = origin_form(&parts.uri);
            original_uri = Some(std::mem::replace(&mut parts.uri, origin));
        } else if let Some(credentials) = route.proxy().credentials()
            && !parts.headers.contains_key(PROXY_AUTHORIZATION)
        {
            // The proxy reads this request itself: its credentials go with it, as with CONNECT.
            let value = basic_value(&credentials.username, &credentials.password);
            parts.headers.insert(PROXY_AUTHORIZATION, value);
        }
    }
    let expect_continue = has_expect && expects_continue(&parts.headers);
    let tracker = (!body.is_end_stream())
        .then(|| BodyTracker::new(exchange.events().clone(), expect_continue));
    // One clock read for the timings, the read timeout and the response times.
    let started = Instant::now();
    match exchange.recorder() {
        Some(recorder) => recorder.request_headers_at(started, &parts),
        None => {
            listener.request_headers_start();
            listener.request_headers_end(&parts);
        }
    }
    // HTTP/2 has no `Connection` header. The bridge's `keep-alive` goes here, with one
    // lookup; hyper would remove it too, then parse each token it lists as a header name and
    // look that up (about 500 instructions per request).
    let keep_alive =
        multiplexed && connection.only_keep_alive && parts.headers.remove(CONNECTION).is_some();
    let host = if multiplexed {
        host_to_authority(&mut parts, &mut original_uri)
    } else {
        None
    };
    let mut wire = Request::from_parts(parts, WireBody::new(body, tracker.clone()));
    let mut interim = None;
    if multiplexed && (heard || expect_continue) {
        interim = Some(Box::new(Interim {
            tracker: tracker.clone().filter(|_| expect_continue),
            listener: heard.then(|| exchange.events().clone()),
        }));
    } else if heard || expect_continue {
        let listener = exchange.events().clone();
        let tracker = tracker.clone();
        hyper::ext::on_informational(&mut wire, move |response| {
            if response.status() == StatusCode::CONTINUE {
                if let Some(tracker) = &tracker {
                    tracker.open_gate();
                }
            } else {
                listener.informational_response(response.status(), response.headers());
            }
        });
    }
    if tracker.is_none() {
        listener.response_headers_start();
    }
    Prepared {
        wire,
        tracker,
        interim,
        original: Original {
            uri: original_uri,
            version: original_version,
            extensions: original_extensions,
            keep_alive,
            host,
        },
        request_close,
        started,
    }
}

/// The error of a request that got no response. One the connection gave back unsent goes back
/// to the connect layer (with its URI and version as they were), which sends it on another
/// connection.
#[cold]
fn unsent_or_failed(
    error: SendError,
    lease: Lease,
    exchange: &Exchange,
    original: Original,
    tracker: Option<&BodyTracker>,
) -> Error {
    let info = exchange.info();
    let address = info.route().address();
    match error {
        SendError::Unsent(unsent, cause) => {
            info.mark_no_new_exchanges();
            drop(lease);
            let (mut parts, wire) = (*unsent).into_parts();
            if let Some(uri) = original.uri {
                parts.uri = uri;
            }
            parts.version = original.version;
            if let Some(extensions) = original.extensions {
                parts.extensions = extensions;
            }
            if original.keep_alive {
                parts
                    .headers
                    .insert(CONNECTION, HeaderValue::from_static("keep-alive"));
            }
            if let Some(host) = original.host {
                parts.headers.insert(HOST, host);
            }
            exchange.return_unsent(Request::from_parts(parts, wire.into_inner()));
            let message = format!("the pooled connection to {} was closed", address.host());
            let error = Error::new(ErrorKind::Io, message)
                .with_url(address.uri().to_string())
                .with_request_sent(RequestSent::No);
            let error = match cause {
                Some(WireFault::Http1(cause)) => error.with_source(cause),
                Some(WireFault::Http2(cause)) => error.with_source(cause),
                None => error,
            };
            // The request headers (and, without a body, the wait for the response) were
            // reported: their failure is too. The connect layer reports its retry and the
            // connection's release.
            report_failure(exchange.listener(), &error, tracker);
            error
        }
        SendError::Failed(error) => {
            let (error, reset) = from_wire(error, address, Awaited::Head);
            fail(error, reset, lease, exchange, tracker)
        }
    }
}

/// Checks the response head, reports it, and gives the response a body that releases the
/// connection at its end.
fn finish(
    response: Response<WireIncoming>,
    spare_extensions: Option<Extensions>,
    lease: Lease,
    exchange: Exchange,
    tracker: Option<&BodyTracker>,
    request_close: bool,
    (sent, received): (Instant, Instant),
) -> Result<Response<ResponseBody>, Error> {
    let info = exchange.info();
    let listener = exchange.listener();
    let (mut parts, incoming) = response.into_parts();
    if tracker.is_some() {
        listener.response_headers_start();
    }
    let abandoned_body = tracker.is_some_and(BodyTracker::abandon);
    if let Some(error) = check_bodiless(parts.status, &parts.headers, info.route().address()) {
        info.mark_no_new_exchanges();
        return Err(fail(error, StreamReset::None, lease, &exchange, None));
    }
    match exchange.recorder() {
        Some(recorder) => recorder.response_headers_end_at(received, &parts),
        None => listener.response_headers_end(&parts),
    }
    let multiplexed = info.protocol().is_multiplexed();
    let reusable = multiplexed || {
        let [has_connection, has_length, has_encoding] = head_names::present(
            &parts.headers,
            [&CONNECTION, &CONTENT_LENGTH, &TRANSFER_ENCODING],
        );
        let says = |token| has_connection && has_token(&parts.headers, token);
        !(request_close
            || abandoned_body
            || says("close")
            || (parts.version == Version::HTTP_10 && !says("keep-alive"))
            || is_close_delimited(parts.status, has_length || has_encoding))
    };
    let mut extensions = spare_extensions.unwrap_or_default();
    extensions.clear();
    extensions.extend(std::mem::take(&mut parts.extensions));
    extensions.insert(info.clone().with_response_times(sent, received));
    parts.extensions = extensions;
    let body = ResponseBody::new(incoming, lease, exchange, reusable);
    Ok(Response::from_parts(parts, body))
}

/// Reports and returns a failed exchange's error; the connection is not reused (an HTTP/2
/// connection only after repeated refusals or a connection-level failure). Its release is
/// reported here, or by the follow-up layer above after its retry decision (the error carries
/// it there).
fn fail(
    error: Error,
    reset: StreamReset,
    lease: Lease,
    exchange: &Exchange,
    tracker: Option<&BodyTracker>,
) -> Error {
    let info = exchange.info();
    let listener = exchange.listener();
    let address = info.route().address();
    let mut error = error;
    if error.url().is_none() {
        error = error.with_url(address.uri().to_string());
    }
    match reset {
        StreamReset::Refused => {
            lease.connection().record_refused_stream();
            error = error.with_request_sent(RequestSent::No);
        }
        StreamReset::Other => {}
        StreamReset::None => {
            if !info.protocol().is_multiplexed() || lease.connection().never_succeeded() {
                info.mark_no_new_exchanges();
            }
        }
    }
    report_failure(listener, &error, tracker);
    lease.release(false);
    if exchange.release_reported_above() {
        error.with_unreported_release(info.clone())
    } else {
        listener.connection_released(info);
        error
    }
}

/// Reports `error` as the request's failure while its body was still being sent, else as the
/// response's.
fn report_failure(listener: &dyn EventListener, error: &Error, tracker: Option<&BodyTracker>) {
    if tracker.is_some_and(|t| !t.is_finished()) {
        listener.request_failed(error);
    } else {
        listener.response_failed(error);
    }
}

/// OkHttp's check: a 204 or 205 must not announce a body.
fn check_bodiless(status: StatusCode, headers: &HeaderMap, address: &Address) -> Option<Error> {
    if status != StatusCode::NO_CONTENT && status != StatusCode::RESET_CONTENT {
        return None;
    }
    let length = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .unwrap_or(0);
    if length == 0 && !headers.contains_key(TRANSFER_ENCODING) {
        return None;
    }
    let message = format!(
        "HTTP {} had non-zero Content-Length: {length}",
        status.as_u16()
    );
    Some(
        Error::new(ErrorKind::Protocol, message)
            .with_url(address.uri().to_string())
            .with_request_sent(RequestSent::Maybe),
    )
}

/// An HTTP/1 response whose body ends with the connection: one that may have a body and has
/// neither `Content-Length` nor `Transfer-Encoding` (`framed` says whether it has either).
fn is_close_delimited(status: StatusCode, framed: bool) -> bool {
    let bodiless = status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    !bodiless && !framed
}

/// Whether a `Connection` header lists `token` (ASCII case-insensitively).
fn has_token(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get_all(CONNECTION)
        .iter()
        .any(|value| lists_token(value.as_bytes(), token.as_bytes()))
}

/// Whether the comma-separated `value` lists `token`, on bytes: no UTF-8 check, no `str`
/// pattern machinery (this runs twice per exchange).
fn lists_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|&byte| byte == b',')
        .any(|item| item.trim_ascii().eq_ignore_ascii_case(token))
}

/// What a request's `Connection` headers say, found in one lookup.
struct RequestConnection {
    /// They list `close`.
    close: bool,
    /// There is one, and it is `keep-alive` (as the bridge adds it).
    only_keep_alive: bool,
}

impl RequestConnection {
    /// A request without `Connection` headers.
    const NONE: RequestConnection = RequestConnection {
        close: false,
        only_keep_alive: false,
    };

    fn of(headers: &HeaderMap) -> Self {
        let mut count = 0;
        let mut close = false;
        let mut keep_alive = false;
        head_names::for_each_value(headers, &CONNECTION, |value| {
            let value = value.as_bytes();
            count += 1;
            // The bridge's own value, compared byte for byte first: it lists no `close`, and
            // needs neither the split nor the case-insensitive compare (about 150
            // instructions).
            if value == b"keep-alive" {
                keep_alive = true;
                return;
            }
            close |= lists_token(value, b"close");
            keep_alive = value.eq_ignore_ascii_case(b"keep-alive");
        });
        RequestConnection {
            close,
            only_keep_alive: count == 1 && keep_alive,
        }
    }
}

fn expects_continue(headers: &HeaderMap) -> bool {
    headers
        .get(EXPECT)
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// HTTP/2 names the host in the `:authority` pseudo-header, not in a `Host` header (RFC 9113
/// §8.3.1), and takes `:authority` from the URI. As OkHttp does, the `Host` header is taken off
/// (and returned); when it names another authority than the URI's (a virtual host the caller
/// chose, or the URI's default port left out), its value becomes the URI's authority, and the
/// URI as it was goes to `original_uri`. A `Host` that is not a valid authority leaves the URI
/// as it is.
fn host_to_authority(
    parts: &mut http::request::Parts,
    original_uri: &mut Option<Uri>,
) -> Option<HeaderValue> {
    let host = parts.headers.remove(HOST)?;
    let same = parts
        .uri
        .authority()
        .is_some_and(|authority| authority.as_str().as_bytes() == host.as_bytes());
    if !same && let Ok(authority) = Authority::try_from(host.as_bytes()) {
        let mut uri = parts.uri.clone().into_parts();
        uri.authority = Some(authority);
        if let Ok(uri) = Uri::from_parts(uri) {
            *original_uri = Some(std::mem::replace(&mut parts.uri, uri));
        }
    }
    Some(host)
}

/// `uri` in origin form: its path and query.
fn origin_form(uri: &Uri) -> Uri {
    match uri.path_and_query() {
        Some(path_and_query) => Uri::from(path_and_query.clone()),
        None => Uri::from_static("/"),
    }
}

#[cfg(test)]
mod token_tests {
    use super::*;

    #[test]
    fn a_connection_header_lists_its_tokens_in_any_case_and_spacing() {
        assert!(lists_token(b"close", b"close"));
        assert!(lists_token(b"Keep-Alive", b"keep-alive"));
        assert!(lists_token(b"upgrade, CLOSE", b"close"));
        assert!(lists_token(b" te ,\tclose\t", b"close"));
        assert!(!lists_token(b"keep-alive", b"close"));
        assert!(!lists_token(b"closed", b"close"));
        assert!(!lists_token(b"", b"close"));
        assert!(!lists_token(b"clo se", b"close"));
        let mut headers = HeaderMap::new();
        headers.append(CONNECTION, http::HeaderValue::from_static("keep-alive"));
        assert!(!has_token(&headers, "close"));
        headers.append(CONNECTION, http::HeaderValue::from_static("Close"));
        assert!(has_token(&headers, "close"));
    }

    #[test]
    fn a_request_says_close_or_only_keep_alive() {
        let said = |values: &[&'static str]| {
            let mut headers = HeaderMap::new();
            for value in values {
                headers.append(CONNECTION, HeaderValue::from_static(value));
            }
            let found = RequestConnection::of(&headers);
            (found.close, found.only_keep_alive)
        };
        assert_eq!(said(&[]), (false, false));
        assert_eq!(said(&["Keep-Alive"]), (false, true));
        // The bridge's exact value, and after it a value that does say `close`.
        assert_eq!(said(&["keep-alive"]), (false, true));
        assert_eq!(said(&["keep-alive", "close"]), (true, false));
        assert_eq!(said(&["close", "keep-alive"]), (true, false));
        assert_eq!(said(&["keep-alive, x-hop"]), (false, false));
        assert_eq!(said(&["keep-alive", "x-hop"]), (false, false));
        assert_eq!(said(&["x-hop", "keep-alive"]), (false, false));
        assert_eq!(said(&["Close"]), (true, false));
        assert_eq!(said(&["keep-alive", "te, close"]), (true, false));
    }
}

#[cfg(test)]
mod future_size_tests {
    use super::*;
    use crate::future_size::size_of_output;

    /// Every exchange boxes this future: it was 3.3 KB when hyper's send future was nested,
    /// copied, in `async fn` states, and 1.2 KB when it held its request twice. Above about
    /// 1 KB its allocation and its free leave glibc's per-thread cache for the slow path.
    #[test]
    fn the_exchange_future_stays_small() {
        #[allow(unreachable_code, clippy::diverging_sub_expression)]
        let size = size_of_output(|| send_prepared(unreachable!(), unreachable!(), unreachable!()));
        assert!(size <= 1024, "the exchange future grew to {size} bytes");
    }
}
