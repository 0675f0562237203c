//! The TLS handshake on an open connection: SNI, ALPN, certificate checks, pins.

use std::io;

use rustls::CertificateError;
use rustls_pki_types::{ServerName, UnixTime};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::tls::recording_client_certificate;
use crate::{
    Address, Error, ErrorKind, EventListener, Handshake, Protocol, TlsConfig, handshake_of,
};

/// Runs the TLS handshake for `address` on `stream` (a TCP connection, or a proxy tunnel)
/// with `config`, which must be the configuration whose
/// [`settings_id`](TlsConfig::settings_id) the address carries.
///
/// The server name sent (SNI) is the address's host (none for an IP literal); ALPN offers the
/// address's protocols. After the handshake the pins of the host are checked. The protocol is
/// the one ALPN selected, or HTTP/1.1 without ALPN. `secure_connect_start` and
/// `secure_connect_end` are reported to `listener` (the latter with `None` on failure).
///
/// Failures are [`ErrorKind::Tls`] errors naming the host and the address's URL, with the
/// rustls error as their source: an untrusted, expired or wrong-host certificate, a pin
/// mismatch ("Certificate pinning failure!"), no common TLS version. I/O failures during the
/// handshake keep the I/O error as source (and a timeout is [`ErrorKind::Timeout`]).
///
/// ```
/// use std::sync::Arc;
/// use oktower::{connect_tls, Address, NoEvents, NoProxy, Protocol, Scheme, SystemDns, TlsConfig};
/// use oktower_testkit::{MockWebServer, TestCertificates};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let certificates = TestCertificates::localhost()?;
/// let server = MockWebServer::builder().tls(certificates.server_tls()).start().await?;
///
/// let tls = TlsConfig::builder()
///     .without_platform_roots()
///     .add_root_certificate(certificates.root().certificate_der().clone())
///     .build()?;
/// let address = Address::builder(Scheme::Https, "localhost", server.port(), Arc::new(SystemDns), Arc::new(NoProxy))
///     .tls(tls.settings_id())
///     .build();
/// let tcp = tokio::net::TcpStream::connect(server.socket_addr()).await?;
/// let (_stream, handshake, protocol) = connect_tls(tcp, &address, &tls, &NoEvents).await?;
/// assert_eq!(protocol, Protocol::Http2);
/// assert_eq!(handshake.peer_certificates().len(), 1);
/// # Ok(())
/// # }
/// ```
pub async fn connect_tls<S>(
    stream: S,
    address: &Address,
    config: &TlsConfig,
    listener: &dyn EventListener,
) -> Result<(TlsStream<S>, Handshake, Protocol), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    listener.secure_connect_start();
    let result = handshake(stream, address, config).await;
    match &result {
        Ok((_, handshake, _)) => listener.secure_connect_end(Some(handshake)),
        Err(_) => listener.secure_connect_end(None),
    }
    result.map_err(|error| error.with_url(address.uri().to_string()))
}

async fn handshake<S>(
    stream: S,
    address: &Address,
    config: &TlsConfig,
) -> Result<(TlsStream<S>, Handshake, Protocol), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let host = address.host();
    let server_name = ServerName::try_from(host)
        .map_err(|e| {
            Error::new(
                ErrorKind::Tls,
                format!("{host} is not a valid TLS server name"),
            )
            .with_source(e)
        })?
        .to_owned();
    let connector = TlsConnector::from(config.client_config(address.protocols()).clone());
    let (connected, presented) =
        recording_client_certificate(connector.connect(server_name, stream)).await;
    let stream = connected.map_err(|e| handshake_error(host, e))?;

    let (_, connection) = stream.get_ref();
    let local = if presented {
        config.client_chain()
    } else {
        &[]
    };
    let handshake = handshake_of(connection, local).ok_or_else(|| {
        Error::new(
            ErrorKind::Tls,
            format!("the TLS handshake with {host} did not complete"),
        )
    })?;
    config.check_pins(host, handshake.peer_certificates(), UnixTime::now())?;
    let protocol = connection
        .alpn_protocol()
        .and_then(Protocol::from_alpn_id)
        .unwrap_or(Protocol::Http11);
    Ok((stream, handshake, protocol))
}

