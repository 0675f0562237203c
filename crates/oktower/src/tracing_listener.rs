//! A listener that reports every event of a call to [`tracing`].

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use http::{HeaderMap, StatusCode, request, response};

use crate::{
    ConnectionInfo, Error, EventListener, EventListenerFactory, Handshake, Protocol, Proxy,
};

/// Reports every event of one call as a `tracing` event named after its hook (`dns_start`,
/// `connect_end`, ...), at `DEBUG`, or `WARN` for `connect_failed`, `request_failed` and
/// `response_failed`. `call_failed` stays at `DEBUG`: it carries the error, and whoever made the
/// call gets it too.
///
/// The events are children of a `DEBUG` span `oktower.call` with the fields `call_id` and
/// `url`, and carry `call_id` themselves. Other fields: `host`, `addresses`, `socket_addr`,
/// `proxy`, `protocol`, `connection_id`, `tls_version`, `cipher_suite`, `method`, `status`,
/// `bytes`, `error`, `retry`, `next_url`. URLs are logged without user info, and without their
/// query unless asked for ([`TracingListenerFactory::include_query`]); header values are never
/// logged.
///
/// ```
/// use oktower::{EventListener, TracingListener};
///
/// let uri: http::Uri = "https://user:secret@example.test/search?token=abc".parse().unwrap();
/// let listener = TracingListener::new(7, &uri);
/// assert_eq!(listener.call_id(), 7);
/// listener.call_start(&uri); // logs url=https://example.test/search
/// ```
pub struct TracingListener {
    call_id: u64,
    include_query: bool,
    span: tracing::Span,
}

impl TracingListener {
    /// The listener of call `call_id` to `uri`, logging URLs without their query.
    pub fn new(call_id: u64, uri: &http::Uri) -> Self {
        Self::with_query(call_id, uri, false)
    }

    fn with_query(call_id: u64, uri: &http::Uri, include_query: bool) -> Self {
        let url = RedactedUri { uri, include_query };
        let span = tracing::debug_span!("oktower.call", call_id, url = %url);
        TracingListener {
            call_id,
            include_query,
            span,
        }
    }

    /// The call's id.
    pub fn call_id(&self) -> u64 {
        self.call_id
    }

    /// The call's span, the parent of every event reported.
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    fn url<'a>(&self, uri: &'a http::Uri) -> RedactedUri<'a> {
        RedactedUri {
            uri,
            include_query: self.include_query,
        }
    }
}

impl fmt::Debug for TracingListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TracingListener")
            .field("call_id", &self.call_id)
            .finish_non_exhaustive()
    }
}

/// Creates a [`TracingListener`] for each call, numbering the calls from 1.
///
/// ```
/// use oktower::{EventListenerFactory, TracingListenerFactory};
///
/// let factory = TracingListenerFactory::new().include_query(true);
/// let uri: http::Uri = "http://a.test/?page=2".parse().unwrap();
/// let listener = factory.create(&uri);
/// listener.call_end();
/// ```
#[derive(Debug, Default)]
pub struct TracingListenerFactory {
    calls: AtomicU64,
    include_query: bool,
}

impl TracingListenerFactory {
    /// A factory whose listeners log URLs without their query.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether logged URLs keep their query (off by default: queries often carry tokens).
    pub fn include_query(mut self, include: bool) -> Self {
        self.include_query = include;
        self
    }
}

impl EventListenerFactory for TracingListenerFactory {
    fn create(&self, uri: &http::Uri) -> Arc<dyn EventListener> {
        let call_id = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        Arc::new(TracingListener::with_query(
            call_id,
            uri,
            self.include_query,
        ))
    }
}

/// A URL without user info, and without its query unless `include_query`.
struct RedactedUri<'a> {
    uri: &'a http::Uri,
    include_query: bool,
}

impl fmt::Display for RedactedUri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let uri = self.uri;
        if let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) {
            write!(f, "{scheme}://{host}")?;
            if let Some(port) = uri.port_u16() {
                write!(f, ":{port}")?;
            }
        }
        f.write_str(uri.path())?;
        match uri.query() {
            Some(query) if self.include_query => write!(f, "?{query}"),
            _ => Ok(()),
        }
    }
}

/// Proxies separated by commas, each without its credentials.
struct ProxyList<'a>(&'a [Proxy]);

impl fmt::Display for ProxyList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, proxy) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{proxy}")?;
        }
        Ok(())
    }
}

/// Emits the event `$name` at `$level` under the call's span, with the call id and `$fields`.
macro_rules! report {
    ($self_:ident, $level:ident, $name:literal $(, $($fields:tt)*)?) => {
        tracing::$level!(parent: &$self_.span, call_id = $self_.call_id, $($($fields)*,)? $name)
    };
}

