//! Redirect requests for every code and method, Location resolution and credential rules.

use super::*;
use http::{HeaderValue, Version};

const CODES: [u16; 6] = [300, 301, 302, 303, 307, 308];

fn request(method: &str, uri: &str) -> request::Parts {
    http::Request::builder()
        .method(method)
        .uri(uri)
        .version(Version::HTTP_11)
        .header(AUTHORIZATION, "Basic dXNlcjpwYXNz")
        .header(COOKIE, "session=1")
        .header(PROXY_AUTHORIZATION, "Basic cHJveHk6cHc=")
        .header(HOST, "a.test")
        .header(CONTENT_TYPE, "text/plain")
        .header(CONTENT_LENGTH, "5")
        .header(TRANSFER_ENCODING, "identity")
        .header("x-custom", "kept")
        .extension(42u32)
        .body(())
        .unwrap()
        .into_parts()
        .0
}

fn response(code: u16, locations: &[&str]) -> response::Parts {
    let mut builder = http::Response::builder().status(code);
    for location in locations {
        builder = builder.header(LOCATION, *location);
    }
    builder.body(()).unwrap().into_parts().0
}

fn follow(method: &str, code: u16, location: &str) -> Option<Redirect> {
    redirect(
        &request(method, "http://a.test/dir/page?x=1"),
        &response(code, &[location]),
        &Policy::default(),
    )
}

fn has(redirect: &Redirect, name: http::header::HeaderName) -> bool {
    redirect.head.headers.contains_key(name)
}

#[test]
fn get_and_head_keep_their_method_for_every_code() {
    for code in CODES {
        for method in ["GET", "HEAD"] {
            let redirect = follow(method, code, "/next").unwrap();
            assert_eq!(redirect.head.method, method, "{method} {code}");
            assert!(redirect.keep_body, "{method} {code}");
            assert!(has(&redirect, CONTENT_LENGTH), "{method} {code}");
            assert_eq!(redirect.head.uri, "http://a.test/next");
        }
    }
}

#[test]
fn post_becomes_get_without_body_except_307_and_308() {
    for code in [300, 301, 302, 303] {
        let redirect = follow("POST", code, "/next").unwrap();
        assert_eq!(redirect.head.method, Method::GET, "{code}");
        assert!(!redirect.keep_body);
        for name in [CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING] {
            assert!(!has(&redirect, name.clone()), "{code} {name}");
        }
        assert_eq!(redirect.head.headers["x-custom"], "kept");
    }
    for code in [307, 308] {
        let redirect = follow("POST", code, "/next").unwrap();
        assert_eq!(redirect.head.method, Method::POST, "{code}");
        assert!(redirect.keep_body);
        assert_eq!(redirect.head.headers[CONTENT_LENGTH], "5");
        assert_eq!(redirect.head.headers[CONTENT_TYPE], "text/plain");
    }
}

#[test]
fn other_methods_with_bodies_follow_post() {
    for method in ["PUT", "DELETE", "PATCH", "OPTIONS", "REPORT"] {
        for code in [301, 302, 303] {
            let redirect = follow(method, code, "/next").unwrap();
            assert_eq!(redirect.head.method, Method::GET, "{method} {code}");
            assert!(!redirect.keep_body);
        }
        for code in [307, 308] {
            let redirect = follow(method, code, "/next").unwrap();
            assert_eq!(redirect.head.method, method, "{method} {code}");
            assert!(redirect.keep_body);
        }
    }
}

#[test]
fn propfind_keeps_method_and_body_for_every_code() {
    for code in CODES {
        let redirect = follow("PROPFIND", code, "/next").unwrap();
        assert_eq!(redirect.head.method, "PROPFIND", "{code}");
        assert!(redirect.keep_body, "{code}");
        assert!(has(&redirect, CONTENT_TYPE), "{code}");
    }
}

#[test]
fn locations_resolve_against_the_request_uri() {
    let cases = [
        ("/b", "http://a.test/b"),
        ("c", "http://a.test/dir/c"),
        ("../d", "http://a.test/d"),
        ("./e/../f", "http://a.test/dir/f"),
        ("?q=2", "http://a.test/dir/page?q=2"),
        ("", "http://a.test/dir/page?x=1"),
        ("//b.test/x", "http://b.test/x"),
        ("https://b.test:8443/y?z", "https://b.test:8443/y?z"),
        ("HTTP://B.TEST/Upper", "http://b.test/Upper"),
        ("http://b.test:80/x", "http://b.test/x"),
        ("/frag#section", "http://a.test/frag"),
        ("/with space", "http://a.test/with%20space"),
        ("/caf\u{e9}", "http://a.test/caf%C3%A9"),
        ("http://b\u{fc}cher.test/", "http://xn--bcher-kva.test/"),
        ("http://[::1]:8080/v6", "http://[::1]:8080/v6"),
    ];
    for (location, expected) in cases {
        let redirect = follow("GET", 302, location).unwrap_or_else(|| panic!("{location}"));
        assert_eq!(redirect.head.uri, expected, "{location}");
    }
}

