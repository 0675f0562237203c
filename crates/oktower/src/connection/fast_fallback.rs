//! Happy eyeballs (RFC 8305), OkHttp's `FastFallbackExchangeFinder`: TCP attempts to a list of
//! routes are started 250 ms apart (at once when an attempt fails and none other is in
//! flight); the first to connect wins and
//! the others are dropped, closing their sockets. Only TCP races: TLS and tunnels run on the
//! winner, after the race. With fast fallback off the routes are tried one at a time, in order
//! (`SequentialExchangeFinder`).
//!
//! The order of the routes (IPv6 and IPv4 interleaved) is the route selector's business; the
//! race keeps the order it is given.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use tokio::time::Instant;

use super::tcp::{BoxedIo, TcpConnector, connect_tcp};
use crate::{Error, ErrorKind, EventListener, Route};

/// The delay between the starts of two TCP attempts (OkHttp's `connectDelayNanos`, RFC 8305's
/// recommended "Connection Attempt Delay").
pub(crate) const CONNECT_DELAY: Duration = Duration::from_millis(250);

/// How a race runs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RaceSettings {
    /// Race the routes (on by default); off tries them one at a time.
    pub(crate) fast_fallback: bool,
    /// The limit of each TCP attempt, if any.
    pub(crate) connect_timeout: Option<Duration>,
}

/// The winner of a race: the route and its connected stream.
pub(crate) struct Connected {
    pub(crate) route: Route,
    pub(crate) io: BoxedIo,
}

/// The result of a race, and the routes whose attempts failed (to record in the route
/// database, whatever the result). Routes whose attempts were cancelled because another won,
/// and routes never tried, are not among them.
pub(crate) struct RaceOutcome {
    pub(crate) result: Result<Connected, Error>,
    pub(crate) failed: Vec<Route>,
}

