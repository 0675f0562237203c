//! The status-code dispatch: 300–308, 401, 407, 408, 421, 503, and `Retry-After`.

use super::*;
use std::sync::Arc;

use crate::{Address, NoProxy, Protocol, Proxy, Route, Scheme, SystemDns};

fn request(method: &str) -> request::Parts {
    http::Request::builder()
        .method(method)
        .uri("http://a.test/")
        .body(())
        .unwrap()
        .into_parts()
        .0
}

fn response(code: u16, headers: &[(&str, &str)]) -> response::Parts {
    let mut builder = http::Response::builder().status(code);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap().into_parts().0
}

fn connection(proxy: Proxy, coalesced: bool) -> ConnectionInfo {
    let address = Address::builder(
        Scheme::Http,
        "a.test",
        80,
        Arc::new(SystemDns),
        Arc::new(NoProxy),
    )
    .build();
    let route = Route::new(address, proxy, "127.0.0.1:3128".parse().unwrap());
    ConnectionInfo::new(1, route, Protocol::Http2, None, coalesced)
}

/// A scenario: the request method, the response, and what else is known.
struct Case<'a> {
    method: &'a str,
    response: response::Parts,
    prior: Option<u16>,
    replayable: bool,
    connection: Option<ConnectionInfo>,
    policy: Policy,
}

fn case(code: u16, headers: &[(&str, &str)]) -> Case<'static> {
    Case {
        method: "GET",
        response: response(code, headers),
        prior: None,
        replayable: true,
        connection: None,
        policy: Policy::default(),
    }
}

impl Case<'_> {
    fn decide(&self) -> Result<FollowUp, Error> {
        let request = request(self.method);
        decide(
            &Exchange {
                request: &request,
                response: &self.response,
                prior_status: self.prior.map(|code| StatusCode::from_u16(code).unwrap()),
                body_replayable: self.replayable,
                connection: self.connection.as_ref(),
            },
            &self.policy,
        )
    }

    fn name(&self) -> &'static str {
        match self.decide() {
            Ok(FollowUp::Final) => "final",
            Ok(FollowUp::Redirect(_)) => "redirect",
            Ok(FollowUp::Repeat) => "repeat",
            Ok(FollowUp::RepeatOnFreshConnection) => "fresh",
            Ok(FollowUp::Authenticate) => "auth",
            Ok(FollowUp::ProxyAuthenticate) => "proxy-auth",
            Err(_) => "error",
        }
    }
}

#[test]
fn ordinary_statuses_are_final() {
    for code in [200, 204, 304, 305, 306, 400, 403, 404, 500, 502, 504] {
        assert_eq!(case(code, &[("location", "/x")]).name(), "final", "{code}");
    }
}

#[test]
fn redirect_codes_redirect() {
    for code in [300, 301, 302, 303, 307, 308] {
        assert_eq!(
            case(code, &[("location", "/x")]).name(),
            "redirect",
            "{code}"
        );
        assert_eq!(case(code, &[]).name(), "final", "{code} without Location");
    }
}

#[test]
fn redirects_that_keep_a_one_shot_body_are_final() {
    for code in [307, 308] {
        let mut post = case(code, &[("location", "/x")]);
        post.method = "POST";
        post.replayable = false;
        assert_eq!(post.name(), "final", "{code}");
    }
    // A 303 drops the body: followed.
    let mut post = case(303, &[("location", "/x")]);
    post.method = "POST";
    post.replayable = false;
    assert_eq!(post.name(), "redirect");
}

#[test]
fn unauthorized_asks_the_authenticator() {
    assert_eq!(case(401, &[]).name(), "auth");
    let mut one_shot = case(401, &[]);
    one_shot.replayable = false;
    assert_eq!(one_shot.name(), "final");
}

