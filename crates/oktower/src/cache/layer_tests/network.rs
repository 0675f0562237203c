//! Storing while reading, aborting, invalidation, and stores that fail.

use super::*;

#[tokio::test]
async fn a_body_is_stored_chunk_by_chunk_and_committed_at_its_end() {
    let f = Fixture::new();
    f.server.enqueue(response(
        200,
        &[("cache-control", "max-age=60")],
        TestBody::chunks(&["ab", "cd", "ef"]),
    ));
    let response = f.send(get("http://a.test/")).await.unwrap();
    assert!(response.body().is_teeing());
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(first, "ab");
    assert!(f.store.is_empty(), "nothing is visible before the end");
    assert_eq!(body.collect().await.unwrap().to_bytes(), "cdef");
    assert_eq!(f.store.len(), 1);
    assert_eq!(f.layer.write_success_count(), 1);
    assert_eq!(f.fetch(get("http://a.test/")).await.2, "abcdef");
}

#[tokio::test]
async fn a_caller_that_stops_at_end_of_stream_still_stores_the_entry() {
    let f = Fixture::new();
    f.server
        .enqueue(ok(&[("cache-control", "max-age=60")], "whole"));
    let response = f.send(get("http://a.test/")).await.unwrap();
    let mut body = std::pin::pin!(response.into_body());
    let mut read = Vec::new();
    while !body.is_end_stream() {
        match body.frame().await {
            Some(frame) => read.extend_from_slice(&frame.unwrap().into_data().unwrap()),
            None => break,
        }
    }
    assert_eq!(read, b"whole");
    assert_eq!(f.layer.write_success_count(), 1);
    assert_eq!(f.store.len(), 1);
}

#[tokio::test]
async fn a_body_dropped_early_is_aborted_and_not_stored() {
    let f = Fixture::new();
    f.server.enqueue(response(
        200,
        &[("cache-control", "max-age=60")],
        TestBody::chunks(&["ab", "cd"]),
    ));
    let response = f.send(get("http://a.test/")).await.unwrap();
    let mut body = response.into_body();
    body.frame().await.unwrap().unwrap();
    drop(body);
    assert!(f.store.is_empty());
    assert_eq!(f.layer.write_abort_count(), 1);
    assert_eq!(f.layer.write_success_count(), 0);
    f.server.enqueue(ok(&[], "again"));
    assert_eq!(f.fetch(get("http://a.test/")).await.0, CacheOutcome::Miss);
}

#[tokio::test]
async fn a_body_that_fails_halfway_is_never_stored() {
    let f = Fixture::new();
    f.server.enqueue(response(
        200,
        &[("cache-control", "max-age=60")],
        TestBody::failing_after("part"),
    ));
    let response = f.send(get("http://a.test/")).await.unwrap();
    let error = response.into_body().collect().await.unwrap_err();
    assert!(error.is_io(), "{error}");
    assert!(f.store.is_empty());
    assert_eq!(f.layer.write_abort_count(), 1);
}

#[tokio::test]
async fn unsafe_methods_invalidate_the_url_and_same_origin_locations() {
    let f = Fixture::new();
    for path in ["/items", "/items/7", "/list"] {
        f.server
            .enqueue(ok(&[("cache-control", "max-age=60")], "cached"));
        f.fetch(get(&format!("http://a.test{path}"))).await;
    }
    f.server
        .enqueue(ok(&[("cache-control", "max-age=60")], "other"));
    f.fetch(get("http://b.test/items/7")).await;
    assert_eq!(f.store.len(), 4);
    // An error response invalidates too.
    f.server.enqueue(response(
        500,
        &[
            ("location", "/items/7"),
            ("content-location", "http://b.test/items/7"),
        ],
        TestBody::text(""),
    ));
    f.fetch(request("POST", "http://a.test/items", &[])).await;
    assert_eq!(f.store.len(), 2);
    assert_eq!(
        f.fetch(get("http://a.test/list")).await.0,
        CacheOutcome::Hit
    );
    assert_eq!(
        f.fetch(get("http://b.test/items/7")).await.0,
        CacheOutcome::Hit
    );
    for method in ["PUT", "PATCH", "DELETE"] {
        f.server.enqueue(ok(&[], ""));
        f.fetch(request(method, "http://a.test/list", &[])).await;
    }
    assert_eq!(f.store.len(), 1);
}

