//! Is `oktower-testkit`'s `MockWebServer` fast enough to be the server in oktower's own
//! benchmarks? Each scenario runs the same hyper client load against the testkit server and
//! against a bare hyper server, in the same criterion group, so that the report shows them side
//! by side (`<scenario>/testkit` and `<scenario>/hyper`).
//!
//! Servers and clients share one tokio multi-thread runtime with 2 worker threads. Servers are
//! started, and client connections opened, once per scenario and server, outside the timing.
//!
//! Run with `cargo bench -p oktower-benches --bench testkit_server`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput, measurement::WallTime};
use criterion::{criterion_group, criterion_main};
use oktower_benches::{
    BenchServer, Http1Client, Http2Client, HttpVersion, LARGE_BODY_LEN, SMALL_BODY, ServerKind,
    large_body,
};
use tokio::runtime::Runtime;
use tokio::sync::Mutex;

/// Keep-alive connections (and client tasks) in `h1_concurrent`.
const H1_CONNECTIONS: usize = 16;
/// Concurrent streams (client tasks) on the one connection of `h2_concurrent`.
const H2_STREAMS: usize = 64;

/// The runtime for servers and clients alike.
fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// How many of `iters` requests task `task` of `tasks` sends.
fn share(iters: u64, tasks: usize, task: usize) -> u64 {
    let tasks = tasks as u64;
    let task = task as u64;
    iters / tasks + u64::from(task < iters % tasks)
}

fn start_server(rt: &Runtime, kind: ServerKind, version: HttpVersion, body: Bytes) -> BenchServer {
    rt.block_on(BenchServer::start(kind, version, body))
        .unwrap_or_else(|error| panic!("starting the {kind} server: {error}"))
}

fn stop_server(rt: &Runtime, kind: ServerKind, server: BenchServer) {
    rt.block_on(server.shutdown())
        .unwrap_or_else(|error| panic!("the {kind} server failed: {error}"));
}

/// Sends `iters` sequential GETs on `client` from a task on the runtime; returns their time.
async fn sequential(client: Arc<Mutex<Http1Client>>, iters: u64, expected_len: u64) -> Duration {
    tokio::spawn(async move {
        let mut client = client.lock().await;
        let start = Instant::now();
        for _ in 0..iters {
            let read = client.get().await.expect("an HTTP/1.1 exchange");
            assert_eq!(read, expected_len, "response body length");
        }
        start.elapsed()
    })
    .await
    .expect("the client task")
}

fn h1_sequential(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("h1_sequential");
    group.throughput(Throughput::Elements(1));
    for kind in ServerKind::ALL {
        let server = start_server(
            &rt,
            kind,
            HttpVersion::Http1,
            Bytes::from_static(SMALL_BODY),
        );
        let client = rt
            .block_on(Http1Client::connect(server.socket_addr()))
            .expect("an HTTP/1.1 connection");
        let client = Arc::new(Mutex::new(client));
        group.bench_function(BenchmarkId::from_parameter(kind), |b| {
            b.to_async(&rt)
                .iter_custom(|iters| sequential(client.clone(), iters, SMALL_BODY.len() as u64));
        });
        drop(client);
        stop_server(&rt, kind, server);
    }
    group.finish();
}

fn h1_concurrent(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("h1_concurrent");
    group.throughput(Throughput::Elements(1));
    for kind in ServerKind::ALL {
        let server = start_server(
            &rt,
            kind,
            HttpVersion::Http1,
            Bytes::from_static(SMALL_BODY),
        );
        let clients: Vec<_> = (0..H1_CONNECTIONS)
            .map(|_| {
                let client = rt
                    .block_on(Http1Client::connect(server.socket_addr()))
                    .expect("an HTTP/1.1 connection");
                Arc::new(Mutex::new(client))
            })
            .collect();
        group.bench_function(BenchmarkId::from_parameter(kind), |b| {
            b.to_async(&rt).iter_custom(|iters| {
                let clients = clients.clone();
                async move {
                    let start = Instant::now();
                    let tasks: Vec<_> = clients
                        .into_iter()
                        .enumerate()
                        .map(|(task, client)| {
                            let requests = share(iters, H1_CONNECTIONS, task);
                            tokio::spawn(async move {
                                let mut client = client.lock().await;
                                for _ in 0..requests {
                                    let read = client.get().await.expect("an HTTP/1.1 exchange");
                                    assert_eq!(
                                        read,
                                        SMALL_BODY.len() as u64,
                                        "response body length"
                                    );
                                }
                            })
                        })
                        .collect();
                    for task in tasks {
                        task.await.expect("a client task");
                    }
                    start.elapsed()
                }
            });
        });
        drop(clients);
        stop_server(&rt, kind, server);
    }
    group.finish();
}

fn h2_concurrent(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("h2_concurrent");
    group.throughput(Throughput::Elements(1));
    for kind in ServerKind::ALL {
        let server = start_server(
            &rt,
            kind,
            HttpVersion::Http2,
            Bytes::from_static(SMALL_BODY),
        );
        let client = rt
            .block_on(Http2Client::connect(server.socket_addr()))
            .expect("an HTTP/2 connection");
        bench_h2(&mut group, &rt, kind, &client);
        drop(client);
        stop_server(&rt, kind, server);
    }
    group.finish();
}

fn bench_h2(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    kind: ServerKind,
    client: &Http2Client,
) {
    group.bench_function(BenchmarkId::from_parameter(kind), |b| {
        b.to_async(rt).iter_custom(|iters| {
            let client = client.clone();
            async move {
                let start = Instant::now();
                let tasks: Vec<_> = (0..H2_STREAMS)
                    .map(|task| {
                        let requests = share(iters, H2_STREAMS, task);
                        let mut client = client.clone();
                        tokio::spawn(async move {
                            for _ in 0..requests {
                                let read = client.get().await.expect("an HTTP/2 exchange");
                                assert_eq!(read, SMALL_BODY.len() as u64, "response body length");
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.expect("a client task");
                }
                start.elapsed()
            }
        });
    });
}

fn h1_download(c: &mut Criterion) {
    let rt = runtime();
    let body = large_body();
    let mut group = c.benchmark_group("h1_download");
    group.throughput(Throughput::Bytes(LARGE_BODY_LEN as u64));
    for kind in ServerKind::ALL {
        let server = start_server(&rt, kind, HttpVersion::Http1, body.clone());
        let client = rt
            .block_on(Http1Client::connect(server.socket_addr()))
            .expect("an HTTP/1.1 connection");
        let client = Arc::new(Mutex::new(client));
        group.bench_function(BenchmarkId::from_parameter(kind), |b| {
            b.to_async(&rt)
                .iter_custom(|iters| sequential(client.clone(), iters, LARGE_BODY_LEN as u64));
        });
        drop(client);
        stop_server(&rt, kind, server);
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = h1_sequential, h1_concurrent, h2_concurrent, h1_download
}
criterion_main!(benches);
