//! The request half of OkHttp's `BridgeInterceptor`: the headers a user should not have to
//! write. A pure function of the request.

use http::header::{
    ACCEPT_ENCODING, CONNECTION, CONTENT_LENGTH, COOKIE, HOST, RANGE, TRANSFER_ENCODING, USER_AGENT,
};
use http::{HeaderMap, HeaderValue, Method, Uri, Version};
use http_body::Body;

use crate::uri_authority::HostPort;

/// The `Accept-Encoding` the bridge sends: every coding it decodes.
pub(super) const ACCEPT_ENCODING_VALUE: HeaderValue =
    HeaderValue::from_static("gzip, deflate, br, zstd");

/// The default `User-Agent`: `oktower/<version>`.
pub(super) const DEFAULT_USER_AGENT: HeaderValue =
    HeaderValue::from_static(concat!("oktower/", env!("CARGO_PKG_VERSION")));

const KEEP_ALIVE: HeaderValue = HeaderValue::from_static("keep-alive");
const CHUNKED: HeaderValue = HeaderValue::from_static("chunked");

/// What the request body says about its length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BodyLength {
    /// No body, or an empty one.
    Empty,
    /// Exactly this many bytes (more than zero).
    Known(u64),
    /// A stream of unknown length.
    Unknown,
}

impl BodyLength {
    /// The length `body` declares through `is_end_stream` and `size_hint`.
    pub(super) fn of<B: Body>(body: &B) -> Self {
        if body.is_end_stream() {
            return BodyLength::Empty;
        }
        match body.size_hint().exact() {
            Some(0) => BodyLength::Empty,
            Some(length) => BodyLength::Known(length),
            None => BodyLength::Unknown,
        }
    }
}

/// The request as the header rules see it.
pub(super) struct RequestHead<'a> {
    pub(super) method: &'a Method,
    pub(super) uri: &'a Uri,
    pub(super) version: Version,
    pub(super) body: BodyLength,
}

/// Adds the bridge's request headers to `headers` (OkHttp's rules, reference §2.2):
///
/// - body framing: `Content-Length` for a body of known length (and `0` for an empty body of a
///   method that requires one: POST, PUT, PATCH, PROPPATCH, REPORT), else
///   `Transfer-Encoding: chunked` on HTTP/1.1 — but a `Content-Length` the user set for a
///   stream is kept;
/// - `Host` when absent: the URI's host, bracketed if IPv6, with the port only when it is not
///   the scheme's default; not for a request known to go over HTTP/2, whose `:authority`
///   says it (RFC 9113 §8.3.1; the call server takes the header off HTTP/2 requests anyway);
/// - `Connection: keep-alive` when absent, on HTTP/1 only (HTTP/2 forbids the header);
/// - `Accept-Encoding: gzip, deflate, br, zstd` when the request has neither `Accept-Encoding`
///   nor `Range`;
/// - `Cookie` from the jar (`cookies`), after any `Cookie` the user set, in one header;
/// - `User-Agent: user_agent` when absent.
///
/// Returns whether it added `Accept-Encoding`, which makes the response eligible for
/// transparent decompression.
pub(super) fn add_request_headers(
    request: &RequestHead<'_>,
    headers: &mut HeaderMap,
    user_agent: &HeaderValue,
    cookies: Option<HeaderValue>,
) -> bool {
    // The most common request, a bodiless HTTP/1 request with no headers of its own, gets a
    // copy of the last such request's defaults: one clone instead of four hashed inserts.
    if headers.is_empty()
        && cookies.is_none()
        && request.version <= Version::HTTP_11
        && request.body == BodyLength::Empty
        && !requires_body(request.method)
        && let Some(defaults) = default_headers(request, user_agent)
    {
        *headers = defaults;
        return true;
    }
    add_general(request, headers, user_agent, cookies)
}

