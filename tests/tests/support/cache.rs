//! What the end-to-end tests of the cache layer share: a clock the test moves, and a cache
//! stack over the testkit server.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use http::Request;
use http_body_util::BodyExt;
use oktower::cache::{Cache, CacheLayer};
use oktower::{CacheOutcome, CacheStore, Error, RequestBody};
use oktower_testkit::MockWebServer;
use tower_layer::Layer;
use tower_service::Service;

use super::{Stack, builder, stack};

/// A wall clock that moves only when the test says so.
#[derive(Clone)]
pub struct TestClock(Arc<AtomicU64>);

impl TestClock {
    pub fn new() -> Self {
        TestClock(Arc::new(AtomicU64::new(1_700_000_000)))
    }

    pub fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }

    pub fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(self.0.load(Ordering::SeqCst))
    }
}

/// The cache over ConnectLayer + CallServer.
pub type CacheStack = Cache<Stack>;

/// A cache layer over `store` reading `clock`, and its stack to `a.test` on loopback.
pub fn cache_stack(store: impl CacheStore, clock: &TestClock) -> (CacheLayer, CacheStack) {
    let clock = clock.clone();
    let layer = CacheLayer::new(store).clock(move || clock.now());
    let connect = builder(&[("a.test", IpAddr::V4(Ipv4Addr::LOCALHOST))])
        .build()
        .expect("connect layer");
    let cache = layer.layer(stack(&connect));
    (layer, cache)
}

/// The URL of `path` on `server`, as `a.test`.
pub fn url(server: &MockWebServer, path: &str) -> String {
    server.url_with_host("http", "a.test", path)
}

/// What a test reads of a cached call.
#[derive(Debug, PartialEq, Eq)]
pub struct Fetched {
    pub outcome: CacheOutcome,
    pub status: u16,
    pub body: String,
}

/// Sends `request` through the cache and reads the whole body.
pub async fn fetch(
    cache: &mut CacheStack,
    request: Request<RequestBody>,
) -> Result<Fetched, Error> {
    std::future::poll_fn(|cx| Service::<Request<RequestBody>>::poll_ready(cache, cx)).await?;
    let response = cache.call(request).await?;
    let outcome = *response
        .extensions()
        .get::<CacheOutcome>()
        .expect("every response says how the cache took part");
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok(Fetched {
        outcome,
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// `outcome`, `status` and `body` as a [`Fetched`].
pub fn fetched(outcome: CacheOutcome, status: u16, body: &str) -> Fetched {
    Fetched {
        outcome,
        status,
        body: body.to_owned(),
    }
}
