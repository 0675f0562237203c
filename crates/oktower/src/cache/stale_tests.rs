use std::time::Duration;

use http::{HeaderMap, Method, Request, Response, Uri};

use super::*;

const BASE: u64 = 1_700_000_000;

fn at(offset: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(BASE + offset)
}

fn entry(url: &str, cache_control: &str) -> CachedResponse {
    let (parts, ()) = Response::builder()
        .header("cache-control", cache_control)
        .body(())
        .unwrap()
        .into_parts();
    CachedResponse::new(url.parse::<Uri>().unwrap(), Method::GET, &parts).with_times(at(0), at(0))
}

fn get(url: &str, cache_control: Option<&str>) -> request::Parts {
    let mut builder = Request::get(url);
    if let Some(value) = cache_control {
        builder = builder.header("cache-control", value);
    }
    builder.body(()).unwrap().into_parts().0
}

const FAILED: NetworkFailure = NetworkFailure::Error;

#[test]
fn errors_are_failures_without_response_and_four_5xx_statuses() {
    assert!(NetworkFailure::Error.is_error());
    for code in [500, 502, 503, 504] {
        assert!(NetworkFailure::Status(StatusCode::from_u16(code).unwrap()).is_error());
    }
    for code in [200, 304, 400, 404, 429, 501, 505, 599] {
        assert!(!NetworkFailure::Status(StatusCode::from_u16(code).unwrap()).is_error());
    }
}

#[test]
fn stale_entry_within_the_response_window_stands_in() {
    let entry = entry("http://a.test/", "max-age=60, stale-if-error=300");
    let request = get("http://a.test/", None);
    assert!(stale_if_error(at(200), &request, &entry, FAILED));
    let gateway = NetworkFailure::Status(StatusCode::SERVICE_UNAVAILABLE);
    assert!(stale_if_error(at(200), &request, &entry, gateway));
}

#[test]
fn the_window_is_inclusive_and_ends() {
    let entry = entry("http://a.test/", "max-age=60, stale-if-error=300");
    let request = get("http://a.test/", None);
    assert!(stale_if_error(at(360), &request, &entry, FAILED));
    assert!(!stale_if_error(at(361), &request, &entry, FAILED));
}

#[test]
fn responses_that_are_not_errors_are_passed_on() {
    let entry = entry("http://a.test/", "max-age=60, stale-if-error=300");
    let request = get("http://a.test/", None);
    let not_found = NetworkFailure::Status(StatusCode::NOT_FOUND);
    assert!(!stale_if_error(at(100), &request, &entry, not_found));
}

#[test]
fn without_a_window_nothing_stands_in() {
    let entry = entry("http://a.test/", "max-age=60");
    assert!(!stale_if_error(
        at(61),
        &get("http://a.test/", None),
        &entry,
        FAILED
    ));
}

#[test]
fn a_fresh_entry_stands_in_when_a_window_is_given() {
    let entry = entry("http://a.test/", "max-age=600, stale-if-error=0");
    // Validated because the request asked for max-age=0; the fresh entry may answer.
    let request = get("http://a.test/", Some("max-age=0"));
    assert!(stale_if_error(at(10), &request, &entry, FAILED));
}

#[test]
fn the_requests_window_is_the_clients_permission() {
    let without = entry("http://a.test/", "max-age=60");
    let request = get("http://a.test/", Some("stale-if-error=100"));
    assert!(stale_if_error(at(150), &request, &without, FAILED));
    assert!(!stale_if_error(at(170), &request, &without, FAILED));

    let generous = entry("http://a.test/", "max-age=60, stale-if-error=3600");
    let strict = get("http://a.test/", Some("stale-if-error=10"));
    assert!(!stale_if_error(at(100), &strict, &generous, FAILED));
    assert!(stale_if_error(
        at(100),
        &get("http://a.test/", None),
        &generous,
        FAILED
    ));
}

#[test]
fn must_revalidate_and_no_cache_forbid_stale() {
    for directives in [
        "max-age=60, stale-if-error=300, must-revalidate",
        "max-age=60, stale-if-error=300, no-cache",
        "max-age=60, stale-if-error=300, no-store",
    ] {
        let entry = entry("http://a.test/", directives);
        assert!(
            !stale_if_error(at(100), &get("http://a.test/", None), &entry, FAILED),
            "{directives}"
        );
    }
}

#[test]
fn requests_that_refuse_the_cache_get_the_error() {
    let entry = entry("http://a.test/", "max-age=60, stale-if-error=300");
    for directives in ["no-cache", "no-store"] {
        let request = get("http://a.test/", Some(directives));
        assert!(
            !stale_if_error(at(100), &request, &entry, FAILED),
            "{directives}"
        );
    }
}

#[test]
fn https_entry_without_handshake_never_stands_in() {
    let entry = entry("https://a.test/", "max-age=60, stale-if-error=300");
    assert!(!stale_if_error(
        at(100),
        &get("https://a.test/", None),
        &entry,
        FAILED
    ));
}

#[test]
fn stale_while_revalidate_window_is_inclusive() {
    let none = CacheControl::default();
    let mut headers = HeaderMap::new();
    headers.insert(
        "cache-control",
        "stale-while-revalidate=30".parse().unwrap(),
    );
    let with_window = CacheControl::parse(&headers);
    let entry = entry("http://a.test/", "max-age=60, stale-while-revalidate=30");
    let freshness = |now| entry.freshness(at(now));
    assert!(within_stale_while_revalidate(
        &none,
        &with_window,
        &freshness(90)
    ));
    assert!(!within_stale_while_revalidate(
        &none,
        &with_window,
        &freshness(91)
    ));
    assert!(!within_stale_while_revalidate(&none, &none, &freshness(61)));
}
