//! The SOCKS5 client handshake (RFC 1928), with username/password authentication (RFC 1929).
//!
//! The origin's host name is sent to the proxy, which resolves it (remote DNS); IP literals
//! are sent as addresses.

use std::net::IpAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::{Error, ErrorKind, Route};

const VERSION: u8 = 5;
const NO_AUTHENTICATION: u8 = 0x00;
const USERNAME_PASSWORD: u8 = 0x02;
const NO_ACCEPTABLE_METHODS: u8 = 0xff;
const USERNAME_PASSWORD_VERSION: u8 = 1;
const CONNECT: u8 = 0x01;
const ATYP_IPV4: u8 = 0x01;
const ATYP_DOMAIN: u8 = 0x03;
const ATYP_IPV6: u8 = 0x04;

/// Asks `route`'s SOCKS5 proxy, over `stream` (connected to the proxy), to connect to the
/// route's origin, within `timeout` if one is set. On success the stream carries the origin's
/// bytes.
///
/// Failures are [`ErrorKind::Proxy`] naming the proxy and the target (a refusal of every
/// offered authentication method, rejected credentials, a failure reply such as "connection
/// refused by destination host"), [`ErrorKind::Protocol`] for a malformed answer, or
/// [`ErrorKind::Timeout`].
pub(crate) async fn socks5_connect<S>(
    stream: &mut S,
    route: &Route,
    timeout: Option<Duration>,
) -> Result<(), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let handshake = Handshake { route };
    let result = match timeout {
        None => handshake.run(stream).await,
        Some(limit) => match tokio::time::timeout(limit, handshake.run(stream)).await {
            Ok(result) => result,
            Err(_elapsed) => {
                Err(handshake.error(ErrorKind::Timeout, format!("timed out after {limit:?}")))
            }
        },
    };
    result.map_err(|error| error.with_url(route.address().uri().to_string()))
}

struct Handshake<'a> {
    route: &'a Route,
}

