//! Is a cache hit fast? Requests per second of a raw hyper HTTP/1.1 keep-alive GET on loopback
//! against hits served by `CacheLayer` from a `MemoryStore` and from a `DiskStore`, in the same
//! run. The hits go through `Cache<Connect<CallServer>>` and never reach the network: the entry
//! is stored once, fresh for an hour, before measuring. `disk_store_hit` is the default store
//! (a small entry read once is kept in memory); `disk_store_hit_from_files` turns that off
//! (`memory_cache_size(0)`), so every hit opens and checks the entry's files.
//!
//! The server runs on its own runtime thread; each measured iteration is one request read to
//! the end of its body, one at a time, on a current-thread client runtime (wall time).
//!
//! `client_memory_store_hit` and `client_disk_store_hit` are the same hits through oktower's
//! default stack, an `oktower::Client` built with the cache (scenario S8, see
//! `oktower_benches::cache_hits`, whose `cache_hits` binary also reports CPU per request).
//!
//! Run with `cargo bench -p oktower-benches --bench cache`.

use std::time::Instant;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http::Request;
use http_body_util::BodyExt;
use oktower::cache::{Cache, CacheLayer};
use oktower::{
    CacheOutcome, CacheStore, CallServer, Connect, ConnectLayer, DiskStore, MemoryStore,
    RequestBody,
};
use oktower_benches::cache_hits::{HitClient, enqueue_cacheable};
use oktower_benches::{BareHyperServer, Http1Client, HttpVersion, SMALL_BODY};
use oktower_testkit::{MockResponse, MockWebServer};
use tokio::runtime::Runtime;
use tower_layer::Layer;
use tower_service::Service;

type Stack = Cache<Connect<CallServer>>;

fn server_runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("server")
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn client_runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// A cache stack over `store` whose entry for `url` is stored (a fresh response from `origin`).
async fn filled(store: impl CacheStore, origin: &MockWebServer, url: &str) -> Stack {
    let connect = ConnectLayer::builder().build().expect("a connect layer");
    let mut stack = CacheLayer::new(store).layer(connect.layer(CallServer::new()));
    origin.enqueue(
        MockResponse::new()
            .header("Cache-Control", "max-age=3600")
            .body(Bytes::from_static(SMALL_BODY)),
    );
    let outcome = get(&mut stack, url).await;
    assert_eq!(outcome, CacheOutcome::Miss);
    assert_eq!(get(&mut stack, url).await, CacheOutcome::Hit);
    stack
}

async fn get(stack: &mut Stack, url: &str) -> CacheOutcome {
    let request = Request::get(url)
        .body(RequestBody::empty())
        .expect("a request");
    let response = stack.call(request).await.expect("a response");
    let outcome = *response
        .extensions()
        .get::<CacheOutcome>()
        .expect("an outcome");
    let body = response.into_body().collect().await.expect("a body");
    assert_eq!(body.to_bytes().len(), SMALL_BODY.len());
    outcome
}

fn cache_hits(c: &mut Criterion) {
    let server_rt = server_runtime();
    let client_rt = client_runtime();
    let bare = server_rt
        .block_on(BareHyperServer::start(
            HttpVersion::Http1,
            Bytes::from_static(SMALL_BODY),
        ))
        .expect("a hyper server");
    let origin = server_rt
        .block_on(MockWebServer::start())
        .expect("an origin server");
    let url = origin.url("/cached");
    let dir = tempfile::tempdir().expect("a temporary directory");

    let mut hyper_client = client_rt
        .block_on(Http1Client::connect(bare.socket_addr()))
        .expect("a hyper connection");
    let mut memory = client_rt.block_on(filled(MemoryStore::new(1 << 20), &origin, &url));
    let mut disk = client_rt.block_on(async {
        let store = DiskStore::open(dir.path(), 1 << 20)
            .await
            .expect("a disk store");
        filled(store, &origin, &url).await
    });
    let files_dir = tempfile::tempdir().expect("a temporary directory");
    let mut disk_files = client_rt.block_on(async {
        let store = DiskStore::builder(files_dir.path(), 1 << 20)
            .memory_cache_size(0)
            .open()
            .await
            .expect("a disk store");
        filled(store, &origin, &url).await
    });

    let client_dir = tempfile::tempdir().expect("a temporary directory");
    let client_memory = client_rt
        .block_on(async {
            enqueue_cacheable(&origin);
            HitClient::filled(CacheLayer::new(MemoryStore::new(1 << 20)), &origin).await
        })
        .expect("a client with a memory cache");
    let client_disk = client_rt
        .block_on(async {
            let store = DiskStore::open(client_dir.path(), 1 << 20).await?;
            enqueue_cacheable(&origin);
            HitClient::filled(CacheLayer::new(store), &origin).await
        })
        .expect("a client with a disk cache");

    let mut group = c.benchmark_group("cache");
    group.throughput(Throughput::Elements(1));
    group.bench_function("raw_hyper_h1_get", |b| {
        b.iter_custom(|iters| {
            client_rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    let read = hyper_client.get().await.expect("a response");
                    assert_eq!(read, SMALL_BODY.len() as u64);
                }
                start.elapsed()
            })
        })
    });
    for (name, stack) in [
        ("memory_store_hit", &mut memory),
        ("disk_store_hit", &mut disk),
        ("disk_store_hit_from_files", &mut disk_files),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                client_rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        assert_eq!(get(stack, &url).await, CacheOutcome::Hit);
                    }
                    start.elapsed()
                })
            })
        });
    }
    for (name, client) in [
        ("client_memory_store_hit", &client_memory),
        ("client_disk_store_hit", &client_disk),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                client_rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        client.get().await.expect("a cache hit");
                    }
                    start.elapsed()
                })
            })
        });
    }
    group.finish();
    drop(server_rt);
}

criterion_group!(benches, cache_hits);
criterion_main!(benches);
