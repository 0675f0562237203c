//! The cache layer's answer to one call, OkHttp's `CacheInterceptor.intercept` (reference
//! §2.3): look up, decide, then serve, validate or go to the network.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri, request};
use http_body::Body;
use tower_service::Service;

use super::heads::ResponseHead;
use super::layer::CacheShared;
use super::network::{Sent, drain, finish_network, stores_method};
use super::revalidate::{self, Revalidation};
use super::serve::{Candidate, serve, unsatisfiable};
use super::{
    CacheOutcome, CacheStrategy, CacheUrlOverride, CachedResponse, NetworkFailure, ResponseBody,
    StoreKey, cache_uri, stale_if_error,
};
use crate::{CallContext, Error, EventListener, NoEvents};

/// What the strategy decided, owning what it borrowed from the candidate.
enum Decision {
    Unsatisfiable,
    Serve {
        outcome: CacheOutcome,
        /// `stale-while-revalidate`: revalidate in the background, with this condition.
        revalidate: Option<Option<(HeaderName, HeaderValue)>>,
    },
    Conditional((HeaderName, HeaderValue)),
    Network {
        /// The request opted out of the cache, so no stale response stands in for errors.
        bypass: bool,
    },
}

impl Decision {
    fn of(strategy: CacheStrategy<'_>) -> Decision {
        let owned = |condition: super::Condition<'_>| (condition.name(), condition.value().clone());
        match strategy {
            CacheStrategy::Hit { .. } => Decision::Serve {
                outcome: CacheOutcome::Hit,
                revalidate: None,
            },
            CacheStrategy::StaleHit { .. } => Decision::Serve {
                outcome: CacheOutcome::StaleHit,
                revalidate: None,
            },
            CacheStrategy::StaleWhileRevalidate { condition, .. } => Decision::Serve {
                outcome: CacheOutcome::StaleHit,
                revalidate: Some(condition.map(owned)),
            },
            CacheStrategy::Conditional { condition, .. } => Decision::Conditional(owned(condition)),
            CacheStrategy::Network(reason) => Decision::Network {
                bypass: reason.is_bypass(),
            },
            CacheStrategy::Unsatisfiable => Decision::Unsatisfiable,
        }
    }
}

/// Answers `request`, with `inner` (ready to be called) for the network.
pub(super) async fn respond<S, B, RB>(
    shared: Arc<CacheShared>,
    mut inner: S,
    request: Request<B>,
) -> Result<Response<ResponseBody<RB>>, Error>
where
    S: Service<Request<B>, Response = Response<RB>, Error = Error> + Send + 'static,
    S::Future: Send,
    B: Send + 'static,
    RB: Body<Data = Bytes, Error = Error> + Send + 'static,
{
    shared.counters.request();
    let now = shared.now();
    let (parts, body) = request.into_parts();
    let context = CallContext::of(&parts.extensions).cloned();
    let listener: &dyn EventListener = match &context {
        Some(context) => context.listener(),
        None => &NoEvents,
    };
    let is_head = parts.method == Method::HEAD;
    let has_override = parts.extensions.get::<CacheUrlOverride>().is_some();
    let storable_method = stores_method(&parts, has_override);
    let cache_uri = cache_uri(&parts).clone();
    let key = if storable_method || is_head {
        shared.keys.key_of(&cache_uri)
    } else {
        None
    };
    let candidate = match &key {
        Some(key) => lookup(&shared, key, &parts, &cache_uri).await,
        None => None,
    };
    let strategy = CacheStrategy::compute(now, &parts, candidate.as_ref().map(|c| &*c.entry));
    let decision = Decision::of(strategy);

    let (candidate, condition, bypass) = match (decision, candidate) {
        (Decision::Unsatisfiable, _) => return Ok(unsatisfiable(listener)),
        (
            Decision::Serve {
                outcome,
                revalidate,
            },
            Some(candidate),
        ) => {
            shared.counters.hit();
            if let (Some(condition), Some(key)) = (revalidate, key) {
                let revalidation = Revalidation {
                    parts,
                    key,
                    cache_uri,
                    storable_method,
                    entry: Arc::clone(&candidate.entry),
                    version: candidate.version,
                    condition,
                };
                revalidate::spawn(&shared, inner, revalidation, body);
            }
            let head = candidate.head();
            let Candidate { entry, body, .. } = candidate;
            return Ok(serve(&entry, body, is_head, outcome, head, None, listener));
        }
        (Decision::Conditional(condition), Some(candidate)) => {
            listener.cache_conditional_hit(&candidate.entry.to_response().into_parts().0);
            (Some(candidate), Some(condition), false)
        }
        (Decision::Network { bypass }, candidate) => {
            listener.cache_miss();
            (candidate, None, bypass)
        }
        // A strategy that serves or validates always has a candidate.
        (_, None) => {
            listener.cache_miss();
            (None, None, false)
        }
    };

    let mut network_parts = parts.clone();
    if let Some((name, value)) = &condition {
        network_parts.headers.append(name.clone(), value.clone());
    }
    shared.counters.network();
    let sent_at = shared.now();
    let result = inner.call(Request::from_parts(network_parts, body)).await;
    let received_at = shared.now();

    // `stale-if-error`: a stored response may stand in for a failure.
    let failure = match &result {
        Err(_) => Some(NetworkFailure::Error),
        Ok(response) if response.status().is_server_error() => {
            Some(NetworkFailure::Status(response.status()))
        }
        Ok(_) => None,
    };
    let stand_in = failure.is_some_and(|failure| {
        candidate
            .as_ref()
            .is_some_and(|c| !bypass && stale_if_error(received_at, &parts, &c.entry, failure))
    });
    let response = match (result, candidate) {
        (Err(_), Some(candidate)) if stand_in => {
            return Ok(serve_stale(&shared, candidate, is_head, None, listener));
        }
        (Err(error), _) => return Err(error),
        (Ok(response), Some(candidate)) if stand_in => {
            // An error body is not worth reading; its connection may close.
            let (head, _) = response.into_parts();
            let network_head = ResponseHead::new(head.status, head.version, head.headers);
            let stale = serve_stale(&shared, candidate, is_head, Some(network_head), listener);
            return Ok(stale);
        }
        (Ok(response), candidate) => (response, candidate),
    };
    let (response, candidate) = response;
    let status = response.status();

    if let (Some(candidate), Some(key), true) = (
        candidate.filter(|_| condition.is_some()),
        key.as_ref(),
        status == StatusCode::NOT_MODIFIED,
    ) {
        return Ok(not_modified(
            &shared,
            candidate,
            key,
            &parts,
            response,
            is_head,
            sent_at,
            received_at,
            listener,
        )
        .await);
    }

    let outcome = if condition.is_some() {
        listener.cache_miss();
        CacheOutcome::ConditionalMiss
    } else {
        if bypass {
            CacheOutcome::Bypass
        } else {
            CacheOutcome::Miss
        }
    };
    let sent = Sent {
        parts: &parts,
        headers: &parts.headers,
        cache_uri: &cache_uri,
        key: key.as_ref(),
        sent_at,
        received_at,
    };
    Ok(finish_network(&shared, sent, storable_method, response, outcome).await)
}

