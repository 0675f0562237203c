//! [`Client`]: the stack, ready to send requests.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Uri};
use tokio::time::Instant;
use tower_layer::Layer;
use tower_service::Service;

use crate::builder::Settings;
use crate::call_future::CallFuture;
use crate::call_guard::{CallGuard, CallWatch};
use crate::client_body::StackBody;
use crate::stack::{ApplicationSeam, CoreService, MaybeCache, NetworkSeam, Seam};
use crate::uri_authority::HostPort;
use crate::{
    Body, BoxError, Call, CallContext, CallServer, ClientBuilder, ConnectionPool, Dispatcher,
    Error, ErrorKind, EventListener, IntoUrl, NoEvents, Protocol, RequestBody, RequestBuilder,
    Response, TimingsRecorder,
};

/// The listener of calls on a client without a listener factory: one for the process.
static NO_EVENTS: LazyLock<Arc<dyn EventListener>> = LazyLock::new(|| Arc::new(NoEvents));

/// An HTTP client: OkHttp's stack of layers over a connection pool, as one
/// `tower::Service`.
///
/// Cheap to clone: clones share the stack, the [`ConnectionPool`] and the [`Dispatcher`].
/// Build one with [`Client::builder`] (or [`Client::new`] for the defaults) and keep it;
/// derive clients with other settings from it with [`new_builder`](Self::new_builder) so that
/// they share connections and limits.
///
/// Send requests with the reqwest-style helpers ([`get`](Self::get), [`post`](Self::post),
/// ... then [`send`](RequestBuilder::send)), as a [`Call`] ([`new_call`](Self::new_call):
/// execute, enqueue, cancel), or as a `tower::Service<http::Request<B>>` for any `Bytes` body,
/// which makes the client the inner service of any tower stack (an axum or hyper service's
/// outbound client, under `tower::timeout` or tower-http's `TraceLayer`).
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), oktower::Error> {
/// let client = oktower::Client::new()?;
/// let response = client.get("https://example.com/").send().await?;
/// println!("{} in {:?}", response.status(), response.timings().total);
/// let text = response.text().await?;
/// # let _ = text;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

struct Shared {
    stack: ApplicationSeam,
    dispatcher: Dispatcher,
    pool: ConnectionPool,
    settings: Settings,
}

/// Builds the client's stack from its settings.
pub(crate) fn build_client(mut settings: Settings) -> Result<Client, Error> {
    let pool = settings.pool.clone().unwrap_or_default();
    let dispatcher = settings.dispatcher.clone().unwrap_or_default();
    let connect = settings.connect.clone().pool(pool.clone()).build()?;
    // Derived clients share the pool, the dispatcher, the loaded TLS roots and the routes.
    settings.pool = Some(pool.clone());
    settings.dispatcher = Some(dispatcher.clone());
    settings.connect = settings
        .connect
        .tls(connect.tls().clone())
        .route_database(connect.route_database().clone());

    // A client that speaks only HTTP/2 with prior knowledge sends every request over HTTP/2.
    let http2_only = connect.settings.protocols == [Protocol::H2PriorKnowledge];
    let call_server: NetworkSeam = Seam::Direct(CallServer::new());
    let network = match &settings.network {
        Some(layers) => layers(call_server),
        None => call_server,
    };
    let connect = connect.layer(network);
    let cached = match &settings.cache {
        Some(cache) => MaybeCache::Cached(cache.layer(connect)),
        None => MaybeCache::Direct(connect),
    };
    let bridge = settings.bridge.clone().http2_only(http2_only);
    let core = settings.follow_up.layer(bridge.layer(cached));
    let core: CoreService = tower::util::MapResponse::new(core, into_client_body as fn(_) -> _);
    let stack = match &settings.application {
        Some(layers) => layers(Seam::Direct(core)),
        None => Seam::Direct(core),
    };
    Ok(Client {
        shared: Arc::new(Shared {
            stack,
            dispatcher,
            pool,
            settings,
        }),
    })
}

fn into_client_body(response: http::Response<StackBody>) -> http::Response<Body> {
    response.map(Body::from_stack)
}

impl Client {
    /// A client with OkHttp's defaults (it loads the platform's root certificates).
    pub fn new() -> Result<Client, Error> {
        ClientBuilder::new().build()
    }

    /// A builder with OkHttp's defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A builder holding this client's settings and layers, sharing its connection pool,
    /// dispatcher, TLS roots and route database. Layers added to it go under the inherited
    /// ones.
    pub fn new_builder(&self) -> ClientBuilder {
        ClientBuilder::from_settings(self.shared.settings.clone())
    }

    /// The pool this client takes connections from.
    pub fn connection_pool(&self) -> &ConnectionPool {
        &self.shared.pool
    }

    /// The response cache, when the client has one (its statistics, its store).
    pub fn cache(&self) -> Option<&crate::CacheLayer> {
        self.shared.settings.cache.as_ref()
    }

    /// The dispatcher that admits this client's calls.
    pub fn dispatcher(&self) -> &Dispatcher {
        &self.shared.dispatcher
    }

    /// A `GET` request to `url`.
    pub fn get(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    /// A `POST` request to `url`.
    pub fn post(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    /// A `PUT` request to `url`.
    pub fn put(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::PUT, url)
    }

    /// A `PATCH` request to `url`.
    pub fn patch(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::PATCH, url)
    }

    /// A `DELETE` request to `url`.
    pub fn delete(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::DELETE, url)
    }

    /// A `HEAD` request to `url`.
    pub fn head(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::HEAD, url)
    }

    /// A request with `method` to `url`.
    pub fn request(&self, method: Method, url: impl IntoUrl) -> RequestBuilder {
        RequestBuilder::new(self.clone(), method, url.into_uri())
    }

    /// A [`Call`] for `request`, ready to execute, enqueue or cancel.
    pub fn new_call<B>(&self, request: Request<B>) -> Call
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        Call::new(self.clone(), request.map(RequestBody::new))
    }

    /// Sends `request` and waits for the response head.
    pub fn execute<B>(
        &self,
        request: Request<B>,
    ) -> impl Future<Output = Result<Response, Error>> + Send + 'static + use<B>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        CallFuture::new(Ok(self.send(request.map(RequestBody::new))))
    }

    /// The context of a new call to `uri`, with its listener and a fresh cancellation token,
    /// whose timings recorder hears every event first.
    pub(crate) fn new_context(&self, uri: &Uri) -> CallContext {
        self.new_context_at(uri, Instant::now())
    }

    /// [`new_context`](Self::new_context) with its timings measured from `origin` (an
    /// instant the caller just read: one clock read fewer).
    fn new_context_at(&self, uri: &Uri, origin: Instant) -> CallContext {
        let (listener, heard) = match &self.shared.settings.listeners {
            Some(factory) => (factory.create(uri), true),
            None => (NO_EVENTS.clone(), false),
        };
        let recorder = TimingsRecorder::with_origin(listener, origin);
        CallContext::recording(recorder, heard)
    }

    /// Runs one call through the dispatcher and the stack.
    pub(crate) fn send(
        &self,
        request: Request<RequestBody>,
    ) -> impl Future<Output = Result<http::Response<Body>, Error>> + Send + 'static + use<> {
        run(self.clone(), request, UriChecked::No)
    }

    /// [`send`](Self::send) for a request whose URI [`IntoUrl`](crate::IntoUrl) already
    /// checked (every URI a [`RequestBuilder`](crate::RequestBuilder) holds went through it).
    pub(crate) fn send_checked(
        &self,
        request: Request<RequestBody>,
    ) -> impl Future<Output = Result<http::Response<Body>, Error>> + Send + 'static + use<> {
        run(self.clone(), request, UriChecked::Yes)
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("dispatcher", &self.shared.dispatcher)
            .field("connections", &self.shared.pool.connection_count())
            .finish_non_exhaustive()
    }
}

