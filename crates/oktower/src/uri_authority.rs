//! [`HostPort`]: a URI authority's host and port found in one pass over its bytes, without the
//! searches of `http::uri::Authority::host` and `port_u16` (each request needs them several
//! times: the URL check, the `Host` header).

use http::Uri;

/// The host and port of an authority that `http` parsed (so it is well formed): the user info
/// is skipped, an IPv6 literal keeps its brackets, as `Authority::host` returns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HostPort<'a> {
    /// The host, as `http::uri::Authority::host` returns it.
    pub(crate) host: &'a str,
    /// The port, as `http::uri::Authority::port_u16` returns it.
    pub(crate) port: Option<u16>,
    /// Whether the authority is exactly `host` or `host:port` (no user info).
    pub(crate) bare: bool,
}

impl<'a> HostPort<'a> {
    /// The host and port of `uri`'s authority, if it has one.
    pub(crate) fn of_uri(uri: &'a Uri) -> Option<Self> {
        uri.authority()
            .map(|authority| Self::of(authority.as_str()))
    }

    /// The host and port of `authority` (the text of an `http::uri::Authority`).
    pub(crate) fn of(authority: &'a str) -> Self {
        let bytes = authority.as_bytes();
        let start = bytes
            .iter()
            .rposition(|&byte| byte == b'@')
            .map_or(0, |at| at + 1);
        let rest = &bytes[start..];
        let host_len = if rest.first() == Some(&b'[') {
            rest.iter()
                .position(|&byte| byte == b']')
                .map_or(rest.len(), |end| end + 1)
        } else {
            rest.iter()
                .position(|&byte| byte == b':')
                .unwrap_or(rest.len())
        };
        let end = start + host_len;
        // `start` follows an ASCII `@`, `end` is at an ASCII `:` or after an ASCII `]` (or at
        // the end), so both are character boundaries.
        let host = authority.get(start..end).unwrap_or_default();
        let port = match bytes.get(end) {
            Some(b':') => authority.get(end + 1..).and_then(parse_port),
            _ => None,
        };
        HostPort {
            host,
            port,
            bare: start == 0,
        }
    }
}

/// A port as `http` reads one: decimal digits only, at most 65535.
fn parse_port(text: &str) -> Option<u16> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_match_what_http_returns() {
        for uri in [
            "http://a.test/",
            "http://A.Test:8080/x",
            "https://user:pw@Example.COM:443/",
            "http://u@v@host.test/",
            "http://u:p:q@host.test:1/",
            "http://[::1]:80/",
            "http://[FE80::1]/",
            "http://[::ffff:1.2.3.4]:65535/",
            "http://user@[::1]:8080/",
            "http://127.0.0.1:9/",
            "http://h:/",
            "http://h:0/",
            "http://h:65536/",
            "http://h:99999999999/",
            "http://xn--bcher-kva.test/",
            "http://@h/",
            "http://user@/",
            "http://:80/",
        ] {
            let parsed: Uri = match uri.parse() {
                Ok(parsed) => parsed,
                Err(_) => continue,
            };
            let authority = parsed.authority().unwrap();
            let found = HostPort::of_uri(&parsed).unwrap();
            assert_eq!(found.host, authority.host(), "{uri}");
            assert_eq!(found.port, authority.port_u16(), "{uri}");
            assert_eq!(found.bare, !authority.as_str().contains('@'), "{uri}");
        }
    }

    #[test]
    fn a_uri_without_authority_has_no_host() {
        let relative: Uri = "/only/a/path".parse().unwrap();
        assert_eq!(HostPort::of_uri(&relative), None);
    }

    #[test]
    fn ports_are_decimal_digits_that_fit_in_sixteen_bits() {
        assert_eq!(parse_port("8080"), Some(8080));
        assert_eq!(parse_port("65535"), Some(65535));
        assert_eq!(parse_port("65536"), None);
        assert_eq!(parse_port("+80"), None);
        assert_eq!(parse_port(""), None);
    }
}
