//! Proxies from the environment, as curl reads them.

use std::net::IpAddr;

use crate::{Proxy, ProxySelector};

/// A [`ProxySelector`] configured by the usual environment variables, read once when it is
/// built:
///
/// - `http_proxy` for `http:` URLs, then `HTTP_PROXY`. The lowercase name wins, as in curl. The
///   uppercase one is ignored when `REQUEST_METHOD` is set: in a CGI program `HTTP_PROXY` comes
///   from the request's `Proxy:` header, chosen by the client ("httpoxy"). curl never reads it.
/// - `https_proxy`, then `HTTPS_PROXY`, for `https:` URLs.
/// - `all_proxy`, then `ALL_PROXY`, for either scheme when its own variable is not set.
/// - `no_proxy`, then `NO_PROXY`: hosts reached directly, a comma-separated list with curl's
///   rules. A `*` entry matches every host. A name matches itself and its subdomains, at a label
///   boundary (`example.com` matches `www.example.com`, not `notexample.com`); a leading or
///   trailing `.` is ignored. An IP address matches that address and a CIDR range
///   (`127.0.0.0/8`, `fd00::/8`) the addresses in it; a name never matches an IP literal. An
///   optional `:port` (`example.com:8080`, `[::1]:8080`) limits an entry to that port, as Go's
///   `httpproxy` does (curl has no port rule).
///
/// Empty variables count as unset. Proxy URLs are `http://`, `https://` (TLS to the proxy),
/// `socks5://` or `socks5h://` (both [`Proxy::Socks5`], which always sends the host name to
/// the proxy), or a bare `host:port` meaning `http://`. The default ports are 80, 443 and 1080.
/// `user:password@` (percent-encoded) becomes the proxy's credentials. A value that is not such
/// a URL (another scheme, a bad port) is ignored, as if unset; [`http_proxy`](Self::http_proxy)
/// and [`https_proxy`](Self::https_proxy) show what was understood.
///
/// [`select`](ProxySelector::select) answers the one proxy for the URL's scheme, or
/// [`Proxy::Direct`] when there is none or the host is excluded.
///
/// ```
/// use oktower::{EnvProxySelector, Proxy, ProxySelector};
///
/// let selector = EnvProxySelector::from_vars(|name| match name {
///     "https_proxy" => Some("http://user:p%40ss@proxy.test:3128".to_owned()),
///     "no_proxy" => Some("localhost,.internal.test,10.0.0.0/8".to_owned()),
///     _ => None,
/// });
/// let uri = |s: &str| s.parse::<http::Uri>().unwrap();
/// assert_eq!(
///     selector.select(&uri("https://example.test/")),
///     [Proxy::http("proxy.test", 3128).with_credentials("user", "p@ss")]
/// );
/// assert_eq!(selector.select(&uri("https://api.internal.test/")), [Proxy::Direct]);
/// assert_eq!(selector.select(&uri("https://10.1.2.3/")), [Proxy::Direct]);
/// assert_eq!(selector.select(&uri("http://example.test/")), [Proxy::Direct]);
/// ```
#[derive(Clone, Debug, Default)]
pub struct EnvProxySelector {
    http: Option<Proxy>,
    https: Option<Proxy>,
    no_proxy: NoProxy,
}

impl EnvProxySelector {
    /// The selector the current process environment describes.
    pub fn from_env() -> Self {
        EnvProxySelector::from_vars(|name| std::env::var(name).ok())
    }

    /// The selector described by the variables `var` looks up (`None` for an unset variable).
    /// Pure: nothing but `var` is consulted, so tests need not touch the process environment.
    pub fn from_vars(mut var: impl FnMut(&str) -> Option<String>) -> Self {
        let all = first_proxy(&mut var, &["all_proxy", "ALL_PROXY"]);
        let https = first_proxy(&mut var, &["https_proxy", "HTTPS_PROXY"]).or_else(|| all.clone());
        let http_names: &[&str] = if var("REQUEST_METHOD").is_some() {
            &["http_proxy"]
        } else {
            &["http_proxy", "HTTP_PROXY"]
        };
        let http = first_proxy(&mut var, http_names).or(all);
        let no_proxy = ["no_proxy", "NO_PROXY"]
            .iter()
            .filter_map(|name| var(name))
            .find(|value| !value.trim().is_empty())
            .map(|value| NoProxy::parse(&value))
            .unwrap_or_default();
        EnvProxySelector {
            http,
            https,
            no_proxy,
        }
    }

    /// The proxy for `http:` URLs, if one is configured.
    pub fn http_proxy(&self) -> Option<&Proxy> {
        self.http.as_ref()
    }

