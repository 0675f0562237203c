//! What must be equal for two requests to share a connection.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::net::IpAddr;
use std::sync::{Arc, LazyLock};

use crate::{Dns, Error, ErrorKind, Protocol, Proxy, ProxySelector};

/// The URL scheme of an [`Address`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `http:`, cleartext.
    Http,
    /// `https:`, TLS.
    Https,
}

impl Scheme {
    /// The scheme's default port.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    /// `"http"` or `"https"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// An identity compared by pointer: two settings are "the same" when they are the same shared
/// object, as OkHttp compares its `Dns`, `ProxySelector` and TLS objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SettingsId(usize);

impl SettingsId {
    /// The identity of the object behind `shared`.
    pub fn of<T: ?Sized>(shared: &Arc<T>) -> SettingsId {
        SettingsId(Arc::as_ptr(shared).cast::<()>() as usize)
    }
}

/// Everything that must be equal for two requests to share a connection: scheme, host, port,
/// the TLS settings' identity, the proxy (or proxy selector), the resolver and the protocols.
///
/// Cheap to clone. Equality and hashing compare the shared settings by identity.
///
/// ```
/// use std::sync::Arc;
/// use oktower::{Address, NoProxy, Protocol, Scheme, SystemDns};
///
/// let dns = Arc::new(SystemDns);
/// let selector = Arc::new(NoProxy);
/// let a = Address::builder(Scheme::Http, "example.test", 80, dns.clone(), selector.clone()).build();
/// let b = Address::builder(Scheme::Http, "EXAMPLE.test", 80, dns, selector).build();
/// assert_eq!(a, b);
/// assert_eq!(a.host(), "example.test");
/// assert_eq!(a.protocols(), [Protocol::Http2, Protocol::Http11]);
/// ```
#[derive(Clone)]
pub struct Address {
    inner: Arc<AddressInner>,
    /// The hash of `inner`, computed once: the pool hashes addresses on every exchange.
    hash: u64,
}

struct AddressInner {
    scheme: Scheme,
    host: String,
    /// `host` parsed as an IP literal, once: such a host skips DNS on every connect.
    ip_literal: Option<IpAddr>,
    port: u16,
    tls: Option<SettingsId>,
    proxy: Option<Proxy>,
    proxy_selector: Arc<dyn ProxySelector>,
    dns: Arc<dyn Dns>,
    protocols: Vec<Protocol>,
    /// `scheme://host:port/`, built once: connecting needs it for the proxy selector and for
    /// the URL of every error, and formatting and parsing it cost about 3 K instructions.
    uri: http::Uri,
}

/// Builds an [`Address`].
pub struct AddressBuilder {
    inner: AddressInner,
}

impl Address {
    /// Starts an address for `scheme://host:port` resolved by `dns`, with proxies chosen by
    /// `proxy_selector`. The host is lowercased; brackets around an IPv6 literal are removed.
    pub fn builder(
        scheme: Scheme,
        host: &str,
        port: u16,
        dns: Arc<dyn Dns>,
        proxy_selector: Arc<dyn ProxySelector>,
    ) -> AddressBuilder {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        AddressBuilder {
            inner: AddressInner {
                uri: address_uri(scheme, &host, port),
                ip_literal: host.parse().ok(),
                scheme,
                host,
                port,
                tls: None,
                proxy: None,
                proxy_selector,
                dns,
                protocols: vec![Protocol::Http2, Protocol::Http11],
            },
        }
    }

    /// The address of `uri`, with the given shared settings. Fails for a URI without a host or
    /// with a scheme other than `http` and `https`.
    pub fn from_uri(
        uri: &http::Uri,
        dns: Arc<dyn Dns>,
        proxy_selector: Arc<dyn ProxySelector>,
    ) -> Result<AddressBuilder, Error> {
        let scheme = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("http") => Scheme::Http,
            Some(s) if s.eq_ignore_ascii_case("https") => Scheme::Https,
            _ => {
                return Err(Error::new(
                    ErrorKind::Builder,
                    "only http: and https: URLs are supported",
                )
                .with_url(uri.to_string()));
            }
        };
        let host = uri.host().filter(|h| !h.is_empty()).ok_or_else(|| {
            Error::new(ErrorKind::Builder, "the URL has no host").with_url(uri.to_string())
        })?;
        let port = uri.port_u16().unwrap_or(scheme.default_port());
        Ok(Address::builder(scheme, host, port, dns, proxy_selector))
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.inner.scheme
    }

    /// The host: a lowercase name, or an IP literal without brackets.
    pub fn host(&self) -> &str {
        &self.inner.host
    }

    /// The host as an IP address, when it is an IP literal (which needs no DNS).
    pub(crate) fn ip_literal(&self) -> Option<IpAddr> {
        self.inner.ip_literal
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.inner.port
    }

    /// Whether the host is an IP literal (no DNS lookup is made for it).
    pub fn host_is_ip(&self) -> bool {
        self.inner.host.parse::<std::net::IpAddr>().is_ok()
    }

    /// The identity of the TLS settings, for `https:` addresses.
    pub fn tls(&self) -> Option<SettingsId> {
        self.inner.tls
    }

    /// The explicit proxy, if one is set (it overrides the selector).
    pub fn proxy(&self) -> Option<&Proxy> {
        self.inner.proxy.as_ref()
    }

    /// The proxy selector.
    pub fn proxy_selector(&self) -> &Arc<dyn ProxySelector> {
        &self.inner.proxy_selector
    }

    /// The resolver.
    pub fn dns(&self) -> &Arc<dyn Dns> {
        &self.inner.dns
    }

    /// The protocols the client offers, preferred first.
    pub fn protocols(&self) -> &[Protocol] {
        &self.inner.protocols
    }

