use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName};
use http_body_util::{Empty, Full};

use super::*;

fn head<'a>(method: &'a Method, uri: &'a Uri, body: BodyLength) -> RequestHead<'a> {
    RequestHead {
        method,
        uri,
        version: Version::HTTP_11,
        body,
    }
}

/// The headers the bridge adds to a request with `headers` already set.
fn apply(request: &RequestHead<'_>, headers: &[(&'static str, &'static str)]) -> (HeaderMap, bool) {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(*name, HeaderValue::from_static(value));
    }
    let added = add_request_headers(request, &mut map, &DEFAULT_USER_AGENT, None);
    (map, added)
}

fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|value| value.to_str().expect("ASCII").to_owned())
}

fn uri(text: &str) -> Uri {
    text.parse().expect("test URL")
}

#[test]
fn host_has_the_port_only_when_not_the_default() {
    for (url, host) in [
        ("http://example.com/", "example.com"),
        ("http://example.com:80/", "example.com"),
        ("http://example.com:443/", "example.com:443"),
        ("https://example.com:443/", "example.com"),
        ("https://example.com:8443/a?b", "example.com:8443"),
        ("http://user:secret@example.com:8080/", "example.com:8080"),
        ("http://[::1]/", "[::1]"),
        ("http://[::1]:8080/", "[::1]:8080"),
        ("https://[2001:db8::1]:443/", "[2001:db8::1]"),
    ] {
        // Twice: the second value is the one this thread kept from the first.
        assert_eq!(host_header(&uri(url)).expect("a host"), host, "for {url}");
        assert_eq!(host_header(&uri(url)).expect("a host"), host, "for {url}");
    }
    assert!(host_header(&uri("/origin-form")).is_none());
    // The same authority under another scheme is another value, not the kept one.
    assert_eq!(
        host_header(&uri("http://a.test:443/")).unwrap(),
        "a.test:443"
    );
    assert_eq!(host_header(&uri("https://a.test:443/")).unwrap(), "a.test");
    assert_eq!(
        host_header(&uri("http://a.test:443/")).unwrap(),
        "a.test:443"
    );
}

#[test]
fn a_user_set_host_is_kept() {
    let url = uri("http://example.com:8080/");
    let (headers, _) = apply(
        &head(&Method::GET, &url, BodyLength::Empty),
        &[("host", "virtual.test")],
    );
    assert_eq!(get(&headers, "host").as_deref(), Some("virtual.test"));
}

#[test]
fn a_plain_get_gets_the_defaults() {
    let url = uri("https://example.com/");
    let (headers, added) = apply(&head(&Method::GET, &url, BodyLength::Empty), &[]);
    assert!(added);
    assert_eq!(get(&headers, "host").as_deref(), Some("example.com"));
    assert_eq!(get(&headers, "connection").as_deref(), Some("keep-alive"));
    assert_eq!(
        get(&headers, "accept-encoding").as_deref(),
        Some("gzip, deflate, br, zstd")
    );
    assert_eq!(
        get(&headers, "user-agent"),
        Some(format!("oktower/{}", env!("CARGO_PKG_VERSION")))
    );
    assert!(!headers.contains_key(CONTENT_LENGTH));
    assert!(!headers.contains_key(TRANSFER_ENCODING));
    assert!(!headers.contains_key(COOKIE));
    assert_eq!(headers.len(), 4);
}

#[test]
fn user_set_headers_win() {
    let url = uri("https://example.com/");
    let (headers, added) = apply(
        &head(&Method::GET, &url, BodyLength::Empty),
        &[
            ("user-agent", "mine/1.0"),
            ("connection", "close"),
            ("accept-encoding", "identity"),
        ],
    );
    assert!(
        !added,
        "the user's Accept-Encoding turns transparent decompression off"
    );
    assert_eq!(get(&headers, "user-agent").as_deref(), Some("mine/1.0"));
    assert_eq!(get(&headers, "connection").as_deref(), Some("close"));
    assert_eq!(
        get(&headers, "accept-encoding").as_deref(),
        Some("identity")
    );
}

#[test]
fn range_disables_accept_encoding() {
    let url = uri("https://example.com/file");
    let (headers, added) = apply(
        &head(&Method::GET, &url, BodyLength::Empty),
        &[("range", "bytes=100-")],
    );
    assert!(!added);
    assert!(!headers.contains_key(ACCEPT_ENCODING));
}

#[test]
fn host_and_connection_are_only_for_http_1() {
    let url = uri("https://example.com/");
    for (version, expected) in [
        (Version::HTTP_10, true),
        (Version::HTTP_11, true),
        (Version::HTTP_2, false),
        (Version::HTTP_3, false),
    ] {
        let request = RequestHead {
            version,
            ..head(&Method::GET, &url, BodyLength::Empty)
        };
        let (headers, _) = apply(&request, &[]);
        assert_eq!(headers.contains_key(CONNECTION), expected, "{version:?}");
        assert_eq!(headers.contains_key(HOST), expected, "{version:?}");
    }
}

