//! Route selection, OkHttp's `RouteSelector`: the proxies to try for an address, each proxy's
//! resolved socket addresses, and recently failed routes last.

use std::net::{IpAddr, SocketAddr};

use super::RouteDatabase;
use super::address_order::reorder_for_happy_eyeballs;
use crate::call_context::CallEvents;
use crate::{Address, Error, ErrorKind, EventListener, Proxy, Route};

/// Selects the routes to one [`Address`], one proxy at a time.
///
/// The proxies are chosen when the selector is created (with `proxy_select_start` and
/// `proxy_select_end` around the choice): the address's explicit proxy if it has one, else
/// what its [`ProxySelector`](crate::ProxySelector) answers, `[Proxy::Direct]` when that is
/// empty. Each [`next`](Self::next) resolves the next proxy's host (the origin's for
/// [`Proxy::Direct`], the proxy's otherwise; IP literals without DNS) and returns its routes,
/// minus those the [`RouteDatabase`] postpones. The postponed routes come last, as a final
/// selection once every proxy has been tried.
pub(crate) struct RouteSelector {
    address: Address,
    database: RouteDatabase,
    events: CallEvents,
    fast_fallback: bool,
    proxies: Vec<Proxy>,
    next_proxy: usize,
    postponed: Vec<Route>,
}

impl RouteSelector {
    /// A selector for `address`, postponing the routes `database` holds, reporting to `events`,
    /// and ordering each proxy's addresses for happy eyeballs when `fast_fallback` is on (the
    /// resolver's order otherwise).
    pub(crate) fn new(
        address: Address,
        database: RouteDatabase,
        events: CallEvents,
        fast_fallback: bool,
    ) -> Self {
        let uri = address.uri();
        events.proxy_select_start(uri);
        let proxies = match address.proxy() {
            Some(proxy) => vec![proxy.clone()],
            None => address.proxy_selector().select(uri),
        };
        let selector = RouteSelector {
            address,
            database,
            events,
            fast_fallback,
            proxies,
            next_proxy: 0,
            postponed: Vec::new(),
        };
        let uri = selector.address.uri();
        selector.events.proxy_select_end(uri, selector.proxies());
        selector
    }

    /// The proxies to try, best first: an empty answer of the selector means a direct
    /// connection (held as no list at all, so that the common case allocates none).
    fn proxies(&self) -> &[Proxy] {
        static DIRECT_ONLY: [Proxy; 1] = [Proxy::Direct];
        if self.proxies.is_empty() {
            &DIRECT_ONLY
        } else {
            &self.proxies
        }
    }

    /// Whether [`next`](Self::next) has another selection to make: a proxy not yet tried, or
    /// postponed routes. A failed `next` does not end the selection.
    pub(crate) fn has_next(&self) -> bool {
        self.next_proxy < self.proxies().len() || !self.postponed.is_empty()
    }

    /// The routes of the next proxy that has any route not postponed; once every proxy has been
    /// tried, the postponed routes.
    ///
    /// Fails with [`ErrorKind::Dns`] when the proxy's host (or the origin's, for a direct
    /// connection) does not resolve, and with [`ErrorKind::Builder`] when its port is 0. That
    /// proxy is then done with: [`has_next`](Self::has_next) tells whether a next call can try
    /// another. Calling this when `has_next` is false is an error of [`ErrorKind::Connect`].
    ///
    /// Cancel-safe: dropping the future during a DNS lookup leaves that proxy to be tried again.
    pub(crate) async fn next(&mut self) -> Result<Selection, Error> {
        if !self.has_next() {
            let proxies: Vec<String> = self.proxies().iter().map(Proxy::to_string).collect();
            let (host, proxies) = (self.address.host(), proxies.join(", "));
            let message = format!("No route to {host}; exhausted proxy configurations: {proxies}");
            return Err(self.error(ErrorKind::Connect, message));
        }
        let mut routes = Vec::new();
        while let Some(proxy) = self.proxies().get(self.next_proxy).cloned() {
            let resolved = self.socket_addrs(&proxy).await;
            self.next_proxy += 1;
            let resolved = resolved?;
            routes.reserve_exact(resolved.len());
            for socket_addr in resolved {
                let route = Route::new(self.address.clone(), proxy.clone(), socket_addr);
                if self.database.should_postpone(&route) {
                    self.postponed.push(route);
                } else {
                    routes.push(route);
                }
            }
            if !routes.is_empty() {
                break;
            }
        }
        if routes.is_empty() {
            routes = std::mem::take(&mut self.postponed);
        }
        Ok(Selection { routes, next: 0 })
    }