#[test]
fn the_last_location_counts() {
    let redirect = redirect(
        &request("GET", "http://a.test/"),
        &response(302, &["/first", "/last"]),
        &Policy::default(),
    )
    .unwrap();
    assert_eq!(redirect.head.uri, "http://a.test/last");
}

#[test]
fn unusable_locations_are_not_followed() {
    for location in [
        "ftp://a.test/file",
        "mailto:someone@a.test",
        "javascript:alert(1)",
        "data:text/plain,hi",
        "file:///etc/passwd",
        "ws://a.test/socket",
        "http://[::1/",
        "http://a.test:99999/",
        "http:// /",
    ] {
        assert!(follow("GET", 302, location).is_none(), "{location}");
    }
    let missing = redirect(
        &request("GET", "http://a.test/"),
        &response(302, &[]),
        &Policy::default(),
    );
    assert!(missing.is_none());
    let mut not_utf8 = response(302, &[]);
    not_utf8
        .headers
        .insert(LOCATION, HeaderValue::from_bytes(b"/caf\xe9").unwrap());
    assert!(
        redirect(
            &request("GET", "http://a.test/"),
            &not_utf8,
            &Policy::default()
        )
        .is_none()
    );
}

#[test]
fn requests_without_an_absolute_uri_are_not_redirected() {
    let relative = request("GET", "/only/a/path");
    assert!(redirect(&relative, &response(302, &["/b"]), &Policy::default()).is_none());
    assert!(
        redirect(
            &relative,
            &response(302, &["http://b.test/"]),
            &Policy::default()
        )
        .is_none()
    );
}

#[test]
fn switches_turn_redirects_off() {
    let no_redirects = Policy {
        follow_redirects: false,
        ..Policy::default()
    };
    let plain = request("GET", "http://a.test/");
    assert!(redirect(&plain, &response(302, &["/b"]), &no_redirects).is_none());

    let no_ssl_switch = Policy {
        follow_ssl_redirects: false,
        ..Policy::default()
    };
    assert!(redirect(&plain, &response(302, &["https://a.test/"]), &no_ssl_switch).is_none());
    let secure = request("GET", "https://a.test/");
    assert!(redirect(&secure, &response(302, &["http://a.test/"]), &no_ssl_switch).is_none());
    // Same scheme, other host: still followed.
    assert!(
        redirect(
            &secure,
            &response(302, &["https://b.test/"]),
            &no_ssl_switch
        )
        .is_some()
    );
    assert!(redirect(&plain, &response(302, &["/b"]), &no_ssl_switch).is_some());
    // Both directions are followed by default.
    assert!(
        redirect(
            &plain,
            &response(302, &["https://a.test/"]),
            &Policy::default()
        )
        .is_some()
    );
    assert!(
        redirect(
            &secure,
            &response(302, &["http://a.test/"]),
            &Policy::default()
        )
        .is_some()
    );
}

fn credentials(redirect: &Redirect) -> [bool; 4] {
    [AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION, HOST].map(|name| has(redirect, name))
}

#[test]
fn credentials_stay_on_the_same_origin() {
    for location in ["/other", "http://A.TEST/x", "http://a.test:80/y", "?z"] {
        let redirect = follow("GET", 302, location).unwrap();
        assert_eq!(credentials(&redirect), [true; 4], "{location}");
    }
}

#[test]
fn credentials_are_removed_on_another_origin() {
    for location in [
        "http://b.test/",
        "http://a.test:8080/",
        "https://a.test/",
        "http://sub.a.test/",
        "http://127.0.0.1/",
    ] {
        let redirect = follow("GET", 302, location).unwrap();
        assert_eq!(credentials(&redirect), [false; 4], "{location}");
        assert_eq!(redirect.head.headers["x-custom"], "kept");
    }
}

#[test]
fn authorization_may_stay_on_a_same_host_https_upgrade() {
    let keep = Policy {
        keep_authorization_on_https_upgrade: true,
        ..Policy::default()
    };
    let plain = request("GET", "http://a.test/");
    let upgraded = redirect(&plain, &response(301, &["https://a.test/"]), &keep).unwrap();
    assert_eq!(credentials(&upgraded), [true, false, false, false]);
    let other_port = redirect(&plain, &response(301, &["https://a.test:8443/"]), &keep).unwrap();
    assert!(has(&other_port, AUTHORIZATION));
    // Not on another host, nor on a downgrade, nor by default.
    let elsewhere = redirect(&plain, &response(301, &["https://b.test/"]), &keep).unwrap();
    assert!(!has(&elsewhere, AUTHORIZATION));
    let secure = request("GET", "https://a.test/");
    let downgraded = redirect(&secure, &response(301, &["http://a.test/"]), &keep).unwrap();
    assert!(!has(&downgraded, AUTHORIZATION));
    let by_default = redirect(
        &plain,
        &response(301, &["https://a.test/"]),
        &Policy::default(),
    )
    .unwrap();
    assert!(!has(&by_default, AUTHORIZATION));
}

#[test]
fn version_and_extensions_carry_over() {
    let redirect = follow("POST", 303, "http://b.test/").unwrap();
    assert_eq!(redirect.head.version, Version::HTTP_11);
    assert_eq!(redirect.head.extensions.get::<u32>(), Some(&42));
}
