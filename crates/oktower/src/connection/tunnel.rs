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
mod tests {
    use super::*;
    use crate::connection::tcp::{SystemTcp, TcpConnector};
    use crate::{Address, NoEvents, NoProxy, NoProxyAuth, Proxy, Scheme, SystemDns, is_preemptive};
    use oktower_testkit::{MockResponse, MockWebServer, ProxyMode, RecordedRequest};
    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::DuplexStream;

    const PATIENCE: Duration = Duration::from_secs(10);
    const USER_PASS: &str = "Basic dXNlcjpwYXNz";
    /// The headers of every `CONNECT`, as `headers` lists them.
    const CONNECT_HEADERS: &str =
        "host: origin.test:443\nproxy-connection: Keep-Alive\nuser-agent: oktower-test\n";

    /// Answers real `407`s with a fixed value (never preemptively), counting the calls.
    struct Answer(Option<&'static str>, AtomicUsize);

    impl ProxyAuthenticator for Answer {
        fn authenticate(&self, _: &Route, response: &response::Parts) -> Option<HeaderValue> {
            if is_preemptive(response) {
                return None;
            }
            self.1.fetch_add(1, Ordering::SeqCst);
            self.0.map(HeaderValue::from_static)
        }
    }

    /// Counts `connect_end` events, which must come without a protocol.
    struct ConnectEnds(AtomicUsize);

    impl EventListener for ConnectEnds {
        fn connect_end(&self, _: SocketAddr, _: &Proxy, protocol: Option<crate::Protocol>) {
            assert_eq!(protocol, None);
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn route(host: &str, proxy: Proxy, proxy_addr: SocketAddr) -> Route {
        let (dns, selector) = (Arc::new(SystemDns), Arc::new(NoProxy));
        let address = Address::builder(Scheme::Https, host, 443, dns, selector).build();
        Route::new(address, proxy, proxy_addr)
    }

    async fn proxy_server(mode: ProxyMode) -> (MockWebServer, Route) {
        let server = MockWebServer::builder()
            .proxy_mode(mode)
            .start()
            .await
            .unwrap();
        let proxy = Proxy::http(server.host(), server.port());
        let route = route("origin.test", proxy, server.proxy_address());
        (server, route)
    }

    /// A proxy that demands `USER_PASS`, closing the connection after a `407` if `close`.
    fn auth_required(close: bool) -> ProxyMode {
        let mode = ProxyMode::new().require_auth(USER_PASS, "Basic realm=\"p\"");
        mode.close_on_auth_failure(close)
    }

    fn settings(auth: &dyn ProxyAuthenticator, timeout: Option<Duration>) -> TunnelSettings<'_> {
        static USER_AGENT: HeaderValue = HeaderValue::from_static("oktower-test");
        TunnelSettings {
            user_agent: &USER_AGENT,
            authenticator: auth,
            timeout,
        }
    }

    async fn tcp(addr: SocketAddr) -> Result<BoxedIo, Error> {
        Ok(SystemTcp.connect(addr).await.unwrap())
    }

    /// Runs a tunnel through the proxy at `route`'s socket address.
    async fn tunnel(
        route: &Route,
        authenticator: &dyn ProxyAuthenticator,
        listener: &dyn EventListener,
    ) -> Result<BoxedIo, Error> {
        let settings = settings(authenticator, Some(PATIENCE));
        let addr = route.socket_addr();
        let io = tcp(addr).await?;
        connect_tunnel(io, route, &settings, listener, || tcp(addr)).await
    }

    /// Sends a GET through `io` and returns the whole response.
    async fn get_through(mut io: BoxedIo) -> String {
        let request = b"GET /inner HTTP/1.1\r\nHost: origin.test\r\nConnection: close\r\n\r\n";
        io.write_all(request).await.unwrap();
        let mut response = String::new();
        io.read_to_string(&mut response).await.unwrap();
        response
    }

    /// The request's headers as `name: value` lines.
    fn headers(request: &RecordedRequest) -> String {
        let headers = request.headers().iter();
        headers
            .map(|(n, v)| format!("{n}: {}\n", v.to_str().unwrap()))
            .collect()
    }

    fn indexes(request: &RecordedRequest) -> (usize, usize) {
        (request.connection_index(), request.exchange_index())
    }

    #[tokio::test]
    async fn a_tunnel_is_established_and_carries_requests() {
        let (server, route) = proxy_server(ProxyMode::new()).await;
        server.enqueue(MockResponse::new().body("inside the tunnel"));
        let io = tunnel(&route, &NoProxyAuth, &NoEvents).await.unwrap();
        assert!(get_through(io).await.ends_with("inside the tunnel"));

        let connect = server.take_request(PATIENCE).await.unwrap();
        assert_eq!(connect.method(), "CONNECT");
        assert_eq!(connect.target(), "origin.test:443");
        assert_eq!(indexes(&connect), (0, 0));
        // Only what the proxy needs; nothing of an application's request.
        assert_eq!(headers(&connect), CONNECT_HEADERS);
        let inner = server.take_request(PATIENCE).await.unwrap();
        assert_eq!((inner.path(), indexes(&inner)), ("/inner", (0, 1)));
    }

    #[tokio::test]
    async fn preemptive_credentials_are_the_only_header_added() {
        let (server, route) = proxy_server(auth_required(false)).await;
        let proxy = route.proxy().clone().with_credentials("user", "pass");
        let route = Route::new(route.address().clone(), proxy, route.socket_addr());
        let authenticator = Answer(None, AtomicUsize::new(0));
        tunnel(&route, &authenticator, &NoEvents).await.unwrap();
        let connect = server.take_request(PATIENCE).await.unwrap();
        let expected = format!("{CONNECT_HEADERS}proxy-authorization: {USER_PASS}\n");
        assert_eq!(headers(&connect), expected);
        assert_eq!(authenticator.1.load(Ordering::SeqCst), 0);
        assert_eq!(server.connection_count(), 1);
    }

    #[tokio::test]
    async fn a_407_with_connection_close_is_retried_on_a_new_connection() {
        let (server, route) = proxy_server(auth_required(true)).await;
        let authenticator = Answer(Some(USER_PASS), AtomicUsize::new(0));
        let listener = ConnectEnds(AtomicUsize::new(0));
        let io = tunnel(&route, &authenticator, &listener).await.unwrap();
        // The testkit applies proxy auth to requests inside cleartext tunnels as well, so the
        // answer is not asserted; that the server got the request on the second connection is.
        get_through(io).await;
        assert_eq!(server.connection_count(), 2);
        assert_eq!(authenticator.1.load(Ordering::SeqCst), 1);
        assert_eq!(listener.0.load(Ordering::SeqCst), 1);

        let refused = server.take_request(PATIENCE).await.unwrap();
        assert_eq!(indexes(&refused), (0, 0));
        assert_eq!(refused.header("proxy-authorization"), None);
        let admitted = server.take_request(PATIENCE).await.unwrap();
        assert_eq!(indexes(&admitted), (1, 0));
        assert_eq!(admitted.header("proxy-authorization"), Some(USER_PASS));
        let inner = server.take_request(PATIENCE).await.unwrap();
        assert_eq!((inner.path(), indexes(&inner)), ("/inner", (1, 1)));
    }

    #[tokio::test]
    async fn an_authenticator_that_gives_up_fails_the_tunnel() {
        let (_server, route) = proxy_server(auth_required(false)).await;
        let error = tunnel(&route, &NoProxyAuth, &NoEvents).await.err().unwrap();
        assert!(error.is_proxy(), "{error:?}");
        assert_eq!(error.message(), "Failed to authenticate with proxy");
        assert_eq!(error.url(), Some("https://origin.test:443/"));
    }

    #[tokio::test]
    async fn tunnel_attempts_stop_at_21() {
        let (server, route) = proxy_server(auth_required(true)).await;
        let authenticator = Answer(Some("Basic d3Jvbmc="), AtomicUsize::new(0));
        let error = tunnel(&route, &authenticator, &NoEvents)
            .await
            .err()
            .unwrap();
        assert!(error.is_protocol(), "{error:?}");
        assert_eq!(error.message(), "Too many tunnel connections attempted: 21");
        assert_eq!(authenticator.1.load(Ordering::SeqCst), 21);
        assert_eq!(server.connection_count(), 21);
        assert_eq!(server.request_count(), 21);
    }

    /// Runs a tunnel over an in-memory stream against a scripted proxy; returns the tunnel's
    /// result and the script's.
    async fn scripted<S, Fut, T>(
        authenticator: &dyn ProxyAuthenticator,
        timeout: Option<Duration>,
        script: S,
    ) -> (Result<BoxedIo, Error>, T)
    where
        S: FnOnce(DuplexStream) -> Fut,
        Fut: Future<Output = T>,
    {
        let (client, proxy) = tokio::io::duplex(64 * 1024);
        let addr = "127.0.0.1:3128".parse().unwrap();
        let route = route("origin.test", Proxy::http("127.0.0.1", 3128), addr);
        let settings = settings(authenticator, timeout);
        let no_reconnect = || async { Err(Error::new(ErrorKind::Connect, "no reconnect")) };
        let connecting =
            connect_tunnel(Box::new(client), &route, &settings, &NoEvents, no_reconnect);
        tokio::join!(connecting, script(proxy))
    }

    async fn read_request(proxy: &mut DuplexStream) -> String {
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(proxy.read_u8().await.unwrap());
        }
        String::from_utf8(head).unwrap()
    }

    #[tokio::test]
    async fn a_407_without_close_is_answered_on_the_same_connection() {
        let authenticator = Answer(Some(USER_PASS), AtomicUsize::new(0));
        let (tunnel, mut proxy) =
            scripted(&authenticator, Some(PATIENCE), |mut proxy| async move {
                let first = read_request(&mut proxy).await;
                assert!(!first.contains("Proxy-Authorization"), "{first}");
                let challenge = b"HTTP/1.1 407 Proxy Authentication Required\r\n\
                Proxy-Authenticate: Basic\r\nContent-Length: 6\r\n\r\ndenied";
                proxy.write_all(challenge).await.unwrap();
                let second = read_request(&mut proxy).await;
                assert!(
                    second.starts_with("CONNECT origin.test:443 HTTP/1.1\r\n"),
                    "{second}"
                );
                let authorization = format!("\r\nProxy-Authorization: {USER_PASS}\r\n");
                assert!(second.contains(&authorization), "{second}");
                proxy
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .unwrap();
                proxy
            })
            .await;
        let mut io = tunnel.unwrap();
        assert_eq!(authenticator.1.load(Ordering::SeqCst), 1);
        // The stream is now the tunnel, both ways.
        let mut buf = [0u8; 4];
        io.write_all(b"ping").await.unwrap();
        proxy.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        proxy.write_all(b"pong").await.unwrap();
        io.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pong");
    }

    /// The error of a tunnel whose proxy answers the first CONNECT with `response`.
    async fn answering(response: impl Into<Vec<u8>>) -> Error {
        let response = response.into();
        let script = |mut proxy: DuplexStream| async move {
            read_request(&mut proxy).await;
            let _ = proxy.write_all(&response).await;
        };
        scripted(&NoProxyAuth, Some(PATIENCE), script)
            .await
            .0
            .err()
            .unwrap()
    }

    #[tokio::test]
    async fn unexpected_answers_fail_the_tunnel() {
        let forbidden = answering(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n").await;
        assert!(forbidden.is_proxy(), "{forbidden:?}");
        assert_eq!(
            forbidden.message(),
            "Unexpected response code for CONNECT: 403"
        );

        let chatty = answering(b"HTTP/1.1 200 OK\r\n\r\nSSH-2.0-OpenSSH\r\n").await;
        assert!(chatty.is_protocol(), "{chatty:?}");
        assert_eq!(chatty.message(), "TLS tunnel buffered too many bytes!");

        let huge = [
            b"HTTP/1.1 200 OK\r\nX-Filler: ".as_slice(),
            &[b'a'; 300 * 1024],
        ]
        .concat();
        let huge = answering(huge).await;
        assert!(huge.is_protocol(), "{huge:?}");
        assert_eq!(
            huge.message(),
            "CONNECT response head is larger than 256 KiB"
        );

        let garbage = answering(b"SSH-2.0-OpenSSH\r\n\r\n").await;
        assert!(garbage.is_protocol(), "{garbage:?}");

        let closed = answering(b"HTTP/1.1 200").await;
        assert!(closed.is_proxy(), "{closed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_proxy_times_out() {
        let started = tokio::time::Instant::now();
        let script = |mut proxy: DuplexStream| async move {
            read_request(&mut proxy).await;
            // Never answers; the stream stays open until the client gives up.
            let _ = proxy.read_u8().await;
        };
        let limit = Some(Duration::from_secs(5));
        let error = scripted(&NoProxyAuth, limit, script).await.0.err().unwrap();
        assert!(error.is_timeout(), "{error:?}");
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }

    #[test]
    fn ipv6_targets_are_bracketed() {
        let route = route("::1", Proxy::http("p", 1), "127.0.0.1:1".parse().unwrap());
        let request = connect_request(&route, &HeaderValue::from_static("ua"), None);
        assert_eq!(
            String::from_utf8(request).unwrap(),
            "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\
             Proxy-Connection: Keep-Alive\r\nUser-Agent: ua\r\n\r\n"
        );
    }
}
