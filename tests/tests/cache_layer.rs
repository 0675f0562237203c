//! CacheLayer over ConnectLayer + CallServer against MockWebServer on loopback: freshness,
//! validation, Vary, invalidation, storage faults, stale responses, and both stores.

mod support;

use bytes::Bytes;
use http::Request;
use http_body_util::BodyExt;
use oktower::{
    BridgeLayer, CacheKey, CacheOutcome, CacheStore, DiskStore, MemoryStore, RequestBody, StoreKey,
};
use oktower_testkit::{Fault, MockResponse, MockWebServer};
use support::cache::*;
use support::{PATIENCE, get, post};
use tower_layer::Layer;
use tower_service::Service;

use CacheOutcome::*;

/// `Tue, 14 Nov 2023 22:13:20 GMT` is the test clock's start; this is ten days earlier.
const TEN_DAYS_BEFORE_START: &str = "Sat, 04 Nov 2023 22:13:20 GMT";

fn with_header(
    mut request: Request<RequestBody>,
    name: &'static str,
    value: &'static str,
) -> Request<RequestBody> {
    request.headers_mut().insert(name, value.parse().unwrap());
    request
}

async fn memory_setup() -> (
    MockWebServer,
    TestClock,
    oktower::cache::CacheLayer,
    CacheStack,
) {
    let server = MockWebServer::start().await.unwrap();
    let clock = TestClock::new();
    let (layer, cache) = cache_stack(MemoryStore::new(1 << 20), &clock);
    (server, clock, layer, cache)
}

fn stats(layer: &oktower::cache::CacheLayer) -> (u64, u64, u64, u64, u64) {
    (
        layer.request_count(),
        layer.network_count(),
        layer.hit_count(),
        layer.write_success_count(),
        layer.write_abort_count(),
    )
}

#[tokio::test]
async fn max_age_freshness_then_expiry() {
    let (server, clock, layer, mut cache) = memory_setup().await;
    let url = url(&server, "/fresh");
    server.enqueue(
        MockResponse::new()
            .header("Cache-Control", "max-age=60")
            .body("A"),
    );
    assert_eq!(
        fetch(&mut cache, get(&url)).await.unwrap(),
        fetched(Miss, 200, "A")
    );
    clock.advance(59);
    assert_eq!(
        fetch(&mut cache, get(&url)).await.unwrap(),
        fetched(Hit, 200, "A")
    );
    assert_eq!(stats(&layer), (2, 1, 1, 1, 0));
    clock.advance(2);
    server.enqueue(MockResponse::new().body("B"));
    assert_eq!(
        fetch(&mut cache, get(&url)).await.unwrap(),
        fetched(Miss, 200, "B")
    );
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn last_modified_heuristic_freshness() {
    let (server, clock, _layer, mut cache) = memory_setup().await;
    let url = url(&server, "/heuristic");
    server.enqueue(
        MockResponse::new()
            .header("Last-Modified", TEN_DAYS_BEFORE_START)
            .body("A"),
    );
    fetch(&mut cache, get(&url)).await.unwrap();
    // Ten days old: fresh for a tenth of that, one day.
    clock.advance(23 * 3600);
    assert_eq!(
        fetch(&mut cache, get(&url)).await.unwrap(),
        fetched(Hit, 200, "A")
    );
    clock.advance(2 * 3600);
    server.enqueue(MockResponse::new().status(304));
    assert_eq!(
        fetch(&mut cache, get(&url)).await.unwrap(),
        fetched(ConditionalHit, 200, "A")
    );
    let validation = {
        server.take_request(PATIENCE).await.unwrap();
        server.take_request(PATIENCE).await.unwrap()
    };
    assert_eq!(
        validation.header("if-modified-since"),
        Some(TEN_DAYS_BEFORE_START)
    );
}

#[tokio::test]
async fn etag_validation_merges_the_304_and_updates_the_entry() {
    let (server, clock, layer, mut cache) = memory_setup().await;
    let url = url(&server, "/etag");
    server.enqueue(
        MockResponse::new()
            .header("Cache-Control", "max-age=10")
            .header("ETag", "\"v1\"")
            .header("X-Version", "1")
            .body("body"),
    );
    fetch(&mut cache, get(&url)).await.unwrap();
    clock.advance(20);
    server.enqueue(
        MockResponse::new()
            .status(304)
            .header("Cache-Control", "max-age=600")
            .header("X-Version", "2")
            .header("Content-Encoding", "br"),
    );
    let response = cache.call(get(&url)).await.unwrap();
    assert_eq!(response.extensions().get(), Some(&ConditionalHit));
    assert_eq!(response.headers()["x-version"], "2");
    assert!(response.headers().get("content-encoding").is_none());
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "body"
    );
    server.take_request(PATIENCE).await.unwrap();
    let validation = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(validation.header("if-none-match"), Some("\"v1\""));
    clock.advance(500);
    assert_eq!(
        fetch(&mut cache, get(&url)).await.unwrap(),
        fetched(Hit, 200, "body")
    );
    assert_eq!(stats(&layer), (3, 2, 2, 1, 0));
}