#[test]
fn a_known_length_sets_content_length_and_drops_chunked() {
    let url = uri("https://example.com/");
    let (headers, _) = apply(
        &head(&Method::POST, &url, BodyLength::Known(42)),
        &[
            ("transfer-encoding", "chunked"),
            ("content-type", "text/plain"),
        ],
    );
    assert_eq!(get(&headers, "content-length").as_deref(), Some("42"));
    assert!(!headers.contains_key(TRANSFER_ENCODING));
    assert!(headers.contains_key(CONTENT_TYPE));
}

#[test]
fn an_empty_body_gets_content_length_zero_only_where_a_body_is_required() {
    let url = uri("https://example.com/");
    for method in [Method::POST, Method::PUT, Method::PATCH] {
        let (headers, _) = apply(&head(&method, &url, BodyLength::Empty), &[]);
        assert_eq!(
            get(&headers, "content-length").as_deref(),
            Some("0"),
            "{method}"
        );
    }
    for method in [Method::GET, Method::HEAD, Method::DELETE, Method::OPTIONS] {
        let (headers, _) = apply(&head(&method, &url, BodyLength::Empty), &[]);
        assert!(!headers.contains_key(CONTENT_LENGTH), "{method}");
    }
}

#[test]
fn an_unknown_length_is_chunked_on_http_1_1_only() {
    let url = uri("https://example.com/");
    let (headers, _) = apply(&head(&Method::POST, &url, BodyLength::Unknown), &[]);
    assert_eq!(
        get(&headers, "transfer-encoding").as_deref(),
        Some("chunked")
    );
    assert!(!headers.contains_key(CONTENT_LENGTH));

    for version in [Version::HTTP_10, Version::HTTP_2] {
        let request = RequestHead {
            version,
            ..head(&Method::POST, &url, BodyLength::Unknown)
        };
        let (headers, _) = apply(&request, &[]);
        assert!(!headers.contains_key(TRANSFER_ENCODING), "{version:?}");
    }

    // A length the user declared for a stream is kept, and then nothing is chunked.
    let (headers, _) = apply(
        &head(&Method::PUT, &url, BodyLength::Unknown),
        &[("content-length", "1000"), ("transfer-encoding", "chunked")],
    );
    assert_eq!(get(&headers, "content-length").as_deref(), Some("1000"));
    assert!(!headers.contains_key(TRANSFER_ENCODING));
}

#[test]
fn body_length_comes_from_the_body() {
    assert_eq!(BodyLength::of(&Empty::<Bytes>::new()), BodyLength::Empty);
    assert_eq!(BodyLength::of(&Full::new(Bytes::new())), BodyLength::Empty);
    assert_eq!(
        BodyLength::of(&Full::new(Bytes::from_static(b"hello"))),
        BodyLength::Known(5)
    );
    assert_eq!(BodyLength::of(&UnknownLength), BodyLength::Unknown);
}

/// A body whose length no one knows (the default `size_hint`).
struct UnknownLength;

impl Body for UnknownLength {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(None)
    }
}

#[test]
fn jar_cookies_are_added_after_the_users() {
    let url = uri("https://example.com/");
    let request = head(&Method::GET, &url, BodyLength::Empty);
    let mut headers = HeaderMap::new();
    add_request_headers(
        &request,
        &mut headers,
        &DEFAULT_USER_AGENT,
        Some(HeaderValue::from_static("a=1; b=2")),
    );
    assert_eq!(get(&headers, "cookie").as_deref(), Some("a=1; b=2"));

    let mut headers = HeaderMap::new();
    headers.append(COOKIE, HeaderValue::from_static("mine=x"));
    headers.append(COOKIE, HeaderValue::from_static("also=y"));
    add_request_headers(
        &request,
        &mut headers,
        &DEFAULT_USER_AGENT,
        Some(HeaderValue::from_static("a=1")),
    );
    let cookies: Vec<_> = headers.get_all(COOKIE).iter().collect();
    assert_eq!(cookies, ["mine=x; also=y; a=1"]);
}

#[test]
fn a_configured_user_agent_is_used() {
    let url = uri("https://example.com/");
    let mut headers = HeaderMap::new();
    let agent = HeaderValue::from_static("my-app/2.0");
    add_request_headers(
        &head(&Method::GET, &url, BodyLength::Empty),
        &mut headers,
        &agent,
        None,
    );
    assert_eq!(get(&headers, "user-agent").as_deref(), Some("my-app/2.0"));
}

