//! Where `--location` goes next: OkHttp's redirect rules, decided from a response head.
//!
//! okcurl follows redirects itself (the client's own following is off) so that
//! `--max-redirs` can be any number and `-v`/`-i` show every hop.

use http::{Method, StatusCode, Uri};

/// The request to send after a redirect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redirect {
    /// Where to go.
    pub uri: Uri,
    /// The method to use: `GET` after a 300–303 for a method with a body (`PROPFIND` keeps
    /// its method and body), the same method after 307 and 308.
    pub method: Method,
    /// Whether the request body goes along.
    pub keep_body: bool,
}

/// The redirect `status` and `location` ask for after a `method` request to `current`, or
/// `None` when the response is final (not a redirect, no usable `Location`, or a scheme other
/// than `http` and `https`).
///
/// ```
/// use http::{Method, StatusCode};
/// use okcurl::next_redirect;
///
/// let current = "https://a.test/form".parse().unwrap();
/// let next = next_redirect(&Method::POST, StatusCode::SEE_OTHER, Some("/done?ok"), &current).unwrap();
/// assert_eq!(next.uri, "https://a.test/done?ok");
/// assert_eq!(next.method, Method::GET);
/// assert!(!next.keep_body);
/// ```
pub fn next_redirect(
    method: &Method,
    status: StatusCode,
    location: Option<&str>,
    current: &Uri,
) -> Option<Redirect> {
    let permanent_or_temporary = matches!(status.as_u16(), 307 | 308);
    if !permanent_or_temporary && !matches!(status.as_u16(), 300..=303) {
        return None;
    }
    let base = url::Url::parse(&current.to_string()).ok()?;
    let mut target = base.join(location?.trim()).ok()?;
    if !matches!(target.scheme(), "http" | "https") {
        return None;
    }
    target.set_fragment(None);
    let uri: Uri = target.as_str().parse().ok()?;
    let permits_body = !matches!(*method, Method::GET | Method::HEAD);
    let (method, keep_body) = if permanent_or_temporary || !permits_body {
        (method.clone(), permits_body)
    } else if method.as_str() == "PROPFIND" {
        (method.clone(), true)
    } else {
        (Method::GET, false)
    };
    Some(Redirect {
        uri,
        method,
        keep_body,
    })
}

/// Whether `a` and `b` have the same scheme, host and port: credentials given for one go to
/// the other only then, as in OkHttp and curl.
pub fn same_origin(a: &Uri, b: &Uri) -> bool {
    let port = |uri: &Uri| {
        uri.port_u16().or(match uri.scheme_str() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        })
    };
    a.scheme() == b.scheme()
        && a.host().map(str::to_ascii_lowercase) == b.host().map(str::to_ascii_lowercase)
        && port(a) == port(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(text: &str) -> Uri {
        text.parse().unwrap()
    }

    fn next(method: Method, status: u16, location: &str) -> Option<Redirect> {
        let status = StatusCode::from_u16(status).unwrap();
        next_redirect(
            &method,
            status,
            Some(location),
            &uri("http://a.test/dir/page"),
        )
    }

    #[test]
    fn relative_and_absolute_locations_resolve() {
        assert_eq!(
            next(Method::GET, 302, "other").unwrap().uri,
            "http://a.test/dir/other"
        );
        assert_eq!(
            next(Method::GET, 301, "/top#frag").unwrap().uri,
            "http://a.test/top"
        );
        assert_eq!(
            next(Method::GET, 308, "https://b.test:8443/x?y=1")
                .unwrap()
                .uri,
            "https://b.test:8443/x?y=1"
        );
        assert_eq!(
            next(Method::GET, 302, "//c.test/p").unwrap().uri,
            "http://c.test/p"
        );
    }

    #[test]
    fn final_responses_and_unusable_locations_stop() {
        assert_eq!(next(Method::GET, 200, "/x"), None);
        assert_eq!(next(Method::GET, 304, "/x"), None);
        assert_eq!(next(Method::GET, 305, "/x"), None);
        assert_eq!(next(Method::GET, 302, "ftp://a.test/file"), None);
        assert_eq!(next(Method::GET, 302, "http://"), None);
        let status = StatusCode::FOUND;
        let current = uri("http://a.test/");
        assert_eq!(next_redirect(&Method::GET, status, None, &current), None);
    }

    #[test]
    fn methods_change_as_okhttp_changes_them() {
        for status in [300, 301, 302, 303] {
            let post = next(Method::POST, status, "/x").unwrap();
            assert_eq!(
                (post.method, post.keep_body),
                (Method::GET, false),
                "{status}"
            );
            let head = next(Method::HEAD, status, "/x").unwrap();
            assert_eq!(
                (head.method, head.keep_body),
                (Method::HEAD, false),
                "{status}"
            );
        }
        let propfind = Method::from_bytes(b"PROPFIND").unwrap();
        let kept = next(propfind.clone(), 302, "/x").unwrap();
        assert_eq!((kept.method, kept.keep_body), (propfind, true));
        for status in [307, 308] {
            let put = next(Method::PUT, status, "/x").unwrap();
            assert_eq!((put.method, put.keep_body), (Method::PUT, true), "{status}");
            let get = next(Method::GET, status, "/x").unwrap();
            assert_eq!(
                (get.method, get.keep_body),
                (Method::GET, false),
                "{status}"
            );
        }
    }

    #[test]
    fn origins_compare_scheme_host_and_effective_port() {
        assert!(same_origin(
            &uri("http://A.test/x"),
            &uri("http://a.test:80/y")
        ));
        assert!(same_origin(
            &uri("https://a.test/"),
            &uri("https://a.test:443/")
        ));
        assert!(!same_origin(
            &uri("http://a.test/"),
            &uri("https://a.test/")
        ));
        assert!(!same_origin(&uri("http://a.test/"), &uri("http://b.test/")));
        assert!(!same_origin(
            &uri("http://a.test/"),
            &uri("http://a.test:8080/")
        ));
    }
}
