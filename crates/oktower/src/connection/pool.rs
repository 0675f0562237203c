//! The connection pool, OkHttp's `RealConnectionPool`: HTTP/1 connections lent to one exchange
//! at a time, HTTP/2 connections shared up to the server's `MAX_CONCURRENT_STREAMS`, idle
//! connections evicted by a background task that exists only while the pool holds connections
//! (from the first time one becomes idle until the pool is empty).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use rustls_pki_types::UnixTime;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use super::eligible::{ConnectionFacts, is_eligible};
use super::evict::{Eviction, EvictionPolicy, PooledFacts, evict};
use super::http_conn::{Handshaken, RealConnection};
use super::lease::{H1Parts, Lease, LeasedSender};
use crate::address::AddressMap;
use crate::{Address, Error, ErrorKind, Route, Scheme, TlsConfig};

/// Keeps open HTTP connections for reuse. Cheap to clone; clones share the connections, so
/// one pool can serve several clients.
///
/// HTTP/1 connections carry one exchange at a time; HTTP/2 connections carry as many as the
/// server's `SETTINGS_MAX_CONCURRENT_STREAMS` allows, and are shared between hosts when HTTP/2
/// coalescing permits. Idle connections are closed after the keep-alive duration (5 minutes
/// by default), and beyond the maximum idle count (5 by default), oldest first, by one
/// background task that runs only while the pool holds connections (from the first time one
/// becomes idle until the pool is empty again).
///
/// ```
/// use std::time::Duration;
/// use oktower::ConnectionPool;
///
/// let pool = ConnectionPool::builder()
///     .max_idle_connections(10)
///     .keep_alive(Duration::from_secs(60))
///     .build();
/// let shared = pool.clone();
/// assert_eq!(shared.connection_count(), 0);
/// assert_eq!(pool.idle_connection_count(), 0);
/// pool.evict_all();
/// ```
#[derive(Clone)]
pub struct ConnectionPool {
    pub(crate) inner: Arc<PoolInner>,
}

/// Builds a [`ConnectionPool`].
#[derive(Clone, Debug)]
pub struct ConnectionPoolBuilder {
    policy: EvictionPolicy,
    max_connections: Option<usize>,
}

pub(crate) struct PoolInner {
    state: Mutex<PoolState>,
    policy: EvictionPolicy,
    max_connections: Option<usize>,
    /// Wakes the cleanup task: a connection became idle, or closed.
    pub(crate) wake_cleanup: Arc<Notify>,
    /// A connection left the pool or became idle (room under the connection cap).
    room: Notify,
}

#[derive(Default)]
struct PoolState {
    by_address: AddressMap<Vec<Entry>>,
    total: usize,
    idle: usize,
    /// Connects counted against the cap while in flight.
    connecting: usize,
    /// Single-flight connects to addresses that may speak HTTP/2.
    in_flight: AddressMap<watch::Receiver<FlightOutcome>>,
    cleanup_running: bool,
}

/// One pooled connection and what the pool tracks of it.
struct Entry {
    connection: Arc<RealConnection>,
    /// Exchanges on it now.
    active: usize,
    /// Since when it has been idle (`None` while in use).
    idle_since: Option<Instant>,
    /// An idle HTTP/1 connection's sender and timer, waiting for the next exchange.
    idle_h1: Option<H1Parts>,
    /// The connection speaks HTTP/2 (kept here so that a lookup passing busy HTTP/1
    /// connections reads only this entry, not each connection).
    multiplexed: bool,
}

/// How a single-flight connect ended, as its waiters see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FlightOutcome {
    /// Still connecting.
    Pending,
    /// It produced an HTTP/1 connection, which the leader keeps: connect on your own.
    Http1,
    /// It produced an HTTP/2 connection now in the pool, or failed: look again.
    Done,
}

/// The leader's side of a single-flight connect: dropping it wakes the waiters.
pub(crate) struct Flight {
    pool: Arc<PoolInner>,
    address: Address,
    sender: watch::Sender<FlightOutcome>,
}

impl Flight {
    /// Tells the waiters how the connect ended.
    pub(crate) fn finish(self, outcome: FlightOutcome) {
        self.sender.send_replace(outcome);
    }
}

impl Drop for Flight {
    fn drop(&mut self) {
        self.pool.lock().in_flight.remove(&self.address);
        if *self.sender.borrow() == FlightOutcome::Pending {
            self.sender.send_replace(FlightOutcome::Done);
        }
    }
}

