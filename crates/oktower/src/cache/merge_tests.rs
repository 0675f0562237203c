use std::time::Duration;

use http::header::HeaderValue;
use http::{Method, Request, Response, StatusCode, Uri, Version};
use rustls::{CipherSuite, ProtocolVersion};

use super::*;
use crate::Handshake;
use crate::cache::{CacheStrategy, NetworkReason};

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(*name, HeaderValue::from_static(value));
    }
    map
}

fn values<'a>(map: &'a HeaderMap, name: &str) -> Vec<&'a str> {
    map.get_all(name)
        .iter()
        .map(|value| value.to_str().unwrap())
        .collect()
}

#[test]
fn end_to_end_fields_of_the_304_replace_stored_ones() {
    let stored = headers(&[("cache-control", "max-age=60"), ("etag", "\"v1\"")]);
    let not_modified = headers(&[("cache-control", "max-age=600"), ("etag", "\"v2\"")]);
    let merged = merge_not_modified(&stored, &not_modified);
    assert_eq!(values(&merged, "cache-control"), ["max-age=600"]);
    assert_eq!(values(&merged, "etag"), ["\"v2\""]);
}

#[test]
fn stored_fields_absent_from_the_304_are_kept() {
    let stored = headers(&[("x-stored", "a"), ("last-modified", "then")]);
    let merged = merge_not_modified(&stored, &headers(&[("date", "now")]));
    assert_eq!(values(&merged, "x-stored"), ["a"]);
    assert_eq!(values(&merged, "last-modified"), ["then"]);
    assert_eq!(values(&merged, "date"), ["now"]);
}

#[test]
fn every_value_of_a_replaced_field_is_replaced() {
    let stored = headers(&[("link", "<a>"), ("link", "<b>"), ("link", "<c>")]);
    let not_modified = headers(&[("link", "<d>")]);
    assert_eq!(
        values(&merge_not_modified(&stored, &not_modified), "link"),
        ["<d>"]
    );
    let stored = headers(&[("link", "<a>")]);
    let not_modified = headers(&[("link", "<d>"), ("link", "<e>")]);
    assert_eq!(
        values(&merge_not_modified(&stored, &not_modified), "link"),
        ["<d>", "<e>"]
    );
}

#[test]
fn content_fields_stay_those_of_the_stored_body() {
    let stored = headers(&[
        ("content-length", "120"),
        ("content-type", "text/html"),
        ("content-encoding", "gzip"),
    ]);
    let not_modified = headers(&[
        ("content-length", "0"),
        ("content-type", "application/json"),
        ("content-encoding", "br"),
        ("content-range", "bytes 0-1/2"),
    ]);
    let merged = merge_not_modified(&stored, &not_modified);
    assert_eq!(values(&merged, "content-length"), ["120"]);
    assert_eq!(values(&merged, "content-type"), ["text/html"]);
    assert_eq!(values(&merged, "content-encoding"), ["gzip"]);
    assert!(values(&merged, "content-range").is_empty());
}

#[test]
fn a_304_adding_a_content_encoding_cannot_relabel_the_body() {
    let stored = headers(&[("content-type", "text/plain")]);
    let not_modified = headers(&[("content-encoding", "gzip")]);
    let merged = merge_not_modified(&stored, &not_modified);
    assert!(!merged.contains_key("content-encoding"));
}

#[test]
fn hop_by_hop_fields_are_never_taken_from_the_304() {
    let stored = headers(&[
        ("transfer-encoding", "chunked"),
        ("keep-alive", "timeout=5"),
    ]);
    let not_modified = headers(&[
        ("connection", "close"),
        ("keep-alive", "timeout=1"),
        ("proxy-authenticate", "Basic"),
        ("te", "trailers"),
        ("trailer", "x"),
        ("transfer-encoding", "identity"),
        ("upgrade", "h2c"),
        ("proxy-connection", "close"),
    ]);
    let merged = merge_not_modified(&stored, &not_modified);
    assert_eq!(values(&merged, "transfer-encoding"), ["chunked"]);
    assert_eq!(values(&merged, "keep-alive"), ["timeout=5"]);
    for name in [
        "connection",
        "proxy-authenticate",
        "te",
        "trailer",
        "upgrade",
        "proxy-connection",
    ] {
        assert!(!merged.contains_key(name), "{name}");
    }
}

