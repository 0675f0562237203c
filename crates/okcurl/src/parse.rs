//! Parsers for the flag values that carry structure: headers, `--resolve` entries, proxies,
//! pins and credentials. Each one returns a [`UsageError`] for bad input.

use std::net::IpAddr;

use http::{HeaderName, HeaderValue};
use oktower::Proxy;

use crate::UsageError;

/// A `--resolve` entry: `host` answers with `addresses`.
///
/// oktower resolves by host name, so the entry applies to every port of `host`; the port is
/// kept to show in messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolveEntry {
    /// The host name, lower-cased.
    pub host: String,
    /// The port named in the entry.
    pub port: u16,
    /// The addresses the host resolves to.
    pub addresses: Vec<IpAddr>,
}

/// A `--pin`: `pin` (`sha256/<base64>`) for hosts matching `pattern`, or every URL's host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinSpec {
    /// The host pattern (`a.test`, `*.a.test`, `**.a.test`), when given.
    pub pattern: Option<String>,
    /// The pin, `sha256/<base64>`.
    pub pin: String,
}

/// `Name: value` (or `Name;` for an empty value) as a header.
pub fn header(text: &str) -> Result<(HeaderName, HeaderValue), UsageError> {
    let (name, value) = match text.split_once(':') {
        Some((name, value)) => (name, value.trim()),
        None => match text.strip_suffix(';') {
            Some(name) => (name, ""),
            None => {
                return Err(UsageError::new(format!(
                    "the header {text:?} is not `Name: value`"
                )));
            }
        },
    };
    let name = HeaderName::try_from(name.trim())
        .map_err(|_| UsageError::new(format!("{name:?} is not a valid header name")))?;
    let value = HeaderValue::try_from(value)
        .map_err(|_| UsageError::new(format!("the value of header {name} is not valid")))?;
    Ok((name, value))
}

