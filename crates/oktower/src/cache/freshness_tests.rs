use http::{Method, Response, Uri};

use super::*;

const BASE: u64 = 1_700_000_000;

fn at(offset: i64) -> SystemTime {
    let base = SystemTime::UNIX_EPOCH + Duration::from_secs(BASE);
    if offset >= 0 {
        base + Duration::from_secs(offset.unsigned_abs())
    } else {
        base - Duration::from_secs(offset.unsigned_abs())
    }
}

fn date(offset: i64) -> String {
    httpdate::fmt_http_date(at(offset))
}

fn entry(url: &str, status: u16, headers: &[(&str, &str)]) -> CachedResponse {
    let mut builder = Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let (parts, ()) = builder.body(()).unwrap().into_parts();
    CachedResponse::new(url.parse::<Uri>().unwrap(), Method::GET, &parts).with_times(at(0), at(0))
}

fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

#[test]
fn max_age_is_the_lifetime() {
    let freshness =
        entry("http://a.test/", 200, &[("cache-control", "max-age=60")]).freshness(at(0));
    assert_eq!(freshness.lifetime(), secs(60));
    assert!(!freshness.is_heuristic());
    assert!(freshness.is_fresh());
    assert_eq!(freshness.staleness(), Duration::ZERO);
}

#[test]
fn expires_counts_from_date() {
    let headers = [("date", &*date(-30)), ("expires", &*date(30))];
    let freshness = entry("http://a.test/", 200, &headers).freshness(at(0));
    assert_eq!(freshness.lifetime(), secs(60));
    assert_eq!(freshness.age(), secs(30));
}

#[test]
fn expires_counts_from_receipt_without_date() {
    let entry = entry("http://a.test/", 200, &[("expires", &date(45))]);
    assert_eq!(entry.freshness(at(0)).lifetime(), secs(45));
}

#[test]
fn expires_before_date_is_zero_lifetime() {
    let headers = [("date", &*date(0)), ("expires", &*date(-60))];
    assert_eq!(
        entry("http://a.test/", 200, &headers)
            .freshness(at(0))
            .lifetime(),
        Duration::ZERO
    );
}

#[test]
fn unreadable_expires_means_already_expired() {
    let last_modified = date(-1000);
    for expires in ["0", "-1", "tomorrow", ""] {
        let headers = [("expires", expires), ("last-modified", &*last_modified)];
        let freshness = entry("http://a.test/", 200, &headers).freshness(at(0));
        assert_eq!(freshness.lifetime(), Duration::ZERO, "Expires: {expires:?}");
        assert!(!freshness.is_heuristic());
    }
}

#[test]
fn all_three_http_date_formats_are_read() {
    for expires in [
        "Sun, 06 Nov 2095 08:49:37 GMT",
        "Sunday, 06-Nov-95 08:49:37 GMT",
        "Sun Nov  6 08:49:37 2095",
    ] {
        let entry = entry("http://a.test/", 200, &[("expires", expires)]);
        let lifetime = entry.freshness(at(0)).lifetime();
        if expires.contains("-95") {
            // RFC 850 two-digit years are read as 1995 by httpdate: already expired.
            assert_eq!(lifetime, Duration::ZERO);
        } else {
            assert!(lifetime > secs(365 * 24 * 3600), "{expires}");
        }
    }
}

#[test]
fn heuristic_is_a_tenth_of_the_time_since_last_modified() {
    let headers = [("date", &*date(-5)), ("last-modified", &*date(-105))];
    let freshness = entry("http://a.test/", 200, &headers).freshness(at(0));
    assert_eq!(freshness.lifetime(), secs(10));
    assert!(freshness.is_heuristic());
    assert_eq!(freshness.age(), secs(5));
}

#[test]
fn heuristic_counts_from_the_sent_time_without_date() {
    let entry = entry("http://a.test/", 200, &[("last-modified", &date(-100))]);
    let freshness = entry.freshness(at(0));
    assert_eq!(freshness.lifetime(), secs(10));
    assert!(freshness.is_heuristic());
}