/// A handshake failure as an error that says what was wrong with whose certificate.
fn handshake_error(host: &str, error: io::Error) -> Error {
    let rustls_error = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .cloned();
    let Some(rustls_error) = rustls_error else {
        return Error::from_io(
            ErrorKind::Tls,
            format!("TLS handshake with {host} failed: {error}"),
            error,
        );
    };
    let message = match &rustls_error {
        rustls::Error::InvalidCertificate(certificate_error) => match certificate_error {
            CertificateError::UnknownIssuer => {
                format!("the certificate of {host} is not trusted: its issuer is unknown")
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                format!("the certificate of {host} has expired ({certificate_error})")
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                format!("the certificate of {host} is not valid yet ({certificate_error})")
            }
            CertificateError::NotValidForNameContext { presented, .. } => {
                let names: Vec<&str> = presented.iter().map(|n| presented_name(n)).collect();
                format!(
                    "Hostname {host} not verified: subjectAltNames: [{}]",
                    names.join(", ")
                )
            }
            CertificateError::NotValidForName => {
                format!("Hostname {host} not verified: the certificate is for other names")
            }
            other => format!("the certificate of {host} is invalid: {other}"),
        },
        rustls::Error::AlertReceived(alert) => {
            format!("{host} rejected the TLS handshake (alert {alert:?})")
        }
        other => format!("TLS handshake with {host} failed: {other}"),
    };
    Error::new(ErrorKind::Tls, message).with_source(rustls_error)
}

/// A name as webpki presents it (`DnsName("a.test")`, `IpAddress(10.0.0.1)`), without the
/// wrapping.
fn presented_name(name: &str) -> &str {
    name.strip_prefix("DnsName(\"")
        .and_then(|rest| rest.strip_suffix("\")"))
        .or_else(|| {
            name.strip_prefix("IpAddress(")
                .and_then(|rest| rest.strip_suffix(')'))
        })
        .unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use rustls::AlertDescription;

    use super::*;

    #[test]
    fn certificate_errors_name_the_host_and_keep_the_rustls_error() {
        let cases = [
            (
                rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
                "the certificate of a.test is not trusted",
            ),
            (
                rustls::Error::InvalidCertificate(CertificateError::Expired),
                "the certificate of a.test has expired",
            ),
            (
                rustls::Error::InvalidCertificate(CertificateError::NotValidYet),
                "the certificate of a.test is not valid yet",
            ),
            (
                rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
                    expected: ServerName::try_from("a.test").unwrap(),
                    presented: vec![
                        "DnsName(\"b.test\")".to_owned(),
                        "DnsName(\"*.c.test\")".to_owned(),
                        "IpAddress(10.0.0.1)".to_owned(),
                        "DirectoryName".to_owned(),
                    ],
                }),
                "Hostname a.test not verified: subjectAltNames: [b.test, *.c.test, 10.0.0.1, \
                 DirectoryName]",
            ),
            (
                rustls::Error::InvalidCertificate(CertificateError::BadSignature),
                "the certificate of a.test is invalid",
            ),
            (
                rustls::Error::AlertReceived(AlertDescription::HandshakeFailure),
                "a.test rejected the TLS handshake (alert HandshakeFailure)",
            ),
            (
                rustls::Error::NoApplicationProtocol,
                "TLS handshake with a.test failed",
            ),
        ];
        for (rustls_error, expected) in cases {
            let error = handshake_error(
                "a.test",
                io::Error::new(io::ErrorKind::InvalidData, rustls_error.clone()),
            );
            assert!(error.is_tls(), "{error}");
            assert!(error.message().starts_with(expected), "{error}");
            let source = std::error::Error::source(&error)
                .and_then(|s| s.downcast_ref::<rustls::Error>())
                .unwrap();
            assert_eq!(source, &rustls_error);
        }
    }

    #[test]
    fn the_handshake_future_is_send() {
        fn assert_send<T: Send>(_: &T) {}
        let tls = TlsConfig::builder()
            .without_platform_roots()
            .danger_accept_invalid_certificates()
            .build()
            .unwrap();
        let address = Address::builder(
            crate::Scheme::Https,
            "a.test",
            443,
            std::sync::Arc::new(crate::SystemDns),
            std::sync::Arc::new(crate::NoProxy),
        )
        .tls(tls.settings_id())
        .build();
        let (stream, _peer) = tokio::io::duplex(64);
        let future = connect_tls(stream, &address, &tls, &crate::NoEvents);
        assert_send(&future);
    }

    #[test]
    fn io_failures_keep_the_io_error_and_timeouts_stay_timeouts() {
        let eof = handshake_error("a.test", io::Error::from(io::ErrorKind::UnexpectedEof));
        assert!(eof.is_tls());
        assert!(
            eof.message()
                .starts_with("TLS handshake with a.test failed")
        );
        let timeout = handshake_error("a.test", io::Error::from(io::ErrorKind::TimedOut));
        assert!(timeout.is_timeout());
    }
}
