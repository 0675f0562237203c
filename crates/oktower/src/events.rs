//! Events of a call, OkHttp's `EventListener`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use http::{HeaderMap, StatusCode, request, response};

use crate::{ConnectionInfo, Error, Handshake, Protocol, Proxy};

/// Hears the events of one call, in the order OkHttp 5.4 fires them. Every hook does nothing
/// by default; implement the ones you need. A listener is created per call by an
/// [`EventListenerFactory`].
///
/// Hooks are called on the task running the call and must return quickly.
///
/// ```
/// use std::sync::Mutex;
/// use oktower::EventListener;
///
/// #[derive(Default)]
/// struct DnsTimer { hosts: Mutex<Vec<String>> }
///
/// impl EventListener for DnsTimer {
///     fn dns_start(&self, host: &str) {
///         self.hosts.lock().unwrap().push(host.to_owned());
///     }
/// }
/// let timer = DnsTimer::default();
/// timer.dns_start("example.test");
/// assert_eq!(timer.hosts.lock().unwrap().len(), 1);
/// ```
#[allow(unused_variables)]
pub trait EventListener: Send + Sync + 'static {
    /// The call started.
    fn call_start(&self, uri: &http::Uri) {}
    /// The call waits in the dispatcher's queue.
    fn dispatcher_queue_start(&self) {}
    /// The call left the dispatcher's queue.
    fn dispatcher_queue_end(&self) {}
    /// Proxy selection for `uri` starts.
    fn proxy_select_start(&self, uri: &http::Uri) {}
    /// Proxy selection for `uri` chose `proxies`.
    fn proxy_select_end(&self, uri: &http::Uri, proxies: &[Proxy]) {}
    /// A DNS lookup of `host` starts.
    fn dns_start(&self, host: &str) {}
    /// A DNS lookup of `host` answered `addresses`.
    fn dns_end(&self, host: &str, addresses: &[IpAddr]) {}
    /// A TCP connect to `socket_addr` through `proxy` starts.
    fn connect_start(&self, socket_addr: SocketAddr, proxy: &Proxy) {}
    /// The TLS handshake starts.
    fn secure_connect_start(&self) {}
    /// The TLS handshake ended (`None` if it failed).
    fn secure_connect_end(&self, handshake: Option<&Handshake>) {}
    /// The connection is ready, speaking `protocol`.
    fn connect_end(&self, socket_addr: SocketAddr, proxy: &Proxy, protocol: Option<Protocol>) {}
    /// Connecting failed.
    fn connect_failed(
        &self,
        socket_addr: SocketAddr,
        proxy: &Proxy,
        protocol: Option<Protocol>,
        error: &Error,
    ) {
    }
    /// The call got a connection (pooled, coalesced or new).
    fn connection_acquired(&self, connection: &ConnectionInfo) {}
    /// The call gave its connection back: at the end of the response body, when the exchange
    /// failed (after the follow-up layer's `retry_decision`, as in OkHttp), or when the call
    /// was canceled or timed out while it waited for the response head.
    fn connection_released(&self, connection: &ConnectionInfo) {}
    /// Sending the request head starts.
    fn request_headers_start(&self) {}
    /// The request head was sent.
    fn request_headers_end(&self, request: &request::Parts) {}
    /// Sending the request body starts.
    fn request_body_start(&self) {}
    /// The request body was sent (`byte_count` bytes).
    fn request_body_end(&self, byte_count: u64) {}
    /// Sending the request failed.
    fn request_failed(&self, error: &Error) {}
    /// Reading the response head starts.
    fn response_headers_start(&self) {}
    /// A 1xx informational response (102, 103, ...) arrived and was skipped.
    fn informational_response(&self, status: StatusCode, headers: &HeaderMap) {}
    /// The response head arrived.
    fn response_headers_end(&self, response: &response::Parts) {}
    /// Reading the response body starts.
    fn response_body_start(&self) {}
    /// The response body was read to its end (`byte_count` bytes).
    fn response_body_end(&self, byte_count: u64) {}
    /// Reading the response failed.
    fn response_failed(&self, error: &Error) {}
    /// The call ended successfully.
    fn call_end(&self) {}
    /// The call failed.
    fn call_failed(&self, error: &Error) {}
    /// The call was canceled.
    fn canceled(&self) {}
    /// The cache could not satisfy an `only-if-cached` request.
    fn satisfaction_failure(&self, response: &response::Parts) {}
    /// The response came from the cache.
    fn cache_hit(&self, response: &response::Parts) {}
    /// The cache had nothing usable.
    fn cache_miss(&self) {}
    /// The cache holds a response that is being validated with the server.
    fn cache_conditional_hit(&self, cached: &response::Parts) {}
    /// The follow-up layer decided whether to retry after `error` (or the connect layer
    /// retries a request a pooled connection gave back unsent, on another connection).
    fn retry_decision(&self, error: &Error, retry: bool) {}
    /// The follow-up layer decided on a follow-up request (`None`: the response is final).
    fn follow_up_decision(&self, response: &response::Parts, next: Option<&request::Parts>) {}
}

/// A listener that ignores every event.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoEvents;

impl EventListener for NoEvents {}

/// Creates the [`EventListener`] of each call.
///
/// Closures are factories, and so is an `Arc` of a listener (shared by every call):
///
/// ```
/// use std::sync::Arc;
/// use oktower::{EventListener, EventListenerFactory, NoEvents};
///
/// let per_call = |_uri: &http::Uri| -> Arc<dyn EventListener> { Arc::new(NoEvents) };
/// let uri: http::Uri = "http://a.test/".parse().unwrap();
/// let _listener = per_call.create(&uri);
/// ```
pub trait EventListenerFactory: Send + Sync + 'static {
    /// The listener for a call to `uri`.
    fn create(&self, uri: &http::Uri) -> Arc<dyn EventListener>;

    /// A factory whose listeners tell this factory's listener, then `other`'s, of every event
    /// (OkHttp's `EventListener.plus`): a logging listener added to a metrics listener.
    fn and<F: EventListenerFactory>(self, other: F) -> (Self, F)
    where
        Self: Sized,
    {
        (self, other)
    }
}

impl<F> EventListenerFactory for F
where
    F: Fn(&http::Uri) -> Arc<dyn EventListener> + Send + Sync + 'static,
{
    fn create(&self, uri: &http::Uri) -> Arc<dyn EventListener> {
        self(uri)
    }
}

impl EventListenerFactory for Arc<dyn EventListener> {
    fn create(&self, _uri: &http::Uri) -> Arc<dyn EventListener> {
        self.clone()
    }
}
