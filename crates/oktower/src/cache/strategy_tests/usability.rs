//! Entries the strategy cannot use, and requests that opt out of the cache.

use super::*;

// --- No entry, unusable entries -----------------------------------------------------------

#[test]
fn no_stored_response_goes_to_the_network() {
    let strategy = CacheStrategy::compute(at(0), &get("http://a.test/", &[]), None);
    assert_eq!(
        strategy,
        CacheStrategy::Network(NetworkReason::NoCachedResponse)
    );
    assert_eq!(strategy.outcome(), Some(CacheOutcome::Miss));
    assert!(strategy.uses_network());
    assert!(strategy.cached_response().is_none());
}

#[test]
fn https_entry_without_handshake_is_not_served() {
    let entry =
        stored("https://a.test/", 200, &[("cache-control", "max-age=60")]).with_handshake(None);
    assert_eq!(
        strategy(0, &[], &entry),
        CacheStrategy::Network(NetworkReason::MissingHandshake)
    );
}

#[test]
fn https_entry_with_handshake_is_served() {
    let entry = stored("https://a.test/", 200, &[("cache-control", "max-age=60")]);
    assert!(is_hit(&strategy(0, &[], &entry)));
}

#[test]
fn http_request_does_not_need_a_handshake() {
    let entry = cached(&[("cache-control", "max-age=60")]);
    assert!(entry.handshake().is_none());
    assert!(is_hit(&strategy(0, &[], &entry)));
}

#[test]
fn cacheable_statuses_are_served() {
    for status in [200, 203, 204, 300, 301, 404, 405, 410, 414, 501, 308] {
        let entry = stored("http://a.test/", status, &[("cache-control", "max-age=60")]);
        assert!(is_hit(&strategy(0, &[], &entry)), "status {status}");
    }
}

#[test]
fn other_statuses_are_never_served() {
    for status in [
        100, 201, 202, 205, 206, 303, 304, 400, 401, 403, 408, 500, 502, 503, 504,
    ] {
        let entry = stored("http://a.test/", status, &[("cache-control", "max-age=60")]);
        assert_eq!(
            strategy(0, &[], &entry),
            CacheStrategy::Network(NetworkReason::NotCacheable),
            "status {status}"
        );
    }
}

#[test]
fn temporary_redirects_need_explicit_freshness() {
    let expires = date(60);
    for status in [302, 307] {
        let bare = stored("http://a.test/", status, &[("last-modified", &date(-600))]);
        assert_eq!(
            strategy(0, &[], &bare),
            CacheStrategy::Network(NetworkReason::NotCacheable)
        );
        let shared_only = stored(
            "http://a.test/",
            status,
            &[("cache-control", "s-maxage=60")],
        );
        assert_eq!(
            strategy(0, &[], &shared_only),
            CacheStrategy::Network(NetworkReason::NotCacheable)
        );
        for explicit in [
            ("cache-control", "max-age=60"),
            ("expires", &*expires),
            ("cache-control", "public, max-age=60"),
            ("cache-control", "private, max-age=60"),
        ] {
            let entry = stored("http://a.test/", status, &[explicit]);
            assert!(is_hit(&strategy(0, &[], &entry)), "{status} {explicit:?}");
        }
    }
}

#[test]
fn is_cacheable_matches_okhttps_response_code_table() {
    // OkHttp's responseCachingByResponseCode: with Last-Modified and Expires set.
    let mut headers = HeaderMap::new();
    headers.insert("last-modified", date(-3600).parse().unwrap());
    headers.insert("expires", date(3600).parse().unwrap());
    let cached: Vec<u16> = (100..600)
        .filter(|code| {
            let status = StatusCode::from_u16(*code).unwrap();
            CacheStrategy::is_cacheable(status, &headers, &HeaderMap::new())
        })
        .collect();
    assert_eq!(
        cached,
        [
            200, 203, 204, 300, 301, 302, 307, 308, 404, 405, 410, 414, 501
        ]
    );
}