    /// Where TCP connects for `proxy`: the origin's addresses when direct, the proxy's
    /// otherwise (for SOCKS5 too: the origin's name is sent to the proxy unresolved).
    async fn socket_addrs(&self, proxy: &Proxy) -> Result<Vec<SocketAddr>, Error> {
        let origin = (self.address.host(), self.address.port());
        let (host, port) = proxy.host_port().unwrap_or(origin);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let what = if proxy.is_direct() { "" } else { "proxy " };
        if port == 0 {
            let v6 = host.contains(':');
            let (l, r) = if v6 { ("[", "]") } else { ("", "") };
            let message = format!("No route to {what}{l}{host}{r}:{port}; port is out of range");
            return Err(self.error(ErrorKind::Builder, message));
        }
        // The origin's host was parsed once, with its address; a proxy's is parsed here.
        let ip_literal = match proxy.host_port() {
            None => self.address.ip_literal(),
            Some(_) => host.parse::<IpAddr>().ok(),
        };
        let mut ips = match ip_literal {
            // One address, in the one list returned.
            Some(ip) => return Ok(vec![SocketAddr::new(ip, port)]),
            None => {
                self.events.dns_start(host);
                let ips = self.address.dns().lookup(host).await.map_err(|error| {
                    let message = format!("failed to resolve {what}{host}");
                    self.error(ErrorKind::Dns, message).with_source(error)
                })?;
                if ips.is_empty() {
                    let message = format!("the resolver returned no addresses for {what}{host}");
                    return Err(self.error(ErrorKind::Dns, message));
                }
                self.events.dns_end(host, &ips);
                ips
            }
        };
        if self.fast_fallback {
            ips = reorder_for_happy_eyeballs(ips);
        }
        Ok(ips.iter().map(|&ip| (ip, port).into()).collect())
    }

    /// An error of `kind` about this selector's address.
    fn error(&self, kind: ErrorKind, message: String) -> Error {
        Error::new(kind, message).with_url(self.address.to_string())
    }
}

/// The routes of one proxy (or the postponed routes), yielded in the order to try them.
#[derive(Clone, Debug)]
pub(crate) struct Selection {
    routes: Vec<Route>,
    next: usize,
}

impl Selection {
    /// Every route of the selection, including those already yielded (the candidates for a
    /// coalescing lookup in the pool).
    pub(crate) fn routes(&self) -> &[Route] {
        &self.routes
    }
}

#[cfg(test)]
impl Selection {
    /// Whether [`Iterator::next`] yields another route.
    fn has_next(&self) -> bool {
        self.next < self.routes.len()
    }
}

impl Iterator for Selection {
    type Item = Route;

    fn next(&mut self) -> Option<Route> {
        let route = self.routes.get(self.next)?.clone();
        self.next += 1;
        Some(route)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dns, DnsFuture, EventListener, ProxySelector, Scheme};
    use std::collections::HashMap;
    use std::error::Error as _;
    use std::io;
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::sync::Arc;
    use std::sync::Mutex;

    const URI_HOST: &str = "hosta";
    const URI_PORT: u16 = 1003;
    const PROXY_A_HOST: &str = "proxya";
    const PROXY_B_HOST: &str = "proxyb";

    fn proxy_a() -> Proxy {
        Proxy::http(PROXY_A_HOST, 1001)
    }

    fn proxy_b() -> Proxy {
        Proxy::http(PROXY_B_HOST, 1002)
    }

