use std::time::Duration;

use http::header::HeaderName;
use proptest::prelude::*;

use super::*;

fn parse(lines: &[(&str, &[u8])]) -> CacheControl {
    let mut headers = HeaderMap::new();
    for (name, value) in lines {
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_bytes(value).unwrap(),
        );
    }
    CacheControl::parse(&headers)
}

fn cache_control(value: &str) -> CacheControl {
    parse(&[("cache-control", value.as_bytes())])
}

fn secs(seconds: u64) -> Option<Duration> {
    Some(Duration::from_secs(seconds))
}

#[test]
fn no_headers_means_no_directives() {
    let parsed = CacheControl::parse(&HeaderMap::new());
    assert!(parsed.is_empty());
    assert_eq!(parsed, CacheControl::default());
    assert_eq!(parsed.to_string(), "");
    assert_eq!(parsed.to_header_value(), None);
}

#[test]
fn every_directive_is_parsed() {
    let parsed = cache_control(
        "no-cache, no-store, max-age=1, s-maxage=2, private, public, must-revalidate, \
         max-stale=3, min-fresh=4, only-if-cached, no-transform, immutable, \
         stale-while-revalidate=5, stale-if-error=6",
    );
    assert!(parsed.no_cache() && parsed.no_store());
    assert_eq!(parsed.max_age(), secs(1));
    assert_eq!(parsed.s_max_age(), secs(2));
    assert!(parsed.is_private() && parsed.is_public() && parsed.must_revalidate());
    assert_eq!(parsed.max_stale(), secs(3));
    assert_eq!(parsed.min_fresh(), secs(4));
    assert!(parsed.only_if_cached() && parsed.no_transform() && parsed.immutable());
    assert_eq!(parsed.stale_while_revalidate(), secs(5));
    assert_eq!(parsed.stale_if_error(), secs(6));
}

#[test]
fn rendering_round_trips_every_directive() {
    let value = "no-cache, no-store, max-age=1, s-maxage=2, private, public, must-revalidate, \
                 max-stale=3, min-fresh=4, only-if-cached, no-transform, immutable, \
                 stale-while-revalidate=5, stale-if-error=6";
    let parsed = cache_control(value);
    assert_eq!(parsed.to_string(), value);
    assert_eq!(cache_control(&parsed.to_string()), parsed);
    assert_eq!(parsed.to_header_value().unwrap(), value);
}

#[test]
fn directive_names_ignore_case_and_whitespace() {
    let parsed = cache_control("  NO-CACHE ,Max-Age = 60 ,\tPUBLIC");
    assert!(parsed.no_cache() && parsed.is_public());
    assert_eq!(parsed.max_age(), secs(60));
}

#[test]
fn quoted_values_are_read_and_may_hold_commas() {
    let parsed = cache_control("max-age=\"60\", private=\"Set-Cookie, X-Token\", min-fresh=5");
    assert_eq!(parsed.max_age(), secs(60));
    assert!(parsed.is_private());
    assert_eq!(parsed.min_fresh(), secs(5));
    let parsed = cache_control("no-cache=\"Set-Cookie\",max-age=7");
    assert!(parsed.no_cache());
    assert_eq!(parsed.max_age(), secs(7));
}

#[test]
fn an_unterminated_quote_runs_to_the_end() {
    let parsed = cache_control("public, max-age=\"60");
    assert!(parsed.is_public());
    assert_eq!(parsed.max_age(), secs(60));
    assert_eq!(cache_control("max-age=\"").max_age(), None);
}

#[test]
fn semicolons_separate_like_commas() {
    let parsed = cache_control("max-age=10; must-revalidate");
    assert_eq!(parsed.max_age(), secs(10));
    assert!(parsed.must_revalidate());
}

#[test]
fn every_field_line_is_read() {
    let parsed = parse(&[
        ("cache-control", b"max-age=12"),
        ("cache-control", b"must-revalidate"),
        ("cache-control", b"public"),
    ]);
    assert_eq!(parsed.max_age(), secs(12));
    assert!(parsed.must_revalidate() && parsed.is_public());
}

#[test]
fn pragma_lines_are_read_too() {
    assert!(parse(&[("pragma", b"no-cache")]).no_cache());
    let parsed = parse(&[("cache-control", b"max-age=5"), ("pragma", b"No-Cache")]);
    assert!(parsed.no_cache());
    assert_eq!(parsed.max_age(), secs(5));
}

#[test]
fn unknown_directives_and_other_headers_are_ignored() {
    let parsed = parse(&[
        ("cache-control", b"community=\"UCI\", x-ext, max-age=3"),
        ("expires", b"max-age=99"),
    ]);
    assert_eq!(parsed.max_age(), secs(3));
    assert_eq!(
        CacheControl {
            max_age: None,
            ..parsed
        },
        CacheControl::default()
    );
}

#[test]
fn first_readable_value_of_a_repeated_directive_wins() {
    assert_eq!(cache_control("max-age=10, max-age=20").max_age(), secs(10));
    let lines = parse(&[
        ("cache-control", b"max-age=10"),
        ("cache-control", b"max-age=5"),
    ]);
    assert_eq!(lines.max_age(), secs(10));
    assert_eq!(cache_control("max-age=x, max-age=20").max_age(), secs(20));
}

