//! Composing event listeners and their factories (OkHttp's `EventListener.plus`).
//!
//! A pair `(A, B)` of listeners is a listener that tells `A` then `B` of every event;
//! [`EventListeners`] does the same for any number of shared listeners. Factories compose the
//! same way: a pair of factories creates a pair of listeners per call, and
//! [`EventListenerFactory::and`] builds that pair.

use std::sync::Arc;

use crate::{EventListener, EventListenerFactory};

/// Defines every hook of [`EventListener`] as `$forward!($self, hook(arguments...))`: the
/// caller's `$forward` macro says what to do with each hook call (tell each inner listener).
macro_rules! forward_every_hook {
    ($self_:ident, $forward:ident) => {
        fn call_start(&$self_, uri: &::http::Uri) {
            $forward!($self_, call_start(uri));
        }
        fn dispatcher_queue_start(&$self_) {
            $forward!($self_, dispatcher_queue_start());
        }
        fn dispatcher_queue_end(&$self_) {
            $forward!($self_, dispatcher_queue_end());
        }
        fn proxy_select_start(&$self_, uri: &::http::Uri) {
            $forward!($self_, proxy_select_start(uri));
        }
        fn proxy_select_end(&$self_, uri: &::http::Uri, proxies: &[$crate::Proxy]) {
            $forward!($self_, proxy_select_end(uri, proxies));
        }
        fn dns_start(&$self_, host: &str) {
            $forward!($self_, dns_start(host));
        }
        fn dns_end(&$self_, host: &str, addresses: &[::std::net::IpAddr]) {
            $forward!($self_, dns_end(host, addresses));
        }
        fn connect_start(&$self_, socket_addr: ::std::net::SocketAddr, proxy: &$crate::Proxy) {
            $forward!($self_, connect_start(socket_addr, proxy));
        }
        fn secure_connect_start(&$self_) {
            $forward!($self_, secure_connect_start());
        }
        fn secure_connect_end(&$self_, handshake: Option<&$crate::Handshake>) {
            $forward!($self_, secure_connect_end(handshake));
        }
        fn connect_end(&$self_, socket_addr: ::std::net::SocketAddr, proxy: &$crate::Proxy, protocol: Option<$crate::Protocol>) {
            $forward!($self_, connect_end(socket_addr, proxy, protocol));
        }
        fn connect_failed(&$self_, socket_addr: ::std::net::SocketAddr, proxy: &$crate::Proxy, protocol: Option<$crate::Protocol>, error: &$crate::Error,) {
            $forward!($self_, connect_failed(socket_addr, proxy, protocol, error));
        }
        fn connection_acquired(&$self_, connection: &$crate::ConnectionInfo) {
            $forward!($self_, connection_acquired(connection));
        }
        fn connection_released(&$self_, connection: &$crate::ConnectionInfo) {
            $forward!($self_, connection_released(connection));
        }
        fn request_headers_start(&$self_) {
            $forward!($self_, request_headers_start());
        }
        fn request_headers_end(&$self_, request: &::http::request::Parts) {
            $forward!($self_, request_headers_end(request));
        }
        fn request_body_start(&$self_) {
            $forward!($self_, request_body_start());
        }
        fn request_body_end(&$self_, byte_count: u64) {
            $forward!($self_, request_body_end(byte_count));
        }
        fn request_failed(&$self_, error: &$crate::Error) {
            $forward!($self_, request_failed(error));
        }
        fn response_headers_start(&$self_) {
            $forward!($self_, response_headers_start());
        }
        fn informational_response(&$self_, status: ::http::StatusCode, headers: &::http::HeaderMap) {
            $forward!($self_, informational_response(status, headers));
        }
        fn response_headers_end(&$self_, response: &::http::response::Parts) {
            $forward!($self_, response_headers_end(response));
        }
        fn response_body_start(&$self_) {
            $forward!($self_, response_body_start());
        }
        fn response_body_end(&$self_, byte_count: u64) {
            $forward!($self_, response_body_end(byte_count));
        }
        fn response_failed(&$self_, error: &$crate::Error) {
            $forward!($self_, response_failed(error));
        }
        fn call_end(&$self_) {
            $forward!($self_, call_end());
        }
        fn call_failed(&$self_, error: &$crate::Error) {
            $forward!($self_, call_failed(error));
        }
        fn canceled(&$self_) {
            $forward!($self_, canceled());
        }
        fn satisfaction_failure(&$self_, response: &::http::response::Parts) {
            $forward!($self_, satisfaction_failure(response));
        }
        fn cache_hit(&$self_, response: &::http::response::Parts) {
            $forward!($self_, cache_hit(response));
        }
        fn cache_miss(&$self_) {
            $forward!($self_, cache_miss());
        }
        fn cache_conditional_hit(&$self_, cached: &::http::response::Parts) {
            $forward!($self_, cache_conditional_hit(cached));
        }
        fn retry_decision(&$self_, error: &$crate::Error, retry: bool) {
            $forward!($self_, retry_decision(error, retry));
        }
        fn follow_up_decision(&$self_, response: &::http::response::Parts, next: Option<&::http::request::Parts>) {
            $forward!($self_, follow_up_decision(response, next));
        }
    };
}

