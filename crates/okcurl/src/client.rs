//! The oktower [`Client`] okcurl's [`Settings`] describe.

use std::io;
use std::sync::Arc;

use http::Uri;
use oktower::{
    CacheLayer, CertificatePinner, Client, DiskStore, Dns, DnsFuture, DnsOverride, EventListener,
    SystemDns, TlsConfig,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::{EventLog, Failure, LineSink, Settings, VerboseLog};

/// The TLS files' contents, read and parsed.
#[derive(Debug, Default)]
pub struct TlsMaterial {
    /// `--cacert`: the only trusted roots.
    pub roots: Option<Vec<CertificateDer<'static>>>,
    /// `--cert` and `--key`: the client certificate chain and its key.
    pub identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
}

/// The system resolver, except for the special-use `.invalid` names (RFC 6761 §6.4), which
/// never resolve and are never sent to a DNS server.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use oktower::Dns;
///
/// let error = okcurl::SpecialUseDns.lookup("missing.invalid").await.unwrap_err();
/// assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct SpecialUseDns;

impl Dns for SpecialUseDns {
    fn lookup(&self, host: &str) -> DnsFuture {
        let host = host.trim_end_matches('.');
        let invalid = host.eq_ignore_ascii_case("invalid")
            || host
                .len()
                .checked_sub(".invalid".len())
                .and_then(|start| host.get(start..))
                .is_some_and(|tail| tail.eq_ignore_ascii_case(".invalid"));
        if invalid {
            let message = format!("{host} is a special-use name that never resolves (RFC 6761)");
            return Box::pin(async move { Err(io::Error::new(io::ErrorKind::NotFound, message)) });
        }
        SystemDns.lookup(host)
    }
}

/// The TLS settings, or `None` for oktower's defaults (the platform's roots).
fn tls_config(settings: &Settings, material: TlsMaterial) -> Result<Option<TlsConfig>, Failure> {
    let customized = material.roots.is_some()
        || material.identity.is_some()
        || settings.insecure
        || !settings.pins.is_empty();
    if !customized {
        return Ok(None);
    }
    let mut tls = TlsConfig::builder();
    if let Some(roots) = material.roots {
        tls = tls.without_platform_roots();
        for root in roots {
            tls = tls.add_root_certificate(root);
        }
    }
    if let Some((chain, key)) = material.identity {
        tls = tls.client_certificate(chain, key);
    }
    if settings.insecure {
        tls = tls.danger_accept_invalid_certificates();
    }
    if !settings.pins.is_empty() {
        let mut pinner = CertificatePinner::builder();
        for spec in &settings.pins {
            match &spec.pattern {
                Some(pattern) => pinner = pinner.add(pattern, [&spec.pin]),
                None => {
                    for host in settings.urls.iter().filter_map(Uri::host) {
                        let host = host.trim_start_matches('[').trim_end_matches(']');
                        pinner = pinner.add(host, [&spec.pin]);
                    }
                }
            }
        }
        tls = tls.certificate_pinner(pinner.build()?);
    }
    Ok(Some(tls.build()?))
}

/// The event listener of each call: `-v`, `--events`, both or neither.
fn listener(settings: &Settings, sink: &LineSink) -> Option<Arc<dyn EventListener>> {
    let verbose = || VerboseLog::new(sink.clone());
    let events = || EventLog::new(sink.clone());
    match (settings.verbose, settings.events) {
        (true, true) => Some(Arc::new((verbose(), events()))),
        (true, false) => Some(Arc::new(verbose())),
        (false, true) => Some(Arc::new(events())),
        (false, false) => None,
    }
}

/// Builds the client: redirects off (okcurl follows them itself, counting), DNS with the
/// `--resolve` overrides, TLS, proxy, protocols, timeouts, cache and listeners. `sink`
/// receives `-v` and `--events` lines.
pub async fn build_client(
    settings: &Settings,
    material: TlsMaterial,
    sink: LineSink,
) -> Result<Client, Failure> {
    let mut dns = DnsOverride::new(SpecialUseDns);
    for entry in &settings.resolve {
        dns = dns.with_host(&entry.host, entry.addresses.iter().copied());
    }
    let mut builder = Client::builder()
        .follow_redirects(false)
        .dns(dns)
        .user_agent(settings.user_agent.clone());
    if let Some(tls) = tls_config(settings, material)? {
        builder = builder.tls(tls);
    }
    if let Some(proxy) = &settings.proxy {
        builder = builder.proxy(proxy.clone());
    }
    if let Some(protocols) = &settings.protocols {
        builder = builder.protocols(protocols);
    }
    if let Some(timeout) = settings.connect_timeout {
        builder = builder.connect_timeout(timeout);
    }
    if let Some(timeout) = settings.read_timeout {
        builder = builder.read_timeout(timeout);
    }
    if let Some(timeout) = settings.write_timeout {
        builder = builder.write_timeout(timeout);
    }
    builder = builder.call_timeout(settings.call_timeout);
    if let Some((directory, max_size)) = &settings.cache_dir {
        let store = DiskStore::open(directory, *max_size).await?;
        builder = builder.cache(CacheLayer::new(store));
    }
    if settings.verbose || settings.events {
        let settings = settings.clone();
        builder = builder.event_listener_factory(move |_uri: &Uri| {
            listener(&settings, &sink).unwrap_or_else(|| Arc::new(oktower::NoEvents))
        });
    }
    Ok(builder.build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn invalid_names_never_resolve() {
        for host in ["x.invalid", "A.B.INVALID", "invalid", "x.invalid."] {
            let error = SpecialUseDns.lookup(host).await.unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::NotFound, "{host}");
        }
        let localhost = SpecialUseDns.lookup("localhost").await.unwrap();
        assert!(!localhost.is_empty());
        assert!(SpecialUseDns.lookup("127.0.0.1").await.is_ok());
    }
}