/// [`add_request_headers`] without its shortcut.
fn add_general(
    request: &RequestHead<'_>,
    headers: &mut HeaderMap,
    user_agent: &HeaderValue,
    cookies: Option<HeaderValue>,
) -> bool {
    // The headers looked for below, found in one pass; adding some of them (and the body
    // framing) changes none of the answers.
    let present = Present::in_headers(headers);
    set_body_framing(request, headers);
    if !present.host
        && request.version <= Version::HTTP_11
        && let Some(host) = host_header(request.uri)
    {
        headers.insert(HOST, host);
    }
    if request.version <= Version::HTTP_11 && !present.connection {
        headers.insert(CONNECTION, KEEP_ALIVE);
    }
    let transparent_decompression = !present.accept_encoding && !present.range;
    if transparent_decompression {
        headers.insert(ACCEPT_ENCODING, ACCEPT_ENCODING_VALUE);
    }
    if let Some(cookies) = cookies {
        add_cookies(headers, cookies, present.cookie);
    }
    if !present.user_agent {
        headers.insert(USER_AGENT, user_agent.clone());
    }
    transparent_decompression
}

/// Which of the headers the bridge may add the request already has.
#[derive(Debug, Default, PartialEq, Eq)]
struct Present {
    host: bool,
    connection: bool,
    accept_encoding: bool,
    range: bool,
    cookie: bool,
    user_agent: bool,
}

/// Up to this many header names, one pass over them beats a hash lookup per name.
const SCAN_LIMIT: usize = 8;

impl Present {
    /// One hash lookup per name.
    fn looked_up(headers: &HeaderMap) -> Self {
        Present {
            host: headers.contains_key(HOST),
            connection: headers.contains_key(CONNECTION),
            accept_encoding: headers.contains_key(ACCEPT_ENCODING),
            range: headers.contains_key(RANGE),
            cookie: headers.contains_key(COOKIE),
            user_agent: headers.contains_key(USER_AGENT),
        }
    }

    fn in_headers(headers: &HeaderMap) -> Self {
        let mut present = Present::default();
        if headers.keys_len() > SCAN_LIMIT {
            return Present::looked_up(headers);
        }
        for name in headers.keys() {
            match name {
                name if name == HOST => present.host = true,
                name if name == CONNECTION => present.connection = true,
                name if name == ACCEPT_ENCODING => present.accept_encoding = true,
                name if name == RANGE => present.range = true,
                name if name == COOKIE => present.cookie = true,
                name if name == USER_AGENT => present.user_agent = true,
                _ => {}
            }
        }
        present
    }
}

fn set_body_framing(request: &RequestHead<'_>, headers: &mut HeaderMap) {
    match request.body {
        BodyLength::Empty if requires_body(request.method) => {
            headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
            headers.remove(TRANSFER_ENCODING);
        }
        BodyLength::Empty => {}
        BodyLength::Known(length) => {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
            headers.remove(TRANSFER_ENCODING);
        }
        BodyLength::Unknown if headers.contains_key(CONTENT_LENGTH) => {
            headers.remove(TRANSFER_ENCODING);
        }
        BodyLength::Unknown if request.version == Version::HTTP_11 => {
            headers.insert(TRANSFER_ENCODING, CHUNKED);
        }
        BodyLength::Unknown => {}
    }
}

/// OkHttp's `HttpMethod.requiresRequestBody`.
fn requires_body(method: &Method) -> bool {
    matches!(
        method.as_str(),
        "POST" | "PUT" | "PATCH" | "PROPPATCH" | "REPORT"
    )
}

/// `uri`'s host and non-default port, as the `Host` header carries them (no user info).
fn host_header(uri: &Uri) -> Option<HeaderValue> {
    with_host_memo(uri, |memo| memo.value.clone())
}

