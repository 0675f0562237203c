//! Freshness lifetime (max-age, Expires, the Last-Modified heuristic) and age.

use super::*;

// --- Freshness lifetime ---------------------------------------------------------------------

#[test]
fn fresh_by_max_age_is_a_hit() {
    let entry = cached(&[("cache-control", "max-age=60")]);
    let strategy = strategy(59, &[], &entry);
    let CacheStrategy::Hit { cached, freshness } = strategy else {
        panic!("{strategy:?}")
    };
    assert!(std::ptr::eq(cached, &entry));
    assert_eq!(freshness.age(), Duration::from_secs(59));
    assert_eq!(strategy.outcome(), Some(CacheOutcome::Hit));
    assert!(!strategy.uses_network());
}

#[test]
fn age_equal_to_lifetime_is_stale() {
    let entry = cached(&[("cache-control", "max-age=60"), ("etag", "\"v\"")]);
    assert_eq!(
        if_none_match(&strategy(60, &[], &entry)).as_deref(),
        Some("\"v\"")
    );
}

#[test]
fn max_age_in_the_past_with_date_and_last_modified_is_conditional() {
    let last_modified = date(-120);
    let entry = cached(&[
        ("date", &date(-60)),
        ("last-modified", &last_modified),
        ("cache-control", "max-age=30"),
    ]);
    assert_eq!(
        if_modified_since(&strategy(0, &[], &entry)),
        Some(last_modified)
    );
}

#[test]
fn max_age_in_the_past_with_date_only_validates_with_the_date() {
    let served = date(-60);
    let entry = cached(&[("date", &served), ("cache-control", "max-age=30")]);
    assert_eq!(if_modified_since(&strategy(0, &[], &entry)), Some(served));
}

#[test]
fn max_age_in_the_future_with_date_is_a_hit() {
    let entry = cached(&[("date", &date(0)), ("cache-control", "max-age=60")]);
    assert!(is_hit(&strategy(0, &[], &entry)));
}

#[test]
fn max_age_with_last_modified_but_no_date_is_a_hit() {
    let entry = cached(&[
        ("last-modified", &date(-120)),
        ("cache-control", "max-age=60"),
    ]);
    assert!(is_hit(&strategy(0, &[], &entry)));
}

#[test]
fn max_age_is_preferred_over_expires() {
    let entry = cached(&[
        ("date", &date(-60)),
        ("expires", &date(-30)),
        ("cache-control", "max-age=120"),
    ]);
    assert!(is_hit(&strategy(0, &[], &entry)));
    let entry = cached(&[
        ("date", &date(-60)),
        ("expires", &date(3600)),
        ("cache-control", "max-age=30"),
        ("etag", "\"v\""),
    ]);
    assert!(if_none_match(&strategy(0, &[], &entry)).is_some());
}

#[test]
fn shared_max_age_is_ignored() {
    let lower = cached(&[
        ("date", &date(-120)),
        ("cache-control", "s-maxage=60, max-age=180"),
    ]);
    assert!(is_hit(&strategy(0, &[], &lower)));
    let higher = cached(&[
        ("date", &date(-120)),
        ("cache-control", "s-maxage=180, max-age=60"),
        ("etag", "\"v\""),
    ]);
    assert!(if_none_match(&strategy(0, &[], &higher)).is_some());
}

#[test]
fn expires_in_the_future_is_a_hit() {
    let entry = cached(&[("expires", &date(3600))]);
    assert!(is_hit(&strategy(0, &[], &entry)));
}

#[test]
fn expires_in_the_past_with_last_modified_is_conditional() {
    let last_modified = date(-3600);
    let entry = cached(&[("expires", &date(-60)), ("last-modified", &last_modified)]);
    assert_eq!(
        if_modified_since(&strategy(0, &[], &entry)),
        Some(last_modified)
    );
}

#[test]
fn expires_in_the_past_without_validators_goes_to_the_network() {
    let entry = cached(&[("expires", &date(-60))]);
    let strategy = strategy(0, &[], &entry);
    assert_eq!(strategy, CacheStrategy::Network(NetworkReason::NoValidator));
    assert_eq!(strategy.outcome(), Some(CacheOutcome::Miss));
}

#[test]
fn expires_before_last_modified_is_conditional() {
    let last_modified = date(-60);
    let entry = cached(&[
        ("date", &date(0)),
        ("last-modified", &last_modified),
        ("expires", &date(-3600)),
    ]);
    assert_eq!(
        if_modified_since(&strategy(0, &[], &entry)),
        Some(last_modified)
    );
}

#[test]
fn unreadable_expires_is_already_expired() {
    // OkHttp would ignore it and use the Last-Modified heuristic (a hit); RFC 9111 §5.3.
    let last_modified = date(-100 * 3600);
    let entry = cached(&[("expires", "0"), ("last-modified", &last_modified)]);
    assert_eq!(
        if_modified_since(&strategy(0, &[], &entry)),
        Some(last_modified)
    );
}

#[test]
fn unreadable_dates_are_ignored() {
    let entry = cached(&[
        ("date", "yesterday"),
        ("last-modified", "a while ago"),
        ("cache-control", "max-age=60"),
    ]);
    assert!(is_hit(&strategy(0, &[], &entry)));
    // Stale: neither unreadable date can serve as a validator.
    assert_eq!(
        strategy(61, &[], &entry),
        CacheStrategy::Network(NetworkReason::NoValidator)
    );
}

