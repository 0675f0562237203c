//! The client's cache over HTTPS, end to end: a stored HTTPS response keeps the TLS handshake
//! it came with, in memory and on disk (also read back by a new store on the same directory),
//! and a hit reports it as OkHttp's cache reports a cached response's handshake.

mod support;

use oktower::{CacheLayer, CacheOutcome, Client, DiskStore, Handshake, MemoryStore, TlsConfig};
use oktower_testkit::{MockResponse, MockWebServer, TestCertificates};
use support::client::*;

const HOST: &str = "a.test";

fn client(certificates: &TestCertificates, cache: CacheLayer) -> Client {
    let tls = TlsConfig::builder()
        .without_platform_roots()
        .add_root_certificate(certificates.root().certificate_der().clone())
        .build()
        .unwrap();
    builder_for(&[HOST]).tls(tls).cache(cache).build().unwrap()
}

/// Sends a GET for `url`; its outcome, handshake and body.
async fn get(client: &Client, url: &str) -> (Option<CacheOutcome>, Option<Handshake>, String) {
    let response = client.get(url).send().await.unwrap();
    let outcome = response.cache_outcome();
    let handshake = response.handshake().cloned();
    (outcome, handshake, response.text().await.unwrap())
}

#[tokio::test]
async fn an_https_hit_keeps_the_handshake_in_memory_and_on_disk() {
    let certificates = TestCertificates::for_hosts(&[HOST]).unwrap();
    let server = MockWebServer::builder()
        .tls(certificates.server_tls())
        .start()
        .await
        .unwrap();
    let url = server.url_with_host("https", HOST, "/");
    let directory = tempfile::tempdir().unwrap();
    let disk = || async { DiskStore::open(directory.path(), 1 << 20).await.unwrap() };
    let stores = [
        ("memory", CacheLayer::new(MemoryStore::new(1 << 20))),
        ("disk", CacheLayer::new(disk().await)),
    ];
    for (store, cache) in stores {
        server.enqueue(
            MockResponse::new()
                .header("Cache-Control", "max-age=600")
                .body(format!("from the {store} store")),
        );
        let client = client(&certificates, cache);
        let (outcome, network, body) = get(&client, &url).await;
        assert_eq!(outcome, Some(CacheOutcome::Miss), "{store}");
        let network = network.expect("the network response came over TLS");
        assert_eq!(body, format!("from the {store} store"));
        let (outcome, cached, body) = get(&client, &url).await;
        assert_eq!(outcome, Some(CacheOutcome::Hit), "{store}");
        assert_eq!(cached.as_ref(), Some(&network), "{store}");
        assert_eq!(body, format!("from the {store} store"));
    }
    assert_eq!(server.request_count(), 2);

    // A new store on the same directory reads the entry, handshake included, from its files.
    let client = client(&certificates, CacheLayer::new(disk().await));
    let (outcome, cached, body) = get(&client, &url).await;
    assert_eq!(outcome, Some(CacheOutcome::Hit));
    let cached = cached.expect("the stored handshake");
    assert!(!cached.peer_certificates().is_empty());
    assert_eq!(body, "from the disk store");
    assert_eq!(server.request_count(), 2);
}
