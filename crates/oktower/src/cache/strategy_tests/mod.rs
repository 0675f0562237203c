//! The strategy, rule by rule, after OkHttp's `CacheTest` / `CacheStrategyTest` cases. Every
//! test fixes `now`: the response was received at `at(0)`.

mod directives;
mod lifetime;
mod usability;

use std::time::{Duration, SystemTime};

use http::{Method, Request, Response, Uri};
use rustls::{CipherSuite, ProtocolVersion};

use super::*;
use crate::Handshake;

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

fn stored(url: &str, status: u16, headers: &[(&str, &str)]) -> CachedResponse {
    let mut builder = Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let (parts, ()) = builder.body(()).unwrap().into_parts();
    let entry = CachedResponse::new(url.parse::<Uri>().unwrap(), Method::GET, &parts)
        .with_times(at(0), at(0));
    if url.starts_with("https:") {
        entry.with_handshake(Some(handshake()))
    } else {
        entry
    }
}

fn cached(headers: &[(&str, &str)]) -> CachedResponse {
    stored("http://a.test/", 200, headers)
}

fn handshake() -> Handshake {
    Handshake::new(
        ProtocolVersion::TLSv1_3,
        CipherSuite::TLS13_AES_128_GCM_SHA256,
        Vec::new(),
        Vec::new(),
    )
}

fn get(url: &str, headers: &[(&str, &str)]) -> request::Parts {
    let mut builder = Request::get(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap().into_parts().0
}

/// The strategy for a plain GET of `http://a.test/` with `request_headers`, at `at(now)`.
fn strategy<'a>(
    now: i64,
    request_headers: &[(&str, &str)],
    entry: &'a CachedResponse,
) -> CacheStrategy<'a> {
    CacheStrategy::compute(
        at(now),
        &get(&entry.url.to_string(), request_headers),
        Some(entry),
    )
}

fn is_hit(strategy: &CacheStrategy<'_>) -> bool {
    matches!(strategy, CacheStrategy::Hit { .. })
}

fn is_stale_hit(strategy: &CacheStrategy<'_>) -> bool {
    matches!(strategy, CacheStrategy::StaleHit { .. })
}

fn condition<'a>(strategy: &CacheStrategy<'a>) -> Option<Condition<'a>> {
    match strategy {
        CacheStrategy::Conditional { condition, .. } => Some(*condition),
        _ => None,
    }
}

fn if_none_match(strategy: &CacheStrategy<'_>) -> Option<String> {
    match condition(strategy) {
        Some(Condition::IfNoneMatch(value)) => Some(value.to_str().unwrap().to_owned()),
        _ => None,
    }
}

fn if_modified_since(strategy: &CacheStrategy<'_>) -> Option<String> {
    match condition(strategy) {
        Some(Condition::IfModifiedSince(value)) => Some(value.to_str().unwrap().to_owned()),
        _ => None,
    }
}
