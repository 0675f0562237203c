//! Hits, misses, validation and the response markers.

use super::*;

#[tokio::test]
async fn a_fresh_response_is_stored_then_served() {
    let f = Fixture::new();
    f.server
        .enqueue(ok(&[("cache-control", "max-age=60")], "hello"));
    assert_eq!(
        f.fetch(get("http://a.test/")).await,
        (CacheOutcome::Miss, 200, "hello".into())
    );
    assert_eq!(f.events.take(), ["CacheMiss"]);
    f.clock.advance(30);
    let response = f.send(get("http://a.test/")).await.unwrap();
    assert_eq!(response.extensions().get(), Some(&CacheOutcome::Hit));
    let cache_head = response.extensions().get::<CacheResponseHead>().unwrap();
    assert_eq!(cache_head.0.headers()["cache-control"], "max-age=60");
    assert!(response.extensions().get::<NetworkResponseHead>().is_none());
    assert!(response.body().is_stored());
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "hello"
    );
    assert_eq!(f.events.take(), ["CacheHit 200"]);
    assert_eq!(f.server.requests(), 1);
    assert_eq!(f.stats(), (2, 1, 1));
    assert_eq!(f.layer.write_success_count(), 1);
    assert_eq!(f.layer.write_abort_count(), 0);
}

#[tokio::test]
async fn the_miss_carries_the_network_head() {
    let f = Fixture::new();
    f.server.enqueue(ok(&[("x-a", "1")], "x"));
    let response = f.send(get("http://a.test/")).await.unwrap();
    let network = response.extensions().get::<NetworkResponseHead>().unwrap();
    assert_eq!(network.0.headers()["x-a"], "1");
    assert!(response.extensions().get::<CacheResponseHead>().is_none());
}

#[tokio::test]
async fn a_stale_entry_is_validated_with_its_etag_and_a_304_updates_it() {
    let f = Fixture::new();
    f.server.enqueue(ok(
        &[
            ("cache-control", "max-age=10"),
            ("etag", "\"v1\""),
            ("content-encoding", "identity"),
            ("x-version", "1"),
        ],
        "body v1",
    ));
    f.fetch(get("http://a.test/r")).await;
    f.events.take();
    f.clock.advance(20);
    f.server.enqueue(response(
        304,
        &[
            ("cache-control", "max-age=100"),
            ("x-version", "2"),
            ("content-encoding", "gzip"),
        ],
        TestBody::text(""),
    ));
    let response = f.send(get("http://a.test/r")).await.unwrap();
    assert_eq!(f.server.last_request().headers["if-none-match"], "\"v1\"");
    assert_eq!(
        response.extensions().get(),
        Some(&CacheOutcome::ConditionalHit)
    );
    assert_eq!(response.headers()["x-version"], "2");
    // A 304 never changes the content headers of the stored body.
    assert_eq!(response.headers()["content-encoding"], "identity");
    let network = response.extensions().get::<NetworkResponseHead>().unwrap();
    assert_eq!(network.0.status(), 304);
    let cached = response.extensions().get::<CacheResponseHead>().unwrap();
    assert_eq!(cached.0.headers()["x-version"], "1");
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "body v1"
    );
    assert_eq!(f.events.take(), ["CacheConditionalHit 200", "CacheHit 200"]);
    assert_eq!(f.stats(), (2, 2, 1));

    // The merged metadata was stored: fresh for 100 s from now.
    f.clock.advance(50);
    let (outcome, _, body) = f.fetch(get("http://a.test/r")).await;
    assert_eq!((outcome, body.as_str()), (CacheOutcome::Hit, "body v1"));
    assert_eq!(f.server.requests(), 2);
}

#[tokio::test]
async fn a_changed_resource_replaces_the_entry() {
    let f = Fixture::new();
    f.server.enqueue(ok(
        &[
            ("last-modified", "Mon, 13 Nov 2023 00:00:00 GMT"),
            ("cache-control", "max-age=1"),
        ],
        "old",
    ));
    f.fetch(get("http://a.test/")).await;
    f.clock.advance(5);
    f.server
        .enqueue(ok(&[("cache-control", "max-age=60")], "new"));
    f.events.take();
    assert_eq!(
        f.fetch(get("http://a.test/")).await,
        (CacheOutcome::ConditionalMiss, 200, "new".into())
    );
    assert_eq!(
        f.server.last_request().headers["if-modified-since"],
        "Mon, 13 Nov 2023 00:00:00 GMT"
    );
    assert_eq!(f.events.take(), ["CacheConditionalHit 200", "CacheMiss"]);
    assert_eq!(
        f.fetch(get("http://a.test/")).await,
        (CacheOutcome::Hit, 200, "new".into())
    );
}

#[tokio::test]
async fn only_if_cached_without_an_entry_is_a_504() {
    let f = Fixture::new();
    let response = f
        .send(request(
            "GET",
            "http://a.test/",
            &[("cache-control", "only-if-cached")],
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), 504);
    assert_eq!(
        response
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .unwrap()
            .as_bytes(),
        b"Unsatisfiable Request (only-if-cached)"
    );
    assert_eq!(
        response.extensions().get(),
        Some(&CacheOutcome::Unsatisfiable)
    );
    assert!(response.body().is_end_stream());
    assert_eq!(f.events.take(), ["SatisfactionFailure 504"]);
    assert_eq!(f.server.requests(), 0);
    assert_eq!(f.stats(), (1, 0, 0));
}