/// Whether a caller leads a single-flight connect or waits for one.
pub(crate) enum Join {
    Lead(Flight),
    Wait(watch::Receiver<FlightOutcome>),
}

/// A reservation of room under the connection cap, for one connect.
pub(crate) struct Reservation {
    pool: Arc<PoolInner>,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut state = self.pool.lock();
        state.connecting -= 1;
        drop(state);
        self.pool.room.notify_one();
    }
}

impl Default for ConnectionPool {
    fn default() -> Self {
        ConnectionPool::builder().build()
    }
}

impl ConnectionPool {
    /// A pool keeping at most `max_idle_connections` idle connections, each for at most
    /// `keep_alive` (OkHttp's `ConnectionPool(maxIdleConnections, keepAliveDuration)`).
    pub fn new(max_idle_connections: usize, keep_alive: Duration) -> Self {
        ConnectionPool::builder()
            .max_idle_connections(max_idle_connections)
            .keep_alive(keep_alive)
            .build()
    }

    /// Starts a pool with OkHttp's defaults: 5 idle connections, kept 5 minutes, no cap on the
    /// total.
    pub fn builder() -> ConnectionPoolBuilder {
        ConnectionPoolBuilder {
            policy: EvictionPolicy {
                max_idle: 5,
                keep_alive: Duration::from_secs(5 * 60),
            },
            max_connections: None,
        }
    }

    /// How many connections the pool holds, in use or idle.
    pub fn connection_count(&self) -> usize {
        self.inner.lock().total
    }

    /// How many of them are idle.
    pub fn idle_connection_count(&self) -> usize {
        self.inner.lock().idle
    }

    /// Closes every idle connection now, and takes them out of service. Connections in use
    /// are left to finish their exchanges.
    pub fn evict_all(&self) {
        let mut evicted = Vec::new();
        {
            let mut state = self.inner.lock();
            let state = &mut *state;
            for entries in state.by_address.values_mut() {
                entries.retain_mut(|entry| {
                    if entry.idle_since.is_none() {
                        return true;
                    }
                    entry.connection.mark_no_new_exchanges();
                    evicted.push(Evicted::take(entry));
                    false
                });
                renumber(entries);
            }
            state.by_address.retain(|_, entries| !entries.is_empty());
            state.total -= evicted.len();
            state.idle -= evicted.len();
        }
        if !evicted.is_empty() {
            self.inner.room.notify_waiters();
        }
        drop(evicted);
    }
}

impl ConnectionPoolBuilder {
    /// How many idle connections to keep (5). With 0 a connection is closed as soon as it is
    /// idle.
    pub fn max_idle_connections(mut self, max: usize) -> Self {
        self.policy.max_idle = max;
        self
    }

    /// How long an idle connection is kept (5 minutes). A zero duration is raised to 1 ns
    /// (OkHttp requires a positive keep-alive).
    pub fn keep_alive(mut self, keep_alive: Duration) -> Self {
        self.policy.keep_alive = keep_alive.max(Duration::from_nanos(1));
        self
    }

    /// A cap on the connections open at once, in use or idle (none by default, as in OkHttp).
    /// At the cap, a new connection first evicts the oldest idle one; when none is idle the
    /// call waits until a connection closes.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = Some(max.max(1));
        self
    }

    /// The pool.
    pub fn build(self) -> ConnectionPool {
        ConnectionPool {
            inner: Arc::new(PoolInner {
                state: Mutex::new(PoolState::default()),
                policy: self.policy,
                max_connections: self.max_connections,
                wake_cleanup: Arc::new(Notify::new()),
                room: Notify::new(),
            }),
        }
    }
}

/// Up to how many addresses the pool may know before `release` drops an emptied list.
const KEPT_EMPTY_LISTS: usize = 8;

/// A connection taken out of the pool, closed when dropped (outside the pool's lock).
struct Evicted {
    _connection: Arc<RealConnection>,
    _sender: Option<H1Parts>,
}

impl Evicted {
    fn take(entry: &mut Entry) -> Evicted {
        Evicted {
            _connection: entry.connection.clone(),
            _sender: entry.idle_h1.take(),
        }
    }
}

/// What a lookup may return.
pub(crate) struct Found {
    pub(crate) lease: Lease,
    pub(crate) coalesced: bool,
}

