//! Shared helpers for the examples: a local TLS server for some fake host names, and a client
//! builder that reaches it (DNS mapped to 127.0.0.1, the test root trusted).

use std::error::Error;
use std::net::{IpAddr, Ipv4Addr};

use oktower::{ClientBuilder, DnsOverride, Proxy, TlsConfig};
use oktower_testkit::{Dispatcher, MockWebServer, TestCertificates};

/// The error type of the examples.
pub type BoxError = Box<dyn Error + Send + Sync>;

/// A MockWebServer on 127.0.0.1 with TLS (HTTP/2 and HTTP/1.1 by ALPN) and a certificate for
/// `hosts`, answering with `dispatcher`; and a client builder that resolves `hosts` to it and
/// trusts its certificate.
pub async fn local_world(
    hosts: &[&str],
    dispatcher: impl Dispatcher,
) -> Result<(MockWebServer, ClientBuilder), BoxError> {
    let certificates = TestCertificates::for_hosts(hosts)?;
    let server = MockWebServer::builder()
        .tls(certificates.server_tls())
        .dispatcher(dispatcher)
        .start()
        .await?;
    let mut dns = DnsOverride::only();
    for host in hosts {
        dns = dns.with_host(host, [IpAddr::V4(Ipv4Addr::LOCALHOST)]);
    }
    let tls = TlsConfig::builder()
        .without_platform_roots()
        .add_root_certificate(certificates.root().certificate_der().clone())
        .build()?;
    let builder = oktower::Client::builder()
        .dns(dns)
        .proxy(Proxy::Direct)
        .tls(tls);
    Ok((server, builder))
}
