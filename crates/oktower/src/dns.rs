//! Host name resolution.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;

/// The future a [`Dns`] lookup returns.
pub type DnsFuture = Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send + 'static>>;

/// Resolves host names to IP addresses. Called once per new connection, never per request on
/// a pooled connection, and never for IP literals.
///
/// An empty answer is treated as a failure ("no addresses for host").
///
/// ```
/// use std::net::{IpAddr, Ipv4Addr};
/// use oktower::{Dns, DnsOverride, SystemDns};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let dns = DnsOverride::new(SystemDns)
///     .with_host("api.test", [IpAddr::V4(Ipv4Addr::LOCALHOST)]);
/// assert_eq!(dns.lookup("API.test").await?, [IpAddr::V4(Ipv4Addr::LOCALHOST)]);
/// # Ok(())
/// # }
/// ```
pub trait Dns: Send + Sync + 'static {
    /// The addresses of `host` (a name, never an IP literal), in the resolver's order.
    fn lookup(&self, host: &str) -> DnsFuture;
}

impl<T: Dns + ?Sized> Dns for Arc<T> {
    fn lookup(&self, host: &str) -> DnsFuture {
        (**self).lookup(host)
    }
}

/// The operating system's resolver (`getaddrinfo`, which honours `/etc/hosts`), run off the
/// async runtime's worker threads.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemDns;

impl Dns for SystemDns {
    fn lookup(&self, host: &str) -> DnsFuture {
        let host = host.to_owned();
        Box::pin(async move {
            let addresses = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let mut ips: Vec<IpAddr> = Vec::new();
            for address in addresses {
                if !ips.contains(&address.ip()) {
                    ips.push(address.ip());
                }
            }
            Ok(ips)
        })
    }
}

/// Fixed answers for some hosts, another resolver for the rest (as curl's `--resolve`, and as
/// tests map fake host names to loopback).
#[derive(Clone)]
pub struct DnsOverride {
    hosts: HashMap<String, Vec<IpAddr>>,
    fallback: Option<Arc<dyn Dns>>,
}

impl std::fmt::Debug for DnsOverride {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsOverride")
            .field("hosts", &self.hosts)
            .field("fallback", &self.fallback.is_some())
            .finish()
    }
}

impl DnsOverride {
    /// Overrides on top of `fallback`, which answers for hosts without an override.
    pub fn new(fallback: impl Dns) -> Self {
        DnsOverride {
            hosts: HashMap::new(),
            fallback: Some(Arc::new(fallback)),
        }
    }

    /// Overrides only: hosts without an override fail to resolve.
    pub fn only() -> Self {
        DnsOverride {
            hosts: HashMap::new(),
            fallback: None,
        }
    }

    /// Answers `addresses` for `host` (compared case-insensitively).
    pub fn with_host(mut self, host: &str, addresses: impl IntoIterator<Item = IpAddr>) -> Self {
        self.hosts
            .insert(host.to_ascii_lowercase(), addresses.into_iter().collect());
        self
    }
}

impl Dns for DnsOverride {
    fn lookup(&self, host: &str) -> DnsFuture {
        if let Some(addresses) = self.hosts.get(&host.to_ascii_lowercase()) {
            let addresses = addresses.clone();
            return Box::pin(async move { Ok(addresses) });
        }
        match &self.fallback {
            Some(fallback) => fallback.lookup(host),
            None => {
                let message = format!("no DNS override for {host}");
                Box::pin(async move { Err(io::Error::new(io::ErrorKind::NotFound, message)) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[tokio::test]
    async fn overrides_answer_before_the_fallback() {
        let one = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        let dns = DnsOverride::only().with_host("a.test", [one, IpAddr::V6(Ipv6Addr::LOCALHOST)]);
        assert_eq!(dns.lookup("A.TEST").await.unwrap()[0], one);
        let error = dns.lookup("b.test").await.unwrap_err();
        assert!(error.to_string().contains("b.test"));
    }

    #[tokio::test]
    async fn system_dns_resolves_localhost() {
        let ips = SystemDns.lookup("localhost").await.unwrap();
        assert!(ips.iter().all(IpAddr::is_loopback), "{ips:?}");
        assert!(!ips.is_empty());
    }
}