/// The future of [`Client`] as a `tower::Service`.
pub type ClientFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<Body>, Error>> + Send + 'static>>;

impl<B> Service<Request<B>> for Client
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<Body>;
    type Error = Error;
    type Future = ClientFuture;

    /// Always ready: calls wait for their turn in the [`Dispatcher`] instead.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> ClientFuture {
        Box::pin(self.send(request.map(RequestBody::new)))
    }
}

/// Checks what every request needs before it goes anywhere: an `http` or `https` URL with a
/// host.
fn check_request(uri: &Uri) -> Result<(), Error> {
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    let host_ok = HostPort::uri_has_host(uri);
    if scheme_ok && host_ok {
        return Ok(());
    }
    let message = if scheme_ok {
        format!("the URL {uri} has no host")
    } else {
        format!("the URL {uri} is not an http or https URL")
    };
    Err(Error::new(ErrorKind::Builder, message).with_url(uri.to_string()))
}

/// Whether a request's URI was already found to be an `http` or `https` URL with a host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum UriChecked {
    Yes,
    No,
}

/// Runs one call: at its first poll the returned future sets up the call's context and call
/// watch and starts the call (`call_start`), waits for the call's turn in the dispatcher, then
/// sends it down the stack; both waits end early when the call is canceled or out of time.
///
/// Not an `async fn`: its future would hold the request several times over (an `async fn`
/// keeps each argument both as an argument and as a local, and so would a nested one), and
/// callers of [`Client`] as a `tower::Service` box it per call. The block below uses the
/// request it captures in place.
#[allow(clippy::manual_async_fn)]
fn run(
    client: Client,
    mut request: Request<RequestBody>,
    uri_checked: UriChecked,
) -> impl Future<Output = Result<http::Response<Body>, Error>> + Send + 'static {
    async move {
        // The call starts when its future is first polled, as it did when this was an
        // `async fn`: a future dropped unpolled reports nothing. Its context, call watch and
        // `call_start` share one clock read; in a block of its own, what sets the watch up
        // takes no room in the future.
        let mut watch = {
            let start = Instant::now();
            let context = match CallContext::of(request.extensions()) {
                Some(context) => context.clone(),
                None => {
                    let context = client.new_context_at(request.uri(), start);
                    request.extensions_mut().insert(context.clone());
                    context
                }
            };
            let timeout = request
                .extensions()
                .get::<CallTimeout>()
                .map(|timeout| timeout.0)
                .or(client.shared.settings.call_timeout)
                .filter(|timeout| !timeout.is_zero());
            // The listener and the timings are the context's, reached through the watch: the
            // future holds no copy of them.
            let watch = CallWatch::new(context, timeout, start, request.uri().clone());
            match watch.context().recorder() {
                Some(recorder) => recorder.call_start_at(start, request.uri()),
                None => watch.context().listener().call_start(request.uri()),
            }
            watch
        };
        let error = 'fail: {
            if uri_checked == UriChecked::No
                && let Err(error) = check_request(request.uri())
            {
                break 'fail error;
            }
            if let Some(error) = watch.interrupted() {
                break 'fail error;
            }
            // The stack and the context are only needed until the call is made: in a block of
            // their own, they take no room in the future while it runs. The slot is assigned
            // in the block rather than returned with the call's future in a tuple, which would
            // copy that future (about 500 bytes) twice more.
            let slot;
            let call = {
                let context = watch.context().clone();
                let admit = client.shared.dispatcher.admit(request.uri(), &context);
                slot = match interruptible(&mut watch, admit).await {
                    Ok(slot) => slot,
                    Err(error) => break 'fail error,
                };
                let mut stack = client.shared.stack.clone();
                let ready = poll_fn(|cx| stack.poll_ready(cx));
                if let Err(error) = interruptible(&mut watch, ready).await {
                    break 'fail error;
                }
                stack.call(request)
            };
            match interruptible(&mut watch, call).await {
                // The response is finished where it lands, not moved through a result.
                Ok(mut response) => {
                    // The guard keeps the call's URL and context: `Response::url` reads the
                    // URL there when no follow-up put a `FinalUri` in the extensions, and
                    // `Response::call_timings` the context's timings (in the extensions they
                    // would cost an allocation per call).
                    response
                        .body_mut()
                        .guard(Box::new(CallGuard::new(watch, Some(slot))));
                    return Ok(response);
                }
                Err(error) => error,
            }
        };
        watch.context().listener().call_failed(&error);
        Err(error)
    }
}

