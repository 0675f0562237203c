//! How the cache took part in answering a call, in place of OkHttp's `Warning` headers and
//! its `cacheResponse` / `networkResponse` pair.

use http::StatusCode;

/// How the cache took part in a response. The cache layer puts it in the response's
/// extensions; [`CacheStrategy::outcome`](crate::CacheStrategy::outcome) settles it for every
/// strategy but a conditional request, which [`after_validation`](Self::after_validation)
/// settles.
///
/// ```
/// use http::StatusCode;
/// use oktower::CacheOutcome;
///
/// let outcome = CacheOutcome::after_validation(StatusCode::NOT_MODIFIED);
/// assert_eq!(outcome, CacheOutcome::ConditionalHit);
/// assert!(outcome.served_from_cache());
/// assert!(!CacheOutcome::Miss.served_from_cache());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CacheOutcome {
    /// Served from the cache, fresh, without the network.
    Hit,
    /// Served from the cache although stale (the request's `max-stale`,
    /// `stale-while-revalidate`, or `stale-if-error` after a failure), without waiting for
    /// the network. OkHttp marks this with `Warning: 110`.
    StaleHit,
    /// A conditional request got `304 Not Modified`: the stored body, with updated headers.
    ConditionalHit,
    /// A conditional request got a new response, which replaced the stored one.
    ConditionalMiss,
    /// Nothing usable was stored; the response came from the network.
    Miss,
    /// The request opted out of the cache (`no-cache`, `no-store`, its own conditions); the
    /// response came from the network.
    Bypass,
    /// `only-if-cached` and nothing usable was stored: a synthetic `504`.
    Unsatisfiable,
}

impl CacheOutcome {
    /// The outcome of a conditional request answered with `status`.
    pub fn after_validation(status: StatusCode) -> CacheOutcome {
        if status == StatusCode::NOT_MODIFIED {
            CacheOutcome::ConditionalHit
        } else {
            CacheOutcome::ConditionalMiss
        }
    }

    /// Whether the body served is the stored one.
    pub fn served_from_cache(self) -> bool {
        matches!(
            self,
            CacheOutcome::Hit | CacheOutcome::StaleHit | CacheOutcome::ConditionalHit
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_outcome_depends_on_304_only() {
        assert_eq!(
            CacheOutcome::after_validation(StatusCode::NOT_MODIFIED),
            CacheOutcome::ConditionalHit
        );
        for status in [
            StatusCode::OK,
            StatusCode::NOT_FOUND,
            StatusCode::BAD_GATEWAY,
        ] {
            assert_eq!(
                CacheOutcome::after_validation(status),
                CacheOutcome::ConditionalMiss
            );
        }
    }

    #[test]
    fn only_hits_serve_the_stored_body() {
        let served = [
            CacheOutcome::Hit,
            CacheOutcome::StaleHit,
            CacheOutcome::ConditionalHit,
        ];
        let not_served = [
            CacheOutcome::ConditionalMiss,
            CacheOutcome::Miss,
            CacheOutcome::Bypass,
            CacheOutcome::Unsatisfiable,
        ];
        assert!(served.iter().all(|outcome| outcome.served_from_cache()));
        assert!(!not_served.iter().any(|outcome| outcome.served_from_cache()));
    }
}