    /// The proxy for `https:` URLs, if one is configured.
    pub fn https_proxy(&self) -> Option<&Proxy> {
        self.https.as_ref()
    }
}

impl ProxySelector for EnvProxySelector {
    fn select(&self, uri: &http::Uri) -> Vec<Proxy> {
        let (proxy, default_port) = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("http") => (&self.http, 80),
            Some(s) if s.eq_ignore_ascii_case("https") => (&self.https, 443),
            _ => (&None, 0),
        };
        let bypassed = |host: &str| {
            let port = uri.port_u16().unwrap_or(default_port);
            self.no_proxy.matches(host, port)
        };
        match (proxy, uri.host()) {
            (Some(proxy), Some(host)) if !bypassed(host) => vec![proxy.clone()],
            _ => vec![Proxy::Direct],
        }
    }
}

/// The proxy of the first of `names` that holds a usable proxy URL.
fn first_proxy(var: &mut impl FnMut(&str) -> Option<String>, names: &[&str]) -> Option<Proxy> {
    names
        .iter()
        .filter_map(|name| var(name))
        .find_map(|value| parse_proxy_url(&value))
}

/// A proxy URL as the environment variables hold it, or `None` if it is not one we can use.
fn parse_proxy_url(value: &str) -> Option<Proxy> {
    let value = value.trim();
    let (scheme, rest) = match value.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        None => ("http".to_owned(), value),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((userinfo, host_port)) => (Some(userinfo), host_port),
        None => (None, authority),
    };
    let (host, port) = split_host_port(host_port)?;
    if host.is_empty() {
        return None;
    }
    let host = host.to_ascii_lowercase();
    let proxy = match scheme.as_str() {
        "http" => Proxy::http(host, port.unwrap_or(80)),
        "https" => Proxy::https(host, port.unwrap_or(443)),
        "socks5" | "socks5h" => Proxy::socks5(host, port.unwrap_or(1080)),
        _ => return None,
    };
    Some(match userinfo {
        Some(userinfo) => {
            let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            proxy.with_credentials(percent_decode(user), percent_decode(password))
        }
        None => proxy,
    })
}

/// `host[:port]` or `[v6][:port]` into the host (without brackets) and the port, if any. `None`
/// for a malformed port or an unbracketed host with a colon.
fn split_host_port(host_port: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']')?;
        (host, after)
    } else {
        match host_port.find(':') {
            Some(colon) => (&host_port[..colon], &host_port[colon..]),
            None => (host_port, ""),
        }
    };
    let port = match port {
        "" | ":" => None,
        port => Some(port.strip_prefix(':')?.parse::<u16>().ok()?),
    };
    if host.contains(':') && host.parse::<IpAddr>().is_err() {
        return None;
    }
    Some((host, port))
}

/// `%XX` escapes decoded; invalid escapes and invalid UTF-8 are kept as they are (lossily).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape = bytes.get(i + 1..i + 3).and_then(|hex| {
            let hex = std::str::from_utf8(hex).ok()?;
            u8::from_str_radix(hex, 16).ok()
        });
        match (bytes[i], escape) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                i += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// The hosts that bypass the proxy (`no_proxy`).
#[derive(Clone, Debug, Default)]
struct NoProxy {
    all: bool,
    entries: Vec<(Pattern, Option<u16>)>,
}

#[derive(Clone, Debug)]
enum Pattern {
    /// A lowercase name without leading or trailing dots: itself and its subdomains.
    Domain(String),
    /// An address and a prefix length (the full length for a single address).
    Network(IpAddr, u8),
}

impl NoProxy {
    fn parse(list: &str) -> NoProxy {
        let mut no_proxy = NoProxy::default();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if entry == "*" {
                no_proxy.all = true;
            } else if let Some(parsed) = parse_entry(entry) {
                no_proxy.entries.push(parsed);
            }
        }
        no_proxy
    }

    /// Whether `host` (a URI host: a name, an IPv4 literal or a bracketed IPv6 literal) on
    /// `port` bypasses the proxy.
    fn matches(&self, host: &str, port: u16) -> bool {
        if self.all {
            return true;
        }
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let ip = host.parse::<IpAddr>().ok();
        let name = host.trim_end_matches('.').to_ascii_lowercase();
        self.entries.iter().any(|(pattern, entry_port)| {
            entry_port.is_none_or(|p| p == port)
                && match (pattern, ip) {
                    (Pattern::Network(network, bits), Some(ip)) => in_network(ip, *network, *bits),
                    (Pattern::Domain(domain), None) => {
                        name == *domain
                            || name
                                .strip_suffix(domain.as_str())
                                .is_some_and(|prefix| prefix.ends_with('.'))
                    }
                    _ => false,
                }
        })
    }
}

