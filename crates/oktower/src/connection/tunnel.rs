//! The HTTP `CONNECT` tunnel through a proxy, OkHttp's `ConnectPlan.createTunnel` and
//! `connectTunnel`: written by hand in HTTP/1.1, since the stream becomes the tunnel afterwards.

use std::future::Future;
use std::time::Duration;

use http::header::{
    CONNECTION, CONTENT_LENGTH, HeaderName, HeaderValue, PROXY_AUTHENTICATE, TRANSFER_ENCODING,
};
use http::{StatusCode, Version, response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::tcp::BoxedIo;
use crate::proxy_auth::{PREEMPTIVE_CHALLENGE, basic_value};
use crate::{Error, ErrorKind, EventListener, ProxyAuthenticator, Route};

/// How many `CONNECT` requests a tunnel may send (OkHttp's `MAX_TUNNEL_ATTEMPTS`).
pub(crate) const MAX_TUNNEL_ATTEMPTS: usize = 21;

/// The largest response head accepted from the proxy.
const MAX_HEAD_BYTES: usize = 256 * 1024;

/// The most header fields accepted in a response head.
const MAX_HEADERS: usize = 128;

/// What a tunnel sends besides the target.
pub(crate) struct TunnelSettings<'a> {
    /// The `User-Agent` of the `CONNECT`.
    pub(crate) user_agent: &'a HeaderValue,
    /// Answers `407`s, and preemptive challenges when the proxy has no credentials.
    pub(crate) authenticator: &'a dyn ProxyAuthenticator,
    /// The limit of each `CONNECT` exchange (write the request, read the response), if any.
    pub(crate) timeout: Option<Duration>,
}

/// Asks `route`'s HTTP proxy, over `io`, for a tunnel to the route's origin, and returns the
/// stream once the proxy answered `200`.
///
/// Authorization is preemptive from the proxy's credentials (`Basic`), else from the
/// authenticator's answer to a synthetic challenge; each `407` asks the authenticator again.
/// After a `407` with `Connection: close` the stream is closed, `connect_end` fires without a
/// protocol (as OkHttp ends the plan), and `reconnect` opens a new one (it fires
/// `connect_start`); otherwise the `407`'s body is discarded and the stream reused. At most
/// [`MAX_TUNNEL_ATTEMPTS`] `CONNECT`s are sent, on however many connections.
///
/// The caller fires `connect_failed` for the errors returned. Dropping the future closes the
/// stream.
pub(crate) async fn connect_tunnel<R, F>(
    io: BoxedIo,
    route: &Route,
    settings: &TunnelSettings<'_>,
    listener: &dyn EventListener,
    mut reconnect: R,
) -> Result<BoxedIo, Error>
where
    R: FnMut() -> F,
    F: Future<Output = Result<BoxedIo, Error>>,
{
    let mut io = io;
    let mut authorization = preemptive_authorization(route, settings.authenticator);
    // Bytes read past a response: the start of the next one on a reused stream.
    let mut pending = Vec::new();
    for attempt in 1..=MAX_TUNNEL_ATTEMPTS {
        let request = connect_request(route, settings.user_agent, authorization.as_ref());
        let exchange = exchange(&mut io, &request, &mut pending, route);
        let reply = match settings.timeout {
            None => exchange.await?,
            Some(limit) => match tokio::time::timeout(limit, exchange).await {
                Ok(reply) => reply?,
                Err(_elapsed) => {
                    let message = format!("CONNECT timed out after {limit:?}");
                    return Err(failure(ErrorKind::Timeout, message, route));
                }
            },
        };
        match reply.head.status {
            StatusCode::OK if pending.is_empty() => return Ok(io),
            StatusCode::OK => {
                let message = "TLS tunnel buffered too many bytes!";
                return Err(failure(ErrorKind::Protocol, message, route));
            }
            StatusCode::PROXY_AUTHENTICATION_REQUIRED => {
                let Some(value) = settings.authenticator.authenticate(route, &reply.head) else {
                    let message = "Failed to authenticate with proxy";
                    return Err(failure(ErrorKind::Proxy, message, route));
                };
                authorization = Some(value);
                if attempt == MAX_TUNNEL_ATTEMPTS {
                    break;
                }
                if !reply.reusable {
                    drop(io);
                    pending.clear();
                    listener.connect_end(route.socket_addr(), route.proxy(), None);
                    io = reconnect().await?;
                }
            }
            status => {
                let message = format!("Unexpected response code for CONNECT: {}", status.as_u16());
                return Err(failure(ErrorKind::Proxy, message, route));
            }
        }
    }
    let message = format!("Too many tunnel connections attempted: {MAX_TUNNEL_ATTEMPTS}");
    Err(failure(ErrorKind::Protocol, message, route))
}

/// The `Proxy-Authorization` of the first `CONNECT`, if any.
fn preemptive_authorization(
    route: &Route,
    authenticator: &dyn ProxyAuthenticator,
) -> Option<HeaderValue> {
    if let Some(credentials) = route.proxy().credentials() {
        return Some(basic_value(&credentials.username, &credentials.password));
    }
    let (mut challenge, ()) = http::Response::new(()).into_parts();
    challenge.status = StatusCode::PROXY_AUTHENTICATION_REQUIRED;
    let value = HeaderValue::from_static(PREEMPTIVE_CHALLENGE);
    challenge.headers.insert(PROXY_AUTHENTICATE, value);
    authenticator.authenticate(route, &challenge)
}