#[tokio::test]
async fn only_if_cached_with_a_stale_entry_is_served_with_max_stale() {
    let f = Fixture::new();
    f.server.enqueue(ok(&[("cache-control", "max-age=1")], "x"));
    f.fetch(get("http://a.test/")).await;
    f.clock.advance(100);
    let forced = request(
        "GET",
        "http://a.test/",
        &[("cache-control", "only-if-cached, max-stale=2147483647")],
    );
    assert_eq!(
        f.fetch(forced).await,
        (CacheOutcome::StaleHit, 200, "x".into())
    );
}

#[tokio::test]
async fn head_is_answered_from_a_get_entry_without_a_body() {
    let f = Fixture::new();
    f.server.enqueue(ok(
        &[("cache-control", "max-age=60"), ("content-length", "5")],
        "hello",
    ));
    f.fetch(get("http://a.test/")).await;
    let response = f
        .send(request("HEAD", "http://a.test/", &[]))
        .await
        .unwrap();
    assert_eq!(response.extensions().get(), Some(&CacheOutcome::Hit));
    assert_eq!(response.headers()["content-length"], "5");
    assert!(response.body().is_end_stream());
    assert_eq!(response.into_body().collect().await.unwrap().to_bytes(), "");
    assert_eq!(f.server.requests(), 1);
}

#[tokio::test]
async fn a_head_miss_is_not_stored() {
    let f = Fixture::new();
    f.server.enqueue(ok(&[("cache-control", "max-age=60")], ""));
    f.fetch(request("HEAD", "http://a.test/", &[])).await;
    f.server
        .enqueue(ok(&[("cache-control", "max-age=60")], "body"));
    assert_eq!(
        f.fetch(get("http://a.test/")).await,
        (CacheOutcome::Miss, 200, "body".into())
    );
}

#[tokio::test]
async fn vary_values_must_match_and_vary_star_is_never_stored() {
    let f = Fixture::new();
    f.server.enqueue(ok(
        &[("cache-control", "max-age=60"), ("vary", "Accept-Language")],
        "fr",
    ));
    let french = || request("GET", "http://a.test/", &[("accept-language", "fr")]);
    f.fetch(french()).await;
    assert_eq!(f.fetch(french()).await.0, CacheOutcome::Hit);
    f.server.enqueue(ok(&[], "en"));
    let english = request("GET", "http://a.test/", &[("accept-language", "en")]);
    assert_eq!(
        f.fetch(english).await,
        (CacheOutcome::Miss, 200, "en".into())
    );

    f.server.enqueue(ok(
        &[("cache-control", "max-age=60"), ("vary", "*")],
        "star",
    ));
    f.fetch(get("http://a.test/star")).await;
    f.server.enqueue(ok(&[], "again"));
    assert_eq!(f.fetch(get("http://a.test/star")).await.2, "again");
}

#[tokio::test]
async fn request_no_cache_bypasses_and_no_store_is_not_stored() {
    let f = Fixture::new();
    f.server
        .enqueue(ok(&[("cache-control", "max-age=60")], "a"));
    f.fetch(get("http://a.test/")).await;
    f.server
        .enqueue(ok(&[("cache-control", "max-age=60")], "b"));
    let no_cache = request("GET", "http://a.test/", &[("cache-control", "no-cache")]);
    assert_eq!(
        f.fetch(no_cache).await,
        (CacheOutcome::Bypass, 200, "b".into())
    );

    f.server.enqueue(ok(&[("cache-control", "no-store")], "c"));
    f.fetch(get("http://a.test/n")).await;
    f.server.enqueue(ok(&[], "d"));
    assert_eq!(f.fetch(get("http://a.test/n")).await.2, "d");
    // "a", then "b" (a bypassed request still stores its response), then "d".
    assert_eq!(f.layer.write_success_count(), 3);
}

#[tokio::test]
async fn a_cache_url_override_caches_a_post() {
    let f = Fixture::new();
    let post = || {
        let mut post = request("POST", "http://a.test/search", &[]);
        post.extensions_mut().insert(CacheUrlOverride::new(
            "http://a.test/search?q=rust".parse().unwrap(),
        ));
        post
    };
    f.server
        .enqueue(ok(&[("cache-control", "max-age=60")], "results"));
    assert_eq!(f.fetch(post()).await.0, CacheOutcome::Miss);
    assert_eq!(
        f.fetch(post()).await,
        (CacheOutcome::Hit, 200, "results".into())
    );
    assert_eq!(
        f.fetch(get("http://a.test/search?q=rust")).await.0,
        CacheOutcome::Hit
    );
}

#[tokio::test]
async fn https_responses_without_a_handshake_are_not_stored() {
    let f = Fixture::new();
    f.server
        .enqueue(ok(&[("cache-control", "max-age=60")], "a"));
    f.fetch(get("https://a.test/")).await;
    assert!(f.store.is_empty());
    f.server
        .enqueue(ok(&[("cache-control", "max-age=60")], "b"));
    assert_eq!(f.fetch(get("https://a.test/")).await.2, "b");
}

#[tokio::test]
async fn https_responses_keep_their_handshake() {
    use rustls::{CipherSuite, ProtocolVersion};
    let f = Fixture::new();
    let handshake = crate::Handshake::new(
        ProtocolVersion::TLSv1_3,
        CipherSuite::TLS13_AES_128_GCM_SHA256,
        Vec::new(),
        Vec::new(),
    );
    let mut first = ok(&[("cache-control", "max-age=60")], "a");
    first.extensions_mut().insert(handshake.clone());
    f.server.enqueue(first);
    f.fetch(get("https://a.test/")).await;
    let response = f.send(get("https://a.test/")).await.unwrap();
    assert_eq!(response.extensions().get(), Some(&CacheOutcome::Hit));
    assert_eq!(
        response.extensions().get::<crate::Handshake>(),
        Some(&handshake)
    );
}