impl EventListener for TracingListener {
    fn call_start(&self, uri: &http::Uri) {
        report!(self, debug, "call_start", url = %self.url(uri));
    }
    fn dispatcher_queue_start(&self) {
        report!(self, debug, "dispatcher_queue_start");
    }
    fn dispatcher_queue_end(&self) {
        report!(self, debug, "dispatcher_queue_end");
    }
    fn proxy_select_start(&self, uri: &http::Uri) {
        report!(self, debug, "proxy_select_start", url = %self.url(uri));
    }
    fn proxy_select_end(&self, uri: &http::Uri, proxies: &[Proxy]) {
        report!(self, debug, "proxy_select_end", url = %self.url(uri), proxies = %ProxyList(proxies));
    }
    fn dns_start(&self, host: &str) {
        report!(self, debug, "dns_start", host);
    }
    fn dns_end(&self, host: &str, addresses: &[IpAddr]) {
        report!(self, debug, "dns_end", host, addresses = ?addresses);
    }
    fn connect_start(&self, socket_addr: SocketAddr, proxy: &Proxy) {
        report!(self, debug, "connect_start", socket_addr = %socket_addr, proxy = %proxy);
    }
    fn secure_connect_start(&self) {
        report!(self, debug, "secure_connect_start");
    }
    fn secure_connect_end(&self, handshake: Option<&Handshake>) {
        report!(
            self,
            debug,
            "secure_connect_end",
            succeeded = handshake.is_some(),
            tls_version = handshake.map(|h| debug(h.tls_version())),
            cipher_suite = handshake.map(|h| debug(h.cipher_suite()))
        );
    }
    fn connect_end(&self, socket_addr: SocketAddr, proxy: &Proxy, protocol: Option<Protocol>) {
        report!(
            self,
            debug,
            "connect_end",
            socket_addr = %socket_addr,
            proxy = %proxy,
            protocol = protocol.map(debug)
        );
    }
    fn connect_failed(
        &self,
        socket_addr: SocketAddr,
        proxy: &Proxy,
        protocol: Option<Protocol>,
        error: &Error,
    ) {
        report!(
            self,
            warn,
            "connect_failed",
            socket_addr = %socket_addr,
            proxy = %proxy,
            protocol = protocol.map(debug),
            error = %error
        );
    }
    fn connection_acquired(&self, connection: &ConnectionInfo) {
        report!(
            self,
            debug,
            "connection_acquired",
            connection_id = connection.id(),
            socket_addr = %connection.route().socket_addr(),
            proxy = %connection.route().proxy(),
            protocol = ?connection.protocol(),
            coalesced = connection.is_coalesced()
        );
    }
    fn connection_released(&self, connection: &ConnectionInfo) {
        report!(
            self,
            debug,
            "connection_released",
            connection_id = connection.id()
        );
    }
    fn request_headers_start(&self) {
        report!(self, debug, "request_headers_start");
    }
    fn request_headers_end(&self, request: &request::Parts) {
        report!(self, debug, "request_headers_end", method = %request.method);
    }
    fn request_body_start(&self) {
        report!(self, debug, "request_body_start");
    }
    fn request_body_end(&self, byte_count: u64) {
        report!(self, debug, "request_body_end", bytes = byte_count);
    }
    fn request_failed(&self, error: &Error) {
        report!(self, warn, "request_failed", error = %error);
    }
    fn response_headers_start(&self) {
        report!(self, debug, "response_headers_start");
    }
    fn informational_response(&self, status: StatusCode, _headers: &HeaderMap) {
        report!(
            self,
            debug,
            "informational_response",
            status = status.as_u16()
        );
    }
    fn response_headers_end(&self, response: &response::Parts) {
        report!(
            self,
            debug,
            "response_headers_end",
            status = response.status.as_u16(),
            version = ?response.version
        );
    }
    fn response_body_start(&self) {
        report!(self, debug, "response_body_start");
    }
    fn response_body_end(&self, byte_count: u64) {
        report!(self, debug, "response_body_end", bytes = byte_count);
    }
    fn response_failed(&self, error: &Error) {
        report!(self, warn, "response_failed", error = %error);
    }
    fn call_end(&self) {
        report!(self, debug, "call_end");
    }
    fn call_failed(&self, error: &Error) {
        report!(self, debug, "call_failed", error = %error);
    }
    fn canceled(&self) {
        report!(self, debug, "canceled");
    }
    fn satisfaction_failure(&self, response: &response::Parts) {
        report!(
            self,
            debug,
            "satisfaction_failure",
            status = response.status.as_u16()
        );
    }
    fn cache_hit(&self, response: &response::Parts) {
        report!(self, debug, "cache_hit", status = response.status.as_u16());
    }
    fn cache_miss(&self) {
        report!(self, debug, "cache_miss");
    }
    fn cache_conditional_hit(&self, cached: &response::Parts) {
        report!(
            self,
            debug,
            "cache_conditional_hit",
            status = cached.status.as_u16()
        );
    }
    fn retry_decision(&self, error: &Error, retry: bool) {
        report!(self, debug, "retry_decision", error = %error, retry);
    }
    fn follow_up_decision(&self, response: &response::Parts, next: Option<&request::Parts>) {
        report!(
            self,
            debug,
            "follow_up_decision",
            status = response.status.as_u16(),
            next_url = next.map(|next| display(self.url(&next.uri)))
        );
    }
}

#[cfg(test)]
#[path = "tracing_listener_tests.rs"]
mod tests;