/// The headers [`add_request_headers`] gives `request`, a bodiless HTTP/1 request with no
/// headers of its own and no cookies: made once by the general path, then copied while the
/// authority and the `User-Agent` stay the same.
fn default_headers(request: &RequestHead<'_>, user_agent: &HeaderValue) -> Option<HeaderMap> {
    let kept = with_host_memo(request.uri, |memo| match &memo.defaults {
        Some((agent, defaults)) if agent == user_agent => Some(defaults.clone()),
        _ => None,
    })?;
    if kept.is_some() {
        return kept;
    }
    let mut defaults = HeaderMap::new();
    add_general(request, &mut defaults, user_agent, None);
    with_host_memo(request.uri, |memo| {
        memo.defaults = Some((user_agent.clone(), defaults.clone()));
    });
    Some(defaults)
}

/// Calls `read` with the `Host` memo of `uri`'s authority (`None` when `uri` has none).
///
/// The `Host` value is a function of the authority and the scheme's default port. The last
/// one built on this thread is kept: most requests go where the one before went, and building
/// a value costs a parse of the authority, a check of each byte and an allocation, where
/// reusing it costs a comparison and a reference count.
fn with_host_memo<T>(uri: &Uri, read: impl FnOnce(&mut HostMemo) -> T) -> Option<T> {
    let authority = uri.authority()?.as_str();
    let default_port = match uri.scheme_str() {
        Some("http" | "ws") => Some(80),
        Some("https" | "wss") => Some(443),
        _ => None,
    };
    LAST_HOST.with(|last| {
        let Ok(mut last) = last.try_borrow_mut() else {
            let mut memo = HostMemo::new(authority, default_port)?;
            return Some(read(&mut memo));
        };
        match &mut *last {
            Some(memo) if memo.default_port == default_port && *memo.authority == *authority => {
                Some(read(memo))
            }
            last => Some(read(last.insert(HostMemo::new(authority, default_port)?))),
        }
    })
}

/// The last `Host` value built on a thread, what it was built from, and the default headers
/// last made with it (with the `User-Agent` they were made for).
struct HostMemo {
    authority: Box<str>,
    default_port: Option<u16>,
    value: HeaderValue,
    defaults: Option<(HeaderValue, HeaderMap)>,
}

impl HostMemo {
    fn new(authority: &str, default_port: Option<u16>) -> Option<Self> {
        Some(HostMemo {
            authority: authority.into(),
            default_port,
            value: build_host_header(authority, default_port)?,
            defaults: None,
        })
    }
}

thread_local! {
    static LAST_HOST: std::cell::RefCell<Option<HostMemo>> = const { std::cell::RefCell::new(None) };
}

/// The `Host` value of `authority` for a scheme whose default port is `default_port`.
fn build_host_header(authority: &str, default_port: Option<u16>) -> Option<HeaderValue> {
    let HostPort { host, port, bare } = HostPort::of(authority);
    let value = match port {
        // Without user info the authority is exactly `host:port`: no formatting needed.
        Some(port) if Some(port) != default_port && bare => HeaderValue::from_str(authority),
        Some(port) if Some(port) != default_port => HeaderValue::try_from(format!("{host}:{port}")),
        _ => HeaderValue::from_str(host),
    };
    value.ok()
}

/// Puts the jar's `cookies` after the user's own `Cookie` values, all in one header.
fn add_cookies(headers: &mut HeaderMap, cookies: HeaderValue, user_cookies: bool) {
    if !user_cookies {
        headers.insert(COOKIE, cookies);
        return;
    }
    let mut merged = Vec::new();
    for value in headers.get_all(COOKIE).iter().chain(Some(&cookies)) {
        if !merged.is_empty() {
            merged.extend_from_slice(b"; ");
        }
        merged.extend_from_slice(value.as_bytes());
    }
    if let Ok(merged) = HeaderValue::from_bytes(&merged) {
        headers.insert(COOKIE, merged);
    }
}

#[cfg(test)]
#[path = "request_headers_tests.rs"]
mod tests;
