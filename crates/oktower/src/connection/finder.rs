//! Finding a connection for an exchange, OkHttp's `RealRoutePlanner` with its exchange finders:
//! the pool by address; for an address that may speak HTTP/2, the connect already in flight to
//! it (single flight); then route selection, the pool again with the resolved routes
//! (coalescing), connecting, and the pool a third time in case another call pooled an HTTP/2
//! connection meanwhile.

use std::sync::Arc;

use super::connect_plan::{ConnectContext, connect};
use super::fast_fallback::combine;
use super::pool::{FlightOutcome, Found, Join, PoolInner};
use super::route_selector::RouteSelector;
use crate::call_context::CallEvents;
use crate::{Address, Error, ErrorKind, Protocol, Scheme};

/// Finds a connection for `address`: pooled, coalesced, or new.
///
/// Cancel-safe: dropping the future at any point (DNS, TCP, tunnel, TLS, waiting for another
/// call's connect or for room under the pool's cap) closes whatever it opened.
pub(crate) async fn find(
    pool: &Arc<PoolInner>,
    address: &Address,
    context: &ConnectContext<'_>,
    listener: &CallEvents,
) -> Result<Found, Error> {
    context.tls.check_address(address)?;
    let mut single_flight = may_multiplex(address);
    loop {
        if let Some(found) = pool.acquire(address, None, context.tls, false) {
            return Ok(found);
        }
        if !single_flight {
            return connect_new(pool, address, context, listener, None).await;
        }
        match pool.join(address) {
            Join::Lead(flight) => {
                return connect_new(pool, address, context, listener, Some(flight)).await;
            }
            Join::Wait(mut receiver) => {
                let outcome = loop {
                    let outcome = *receiver.borrow_and_update();
                    if outcome != FlightOutcome::Pending {
                        break outcome;
                    }
                    if receiver.changed().await.is_err() {
                        break FlightOutcome::Done;
                    }
                };
                if outcome == FlightOutcome::Http1 {
                    // ALPN chose HTTP/1.1: the leader's connection is its own.
                    single_flight = false;
                }
            }
        }
    }
}

/// Whether connections to `address` may turn out to be HTTP/2 (by ALPN, or prior knowledge).
fn may_multiplex(address: &Address) -> bool {
    match address.scheme() {
        Scheme::Https => address.protocols().contains(&Protocol::Http2),
        Scheme::Http => address.protocols().contains(&Protocol::H2PriorKnowledge),
    }
}

/// Route selection, the coalescing lookup, connecting, and the lookup after connecting.
async fn connect_new(
    pool: &Arc<PoolInner>,
    address: &Address,
    context: &ConnectContext<'_>,
    listener: &CallEvents,
    flight: Option<super::pool::Flight>,
) -> Result<Found, Error> {
    let mut selector = RouteSelector::new(
        address.clone(),
        context.database.clone(),
        listener.clone(),
        context.fast_fallback,
    );
    let mut failures: Vec<Error> = Vec::new();
    while selector.has_next() {
        let selection = match selector.next().await {
            Ok(selection) => selection,
            Err(error) => {
                failures.push(error);
                continue;
            }
        };
        let candidates = selection.routes();
        let reservation = loop {
            if let Some(found) = pool.acquire(address, Some(candidates), context.tls, false) {
                return Ok(found);
            }
            if let Some(reservation) = pool.reserve(address).await? {
                break reservation;
            }
        };
        match connect(candidates, context).await {
            Ok(handshaken) => {
                let multiplexed = handshaken.connection.is_multiplexed();
                if multiplexed
                    && let Some(found) = pool.acquire(address, Some(candidates), context.tls, true)
                {
                    // We lost the race: another call pooled an HTTP/2 connection first.
                    drop(handshaken);
                    return Ok(found);
                }
                let lease = pool.insert(handshaken);
                drop(reservation);
                if let Some(flight) = flight {
                    let outcome = if multiplexed {
                        FlightOutcome::Done
                    } else {
                        FlightOutcome::Http1
                    };
                    flight.finish(outcome);
                }
                return Ok(Found {
                    lease,
                    coalesced: false,
                });
            }
            Err(error) => {
                let canceled = error.is_canceled();
                failures.push(error);
                if canceled {
                    break;
                }
            }
        }
    }
    if failures.is_empty() {
        let message = format!("no route to {}", address.host());
        return Err(Error::new(ErrorKind::Connect, message).with_url(address.uri().to_string()));
    }
    Err(combine(failures.into_iter()))
}