/// `CONNECT host:port HTTP/1.1` with `Host`, `Proxy-Connection`, `User-Agent` and, if any,
/// `Proxy-Authorization`: nothing of the application's request.
fn connect_request(
    route: &Route,
    user_agent: &HeaderValue,
    authorization: Option<&HeaderValue>,
) -> Vec<u8> {
    let address = route.address();
    let authority = if address.host().contains(':') {
        format!("[{}]:{}", address.host(), address.port())
    } else {
        format!("{}:{}", address.host(), address.port())
    };
    let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    request.push_str("Proxy-Connection: Keep-Alive\r\n");
    let mut request = request.into_bytes();
    for (name, value) in [
        ("User-Agent", Some(user_agent)),
        ("Proxy-Authorization", authorization),
    ] {
        if let Some(value) = value {
            request
                .extend_from_slice(&[name.as_bytes(), b": ", value.as_bytes(), b"\r\n"].concat());
        }
    }
    request.extend_from_slice(b"\r\n");
    request
}

/// A proxy's answer to one `CONNECT`.
struct Reply {
    head: response::Parts,
    /// Whether the next `CONNECT` may go on the same stream.
    reusable: bool,
}

/// Sends `request` and reads the response head, discarding a `407`'s body.
async fn exchange(
    io: &mut BoxedIo,
    request: &[u8],
    pending: &mut Vec<u8>,
    route: &Route,
) -> Result<Reply, Error> {
    let io_error = |error| io_failure(error, route);
    io.write_all(request).await.map_err(io_error)?;
    io.flush().await.map_err(io_error)?;
    let (head, head_len) = read_head(io, pending, route).await?;
    pending.drain(..head_len);

    let close = has_token(&head, CONNECTION, "close")
        || (head.version == Version::HTTP_10 && !has_token(&head, CONNECTION, "keep-alive"));
    let mut reusable = !close && !head.headers.contains_key(TRANSFER_ENCODING);
    if reusable && head.status == StatusCode::PROXY_AUTHENTICATION_REQUIRED {
        let invalid = || {
            failure(
                ErrorKind::Protocol,
                "Invalid Content-Length for CONNECT",
                route,
            )
        };
        let length = match head.headers.get(CONTENT_LENGTH) {
            None => Some(0),
            Some(value) => value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok()),
        };
        let length = length.ok_or_else(invalid)?;
        let buffered = length.min(pending.len() as u64);
        pending.drain(..buffered as usize);
        let remaining = length - buffered;
        let skipped = tokio::io::copy(&mut (&mut *io).take(remaining), &mut tokio::io::sink())
            .await
            .map_err(io_error)?;
        // A body cut short leaves the stream unusable; the proxy is asked again on a new one.
        reusable = skipped == remaining;
    }
    Ok(Reply { head, reusable })
}

/// Reads until `pending` holds a whole response head; returns it and its length in bytes.
async fn read_head(
    io: &mut BoxedIo,
    pending: &mut Vec<u8>,
    route: &Route,
) -> Result<(response::Parts, usize), Error> {
    let mut chunk = [0u8; 8192];
    loop {
        if !pending.is_empty() {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut parsed = httparse::Response::new(&mut headers);
            match parsed.parse(pending) {
                Ok(httparse::Status::Complete(len)) => {
                    let malformed = "Malformed CONNECT response head";
                    let head = to_parts(&parsed);
                    return head
                        .map(|head| (head, len))
                        .ok_or_else(|| failure(ErrorKind::Protocol, malformed, route));
                }
                Ok(httparse::Status::Partial) => {}
                Err(error) => {
                    let message = format!("Malformed CONNECT response head: {error}");
                    return Err(failure(ErrorKind::Protocol, message, route));
                }
            }
        }
        if pending.len() >= MAX_HEAD_BYTES {
            let message = "CONNECT response head is larger than 256 KiB";
            return Err(failure(ErrorKind::Protocol, message, route));
        }
        let room = chunk.len().min(MAX_HEAD_BYTES - pending.len());
        let read = io.read(&mut chunk[..room]).await;
        let read = read.map_err(|error| io_failure(error, route))?;
        if read == 0 {
            let message = "The proxy closed the connection before answering CONNECT";
            return Err(failure(ErrorKind::Proxy, message, route));
        }
        pending.extend_from_slice(&chunk[..read]);
    }
}

fn to_parts(parsed: &httparse::Response<'_, '_>) -> Option<response::Parts> {
    let (mut head, ()) = http::Response::new(()).into_parts();
    head.status = StatusCode::from_u16(parsed.code?).ok()?;
    head.version = match parsed.version? {
        0 => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    for header in parsed.headers.iter() {
        let name = HeaderName::from_bytes(header.name.as_bytes()).ok()?;
        head.headers
            .append(name, HeaderValue::from_bytes(header.value).ok()?);
    }
    Some(head)
}

/// Whether a `name` header of `head` lists `token` (case-insensitively).
fn has_token(head: &response::Parts, name: HeaderName, token: &str) -> bool {
    head.headers.get_all(name).iter().any(|value| {
        value
            .as_bytes()
            .split(|&b| b == b',')
            .any(|item| item.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    })
}

fn failure(kind: ErrorKind, message: impl Into<String>, route: &Route) -> Error {
    Error::new(kind, message).with_url(route.address().uri().to_string())
}

fn io_failure(error: std::io::Error, route: &Route) -> Error {
    let message = format!("CONNECT through {} failed", route.proxy());
    Error::from_io(ErrorKind::Proxy, message, error).with_url(route.address().uri().to_string())
}

#[cfg(test)]
#[path = "tunnel_tests.rs"]
mod tests;