/// One `no_proxy` entry: a name, an address or a CIDR range, with an optional port.
fn parse_entry(entry: &str) -> Option<(Pattern, Option<u16>)> {
    if let Some((address, bits)) = entry.split_once('/') {
        let address: IpAddr = address.trim_matches(['[', ']']).parse().ok()?;
        let bits: u8 = bits.parse().ok()?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        return (bits <= max).then_some((Pattern::Network(address, bits), None));
    }
    if let Ok(address) = entry.parse::<IpAddr>() {
        return Some((Pattern::Network(address, full_length(address)), None));
    }
    let (host, port) = split_host_port(entry)?;
    if let Ok(address) = host.parse::<IpAddr>() {
        return Some((Pattern::Network(address, full_length(address)), port));
    }
    let domain = host.trim_start_matches('.').trim_end_matches('.');
    if domain.is_empty() {
        return None;
    }
    Some((Pattern::Domain(domain.to_ascii_lowercase()), port))
}

fn full_length(address: IpAddr) -> u8 {
    if address.is_ipv4() { 32 } else { 128 }
}

/// Whether `ip` is in `network`/`bits` (never across families).
fn in_network(ip: IpAddr, network: IpAddr, bits: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(network)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(network) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(network)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(network) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selector(vars: &[(&str, &str)]) -> EnvProxySelector {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        EnvProxySelector::from_vars(|name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    fn select(selector: &EnvProxySelector, uri: &str) -> Proxy {
        let uri: http::Uri = uri.parse().expect("test URI");
        let mut proxies = selector.select(&uri);
        assert_eq!(proxies.len(), 1, "{proxies:?}");
        proxies.remove(0)
    }

    fn bypassed(no_proxy: &str, uri: &str) -> bool {
        let selector = selector(&[("all_proxy", "proxy.test:3128"), ("no_proxy", no_proxy)]);
        select(&selector, uri).is_direct()
    }

    #[test]
    fn each_scheme_uses_its_own_variable_then_all_proxy() {
        let s = selector(&[("http_proxy", "h.test:1"), ("https_proxy", "s.test:2")]);
        assert_eq!(select(&s, "http://a.test/"), Proxy::http("h.test", 1));
        assert_eq!(select(&s, "https://a.test/"), Proxy::http("s.test", 2));
        let s = selector(&[("ALL_PROXY", "all.test:3"), ("HTTPS_PROXY", "s.test:2")]);
        assert_eq!(select(&s, "http://a.test/"), Proxy::http("all.test", 3));
        assert_eq!(select(&s, "https://a.test/"), Proxy::http("s.test", 2));
        assert_eq!(select(&selector(&[]), "https://a.test/"), Proxy::Direct);
        assert_eq!(select(&s, "ws://a.test/"), Proxy::Direct);
    }

    #[test]
    fn lowercase_wins_and_empty_values_are_unset() {
        let s = selector(&[
            ("http_proxy", "lower.test"),
            ("HTTP_PROXY", "upper.test"),
            ("https_proxy", " "),
            ("HTTPS_PROXY", "upper.test:8443"),
            ("no_proxy", "lower-bypass.test"),
            ("NO_PROXY", "upper-bypass.test"),
        ]);
        assert_eq!(s.http_proxy(), Some(&Proxy::http("lower.test", 80)));
        assert_eq!(s.https_proxy(), Some(&Proxy::http("upper.test", 8443)));
        assert!(select(&s, "http://lower-bypass.test/").is_direct());
        assert!(!select(&s, "http://upper-bypass.test/").is_direct());
    }

    #[test]
    fn uppercase_http_proxy_is_ignored_in_cgi_programs() {
        let cgi = selector(&[("REQUEST_METHOD", "GET"), ("HTTP_PROXY", "evil.test:1")]);
        assert_eq!(cgi.http_proxy(), None);
        let cgi = selector(&[("REQUEST_METHOD", "GET"), ("http_proxy", "ok.test:1")]);
        assert_eq!(cgi.http_proxy(), Some(&Proxy::http("ok.test", 1)));
        let plain = selector(&[("HTTP_PROXY", "upper.test:1")]);
        assert_eq!(plain.http_proxy(), Some(&Proxy::http("upper.test", 1)));
    }

    #[test]
    fn proxy_urls_schemes_ports_and_credentials() {
        let parse = |value: &str| parse_proxy_url(value);
        assert_eq!(parse("http://p.test"), Some(Proxy::http("p.test", 80)));
        assert_eq!(parse("HTTPS://P.test/"), Some(Proxy::https("p.test", 443)));
        assert_eq!(
            parse("socks5://p.test"),
            Some(Proxy::socks5("p.test", 1080))
        );
        assert_eq!(
            parse("socks5h://p.test:9050"),
            Some(Proxy::socks5("p.test", 9050))
        );
        assert_eq!(parse("p.test:3128"), Some(Proxy::http("p.test", 3128)));
        assert_eq!(parse("http://[::1]:3128/"), Some(Proxy::http("::1", 3128)));
        assert_eq!(
            parse("http://us%65r:p%40ss%3Aw@p.test:8080"),
            Some(Proxy::http("p.test", 8080).with_credentials("user", "p@ss:w"))
        );
        assert_eq!(
            parse("socks5://user@p.test"),
            Some(Proxy::socks5("p.test", 1080).with_credentials("user", ""))
        );
        for bad in [
            "socks4://p.test",
            "ftp://p.test",
            "http://p.test:99999",
            "http://:80",
            "::1",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        // An unusable value is as if unset: the next variable applies.
        let s = selector(&[("https_proxy", "socks4://p.test"), ("all_proxy", "a.test")]);
        assert_eq!(s.https_proxy(), Some(&Proxy::http("a.test", 80)));
    }

    #[test]
    fn percent_decoding_keeps_invalid_escapes() {
        assert_eq!(percent_decode("a%20b%zz%4"), "a b%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "é");
    }

    #[test]
    fn no_proxy_star_disables_every_proxy() {
        assert!(bypassed("*", "http://a.test/"));
        assert!(bypassed("other.test, *", "https://10.0.0.1/"));
        assert!(!bypassed("", "http://a.test/"));
    }

    #[test]
    fn no_proxy_names_match_themselves_and_subdomains_at_label_boundaries() {
        assert!(bypassed("example.com", "http://example.com/"));
        assert!(bypassed("example.com", "http://www.EXAMPLE.com/"));
        assert!(bypassed(".example.com", "http://example.com/"));
        assert!(bypassed(".example.com", "http://a.b.example.com/"));
        assert!(bypassed("example.com.", "http://example.com./"));
        assert!(bypassed(" a.test ,, example.com ", "http://example.com/"));
        assert!(!bypassed("example.com", "http://notexample.com/"));
        assert!(!bypassed("www.example.com", "http://example.com/"));
        assert!(!bypassed("localhost", "http://127.0.0.1/"));
    }

    #[test]
    fn no_proxy_addresses_and_cidr_ranges_match_ip_literals() {
        assert!(bypassed("127.0.0.1", "http://127.0.0.1/"));
        assert!(!bypassed("127.0.0.1", "http://127.0.0.2/"));
        assert!(bypassed("127.0.0.0/8", "http://127.200.0.1/"));
        assert!(!bypassed("127.0.0.0/8", "http://128.0.0.1/"));
        assert!(bypassed("10.1.0.0/16", "http://10.1.255.3/"));
        assert!(bypassed("::1", "http://[::1]/"));
        assert!(bypassed("[::1]", "http://[::1]/"));
        assert!(bypassed("fd00::/8", "http://[fd12::1]/"));
        assert!(!bypassed("fd00::/8", "http://[fe80::1]/"));
        assert!(
            !bypassed("0.0.0.0/0", "http://[::1]/"),
            "never across families"
        );
        assert!(bypassed("0.0.0.0/0", "http://192.0.2.1/"));
        assert!(
            !bypassed("127.0.0.0/33", "http://127.0.0.1/"),
            "invalid range ignored"
        );
        assert!(!bypassed("127.0.0.1", "http://localhost/"));
    }

    #[test]
    fn no_proxy_ports_restrict_entries() {
        assert!(bypassed("example.com:8080", "http://www.example.com:8080/"));
        assert!(!bypassed("example.com:8080", "http://example.com/"));
        assert!(bypassed("example.com:443", "https://example.com/"));
        assert!(bypassed("127.0.0.1:80", "http://127.0.0.1/"));
        assert!(!bypassed("127.0.0.1:80", "http://127.0.0.1:81/"));
        assert!(bypassed("[::1]:8080", "http://[::1]:8080/"));
        assert!(!bypassed("[::1]:8080", "http://[::1]:8081/"));
        assert!(
            !bypassed("example.com:bad", "http://example.com/"),
            "bad entry ignored"
        );
    }
}