impl Handshake<'_> {
    async fn run<S>(&self, stream: &mut S) -> Result<(), Error>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let credentials = self.route.proxy().credentials();
        let methods: &[u8] = if credentials.is_some() {
            &[NO_AUTHENTICATION, USERNAME_PASSWORD]
        } else {
            &[NO_AUTHENTICATION]
        };
        let mut greeting = vec![VERSION, methods.len() as u8];
        greeting.extend_from_slice(methods);
        self.send(stream, &greeting).await?;

        let [version, method] = self.receive::<S, 2>(stream).await?;
        self.check_version(version)?;
        match (method, credentials) {
            (NO_AUTHENTICATION, _) => {}
            (USERNAME_PASSWORD, Some(credentials)) => {
                let user = credentials.username.as_bytes();
                let password = credentials.password.as_bytes();
                let (Ok(user_len), Ok(password_len)) =
                    (u8::try_from(user.len()), u8::try_from(password.len()))
                else {
                    let message = "the username and password must be at most 255 bytes each";
                    return Err(self.error(ErrorKind::Proxy, message));
                };
                let mut request = vec![USERNAME_PASSWORD_VERSION, user_len];
                request.extend_from_slice(user);
                request.push(password_len);
                request.extend_from_slice(password);
                self.send(stream, &request).await?;
                let [_version, status] = self.receive::<S, 2>(stream).await?;
                if status != 0 {
                    let message = "rejected the username and password";
                    return Err(self.error(ErrorKind::Proxy, message));
                }
            }
            (NO_ACCEPTABLE_METHODS, _) => {
                let message = if credentials.is_some() {
                    "accepts none of the offered authentication methods (none, username/password)"
                } else {
                    "accepts none of the offered authentication methods (none): it may require a username and password"
                };
                return Err(self.error(ErrorKind::Proxy, message));
            }
            (other, _) => {
                let message =
                    format!("chose authentication method {other:#04x}, which was not offered");
                return Err(self.error(ErrorKind::Protocol, message));
            }
        }

        self.send(stream, &self.connect_request()?).await?;
        let [version, reply, _reserved, address_type] = self.receive::<S, 4>(stream).await?;
        self.check_version(version)?;
        if reply != 0 {
            let message = format!(
                "could not connect to {}: {} (reply {reply})",
                self.target(),
                reply_text(reply)
            );
            return Err(self.error(ErrorKind::Proxy, message));
        }
        // The bound address and port: read so that no handshake byte is left in the stream.
        let address_len = match address_type {
            ATYP_IPV4 => 4,
            ATYP_IPV6 => 16,
            ATYP_DOMAIN => usize::from(self.receive::<S, 1>(stream).await?[0]),
            other => {
                let message = format!("answered with unknown address type {other}");
                return Err(self.error(ErrorKind::Protocol, message));
            }
        };
        let mut bound = vec![0u8; address_len + 2];
        stream
            .read_exact(&mut bound)
            .await
            .map_err(|error| self.io_error(error))?;
        Ok(())
    }

    /// `VER CMD RSV ATYP DST.ADDR DST.PORT` for the route's origin.
    fn connect_request(&self) -> Result<Vec<u8>, Error> {
        let address = self.route.address();
        let mut request = vec![VERSION, CONNECT, 0];
        match address.host().parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => {
                request.push(ATYP_IPV4);
                request.extend_from_slice(&ip.octets());
            }
            Ok(IpAddr::V6(ip)) => {
                request.push(ATYP_IPV6);
                request.extend_from_slice(&ip.octets());
            }
            Err(_) => {
                let host = address.host().as_bytes();
                let Ok(len) = u8::try_from(host.len()) else {
                    let message = "the host name is longer than SOCKS5 allows (255 bytes)";
                    return Err(self.error(ErrorKind::Proxy, message));
                };
                request.push(ATYP_DOMAIN);
                request.push(len);
                request.extend_from_slice(host);
            }
        }
        request.extend_from_slice(&address.port().to_be_bytes());
        Ok(request)
    }

    async fn send<S: AsyncWrite + Unpin>(&self, stream: &mut S, bytes: &[u8]) -> Result<(), Error> {
        stream
            .write_all(bytes)
            .await
            .map_err(|error| self.io_error(error))?;
        stream.flush().await.map_err(|error| self.io_error(error))
    }

    async fn receive<S: AsyncRead + Unpin, const N: usize>(
        &self,
        stream: &mut S,
    ) -> Result<[u8; N], Error> {
        let mut bytes = [0u8; N];
        stream
            .read_exact(&mut bytes)
            .await
            .map_err(|error| self.io_error(error))?;
        Ok(bytes)
    }

    fn check_version(&self, version: u8) -> Result<(), Error> {
        if version == VERSION {
            Ok(())
        } else {
            let message = format!("answered with version {version}, not 5");
            Err(self.error(ErrorKind::Protocol, message))
        }
    }

    fn target(&self) -> String {
        let address = self.route.address();
        if address.host().contains(':') {
            format!("[{}]:{}", address.host(), address.port())
        } else {
            format!("{}:{}", address.host(), address.port())
        }
    }

    fn error(&self, kind: ErrorKind, what: impl AsRef<str>) -> Error {
        Error::new(
            kind,
            format!("SOCKS5 proxy {} {}", self.route.proxy(), what.as_ref()),
        )
    }

    fn io_error(&self, error: std::io::Error) -> Error {
        let message = format!(
            "SOCKS5 handshake with {} for {} failed",
            self.route.proxy(),
            self.target()
        );
        Error::from_io(ErrorKind::Proxy, message, error)
    }
}