impl PoolInner {
    fn lock(&self) -> MutexGuard<'_, PoolState> {
        match self.state.lock() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// A pooled connection for `address`: one opened for it, or with `routes` (its resolved
    /// routes) an HTTP/2 connection that may be coalesced. `require_multiplexed` limits the
    /// search to HTTP/2 connections (the lookup after connecting).
    pub(crate) fn acquire(
        self: &Arc<Self>,
        address: &Address,
        routes: Option<&[Route]>,
        tls: &TlsConfig,
        require_multiplexed: bool,
    ) -> Option<Found> {
        let mut state = self.lock();
        let state = &mut *state;
        let addresses = state.by_address.len();
        let pooled = state.by_address.get_mut(address);
        let others = addresses - usize::from(pooled.is_some());
        if let Some(entries) = pooled {
            for entry in entries.iter_mut() {
                if require_multiplexed && !entry.multiplexed {
                    continue;
                }
                if let Some(lease) = take(self, entry, &mut state.idle) {
                    return Some(Found {
                        lease,
                        coalesced: false,
                    });
                }
            }
        }
        let routes = routes?;
        // Coalescing needs a TLS handshake (`is_eligible`, d.), so a cleartext address never
        // coalesces; nor does any address while the pool holds no other.
        if address.scheme() == Scheme::Http || others == 0 {
            return None;
        }
        let now = UnixTime::now();
        for (pooled_address, entries) in state.by_address.iter_mut() {
            if pooled_address == address || !pooled_address.equals_except_host(address) {
                continue;
            }
            for entry in entries.iter_mut() {
                let connection = &entry.connection;
                if !connection.is_multiplexed() || !connection.is_healthy() {
                    continue;
                }
                let described = &connection.described;
                let facts = ConnectionFacts {
                    route: &described.route,
                    protocol: described.protocol,
                    handshake: described.handshake.as_ref(),
                    allocation_limit: connection.allocation_limit(),
                    active_exchanges: entry.active,
                    no_new_exchanges: false,
                    no_coalesced_exchanges: described
                        .no_coalesced_exchanges
                        .load(std::sync::atomic::Ordering::Acquire),
                    custom_verifier: tls.has_custom_verifier(),
                };
                if is_eligible(&facts, address, Some(routes), Some(tls), now)
                    && let Some(lease) = take(self, entry, &mut state.idle)
                {
                    return Some(Found {
                        lease,
                        coalesced: true,
                    });
                }
            }
        }
        None
    }

    /// Puts a new connection in the pool, lent to the caller.
    pub(crate) fn insert(self: &Arc<Self>, handshaken: Handshaken) -> Lease {
        let connection = Arc::new(handshaken.connection);
        let sender = handshaken.sender;
        let mut state = self.lock();
        let entries = state
            .by_address
            .entry(connection.described.route.address().clone())
            .or_default();
        connection
            .pool_position
            .store(entries.len(), Ordering::Relaxed);
        entries.push(Entry {
            multiplexed: connection.is_multiplexed(),
            connection: connection.clone(),
            active: 1,
            idle_since: None,
            idle_h1: None,
        });
        debug_assert_positions(entries);
        state.total += 1;
        // The cleanup task starts when a connection first becomes idle (`release`): a
        // connection in use has nothing to evict, and one used once and closed (a fresh
        // connection per request) needs no task at all.
        drop(state);
        Lease::new(self.clone(), connection, sender)
    }

    /// Joins the single-flight connect to `address`, or starts one.
    pub(crate) fn join(self: &Arc<Self>, address: &Address) -> Join {
        let mut state = self.lock();
        if let Some(receiver) = state.in_flight.get(address) {
            return Join::Wait(receiver.clone());
        }
        let (sender, receiver) = watch::channel(FlightOutcome::Pending);
        state.in_flight.insert(address.clone(), receiver);
        Join::Lead(Flight {
            pool: self.clone(),
            address: address.clone(),
            sender,
        })
    }

