//! The order in which resolved addresses are tried (RFC 8305 §4, OkHttp's
//! `reorderForHappyEyeballs`).

use std::net::IpAddr;

/// `addresses` in the order happy eyeballs tries them: when both families are present, IPv6 and
/// IPv4 alternate, starting with the first IPv6 address (`[v6₁, v4₁, v6₂, v4₂, …]`); the
/// addresses of the larger family that have no partner follow in their DNS order. With only one
/// family present the DNS order is kept.
///
/// Families are told apart by the address type, as OkHttp does with `Inet6Address`.
pub(crate) fn reorder_for_happy_eyeballs(addresses: Vec<IpAddr>) -> Vec<IpAddr> {
    let both_families =
        addresses.iter().any(IpAddr::is_ipv6) && addresses.iter().any(IpAddr::is_ipv4);
    if !both_families {
        // Kept as they are, with no copy (most hosts resolve to one family).
        return addresses;
    }
    let (v6, v4): (Vec<IpAddr>, Vec<IpAddr>) = addresses.iter().partition(|ip| ip.is_ipv6());
    let mut ordered = Vec::with_capacity(addresses.len());
    let (mut v6, mut v4) = (v6.into_iter(), v4.into_iter());
    loop {
        match (v6.next(), v4.next()) {
            (None, None) => break,
            (a, b) => ordered.extend(a.into_iter().chain(b)),
        }
    }
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
    }

    fn v6(last: u16) -> IpAddr {
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last))
    }

    #[test]
    fn both_families_interleave_starting_with_ipv6() {
        // RouteSelectorTest.addressesSortedWhenFastFallbackIsOn.
        let dns = [v6(1), v6(2), v4(1), v4(2)];
        assert_eq!(
            reorder_for_happy_eyeballs(dns.to_vec()),
            [v6(1), v4(1), v6(2), v4(2)]
        );
        // IPv4 first in the DNS answer: IPv6 still leads.
        let dns = [v4(1), v4(2), v6(1), v6(2)];
        assert_eq!(
            reorder_for_happy_eyeballs(dns.to_vec()),
            [v6(1), v4(1), v6(2), v4(2)]
        );
    }

    #[test]
    fn leftovers_follow_in_dns_order() {
        let dns = [v4(1), v6(1), v4(2), v4(3), v4(4)];
        assert_eq!(
            reorder_for_happy_eyeballs(dns.to_vec()),
            [v6(1), v4(1), v4(2), v4(3), v4(4)]
        );
        let dns = [v6(1), v6(2), v6(3), v4(1)];
        assert_eq!(
            reorder_for_happy_eyeballs(dns.to_vec()),
            [v6(1), v4(1), v6(2), v6(3)]
        );
    }

    #[test]
    fn one_family_keeps_dns_order() {
        let dns = [v4(3), v4(1), v4(2)];
        assert_eq!(reorder_for_happy_eyeballs(dns.to_vec()), dns);
        let dns = [v6(2), v6(1)];
        assert_eq!(reorder_for_happy_eyeballs(dns.to_vec()), dns);
        assert_eq!(reorder_for_happy_eyeballs(vec![v4(1)]), [v4(1)]);
        assert!(reorder_for_happy_eyeballs(Vec::new()).is_empty());
    }
}