pin_project_lite::pin_project! {
    /// Runs `future` until it ends or the call is canceled or out of time. When the future
    /// fails because the call was interrupted, the interruption is the error. A plain struct
    /// rather than an `async fn`, so that the future is stored once, in place.
    struct Interruptible<'w, F> {
        watch: &'w mut CallWatch,
        #[pin]
        future: F,
    }
}

fn interruptible<F>(watch: &mut CallWatch, future: F) -> Interruptible<'_, F> {
    Interruptible { watch, future }
}

impl<F, T> Future for Interruptible<'_, F>
where
    F: Future<Output = Result<T, Error>>,
{
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(outcome) = this.future.poll(cx) {
            return Poll::Ready(outcome.map_err(|error| this.watch.interrupted().unwrap_or(error)));
        }
        this.watch.poll_interrupt(cx).map(Err)
    }
}

/// How long the call may take at most, in a request's extensions; wins over the client's
/// [`call_timeout`](ClientBuilder::call_timeout). [`RequestBuilder::timeout`] sets it.
///
/// ```
/// use std::time::Duration;
/// use oktower::CallTimeout;
///
/// let mut request = http::Request::get("https://example.com/").body(()).unwrap();
/// request.extensions_mut().insert(CallTimeout(Duration::from_secs(2)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallTimeout(pub Duration);

#[cfg(test)]
mod future_size_tests {
    use super::*;

    use crate::future_size::size_of_output;

    /// The `tower::Service` impl boxes this future on every call, and every caller moves it: it
    /// was 4.9 KB when the call-watch wrapper was an `async fn` holding its future twice, and
    /// 1.9 KB when `run` was an `async fn` holding its request four times. Above about 1 KB its
    /// allocation and its free leave glibc's per-thread cache for the slow path.
    #[test]
    #[allow(unreachable_code, clippy::diverging_sub_expression)]
    fn a_call_future_stays_small() {
        let size = size_of_output(|| run(unreachable!(), unreachable!(), UriChecked::No));
        assert!(size <= 1024, "the call future grew to {size} bytes");
    }
}
