//! [`Connect`], the service [`ConnectLayer`](super::ConnectLayer) makes.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{Request, Response};
use tower_service::Service;

use super::direct::{InnerFuture, call_inner};
use super::exchange::Exchange;
use super::layer::ConnectSettings;
use crate::call_context::CallEvents;
use crate::connection::connect_plan::ConnectContext;
use crate::connection::finder::find;
use crate::connection::lease::Lease;
use crate::connection::pool::Found;
use crate::{Address, BoxError, CallContext, ConnectionInfo, Error, ErrorKind, RequestBody};

/// How many times a request the connection gave back unsent (a pooled connection found closed)
/// is tried on another connection.
const MAX_UNSENT_RETRIES: usize = 8;

/// Finds a connection for each request and calls the inner service with the
/// [`Exchange`] in the request's extensions (its [`info`](Exchange::info) describes the
/// connection).
///
/// Requests must have absolute URIs (`http:` or `https:`). The request body becomes a
/// [`RequestBody`] for the services below.
#[derive(Clone)]
pub struct Connect<S> {
    settings: Arc<ConnectSettings>,
    inner: S,
}

impl<S> Connect<S> {
    pub(crate) fn new(settings: Arc<ConnectSettings>, inner: S) -> Self {
        Connect { settings, inner }
    }
}

/// The boxed future of a request that takes [`Connect`]'s general path: route selection,
/// connecting, or a retry on another connection.
type GeneralFuture<R> = Pin<Box<dyn Future<Output = Result<R, Error>> + Send + 'static>>;

pin_project_lite::pin_project! {
    /// The future of [`Connect`] over the inner service `S` (whose future is `F`), answering
    /// with a `Response<R>`.
    ///
    /// A request for which the pool holds a connection (the common case) runs the inner
    /// service's future in place; any other (connecting, failing before an exchange, retrying
    /// a request a stale connection gave back unsent) runs boxed.
    pub struct ResponseFuture<F, S, R> {
        #[pin]
        state: State<F, S, R>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProjection]
    enum State<F, S, R> {
        /// The inner service runs on a pooled connection; `inner` (a clone) and `settings`
        /// send the request again if the connection gives it back unsent.
        Pooled {
            #[pin]
            future: InnerFuture<F>,
            exchange: Exchange,
            settings: Arc<ConnectSettings>,
            inner: S,
        },
        /// The general path.
        General { future: GeneralFuture<Response<R>> },
    }
}

impl<F, S, R> Future for ResponseFuture<F, S, R>
where
    F: Future<Output = Result<Response<R>, Error>>,
    S: Service<Request<RequestBody>, Response = Response<R>, Error = Error, Future = F>
        + Clone
        + Send
        + 'static,
    F: Send + 'static,
    R: Send + 'static,
{
    type Output = Result<Response<R>, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let retry = match self.as_mut().project().state.project() {
            StateProjection::General { future } => return future.as_mut().poll(cx),
            StateProjection::Pooled {
                future,
                exchange,
                settings,
                inner,
            } => {
                let through_service = future.is_through_service();
                let outcome = ready!(future.poll(cx));
                let outcome = match through_service {
                    true => release_untaken(exchange, outcome),
                    false => outcome,
                };
                match outcome {
                    Ok(response) => return Poll::Ready(Ok(response)),
                    Err(error) => match exchange.take_unsent() {
                        Some(unsent) => {
                            retry_unsent(exchange, &error);
                            let sending = Sending {
                                attempt: 1,
                                recovered: vec![error],
                            };
                            exchange_general(settings.clone(), inner.clone(), unsent, sending)
                        }
                        None => return Poll::Ready(Err(error)),
                    },
                }
            }
        };
        self.as_mut().project().state.set(State::General {
            future: Box::pin(retry),
        });
        self.poll(cx)
    }
}

impl<S, B, R> Service<Request<B>> for Connect<S>
where
    S: Service<Request<RequestBody>, Response = Response<R>, Error = Error>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
    R: Send + 'static,
{
    type Response = Response<R>;
    type Error = Error;
    type Future = ResponseFuture<S::Future, S, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let request = request.map(RequestBody::new);
        let settings = self.settings.clone();
        let state = match pooled_exchange(&settings, &request) {
            Some((exchange, lease)) => {
                // The service made ready runs this request; its clone sends a retry.
                let inner = self.inner.clone();
                State::Pooled {
                    future: call_inner(&mut self.inner, request, &exchange, lease),
                    exchange,
                    settings,
                    inner,
                }
            }
            None => {
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                let sending = Sending {
                    attempt: 0,
                    recovered: Vec::new(),
                };
                State::General {
                    future: Box::pin(exchange_general(settings, inner, request, sending)),
                }
            }
        };
        ResponseFuture { state }
    }
}