#[test]
fn header_values_with_cr_or_lf_are_refused_by_http() {
    // The bridge never sees such a value: `http` refuses it when the request is built.
    assert!(HeaderValue::from_str("a\r\nInjected: yes").is_err());
    assert!(HeaderValue::from_bytes(b"a\nb").is_err());
    assert!(HeaderValue::try_from(String::from("a\rb")).is_err());
    let request = http::Request::builder()
        .uri("https://example.com/")
        .header("x-custom", "ok\r\nHost: evil.test")
        .body(());
    assert!(request.is_err());
}

#[test]
fn presence_is_found_in_small_and_large_header_maps() {
    // Small maps are scanned, large ones looked up: both must find exactly the names put in.
    let names = [HOST, CONNECTION, ACCEPT_ENCODING, RANGE, COOKIE, USER_AGENT];
    for extra in [0, 3, SCAN_LIMIT, SCAN_LIMIT + 5] {
        for mask in 0..(1u32 << names.len()) {
            let mut headers = HeaderMap::new();
            for index in 0..extra {
                let name = HeaderName::from_bytes(format!("x-extra-{index}").as_bytes()).unwrap();
                headers.insert(name, HeaderValue::from_static("1"));
            }
            for (bit, name) in names.iter().enumerate() {
                if mask & (1 << bit) != 0 {
                    headers.append(name.clone(), HeaderValue::from_static("v"));
                }
            }
            let has = |bit: u32| mask & (1 << bit) != 0;
            let expected = Present {
                host: has(0),
                connection: has(1),
                accept_encoding: has(2),
                range: has(3),
                cookie: has(4),
                user_agent: has(5),
            };
            assert_eq!(Present::in_headers(&headers), expected, "{extra} {mask:b}");
        }
    }
}

/// The headers the general path adds to `request` (forced by a header the request has, left
/// out of the list): what the copied defaults must equal, in order.
fn general_path(request: &RequestHead<'_>, user_agent: &HeaderValue) -> Vec<(String, String)> {
    let mut map = HeaderMap::new();
    map.insert("x-force-general-path", HeaderValue::from_static("1"));
    add_request_headers(request, &mut map, user_agent, None);
    let mut added = listed(&map);
    assert_eq!(added.remove(0).0, "x-force-general-path");
    added
}

fn listed(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_str().expect("ASCII").to_owned()))
        .collect()
}

#[test]
fn the_copied_defaults_equal_the_general_paths_headers() {
    let mine = HeaderValue::from_static("my-app/2.0");
    // Hosts and agents alternate, so the kept copy is made, reused and replaced.
    for (url, agent) in [
        ("http://a.test:8080/x", &DEFAULT_USER_AGENT),
        ("http://a.test:8080/y", &DEFAULT_USER_AGENT),
        ("http://a.test:8080/y", &mine),
        ("http://a.test:8080/y", &mine),
        ("https://a.test:8080/", &mine),
        ("http://[::1]/", &DEFAULT_USER_AGENT),
        ("http://a.test:8080/z", &DEFAULT_USER_AGENT),
    ] {
        let url = uri(url);
        let request = head(&Method::GET, &url, BodyLength::Empty);
        let mut copied = HeaderMap::new();
        assert!(add_request_headers(&request, &mut copied, agent, None));
        assert_eq!(listed(&copied), general_path(&request, agent), "for {url}");
        assert_eq!(copied.len(), 4);
        assert_eq!(copied.get(USER_AGENT), Some(agent));
    }
}

#[test]
fn the_defaults_are_not_copied_where_the_request_needs_more() {
    let url = uri("http://a.test/");
    // A POST needs `Content-Length: 0`; a body its length; cookies their header; HTTP/2 no
    // `Host` or `Connection`.
    let post = head(&Method::POST, &url, BodyLength::Empty);
    let (headers, _) = apply(&post, &[]);
    assert_eq!(get(&headers, "content-length").as_deref(), Some("0"));
    let known = head(&Method::GET, &url, BodyLength::Known(3));
    let (headers, _) = apply(&known, &[]);
    assert_eq!(get(&headers, "content-length").as_deref(), Some("3"));
    let get_request = head(&Method::GET, &url, BodyLength::Empty);
    let mut headers = HeaderMap::new();
    let cookies = Some(HeaderValue::from_static("a=1"));
    add_request_headers(&get_request, &mut headers, &DEFAULT_USER_AGENT, cookies);
    assert_eq!(get(&headers, "cookie").as_deref(), Some("a=1"));
    assert_eq!(headers.len(), 5);
    let mut h2 = head(&Method::GET, &url, BodyLength::Empty);
    h2.version = Version::HTTP_2;
    let (headers, added) = apply(&h2, &[]);
    assert!(added);
    assert!(!headers.contains_key(HOST));
    assert!(!headers.contains_key(CONNECTION));
    assert_eq!(headers.len(), 2);
}
