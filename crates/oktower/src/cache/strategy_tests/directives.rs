//! Request and response directives, validators, only-if-cached and stale-while-revalidate.

use super::*;

// --- Request directives ---------------------------------------------------------------------

#[test]
fn request_max_age_lower_than_the_age_forces_validation() {
    let entry = cached(&[
        ("last-modified", &date(-120)),
        ("date", &date(-60)),
        ("cache-control", "max-age=3600"),
        ("etag", "\"v\""),
    ]);
    assert!(is_hit(&strategy(0, &[], &entry)));
    assert!(if_none_match(&strategy(0, &[("cache-control", "max-age=30")], &entry)).is_some());
}

#[test]
fn request_max_age_zero_always_validates() {
    let entry = cached(&[("cache-control", "max-age=3600"), ("etag", "\"v\"")]);
    assert!(if_none_match(&strategy(0, &[("cache-control", "max-age=0")], &entry)).is_some());
}

#[test]
fn request_min_fresh_demands_remaining_freshness() {
    let entry = cached(&[
        ("cache-control", "max-age=60"),
        ("date", &date(0)),
        ("etag", "\"v\""),
    ]);
    assert!(is_hit(&strategy(
        0,
        &[("cache-control", "min-fresh=59")],
        &entry
    )));
    let strategy = strategy(0, &[("cache-control", "min-fresh=120")], &entry);
    assert!(if_none_match(&strategy).is_some());
}

#[test]
fn request_max_stale_serves_a_stale_response() {
    let served = date(-240);
    let entry = cached(&[("cache-control", "max-age=120"), ("date", &served)]);
    let strategy = strategy(0, &[("cache-control", "max-stale=180")], &entry);
    assert!(is_stale_hit(&strategy));
    assert_eq!(strategy.outcome(), Some(CacheOutcome::StaleHit));
    assert!(!strategy.uses_network());
    // Stale by 181 s: beyond max-stale, validated with the Date.
    let too_stale = self::strategy(61, &[("cache-control", "max-stale=180")], &entry);
    assert_eq!(if_modified_since(&too_stale), Some(served));
}

#[test]
fn exactly_at_the_lifetime_under_max_stale_is_a_stale_hit() {
    let entry = cached(&[("cache-control", "max-age=60")]);
    let request = [("cache-control", "max-stale=10")];
    assert!(is_hit(&strategy(59, &request, &entry)));
    assert!(is_stale_hit(&strategy(60, &request, &entry)));
    assert!(is_stale_hit(&strategy(69, &request, &entry)));
    assert!(!is_stale_hit(&strategy(70, &request, &entry)));
}

#[test]
fn request_max_stale_without_a_value_accepts_any_staleness() {
    let entry = cached(&[("cache-control", "max-age=120"), ("date", &date(-240))]);
    let years = 10 * 365 * 24 * 3600;
    assert!(is_stale_hit(&strategy(
        years,
        &[("cache-control", "max-stale")],
        &entry
    )));
}

#[test]
fn max_stale_is_ignored_under_must_revalidate() {
    let entry = cached(&[
        ("cache-control", "max-age=120, must-revalidate"),
        ("date", &date(-240)),
        ("etag", "\"v\""),
    ]);
    assert!(if_none_match(&strategy(0, &[("cache-control", "max-stale=180")], &entry)).is_some());
}

#[test]
fn min_fresh_beyond_the_lifetime_within_max_stale_is_a_stale_hit() {
    let entry = cached(&[("cache-control", "max-age=60")]);
    let strategy = strategy(
        10,
        &[("cache-control", "min-fresh=55, max-stale=100")],
        &entry,
    );
    assert!(is_stale_hit(&strategy));
}

// --- Response directives --------------------------------------------------------------------

#[test]
fn response_no_cache_validates_even_when_fresh() {
    let entry = cached(&[
        ("cache-control", "no-cache, max-age=3600"),
        ("etag", "\"v\""),
    ]);
    assert!(if_none_match(&strategy(0, &[], &entry)).is_some());
}

