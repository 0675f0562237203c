//! The event listeners behind `-v` ([`VerboseLog`]) and `--events` ([`EventLog`]). Both write
//! whole lines to a [`LineSink`] (stderr in okcurl, a buffer in tests).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use http::{HeaderMap, StatusCode, Uri, request, response};
use oktower::{ConnectionInfo, Error, EventListener, Handshake, Protocol, Proxy};

use crate::verbose::{
    Acquired, connection_line, protocol_name, request_head_lines, response_head_lines, status_line,
    tls_line,
};

/// Where listeners write their lines (each call is one line or a block of lines, no trailing
/// newline needed).
pub type LineSink = Arc<dyn Fn(&str) + Send + Sync>;

/// `-v`: what curl's verbose mode shows — the route tried, TLS, the connection opened, reused
/// or coalesced onto, the request and response heads as they went over the wire, retries,
/// follow-ups and cache decisions. One per call.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use oktower::EventListener;
/// use okcurl::VerboseLog;
///
/// let lines = Arc::new(Mutex::new(Vec::new()));
/// let sink = lines.clone();
/// let log = VerboseLog::new(Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_owned())));
/// log.cache_miss();
/// assert_eq!(lines.lock().unwrap().as_slice(), ["* cache miss"]);
/// ```
pub struct VerboseLog {
    sink: LineSink,
    connected: AtomicBool,
}

impl VerboseLog {
    /// A log writing to `sink`.
    pub fn new(sink: LineSink) -> Self {
        VerboseLog {
            sink,
            connected: AtomicBool::new(false),
        }
    }

    fn line(&self, text: &str) {
        (self.sink)(text.trim_end_matches('\n'));
    }
}

fn via(proxy: &Proxy) -> String {
    if proxy.is_direct() {
        String::new()
    } else {
        format!(" via proxy {proxy}")
    }
}

impl EventListener for VerboseLog {
    fn dispatcher_queue_start(&self) {
        self.line("* waiting for a dispatcher slot");
    }

    fn dns_end(&self, host: &str, addresses: &[IpAddr]) {
        self.line(&format!("* resolved {host} to {addresses:?}"));
    }

    fn connect_start(&self, socket_addr: SocketAddr, proxy: &Proxy) {
        self.line(&format!("* trying {socket_addr}{}...", via(proxy)));
    }

    fn secure_connect_end(&self, handshake: Option<&Handshake>) {
        if let Some(handshake) = handshake {
            self.line(&tls_line(handshake));
        }
    }

    fn connect_end(&self, socket_addr: SocketAddr, proxy: &Proxy, protocol: Option<Protocol>) {
        self.connected.store(true, Ordering::Release);
        let protocol = protocol.map_or("?", protocol_name);
        self.line(&format!(
            "* connected to {socket_addr}{} ({protocol})",
            via(proxy)
        ));
    }

    fn connect_failed(
        &self,
        socket_addr: SocketAddr,
        proxy: &Proxy,
        _protocol: Option<Protocol>,
        error: &Error,
    ) {
        self.line(&format!(
            "* connect to {socket_addr}{} failed: {error}",
            via(proxy)
        ));
    }

    fn connection_acquired(&self, connection: &ConnectionInfo) {
        let acquired = if connection.is_coalesced() {
            Acquired::Coalesced
        } else if self.connected.swap(false, Ordering::AcqRel) {
            Acquired::Opened
        } else {
            Acquired::Reused
        };
        self.line(&connection_line(connection, acquired));
    }

    fn request_headers_end(&self, request: &request::Parts) {
        self.line(&request_head_lines(request));
    }

    fn informational_response(&self, status: StatusCode, headers: &HeaderMap) {
        let version = http::Version::HTTP_11;
        self.line(&response_head_lines(version, status, headers));
    }

    fn response_headers_end(&self, response: &response::Parts) {
        let lines = response_head_lines(response.version, response.status, &response.headers);
        self.line(&lines);
    }

    fn retry_decision(&self, error: &Error, retry: bool) {
        let decision = if retry { "retrying" } else { "not retrying" };
        self.line(&format!("* {error}; {decision}"));
    }

    fn follow_up_decision(&self, response: &response::Parts, next: Option<&request::Parts>) {
        if let Some(next) = next {
            let status = status_line(response.version, response.status);
            self.line(&format!(
                "* {status}: following up with {} {}",
                next.method, next.uri
            ));
        }
    }

    fn cache_hit(&self, _response: &response::Parts) {
        self.line("* cache hit");
    }

    fn cache_miss(&self) {
        self.line("* cache miss");
    }

    fn cache_conditional_hit(&self, _cached: &response::Parts) {
        self.line("* cache conditional hit: validating the stored response");
    }

    fn satisfaction_failure(&self, _response: &response::Parts) {
        self.line("* the cache cannot satisfy only-if-cached");
    }

    fn canceled(&self) {
        self.line("* call canceled");
    }
}

