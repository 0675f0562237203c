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
    /// Whether `authority` (the text of an `http::uri::Authority`) has a non-empty host:
    /// something after its last `@` that is not a port. One backward search, for the checks
    /// that need no more than that.
    pub(crate) fn has_host(authority: &str) -> bool {
        let bytes = authority.as_bytes();
        let start = bytes
            .iter()
            .rposition(|&byte| byte == b'@')
            .map_or(0, |at| at + 1);
        !matches!(bytes.get(start), None | Some(b':'))
    }

    /// Whether `uri` has an authority with a non-empty host (see [`has_host`](Self::has_host)).
    pub(crate) fn uri_has_host(uri: &Uri) -> bool {
        uri.authority()
            .is_some_and(|authority| Self::has_host(authority.as_str()))
    }

    /// The host and port of `authority` (the text of an `http::uri::Authority`): the host
    /// starts after the last `@` and ends at the first `:` after it (after the closing `]` of
    /// an IPv6 literal).
    /// The host of `authority` alone, as [`of`](Self::of) finds it, in one pass that only
    /// notes where the last `@` and the first `:` after it are (no port to check or parse):
    /// for callers that need no port, such as the dispatcher's per-host count.
    pub(crate) fn host_of(authority: &'a str) -> &'a str {
        let bytes = authority.as_bytes();
        let mut start = 0;
        let mut colon = None;
        for (index, &byte) in bytes.iter().enumerate() {
            match byte {
                b'@' => {
                    start = index + 1;
                    colon = None;
                }
                b':' if colon.is_none() => colon = Some(index),
                _ => {}
            }
        }
        let end = if bytes.get(start) == Some(&b'[') {
            // An IPv6 literal: up to its `]`, whatever colons it holds.
            bytes[start..]
                .iter()
                .position(|&byte| byte == b']')
                .map_or(bytes.len(), |close| start + close + 1)
        } else {
            colon.unwrap_or(bytes.len())
        };
        // `start` follows an ASCII `@` and `end` is at an ASCII `:`, after an ASCII `]` or at
        // the end: both are character boundaries.
        authority.get(start..end).unwrap_or_default()
    }

    pub(crate) fn of(authority: &'a str) -> Self {
        Self::of_plain(authority).unwrap_or_else(|| Self::of_any(authority))
    }

    /// The common case in one forward pass: `host` or `host:digits`, without user info or an
    /// IPv6 literal. `None` for any other authority.
    fn of_plain(authority: &'a str) -> Option<Self> {
        let bytes = authority.as_bytes();
        let mut end = 0;
        while end < bytes.len() && !matches!(bytes[end], b':' | b'@' | b'[') {
            end += 1;
        }
        let port = match bytes.get(end) {
            None => None,
            Some(b':') => {
                let digits = &bytes[end + 1..];
                if !digits.iter().all(u8::is_ascii_digit) {
                    // User info (`user:password@host`) or something stranger.
                    return None;
                }
                parse_port(digits)
            }
            Some(_) => return None,
        };
        Some(HostPort {
            // `end` is at an ASCII `:` or at the end: a character boundary.
            host: authority.get(..end)?,
            port,
            bare: true,
        })
    }

    /// Any authority: the host after the last `@`, bracketed when it is an IPv6 literal
    /// ([`host_of`](Self::host_of)), and the port as `http` reads it: the digits after the
    /// authority's last `:`, wherever that is (in `[]a:0` it does not follow the host).
    fn of_any(authority: &'a str) -> Self {
        let bytes = authority.as_bytes();
        let port = bytes
            .iter()
            .rposition(|&byte| byte == b':')
            .and_then(|colon| bytes.get(colon + 1..))
            .and_then(parse_port);
        HostPort {
            host: Self::host_of(authority),
            port,
            bare: !bytes.contains(&b'@'),
        }
    }
}

/// A port as `http` reads one (`str::parse::<u16>` without a sign): decimal digits, leading
/// zeros allowed, at most 65535.
fn parse_port(digits: &[u8]) -> Option<u16> {
    if digits.is_empty() {
        return None;
    }
    let mut port: u16 = 0;
    for &digit in digits {
        if !digit.is_ascii_digit() {
            return None;
        }
        port = port.checked_mul(10)?.checked_add(u16::from(digit - b'0'))?;
    }
    Some(port)
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
            "http://h:000080/",
            "http://a@b@[::1]@h:1/",
            "http://h]:1/",
            "http://xn--bcher-kva.test/",
            "http://@h/",
            "http://user@/",
            "http://:80/",
            "http://[]a:0/",
        ] {
            let parsed: Uri = match uri.parse() {
                Ok(parsed) => parsed,
                Err(_) => continue,
            };
            let authority = parsed.authority().unwrap();
            let found = HostPort::of(authority.as_str());
            assert_eq!(found.host, authority.host(), "{uri}");
            assert_eq!(
                HostPort::host_of(authority.as_str()),
                authority.host(),
                "{uri}"
            );
            assert_eq!(found.port, authority.port_u16(), "{uri}");
            assert_eq!(found.bare, !authority.as_str().contains('@'), "{uri}");
            assert_eq!(
                HostPort::uri_has_host(&parsed),
                !authority.host().is_empty(),
                "{uri}"
            );
        }
    }

    proptest::proptest! {
        /// Any authority `http` accepts, made of the characters that matter to the split.
        #[test]
        fn any_authority_splits_as_http_splits_it(text in "[a-c0-9@:\\[\\]]{0,16}") {
            let Ok(parsed) = format!("http://{text}/").parse::<Uri>() else {
                return Ok(());
            };
            let Some(authority) = parsed.authority() else {
                return Ok(());
            };
            let found = HostPort::of(authority.as_str());
            proptest::prop_assert_eq!(found.host, authority.host());
            proptest::prop_assert_eq!(HostPort::host_of(authority.as_str()), authority.host());
            proptest::prop_assert_eq!(found.port, authority.port_u16());
            proptest::prop_assert_eq!(found.bare, !text.contains('@'));
            proptest::prop_assert_eq!(HostPort::of_any(authority.as_str()), found);
            proptest::prop_assert_eq!(
                HostPort::has_host(authority.as_str()),
                !authority.host().is_empty()
            );
        }
    }

    #[test]
    fn a_uri_without_authority_has_no_host() {
        let relative: Uri = "/only/a/path".parse().unwrap();
        assert!(!HostPort::uri_has_host(&relative));
    }

    #[test]
    fn ports_are_decimal_digits_that_fit_in_sixteen_bits() {
        assert_eq!(parse_port(b"8080"), Some(8080));
        assert_eq!(parse_port(b"65535"), Some(65535));
        assert_eq!(parse_port(b"00080"), Some(80));
        assert_eq!(parse_port(b"65536"), None);
        assert_eq!(parse_port(b"99999"), None);
        assert_eq!(parse_port(b"0000080"), Some(80));
        assert_eq!(parse_port(b"080800"), None);
        assert_eq!(parse_port(b"+80"), None);
        assert_eq!(parse_port(b"8a"), None);
        assert_eq!(parse_port(b""), None);
    }
}