pub(crate) use forward_every_hook;

macro_rules! to_shared {
    ($s:ident, $hook:ident($($arg:expr),*)) => {
        (**$s).$hook($($arg),*)
    };
}

/// A shared listener hears what it is told, so an `Arc<dyn EventListener>` can be paired with
/// another listener or passed where a listener is expected.
impl<L: EventListener + ?Sized> EventListener for Arc<L> {
    forward_every_hook!(self, to_shared);
}

macro_rules! to_pair {
    ($s:ident, $hook:ident($($arg:expr),*)) => {{
        $s.0.$hook($($arg),*);
        $s.1.$hook($($arg),*);
    }};
}

/// Both listeners hear every event, the first one first.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use oktower::EventListener;
///
/// #[derive(Default)]
/// struct Lookups(AtomicUsize);
/// impl EventListener for Lookups {
///     fn dns_start(&self, _host: &str) {
///         self.0.fetch_add(1, Ordering::Relaxed);
///     }
/// }
/// let both = (Lookups::default(), Lookups::default());
/// both.dns_start("a.test");
/// assert_eq!(both.0.0.load(Ordering::Relaxed), 1);
/// assert_eq!(both.1.0.load(Ordering::Relaxed), 1);
/// ```
impl<A: EventListener, B: EventListener> EventListener for (A, B) {
    forward_every_hook!(self, to_pair);
}

/// Any number of shared listeners, each hearing every event in the order they were added
/// (OkHttp's `AggregateEventListener`).
///
/// ```
/// use std::sync::Arc;
/// use oktower::{EventListener, EventListeners, NoEvents};
///
/// let mut listeners: EventListeners = vec![Arc::new(NoEvents) as Arc<dyn EventListener>].into();
/// listeners.push(Arc::new(NoEvents));
/// assert_eq!(listeners.len(), 2);
/// listeners.call_end();
///
/// let collected: EventListeners = (0..3).map(|_| Arc::new(NoEvents) as Arc<dyn EventListener>).collect();
/// assert_eq!(collected.len(), 3);
/// ```
#[derive(Clone, Default)]
pub struct EventListeners {
    listeners: Vec<Arc<dyn EventListener>>,
}

impl EventListeners {
    /// No listeners: every event is ignored until one is pushed.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `listener` after the others.
    pub fn push(&mut self, listener: Arc<dyn EventListener>) {
        self.listeners.push(listener);
    }

    /// How many listeners hear the events.
    pub fn len(&self) -> usize {
        self.listeners.len()
    }

    /// Whether there is no listener.
    pub fn is_empty(&self) -> bool {
        self.listeners.is_empty()
    }

    /// The listeners, in the order they hear the events.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn EventListener>> {
        self.listeners.iter()
    }
}

impl std::fmt::Debug for EventListeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventListeners")
            .field("len", &self.listeners.len())
            .finish()
    }
}

impl From<Vec<Arc<dyn EventListener>>> for EventListeners {
    fn from(listeners: Vec<Arc<dyn EventListener>>) -> Self {
        EventListeners { listeners }
    }
}

impl FromIterator<Arc<dyn EventListener>> for EventListeners {
    fn from_iter<I: IntoIterator<Item = Arc<dyn EventListener>>>(iter: I) -> Self {
        EventListeners {
            listeners: iter.into_iter().collect(),
        }
    }
}

impl Extend<Arc<dyn EventListener>> for EventListeners {
    fn extend<I: IntoIterator<Item = Arc<dyn EventListener>>>(&mut self, iter: I) {
        self.listeners.extend(iter);
    }
}

macro_rules! to_each {
    ($s:ident, $hook:ident($($arg:expr),*)) => {
        for listener in &$s.listeners {
            listener.$hook($($arg),*);
        }
    };
}

impl EventListener for EventListeners {
    forward_every_hook!(self, to_each);
}

/// Both factories create a listener for each call; the call's listener tells the first one,
/// then the second, of every event. [`EventListenerFactory::and`] builds the pair.
///
/// ```
/// use std::sync::Arc;
/// use oktower::{EventListener, EventListenerFactory, NoEvents};
///
/// let metrics = |_uri: &http::Uri| -> Arc<dyn EventListener> { Arc::new(NoEvents) };
/// let logging = |_uri: &http::Uri| -> Arc<dyn EventListener> { Arc::new(NoEvents) };
/// let both = metrics.and(logging);
/// let uri: http::Uri = "http://a.test/".parse().unwrap();
/// both.create(&uri).call_start(&uri);
/// ```
impl<A: EventListenerFactory, B: EventListenerFactory> EventListenerFactory for (A, B) {
    fn create(&self, uri: &http::Uri) -> Arc<dyn EventListener> {
        Arc::new((self.0.create(uri), self.1.create(uri)))
    }
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::testing::{Recorder, all_hooks, expected_log, fire_every_hook};
    use super::*;
    use crate::NoEvents;