/// The fast path: when the pool holds a connection for the request's address (and the call
/// was not canceled), an exchange on it and its lease. `None` sends the request down the
/// general path (which also reports any error found here).
fn pooled_exchange(
    settings: &ConnectSettings,
    request: &Request<RequestBody>,
) -> Option<(Exchange, Lease)> {
    let address = settings.address(request.uri()).ok()?;
    let context = CallContext::of(request.extensions());
    let found = pooled(settings, &address, context)?;
    let read_timeout = timeouts_of(request, settings).read.flatten();
    Some(start_exchange(found, settings, read_timeout, context))
}

/// A pooled connection for `address`, unless the call was canceled or the TLS settings refuse
/// the address (the general path reports why).
fn pooled(
    settings: &ConnectSettings,
    address: &Address,
    context: Option<&CallContext>,
) -> Option<Found> {
    if context.is_some_and(CallContext::is_canceled) || settings.tls.check_address(address).is_err()
    {
        return None;
    }
    settings
        .pool
        .inner
        .acquire(address, None, &settings.tls, false)
}

/// The call's listener, or one that ignores every event.
fn listener_of(settings: &ConnectSettings, context: Option<&CallContext>) -> CallEvents {
    match context {
        Some(context) => CallEvents::Call(context.clone()),
        None => CallEvents::Listener(settings.no_events.clone()),
    }
}

/// The exchange on the connection `found`, reported acquired, and the connection's lease.
fn start_exchange(
    found: Found,
    settings: &ConnectSettings,
    read_timeout: Option<std::time::Duration>,
    context: Option<&CallContext>,
) -> (Exchange, Lease) {
    let Found { lease, coalesced } = found;
    let info = ConnectionInfo::of(lease.connection().described.clone(), coalesced);
    let events = match context {
        Some(context) => CallEvents::Call(context.clone()),
        None => CallEvents::Listener(settings.no_events.clone()),
    };
    let exchange = Exchange::new(info, events, read_timeout);
    exchange.listener().connection_acquired(exchange.info());
    (exchange, lease)
}

/// The request's [`Timeouts`], with the client's where it sets none.
fn timeouts_of(request: &Request<RequestBody>, settings: &ConnectSettings) -> Timeouts {
    request
        .extensions()
        .get::<Timeouts>()
        .copied()
        .unwrap_or_default()
        .or(settings.connect_timeout, settings.http.read_timeout)
}

/// Where the general path starts: the attempt (a retry of a request given back unsent is
/// attempt 1), and the failures recovered from so far.
struct Sending {
    attempt: usize,
    recovered: Vec<Error>,
}

/// The general path: acquires a connection (from the pool, or by connecting), then runs the
/// inner service on it; retries on another connection when the inner service gives the
/// request back unsent.
///
/// Not an `async fn`, which would keep its arguments twice (as arguments and as locals) in
/// the boxed future.
#[allow(clippy::manual_async_fn)]
fn exchange_general<S, R>(
    settings: Arc<ConnectSettings>,
    mut inner: S,
    mut request: Request<RequestBody>,
    sending: Sending,
) -> impl Future<Output = Result<Response<R>, Error>>
where
    S: Service<Request<RequestBody>, Response = Response<R>, Error = Error> + 'static,
    R: 'static,
{
    let Sending {
        mut attempt,
        mut recovered,
    } = sending;
    async move {
        let address = match settings.address(request.uri()) {
            Ok(address) => address,
            Err(error) => return Err(with_recovered(error, &mut recovered)),
        };
        let context = CallContext::of(request.extensions()).cloned();
        let listener = listener_of(&settings, context.as_ref());
        let timeouts = timeouts_of(&request, &settings);
        loop {
            if attempt > 0 {
                poll_fn(|cx| inner.poll_ready(cx)).await?;
            }
            // The fast path, a pooled connection for this very address, needs no future; the
            // rest (route selection, connecting) runs inline: this whole future is boxed already.
            let found = match (pooled(&settings, &address, context.as_ref()), &context) {
                (Some(found), _) => Ok(found),
                // A client's watch over the call drops this future once the call is canceled;
                // without one, the token is watched here.
                (None, Some(context)) if !context.is_watched() => {
                    let token = context.cancel_token();
                    let acquiring = acquire(&settings, &address, &listener, timeouts);
                    tokio::select! {
                        biased;
                        () = token.cancelled() => Err(canceled(&address)),
                        found = acquiring => found,
                    }
                }
                (None, _) => acquire(&settings, &address, &listener, timeouts).await,
            };
            let found = found.map_err(|e| with_recovered(e, &mut recovered))?;
            let read_timeout = timeouts.read.flatten();
            let (exchange, lease) =
                start_exchange(found, &settings, read_timeout, context.as_ref());
            let calling = call_inner(&mut inner, request, &exchange, lease);
            let through_service = calling.is_through_service();
            let mut outcome = calling.await;
            if through_service {
                outcome = release_untaken(&exchange, outcome);
            }
            match outcome {
                Ok(response) => return Ok(response),
                Err(error) => match exchange.take_unsent() {
                    Some(unsent) if attempt < MAX_UNSENT_RETRIES => {
                        retry_unsent(&exchange, &error);
                        recovered.push(error);
                        request = unsent;
                        attempt += 1;
                    }
                    Some(_) => {
                        let error = exchange.report_release(error);
                        return Err(with_recovered(error, &mut recovered));
                    }
                    None => return Err(with_recovered(error, &mut recovered)),
                },
            }
        }
    }
}

