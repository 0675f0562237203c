//! Test helpers shared by the listener tests: a listener that records the name of every hook it
//! hears, a call of every hook, and the list of hooks read from the trait's source.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use http::{HeaderMap, StatusCode};

use crate::{
    Address, ConnectionInfo, Error, ErrorKind, EventListener, NoProxy, Protocol, Proxy, Route,
    Scheme, SystemDns,
};

/// Every hook of [`EventListener`], read from `events.rs` in declaration order, so a hook added
/// to the trait shows up here without anyone remembering to list it.
pub(crate) fn all_hooks() -> Vec<&'static str> {
    let source = include_str!("../events.rs");
    let start = source
        .find("pub trait EventListener:")
        .expect("events.rs declares the trait");
    let body = &source[start..];
    let end = body.find("\n}\n").expect("the trait ends");
    body[..end]
        .split("    fn ")
        .skip(1)
        .map(|rest| &rest[..rest.find('(').expect("a hook has parameters")])
        .collect()
}

/// Records `"{tag}:{hook}"` for every hook it hears into a log shared with other recorders.
pub(crate) struct Recorder {
    tag: &'static str,
    log: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    pub(crate) fn new(tag: &'static str, log: &Arc<Mutex<Vec<String>>>) -> Self {
        Recorder {
            tag,
            log: log.clone(),
        }
    }

    fn record(&self, hook: &str) {
        self.log
            .lock()
            .unwrap()
            .push(format!("{}:{hook}", self.tag));
    }
}

macro_rules! record {
    ($s:ident, $hook:ident($($arg:expr),*)) => {{
        $(let _ = $arg;)*
        $s.record(stringify!($hook))
    }};
}

impl EventListener for Recorder {
    forward_every_hook!(self, record);
}

/// A connection description for tests.
pub(crate) fn connection(id: u64) -> ConnectionInfo {
    let address = Address::builder(
        Scheme::Http,
        "a.test",
        80,
        Arc::new(SystemDns),
        Arc::new(NoProxy),
    )
    .build();
    let route = Route::new(address, Proxy::Direct, socket_addr());
    ConnectionInfo::new(id, route, Protocol::Http11, None, false)
}

/// The socket address the tests connect to.
pub(crate) fn socket_addr() -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080)
}

/// Calls every hook of `listener` once, in declaration order.
pub(crate) fn fire_every_hook(listener: &dyn EventListener) {
    let uri: http::Uri = "http://a.test/".parse().unwrap();
    let addr = socket_addr();
    let error = Error::new(ErrorKind::Io, "broken pipe");
    let request = http::Request::new(()).into_parts().0;
    let response = http::Response::new(()).into_parts().0;
    let info = connection(1);
    listener.call_start(&uri);
    listener.dispatcher_queue_start();
    listener.dispatcher_queue_end();
    listener.proxy_select_start(&uri);
    listener.proxy_select_end(&uri, &[Proxy::Direct]);
    listener.dns_start("a.test");
    listener.dns_end("a.test", &[addr.ip()]);
    listener.connect_start(addr, &Proxy::Direct);
    listener.secure_connect_start();
    listener.secure_connect_end(None);
    listener.connect_end(addr, &Proxy::Direct, Some(Protocol::Http11));
    listener.connect_failed(addr, &Proxy::Direct, None, &error);
    listener.connection_acquired(&info);
    listener.connection_released(&info);
    listener.request_headers_start();
    listener.request_headers_end(&request);
    listener.request_body_start();
    listener.request_body_end(3);
    listener.request_failed(&error);
    listener.response_headers_start();
    listener.informational_response(StatusCode::EARLY_HINTS, &HeaderMap::new());
    listener.response_headers_end(&response);
    listener.response_body_start();
    listener.response_body_end(5);
    listener.response_failed(&error);
    listener.call_end();
    listener.call_failed(&error);
    listener.canceled();
    listener.satisfaction_failure(&response);
    listener.cache_hit(&response);
    listener.cache_miss();
    listener.cache_conditional_hit(&response);
    listener.retry_decision(&error, true);
    listener.follow_up_decision(&response, Some(&request));
}

/// What `fire_every_hook` leaves in the log of the listeners tagged `tags`, each told of every
/// event before the next event.
pub(crate) fn expected_log(tags: &[&str]) -> Vec<String> {
    all_hooks()
        .into_iter()
        .flat_map(|hook| tags.iter().map(move |tag| format!("{tag}:{hook}")))
        .collect()
}
