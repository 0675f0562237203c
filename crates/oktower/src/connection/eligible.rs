//! Whether a pooled connection may carry an exchange for an address: OkHttp's
//! `RealConnection.isEligible`, including HTTP/2 connection coalescing (RFC 9113 §9.1.1).

use rustls_pki_types::{ServerName, UnixTime};

use crate::{Address, Handshake, Protocol, Route, TlsConfig};

/// What the decision needs to know of a connection.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConnectionFacts<'a> {
    /// The route the connection was opened on.
    pub(crate) route: &'a Route,
    /// The protocol it speaks.
    pub(crate) protocol: Protocol,
    /// Its TLS handshake, for TLS connections.
    pub(crate) handshake: Option<&'a Handshake>,
    /// How many exchanges it may carry at once: 1 for HTTP/1, the peer's
    /// `MAX_CONCURRENT_STREAMS` for HTTP/2.
    pub(crate) allocation_limit: usize,
    /// How many exchanges it carries now.
    pub(crate) active_exchanges: usize,
    /// It takes no new exchanges (failed, or going away).
    pub(crate) no_new_exchanges: bool,
    /// It takes no more coalesced exchanges (set after a 421 on one).
    pub(crate) no_coalesced_exchanges: bool,
    /// Its TLS settings check certificates with a custom verifier.
    pub(crate) custom_verifier: bool,
}

/// Whether the connection described by `facts` may carry an exchange for `address`.
///
/// `routes` are the new address's resolved routes, when known (coalescing needs them); `tls`
/// is the TLS configuration of `address` (for its pins), `now` the time pins are checked at.
/// The rules, in OkHttp's order:
///
/// 1. the connection has room (`active_exchanges < allocation_limit`) and takes new exchanges;
/// 2. the addresses are equal except for the host;
/// 3. the same host is then a match.
///
/// Otherwise, to coalesce, all of these must hold:
///
/// - a. the connection is HTTP/2;
/// - b. it is direct, and some direct candidate route has its socket address (IP and port);
/// - c. no custom certificate verifier is in use;
/// - d. coalescing was not turned off on it, and its certificate is valid for the new host
///   (wildcards included);
/// - e. the new host's pins, if any, match its certificate chain.
pub(crate) fn is_eligible(
    facts: &ConnectionFacts<'_>,
    address: &Address,
    routes: Option<&[Route]>,
    tls: Option<&TlsConfig>,
    now: UnixTime,
) -> bool {
    // 1.
    if facts.active_exchanges >= facts.allocation_limit || facts.no_new_exchanges {
        return false;
    }
    // 2.
    let connection_address = facts.route.address();
    if !connection_address.equals_except_host(address) {
        return false;
    }
    // 3.
    if connection_address.host() == address.host() {
        return true;
    }
    // a.
    if !facts.protocol.is_multiplexed() {
        return false;
    }
    // b.
    let Some(routes) = routes else {
        return false;
    };
    if !route_matches_any(facts.route, routes) {
        return false;
    }
    // c.
    if facts.custom_verifier {
        return false;
    }
    // d. (`supportsUrl`; the ports are equal by rule 2.)
    let Some(handshake) = facts.handshake else {
        return false;
    };
    if facts.no_coalesced_exchanges || !certificate_supports_host(handshake, address.host()) {
        return false;
    }
    // e.
    match tls {
        Some(tls) => tls
            .check_pins(address.host(), handshake.peer_certificates(), now)
            .is_ok(),
        None => false,
    }
}

/// Some candidate route and the connection's route are both direct, to the same IP and port.
fn route_matches_any(route: &Route, candidates: &[Route]) -> bool {
    route.proxy().is_direct()
        && candidates.iter().any(|candidate| {
            candidate.proxy().is_direct() && candidate.socket_addr() == route.socket_addr()
        })
}