    fn log() -> Arc<Mutex<Vec<String>>> {
        Arc::new(Mutex::new(Vec::new()))
    }

    #[test]
    fn the_hook_list_is_read_from_the_trait() {
        let hooks = all_hooks();
        assert_eq!(hooks.len(), 34, "{hooks:?}");
        assert_eq!(hooks.first(), Some(&"call_start"));
        assert_eq!(hooks.last(), Some(&"follow_up_decision"));
        assert!(hooks.contains(&"informational_response"));
    }

    #[test]
    fn the_recorder_hears_every_hook() {
        let log = log();
        fire_every_hook(&Recorder::new("a", &log));
        assert_eq!(*log.lock().unwrap(), expected_log(&["a"]));
    }

    #[test]
    fn a_pair_forwards_every_hook_to_both_in_order() {
        let log = log();
        let pair = (Recorder::new("a", &log), Recorder::new("b", &log));
        fire_every_hook(&pair);
        assert_eq!(*log.lock().unwrap(), expected_log(&["a", "b"]));
    }

    #[test]
    fn nested_pairs_keep_their_order() {
        let log = log();
        let nested = (
            Recorder::new("a", &log),
            (Recorder::new("b", &log), Recorder::new("c", &log)),
        );
        fire_every_hook(&nested);
        assert_eq!(*log.lock().unwrap(), expected_log(&["a", "b", "c"]));
    }

    #[test]
    fn a_shared_listener_forwards_every_hook() {
        let log = log();
        let shared: Arc<dyn EventListener> = Arc::new(Recorder::new("a", &log));
        fire_every_hook(&shared);
        let paired = (shared.clone(), NoEvents);
        fire_every_hook(&paired);
        let mut twice = expected_log(&["a"]);
        twice.extend(expected_log(&["a"]));
        assert_eq!(*log.lock().unwrap(), twice);
    }

    #[test]
    fn event_listeners_forward_every_hook_in_the_order_they_were_added() {
        let log = log();
        let mut listeners: EventListeners = ["a", "b"]
            .into_iter()
            .map(|tag| Arc::new(Recorder::new(tag, &log)) as Arc<dyn EventListener>)
            .collect();
        listeners.push(Arc::new(Recorder::new("c", &log)));
        listeners.extend([Arc::new(Recorder::new("d", &log)) as Arc<dyn EventListener>]);
        assert_eq!(listeners.len(), 4);
        assert!(!listeners.is_empty());
        assert_eq!(listeners.iter().count(), 4);
        assert_eq!(format!("{listeners:?}"), "EventListeners { len: 4 }");
        fire_every_hook(&listeners);
        assert_eq!(*log.lock().unwrap(), expected_log(&["a", "b", "c", "d"]));
    }

    #[test]
    fn no_listeners_ignore_every_event() {
        let listeners = EventListeners::new();
        assert!(listeners.is_empty());
        fire_every_hook(&listeners);
        let from_vec = EventListeners::from(Vec::new());
        assert_eq!(from_vec.len(), 0);
    }

    #[test]
    fn paired_factories_create_a_listener_per_call_telling_both() {
        let log = log();
        let (log_a, log_b) = (log.clone(), log.clone());
        let first =
            move |_: &http::Uri| -> Arc<dyn EventListener> { Arc::new(Recorder::new("a", &log_a)) };
        let second =
            move |_: &http::Uri| -> Arc<dyn EventListener> { Arc::new(Recorder::new("b", &log_b)) };
        let both = first.and(second);
        let uri: http::Uri = "http://a.test/".parse().unwrap();
        let one = both.create(&uri);
        let other = both.create(&uri);
        assert!(!Arc::ptr_eq(&one, &other), "a listener per call");
        fire_every_hook(&*one);
        assert_eq!(*log.lock().unwrap(), expected_log(&["a", "b"]));
    }

    #[test]
    fn factories_chain_with_and() {
        let log = log();
        let shared: Arc<dyn EventListener> = Arc::new(Recorder::new("s", &log));
        let log_a = log.clone();
        let per_call =
            move |_: &http::Uri| -> Arc<dyn EventListener> { Arc::new(Recorder::new("a", &log_a)) };
        let chained = per_call
            .and(shared)
            .and(|_: &http::Uri| Arc::new(NoEvents) as Arc<dyn EventListener>);
        let uri: http::Uri = "http://a.test/".parse().unwrap();
        fire_every_hook(&*chained.create(&uri));
        assert_eq!(*log.lock().unwrap(), expected_log(&["a", "s"]));
    }
}