    /// Room for one more connection under the cap: evicts the oldest idle connection when at
    /// the cap. When none is idle, waits until a connection closes or becomes idle and returns
    /// `None`: the caller looks in the pool again (the idle connection may be one it can use)
    /// before asking for room again.
    pub(crate) async fn reserve(
        self: &Arc<Self>,
        address: &Address,
    ) -> Result<Option<Reservation>, Error> {
        let Some(max) = self.max_connections else {
            self.lock().connecting += 1;
            return Ok(Some(Reservation { pool: self.clone() }));
        };
        let room = self.room.notified();
        let evicted;
        {
            let mut state = self.lock();
            if state.total + state.connecting < max {
                state.connecting += 1;
                return Ok(Some(Reservation { pool: self.clone() }));
            }
            evicted = evict_oldest_idle(&mut state);
            if evicted.is_some() {
                state.connecting += 1;
            }
        }
        if evicted.is_some() {
            drop(evicted);
            return Ok(Some(Reservation { pool: self.clone() }));
        }
        if max == 0 {
            return Err(
                Error::new(ErrorKind::Connect, "the pool allows no connection")
                    .with_url(address.uri().to_string()),
            );
        }
        room.await;
        Ok(None)
    }

    /// An exchange on `connection` ended. For HTTP/1, `sender` comes back when the connection
    /// may carry another exchange; otherwise the connection is closed.
    pub(crate) fn release(
        self: &Arc<Self>,
        connection: &Arc<RealConnection>,
        sender: Option<H1Parts>,
    ) {
        let address = connection.described.route.address();
        let mut removed = None;
        let mut became_idle = false;
        let mut over_idle_limit = false;
        let mut start_cleanup = false;
        {
            let mut state = self.lock();
            let state = &mut *state;
            let Some(entries) = state.by_address.get_mut(address) else {
                return;
            };
            // The position the pool last wrote for the connection, checked: the search is
            // only a fallback.
            let position_hint = connection.pool_position.load(Ordering::Relaxed);
            let hinted = entries
                .get(position_hint)
                .is_some_and(|entry| Arc::ptr_eq(&entry.connection, connection));
            let found = if hinted {
                Some(position_hint)
            } else {
                entries
                    .iter()
                    .position(|entry| Arc::ptr_eq(&entry.connection, connection))
            };
            let Some(position) = found else {
                return;
            };
            let entry = &mut entries[position];
            entry.active = entry.active.saturating_sub(1);
            let reusable =
                connection.is_healthy() && (connection.is_multiplexed() || sender.is_some());
            if entry.active == 0 {
                if reusable && self.policy.max_idle > 0 {
                    entry.idle_since = Some(Instant::now());
                    entry.idle_h1 = sender;
                    state.idle += 1;
                    became_idle = true;
                    over_idle_limit = state.idle > self.policy.max_idle;
                    start_cleanup = !std::mem::replace(&mut state.cleanup_running, true);
                    // The most recently used connection is found first by the next lookup.
                    entries.swap(position, 0);
                    note_position(entries, 0);
                    note_position(entries, position);
                } else {
                    removed = Some(entries.swap_remove(position));
                    note_position(entries, position);
                }
            }
            debug_assert_positions(entries);
            if removed.is_some() {
                // An address's emptied list stays, for the next connection to it to reuse
                // (a fresh connection per request empties it every time), while the pool
                // knows few addresses; cleanup rounds prune empty lists.
                if entries.is_empty() && state.by_address.len() > KEPT_EMPTY_LISTS {
                    state.by_address.remove(address);
                }
                state.total -= 1;
            }
        }
        if removed.is_some() {
            drop(removed);
            self.room.notify_one();
        }
        if start_cleanup {
            spawn_cleanup(Arc::downgrade(self), self.wake_cleanup.clone());
        }
        if over_idle_limit {
            // Only then is there something to evict before the cleanup task's next deadline
            // (a connection idle from now expires after every connection already idle).
            self.wake_cleanup.notify_one();
        }
        if became_idle && self.max_connections.is_some() {
            // Calls waiting for room under the cap may use this connection, or evict it.
            self.room.notify_waiters();
        }
    }