    /// `scheme://host:port/` as a URI, with brackets around an IPv6 host.
    pub fn uri(&self) -> &http::Uri {
        &self.inner.uri
    }

    /// Whether `other` equals this address in everything but the host (the condition for
    /// HTTP/2 coalescing to be considered at all).
    pub fn equals_except_host(&self, other: &Address) -> bool {
        let (a, b) = (&*self.inner, &*other.inner);
        a.scheme == b.scheme
            && a.port == b.port
            && a.tls == b.tls
            && a.proxy == b.proxy
            && SettingsId::of(&a.proxy_selector) == SettingsId::of(&b.proxy_selector)
            && SettingsId::of(&a.dns) == SettingsId::of(&b.dns)
            && a.protocols == b.protocols
    }
}

impl AddressBuilder {
    /// The identity of the TLS settings (required for `https:`).
    pub fn tls(mut self, tls: SettingsId) -> Self {
        self.inner.tls = Some(tls);
        self
    }

    /// An explicit proxy, overriding the selector.
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.inner.proxy = Some(proxy);
        self
    }

    /// The protocols to offer, preferred first.
    pub fn protocols(mut self, protocols: &[Protocol]) -> Self {
        self.inner.protocols = protocols.to_vec();
        self
    }

    /// The address.
    pub fn build(self) -> Address {
        let mut hasher = ADDRESS_HASH_KEYS.build_hasher();
        hash_inner(&self.inner, &mut hasher);
        Address {
            inner: Arc::new(self.inner),
            hash: hasher.finish(),
        }
    }
}

impl PartialEq for Address {
    fn eq(&self, other: &Address) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
            || (self.hash == other.hash
                && self.inner.host == other.inner.host
                && self.equals_except_host(other))
    }
}

impl Eq for Address {}

impl Hash for Address {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// The keys of every address's hash: random per process, so that the hash (computed once per
/// address) can key maps without hashing it again ([`AddressMap`]).
static ADDRESS_HASH_KEYS: LazyLock<RandomState> = LazyLock::new(RandomState::new);

/// A map keyed by [`Address`] that uses the address's own hash (computed once, with random
/// keys, when the address was built) instead of hashing it again on every lookup.
pub(crate) type AddressMap<V> =
    std::collections::HashMap<Address, V, BuildHasherDefault<AddressHasher>>;

/// Passes an [`Address`]'s precomputed hash through.
#[derive(Default)]
pub(crate) struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only addresses are hashed here, and they write one u64; mix anything else in anyway.
        for &byte in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(byte)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
}

/// `scheme://host:port/`, with brackets around an IPv6 `host`.
fn address_uri(scheme: Scheme, host: &str, port: u16) -> http::Uri {
    let scheme = scheme.as_str();
    let text = if host.contains(':') {
        format!("{scheme}://[{host}]:{port}/")
    } else {
        format!("{scheme}://{host}:{port}/")
    };
    // Built from a valid host and port, so it parses; the fallback is never used.
    text.parse()
        .unwrap_or_else(|_| http::Uri::from_static("http://invalid/"))
}

fn hash_inner<H: Hasher>(inner: &AddressInner, state: &mut H) {
    {
        inner.scheme.hash(state);
        inner.host.hash(state);
        inner.port.hash(state);
        inner.tls.hash(state);
        inner.proxy.hash(state);
        SettingsId::of(&inner.proxy_selector).hash(state);
        SettingsId::of(&inner.dns).hash(state);
        inner.protocols.hash(state);
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Address")
            .field("scheme", &self.inner.scheme)
            .field("host", &self.inner.host)
            .field("port", &self.inner.port)
            .field("proxy", &self.inner.proxy)
            .field("protocols", &self.inner.protocols)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}:{}",
            self.inner.scheme.as_str(),
            self.inner.host,
            self.inner.port
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NoProxy, SystemDns};

    fn settings() -> (Arc<dyn Dns>, Arc<dyn ProxySelector>) {
        (Arc::new(SystemDns), Arc::new(NoProxy))
    }

    #[test]
    fn addresses_compare_settings_by_identity() {
        let (dns, selector) = settings();
        let a = Address::builder(Scheme::Https, "a.test", 443, dns.clone(), selector.clone())
            .tls(SettingsId(1))
            .build();
        let a_again = Address::builder(Scheme::Https, "a.test", 443, dns.clone(), selector.clone())
            .tls(SettingsId(1))
            .build();
        let b = Address::builder(Scheme::Https, "b.test", 443, dns.clone(), selector.clone())
            .tls(SettingsId(1))
            .build();
        let other_dns: Arc<dyn Dns> = Arc::new(SystemDns);
        let a_other_dns = Address::builder(Scheme::Https, "a.test", 443, other_dns, selector)
            .tls(SettingsId(1))
            .build();
        assert_eq!(a, a_again);
        assert_ne!(a, b);
        assert!(a.equals_except_host(&b));
        assert_ne!(a, a_other_dns);
        assert!(!a.equals_except_host(&a_other_dns));
    }

    #[test]
    fn from_uri_takes_default_ports_and_strips_brackets() {
        let (dns, selector) = settings();
        let uri: http::Uri = "https://[::1]/x".parse().unwrap();
        let address = Address::from_uri(&uri, dns.clone(), selector.clone())
            .unwrap()
            .build();
        assert_eq!((address.host(), address.port()), ("::1", 443));
        assert!(address.host_is_ip());
        assert_eq!(address.uri().to_string(), "https://[::1]:443/");
        let ftp: http::Uri = "ftp://host/".parse().unwrap();
        assert!(
            Address::from_uri(&ftp, dns, selector)
                .err()
                .unwrap()
                .is_builder()
        );
    }
}