/// What a SOCKS5 reply code means (RFC 1928 §6).
fn reply_text(reply: u8) -> &'static str {
    match reply {
        0x01 => "general SOCKS server failure",
        0x02 => "connection not allowed by ruleset",
        0x03 => "network unreachable",
        0x04 => "host unreachable",
        0x05 => "connection refused by destination host",
        0x06 => "TTL expired",
        0x07 => "command not supported",
        0x08 => "address type not supported",
        _ => "unassigned failure code",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Address, NoProxy, Proxy, Scheme, SystemDns};
    use oktower_testkit::{MockResponse, MockWebServer};
    use std::net::SocketAddr;
    use std::sync::Arc;
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::mpsc;

    const PATIENCE: Duration = Duration::from_secs(10);

    /// How the test's SOCKS5 server behaves.
    #[derive(Clone, Copy)]
    struct Socks {
        /// Demand username/password authentication with these credentials.
        credentials: Option<(&'static str, &'static str)>,
        /// The reply code to answer every CONNECT with (0: succeeded, then relay).
        reply: u8,
    }

    /// Starts a SOCKS5 server on 127.0.0.1 that relays every CONNECT to `upstream`, whatever
    /// the target (standing in for the proxy's own DNS), and reports each target it was asked
    /// for as `atyp host:port`.
    async fn socks_server(
        socks: Socks,
        upstream: SocketAddr,
    ) -> (SocketAddr, mpsc::UnboundedReceiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (targets, received) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let targets = targets.clone();
                tokio::spawn(serve(client, socks, upstream, targets));
            }
        });
        (addr, received)
    }

    async fn serve(
        mut client: TcpStream,
        socks: Socks,
        upstream: SocketAddr,
        targets: mpsc::UnboundedSender<String>,
    ) -> std::io::Result<()> {
        let [version, count] = read_array::<2>(&mut client).await?;
        assert_eq!(version, 5);
        let mut methods = vec![0u8; usize::from(count)];
        client.read_exact(&mut methods).await?;
        let wanted = if socks.credentials.is_some() { 2 } else { 0 };
        if !methods.contains(&wanted) {
            return client.write_all(&[5, 0xff]).await;
        }
        client.write_all(&[5, wanted]).await?;
        if let Some((user, password)) = socks.credentials {
            let [_version, user_len] = read_array::<2>(&mut client).await?;
            let mut sent_user = vec![0u8; usize::from(user_len)];
            client.read_exact(&mut sent_user).await?;
            let password_len = client.read_u8().await?;
            let mut sent_password = vec![0u8; usize::from(password_len)];
            client.read_exact(&mut sent_password).await?;
            if sent_user != user.as_bytes() || sent_password != password.as_bytes() {
                return client.write_all(&[1, 1]).await;
            }
            client.write_all(&[1, 0]).await?;
        }
        let [_version, command, _reserved, atyp] = read_array::<4>(&mut client).await?;
        assert_eq!(command, 1);
        let host = match atyp {
            1 => IpAddr::from(read_array::<4>(&mut client).await?).to_string(),
            4 => IpAddr::from(read_array::<16>(&mut client).await?).to_string(),
            _ => {
                let mut name = vec![0u8; usize::from(client.read_u8().await?)];
                client.read_exact(&mut name).await?;
                String::from_utf8(name).unwrap()
            }
        };
        let port = client.read_u16().await?;
        let _ = targets.send(format!("{atyp} {host}:{port}"));
        // The bound address, as a domain name to exercise the client's variable-length read.
        let mut reply = vec![5, socks.reply, 0, 3, 9];
        reply.extend_from_slice(b"relay.foo\x1f\x90");
        client.write_all(&reply).await?;
        if socks.reply != 0 {
            return Ok(());
        }
        let mut origin = TcpStream::connect(upstream).await?;
        tokio::io::copy_bidirectional(&mut client, &mut origin).await?;
        Ok(())
    }

    async fn read_array<const N: usize>(stream: &mut TcpStream) -> std::io::Result<[u8; N]> {
        let mut bytes = [0u8; N];
        stream.read_exact(&mut bytes).await?;
        Ok(bytes)
    }

    fn route(host: &str, port: u16, proxy: Proxy, proxy_addr: SocketAddr) -> Route {
        let (dns, selector) = (Arc::new(SystemDns), Arc::new(NoProxy));
        let address = Address::builder(Scheme::Http, host, port, dns, selector).build();
        Route::new(address, proxy, proxy_addr)
    }

    /// Runs the handshake for `host:80` through a server behaving as `socks`, with
    /// `credentials` if any, and returns the stream and what the server was asked for.
    async fn handshake(
        socks: Socks,
        host: &str,
        credentials: Option<(&str, &str)>,
    ) -> (Result<TcpStream, Error>, MockWebServer, Option<String>) {
        let origin = MockWebServer::start().await.unwrap();
        let (proxy_addr, mut targets) = socks_server(socks, origin.socket_addr()).await;
        let mut proxy = Proxy::socks5("127.0.0.1", proxy_addr.port());
        if let Some((user, password)) = credentials {
            proxy = proxy.with_credentials(user, password);
        }
        let route = route(host, 80, proxy, proxy_addr);
        let mut stream = TcpStream::connect(proxy_addr).await.unwrap();
        let result = socks5_connect(&mut stream, &route, Some(PATIENCE)).await;
        (result.map(|()| stream), origin, targets.try_recv().ok())
    }

    async fn get(stream: &mut TcpStream) -> String {
        let request = b"GET /via-socks HTTP/1.1\r\nHost: origin.test\r\nConnection: close\r\n\r\n";
        stream.write_all(request).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        // Nothing of the handshake (the bound address) is left before the response.
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response:?}");
        response
    }

    const OPEN: Socks = Socks {
        credentials: None,
        reply: 0,
    };
    const LOCKED: Socks = Socks {
        credentials: Some(("user", "pass")),
        reply: 0,
    };

    #[tokio::test]
    async fn without_auth_the_host_name_is_sent_for_remote_dns() {
        let (stream, origin, target) = handshake(OPEN, "origin.test", None).await;
        origin.enqueue(MockResponse::new().body("hello through socks"));
        let mut stream = stream.unwrap();
        assert_eq!(target.as_deref(), Some("3 origin.test:80"));
        assert!(get(&mut stream).await.ends_with("hello through socks"));
        let request = origin.take_request(PATIENCE).await.unwrap();
        assert_eq!(request.path(), "/via-socks");
    }

    #[tokio::test]
    async fn with_username_and_password() {
        let (stream, origin, target) = handshake(LOCKED, "127.0.0.9", Some(("user", "pass"))).await;
        origin.enqueue(MockResponse::new().body("authenticated"));
        assert_eq!(target.as_deref(), Some("1 127.0.0.9:80"));
        assert!(get(&mut stream.unwrap()).await.ends_with("authenticated"));
    }

    #[tokio::test]
    async fn a_wrong_password_is_rejected() {
        let (stream, _origin, target) =
            handshake(LOCKED, "origin.test", Some(("user", "nope"))).await;
        let error = stream.err().unwrap();
        assert!(error.is_proxy(), "{error:?}");
        assert!(
            error
                .message()
                .ends_with("rejected the username and password"),
            "{error}"
        );
        assert_eq!(target, None);
    }

    #[tokio::test]
    async fn a_proxy_demanding_credentials_refuses_a_client_without() {
        let (stream, _origin, _target) = handshake(LOCKED, "origin.test", None).await;
        let error = stream.err().unwrap();
        assert!(error.is_proxy(), "{error:?}");
        assert!(
            error.message().contains("accepts none of the offered"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn failure_replies_are_named() {
        let refusing = Socks {
            credentials: None,
            reply: 5,
        };
        let (stream, _origin, target) = handshake(refusing, "origin.test", None).await;
        let error = stream.err().unwrap();
        assert!(error.is_proxy(), "{error:?}");
        assert_eq!(target.as_deref(), Some("3 origin.test:80"));
        assert!(
            error
                .message()
                .starts_with("SOCKS5 proxy socks5://127.0.0.1:"),
            "{error}"
        );
        assert!(
            error.message().ends_with(
                " could not connect to origin.test:80: connection refused by destination host (reply 5)"
            ),
            "{error}"
        );
        assert_eq!(error.url(), Some("http://origin.test:80/"));
    }

    #[test]
    fn connect_requests_encode_names_and_addresses() {
        let proxy_addr = "127.0.0.1:1080".parse().unwrap();
        let request = |host: &str| {
            let route = route(host, 443, Proxy::socks5("127.0.0.1", 1080), proxy_addr);
            Handshake { route: &route }.connect_request().unwrap()
        };
        assert_eq!(request("a.test"), b"\x05\x01\x00\x03\x06a.test\x01\xbb");
        assert_eq!(
            request("10.1.2.3"),
            b"\x05\x01\x00\x01\x0a\x01\x02\x03\x01\xbb"
        );
        let mut v6 = b"\x05\x01\x00\x04".to_vec();
        v6.extend_from_slice(&[0; 15]);
        v6.extend_from_slice(b"\x01\x01\xbb");
        assert_eq!(request("::1"), v6);
        assert!(
            Handshake {
                route: &route(&"a".repeat(256), 443, Proxy::socks5("p", 1), proxy_addr)
            }
            .connect_request()
            .is_err()
        );
    }
}