#[test]
fn negative_numbers_read_as_zero() {
    assert_eq!(cache_control("max-age=-5").max_age(), secs(0));
    assert_eq!(cache_control("min-fresh=-1").min_fresh(), secs(0));
    assert_eq!(cache_control("max-stale=-100").max_stale(), secs(0));
}

#[test]
fn huge_numbers_saturate() {
    let max = secs(u64::from(MAX_DELTA_SECONDS));
    assert_eq!(cache_control("max-age=2147483648").max_age(), max);
    assert_eq!(
        cache_control("max-age=99999999999999999999999999999").max_age(),
        max
    );
    assert_eq!(cache_control("max-age=2147483647").max_age(), max);
    assert_eq!(
        cache_control("max-age=2147483646").max_age(),
        secs(2_147_483_646)
    );
}

#[test]
fn values_that_are_not_numbers_leave_the_directive_unset() {
    for value in [
        "max-age",
        "max-age=",
        "max-age=abc",
        "max-age=1.5",
        "max-age=0x10",
        "max-age=--1",
    ] {
        assert_eq!(cache_control(value).max_age(), None, "{value}");
    }
    assert_eq!(cache_control("max-age=+7").max_age(), secs(7));
}

#[test]
fn max_stale_without_a_readable_value_means_any_staleness() {
    let max = secs(u64::from(MAX_DELTA_SECONDS));
    assert_eq!(cache_control("max-stale").max_stale(), max);
    assert_eq!(cache_control("max-stale=forever").max_stale(), max);
    assert_eq!(cache_control("max-stale=30").max_stale(), secs(30));
}

#[test]
fn delta_seconds_parsing() {
    assert_eq!(parse_delta_seconds(b"0"), Some(0));
    assert_eq!(parse_delta_seconds(b"0042"), Some(42));
    assert_eq!(parse_delta_seconds(b"-0"), Some(0));
    assert_eq!(parse_delta_seconds(b"-"), None);
    assert_eq!(parse_delta_seconds(b""), None);
    assert_eq!(parse_delta_seconds(b" 5"), None);
    assert_eq!(parse_delta_seconds(b"4294967296"), Some(MAX_DELTA_SECONDS));
}

#[test]
fn force_network_and_force_cache() {
    assert!(CacheControl::FORCE_NETWORK.no_cache());
    assert_eq!(CacheControl::FORCE_NETWORK.to_string(), "no-cache");
    let force_cache = CacheControl::FORCE_CACHE;
    assert!(force_cache.only_if_cached());
    assert_eq!(force_cache.max_stale(), secs(u64::from(MAX_DELTA_SECONDS)));
    assert_eq!(
        force_cache.to_string(),
        "max-stale=2147483647, only-if-cached"
    );
    assert_eq!(cache_control(&force_cache.to_string()), force_cache);
}

#[test]
fn builder_truncates_to_seconds_and_saturates() {
    let built = CacheControl::builder()
        .max_age(Duration::from_millis(59_999))
        .max_stale(Duration::MAX)
        .min_fresh(Duration::from_secs(u64::MAX))
        .stale_if_error(Duration::from_secs(30))
        .build();
    assert_eq!(built.max_age(), secs(59));
    assert_eq!(built.max_stale(), secs(u64::from(MAX_DELTA_SECONDS)));
    assert_eq!(built.min_fresh(), secs(u64::from(MAX_DELTA_SECONDS)));
    assert_eq!(built.stale_if_error(), secs(30));
}

#[test]
fn builder_sets_each_flag() {
    let built = CacheControl::builder()
        .no_cache()
        .no_store()
        .only_if_cached()
        .no_transform()
        .immutable()
        .build();
    assert_eq!(
        built.to_string(),
        "no-cache, no-store, only-if-cached, no-transform, immutable"
    );
    assert!(!built.is_public() && !built.is_private() && !built.must_revalidate());
}

#[test]
fn unreadable_bytes_do_not_stop_parsing() {
    let parsed = parse(&[("cache-control", b"\xff\xfe=\x80, max-age=9, \"\"\"")]);
    assert_eq!(parsed.max_age(), secs(9));
}

proptest! {
    #[test]
    fn parsing_never_panics(values in proptest::collection::vec(
        proptest::collection::vec(any::<u8>(), 0..64), 0..4)
    ) {
        let mut headers = HeaderMap::new();
        for value in values {
            if let Ok(value) = HeaderValue::from_bytes(&value) {
                headers.append(CACHE_CONTROL, value.clone());
                headers.append(PRAGMA, value);
            }
        }
        let parsed = CacheControl::parse(&headers);
        let rendered = parsed.to_string();
        let mut again = HeaderMap::new();
        if let Some(value) = parsed.to_header_value() {
            again.insert(CACHE_CONTROL, value);
        }
        prop_assert_eq!(CacheControl::parse(&again).to_string(), rendered);
    }

    #[test]
    fn directive_soup_parses_without_panicking(text in "[a-zA-Z=,;\" \t0-9-]{0,80}") {
        if let Ok(value) = HeaderValue::from_str(&text) {
            let mut headers = HeaderMap::new();
            headers.insert(CACHE_CONTROL, value);
            let _ = CacheControl::parse(&headers);
        }
    }
}