/// `HOST:PORT:ADDRESS[,ADDRESS...]` (addresses may be bracketed IPv6 literals).
pub fn resolve_entry(text: &str) -> Result<ResolveEntry, UsageError> {
    let bad = |why: &str| UsageError::new(format!("--resolve {text:?}: {why}"));
    let text_without_plus = text.strip_prefix('+').unwrap_or(text);
    let mut parts = text_without_plus.splitn(3, ':');
    let (Some(host), Some(port), Some(addresses)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("expected HOST:PORT:ADDRESS"));
    };
    if host.is_empty() {
        return Err(bad("the host is empty"));
    }
    let port = port.parse().map_err(|_| bad("the port is not a number"))?;
    let addresses = addresses
        .split(',')
        .map(|address| {
            let address = address.trim();
            let bare = address
                .strip_prefix('[')
                .and_then(|inner| inner.strip_suffix(']'))
                .unwrap_or(address);
            bare.parse::<IpAddr>()
                .map_err(|_| bad(&format!("{address:?} is not an IP address")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ResolveEntry {
        host: host.to_ascii_lowercase(),
        port,
        addresses,
    })
}

/// `[http|https|socks5|socks5h://][USER:PASSWORD@]HOST[:PORT]` as a proxy (curl's default
/// proxy port, 1080, when none is given for HTTP and SOCKS proxies).
pub fn proxy(text: &str) -> Result<Proxy, UsageError> {
    let bad = |why: &str| UsageError::new(format!("--proxy {text:?}: {why}"));
    let with_scheme = if text.contains("://") {
        text.to_owned()
    } else {
        format!("http://{text}")
    };
    let url = url::Url::parse(&with_scheme).map_err(|error| bad(&error.to_string()))?;
    let host = match url.host() {
        Some(url::Host::Ipv6(address)) => address.to_string(),
        Some(host) => host.to_string(),
        None => return Err(bad("no host")),
    };
    let proxy = match url.scheme() {
        "http" => Proxy::http(host, url.port().unwrap_or(1080)),
        "https" => Proxy::https(host, url.port().unwrap_or(443)),
        "socks5" | "socks5h" => Proxy::socks5(host, url.port().unwrap_or(1080)),
        other => return Err(bad(&format!("the proxy scheme {other:?} is not supported"))),
    };
    if url.username().is_empty() {
        return Ok(proxy);
    }
    let password = url.password().map(percent_decode).unwrap_or_default();
    Ok(proxy.with_credentials(percent_decode(url.username()), password))
}

/// `text` with its `%XX` escapes decoded (invalid escapes kept as they are).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| text.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                index += 3;
            }
            None => {
                decoded.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// `USER[:PASSWORD]` as a user and an optional password.
pub fn credentials(text: &str) -> (String, Option<String>) {
    match text.split_once(':') {
        Some((user, password)) => (user.to_owned(), Some(password.to_owned())),
        None => (text.to_owned(), None),
    }
}

/// `[HOST:]sha256/BASE64` as a pin.
pub fn pin(text: &str) -> Result<PinSpec, UsageError> {
    const HASH: &str = "sha256/";
    let (pattern, pin) = if text.starts_with(HASH) {
        (None, text)
    } else {
        match text.find(":sha256/") {
            Some(at) => (Some(text[..at].to_owned()), &text[at + 1..]),
            None => {
                return Err(UsageError::new(format!(
                    "--pin {text:?}: expected [HOST:]sha256/BASE64"
                )));
            }
        }
    };
    if pin.len() == HASH.len() {
        return Err(UsageError::new(format!(
            "--pin {text:?}: the hash is empty"
        )));
    }
    Ok(PinSpec {
        pattern,
        pin: pin.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    #[test]
    fn headers() {
        let (name, value) = header("X-Trace:  abc ").unwrap();
        assert_eq!(name, "x-trace");
        assert_eq!(value, "abc");
        let (name, value) = header("X-Empty;").unwrap();
        assert_eq!((name.as_str(), value.as_bytes()), ("x-empty", &b""[..]));
        let (_, value) = header("Link: <a:b>").unwrap();
        assert_eq!(value, "<a:b>");
        assert!(header("no colon").is_err());
        assert!(header("Bad Name: x").is_err());
        assert!(header("X: a\r\nInjected: b").is_err());
    }

    #[test]
    fn resolve_entries() {
        let entry = resolve_entry("A.test:443:127.0.0.1").unwrap();
        assert_eq!(entry.host, "a.test");
        assert_eq!(entry.port, 443);
        assert_eq!(entry.addresses, [IpAddr::V4(Ipv4Addr::LOCALHOST)]);
        let entry = resolve_entry("+b.test:80:[::1],10.0.0.1").unwrap();
        assert_eq!(
            entry.addresses,
            [
                IpAddr::V6(Ipv6Addr::LOCALHOST),
                IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))
            ]
        );
        assert!(resolve_entry("a.test:443").is_err());
        assert!(resolve_entry("a.test:http:127.0.0.1").is_err());
        assert!(resolve_entry("a.test:80:not-an-ip").is_err());
        assert!(resolve_entry(":80:127.0.0.1").is_err());
    }

    #[test]
    fn proxies() {
        assert_eq!(proxy("p.test").unwrap(), Proxy::http("p.test", 1080));
        assert_eq!(
            proxy("http://p.test:3128").unwrap(),
            Proxy::http("p.test", 3128)
        );
        assert_eq!(
            proxy("https://p.test").unwrap(),
            Proxy::https("p.test", 443)
        );
        assert_eq!(
            proxy("socks5h://127.0.0.1:9050").unwrap(),
            Proxy::socks5("127.0.0.1", 9050)
        );
        assert_eq!(
            proxy("http://me:p%40ss@p.test:8080").unwrap(),
            Proxy::http("p.test", 8080).with_credentials("me", "p@ss")
        );
        assert_eq!(
            proxy("http://[::1]:8080").unwrap(),
            Proxy::http("::1", 8080)
        );
        assert!(proxy("ftp://p.test").is_err());
        assert!(proxy("http://").is_err());
    }

    #[test]
    fn percent_escapes_decode() {
        assert_eq!(percent_decode("a%40b%2Bc+d"), "a@b+c+d");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn credentials_split_at_the_first_colon() {
        assert_eq!(
            credentials("me:a:b"),
            ("me".to_owned(), Some("a:b".to_owned()))
        );
        assert_eq!(credentials("me"), ("me".to_owned(), None));
    }

    #[test]
    fn pins() {
        let all = pin("sha256/AAAA=").unwrap();
        assert_eq!((all.pattern, all.pin.as_str()), (None, "sha256/AAAA="));
        let one = pin("*.a.test:sha256/BBBB").unwrap();
        assert_eq!(one.pattern.as_deref(), Some("*.a.test"));
        assert_eq!(one.pin, "sha256/BBBB");
        assert!(pin("md5/xyz").is_err());
        assert!(pin("sha256/").is_err());
    }
}
