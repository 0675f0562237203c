//! The URL arithmetic the cache needs: a canonical text for keys, resource and origin
//! comparison, and RFC 3986 §5.2 resolution of `Location` / `Content-Location` references.

use std::fmt::Write as _;

use http::Uri;
use http::uri::{Authority, Scheme};

/// The canonical text of an absolute `uri`: lowercase scheme and host, the port only when it
/// is not the scheme's default, user info kept as sent, and `/` for an empty path. `None` for
/// a URI without a scheme or an authority.
pub(crate) fn canonical(uri: &Uri) -> Option<String> {
    let scheme = uri.scheme()?;
    let authority = uri.authority()?;
    let mut text = String::with_capacity(64);
    text.push_str(&scheme.as_str().to_ascii_lowercase());
    text.push_str("://");
    if let Some(user_info) = user_info(authority) {
        text.push_str(user_info);
        text.push('@');
    }
    let host = authority.host();
    text.push_str(&host.to_ascii_lowercase());
    if let Some(port) = authority.port_u16()
        && Some(port) != default_port(scheme)
    {
        // Writing to a String cannot fail.
        let _ = write!(text, ":{port}");
    }
    text.push_str(uri.path());
    if let Some(query) = uri.query() {
        text.push('?');
        text.push_str(query);
    }
    Some(text)
}

/// Whether `a` and `b` name the same resource (the same canonical text), without allocating.
pub(crate) fn same_resource(a: &Uri, b: &Uri) -> bool {
    same_origin(a, b)
        && a.authority().map(user_info) == b.authority().map(user_info)
        && a.path() == b.path()
        && a.query() == b.query()
}

/// Whether `a` and `b` have the same origin: scheme, host (ignoring case) and effective port.
pub(crate) fn same_origin(a: &Uri, b: &Uri) -> bool {
    let (Some(scheme_a), Some(scheme_b)) = (a.scheme(), b.scheme()) else {
        return false;
    };
    let (Some(authority_a), Some(authority_b)) = (a.authority(), b.authority()) else {
        return false;
    };
    scheme_a.as_str().eq_ignore_ascii_case(scheme_b.as_str())
        && authority_a.host().eq_ignore_ascii_case(authority_b.host())
        && effective_port(scheme_a, authority_a) == effective_port(scheme_b, authority_b)
}

/// Resolves `reference` (a `Location` or `Content-Location` value) against the absolute
/// `base`, per RFC 3986 §5.2. The fragment is dropped. `None` when the reference or the result
/// is not a valid URI.
pub(crate) fn resolve(base: &Uri, reference: &str) -> Option<Uri> {
    let reference = reference.trim();
    let reference = reference
        .split_once('#')
        .map_or(reference, |(before, _)| before);
    let base_scheme = base.scheme()?;
    let base_authority = base.authority()?;

    if let Some(colon) = reference.find(':')
        && is_scheme(&reference[..colon])
    {
        // `http::Uri` reads `mailto:x@host` as an authority: insist on both parts.
        let target: Uri = reference.parse().ok()?;
        return (target.scheme().is_some() && target.authority().is_some()).then_some(target);
    }
    let target = if let Some(rest) = reference.strip_prefix("//") {
        format!("{}://{rest}", base_scheme.as_str())
    } else {
        let (reference_path, reference_query) = match reference.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (reference, None),
        };
        let (path, query) = if reference_path.is_empty() {
            let query = reference_query.or(base.query());
            (base.path().to_owned(), query)
        } else if reference_path.starts_with('/') {
            (remove_dot_segments(reference_path), reference_query)
        } else {
            let base_path = base.path();
            // An absolute URI's path starts with '/', so the directory is never empty.
            let directory = &base_path[..base_path.rfind('/').map_or(0, |slash| slash + 1)];
            let merged = format!("{directory}{reference_path}");
            (remove_dot_segments(&merged), reference_query)
        };
        let mut target = format!("{}://{}{}", base_scheme.as_str(), base_authority, path);
        if let Some(query) = query {
            target.push('?');
            target.push_str(query);
        }
        target
    };
    let target: Uri = target.parse().ok()?;
    target.authority()?;
    Some(target)
}

/// RFC 3986 §5.2.4 on an absolute path.
fn remove_dot_segments(path: &str) -> String {
    let mut output: Vec<&str> = Vec::new();
    let mut ends_in_directory = false;
    for segment in path.split('/').skip(1) {
        ends_in_directory = false;
        match segment {
            "." => ends_in_directory = true,
            ".." => {
                output.pop();
                ends_in_directory = true;
            }
            other => output.push(other),
        }
    }
    let mut result = String::with_capacity(path.len() + 1);
    for segment in &output {
        result.push('/');
        result.push_str(segment);
    }
    if ends_in_directory || result.is_empty() {
        result.push('/');
    }
    result
}

