//! `stale-while-revalidate`: the stale response is served at once and revalidated in the
//! background, one revalidation per entry at a time (RFC 5861 §3, beyond OkHttp).

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode, Uri, request};
use http_body::Body;
use tower_service::Service;

use super::guard::lock;
use super::layer::CacheShared;
use super::network::{Sent, drain, finish_network};
use super::{CacheOutcome, CachedResponse, EntryVersion, StoreKey};
use crate::{CallContext, Error};

/// What a background revalidation sends and what it validates.
pub(super) struct Revalidation {
    pub(super) parts: request::Parts,
    pub(super) key: StoreKey,
    pub(super) cache_uri: Uri,
    pub(super) storable_method: bool,
    pub(super) entry: Arc<CachedResponse>,
    pub(super) version: EntryVersion,
    pub(super) condition: Option<(HeaderName, HeaderValue)>,
}

/// Starts revalidating in the background with `inner` (ready to be called) and the caller's
/// request body, unless the entry is already being revalidated or there is no runtime to run
/// on (the stale response is served either way).
pub(super) fn spawn<S, B, RB>(
    shared: &Arc<CacheShared>,
    inner: S,
    mut revalidation: Revalidation,
    body: B,
) where
    S: Service<Request<B>, Response = Response<RB>, Error = Error> + Send + 'static,
    S::Future: Send,
    B: Send + 'static,
    RB: Body<Data = Bytes, Error = Error> + Send + 'static,
{
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let Some(claim) = InFlight::claim(shared, &revalidation.key) else {
        return;
    };
    // The call that served the stale response is over: its events and cancellation are not
    // this request's.
    revalidation.parts.extensions.remove::<CallContext>();
    let shared = Arc::clone(shared);
    runtime.spawn(async move {
        revalidate(&shared, inner, revalidation, body).await;
        drop(claim);
    });
}

async fn revalidate<S, B, RB>(
    shared: &Arc<CacheShared>,
    mut inner: S,
    revalidation: Revalidation,
    body: B,
) where
    S: Service<Request<B>, Response = Response<RB>, Error = Error>,
    RB: Body<Data = Bytes, Error = Error>,
{
    let Revalidation {
        parts,
        key,
        cache_uri,
        storable_method,
        entry,
        version,
        condition,
    } = revalidation;
    let mut network_parts = parts.clone();
    if let Some((name, value)) = &condition {
        network_parts.headers.append(name.clone(), value.clone());
    }
    shared.counters.network();
    let sent_at = shared.now();
    let Ok(response) = inner.call(Request::from_parts(network_parts, body)).await else {
        return; // the stale entry stays; the next request tries again
    };
    let received_at = shared.now();
    if condition.is_some() && response.status() == StatusCode::NOT_MODIFIED {
        let (head, body) = response.into_parts();
        drain(body).await;
        let merged = entry.revalidated(&head.headers, &parts.headers, sent_at, received_at);
        let metadata = Bytes::from(merged.encode());
        let _ = shared.store.update_metadata(&key, version, metadata).await;
        return;
    }
    let sent = Sent {
        parts: &parts,
        headers: &parts.headers,
        cache_uri: &cache_uri,
        key: Some(&key),
        sent_at,
        received_at,
    };
    let outcome = CacheOutcome::ConditionalMiss;
    let response = finish_network(shared, sent, storable_method, response, outcome).await;
    drain(response.into_body()).await;
}

/// An entry's place in the set of revalidations in flight, given back on drop.
struct InFlight {
    shared: Arc<CacheShared>,
    key: StoreKey,
}

impl InFlight {
    fn claim(shared: &Arc<CacheShared>, key: &StoreKey) -> Option<InFlight> {
        lock(&shared.revalidating)
            .insert(key.clone())
            .then(|| InFlight {
                shared: Arc::clone(shared),
                key: key.clone(),
            })
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        lock(&self.shared.revalidating).remove(&self.key);
    }
}