    /// One round of cleanup at `now`: closes what [`evict`] says, prunes closed connections,
    /// and returns how long to wait before the next round (`None`: the pool is empty and the
    /// task ends).
    fn cleanup(&self, now: Instant) -> Option<Duration> {
        let mut closed = Vec::new();
        let outcome = loop {
            let mut state = self.lock();
            let state = &mut *state;
            // Prune connections whose task ended, and idle ones taken out of service.
            for entries in state.by_address.values_mut() {
                entries.retain_mut(|entry| {
                    let dead = entry.connection.is_closed()
                        || (entry.idle_since.is_some() && !entry.connection.is_healthy());
                    if dead && entry.active == 0 {
                        if entry.idle_since.is_some() {
                            state.idle -= 1;
                        }
                        state.total -= 1;
                        closed.push(Evicted::take(entry));
                        return false;
                    }
                    true
                });
                renumber(entries);
            }
            state.by_address.retain(|_, entries| !entries.is_empty());
            let facts = state
                .by_address
                .values()
                .flatten()
                .map(|entry| PooledFacts {
                    id: entry.connection.id(),
                    idle_since: entry.idle_since.map(Instant::into_std),
                });
            match evict(now.into_std(), facts, self.policy) {
                Eviction::Evict(id) => {
                    if let Some(evicted) = remove_by_id(state, id) {
                        closed.push(evicted);
                    }
                }
                Eviction::WaitFor(wait) => break Some(wait),
                Eviction::Empty => {
                    state.cleanup_running = false;
                    break None;
                }
            }
        };
        if !closed.is_empty() {
            drop(closed);
            self.room.notify_waiters();
        }
        outcome
    }
}

/// Lends `entry`'s connection if it has room and is healthy.
fn take(pool: &Arc<PoolInner>, entry: &mut Entry, idle: &mut usize) -> Option<Lease> {
    if !entry.multiplexed && entry.idle_h1.is_none() {
        // A busy (or closing) HTTP/1 connection.
        return None;
    }
    let connection = &entry.connection;
    if entry.active >= connection.allocation_limit() || !connection.is_healthy() {
        return None;
    }
    let sender = match &connection.h2 {
        Some((sender, _)) => LeasedSender::H2(sender.clone()),
        None => {
            let parts = entry.idle_h1.take()?;
            if parts.sender.is_closed() {
                return None;
            }
            LeasedSender::H1(parts)
        }
    };
    if entry.idle_since.take().is_some() {
        *idle -= 1;
    }
    entry.active += 1;
    Some(Lease::new(pool.clone(), connection.clone(), sender))
}

fn remove_by_id(state: &mut PoolState, id: u64) -> Option<Evicted> {
    let mut found = None;
    for entries in state.by_address.values_mut() {
        if let Some(position) = entries.iter().position(|e| e.connection.id() == id) {
            let mut entry = entries.swap_remove(position);
            note_position(entries, position);
            entry.connection.mark_no_new_exchanges();
            if entry.idle_since.is_some() {
                state.idle -= 1;
            }
            state.total -= 1;
            found = Some(Evicted::take(&mut entry));
            break;
        }
    }
    state.by_address.retain(|_, entries| !entries.is_empty());
    found
}

/// Records in the connection of `entries[position]`, if there is one, that its entry is there.
fn note_position(entries: &[Entry], position: usize) {
    if let Some(entry) = entries.get(position) {
        entry
            .connection
            .pool_position
            .store(position, Ordering::Relaxed);
    }
}

/// Records in each connection of `entries` where its entry is (after entries were removed).
fn renumber(entries: &[Entry]) {
    for position in 0..entries.len() {
        note_position(entries, position);
    }
}

/// Checks, in debug builds (every test), that each connection of `entries` knows where its
/// entry is, so that the hint [`PoolInner::release`] reads is right and the search stays a
/// fallback.
fn debug_assert_positions(entries: &[Entry]) {
    if cfg!(debug_assertions) {
        for (position, entry) in entries.iter().enumerate() {
            let noted = entry.connection.pool_position.load(Ordering::Relaxed);
            debug_assert_eq!(noted, position, "a pool entry moved without its position");
        }
    }
}

fn evict_oldest_idle(state: &mut PoolState) -> Option<Evicted> {
    let oldest = state
        .by_address
        .values()
        .flatten()
        .filter_map(|entry| entry.idle_since.map(|since| (since, entry.connection.id())))
        .min()?;
    remove_by_id(state, oldest.1)
}

/// Runs cleanup rounds until the pool is empty (or dropped).
fn spawn_cleanup(pool: Weak<PoolInner>, wake: Arc<Notify>) {
    tokio::spawn(async move {
        loop {
            let wait = {
                let Some(pool) = pool.upgrade() else { return };
                pool.cleanup(Instant::now())
            };
            let Some(wait) = wait else { return };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = wake.notified() => {}
            }
        }
    });
}