#[test]
fn no_store_on_either_side_is_not_cacheable() {
    let mut no_store = HeaderMap::new();
    no_store.insert("cache-control", "no-store".parse().unwrap());
    assert!(!CacheStrategy::is_cacheable(
        StatusCode::OK,
        &no_store,
        &HeaderMap::new()
    ));
    assert!(!CacheStrategy::is_cacheable(
        StatusCode::OK,
        &HeaderMap::new(),
        &no_store
    ));
    assert!(CacheStrategy::is_cacheable(
        StatusCode::OK,
        &HeaderMap::new(),
        &HeaderMap::new()
    ));
}

#[test]
fn stored_no_store_response_is_not_served() {
    let entry = cached(&[("cache-control", "no-store, max-age=60")]);
    assert_eq!(
        strategy(0, &[], &entry),
        CacheStrategy::Network(NetworkReason::NotCacheable)
    );
}

#[test]
fn request_no_store_bypasses_the_cache() {
    let entry = cached(&[("cache-control", "max-age=60")]);
    let strategy = strategy(0, &[("cache-control", "no-store")], &entry);
    assert_eq!(
        strategy,
        CacheStrategy::Network(NetworkReason::RequestNoStore)
    );
    assert_eq!(strategy.outcome(), Some(CacheOutcome::Bypass));
}

// --- Request opts out ------------------------------------------------------------------------

#[test]
fn request_no_cache_bypasses_a_fresh_entry() {
    let entry = cached(&[("cache-control", "max-age=60"), ("etag", "\"v\"")]);
    let strategy = strategy(0, &[("cache-control", "no-cache")], &entry);
    assert_eq!(
        strategy,
        CacheStrategy::Network(NetworkReason::RequestNoCache)
    );
    assert_eq!(strategy.outcome(), Some(CacheOutcome::Bypass));
}

#[test]
fn request_pragma_no_cache_bypasses_a_fresh_entry() {
    let entry = cached(&[("cache-control", "max-age=60")]);
    assert_eq!(
        strategy(0, &[("pragma", "no-cache")], &entry),
        CacheStrategy::Network(NetworkReason::RequestNoCache)
    );
}

#[test]
fn force_network_bypasses_the_cache() {
    let entry = cached(&[("cache-control", "max-age=60")]);
    let value = CacheControl::FORCE_NETWORK.to_string();
    assert_eq!(
        strategy(0, &[("cache-control", &value)], &entry),
        CacheStrategy::Network(NetworkReason::RequestNoCache)
    );
}

#[test]
fn client_supplied_if_modified_since_bypasses_the_cache() {
    let entry = cached(&[
        ("cache-control", "max-age=60"),
        ("last-modified", &date(-600)),
    ]);
    let strategy = strategy(0, &[("if-modified-since", &date(-600))], &entry);
    assert_eq!(
        strategy,
        CacheStrategy::Network(NetworkReason::ClientConditions)
    );
    assert_eq!(strategy.outcome(), Some(CacheOutcome::Bypass));
}

#[test]
fn client_supplied_if_none_match_bypasses_the_cache() {
    let entry = cached(&[("cache-control", "max-age=60"), ("etag", "\"v1\"")]);
    assert_eq!(
        strategy(0, &[("if-none-match", "\"v1\"")], &entry),
        CacheStrategy::Network(NetworkReason::ClientConditions)
    );
}

#[test]
fn authorization_requests_are_served_from_the_cache() {
    let entry = cached(&[("cache-control", "max-age=60")]);
    assert!(is_hit(&strategy(
        0,
        &[("authorization", "password")],
        &entry
    )));
}

// --- Reasons ----------------------------------------------------------------------------------

#[test]
fn bypass_reasons_are_the_requests_own() {
    let bypass = [
        NetworkReason::RequestNoStore,
        NetworkReason::RequestNoCache,
        NetworkReason::ClientConditions,
    ];
    let miss = [
        NetworkReason::NoCachedResponse,
        NetworkReason::MissingHandshake,
        NetworkReason::NotCacheable,
        NetworkReason::NoValidator,
    ];
    assert!(bypass.iter().all(|reason| reason.is_bypass()));
    assert!(!miss.iter().any(|reason| reason.is_bypass()));
    for reason in miss {
        assert_eq!(
            CacheStrategy::Network(reason).outcome(),
            Some(CacheOutcome::Miss)
        );
    }
}