/// A request the connection gave back unsent goes to another connection: as OkHttp's retry
/// layer does, the connect layer reports that it retries, then the release of the connection
/// it leaves (which takes no new exchanges).
fn retry_unsent(exchange: &Exchange, error: &Error) {
    let info = exchange.info();
    info.mark_no_new_exchanges();
    let listener = exchange.listener();
    listener.retry_decision(error, true);
    listener.connection_released(info);
}

/// The inner service's answer, after it ran with the exchange in the request's extensions: a
/// lease nothing took (a network layer answered without calling `CallServer`) gives its
/// connection back, unused and reusable, and the release is reported as for any exchange.
fn release_untaken<T>(exchange: &Exchange, outcome: Result<T, Error>) -> Result<T, Error> {
    let Some(lease) = exchange.take_lease() else {
        return outcome;
    };
    drop(lease);
    match outcome {
        Ok(answer) => {
            exchange.listener().connection_released(exchange.info());
            Ok(answer)
        }
        Err(error) => Err(exchange.report_release(error)),
    }
}

async fn acquire(
    settings: &ConnectSettings,
    address: &Address,
    listener: &CallEvents,
    timeouts: Timeouts,
) -> Result<Found, Error> {
    let context = ConnectContext {
        tcp: &*settings.tcp,
        tls: &settings.tls,
        proxy_authenticator: &*settings.proxy_authenticator,
        user_agent: &settings.user_agent,
        connect_timeout: timeouts.connect.flatten(),
        read_timeout: timeouts.read.flatten(),
        fast_fallback: settings.fast_fallback,
        http: &settings.http,
        database: &settings.route_database,
        listener: listener.listener(),
        closed_signal: &settings.pool.inner.wake_cleanup,
    };
    find(&settings.pool.inner, address, &context, listener).await
}

fn canceled(address: &Address) -> Error {
    Error::new(ErrorKind::Canceled, "Canceled").with_url(address.uri().to_string())
}

fn with_recovered(error: Error, recovered: &mut Vec<Error>) -> Error {
    recovered.drain(..).fold(error, Error::with_recovered)
}

/// Per-call connect and read timeouts, in a request's extensions: an application layer (or the
/// caller) sets them to change the client's for one call. A field left `None` keeps the
/// client's setting; `Some(None)` means no timeout.
///
/// ```
/// use std::time::Duration;
/// use oktower::Timeouts;
///
/// let mut request = http::Request::get("https://example.com/slow").body(()).unwrap();
/// request.extensions_mut().insert(Timeouts {
///     read: Some(Some(Duration::from_secs(60))),
///     ..Timeouts::default()
/// });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timeouts {
    /// The limit for connecting a TCP socket.
    pub connect: Option<Option<std::time::Duration>>,
    /// The limit for each wait on the response (and on TLS and proxy handshakes).
    pub read: Option<Option<std::time::Duration>>,
}

impl Timeouts {
    /// These timeouts, with the client's `connect` and `read` where unset.
    fn or(
        self,
        connect: Option<std::time::Duration>,
        read: Option<std::time::Duration>,
    ) -> Timeouts {
        Timeouts {
            connect: Some(self.connect.unwrap_or(connect)),
            read: Some(self.read.unwrap_or(read)),
        }
    }
}

#[cfg(test)]
mod future_size_tests {
    use super::*;
    use crate::CallServer;

    use crate::future_size::size_of_output;

    /// Every request that finds no pooled connection boxes this future, with the connecting
    /// future inline (one allocation, not two). It was 3.4 KB while the HTTP/2 handshake was
    /// inline in every connect's future.
    #[test]
    #[allow(unreachable_code, clippy::diverging_sub_expression)]
    fn the_connect_future_stays_small() {
        let size = size_of_output(|| {
            exchange_general::<CallServer, crate::ResponseBody>(
                unreachable!(),
                unreachable!(),
                unreachable!(),
                unreachable!(),
            )
        });
        assert!(size <= 2304, "the connect future grew to {size} bytes");
    }

    /// The connecting future, inline in the one above: it was 10 KB while the proxy steps and
    /// the TLS handshake were inline in it, which a plain `http:` route never runs, and 2.8 KB
    /// with the HTTP/2 handshake inline.
    #[test]
    #[allow(unreachable_code, clippy::diverging_sub_expression)]
    fn the_connecting_future_stays_small() {
        let size = size_of_output(|| {
            acquire(
                unreachable!(),
                unreachable!(),
                unreachable!(),
                unreachable!(),
            )
        });
        assert!(size <= 1792, "the connecting future grew to {size} bytes");
    }
}