/// Reads the entry stored under `key` if it answers the request. A store that fails or an
/// entry that does not decode is a miss (the undecodable entry is removed). The metadata is
/// decoded once per version a store keeps in memory (see [`super::DecodedMetadata`]).
async fn lookup(
    shared: &CacheShared,
    key: &StoreKey,
    parts: &request::Parts,
    cache_uri: &Uri,
) -> Option<Candidate> {
    let stored = shared.store.open_read(key).await.ok()??;
    let entry = match stored.decoded.get() {
        Some(entry) => Arc::clone(entry),
        None => {
            let Ok(entry) = CachedResponse::decode(&stored.metadata) else {
                let _ = shared.store.remove(key).await;
                return None;
            };
            let entry = Arc::new(entry);
            stored.decoded.fill(&entry);
            entry
        }
    };
    entry
        .matches(cache_uri, &Method::GET, &parts.headers)
        .then_some(Candidate {
            entry,
            body: stored.body,
            version: stored.version,
        })
}

/// A stored response served in place of a network failure (`stale-if-error`).
fn serve_stale<RB>(
    shared: &CacheShared,
    candidate: Candidate,
    is_head: bool,
    network_head: Option<ResponseHead>,
    listener: &dyn EventListener,
) -> Response<ResponseBody<RB>> {
    shared.counters.hit();
    let head = candidate.head();
    let outcome = CacheOutcome::StaleHit;
    serve(
        &candidate.entry,
        candidate.body,
        is_head,
        outcome,
        head,
        network_head,
        listener,
    )
}

/// A `304` to a conditional request: the stored response with merged headers, whose new
/// metadata replaces the stored one.
#[allow(clippy::too_many_arguments)]
async fn not_modified<RB>(
    shared: &CacheShared,
    candidate: Candidate,
    key: &StoreKey,
    parts: &request::Parts,
    response: Response<RB>,
    is_head: bool,
    sent_at: std::time::SystemTime,
    received_at: std::time::SystemTime,
    listener: &dyn EventListener,
) -> Response<ResponseBody<RB>>
where
    RB: Body<Data = Bytes, Error = Error>,
{
    let (head, network_body) = response.into_parts();
    drain(network_body).await;
    let merged = candidate
        .entry
        .revalidated(&head.headers, &parts.headers, sent_at, received_at);
    let metadata = Bytes::from(merged.encode());
    let _ = shared
        .store
        .update_metadata(key, candidate.version, metadata)
        .await;
    shared.counters.hit();
    let cache_head = candidate.head();
    let network_head = ResponseHead::new(head.status, head.version, head.headers);
    let outcome = CacheOutcome::ConditionalHit;
    serve(
        &merged,
        candidate.body,
        is_head,
        outcome,
        cache_head,
        Some(network_head),
        listener,
    )
}