#[tokio::test]
async fn status_codes_that_are_never_stored() {
    let f = Fixture::new();
    for status in [206, 201, 303, 500] {
        f.server.enqueue(response(
            status,
            &[("cache-control", "max-age=60")],
            TestBody::text("x"),
        ));
        f.fetch(get(&format!("http://a.test/{status}"))).await;
    }
    assert!(f.store.is_empty());
    assert_eq!(f.layer.write_success_count(), 0);
}

#[tokio::test]
async fn bad_dates_and_huge_max_age_do_not_panic() {
    let f = Fixture::new();
    f.server.enqueue(ok(
        &[
            ("cache-control", "max-age=99999999999999999999"),
            ("date", "not a date"),
            ("expires", "yesterday-ish"),
            ("last-modified", "0"),
        ],
        "huge",
    ));
    f.fetch(get("http://a.test/h")).await;
    assert_eq!(f.fetch(get("http://a.test/h")).await.0, CacheOutcome::Hit);
    f.server.enqueue(ok(
        &[("cache-control", "max-age=-5"), ("date", "garbage")],
        "neg",
    ));
    f.fetch(get("http://a.test/n")).await;
    f.server.enqueue(ok(&[], "neg again"));
    assert_eq!(f.fetch(get("http://a.test/n")).await.2, "neg again");
}

/// A store whose every operation fails.
struct BrokenStore;

impl CacheStore for BrokenStore {
    fn open_read<'a>(&'a self, _: &'a StoreKey) -> StoreFuture<'a, Option<StoredEntry>> {
        Box::pin(async { Err(Error::new(ErrorKind::Io, "disk gone")) })
    }
    fn begin_write<'a>(
        &'a self,
        _: &'a StoreKey,
        _: Bytes,
    ) -> StoreFuture<'a, Option<EntryWriter>> {
        Box::pin(async { Err(Error::new(ErrorKind::Io, "read-only")) })
    }
    fn update_metadata<'a>(
        &'a self,
        _: &'a StoreKey,
        _: EntryVersion,
        _: Bytes,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async { Err(Error::new(ErrorKind::Io, "read-only")) })
    }
    fn remove<'a>(&'a self, _: &'a StoreKey) -> StoreFuture<'a, bool> {
        Box::pin(async { Err(Error::new(ErrorKind::Io, "read-only")) })
    }
    fn evict_all(&self) -> StoreFuture<'_, ()> {
        Box::pin(async { Err(Error::new(ErrorKind::Io, "read-only")) })
    }
    fn size(&self) -> StoreFuture<'_, u64> {
        Box::pin(async { Ok(0) })
    }
    fn max_size(&self) -> u64 {
        0
    }
    fn flush(&self) -> StoreFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }
    fn keys(&self) -> KeyStream {
        super::super::store::key_stream_of(Vec::new())
    }
    fn stats(&self) -> StoreStats {
        MemoryStore::new(0).stats()
    }
    fn status(&self) -> StoreStatus {
        MemoryStore::new(0).status()
    }
}

#[tokio::test]
async fn a_failing_store_never_fails_the_call() {
    let server = Server::default();
    let layer = CacheLayer::new(BrokenStore);
    let cache = layer.layer(server.clone());
    for _ in 0..2 {
        server.enqueue(ok(&[("cache-control", "max-age=60")], "net"));
        let response = cache.clone().oneshot(get("http://a.test/")).await.unwrap();
        assert_eq!(
            response.into_body().collect().await.unwrap().to_bytes(),
            "net"
        );
    }
    server.enqueue(ok(&[], "posted"));
    let response = cache
        .oneshot(request("POST", "http://a.test/", &[]))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.requests(), 3);
}

#[tokio::test]
async fn a_corrupt_entry_is_a_miss_and_is_removed() {
    let f = Fixture::new();
    let key = super::super::network::store_key(&"http://a.test/".parse().unwrap()).unwrap();
    let mut writer = f
        .store
        .begin_write(&key, Bytes::from_static(b"garbage metadata"))
        .await
        .unwrap()
        .unwrap();
    writer.write(Bytes::from_static(b"torn")).await.unwrap();
    writer.commit().await.unwrap();
    f.server
        .enqueue(ok(&[("cache-control", "no-store")], "fresh"));
    assert_eq!(
        f.fetch(get("http://a.test/")).await,
        (CacheOutcome::Miss, 200, "fresh".into())
    );
    assert!(f.store.is_empty());
}
