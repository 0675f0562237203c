//! The routes that failed recently, OkHttp's `RouteDatabase`.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::Route;

/// A blacklist of routes that failed to connect, so that route selection tries them last.
///
/// A route is added when connecting over it fails and removed when a connection over it
/// succeeds. Route selection postpones the routes held here: it tries every other route first and
/// the failed ones only when nothing else is left (OkHttp's `RouteDatabase`).
///
/// Cloning is cheap and the clones share one set, so a database can be shared between clients
/// that should learn from each other's failures. All methods take a short lock and never block
/// on I/O.
///
/// ```
/// use std::net::SocketAddr;
/// use std::sync::Arc;
/// use oktower::{Address, NoProxy, Proxy, Route, RouteDatabase, Scheme, SystemDns};
///
/// let address = Address::builder(Scheme::Http, "a.test", 80, Arc::new(SystemDns), Arc::new(NoProxy)).build();
/// let route = Route::new(address, Proxy::Direct, "192.0.2.1:80".parse::<SocketAddr>().unwrap());
///
/// let database = RouteDatabase::new();
/// let shared = database.clone();
/// database.failed(&route);
/// assert!(shared.should_postpone(&route));
/// assert_eq!(shared.len(), 1);
///
/// shared.connected(&route);
/// assert!(!database.should_postpone(&route));
/// assert!(database.is_empty());
/// ```
#[derive(Clone, Default)]
pub struct RouteDatabase {
    failed: Arc<Mutex<HashSet<Route>>>,
}

impl RouteDatabase {
    /// An empty database.
    pub fn new() -> Self {
        RouteDatabase::default()
    }

    /// Records that connecting over `route` failed.
    pub fn failed(&self, route: &Route) {
        self.lock().insert(route.clone());
    }

    /// Records that connecting over `route` succeeded: it is no longer postponed.
    pub fn connected(&self, route: &Route) {
        let mut failed = self.lock();
        // Most databases are empty: no hashing of the route then.
        if !failed.is_empty() {
            failed.remove(route);
        }
    }

    /// Whether `route` failed recently and should be tried after the others.
    pub fn should_postpone(&self, route: &Route) -> bool {
        let failed = self.lock();
        !failed.is_empty() && failed.contains(route)
    }

    /// How many routes are postponed.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no route is postponed.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> MutexGuard<'_, HashSet<Route>> {
        // The set stays consistent even if a holder panicked: every critical section is a
        // single set operation.
        self.failed.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for RouteDatabase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteDatabase")
            .field("failed", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Address, NoProxy, Proxy, Scheme, SystemDns};
    use std::net::SocketAddr;

    fn address() -> Address {
        Address::builder(
            Scheme::Https,
            "a.test",
            443,
            Arc::new(SystemDns),
            Arc::new(NoProxy),
        )
        .build()
    }

    fn route(address: &Address, ip: &str) -> Route {
        let socket_addr: SocketAddr = format!("{ip}:443").parse().expect("test address");
        Route::new(address.clone(), Proxy::Direct, socket_addr)
    }

    #[test]
    fn failed_routes_are_postponed_until_connected() {
        let database = RouteDatabase::new();
        let address = address();
        let (a, b) = (route(&address, "192.0.2.1"), route(&address, "192.0.2.2"));
        database.failed(&a);
        database.failed(&a);
        assert!(database.should_postpone(&a));
        assert!(!database.should_postpone(&b));
        assert_eq!(database.len(), 1);
        database.connected(&b);
        assert_eq!(database.len(), 1);
        database.connected(&a);
        assert!(!database.should_postpone(&a));
        assert!(database.is_empty());
    }

    #[test]
    fn clones_share_one_set() {
        let database = RouteDatabase::new();
        let clone = database.clone();
        let address = address();
        clone.failed(&route(&address, "192.0.2.1"));
        assert!(database.should_postpone(&route(&address, "192.0.2.1")));
        assert_eq!(format!("{database:?}"), "RouteDatabase { failed: 1 }");
    }

    #[test]
    fn routes_differ_by_proxy() {
        let database = RouteDatabase::new();
        let direct = route(&address(), "192.0.2.1");
        let proxied = Route::new(
            direct.address().clone(),
            Proxy::http("proxy.test", 443),
            direct.socket_addr(),
        );
        database.failed(&proxied);
        assert!(!database.should_postpone(&direct));
        assert!(database.should_postpone(&proxied));
    }
}