#[tokio::test]
async fn vary_matches_request_headers() {
    let (server, _clock, _layer, mut cache) = memory_setup().await;
    let url = url(&server, "/vary");
    server.enqueue(
        MockResponse::new()
            .header("Cache-Control", "max-age=60")
            .header("Vary", "Accept-Language")
            .body("bonjour"),
    );
    let french = || with_header(get(&url), "accept-language", "fr");
    fetch(&mut cache, french()).await.unwrap();
    assert_eq!(
        fetch(&mut cache, french()).await.unwrap(),
        fetched(Hit, 200, "bonjour")
    );
    server.enqueue(MockResponse::new().body("hello"));
    let english = with_header(get(&url), "accept-language", "en");
    assert_eq!(
        fetch(&mut cache, english).await.unwrap(),
        fetched(Miss, 200, "hello")
    );
}

#[tokio::test]
async fn post_invalidates_its_url_and_same_origin_locations() {
    let (server, _clock, layer, mut cache) = memory_setup().await;
    let (items, item) = (url(&server, "/items"), url(&server, "/items/1"));
    for target in [&items, &item] {
        server.enqueue(
            MockResponse::new()
                .header("Cache-Control", "max-age=60")
                .body("cached"),
        );
        fetch(&mut cache, get(target)).await.unwrap();
    }
    server.enqueue(
        MockResponse::new()
            .status(500)
            .header("Location", "/items/1")
            .body("failed"),
    );
    let posted = fetch(&mut cache, post(&items, "new")).await.unwrap();
    assert_eq!(posted, fetched(Miss, 500, "failed"));
    assert!(
        layer
            .store()
            .open_read(&key(&items))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        layer
            .store()
            .open_read(&key(&item))
            .await
            .unwrap()
            .is_none()
    );
}

fn key(url: &str) -> StoreKey {
    StoreKey::new(CacheKey::for_uri(&url.parse().unwrap()).as_str()).unwrap()
}

#[tokio::test]
async fn partial_content_is_never_stored() {
    let (server, _clock, layer, mut cache) = memory_setup().await;
    let url = url(&server, "/range");
    server.enqueue(
        MockResponse::new()
            .status(206)
            .header("Cache-Control", "max-age=60")
            .header("Content-Range", "bytes 0-1/10")
            .body("ab"),
    );
    fetch(&mut cache, with_header(get(&url), "range", "bytes=0-1"))
        .await
        .unwrap();
    assert_eq!(layer.write_success_count(), 0);
    assert!(layer.store().open_read(&key(&url)).await.unwrap().is_none());
}

#[tokio::test]
async fn a_body_cut_by_the_server_is_not_stored() {
    let (server, _clock, layer, mut cache) = memory_setup().await;
    let url = url(&server, "/cut");
    server.enqueue(
        MockResponse::new()
            .header("Cache-Control", "max-age=60")
            .body(vec![b'x'; 10_000])
            .with_fault(Fault::DisconnectDuringResponseBody { after_bytes: 100 }),
    );
    assert!(fetch(&mut cache, get(&url)).await.is_err());
    assert_eq!(layer.write_abort_count(), 1);
    assert!(layer.store().open_read(&key(&url)).await.unwrap().is_none());
    server.enqueue(MockResponse::new().body("whole"));
    assert_eq!(
        fetch(&mut cache, get(&url)).await.unwrap(),
        fetched(Miss, 200, "whole")
    );
}

