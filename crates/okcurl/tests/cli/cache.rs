//! --cache-dir with --cache-only and --no-cache, across processes.

use oktower_testkit::{MockResponse, MockWebServer};

use crate::support::okcurl;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_disk_cache_answers_later_invocations() {
    let server = MockWebServer::builder()
        .default_response(
            MockResponse::new()
                .header("Cache-Control", "max-age=600")
                .body("cacheable"),
        )
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let cache = cache.to_str().unwrap();
    let url = server.url("/doc");

    let only_before = okcurl(&[
        "--cache-dir",
        cache,
        "--cache-only",
        "-w",
        "%{http_code}",
        &url,
    ])
    .await;
    assert_eq!(only_before.stdout_text(), "504", "{only_before:?}");
    assert_eq!(server.request_count(), 0);

    let first = okcurl(&["--cache-dir", cache, &url]).await;
    assert_eq!(
        (first.code, first.stdout.as_slice()),
        (0, &b"cacheable"[..]),
        "{first:?}"
    );
    assert_eq!(server.request_count(), 1);

    let hit = okcurl(&["--cache-dir", cache, "-v", &url]).await;
    assert_eq!(hit.stdout, b"cacheable", "{hit:?}");
    assert!(hit.stderr.contains("* cache outcome: Hit"), "{hit:?}");
    let only = okcurl(&["--cache-dir", cache, "--cache-only", &url]).await;
    assert_eq!(only.stdout, b"cacheable", "{only:?}");
    assert_eq!(server.request_count(), 1);

    let forced = okcurl(&["--cache-dir", cache, "--no-cache", &url]).await;
    assert_eq!(forced.stdout, b"cacheable", "{forced:?}");
    assert_eq!(server.request_count(), 2);
}