/// Whether `text` is an RFC 3986 scheme: a letter, then letters, digits, `+`, `-` or `.`.
fn is_scheme(text: &str) -> bool {
    let mut bytes = text.bytes();
    bytes
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic())
        && bytes.all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'-' | b'.'))
}

fn user_info(authority: &Authority) -> Option<&str> {
    authority
        .as_str()
        .rsplit_once('@')
        .map(|(user_info, _)| user_info)
}

fn default_port(scheme: &Scheme) -> Option<u16> {
    if scheme.as_str().eq_ignore_ascii_case("https") || scheme.as_str().eq_ignore_ascii_case("wss")
    {
        Some(443)
    } else if scheme.as_str().eq_ignore_ascii_case("http")
        || scheme.as_str().eq_ignore_ascii_case("ws")
    {
        Some(80)
    } else {
        None
    }
}

fn effective_port(scheme: &Scheme, authority: &Authority) -> Option<u16> {
    authority.port_u16().or_else(|| default_port(scheme))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(text: &str) -> Uri {
        text.parse().unwrap()
    }

    #[test]
    fn canonical_text_lowercases_scheme_and_host_and_drops_default_ports() {
        assert_eq!(
            canonical(&uri("HTTP://Example.COM:80/A?b=C")).unwrap(),
            "http://example.com/A?b=C"
        );
        assert_eq!(
            canonical(&uri("https://example.com:443")).unwrap(),
            "https://example.com/"
        );
        assert_eq!(
            canonical(&uri("https://user:pw@example.com:8443/p")).unwrap(),
            "https://user:pw@example.com:8443/p"
        );
        assert_eq!(canonical(&uri("/relative")), None);
    }

    #[test]
    fn same_resource_agrees_with_canonical_text() {
        let pairs = [
            ("http://a.test/x", "HTTP://A.TEST:80/x", true),
            ("http://a.test", "http://a.test/", true),
            ("http://a.test?q", "http://a.test/?q", true),
            ("http://a.test/x", "http://a.test/X", false),
            ("http://a.test/x", "https://a.test/x", false),
            ("http://a.test/x?q", "http://a.test/x", false),
            ("http://u@a.test/x", "http://a.test/x", false),
            ("http://a.test:8080/x", "http://a.test/x", false),
        ];
        for (a, b, same) in pairs {
            assert_eq!(same_resource(&uri(a), &uri(b)), same, "{a} vs {b}");
            assert_eq!(
                canonical(&uri(a)) == canonical(&uri(b)),
                same,
                "canonical {a} vs {b}"
            );
        }
    }

    #[test]
    fn origins_compare_scheme_host_and_effective_port() {
        assert!(same_origin(
            &uri("https://a.test/x"),
            &uri("https://A.test:443/y")
        ));
        assert!(!same_origin(
            &uri("https://a.test/"),
            &uri("http://a.test/")
        ));
        assert!(!same_origin(
            &uri("https://a.test/"),
            &uri("https://b.test/")
        ));
        assert!(!same_origin(
            &uri("https://a.test/"),
            &uri("https://a.test:8443/")
        ));
        assert!(!same_origin(&uri("https://a.test/"), &uri("/x")));
    }

    #[test]
    fn references_resolve_per_rfc_3986() {
        let base = uri("http://a.test/b/c/d;p?q");
        let cases = [
            ("g", "http://a.test/b/c/g"),
            ("./g", "http://a.test/b/c/g"),
            ("g/", "http://a.test/b/c/g/"),
            ("/g", "http://a.test/g"),
            ("//g.test/x", "http://g.test/x"),
            ("?y", "http://a.test/b/c/d;p?y"),
            ("g?y", "http://a.test/b/c/g?y"),
            ("#s", "http://a.test/b/c/d;p?q"),
            ("g#s", "http://a.test/b/c/g"),
            ("", "http://a.test/b/c/d;p?q"),
            (".", "http://a.test/b/c/"),
            ("..", "http://a.test/b/"),
            ("../g", "http://a.test/b/g"),
            ("../..", "http://a.test/"),
            ("../../../g", "http://a.test/g"),
            ("/./g", "http://a.test/g"),
            ("g/../h", "http://a.test/b/c/h"),
            ("https://other.test/z", "https://other.test/z"),
        ];
        for (reference, expected) in cases {
            let resolved = resolve(&base, reference).unwrap();
            assert_eq!(resolved.to_string(), expected, "reference {reference:?}");
        }
    }

    #[test]
    fn unusable_references_resolve_to_nothing() {
        let base = uri("http://a.test/b");
        assert_eq!(resolve(&base, "mailto:x@a.test"), None);
        assert_eq!(resolve(&base, "http://bad host/"), None);
        assert_eq!(resolve(&base, "/with space"), None);
        assert_eq!(resolve(&uri("/relative-base"), "/x"), None);
    }
}