#[test]
fn proxy_auth_needs_an_http_proxy() {
    for connection in [
        None,
        Some(connection(Proxy::Direct, false)),
        Some(connection(Proxy::socks5("127.0.0.1", 1080), false)),
    ] {
        let mut not_proxied = case(407, &[]);
        not_proxied.connection = connection;
        let error = not_proxied.decide().unwrap_err();
        assert!(error.is_protocol());
        assert_eq!(
            error.message(),
            "Received HTTP_PROXY_AUTH (407) code while not using proxy"
        );
        assert_eq!(error.url(), Some("http://a.test/"));
    }
    for proxy in [
        Proxy::http("127.0.0.1", 3128),
        Proxy::https("proxy.test", 443),
    ] {
        let mut proxied = case(407, &[]);
        proxied.connection = Some(connection(proxy, false));
        assert_eq!(proxied.name(), "proxy-auth");
        proxied.replayable = false;
        assert_eq!(proxied.name(), "final");
    }
}

#[test]
fn request_timeout_is_retried_once_without_delay() {
    assert_eq!(case(408, &[]).name(), "repeat");
    assert_eq!(case(408, &[("retry-after", "0")]).name(), "repeat");
    assert_eq!(case(408, &[("retry-after", "1")]).name(), "final");
    assert_eq!(
        case(408, &[("retry-after", "Fri, 31 Dec 1999 23:59:59 GMT")]).name(),
        "final"
    );
    let mut twice = case(408, &[]);
    twice.prior = Some(408);
    assert_eq!(twice.name(), "final");
    let mut after_503 = case(408, &[]);
    after_503.prior = Some(503);
    assert_eq!(after_503.name(), "repeat");
    let mut retry_off = case(408, &[]);
    retry_off.policy.retry_on_connection_failure = false;
    assert_eq!(retry_off.name(), "final");
    let mut one_shot = case(408, &[]);
    one_shot.replayable = false;
    assert_eq!(one_shot.name(), "final");
}

#[test]
fn service_unavailable_is_retried_once_only_with_retry_after_zero() {
    assert_eq!(case(503, &[]).name(), "final");
    assert_eq!(case(503, &[("retry-after", "0")]).name(), "repeat");
    assert_eq!(case(503, &[("retry-after", "000")]).name(), "repeat");
    assert_eq!(case(503, &[("retry-after", "1")]).name(), "final");
    assert_eq!(case(503, &[("retry-after", "soon")]).name(), "final");
    let mut twice = case(503, &[("retry-after", "0")]);
    twice.prior = Some(503);
    assert_eq!(twice.name(), "final");
    // Retries being off does not matter for a 503 (OkHttp's rule).
    let mut retry_off = case(503, &[("retry-after", "0")]);
    retry_off.policy.retry_on_connection_failure = false;
    assert_eq!(retry_off.name(), "repeat");
    let mut one_shot = case(503, &[("retry-after", "0")]);
    one_shot.replayable = false;
    assert_eq!(one_shot.name(), "final");
}

#[test]
fn misdirected_is_retried_only_from_a_coalesced_connection() {
    assert_eq!(case(421, &[]).name(), "final");
    let mut direct = case(421, &[]);
    direct.connection = Some(connection(Proxy::Direct, false));
    assert_eq!(direct.name(), "final");
    let mut coalesced = case(421, &[]);
    coalesced.connection = Some(connection(Proxy::Direct, true));
    assert_eq!(coalesced.name(), "fresh");
    coalesced.replayable = false;
    assert_eq!(coalesced.name(), "final");
}

#[test]
fn retry_after_values() {
    let headers = |values: &[&str]| {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(RETRY_AFTER, value.parse().unwrap());
        }
        headers
    };
    assert_eq!(retry_after(&headers(&[]), 7), 7);
    assert_eq!(retry_after(&headers(&[]), u64::MAX), u64::MAX);
    assert_eq!(retry_after(&headers(&["0"]), 7), 0);
    assert_eq!(retry_after(&headers(&["120"]), 7), 120);
    assert_eq!(
        retry_after(&headers(&["99999999999999999999999"]), 7),
        u64::MAX
    );
    for odd in [
        "",
        " 1",
        "1 ",
        "1.5",
        "-1",
        "+1",
        "Wed, 21 Oct 2015 07:28:00 GMT",
    ] {
        assert_eq!(retry_after(&headers(&[odd]), 7), u64::MAX, "{odd:?}");
    }
    assert_eq!(retry_after(&headers(&["5", "0"]), 7), 0);
}
