//! Responses the cache layer makes itself: a stored response served, and the `504` for an
//! `only-if-cached` request it cannot satisfy.

use std::sync::Arc;

use http::{Response, StatusCode, Version, response};

use super::heads::{CacheResponseHead, NetworkResponseHead, ResponseHead};
use super::{CacheOutcome, CachedResponse, ResponseBody, StoredBody};
use crate::EventListener;

/// A stored entry as read for one request: its decoded head (shared with the store's
/// in-memory copy, if it keeps one), its body and its version.
pub(super) struct Candidate {
    pub(super) entry: Arc<CachedResponse>,
    pub(super) body: StoredBody,
    pub(super) version: super::EntryVersion,
}

impl Candidate {
    /// The stored head, for the `cacheResponse` marker.
    pub(super) fn head(&self) -> ResponseHead {
        ResponseHead::new(
            self.entry.status,
            self.entry.version,
            self.entry.headers.clone(),
        )
    }
}

/// `entry` served with `body` (none for `HEAD`), marked with `outcome`, the stored head and,
/// after a `304`, the network head; `cache_hit` is reported.
pub(super) fn serve<RB>(
    entry: &CachedResponse,
    body: StoredBody,
    is_head: bool,
    outcome: CacheOutcome,
    cache_head: ResponseHead,
    network_head: Option<ResponseHead>,
    listener: &dyn EventListener,
) -> Response<ResponseBody<RB>> {
    let mut head = Response::new(()).into_parts().0;
    head.status = entry.status;
    head.version = entry.version;
    head.headers = entry.headers.clone();
    if let Some(handshake) = &entry.handshake {
        head.extensions.insert(handshake.clone());
    }
    head.extensions.insert(outcome);
    head.extensions.insert(CacheResponseHead(cache_head));
    if let Some(network_head) = network_head {
        head.extensions.insert(NetworkResponseHead(network_head));
    }
    listener.cache_hit(&head);
    let body = if is_head {
        ResponseBody::empty()
    } else {
        ResponseBody::stored(body)
    };
    Response::from_parts(head, body)
}

/// The reason phrase of the `504` for an unsatisfiable `only-if-cached` request.
pub(super) const UNSATISFIABLE_REASON: &str = "Unsatisfiable Request (only-if-cached)";

/// OkHttp's synthetic `504 Unsatisfiable Request (only-if-cached)`, empty, with
/// `satisfaction_failure` reported.
pub(super) fn unsatisfiable<RB>(listener: &dyn EventListener) -> Response<ResponseBody<RB>> {
    let mut head: response::Parts = Response::new(()).into_parts().0;
    head.status = StatusCode::GATEWAY_TIMEOUT;
    head.version = Version::HTTP_11;
    head.extensions
        .insert(hyper::ext::ReasonPhrase::from_static(
            UNSATISFIABLE_REASON.as_bytes(),
        ));
    head.extensions.insert(CacheOutcome::Unsatisfiable);
    listener.satisfaction_failure(&head);
    Response::from_parts(head, ResponseBody::empty())
}