/// `--events`: every event of a call, one line each, with its offset from the call's start:
/// `[   1.2 ms] dns_end a.test [127.0.0.1]`.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use oktower::EventListener;
/// use okcurl::EventLog;
///
/// let lines = Arc::new(Mutex::new(Vec::new()));
/// let sink = lines.clone();
/// let log = EventLog::new(Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_owned())));
/// log.call_end();
/// assert!(lines.lock().unwrap()[0].ends_with(" ms] call_end"));
/// ```
pub struct EventLog {
    sink: LineSink,
    origin: Instant,
}

impl EventLog {
    /// A log writing to `sink`, counting offsets from now.
    pub fn new(sink: LineSink) -> Self {
        EventLog {
            sink,
            origin: Instant::now(),
        }
    }

    fn event(&self, name: &str, detail: std::fmt::Arguments<'_>) {
        let offset = self.origin.elapsed().as_secs_f64() * 1000.0;
        let detail = detail.to_string();
        let line = if detail.is_empty() {
            format!("[{offset:>8.1} ms] {name}")
        } else {
            format!("[{offset:>8.1} ms] {name} {detail}")
        };
        (self.sink)(&line);
    }
}

impl EventListener for EventLog {
    fn call_start(&self, uri: &Uri) {
        self.event("call_start", format_args!("{uri}"));
    }
    fn dispatcher_queue_start(&self) {
        self.event("dispatcher_queue_start", format_args!(""));
    }
    fn dispatcher_queue_end(&self) {
        self.event("dispatcher_queue_end", format_args!(""));
    }
    fn proxy_select_start(&self, uri: &Uri) {
        self.event("proxy_select_start", format_args!("{uri}"));
    }
    fn proxy_select_end(&self, _uri: &Uri, proxies: &[Proxy]) {
        let proxies: Vec<String> = proxies.iter().map(ToString::to_string).collect();
        self.event("proxy_select_end", format_args!("{proxies:?}"));
    }
    fn dns_start(&self, host: &str) {
        self.event("dns_start", format_args!("{host}"));
    }
    fn dns_end(&self, host: &str, addresses: &[IpAddr]) {
        self.event("dns_end", format_args!("{host} {addresses:?}"));
    }
    fn connect_start(&self, socket_addr: SocketAddr, proxy: &Proxy) {
        self.event("connect_start", format_args!("{socket_addr}{}", via(proxy)));
    }
    fn secure_connect_start(&self) {
        self.event("secure_connect_start", format_args!(""));
    }
    fn secure_connect_end(&self, handshake: Option<&Handshake>) {
        match handshake {
            Some(h) => self.event(
                "secure_connect_end",
                format_args!("{:?} {:?}", h.tls_version(), h.cipher_suite()),
            ),
            None => self.event("secure_connect_end", format_args!("")),
        }
    }
    fn connect_end(&self, socket_addr: SocketAddr, proxy: &Proxy, protocol: Option<Protocol>) {
        let protocol = protocol.map_or("?", protocol_name);
        self.event(
            "connect_end",
            format_args!("{socket_addr}{} {protocol}", via(proxy)),
        );
    }
    fn connect_failed(
        &self,
        socket_addr: SocketAddr,
        proxy: &Proxy,
        _protocol: Option<Protocol>,
        error: &Error,
    ) {
        self.event(
            "connect_failed",
            format_args!("{socket_addr}{}: {error}", via(proxy)),
        );
    }
    fn connection_acquired(&self, connection: &ConnectionInfo) {
        let coalesced = if connection.is_coalesced() {
            " (coalesced)"
        } else {
            ""
        };
        self.event(
            "connection_acquired",
            format_args!("#{}{coalesced} {}", connection.id(), connection.route()),
        );
    }
    fn connection_released(&self, connection: &ConnectionInfo) {
        self.event("connection_released", format_args!("#{}", connection.id()));
    }
    fn request_headers_start(&self) {
        self.event("request_headers_start", format_args!(""));
    }
    fn request_headers_end(&self, request: &request::Parts) {
        self.event(
            "request_headers_end",
            format_args!("{} {}", request.method, request.uri),
        );
    }
    fn request_body_start(&self) {
        self.event("request_body_start", format_args!(""));
    }
    fn request_body_end(&self, byte_count: u64) {
        self.event("request_body_end", format_args!("{byte_count} bytes"));
    }
    fn request_failed(&self, error: &Error) {
        self.event("request_failed", format_args!("{error}"));
    }
    fn response_headers_start(&self) {
        self.event("response_headers_start", format_args!(""));
    }
    fn informational_response(&self, status: StatusCode, _headers: &HeaderMap) {
        self.event(
            "informational_response",
            format_args!("{}", status.as_u16()),
        );
    }
    fn response_headers_end(&self, response: &response::Parts) {
        self.event(
            "response_headers_end",
            format_args!("{}", status_line(response.version, response.status)),
        );
    }
    fn response_body_start(&self) {
        self.event("response_body_start", format_args!(""));
    }
    fn response_body_end(&self, byte_count: u64) {
        self.event("response_body_end", format_args!("{byte_count} bytes"));
    }
    fn response_failed(&self, error: &Error) {
        self.event("response_failed", format_args!("{error}"));
    }
    fn call_end(&self) {
        self.event("call_end", format_args!(""));
    }
    fn call_failed(&self, error: &Error) {
        self.event("call_failed", format_args!("{error}"));
    }
    fn canceled(&self) {
        self.event("canceled", format_args!(""));
    }
    fn satisfaction_failure(&self, response: &response::Parts) {
        self.event(
            "satisfaction_failure",
            format_args!("{}", response.status.as_u16()),
        );
    }
    fn cache_hit(&self, response: &response::Parts) {
        self.event("cache_hit", format_args!("{}", response.status.as_u16()));
    }
    fn cache_miss(&self) {
        self.event("cache_miss", format_args!(""));
    }
    fn cache_conditional_hit(&self, cached: &response::Parts) {
        self.event(
            "cache_conditional_hit",
            format_args!("{}", cached.status.as_u16()),
        );
    }
    fn retry_decision(&self, error: &Error, retry: bool) {
        self.event("retry_decision", format_args!("retry={retry}: {error}"));
    }
    fn follow_up_decision(&self, response: &response::Parts, next: Option<&request::Parts>) {
        match next {
            Some(next) => self.event(
                "follow_up_decision",
                format_args!(
                    "{} -> {} {}",
                    response.status.as_u16(),
                    next.method,
                    next.uri
                ),
            ),
            None => self.event(
                "follow_up_decision",
                format_args!("{} -> none", response.status.as_u16()),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use oktower::{Address, NoProxy, Route, Scheme, SystemDns};

    use super::*;

    fn capture() -> (LineSink, Arc<Mutex<Vec<String>>>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let sink: LineSink = Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_owned()));
        (sink, lines)
    }

    fn info(coalesced: bool) -> ConnectionInfo {
        let address = Address::builder(
            Scheme::Http,
            "a.test",
            80,
            Arc::new(SystemDns),
            Arc::new(NoProxy),
        )
        .build();
        let addr: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let route = Route::new(address, Proxy::Direct, addr);
        ConnectionInfo::new(9, route, Protocol::Http11, None, coalesced)
    }

    #[test]
    fn verbose_tells_opened_from_reused_and_coalesced() {
        let (sink, lines) = capture();
        let log = VerboseLog::new(sink);
        let addr: SocketAddr = "127.0.0.1:80".parse().unwrap();
        log.connect_start(addr, &Proxy::Direct);
        log.connect_end(addr, &Proxy::Direct, Some(Protocol::Http11));
        log.connection_acquired(&info(false));
        log.connection_acquired(&info(false));
        log.connection_acquired(&info(true));
        let lines = lines.lock().unwrap();
        assert_eq!(lines[0], "* trying 127.0.0.1:80...");
        assert_eq!(lines[1], "* connected to 127.0.0.1:80 (http/1.1)");
        assert!(
            lines[2].starts_with("* connection #9 opened: "),
            "{}",
            lines[2]
        );
        assert!(
            lines[3].starts_with("* connection #9 reused: "),
            "{}",
            lines[3]
        );
        assert!(
            lines[4].starts_with("* connection #9 coalesced onto: "),
            "{}",
            lines[4]
        );
    }

    #[test]
    fn verbose_shows_heads_without_trailing_newlines() {
        let (sink, lines) = capture();
        let log = VerboseLog::new(sink);
        let (parts, ()) = http::Response::builder()
            .status(204)
            .header("x-a", "1")
            .body(())
            .unwrap()
            .into_parts();
        log.response_headers_end(&parts);
        let via_proxy = Proxy::http("p.test", 3128);
        log.connect_start("10.0.0.1:3128".parse().unwrap(), &via_proxy);
        let lines = lines.lock().unwrap();
        assert_eq!(lines[0], "< HTTP/1.1 204 No Content\n< x-a: 1\n<");
        assert!(lines[1].contains(" via proxy "), "{}", lines[1]);
    }

    #[test]
    fn events_have_offsets_and_details() {
        let (sink, lines) = capture();
        let log = EventLog::new(sink);
        log.call_start(&"http://a.test/".parse().unwrap());
        log.dns_end("a.test", &["127.0.0.1".parse().unwrap()]);
        log.connection_acquired(&info(true));
        log.response_body_end(12);
        let lines = lines.lock().unwrap();
        assert!(lines[0].starts_with('['), "{}", lines[0]);
        assert!(
            lines[0].ends_with(" ms] call_start http://a.test/"),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].ends_with("dns_end a.test [127.0.0.1]"),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].contains("connection_acquired #9 (coalesced) "),
            "{}",
            lines[2]
        );
        assert!(
            lines[3].ends_with("response_body_end 12 bytes"),
            "{}",
            lines[3]
        );
    }
}