#[test]
fn no_heuristic_for_a_url_with_a_query() {
    let headers = [("last-modified", &*date(-100))];
    let freshness = entry("http://a.test/?q=1", 200, &headers).freshness(at(0));
    assert_eq!(freshness.lifetime(), Duration::ZERO);
    assert!(!freshness.is_heuristic());
}

#[test]
fn no_heuristic_for_statuses_not_cacheable_by_default_unless_public() {
    let last_modified = date(-100);
    let private = [
        ("cache-control", "private"),
        ("last-modified", &*last_modified),
    ];
    assert_eq!(
        entry("http://a.test/", 302, &private)
            .freshness(at(0))
            .lifetime(),
        Duration::ZERO
    );
    let public = [
        ("cache-control", "public"),
        ("last-modified", &*last_modified),
    ];
    assert_eq!(
        entry("http://a.test/", 302, &public)
            .freshness(at(0))
            .lifetime(),
        secs(10)
    );
}

#[test]
fn last_modified_after_date_gives_zero_lifetime() {
    let headers = [("date", &*date(-100)), ("last-modified", &*date(0))];
    assert_eq!(
        entry("http://a.test/", 200, &headers)
            .freshness(at(0))
            .lifetime(),
        Duration::ZERO
    );
}

#[test]
fn age_adds_apparent_age_response_delay_and_resident_time() {
    let headers = [("date", &*date(-20)), ("cache-control", "max-age=600")];
    let entry = entry("http://a.test/", 200, &headers).with_times(at(-3), at(0));
    // apparent 20 + delay 3 + resident 7
    assert_eq!(entry.freshness(at(7)).age(), secs(30));
}

#[test]
fn age_header_wins_when_larger_than_apparent_age() {
    let headers = [("date", &*date(-10)), ("age", "100")];
    assert_eq!(
        entry("http://a.test/", 200, &headers)
            .freshness(at(0))
            .age(),
        secs(100)
    );
    let headers = [("date", &*date(-10)), ("age", "4")];
    assert_eq!(
        entry("http://a.test/", 200, &headers)
            .freshness(at(0))
            .age(),
        secs(10)
    );
}

#[test]
fn unreadable_negative_and_huge_age_values_are_handled() {
    assert_eq!(
        entry("http://a.test/", 200, &[("age", "soon")])
            .freshness(at(0))
            .age(),
        Duration::ZERO
    );
    assert_eq!(
        entry("http://a.test/", 200, &[("age", "-30")])
            .freshness(at(0))
            .age(),
        Duration::ZERO
    );
    let huge = entry("http://a.test/", 200, &[("age", "999999999999999999999")]).freshness(at(0));
    assert_eq!(huge.age(), secs(u64::from(i32::MAX as u32)));
}

#[test]
fn a_date_in_the_future_gives_no_apparent_age() {
    let headers = [("date", &*date(3600))];
    assert_eq!(
        entry("http://a.test/", 200, &headers)
            .freshness(at(0))
            .age(),
        Duration::ZERO
    );
}

#[test]
fn times_before_receipt_never_go_negative() {
    let entry =
        entry("http://a.test/", 200, &[("cache-control", "max-age=60")]).with_times(at(10), at(0));
    // received before sent (clock change) and now before received
    assert_eq!(entry.freshness(at(-50)).age(), Duration::ZERO);
}

#[test]
fn extreme_times_saturate_instead_of_overflowing() {
    let entry = entry(
        "http://a.test/",
        200,
        &[("cache-control", "max-age=2147483647")],
    )
    .with_times(SystemTime::UNIX_EPOCH, SystemTime::UNIX_EPOCH);
    let far = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::MAX / 4);
    let freshness = entry.freshness(far);
    assert!(!freshness.is_fresh());
    assert!(freshness.staleness() > Duration::ZERO);
}