#[test]
fn response_no_cache_and_max_stale_still_validates() {
    let entry = cached(&[("cache-control", "no-cache"), ("last-modified", &date(-60))]);
    let strategy = strategy(0, &[("cache-control", "max-stale")], &entry);
    assert!(if_modified_since(&strategy).is_some());
}

#[test]
fn response_pragma_no_cache_validates() {
    let entry = cached(&[
        ("pragma", "no-cache"),
        ("expires", &date(3600)),
        ("etag", "\"v\""),
    ]);
    assert!(if_none_match(&strategy(0, &[], &entry)).is_some());
}

#[test]
fn response_no_cache_without_validator_goes_to_the_network() {
    let entry = cached(&[("cache-control", "no-cache"), ("expires", &date(3600))]);
    assert_eq!(
        strategy(0, &[], &entry),
        CacheStrategy::Network(NetworkReason::NoValidator)
    );
}

// --- Validators -----------------------------------------------------------------------------

#[test]
fn etag_is_preferred_over_last_modified_and_date() {
    let entry = cached(&[
        ("etag", "W/\"v2\""),
        ("last-modified", &date(-600)),
        ("date", &date(-300)),
        ("cache-control", "max-age=0"),
    ]);
    let strategy = strategy(0, &[], &entry);
    assert_eq!(if_none_match(&strategy).as_deref(), Some("W/\"v2\""));
    let CacheStrategy::Conditional { cached, .. } = strategy else {
        panic!("{strategy:?}")
    };
    assert!(std::ptr::eq(cached, &entry));
    assert_eq!(strategy.outcome(), None);
    assert!(strategy.uses_network());
}

#[test]
fn last_modified_validator_keeps_the_servers_own_text() {
    // An RFC 850 date: sent back as the server wrote it, not reformatted.
    let entry = cached(&[
        ("last-modified", "Sunday, 06-Nov-94 08:49:37 GMT"),
        ("cache-control", "max-age=0"),
    ]);
    assert_eq!(
        if_modified_since(&strategy(0, &[], &entry)).as_deref(),
        Some("Sunday, 06-Nov-94 08:49:37 GMT")
    );
}

#[test]
fn condition_is_added_to_the_request_headers() {
    let entry = cached(&[("etag", "\"v1\""), ("cache-control", "max-age=0")]);
    let strategy = strategy(0, &[], &entry);
    let mut request = get("http://a.test/", &[("accept", "*/*")]);
    let condition = condition(&strategy).unwrap();
    assert_eq!(condition.name(), IF_NONE_MATCH);
    assert_eq!(condition.value(), "\"v1\"");
    condition.apply_to(&mut request.headers);
    assert_eq!(request.headers["if-none-match"], "\"v1\"");
    assert_eq!(request.headers["accept"], "*/*");

    let mut headers = HeaderMap::new();
    let date_value = HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT");
    Condition::IfModifiedSince(&date_value).apply_to(&mut headers);
    assert_eq!(headers[IF_MODIFIED_SINCE], date_value);
}

// --- only-if-cached ---------------------------------------------------------------------------

#[test]
fn only_if_cached_without_an_entry_is_unsatisfiable() {
    let request = get("http://a.test/", &[("cache-control", "only-if-cached")]);
    let strategy = CacheStrategy::compute(at(0), &request, None);
    assert_eq!(strategy, CacheStrategy::Unsatisfiable);
    assert_eq!(strategy.outcome(), Some(CacheOutcome::Unsatisfiable));
    assert!(!strategy.uses_network());
}

#[test]
fn only_if_cached_with_a_fresh_entry_is_a_hit() {
    let entry = cached(&[("cache-control", "max-age=60")]);
    assert!(is_hit(&strategy(
        0,
        &[("cache-control", "only-if-cached")],
        &entry
    )));
}

#[test]
fn only_if_cached_with_an_entry_needing_validation_is_unsatisfiable() {
    let entry = cached(&[("cache-control", "max-age=30"), ("etag", "\"v\"")]);
    assert_eq!(
        strategy(60, &[("cache-control", "only-if-cached")], &entry),
        CacheStrategy::Unsatisfiable
    );
}

