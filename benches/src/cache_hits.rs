//! Scenario S8: cache hits through oktower's default stack (`oktower::Client` with a
//! `CacheLayer`), from a `MemoryStore` and from a `DiskStore`, next to raw hyper's S1 (a
//! sequential keep-alive HTTP/1.1 GET of the 13-byte body from a bare hyper server) in the
//! same run.
//!
//! The clients are built with the Dispatcher limits raised (so they never throttle), the
//! cookie jar off, `Proxy::Direct`. The origin is `oktower-testkit`'s `MockWebServer`,
//! serving `GET /cached` once with `Cache-Control: max-age=3600`; the entry is stored by
//! that first call (a miss), then every measured call must be a fresh hit (checked with
//! `Response::cache_outcome`), read to the end of its body. The URL is given as an
//! `http::Uri` parsed once (as raw hyper's request is built from a prepared target). The disk store is tried twice:
//! as configured by default (small entries read once are kept in memory) and with
//! `memory_cache_size(0)`, so every hit opens and checks the entry's files.
//!
//! Servers run on their own runtime thread. Each case runs one request at a time on a
//! current-thread client runtime on the calling thread, for a fixed time after a warm-up,
//! and reports requests per second (wall), the client's CPU time per request (the calling
//! thread and the runtime's blocking threads, from `/proc/.../schedstat`, see
//! [`ThreadCpu`]) and latency percentiles.
//!
//! Reproduce: `cargo run -p oktower-benches --release --bin cache_hits` (or `-- --quick`);
//! the criterion version is `cargo bench -p oktower-benches --bench cache`.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Uri;
use oktower::{CacheLayer, CacheOutcome, Client, DiskStore, Dispatcher, MemoryStore, Proxy};
use oktower_testkit::{MockResponse, MockWebServer};
use tokio::runtime::Runtime;

use crate::cpu::ThreadCpu;
use crate::{BareHyperServer, BoxError, Http1Client, HttpVersion, SMALL_BODY};

/// The name of the baseline case.
pub const RAW_HYPER: &str = "raw hyper S1 (keep-alive GET)";

/// Dispatcher limits high enough never to hold a call back.
const UNTHROTTLED: usize = 1 << 20;

/// The store size given to every cache (the entry is 13 bytes plus its head).
const STORE_SIZE: u64 = 1 << 20;

/// How long each case runs, and which cases run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HitsConfig {
    /// Requests before measuring, not counted.
    pub warm_up: Duration,
    /// How long each case is measured.
    pub measure: Duration,
    /// Only the cases whose name contains this (all when `None`); for profiling one case.
    pub only: Option<String>,
}

impl HitsConfig {
    /// 1 s of warm-up and 3 s of measurement per case.
    pub fn standard() -> Self {
        HitsConfig {
            warm_up: Duration::from_secs(1),
            measure: Duration::from_secs(3),
            only: None,
        }
    }

    /// A few milliseconds per case: for CI.
    pub fn quick() -> Self {
        HitsConfig {
            warm_up: Duration::from_millis(20),
            measure: Duration::from_millis(100),
            only: None,
        }
    }
}

/// The figures of one case.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseReport {
    /// What was measured.
    pub name: &'static str,
    /// Requests measured.
    pub requests: u64,
    /// Wall time of the measured requests.
    pub wall: Duration,
    /// The client's CPU time over the measured requests.
    pub cpu: Duration,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
}

impl CaseReport {
    /// Requests per second (wall).
    pub fn requests_per_second(&self) -> f64 {
        self.requests as f64 / self.wall.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// The client's CPU time per request, in nanoseconds.
    pub fn cpu_ns_per_request(&self) -> f64 {
        self.cpu.as_nanos() as f64 / self.requests.max(1) as f64
    }
}

/// The figures of a run: raw hyper first, then the hits.
#[derive(Clone, Debug, PartialEq)]
pub struct HitsReport {
    /// One report per case, raw hyper S1 first.
    pub cases: Vec<CaseReport>,
}

impl HitsReport {
    /// A Markdown table: requests/s, CPU per request, p50, p99, and the ratio of requests/s
    /// to raw hyper's.
    pub fn table(&self) -> String {
        let baseline = self
            .cases
            .iter()
            .find(|case| case.name == RAW_HYPER)
            .map_or(f64::NAN, CaseReport::requests_per_second);
        let mut table = String::from(
            "| case | requests/s | client CPU/request | p50 | p99 | requests/s ÷ raw hyper S1 |\n\
             |---|---:|---:|---:|---:|---:|\n",
        );
        for case in &self.cases {
            let _ = writeln!(
                table,
                "| {} | {:.0} | {:.2} µs | {:.2} µs | {:.2} µs | {:.1}× |",
                case.name,
                case.requests_per_second(),
                case.cpu_ns_per_request() / 1000.0,
                case.p50.as_nanos() as f64 / 1000.0,
                case.p99.as_nanos() as f64 / 1000.0,
                case.requests_per_second() / baseline,
            );
        }
        table
    }
}

/// A client whose cache holds a fresh entry for its URL: every [`get`](Self::get) is a hit.
#[derive(Debug)]
pub struct HitClient {
    client: Client,
    /// Parsed once, as raw hyper's request target is: `&str` URLs are parsed on each call
    /// (by the `url` crate, then again as an `http::Uri`).
    uri: Uri,
}

impl HitClient {
    /// A client (oktower's default stack, dispatcher unthrottled, cache over `cache`) whose
    /// entry for `origin`'s `/cached` is stored by a first call; the origin must answer that
    /// call with a cacheable response (see [`enqueue_cacheable`]).
    pub async fn filled(cache: CacheLayer, origin: &MockWebServer) -> Result<HitClient, BoxError> {
        let client = Client::builder()
            .dispatcher(Dispatcher::with_limits(UNTHROTTLED, UNTHROTTLED))
            .proxy(Proxy::Direct)
            .cache(cache)
            .build()?;
        let hit_client = HitClient {
            client,
            uri: origin.url("/cached").parse()?,
        };
        let first = hit_client.fetch().await?;
        if first != Some(CacheOutcome::Miss) {
            return Err(format!("the first call was {first:?}, not a miss").into());
        }
        hit_client.get().await?;
        Ok(hit_client)
    }

