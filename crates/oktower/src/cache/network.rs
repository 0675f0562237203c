//! What the cache layer does with a response from the network: store it while it is read,
//! or invalidate what an unsafe request changed.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::uri::Scheme;
use http::{HeaderMap, Method, Response, Uri, request};
use http_body::Body;
use http_body_util::BodyExt;

use super::heads::{NetworkResponseHead, ResponseHead};
use super::key::honours_override;
use super::layer::CacheShared;
use super::tee_body::Tee;
use super::{
    CacheKey, CacheOutcome, CacheStore, CacheStrategy, CachedResponse, ResponseBody, StoreKey,
    has_vary_all, invalidated_uris,
};
use crate::{ConnectionInfo, Error, Handshake};

/// The store key of a URL: its [`CacheKey`]'s hex digits, always a valid [`StoreKey`].
pub(super) fn store_key(uri: &Uri) -> Option<StoreKey> {
    StoreKey::new(CacheKey::for_uri(uri).as_str()).ok()
}

/// What the network half needs to know about the request, beyond the response.
pub(super) struct Sent<'a> {
    /// The request as the cache layer got it.
    pub(super) parts: &'a request::Parts,
    /// The headers sent on the network (with a condition added, if any).
    pub(super) headers: &'a HeaderMap,
    /// The URL the response is cached under, and its key.
    pub(super) cache_uri: &'a Uri,
    pub(super) key: Option<&'a StoreKey>,
    pub(super) sent_at: SystemTime,
    pub(super) received_at: SystemTime,
}

/// Whether a response to `parts` may be stored at all, whatever the response: a `GET`, or a
/// `POST` / `QUERY` cached under a [`CacheUrlOverride`](super::CacheUrlOverride).
pub(super) fn stores_method(parts: &request::Parts, has_override: bool) -> bool {
    parts.method == Method::GET || (has_override && honours_override(&parts.method))
}

/// Stores a cacheable `response` while it is read, or invalidates what an unsafe request
/// changed; marks the response with `outcome` and its network head.
pub(super) async fn finish_network<RB>(
    shared: &Arc<CacheShared>,
    sent: Sent<'_>,
    storable_method: bool,
    response: Response<RB>,
    outcome: CacheOutcome,
) -> Response<ResponseBody<RB>>
where
    RB: Body<Data = Bytes, Error = Error>,
{
    let (mut head, body) = response.into_parts();
    let network_head = ResponseHead::new(head.status, head.version, head.headers.clone());
    head.extensions.insert(outcome);
    head.extensions.insert(NetworkResponseHead(network_head));

    let handshake = handshake_of(&head.extensions);
    let key = sent.key.filter(|_| {
        storable_method
            && CacheStrategy::is_cacheable(head.status, &head.headers, &sent.parts.headers)
            && !has_vary_all(&head.headers)
            && (sent.cache_uri.scheme() != Some(&Scheme::HTTPS) || handshake.is_some())
    });
    let Some(key) = key else {
        invalidate(&*shared.store, sent.parts, &head.headers).await;
        return Response::from_parts(head, ResponseBody::network(body));
    };

    let entry = CachedResponse::new(sent.cache_uri.clone(), Method::GET, &head)
        .with_vary_headers_from(sent.headers)
        .with_times(sent.sent_at, sent.received_at)
        .with_handshake(handshake);
    let metadata = Bytes::from(entry.encode());
    let body = match shared.store.begin_write(key, metadata).await {
        Ok(Some(writer)) => {
            ResponseBody::teeing(body, Tee::new(writer, Arc::clone(&shared.counters)))
        }
        // Another writer has the entry, or the store fails: the call goes on without it.
        Ok(None) | Err(_) => ResponseBody::network(body),
    };
    Response::from_parts(head, body)
}

/// Removes what an unsafe request changed: its own URL and same-origin `Location` /
/// `Content-Location` targets (RFC 9111 §4.4). Store errors are ignored.
pub(super) async fn invalidate(
    store: &dyn CacheStore,
    parts: &request::Parts,
    response_headers: &HeaderMap,
) {
    for uri in invalidated_uris(parts, response_headers) {
        if let Some(key) = store_key(&uri) {
            let _ = store.remove(&key).await;
        }
    }
}

/// The TLS handshake a response came with: from its [`ConnectionInfo`], or a [`Handshake`]
/// an inner service put there itself.
fn handshake_of(extensions: &http::Extensions) -> Option<Handshake> {
    extensions
        .get::<ConnectionInfo>()
        .and_then(|info| info.handshake().cloned())
        .or_else(|| extensions.get::<Handshake>().cloned())
}

/// Reads `body` to its end, so the connection under it is released; errors end it early.
pub(super) async fn drain<RB>(body: RB)
where
    RB: Body<Data = Bytes, Error = Error>,
{
    let mut body = std::pin::pin!(body);
    while !body.is_end_stream() {
        match body.frame().await {
            Some(Ok(_)) => {}
            Some(Err(_)) | None => break,
        }
    }
}
