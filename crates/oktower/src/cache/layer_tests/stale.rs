//! `stale-if-error` and `stale-while-revalidate`.

use super::*;

#[tokio::test]
async fn stale_if_error_serves_the_entry_when_the_network_fails() {
    let f = Fixture::new();
    f.server.enqueue(ok(
        &[
            ("cache-control", "max-age=10, stale-if-error=100"),
            ("etag", "\"e\""),
        ],
        "stale body",
    ));
    f.fetch(get("http://a.test/")).await;
    f.clock.advance(50);
    f.server.enqueue_failure();
    assert_eq!(
        f.fetch(get("http://a.test/")).await,
        (CacheOutcome::StaleHit, 200, "stale body".into())
    );
    f.server.enqueue(response(503, &[], TestBody::text("down")));
    let served = f.send(get("http://a.test/")).await.unwrap();
    assert_eq!(served.extensions().get(), Some(&CacheOutcome::StaleHit));
    let network = served.extensions().get::<NetworkResponseHead>().unwrap();
    assert_eq!(network.0.status(), 503);
    assert_eq!(
        served.into_body().collect().await.unwrap().to_bytes(),
        "stale body"
    );
    assert_eq!(f.stats(), (3, 3, 2));

    // Past the window the failure is the caller's.
    f.clock.advance(100);
    f.server.enqueue_failure();
    assert!(
        f.send(get("http://a.test/"))
            .await
            .unwrap_err()
            .is_connect()
    );
    f.server
        .enqueue(response(502, &[], TestBody::text("bad gateway")));
    assert_eq!(
        f.fetch(get("http://a.test/")).await,
        (CacheOutcome::ConditionalMiss, 502, "bad gateway".into())
    );
}

#[tokio::test]
async fn without_stale_if_error_a_failure_is_returned() {
    let f = Fixture::new();
    f.server.enqueue(ok(
        &[("cache-control", "max-age=10"), ("etag", "\"e\"")],
        "x",
    ));
    f.fetch(get("http://a.test/")).await;
    f.clock.advance(50);
    f.server.enqueue_failure();
    assert!(f.send(get("http://a.test/")).await.is_err());
}

#[tokio::test(start_paused = true)]
async fn stale_while_revalidate_serves_at_once_and_refreshes_in_the_background() {
    let f = Fixture::new();
    f.server.enqueue(ok(
        &[
            ("cache-control", "max-age=10, stale-while-revalidate=100"),
            ("etag", "\"v1\""),
        ],
        "v1",
    ));
    f.fetch(get("http://a.test/")).await;
    f.clock.advance(30);
    f.server.enqueue(ok(
        &[("cache-control", "max-age=60"), ("etag", "\"v2\"")],
        "v2",
    ));
    assert_eq!(
        f.fetch(get("http://a.test/")).await,
        (CacheOutcome::StaleHit, 200, "v1".into())
    );
    // The background request runs once the test yields.
    while f.layer.write_success_count() < 2 {
        tokio::task::yield_now().await;
    }
    assert_eq!(f.server.last_request().headers["if-none-match"], "\"v1\"");
    assert_eq!(
        f.fetch(get("http://a.test/")).await,
        (CacheOutcome::Hit, 200, "v2".into())
    );
    assert_eq!(f.stats(), (3, 2, 2));
}

#[tokio::test(start_paused = true)]
async fn one_background_revalidation_per_entry_and_a_304_updates_the_metadata() {
    let f = Fixture::new();
    f.server.enqueue(ok(
        &[
            ("cache-control", "max-age=10, stale-while-revalidate=100"),
            ("etag", "\"v1\""),
        ],
        "v1",
    ));
    f.fetch(get("http://a.test/")).await;
    f.clock.advance(30);
    f.server.enqueue(response(
        304,
        &[("cache-control", "max-age=500")],
        TestBody::text(""),
    ));
    // Both served stale before the background task runs; only one revalidation starts.
    let first = f.send(get("http://a.test/")).await.unwrap();
    let second = f.send(get("http://a.test/")).await.unwrap();
    assert_eq!(first.extensions().get(), Some(&CacheOutcome::StaleHit));
    assert_eq!(second.extensions().get(), Some(&CacheOutcome::StaleHit));
    while f.server.requests() < 2 {
        tokio::task::yield_now().await;
    }
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(f.server.requests(), 2);
    f.clock.advance(200);
    assert_eq!(
        f.fetch(get("http://a.test/")).await,
        (CacheOutcome::Hit, 200, "v1".into())
    );
}