#[test]
fn fields_the_304s_connection_lists_are_not_taken() {
    let stored = headers(&[("x-hop", "stored")]);
    let not_modified = headers(&[
        ("connection", "X-Hop, close"),
        ("x-hop", "new"),
        ("x-end", "e"),
    ]);
    let merged = merge_not_modified(&stored, &not_modified);
    assert_eq!(values(&merged, "x-hop"), ["stored"]);
    assert_eq!(values(&merged, "x-end"), ["e"]);
}

#[test]
fn stored_1xx_warnings_are_dropped_and_others_kept() {
    let stored = headers(&[
        ("warning", "199 test danger"),
        ("warning", "110 HttpURLConnection \"Response is stale\""),
        ("warning", "299 test danger"),
    ]);
    let merged = merge_not_modified(&stored, &HeaderMap::new());
    assert_eq!(values(&merged, "warning"), ["299 test danger"]);
}

fn stored_entry() -> CachedResponse {
    let (parts, ()) = Response::builder()
        .status(StatusCode::OK)
        .version(Version::HTTP_2)
        .header("cache-control", "max-age=10")
        .header("etag", "\"v1\"")
        .header("content-encoding", "gzip")
        .header("vary", "Accept-Encoding")
        .body(())
        .unwrap()
        .into_parts();
    let mut request = HeaderMap::new();
    request.insert("accept-encoding", HeaderValue::from_static("gzip"));
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
    let handshake = Handshake::new(
        ProtocolVersion::TLSv1_2,
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        Vec::new(),
        Vec::new(),
    );
    CachedResponse::new(Uri::from_static("https://a.test/r"), Method::GET, &parts)
        .with_vary_headers_from(&request)
        .with_times(start, start)
        .with_handshake(Some(handshake))
}

#[test]
fn revalidation_keeps_the_stored_identity_and_takes_the_new_times() {
    let entry = stored_entry();
    let not_modified = headers(&[("cache-control", "max-age=600"), ("content-encoding", "br")]);
    let mut request = HeaderMap::new();
    request.insert("accept-encoding", HeaderValue::from_static("gzip"));
    request.insert("if-none-match", HeaderValue::from_static("\"v1\""));
    let sent = SystemTime::UNIX_EPOCH + Duration::from_secs(5_000);
    let received = sent + Duration::from_millis(20);

    let revalidated = entry.revalidated(&not_modified, &request, sent, received);
    assert_eq!(revalidated.status(), StatusCode::OK);
    assert_eq!(revalidated.version(), Version::HTTP_2);
    assert_eq!(revalidated.url(), entry.url());
    assert_eq!(revalidated.handshake(), entry.handshake());
    assert_eq!(revalidated.sent_at(), sent);
    assert_eq!(revalidated.received_at(), received);
    assert_eq!(revalidated.headers()["cache-control"], "max-age=600");
    assert_eq!(revalidated.headers()["content-encoding"], "gzip");
    assert_eq!(revalidated.vary_headers(), entry.vary_headers());
}

#[test]
fn revalidation_takes_new_vary_fields_from_the_conditional_request() {
    let entry = stored_entry();
    let not_modified = headers(&[("vary", "Accept-Encoding, Accept-Language")]);
    let mut request = HeaderMap::new();
    request.insert("accept-encoding", HeaderValue::from_static("gzip"));
    request.insert("accept-language", HeaderValue::from_static("fr"));
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(2_000);
    let revalidated = entry.revalidated(&not_modified, &request, now, now);
    assert_eq!(revalidated.vary_headers()["accept-language"], "fr");
    assert!(revalidated.matches(entry.url(), &Method::GET, &request));
}

#[test]
fn a_revalidated_entry_is_fresh_again() {
    let entry = stored_entry();
    let later = SystemTime::UNIX_EPOCH + Duration::from_secs(1_100);
    let (request, ()) = Request::get("https://a.test/r")
        .header("accept-encoding", "gzip")
        .body(())
        .unwrap()
        .into_parts();
    assert!(matches!(
        CacheStrategy::compute(later, &request, Some(&entry)),
        CacheStrategy::Conditional { .. }
    ));
    let not_modified = headers(&[("cache-control", "max-age=600")]);
    let revalidated = entry.revalidated(&not_modified, &request.headers, later, later);
    let strategy = CacheStrategy::compute(
        later + Duration::from_secs(60),
        &request,
        Some(&revalidated),
    );
    assert!(
        matches!(strategy, CacheStrategy::Hit { .. }),
        "{strategy:?}"
    );
    assert_ne!(
        strategy,
        CacheStrategy::Network(NetworkReason::MissingHandshake)
    );
}