/// The leaf certificate names `host` (a DNS name, wildcards included, or an IP address).
fn certificate_supports_host(handshake: &Handshake, host: &str) -> bool {
    let Some(leaf) = handshake.peer_certificates().first() else {
        return false;
    };
    let (Ok(certificate), Ok(name)) = (
        webpki::EndEntityCert::try_from(leaf),
        ServerName::try_from(host),
    ) else {
        return false;
    };
    certificate.verify_is_valid_for_subject_name(&name).is_ok()
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::Arc;

    use oktower_testkit::HeldCertificate;
    use rustls::{CipherSuite, ProtocolVersion};

    use super::*;
    use crate::{CertificatePinner, Dns, NoProxy, Proxy, ProxySelector, Scheme, SystemDns};

    /// A root, a leaf it signed, and shared resolver and proxy selector.
    struct World {
        root: HeldCertificate,
        leaf: HeldCertificate,
        dns: Arc<dyn Dns>,
        selector: Arc<dyn ProxySelector>,
    }

    impl World {
        fn new() -> World {
            let root = HeldCertificate::builder()
                .certificate_authority(0)
                .build()
                .unwrap();
            let leaf = HeldCertificate::builder()
                .add_subject_alternative_name("a.example.com")
                .add_subject_alternative_name("b.example.com")
                .add_subject_alternative_name("*.wild.example.com")
                .add_subject_alternative_name("127.0.0.1")
                .signed_by(&root)
                .build()
                .unwrap();
            World {
                root,
                leaf,
                dns: Arc::new(SystemDns),
                selector: Arc::new(NoProxy),
            }
        }

        fn tls(&self, pins: &[String]) -> TlsConfig {
            TlsConfig::builder()
                .without_platform_roots()
                .add_root_certificate(self.root.certificate_der().clone())
                .certificate_pinner(
                    CertificatePinner::builder()
                        .add("**.example.com", pins)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap()
        }

        fn address(&self, host: &str, port: u16, tls: &TlsConfig) -> Address {
            Address::builder(
                Scheme::Https,
                host,
                port,
                self.dns.clone(),
                self.selector.clone(),
            )
            .tls(tls.settings_id())
            .build()
        }

        fn handshake(&self) -> Handshake {
            Handshake::new(
                ProtocolVersion::TLSv1_3,
                CipherSuite::TLS13_AES_128_GCM_SHA256,
                vec![self.leaf.certificate_der().clone()],
                Vec::new(),
            )
        }
    }

    const IP: &str = "10.0.0.1:443";

    fn direct(address: &Address, socket: &str) -> Route {
        Route::new(
            address.clone(),
            Proxy::Direct,
            socket.parse::<SocketAddr>().unwrap(),
        )
    }

    fn facts<'a>(route: &'a Route, handshake: &'a Handshake) -> ConnectionFacts<'a> {
        ConnectionFacts {
            route,
            protocol: Protocol::Http2,
            handshake: Some(handshake),
            allocation_limit: 100,
            active_exchanges: 0,
            no_new_exchanges: false,
            no_coalesced_exchanges: false,
            custom_verifier: false,
        }
    }

    /// Whether a connection to a.example.com at `IP`, changed by `change`, may carry an
    /// exchange for `host` whose routes are `IP` (or `routes`).
    fn eligible_for(
        world: &World,
        tls: &TlsConfig,
        host: &str,
        routes: Option<&[&str]>,
        change: impl FnOnce(&mut ConnectionFacts<'_>),
    ) -> bool {
        let route = direct(&world.address("a.example.com", 443, tls), IP);
        let handshake = world.handshake();
        let mut facts = facts(&route, &handshake);
        change(&mut facts);
        let address = world.address(host, 443, tls);
        let routes: Option<Vec<Route>> = routes
            .unwrap_or(&[IP])
            .iter()
            .map(|socket| Some(direct(&address, socket)))
            .collect();
        is_eligible(
            &facts,
            &address,
            routes.as_deref(),
            Some(tls),
            UnixTime::now(),
        )
    }

    #[test]
    fn full_or_failed_connections_take_nothing() {
        let world = World::new();
        let tls = world.tls(&[]);
        assert!(eligible_for(&world, &tls, "a.example.com", None, |_| {}));
        assert!(!eligible_for(&world, &tls, "a.example.com", None, |f| {
            f.active_exchanges = 100;
        }));
        assert!(!eligible_for(&world, &tls, "a.example.com", None, |f| {
            f.protocol = Protocol::Http11;
            f.allocation_limit = 1;
            f.active_exchanges = 1;
        }));
        assert!(!eligible_for(&world, &tls, "a.example.com", None, |f| {
            f.no_new_exchanges = true;
        }));
    }

    #[test]
    fn addresses_must_be_equal_except_for_the_host() {
        let world = World::new();
        let tls = world.tls(&[]);
        let route = direct(&world.address("a.example.com", 443, &tls), IP);
        let handshake = world.handshake();
        let facts = facts(&route, &handshake);
        let now = UnixTime::now();

        let other_port = world.address("a.example.com", 8443, &tls);
        assert!(!is_eligible(&facts, &other_port, None, Some(&tls), now));
        let other_tls = world.tls(&[]);
        let other_settings = world.address("a.example.com", 443, &other_tls);
        assert!(!is_eligible(&facts, &other_settings, None, Some(&tls), now));
        let other_dns = Address::builder(
            Scheme::Https,
            "a.example.com",
            443,
            Arc::new(SystemDns),
            world.selector.clone(),
        )
        .tls(tls.settings_id())
        .build();
        assert!(!is_eligible(&facts, &other_dns, None, Some(&tls), now));
    }

    #[test]
    fn the_same_host_needs_nothing_else() {
        let world = World::new();
        let tls = world.tls(&[]);
        let route = direct(&world.address("a.example.com", 443, &tls), IP);
        let handshake = world.handshake();
        let facts = ConnectionFacts {
            protocol: Protocol::Http11,
            handshake: None,
            allocation_limit: 1,
            no_coalesced_exchanges: true,
            custom_verifier: true,
            ..facts(&route, &handshake)
        };
        let same = world.address("a.example.com", 443, &tls);
        assert!(is_eligible(&facts, &same, None, None, UnixTime::now()));
    }

    #[test]
    fn coalescing_needs_http2() {
        let world = World::new();
        let tls = world.tls(&[]);
        assert!(eligible_for(&world, &tls, "b.example.com", None, |_| {}));
        assert!(!eligible_for(&world, &tls, "b.example.com", None, |f| {
            f.protocol = Protocol::Http11;
        }));
    }

    #[test]
    fn coalescing_needs_a_direct_route_to_the_same_socket_address() {
        let world = World::new();
        let tls = world.tls(&[]);
        let b = "b.example.com";
        assert!(eligible_for(
            &world,
            &tls,
            b,
            Some(&["10.0.0.9:443", IP]),
            |_| {}
        ));
        assert!(!eligible_for(
            &world,
            &tls,
            b,
            Some(&["10.0.0.9:443"]),
            |_| {}
        ));
        assert!(!eligible_for(&world, &tls, b, Some(&[]), |_| {}));

        // No routes known.
        let route = direct(&world.address("a.example.com", 443, &tls), IP);
        let handshake = world.handshake();
        let address = world.address(b, 443, &tls);
        let now = UnixTime::now();
        assert!(!is_eligible(
            &facts(&route, &handshake),
            &address,
            None,
            Some(&tls),
            now
        ));

        // The connection, or the candidate, goes through a proxy.
        let proxy = Proxy::http("proxy.test", 3128);
        let proxied = Route::new(route.address().clone(), proxy.clone(), IP.parse().unwrap());
        let candidates = [direct(&address, IP)];
        let proxied_facts = facts(&proxied, &handshake);
        assert!(!is_eligible(
            &proxied_facts,
            &address,
            Some(&candidates),
            Some(&tls),
            now
        ));
        let proxied_candidates = [Route::new(address.clone(), proxy, IP.parse().unwrap())];
        let direct_facts = facts(&route, &handshake);
        assert!(!is_eligible(
            &direct_facts,
            &address,
            Some(&proxied_candidates),
            Some(&tls),
            now
        ));
    }

    #[test]
    fn a_custom_verifier_prevents_coalescing() {
        let world = World::new();
        let tls = world.tls(&[]);
        assert!(!eligible_for(&world, &tls, "b.example.com", None, |f| {
            f.custom_verifier = true;
        }));
    }

    #[test]
    fn the_certificate_must_name_the_new_host() {
        let world = World::new();
        let tls = world.tls(&[]);
        assert!(!eligible_for(&world, &tls, "c.example.com", None, |_| {}));
        assert!(!eligible_for(&world, &tls, "b.example.com", None, |f| {
            f.no_coalesced_exchanges = true;
        }));
        assert!(!eligible_for(&world, &tls, "b.example.com", None, |f| {
            f.handshake = None;
        }));
        let empty = Handshake::new(
            ProtocolVersion::TLSv1_3,
            CipherSuite::TLS13_AES_128_GCM_SHA256,
            Vec::new(),
            Vec::new(),
        );
        let route = direct(&world.address("a.example.com", 443, &tls), IP);
        let address = world.address("b.example.com", 443, &tls);
        let routes = [direct(&address, IP)];
        let facts = facts(&route, &empty);
        assert!(!is_eligible(
            &facts,
            &address,
            Some(&routes),
            Some(&tls),
            UnixTime::now()
        ));
        assert!(eligible_for(&world, &tls, "127.0.0.1", None, |_| {}));
    }

    #[test]
    fn wildcards_cover_exactly_one_label() {
        let world = World::new();
        let tls = world.tls(&[]);
        assert!(eligible_for(
            &world,
            &tls,
            "x.wild.example.com",
            None,
            |_| {}
        ));
        assert!(eligible_for(
            &world,
            &tls,
            "y.wild.example.com",
            None,
            |_| {}
        ));
        assert!(!eligible_for(
            &world,
            &tls,
            "wild.example.com",
            None,
            |_| {}
        ));
        assert!(!eligible_for(
            &world,
            &tls,
            "x.y.wild.example.com",
            None,
            |_| {}
        ));
        assert!(!eligible_for(
            &world,
            &tls,
            "x.wild.example.org",
            None,
            |_| {}
        ));
    }

    #[test]
    fn pins_of_the_new_host_must_match_the_verified_chain() {
        let world = World::new();
        let root_pin = world.tls(&[world.root.spki_sha256_pin()]);
        assert!(eligible_for(
            &world,
            &root_pin,
            "b.example.com",
            None,
            |_| {}
        ));
        let leaf_pin = world.tls(&[world.leaf.spki_sha256_pin()]);
        assert!(eligible_for(
            &world,
            &leaf_pin,
            "b.example.com",
            None,
            |_| {}
        ));
        let stranger = HeldCertificate::builder().build().unwrap();
        let wrong_pin = world.tls(&[stranger.spki_sha256_pin()]);
        assert!(!eligible_for(
            &world,
            &wrong_pin,
            "b.example.com",
            None,
            |_| {}
        ));
        // Pins apply to the new host; the original host is its own match (rule 3).
        assert!(eligible_for(
            &world,
            &wrong_pin,
            "a.example.com",
            None,
            |_| {}
        ));

        // Without the configuration there is nothing to check pins with.
        let tls = world.tls(&[]);
        let route = direct(&world.address("a.example.com", 443, &tls), IP);
        let handshake = world.handshake();
        let address = world.address("b.example.com", 443, &tls);
        let routes = [direct(&address, IP)];
        let facts = facts(&route, &handshake);
        assert!(!is_eligible(
            &facts,
            &address,
            Some(&routes),
            None,
            UnixTime::now()
        ));
        assert!(is_eligible(
            &facts,
            &address,
            Some(&routes),
            Some(&tls),
            UnixTime::now()
        ));
    }
}