#[test]
fn only_if_cached_with_an_unhelpful_entry_is_unsatisfiable() {
    let entry = cached(&[]);
    assert_eq!(
        strategy(0, &[("cache-control", "only-if-cached")], &entry),
        CacheStrategy::Unsatisfiable
    );
    let https =
        stored("https://a.test/", 200, &[("cache-control", "max-age=60")]).with_handshake(None);
    assert_eq!(
        strategy(0, &[("cache-control", "only-if-cached")], &https),
        CacheStrategy::Unsatisfiable
    );
}

#[test]
fn force_cache_serves_any_stale_entry() {
    let entry = cached(&[("cache-control", "max-age=1"), ("etag", "\"v\"")]);
    let value = CacheControl::FORCE_CACHE.to_string();
    let strategy = strategy(365 * 24 * 3600, &[("cache-control", &value)], &entry);
    assert!(is_stale_hit(&strategy));
}

#[test]
fn force_cache_without_an_entry_is_unsatisfiable() {
    let value = CacheControl::FORCE_CACHE.to_string();
    let request = get("http://a.test/", &[("cache-control", &value)]);
    assert_eq!(
        CacheStrategy::compute(at(0), &request, None),
        CacheStrategy::Unsatisfiable
    );
}

// --- stale-while-revalidate -------------------------------------------------------------------

#[test]
fn stale_within_stale_while_revalidate_is_served_and_revalidated() {
    let entry = cached(&[
        ("cache-control", "max-age=60, stale-while-revalidate=30"),
        ("etag", "\"v\""),
    ]);
    let strategy = strategy(75, &[], &entry);
    let CacheStrategy::StaleWhileRevalidate {
        cached,
        freshness,
        condition,
    } = strategy
    else {
        panic!("{strategy:?}")
    };
    assert!(std::ptr::eq(cached, &entry));
    assert_eq!(freshness.staleness(), Duration::from_secs(15));
    assert_eq!(condition.map(|c| c.name()), Some(IF_NONE_MATCH));
    assert_eq!(strategy.outcome(), Some(CacheOutcome::StaleHit));
    assert!(!strategy.uses_network());
    assert!(strategy.cached_response().is_some());
}

#[test]
fn stale_while_revalidate_window_ends() {
    let entry = cached(&[
        ("cache-control", "max-age=60, stale-while-revalidate=30"),
        ("etag", "\"v\""),
    ]);
    assert!(matches!(
        strategy(90, &[], &entry),
        CacheStrategy::StaleWhileRevalidate { .. }
    ));
    assert!(if_none_match(&strategy(91, &[], &entry)).is_some());
}

#[test]
fn stale_while_revalidate_without_a_validator_revalidates_unconditionally() {
    let entry = cached(&[("cache-control", "max-age=60, stale-while-revalidate=30")]);
    assert!(matches!(
        strategy(70, &[], &entry),
        CacheStrategy::StaleWhileRevalidate {
            condition: None,
            ..
        }
    ));
}

#[test]
fn stale_while_revalidate_yields_to_must_revalidate_and_no_cache() {
    for directives in [
        "max-age=60, stale-while-revalidate=30, must-revalidate",
        "max-age=60, stale-while-revalidate=30, no-cache",
    ] {
        let entry = cached(&[("cache-control", directives), ("etag", "\"v\"")]);
        assert!(
            if_none_match(&strategy(70, &[], &entry)).is_some(),
            "{directives}"
        );
    }
}

#[test]
fn stale_while_revalidate_yields_to_request_freshness_bounds() {
    let entry = cached(&[
        ("cache-control", "max-age=60, stale-while-revalidate=30"),
        ("etag", "\"v\""),
    ]);
    for request in ["max-age=0", "min-fresh=1", "no-cache"] {
        let strategy = strategy(70, &[("cache-control", request)], &entry);
        assert!(
            !matches!(strategy, CacheStrategy::StaleWhileRevalidate { .. }),
            "{request}: {strategy:?}"
        );
    }
}

#[test]
fn stale_while_revalidate_under_only_if_cached_serves_without_revalidating() {
    let entry = cached(&[("cache-control", "max-age=60, stale-while-revalidate=30")]);
    assert!(is_stale_hit(&strategy(
        70,
        &[("cache-control", "only-if-cached")],
        &entry
    )));
}