    fn v4(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0xc000_0200 + n))
    }

    fn v6(n: u16) -> IpAddr {
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, n))
    }

    /// A test's world: a resolver answering from a map (a missing host fails, `[]` answers
    /// nothing, the hanging host never answers), a proxy selector answering `proxies`, and an
    /// event listener, all writing to one log; and the route database.
    #[derive(Default)]
    struct Fake {
        world: Mutex<World>,
        proxies: Vec<Proxy>,
        database: RouteDatabase,
    }

    #[derive(Default)]
    struct World {
        answers: HashMap<String, Vec<IpAddr>>,
        hanging: Option<String>,
        log: Vec<String>,
        allocated: u32,
    }

    /// A fake whose proxy selector answers `proxies`.
    fn fake(proxies: &[Proxy]) -> Arc<Fake> {
        Arc::new(Fake {
            proxies: proxies.to_vec(),
            ..Fake::default()
        })
    }

    impl Fake {
        fn world(&self) -> std::sync::MutexGuard<'_, World> {
            self.world.lock().expect("world")
        }

        fn log(&self, entry: String) {
            self.world().log.push(entry);
        }

        /// Answers `count` fresh IPv4 addresses for `host`, and returns them.
        fn allocate(&self, host: &str, count: u32) -> Vec<IpAddr> {
            let mut world = self.world();
            let ips: Vec<IpAddr> = (1..=count).map(|n| v4(world.allocated + n)).collect();
            world.allocated += count;
            world.answers.insert(host.to_owned(), ips.clone());
            ips
        }

        fn set(&self, host: &str, ips: Option<&[IpAddr]>) {
            let answers = &mut self.world().answers;
            match ips {
                Some(ips) => answers.insert(host.to_owned(), ips.to_vec()),
                None => answers.remove(host),
            };
        }

        /// Empties the log, returning it.
        fn take_log(&self) -> Vec<String> {
            std::mem::take(&mut self.world().log)
        }

        /// Empties the log, returning the entries that start with `prefix`, without it.
        fn entries(&self, prefix: &str) -> Vec<String> {
            let log = self.take_log().into_iter();
            log.filter_map(|e| e.strip_prefix(prefix).map(str::to_owned))
                .collect()
        }

        /// A selector for `scheme://host:1003`, resolved and proxied by this fake.
        fn selector(
            self: &Arc<Self>,
            (scheme, host): (Scheme, &str),
            proxy: Option<Proxy>,
            fast_fallback: bool,
        ) -> RouteSelector {
            let builder = Address::builder(scheme, host, URI_PORT, self.clone(), self.clone());
            let address = match proxy {
                Some(proxy) => builder.proxy(proxy).build(),
                None => builder.build(),
            };
            let events: Arc<dyn EventListener> = self.clone();
            RouteSelector::new(address, self.database.clone(), events.into(), fast_fallback)
        }

        /// A selector for `scheme://hosta:1003`, fast fallback off.
        fn start(self: &Arc<Self>, scheme: Scheme, proxy: Option<Proxy>) -> RouteSelector {
            self.selector((scheme, URI_HOST), proxy, false)
        }
    }

    impl Dns for Fake {
        fn lookup(&self, host: &str) -> DnsFuture {
            self.log(format!("lookup {host}"));
            let world = self.world();
            if world.hanging.as_deref() == Some(host) {
                return Box::pin(std::future::pending());
            }
            let answer = world.answers.get(host).cloned();
            let error = io::Error::new(io::ErrorKind::NotFound, format!("no {host}"));
            Box::pin(async move { answer.ok_or(error) })
        }
    }

    impl ProxySelector for Fake {
        fn select(&self, uri: &http::Uri) -> Vec<Proxy> {
            self.log(format!("select {uri}"));
            self.proxies.clone()
        }
    }

    impl EventListener for Fake {
        fn proxy_select_start(&self, uri: &http::Uri) {
            self.log(format!("ProxySelectStart {uri}"));
        }
        fn proxy_select_end(&self, uri: &http::Uri, proxies: &[Proxy]) {
            let proxies: Vec<String> = proxies.iter().map(ToString::to_string).collect();
            self.log(format!("ProxySelectEnd {uri} {proxies:?}"));
        }
        fn dns_start(&self, host: &str) {
            self.log(format!("DnsStart {host}"));
        }
        fn dns_end(&self, host: &str, addresses: &[IpAddr]) {
            self.log(format!("DnsEnd {host} {addresses:?}"));
        }
    }

    /// The routes of the next selection, yielded one by one, as (proxy, socket address).
    async fn take(rs: &mut RouteSelector) -> Vec<(Proxy, SocketAddr)> {
        let mut selection = rs.next().await.expect("a selection");
        let mut routes = Vec::new();
        while let Some(route) = selection.next() {
            assert_eq!(route.address(), &rs.address);
            routes.push((route.proxy().clone(), route.socket_addr()));
            assert_eq!(
                selection.has_next(),
                routes.len() < selection.routes().len()
            );
        }
        routes
    }

    /// The routes expected directly to each of `ips` on the origin's port.
    fn direct(ips: &[IpAddr]) -> Vec<(Proxy, SocketAddr)> {
        via(&Proxy::Direct, ips, URI_PORT)
    }

    /// The routes expected through `proxy` to each of `ips` on `port`.
    fn via(proxy: &Proxy, ips: &[IpAddr], port: u16) -> Vec<(Proxy, SocketAddr)> {
        let at = |ip: &IpAddr| SocketAddr::new(*ip, port);
        ips.iter().map(|ip| (proxy.clone(), at(ip))).collect()
    }

    #[tokio::test]
    async fn single_route() {
        let t = fake(&[]);
        let mut rs = t.start(Scheme::Http, None);
        assert!(rs.has_next());
        let ips = t.allocate(URI_HOST, 1);
        assert_eq!(take(&mut rs).await, direct(&ips));
        assert_eq!(t.entries("lookup "), [URI_HOST]);
        assert!(!rs.has_next());
        let exhausted = rs.next();
        fn assert_send<T: Send>(_: &T) {}
        assert_send(&exhausted);
        let exhausted = exhausted.await.expect_err("exhausted");
        assert!(exhausted.is_connect());
        let message = "No route to hosta; exhausted proxy configurations: DIRECT";
        assert_eq!(exhausted.message(), message);
    }

    #[tokio::test]
    async fn single_route_returns_failed_route() {
        let t = fake(&[]);
        let ips = t.allocate(URI_HOST, 1);
        let mut rs = t.start(Scheme::Http, None);
        let mut selection = rs.next().await.expect("first");
        t.database.failed(&selection.next().expect("route"));
        let mut rs = t.start(Scheme::Http, None);
        assert_eq!(take(&mut rs).await, direct(&ips));
        assert!(!rs.has_next());
    }

    #[tokio::test]
    async fn explicit_proxy_tries_that_proxys_addresses_only() {
        let t = fake(&[]);
        let mut rs = t.start(Scheme::Http, Some(proxy_a()));
        let a = t.allocate(PROXY_A_HOST, 2);
        assert_eq!(take(&mut rs).await, via(&proxy_a(), &a, 1001));
        assert!(!rs.has_next());
        assert_eq!(t.entries("lookup "), [PROXY_A_HOST]);
        assert!(t.entries("select ").is_empty());
    }

    /// OkHttp's explicitDirectProxy, proxySelectorReturnsNull and proxySelectorReturnsNoProxies.
    #[tokio::test]
    async fn explicit_direct_proxy_or_no_proxies_selected_means_direct() {
        for explicit in [Some(Proxy::Direct), None] {
            let t = fake(&[]);
            let mut rs = t.start(Scheme::Http, explicit.clone());
            let asked = usize::from(explicit.is_none());
            assert_eq!(t.entries("select ").len(), asked);
            assert_eq!(rs.proxies(), [Proxy::Direct]);
            let ips = t.allocate(URI_HOST, 2);
            assert_eq!(take(&mut rs).await, direct(&ips));
            assert!(!rs.has_next());
            assert_eq!(t.entries("lookup "), [URI_HOST]);
        }
    }

    /// OkHttp's proxySelectorReturnsMultipleProxies and
    /// multipleProxiesMultipleInetAddressesMultipleConfigurations.
    #[tokio::test]
    async fn proxy_selector_returns_multiple_proxies() {
        for scheme in [Scheme::Http, Scheme::Https] {
            let t = fake(&[proxy_a(), proxy_b()]);
            let mut rs = t.start(scheme, None);
            assert_eq!(t.entries("select ").len(), 1);
            let a = t.allocate(PROXY_A_HOST, 2);
            assert_eq!(take(&mut rs).await, via(&proxy_a(), &a, 1001));
            assert_eq!(t.entries("lookup "), [PROXY_A_HOST]);
            assert!(rs.has_next());
            let b = t.allocate(PROXY_B_HOST, 2);
            assert_eq!(take(&mut rs).await, via(&proxy_b(), &b, 1002));
            assert_eq!(t.entries("lookup "), [PROXY_B_HOST]);
            assert!(!rs.has_next());
        }
    }

    #[tokio::test]
    async fn proxy_selector_direct_entries_are_tried_in_their_place() {
        // OkHttp's proxySelectorDirectConnectionsAreSkipped: despite its name, a DIRECT answer
        // is not skipped; it means "the origin server", tried where the selector put it.
        let t = fake(&[proxy_a(), Proxy::Direct]);
        let mut rs = t.start(Scheme::Http, None);
        let a = t.allocate(PROXY_A_HOST, 1);
        let origin = t.allocate(URI_HOST, 1);
        assert_eq!(take(&mut rs).await, via(&proxy_a(), &a, 1001));
        assert_eq!(take(&mut rs).await, direct(&origin));
        assert_eq!(t.entries("lookup "), [PROXY_A_HOST, URI_HOST]);
        assert!(!rs.has_next());
    }

    #[tokio::test]
    async fn proxy_dns_failure_continues_to_next_proxy() {
        let t = fake(&[proxy_a(), proxy_b(), proxy_a()]);
        let mut rs = t.start(Scheme::Http, None);
        let a = t.allocate(PROXY_A_HOST, 1);
        assert_eq!(take(&mut rs).await, via(&proxy_a(), &a, 1001));
        assert_eq!(t.entries("lookup "), [PROXY_A_HOST]);
        assert!(rs.has_next());
        t.set(PROXY_B_HOST, None);
        let error = rs.next().await.expect_err("proxy B does not resolve");
        assert!(error.is_dns());
        assert_eq!(error.message(), "failed to resolve proxy proxyb");
        let source = error.source().and_then(|s| s.downcast_ref::<io::Error>());
        assert_eq!(source.map(io::Error::kind), Some(io::ErrorKind::NotFound));
        assert_eq!(t.entries("lookup "), [PROXY_B_HOST]);

        assert!(rs.has_next());
        let a = t.allocate(PROXY_A_HOST, 1);
        assert_eq!(take(&mut rs).await, via(&proxy_a(), &a, 1001));
        assert_eq!(t.entries("lookup "), [PROXY_A_HOST]);
        assert!(!rs.has_next());
    }

    #[tokio::test]
    async fn failed_route_with_single_proxy() {
        let t = fake(&[]);
        t.allocate(URI_HOST, 2);
        let mut rs = t.start(Scheme::Https, None);
        let regular = rs.next().await.expect("first").routes().to_vec();
        assert_eq!(regular.len(), 2);
        t.database.failed(&regular[0]);
        let mut rs = t.start(Scheme::Https, None);
        let mut good = rs.next().await.expect("the good routes");
        assert_eq!(good.next().as_ref(), Some(&regular[1]));
        assert_eq!(good.routes(), &regular[1..], "yielded routes stay listed");
        let failed = rs.next().await.expect("the failed routes");
        assert_eq!(failed.routes(), &regular[..1]);
        assert!(!rs.has_next());
    }

    #[tokio::test]
    async fn failed_route_with_multiple_proxies() {
        let t = fake(&[proxy_a(), proxy_b()]);
        let a = t.allocate(PROXY_A_HOST, 1);
        let b = t.allocate(PROXY_B_HOST, 1);
        let mut rs = t.start(Scheme::Https, None);
        let mut selection = rs.next().await.expect("proxy A");
        assert_eq!(t.entries("lookup "), [PROXY_A_HOST]);
        t.database.failed(&selection.next().expect("route"));
        let mut rs = t.start(Scheme::Https, None);
        assert_eq!(take(&mut rs).await, via(&proxy_b(), &b, 1002));
        assert_eq!(t.entries("lookup "), [PROXY_A_HOST, PROXY_B_HOST]);
        assert_eq!(take(&mut rs).await, via(&proxy_a(), &a, 1001));
        assert!(
            t.entries("lookup ").is_empty(),
            "postponed routes are not resolved again"
        );
        assert!(!rs.has_next());
    }

    #[tokio::test]
    async fn addresses_sorted_only_when_fast_fallback_is_on() {
        for (fast_fallback, expected) in [
            (true, [v6(1), v4(1), v6(2), v4(2)]),
            (false, [v6(1), v6(2), v4(1), v4(2)]),
        ] {
            let t = fake(&[]);
            t.set(URI_HOST, Some(&[v6(1), v6(2), v4(1), v4(2)]));
            let direct_proxy = Some(Proxy::Direct);
            let mut rs = t.selector((Scheme::Http, URI_HOST), direct_proxy, fast_fallback);
            let routes = take(&mut rs).await;
            assert_eq!(routes, direct(&expected), "fast fallback {fast_fallback}");
        }
    }

    #[tokio::test]
    async fn ip_literals_skip_dns_and_dns_events() {
        let t = fake(&[]);
        let mut rs = t.selector((Scheme::Http, "2001:db8::7"), None, false);
        assert_eq!(take(&mut rs).await, direct(&[v6(7)]));
        let socks = Proxy::socks5("[2001:db8::9]", 1080);
        let mut rs = t.start(Scheme::Https, Some(socks.clone()));
        assert_eq!(take(&mut rs).await, via(&socks, &[v6(9)], 1080));
        let dns = |e: &String| e.starts_with("Dns") || e.starts_with("lookup");
        assert!(!t.take_log().iter().any(dns));
    }

    #[tokio::test]
    async fn events_surround_proxy_selection_and_dns() {
        let t = fake(&[Proxy::socks5(PROXY_A_HOST, 1080)]);
        let mut rs = t.start(Scheme::Https, None);
        let ips = t.allocate(PROXY_A_HOST, 1);
        rs.next().await.expect("selection");
        let log = [
            "ProxySelectStart https://hosta:1003/".to_owned(),
            "select https://hosta:1003/".to_owned(),
            r#"ProxySelectEnd https://hosta:1003/ ["socks5://proxya:1080"]"#.to_owned(),
            "DnsStart proxya".to_owned(),
            "lookup proxya".to_owned(), // SOCKS5: TCP goes to the proxy, so it is resolved.
            format!("DnsEnd proxya {ips:?}"),
        ];
        assert_eq!(t.take_log(), log);
    }

    #[tokio::test]
    async fn empty_and_failed_lookups_are_dns_errors_without_dns_end() {
        let no_dns_end = ["DnsStart hosta".to_owned(), "lookup hosta".to_owned()];
        let t = fake(&[]);
        t.set(URI_HOST, Some(&[]));
        let mut rs = t.start(Scheme::Http, None);
        let error = rs.next().await.expect_err("no addresses");
        assert!(error.is_dns());
        let message = "the resolver returned no addresses for hosta";
        assert_eq!(error.message(), message);
        assert_eq!(error.url(), Some("http://hosta:1003"));
        assert!(!rs.has_next());
        assert!(t.take_log().ends_with(&no_dns_end));
        t.set(URI_HOST, None);
        let mut rs = t.start(Scheme::Http, None);
        let error = rs.next().await.expect_err("lookup fails");
        assert_eq!(error.message(), "failed to resolve hosta");
        assert!(error.source().is_some());
        assert!(t.take_log().ends_with(&no_dns_end));
    }

    #[tokio::test]
    async fn port_zero_is_out_of_range_and_the_next_proxy_is_tried() {
        let t = fake(&[Proxy::http("[::1]", 0), proxy_b()]);
        let mut rs = t.start(Scheme::Http, None);
        let error = rs.next().await.expect_err("port 0");
        assert!(error.is_builder());
        let message = "No route to proxy [::1]:0; port is out of range";
        assert_eq!(error.message(), message);
        assert!(rs.has_next());
        let b = t.allocate(PROXY_B_HOST, 1);
        assert_eq!(take(&mut rs).await, via(&proxy_b(), &b, 1002));
    }

    #[tokio::test(start_paused = true)]
    async fn dropping_next_during_dns_keeps_the_proxy() {
        let t = fake(&[]);
        t.world().hanging = Some(URI_HOST.to_owned());
        let mut rs = t.start(Scheme::Http, None);
        let pending = tokio::time::timeout(std::time::Duration::from_secs(1), rs.next());
        assert!(pending.await.is_err(), "the lookup never answers");
        t.world().hanging = None;
        let ips = t.allocate(URI_HOST, 1);
        assert_eq!(take(&mut rs).await, direct(&ips));
        assert_eq!(t.entries("lookup "), [URI_HOST, URI_HOST]);
    }
}