#[tokio::test]
async fn a_body_dropped_by_the_caller_is_aborted() {
    let (server, _clock, layer, mut cache) = memory_setup().await;
    let url = url(&server, "/dropped");
    server.enqueue(
        MockResponse::new()
            .header("Cache-Control", "max-age=60")
            .chunked_body(vec![b'y'; 64 * 1024], 1024),
    );
    let response = cache.call(get(&url)).await.unwrap();
    let mut body = response.into_body();
    body.frame().await.unwrap().unwrap();
    drop(body);
    assert_eq!(stats(&layer), (1, 1, 0, 0, 1));
    assert!(layer.store().open_read(&key(&url)).await.unwrap().is_none());
}

#[tokio::test]
async fn only_if_cached_hits_or_answers_504() {
    let (server, _clock, layer, mut cache) = memory_setup().await;
    let url = url(&server, "/only");
    let only = || with_header(get(&url), "cache-control", "only-if-cached");
    assert_eq!(
        fetch(&mut cache, only()).await.unwrap(),
        fetched(Unsatisfiable, 504, "")
    );
    server.enqueue(
        MockResponse::new()
            .header("Cache-Control", "max-age=60")
            .body("here"),
    );
    fetch(&mut cache, get(&url)).await.unwrap();
    assert_eq!(
        fetch(&mut cache, only()).await.unwrap(),
        fetched(Hit, 200, "here")
    );
    assert_eq!(stats(&layer), (3, 1, 1, 1, 0));
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn a_permanent_redirect_with_max_age_is_served_from_the_cache() {
    let (server, _clock, _layer, mut cache) = memory_setup().await;
    let url = url(&server, "/moved");
    server.enqueue(
        MockResponse::new()
            .status(301)
            .header("Cache-Control", "max-age=60")
            .header("Location", "/new")
            .body("moved"),
    );
    assert_eq!(
        fetch(&mut cache, get(&url)).await.unwrap(),
        fetched(Miss, 301, "moved")
    );
    let response = cache.call(get(&url)).await.unwrap();
    assert_eq!(response.status(), 301);
    assert_eq!(response.headers()["location"], "/new");
    assert_eq!(response.extensions().get(), Some(&Hit));
}

#[tokio::test]
async fn gzip_bodies_are_stored_encoded_and_decoded_by_the_bridge() {
    const GZIPPED: &[u8] = &[
        31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 203, 72, 205, 201, 201, 87, 72, 175, 202, 44, 80, 40, 207,
        47, 202, 73, 209, 81, 200, 64, 19, 1, 0, 160, 125, 204, 48, 34, 0, 0, 0,
    ];
    let (server, _clock, layer, cache) = memory_setup().await;
    let mut bridged = BridgeLayer::new().layer(cache);
    let url = url(&server, "/gzip");
    server.enqueue(
        MockResponse::new()
            .header("Cache-Control", "max-age=60")
            .header("Content-Encoding", "gzip")
            .header("Vary", "Accept-Encoding")
            .body(GZIPPED),
    );
    for expected in [Miss, Hit] {
        let response = bridged.call(get(&url)).await.unwrap();
        assert_eq!(response.extensions().get(), Some(&expected));
        assert!(response.headers().get("content-encoding").is_none());
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "hello gzip world, hello gzip world");
    }
    let stored = layer.store().open_read(&key(&url)).await.unwrap().unwrap();
    assert_eq!(
        stored.body.to_bytes().await.unwrap(),
        Bytes::from_static(GZIPPED)
    );
    let sent = server.take_request(PATIENCE).await.unwrap();
    assert!(sent.header("accept-encoding").unwrap().contains("gzip"));
}

#[tokio::test]
async fn stale_if_error_serves_the_entry_while_the_server_is_down() {
    let (server, clock, layer, mut cache) = memory_setup().await;
    let url = url(&server, "/sie");
    server.enqueue(
        MockResponse::new()
            .header("Cache-Control", "max-age=10, stale-if-error=3600")
            .header("ETag", "\"e\"")
            .header("Connection", "close")
            .body("kept"),
    );
    fetch(&mut cache, get(&url)).await.unwrap();
    server.shutdown().await.unwrap();
    clock.advance(60);
    assert_eq!(
        fetch(&mut cache, get(&url)).await.unwrap(),
        fetched(StaleHit, 200, "kept")
    );
    clock.advance(3600);
    assert!(fetch(&mut cache, get(&url)).await.is_err());
    assert_eq!(stats(&layer), (3, 3, 1, 1, 0));
}

