//! Does the connection machinery cost CPU? `ConnectLayer` + `CallServer` (pool acquire and
//! release, exchange, response body) against raw hyper `client::conn`, on the same load against
//! the same `oktower-testkit` server, in the same run.
//!
//! The measurement is the **client's CPU time** per request, not wall time: the client runtime
//! (one worker thread) and the server runtime (one worker thread) are separate, and criterion
//! receives the CPU time the client's threads used (Linux `schedstat`), so the server's share
//! is left out.
//!
//! - `h1_64`: 64 tasks, HTTP/1.1 keep-alive. Raw hyper: one connection per task. oktower: one
//!   stack shared by the tasks, its pool keeping up to 64 idle connections.
//! - `h2_256`: 256 tasks, HTTP/2 (prior knowledge) on one connection. Raw hyper: clones of one
//!   `SendRequest`. oktower: one stack; the pool shares its one connection.
//!
//! Run with `cargo bench -p oktower-benches --bench connect_stack`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use http::{Request, Uri};
use http_body_util::BodyExt;
use oktower::{CallServer, Connect, ConnectLayer, ConnectionPool, Protocol, RequestBody};
use oktower_benches::cpu::ThreadCpu;
use oktower_benches::{Http1Client, Http2Client, HttpVersion, SMALL_BODY, start_testkit_server};
use tokio::runtime::Runtime;
use tower_layer::Layer;
use tower_service::Service;

const H1_TASKS: usize = 64;
const H2_TASKS: usize = 256;

fn runtime(name: &str, cpu: Option<ThreadCpu>) -> Runtime {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(1).thread_name(name).enable_all();
    if let Some(cpu) = cpu {
        builder.on_thread_start(move || cpu.register_current());
    }
    builder.build().expect("a tokio runtime")
}

/// How many of `iters` requests task `task` of `tasks` sends.
fn share(iters: u64, tasks: usize, task: usize) -> u64 {
    let (tasks, task) = (tasks as u64, task as u64);
    iters / tasks + u64::from(task < iters % tasks)
}

fn oktower_stack(version: HttpVersion) -> Connect<CallServer> {
    let protocols: &[Protocol] = match version {
        HttpVersion::Http1 => &[Protocol::Http11],
        HttpVersion::Http2 => &[Protocol::H2PriorKnowledge],
    };
    ConnectLayer::builder()
        .pool(ConnectionPool::new(H1_TASKS, Duration::from_secs(300)))
        .protocols(protocols)
        .build()
        .expect("a connect layer")
        .layer(CallServer::new())
}

async fn oktower_get(stack: &mut Connect<CallServer>, uri: &Uri) -> u64 {
    let request = Request::get(uri.clone())
        .body(RequestBody::empty())
        .expect("a request");
    let response = stack.call(request).await.expect("an exchange");
    assert!(response.status().is_success());
    let mut body = response.into_body();
    let mut read = 0;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.expect("a body frame").into_data() {
            read += data.len() as u64;
        }
    }
    read
}

/// Runs `tasks` client tasks sending `iters` requests in all; returns the client CPU time.
fn run<F, Fut>(client_rt: &Runtime, cpu: &ThreadCpu, iters: u64, tasks: usize, task: F) -> Duration
where
    F: Fn(usize, u64) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let before = cpu.total();
    client_rt.block_on(async {
        let handles: Vec<_> = (0..tasks)
            .map(|index| tokio::spawn(task(index, share(iters, tasks, index))))
            .collect();
        for handle in handles {
            handle.await.expect("a client task");
        }
    });
    cpu.total().saturating_sub(before)
}

fn scenario(c: &mut Criterion, name: &str, version: HttpVersion, tasks: usize) {
    if !ThreadCpu::is_supported() {
        eprintln!("connect_stack: per-thread CPU time is not readable here; skipped");
        return;
    }
    let server_rt = runtime("bench-server", None);
    let cpu = ThreadCpu::default();
    let client_rt = runtime("bench-client", Some(cpu.clone()));
    let server = server_rt
        .block_on(start_testkit_server(
            version,
            Bytes::from_static(SMALL_BODY),
        ))
        .expect("the testkit server");
    let addr: SocketAddr = server.socket_addr();
    let uri: Uri = format!("http://{addr}/").parse().expect("a URI");
    let expected = SMALL_BODY.len() as u64;

    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(1));

    match version {
        HttpVersion::Http1 => {
            let clients: Vec<_> = (0..tasks)
                .map(|_| {
                    let client = client_rt
                        .block_on(Http1Client::connect(addr))
                        .expect("a connection");
                    Arc::new(tokio::sync::Mutex::new(client))
                })
                .collect();
            group.bench_function(BenchmarkId::from_parameter("hyper"), |b| {
                b.iter_custom(|iters| {
                    run(&client_rt, &cpu, iters, tasks, |index, requests| {
                        let client = clients[index].clone();
                        async move {
                            let mut client = client.lock().await;
                            for _ in 0..requests {
                                assert_eq!(client.get().await.expect("an exchange"), expected);
                            }
                        }
                    })
                });
            });
        }
        HttpVersion::Http2 => {
            let client = client_rt
                .block_on(Http2Client::connect(addr))
                .expect("a connection");
            group.bench_function(BenchmarkId::from_parameter("hyper"), |b| {
                b.iter_custom(|iters| {
                    run(&client_rt, &cpu, iters, tasks, |_, requests| {
                        let mut client = client.clone();
                        async move {
                            for _ in 0..requests {
                                assert_eq!(client.get().await.expect("an exchange"), expected);
                            }
                        }
                    })
                });
            });
        }
    }

    let stack = client_rt.block_on(async { oktower_stack(version) });
    group.bench_function(BenchmarkId::from_parameter("oktower"), |b| {
        b.iter_custom(|iters| {
            run(&client_rt, &cpu, iters, tasks, |_, requests| {
                let mut stack = stack.clone();
                let uri = uri.clone();
                async move {
                    for _ in 0..requests {
                        assert_eq!(oktower_get(&mut stack, &uri).await, expected);
                    }
                }
            })
        });
    });
    group.finish();
    drop(stack);
    server_rt
        .block_on(server.shutdown())
        .expect("the server ran cleanly");
}

fn h1_64(c: &mut Criterion) {
    scenario(c, "h1_64", HttpVersion::Http1, H1_TASKS);
}

fn h2_256(c: &mut Criterion) {
    scenario(c, "h2_256", HttpVersion::Http2, H2_TASKS);
}

criterion_group!(benches, h1_64, h2_256);
criterion_main!(benches);