/// Connects TCP to the first of `routes` that answers, as described in the module docs.
///
/// When every attempt fails the error is the last failure, with the earlier ones as its
/// [`recovered`](Error::recovered) failures, oldest first. Dropping the returned future drops
/// every attempt in flight.
pub(crate) async fn race_tcp(
    routes: &[Route],
    connector: &dyn TcpConnector,
    settings: RaceSettings,
    listener: &dyn EventListener,
) -> RaceOutcome {
    type Attempt<'a> = Pin<Box<dyn Future<Output = Result<BoxedIo, Error>> + Send + 'a>>;

    if let [route] = routes {
        // Nothing to race (an IP literal, a host with one address): no boxed attempt, list
        // or timer.
        let attempt = connect_tcp(route, connector, settings.connect_timeout, listener).await;
        return match attempt {
            Ok(io) => RaceOutcome {
                result: Ok(Connected {
                    route: route.clone(),
                    io,
                }),
                failed: Vec::new(),
            },
            Err(error) => RaceOutcome {
                result: Err(error),
                failed: vec![route.clone()],
            },
        };
    }
    let delay = settings.fast_fallback.then_some(CONNECT_DELAY);
    let mut schedule = Schedule::new(routes.len(), delay);
    let mut in_flight: Vec<(usize, Attempt<'_>)> = Vec::new();
    let mut failures: Vec<(usize, Error)> = Vec::new();
    // Made the first time the race waits for the next launch.
    let mut timer: Option<Pin<Box<tokio::time::Sleep>>> = None;

    let winner = poll_fn(|cx| {
        loop {
            let now = Instant::now();
            while schedule.should_launch(now, in_flight.len()) {
                let index = schedule.launch(now);
                let route = &routes[index];
                let attempt = connect_tcp(route, connector, settings.connect_timeout, listener);
                in_flight.push((index, Box::pin(attempt)));
            }

            let mut failed_now = false;
            let mut position = 0;
            while position < in_flight.len() {
                match in_flight[position].1.as_mut().poll(cx) {
                    Poll::Ready(Ok(io)) => {
                        let index = in_flight[position].0;
                        // The losers are dropped here, closing their sockets.
                        in_flight.clear();
                        return Poll::Ready(Some((index, io)));
                    }
                    Poll::Ready(Err(error)) => {
                        let (index, _) = in_flight.remove(position);
                        failures.push((index, error));
                        failed_now = true;
                    }
                    Poll::Pending => position += 1,
                }
            }
            if failed_now {
                // A failure starts the next attempt at once.
                continue;
            }
            if in_flight.is_empty() {
                return Poll::Ready(None);
            }
            if let Some(deadline) = schedule.wake_at(in_flight.len()) {
                let timer =
                    timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if timer.deadline() != deadline {
                    timer.as_mut().reset(deadline);
                }
                if timer.as_mut().poll(cx).is_ready() {
                    continue;
                }
            }
            return Poll::Pending;
        }
    })
    .await;
    drop(in_flight);

    let failed = failures
        .iter()
        .map(|(index, _)| routes[*index].clone())
        .collect();
    let result = match winner {
        Some((index, io)) => Ok(Connected {
            route: routes[index].clone(),
            io,
        }),
        None => Err(combine(failures.into_iter().map(|(_, error)| error))),
    };
    RaceOutcome { result, failed }
}

/// The last failure, keeping the earlier ones.
pub(crate) fn combine(failures: impl Iterator<Item = Error>) -> Error {
    let mut failures: Vec<Error> = failures.collect();
    match failures.pop() {
        Some(last) => failures.into_iter().fold(last, Error::with_recovered),
        None => Error::new(ErrorKind::Connect, "No routes to connect to"),
    }
}

/// When to start the next attempt: the pure decision core of the race, with time as a
/// parameter.
#[derive(Debug)]
struct Schedule {
    total: usize,
    next: usize,
    /// `None`: one attempt at a time.
    delay: Option<Duration>,
    next_launch_at: Option<Instant>,
}

impl Schedule {
    fn new(total: usize, delay: Option<Duration>) -> Self {
        Schedule {
            total,
            next: 0,
            delay,
            next_launch_at: None,
        }
    }

    /// Whether to start the next attempt at `now`, with `in_flight` attempts running: always
    /// when none is running (the first, or after a failure), else once the delay has passed
    /// since the last start.
    fn should_launch(&self, now: Instant, in_flight: usize) -> bool {
        if self.next >= self.total {
            return false;
        }
        if in_flight == 0 {
            return true;
        }
        self.next_launch_at.is_some_and(|at| now >= at)
    }

    /// Records an attempt started at `now`, returning its route's index.
    fn launch(&mut self, now: Instant) -> usize {
        let index = self.next;
        self.next += 1;
        self.next_launch_at = self.delay.map(|delay| now + delay);
        index
    }

    /// When the next attempt is due if none fails before, or `None` if nothing is due.
    fn wake_at(&self, in_flight: usize) -> Option<Instant> {
        if self.next < self.total && in_flight > 0 {
            self.next_launch_at
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::tcp::TcpConnectFuture;
    use crate::{Address, NoEvents, NoProxy, Proxy, Scheme, SystemDns};
    use std::collections::HashMap;
    use std::io;
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Copy)]
    enum Behaviour {
        Blackhole,
        Refuse,
        Accept,
    }

    /// A connector that answers per address, recording when each attempt started and counting
    /// the blackholed attempts that were dropped.
    struct FakeTcp {
        behaviour: HashMap<SocketAddr, Behaviour>,
        started: Mutex<Vec<(SocketAddr, Duration)>>,
        epoch: Instant,
        blackholes_dropped: Arc<AtomicUsize>,
    }

    impl FakeTcp {
        fn new(behaviour: &[(SocketAddr, Behaviour)]) -> Self {
            FakeTcp {
                behaviour: behaviour.iter().copied().collect(),
                started: Mutex::new(Vec::new()),
                epoch: Instant::now(),
                blackholes_dropped: Arc::new(AtomicUsize::new(0)),
            }
        }

        fn started(&self) -> Vec<(SocketAddr, Duration)> {
            self.started.lock().unwrap().clone()
        }
    }

    struct DropGuard(Arc<AtomicUsize>);

    impl Drop for DropGuard {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    impl TcpConnector for FakeTcp {
        fn connect(&self, addr: SocketAddr) -> TcpConnectFuture {
            let elapsed = self.epoch.elapsed();
            self.started.lock().unwrap().push((addr, elapsed));
            match self.behaviour[&addr] {
                Behaviour::Blackhole => {
                    let guard = DropGuard(self.blackholes_dropped.clone());
                    Box::pin(async move {
                        let _guard = guard;
                        std::future::pending().await
                    })
                }
                Behaviour::Refuse => {
                    Box::pin(async { Err(io::Error::from(io::ErrorKind::ConnectionRefused)) })
                }
                Behaviour::Accept => Box::pin(async {
                    let (io, _peer) = tokio::io::duplex(64);
                    Ok(Box::new(io) as BoxedIo)
                }),
            }
        }
    }

    fn addr(n: u8) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, n], 443))
    }

    fn routes(count: u8) -> Vec<Route> {
        let address = Address::builder(
            Scheme::Https,
            "a.test",
            443,
            Arc::new(SystemDns),
            Arc::new(NoProxy),
        )
        .build();
        (1..=count)
            .map(|n| Route::new(address.clone(), Proxy::Direct, addr(n)))
            .collect()
    }

    fn settings(fast_fallback: bool) -> RaceSettings {
        RaceSettings {
            fast_fallback,
            connect_timeout: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_blackholed_first_address_loses_to_the_second_after_250ms() {
        let tcp = FakeTcp::new(&[
            (addr(1), Behaviour::Blackhole),
            (addr(2), Behaviour::Accept),
        ]);
        let started = Instant::now();
        let outcome = race_tcp(&routes(2), &tcp, settings(true), &NoEvents).await;
        assert_eq!(started.elapsed(), CONNECT_DELAY);
        let winner = outcome.result.ok().unwrap();
        assert_eq!(winner.route.socket_addr(), addr(2));
        assert!(outcome.failed.is_empty());
        assert_eq!(
            tcp.started(),
            [(addr(1), Duration::ZERO), (addr(2), CONNECT_DELAY)]
        );
        // The blackholed attempt was dropped when the second won.
        assert_eq!(tcp.blackholes_dropped.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_first_address_falls_through_at_once() {
        let tcp = FakeTcp::new(&[(addr(1), Behaviour::Refuse), (addr(2), Behaviour::Accept)]);
        let started = Instant::now();
        let routes = routes(2);
        let outcome = race_tcp(&routes, &tcp, settings(true), &NoEvents).await;
        assert_eq!(started.elapsed(), Duration::ZERO);
        assert_eq!(outcome.result.ok().unwrap().route, routes[1]);
        assert_eq!(outcome.failed, [routes[0].clone()]);
        assert_eq!(
            tcp.started(),
            [(addr(1), Duration::ZERO), (addr(2), Duration::ZERO)]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn when_every_address_refuses_the_error_lists_every_route() {
        let tcp = FakeTcp::new(&[
            (addr(1), Behaviour::Refuse),
            (addr(2), Behaviour::Refuse),
            (addr(3), Behaviour::Refuse),
        ]);
        let routes = routes(3);
        let outcome = race_tcp(&routes, &tcp, settings(true), &NoEvents).await;
        assert_eq!(outcome.failed, routes);
        let error = outcome.result.err().unwrap();
        assert!(error.is_connect(), "{error:?}");
        let mut messages: Vec<&str> = error.recovered().iter().map(Error::message).collect();
        messages.push(error.message());
        assert_eq!(
            messages,
            [
                "Failed to connect to 127.0.0.1:443 (https://a.test:443 via DIRECT)",
                "Failed to connect to 127.0.0.2:443 (https://a.test:443 via DIRECT)",
                "Failed to connect to 127.0.0.3:443 (https://a.test:443 via DIRECT)",
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn with_fast_fallback_off_routes_are_tried_one_at_a_time() {
        let tcp = FakeTcp::new(&[
            (addr(1), Behaviour::Blackhole),
            (addr(2), Behaviour::Refuse),
            (addr(3), Behaviour::Accept),
        ]);
        let routes = routes(3);
        let racing = RaceSettings {
            fast_fallback: false,
            connect_timeout: Some(Duration::from_secs(10)),
        };
        let started = Instant::now();
        let outcome = race_tcp(&routes, &tcp, racing, &NoEvents).await;
        // The blackholed first route is waited for until its connect timeout, never raced.
        assert_eq!(started.elapsed(), Duration::from_secs(10));
        let ten = Duration::from_secs(10);
        assert_eq!(
            tcp.started(),
            [(addr(1), Duration::ZERO), (addr(2), ten), (addr(3), ten)]
        );
        assert_eq!(outcome.result.ok().unwrap().route, routes[2]);
        assert_eq!(outcome.failed, routes[..2]);
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_time_out_one_by_one_while_the_race_goes_on() {
        let tcp = FakeTcp::new(&[
            (addr(1), Behaviour::Blackhole),
            (addr(2), Behaviour::Blackhole),
        ]);
        let racing = RaceSettings {
            fast_fallback: true,
            connect_timeout: Some(Duration::from_secs(1)),
        };
        let started = Instant::now();
        let outcome = race_tcp(&routes(2), &tcp, racing, &NoEvents).await;
        assert_eq!(started.elapsed(), Duration::from_secs(1) + CONNECT_DELAY);
        let error = outcome.result.err().unwrap();
        assert!(error.is_timeout(), "{error:?}");
        assert!(error.message().contains("127.0.0.2:443"), "{error}");
        assert_eq!(error.recovered().len(), 1);
        assert_eq!(outcome.failed.len(), 2);
        assert_eq!(tcp.blackholes_dropped.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn dropping_the_race_drops_every_attempt() {
        let tcp = FakeTcp::new(&[
            (addr(1), Behaviour::Blackhole),
            (addr(2), Behaviour::Blackhole),
            (addr(3), Behaviour::Blackhole),
        ]);
        let routes = routes(3);
        let race = race_tcp(&routes, &tcp, settings(true), &NoEvents);
        let timed_out = tokio::time::timeout(Duration::from_millis(600), race).await;
        assert!(timed_out.is_err());
        assert_eq!(tcp.started().len(), 3);
        assert_eq!(tcp.blackholes_dropped.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn the_schedule_starts_attempts_at_once_or_after_the_delay() {
        let t0 = Instant::now();
        let mut schedule = Schedule::new(3, Some(CONNECT_DELAY));
        assert!(schedule.should_launch(t0, 0));
        assert_eq!(schedule.launch(t0), 0);
        assert!(!schedule.should_launch(t0 + Duration::from_millis(249), 1));
        assert_eq!(schedule.wake_at(1), Some(t0 + CONNECT_DELAY));
        assert!(schedule.should_launch(t0 + CONNECT_DELAY, 1));
        // A failure (nothing in flight) starts the next attempt before the delay.
        assert!(schedule.should_launch(t0 + Duration::from_millis(10), 0));
        assert_eq!(schedule.launch(t0 + Duration::from_millis(10)), 1);
        assert_eq!(schedule.launch(t0 + Duration::from_millis(20)), 2);
        assert!(!schedule.should_launch(t0 + Duration::from_secs(9), 0));
        assert_eq!(schedule.wake_at(1), None);

        let mut sequential = Schedule::new(2, None);
        assert_eq!(sequential.launch(t0), 0);
        assert!(!sequential.should_launch(t0 + Duration::from_secs(60), 1));
        assert_eq!(sequential.wake_at(1), None);
        assert!(sequential.should_launch(t0 + Duration::from_secs(60), 0));
    }

    #[tokio::test]
    async fn no_routes_is_an_error() {
        let tcp = FakeTcp::new(&[]);
        let outcome = race_tcp(&[], &tcp, settings(true), &NoEvents).await;
        assert!(outcome.result.err().unwrap().is_connect());
    }
}