#[tokio::test]
async fn stale_while_revalidate_serves_stale_then_fresh() {
    let (server, clock, layer, mut cache) = memory_setup().await;
    let url = url(&server, "/swr");
    server.enqueue(
        MockResponse::new()
            .header("Cache-Control", "max-age=10, stale-while-revalidate=600")
            .header("ETag", "\"v1\"")
            .body("v1"),
    );
    fetch(&mut cache, get(&url)).await.unwrap();
    clock.advance(60);
    server.enqueue(
        MockResponse::new()
            .header("Cache-Control", "max-age=600")
            .header("ETag", "\"v2\"")
            .body("v2"),
    );
    assert_eq!(
        fetch(&mut cache, get(&url)).await.unwrap(),
        fetched(StaleHit, 200, "v1")
    );
    server.take_request(PATIENCE).await.unwrap();
    let background = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(background.header("if-none-match"), Some("\"v1\""));
    tokio::time::timeout(PATIENCE, async {
        while layer.write_success_count() < 2 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .unwrap();
    assert_eq!(
        fetch(&mut cache, get(&url)).await.unwrap(),
        fetched(Hit, 200, "v2")
    );
}

#[tokio::test]
async fn head_is_answered_from_a_get_entry() {
    let (server, _clock, _layer, mut cache) = memory_setup().await;
    let url = url(&server, "/head");
    server.enqueue(
        MockResponse::new()
            .header("Cache-Control", "max-age=60")
            .body("12345"),
    );
    fetch(&mut cache, get(&url)).await.unwrap();
    let head = Request::head(&url).body(RequestBody::empty()).unwrap();
    let response = cache.call(head).await.unwrap();
    assert_eq!(response.extensions().get(), Some(&Hit));
    assert_eq!(response.headers()["content-length"], "5");
    assert_eq!(response.into_body().collect().await.unwrap().to_bytes(), "");
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn a_disk_store_serves_hits_across_reopening() {
    let server = MockWebServer::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::new();
    let url = url(&server, "/disk");
    {
        let store = DiskStore::open(dir.path(), 1 << 20).await.unwrap();
        let (layer, mut cache) = cache_stack(store, &clock);
        server.enqueue(
            MockResponse::new()
                .header("Cache-Control", "max-age=60")
                .body("on disk"),
        );
        assert_eq!(
            fetch(&mut cache, get(&url)).await.unwrap(),
            fetched(Miss, 200, "on disk")
        );
        assert_eq!(
            fetch(&mut cache, get(&url)).await.unwrap(),
            fetched(Hit, 200, "on disk")
        );
        layer.store().flush().await.unwrap();
    }
    let store = DiskStore::open(dir.path(), 1 << 20).await.unwrap();
    let (layer, mut cache) = cache_stack(store, &clock);
    assert_eq!(
        fetch(&mut cache, get(&url)).await.unwrap(),
        fetched(Hit, 200, "on disk")
    );
    assert_eq!(stats(&layer), (1, 0, 1, 0, 0));
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn a_corrupt_entry_falls_back_to_the_network() {
    let (server, _clock, layer, mut cache) = memory_setup().await;
    let url = url(&server, "/corrupt");
    let mut writer = layer
        .store()
        .begin_write(&key(&url), Bytes::from_static(b"not an entry"))
        .await
        .unwrap()
        .unwrap();
    writer.write(Bytes::from_static(b"junk")).await.unwrap();
    writer.commit().await.unwrap();
    server.enqueue(
        MockResponse::new()
            .header("Cache-Control", "max-age=60")
            .body("network"),
    );
    assert_eq!(
        fetch(&mut cache, get(&url)).await.unwrap(),
        fetched(Miss, 200, "network")
    );
    assert_eq!(
        fetch(&mut cache, get(&url)).await.unwrap(),
        fetched(Hit, 200, "network")
    );
}

#[tokio::test]
async fn a_store_in_a_vanished_directory_never_fails_the_call() {
    let server = MockWebServer::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = DiskStore::open(dir.path(), 1 << 20).await.unwrap();
    let clock = TestClock::new();
    let (_layer, mut cache) = cache_stack(store, &clock);
    std::fs::remove_dir_all(dir.path()).unwrap();
    let url = url(&server, "/gone");
    for body in ["one", "two"] {
        server.enqueue(
            MockResponse::new()
                .header("Cache-Control", "max-age=60")
                .body(body),
        );
        let got = fetch(&mut cache, get(&url)).await.unwrap();
        assert_eq!((got.status, got.body.as_str()), (200, body));
    }
}