    /// Makes the call and reads its body; fails unless it was a fresh hit of the 13 bytes.
    pub async fn get(&self) -> Result<(), BoxError> {
        match self.fetch().await? {
            Some(CacheOutcome::Hit) => Ok(()),
            other => Err(format!("expected a cache hit, got {other:?}").into()),
        }
    }

    async fn fetch(&self) -> Result<Option<CacheOutcome>, BoxError> {
        let response = self.client.get(self.uri.clone()).send().await?;
        let outcome = response.cache_outcome();
        let body = response.bytes().await?;
        if body.as_ref() != SMALL_BODY {
            return Err(format!("unexpected body of {} bytes", body.len()).into());
        }
        Ok(outcome)
    }
}

/// Makes `origin` answer its next request with the 13-byte body, fresh for an hour.
pub fn enqueue_cacheable(origin: &MockWebServer) {
    origin.enqueue(
        MockResponse::new()
            .header("Cache-Control", "max-age=3600")
            .body(Bytes::from_static(SMALL_BODY)),
    );
}

/// A `DiskStore` in `directory`; `files_only` turns its memory copy of small entries off.
pub async fn disk_store(directory: &Path, files_only: bool) -> Result<DiskStore, BoxError> {
    let mut builder = DiskStore::builder(directory, STORE_SIZE);
    if files_only {
        builder = builder.memory_cache_size(0);
    }
    Ok(builder.open().await?)
}

/// Runs raw hyper S1 and the three hit cases, each for `config`'s time.
pub fn run(config: &HitsConfig) -> Result<HitsReport, BoxError> {
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("server")
        .enable_all()
        .build()?;
    let cpu = ThreadCpu::default();
    cpu.register_current();
    let blocking_threads = cpu.clone();
    let client_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .on_thread_start(move || blocking_threads.register_current())
        .build()?;

    let bare = server_runtime.block_on(BareHyperServer::start(
        HttpVersion::Http1,
        Bytes::from_static(SMALL_BODY),
    ))?;
    let origin = server_runtime.block_on(MockWebServer::start())?;
    let disk_dir = tempfile::tempdir()?;
    let files_dir = tempfile::tempdir()?;

    let wanted = |name: &str| {
        config
            .only
            .as_deref()
            .is_none_or(|only| name.contains(only))
    };
    let mut cases = Vec::new();
    let mut hyper = client_runtime.block_on(Http1Client::connect(bare.socket_addr()))?;
    let raw_hyper = async || {
        let read = hyper.get().await?;
        if read != SMALL_BODY.len() as u64 {
            return Err(format!("read {read} bytes").into());
        }
        Ok(())
    };
    cases.push(measure(
        &client_runtime,
        &cpu,
        config,
        "raw hyper S1 (keep-alive GET)",
        raw_hyper,
    )?);

    let stores: [(&'static str, Option<(&Path, bool)>); 3] = [
        ("Client memory-store hit", None),
        ("Client disk-store hit", Some((disk_dir.path(), false))),
        (
            "Client disk-store hit from the files",
            Some((files_dir.path(), true)),
        ),
    ];
    for (name, disk) in stores {
        if !wanted(name) {
            continue;
        }
        let client = client_runtime.block_on(async {
            let cache = match disk {
                None => CacheLayer::new(MemoryStore::new(STORE_SIZE)),
                Some((directory, files_only)) => {
                    CacheLayer::new(disk_store(directory, files_only).await?)
                }
            };
            enqueue_cacheable(&origin);
            HitClient::filled(cache, &origin).await
        })?;
        cases.push(measure(&client_runtime, &cpu, config, name, async || {
            client.get().await
        })?);
    }
    drop(server_runtime);
    Ok(HitsReport { cases })
}

/// Runs `request` one at a time: `config.warm_up` unmeasured, then `config.measure`.
fn measure(
    runtime: &Runtime,
    cpu: &ThreadCpu,
    config: &HitsConfig,
    name: &'static str,
    mut request: impl AsyncFnMut() -> Result<(), BoxError>,
) -> Result<CaseReport, BoxError> {
    runtime.block_on(async {
        let warm_up = Instant::now();
        while warm_up.elapsed() < config.warm_up {
            request().await?;
        }
        let mut latencies = Vec::with_capacity(1 << 16);
        let cpu_start = cpu.total();
        let start = Instant::now();
        let mut last = start;
        while last - start < config.measure {
            request().await?;
            let now = Instant::now();
            latencies.push(now - last);
            last = now;
        }
        let cpu = cpu.total().saturating_sub(cpu_start);
        latencies.sort_unstable();
        let percentile = |p: usize| latencies[(latencies.len() - 1) * p / 100];
        Ok(CaseReport {
            name,
            requests: latencies.len() as u64,
            wall: last - start,
            cpu,
            p50: percentile(50),
            p99: percentile(99),
        })
    })
}
