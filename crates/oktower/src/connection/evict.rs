//! The pool's eviction decision: a pure function of the connections' idle times and now.

use std::time::{Duration, Instant};

/// What the pool knows of one connection when deciding evictions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PooledFacts<Id> {
    /// The connection.
    pub(crate) id: Id,
    /// `None` while exchanges use the connection; otherwise since when it has been idle.
    pub(crate) idle_since: Option<Instant>,
}

/// The pool's limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EvictionPolicy {
    /// How many idle connections to keep at most.
    pub(crate) max_idle: usize,
    /// How long an idle connection is kept.
    pub(crate) keep_alive: Duration,
}

/// What to do now, and when to look again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Eviction<Id> {
    /// Close this connection, then decide again at once.
    Evict(Id),
    /// Nothing to close before this much time has passed.
    WaitFor(Duration),
    /// The pool is empty: the cleanup task can end.
    Empty,
}

/// OkHttp's `RealConnectionPool.closeConnections(now)`: evicts the longest-idle connection if
/// it has been idle for the keep-alive duration or if there are more idle connections than
/// allowed; otherwise says how long until the next connection could expire (the keep-alive
/// itself when every connection is in use).
pub(crate) fn evict<Id: Copy>(
    now: Instant,
    connections: impl IntoIterator<Item = PooledFacts<Id>>,
    policy: EvictionPolicy,
) -> Eviction<Id> {
    let mut any = false;
    let mut idle_count = 0usize;
    let mut oldest_idle: Option<(Id, Instant)> = None;
    for facts in connections {
        any = true;
        let Some(idle_since) = facts.idle_since else {
            continue;
        };
        idle_count += 1;
        if oldest_idle.is_none_or(|(_, oldest)| idle_since < oldest) {
            oldest_idle = Some((facts.id, idle_since));
        }
    }
    match oldest_idle {
        Some((id, idle_since)) => {
            let idle_for = now.saturating_duration_since(idle_since);
            if idle_for >= policy.keep_alive || idle_count > policy.max_idle {
                Eviction::Evict(id)
            } else {
                Eviction::WaitFor(policy.keep_alive - idle_for)
            }
        }
        None if any => Eviction::WaitFor(policy.keep_alive),
        None => Eviction::Empty,
    }
}

#[cfg(test)]
mod tests {
    //! OkHttp's `ConnectionPoolTest` cases, with a keep-alive of 100 ns.
    use super::*;

    const POLICY: EvictionPolicy = EvictionPolicy {
        max_idle: 5,
        keep_alive: Duration::from_nanos(100),
    };

    fn at(base: Instant, nanos: u64) -> Instant {
        base + Duration::from_nanos(nanos)
    }

    fn idle(id: u32, since: Instant) -> PooledFacts<u32> {
        PooledFacts {
            id,
            idle_since: Some(since),
        }
    }

    #[test]
    fn connection_is_evicted_after_keep_alive() {
        let t0 = Instant::now();
        let pool = [idle(1, at(t0, 50))];
        assert_eq!(
            evict(at(t0, 50), pool, POLICY),
            Eviction::WaitFor(Duration::from_nanos(100))
        );
        assert_eq!(
            evict(at(t0, 60), pool, POLICY),
            Eviction::WaitFor(Duration::from_nanos(90))
        );
        assert_eq!(
            evict(at(t0, 149), pool, POLICY),
            Eviction::WaitFor(Duration::from_nanos(1))
        );
        assert_eq!(evict(at(t0, 150), pool, POLICY), Eviction::Evict(1));
        assert_eq!(evict(at(t0, 150), [], POLICY), Eviction::<u32>::Empty);
    }

    #[test]
    fn in_use_connections_are_never_evicted() {
        let t0 = Instant::now();
        let pool = [PooledFacts {
            id: 1,
            idle_since: None,
        }];
        assert_eq!(
            evict(at(t0, 1_000_000), pool, POLICY),
            Eviction::WaitFor(POLICY.keep_alive)
        );
    }

    #[test]
    fn the_oldest_idle_connection_goes_first() {
        let t0 = Instant::now();
        let pool = [idle(1, at(t0, 75)), idle(2, at(t0, 25))];
        assert_eq!(evict(at(t0, 125), pool, POLICY), Eviction::Evict(2));
        assert_eq!(
            evict(at(t0, 125), [idle(1, at(t0, 75))], POLICY),
            Eviction::WaitFor(Duration::from_nanos(50))
        );
        assert_eq!(
            evict(at(t0, 175), [idle(1, at(t0, 75))], POLICY),
            Eviction::Evict(1)
        );
    }

    #[test]
    fn idle_connections_over_the_limit_are_evicted_oldest_first() {
        let t0 = Instant::now();
        let policy = EvictionPolicy {
            max_idle: 2,
            ..POLICY
        };
        let pool = [
            idle(1, at(t0, 100)),
            idle(2, at(t0, 75)),
            idle(3, at(t0, 50)),
        ];
        assert_eq!(evict(at(t0, 100), pool, policy), Eviction::Evict(3));
        let remaining = [idle(1, at(t0, 100)), idle(2, at(t0, 75))];
        assert_eq!(
            evict(at(t0, 100), remaining, policy),
            Eviction::WaitFor(Duration::from_nanos(75))
        );
    }

    #[test]
    fn max_idle_zero_evicts_every_idle_connection_at_once() {
        let t0 = Instant::now();
        let policy = EvictionPolicy {
            max_idle: 0,
            ..POLICY
        };
        assert_eq!(
            evict(at(t0, 10), [idle(9, at(t0, 10))], policy),
            Eviction::Evict(9)
        );
    }

    #[test]
    fn in_use_connections_do_not_count_towards_max_idle() {
        let t0 = Instant::now();
        let policy = EvictionPolicy {
            max_idle: 1,
            ..POLICY
        };
        let pool = [
            PooledFacts {
                id: 1,
                idle_since: None,
            },
            idle(2, at(t0, 40)),
        ];
        assert_eq!(
            evict(at(t0, 50), pool, policy),
            Eviction::WaitFor(Duration::from_nanos(90))
        );
    }
}