#[test]
fn unreadable_last_modified_falls_back_to_date_as_validator() {
    let served = date(-60);
    let entry = cached(&[("date", &served), ("last-modified", "garbage")]);
    assert_eq!(if_modified_since(&strategy(0, &[], &entry)), Some(served));
}

#[test]
fn negative_max_age_is_zero() {
    let entry = cached(&[("cache-control", "max-age=-10"), ("etag", "\"v\"")]);
    assert!(if_none_match(&strategy(0, &[], &entry)).is_some());
}

#[test]
fn huge_max_age_saturates_without_overflow() {
    let entry = cached(&[("cache-control", "max-age=99999999999999999999999")]);
    assert!(is_hit(&strategy(10 * 365 * 24 * 3600, &[], &entry)));
    let far_future = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::MAX / 4);
    let request = get(
        "http://a.test/",
        &[("cache-control", "max-stale, min-fresh=99999999999")],
    );
    let _ = CacheStrategy::compute(far_future, &request, Some(&entry));
}

// --- Heuristic freshness --------------------------------------------------------------------

#[test]
fn heuristic_under_24_hours_is_a_hit() {
    let entry = cached(&[("last-modified", &date(-105)), ("date", &date(-5))]);
    let strategy = strategy(0, &[], &entry);
    let CacheStrategy::Hit { freshness, .. } = strategy else {
        panic!("{strategy:?}")
    };
    assert!(freshness.is_heuristic());
}

#[test]
fn heuristic_expiration_is_conditional_once_stale() {
    let last_modified = date(-115);
    let entry = cached(&[("last-modified", &last_modified), ("date", &date(-15))]);
    assert_eq!(
        if_modified_since(&strategy(0, &[], &entry)),
        Some(last_modified)
    );
}

#[test]
fn heuristic_over_24_hours_is_a_hit_marked_heuristic() {
    // OkHttp adds `Warning: 113`; here the freshness says it.
    let day = 24 * 3600;
    let entry = cached(&[
        ("last-modified", &date(-105 * day)),
        ("date", &date(-5 * day)),
    ]);
    let strategy = strategy(0, &[], &entry);
    let CacheStrategy::Hit { freshness, .. } = strategy else {
        panic!("{strategy:?}")
    };
    assert!(freshness.is_heuristic());
    assert!(freshness.age() > Duration::from_secs(day.unsigned_abs()));
}

#[test]
fn no_heuristic_for_urls_with_a_query() {
    let last_modified = date(-105);
    let entry = stored(
        "http://a.test/?foo=bar",
        200,
        &[("last-modified", &last_modified), ("date", &date(-5))],
    );
    assert_eq!(
        if_modified_since(&strategy(0, &[], &entry)),
        Some(last_modified)
    );
}

#[test]
fn immutable_is_not_cached_beyond_its_lifetime() {
    let last_modified = date(-115);
    let entry = cached(&[
        ("last-modified", &last_modified),
        ("date", &date(-15)),
        ("cache-control", "immutable"),
    ]);
    assert_eq!(
        if_modified_since(&strategy(0, &[], &entry)),
        Some(last_modified)
    );
}

// --- Age ------------------------------------------------------------------------------------

#[test]
fn age_header_makes_a_response_stale() {
    let entry = cached(&[
        ("cache-control", "max-age=60"),
        ("age", "61"),
        ("etag", "\"v\""),
    ]);
    assert!(if_none_match(&strategy(0, &[], &entry)).is_some());
    let young = cached(&[("cache-control", "max-age=60"), ("age", "30")]);
    assert!(is_hit(&strategy(29, &[], &young)));
    assert!(!is_hit(&strategy(30, &[], &young)));
}

#[test]
fn apparent_age_from_date_counts() {
    let entry = cached(&[("date", &date(-100)), ("cache-control", "max-age=60")]);
    assert!(!is_hit(&strategy(0, &[], &entry)));
}

#[test]
fn response_delay_counts() {
    let entry =
        cached(&[("cache-control", "max-age=20"), ("etag", "\"v\"")]).with_times(at(-30), at(0));
    assert!(if_none_match(&strategy(0, &[], &entry)).is_some());
}

#[test]
fn server_clock_ahead_gives_no_negative_age() {
    let entry = cached(&[("date", &date(3600)), ("cache-control", "max-age=60")]);
    assert!(is_hit(&strategy(59, &[], &entry)));
}

#[test]
fn unreadable_and_huge_age_headers_are_handled() {
    let unreadable = cached(&[("cache-control", "max-age=60"), ("age", "old")]);
    assert!(is_hit(&strategy(0, &[], &unreadable)));
    let huge = cached(&[
        ("cache-control", "max-age=60"),
        ("age", "1e99999999999999999"),
    ]);
    assert!(is_hit(&strategy(0, &[], &huge)));
    let saturated = cached(&[
        ("cache-control", "max-age=60"),
        ("age", "99999999999999999999"),
    ]);
    assert!(!is_hit(&strategy(0, &[], &saturated)));
}
