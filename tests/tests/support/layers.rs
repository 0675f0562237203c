//! Tower layers the client tests put into a client's stack: one that records what it sees,
//! one that measures how many requests are in flight at once.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use http::{Request, Uri};
use oktower::{ConnectionInfo, Exchange};
use tower_layer::Layer;
use tower_service::Service;

/// One request as a layer saw it.
#[derive(Clone, Debug)]
pub struct SeenRequest {
    pub uri: Uri,
    pub headers: http::HeaderMap,
    /// The id of the `ConnectionInfo` in the request's extensions (network layers only).
    pub connection: Option<u64>,
    /// The id of the connection of the `Exchange` in the request's extensions.
    pub exchange_connection: Option<u64>,
}

/// Records every request that passes; clones share the record.
#[derive(Clone, Default)]
pub struct Seen {
    requests: Arc<Mutex<Vec<SeenRequest>>>,
}

impl Seen {
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.requests.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

impl<S> Layer<S> for Seen {
    type Service = Seeing<S>;

    fn layer(&self, inner: S) -> Seeing<S> {
        Seeing {
            inner,
            seen: self.clone(),
        }
    }
}

/// The service of [`Seen`].
#[derive(Clone)]
pub struct Seeing<S> {
    inner: S,
    seen: Seen,
}

impl<S, B> Service<Request<B>> for Seeing<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> S::Future {
        let extensions = request.extensions();
        let seen = SeenRequest {
            uri: request.uri().clone(),
            headers: request.headers().clone(),
            connection: extensions.get::<ConnectionInfo>().map(ConnectionInfo::id),
            exchange_connection: extensions.get::<Exchange>().map(|e| e.info().id()),
        };
        self.seen.requests.lock().unwrap().push(seen);
        self.inner.call(request)
    }
}

/// How many requests were in flight at once (from the call into the layer to the response
/// head), in all and per host; clones share the counts.
#[derive(Clone, Default)]
pub struct InFlight {
    counts: Arc<Mutex<InFlightCounts>>,
}

#[derive(Default)]
struct InFlightCounts {
    now: usize,
    max: usize,
    now_per_host: HashMap<String, usize>,
    max_per_host: HashMap<String, usize>,
    done: usize,
}

impl InFlight {
    /// The most requests in flight at once.
    pub fn max(&self) -> usize {
        self.counts.lock().unwrap().max
    }

    /// The most requests to one host in flight at once, for each host.
    pub fn max_per_host(&self) -> HashMap<String, usize> {
        self.counts.lock().unwrap().max_per_host.clone()
    }

    /// How many requests got their response head.
    pub fn done(&self) -> usize {
        self.counts.lock().unwrap().done
    }

    fn enter(&self, host: &str) {
        let mut counts = self.counts.lock().unwrap();
        counts.now += 1;
        counts.max = counts.max.max(counts.now);
        let now = {
            let now = counts.now_per_host.entry(host.to_owned()).or_default();
            *now += 1;
            *now
        };
        let max = counts.max_per_host.entry(host.to_owned()).or_default();
        *max = (*max).max(now);
    }

    fn leave(&self, host: &str) {
        let mut counts = self.counts.lock().unwrap();
        counts.now -= 1;
        counts.done += 1;
        if let Some(now) = counts.now_per_host.get_mut(host) {
            *now -= 1;
        }
    }
}

impl<S> Layer<S> for InFlight {
    type Service = Counting<S>;

    fn layer(&self, inner: S) -> Counting<S> {
        Counting {
            inner,
            in_flight: self.clone(),
        }
    }
}

/// The service of [`InFlight`].
#[derive(Clone)]
pub struct Counting<S> {
    inner: S,
    in_flight: InFlight,
}

/// Leaves the count when dropped, however the request ends.
struct Leave {
    in_flight: InFlight,
    host: String,
}

impl Drop for Leave {
    fn drop(&mut self) {
        self.in_flight.leave(&self.host);
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> Service<Request<B>> for Counting<S>
where
    S: Service<Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let host = request.uri().host().unwrap_or_default().to_owned();
        self.in_flight.enter(&host);
        let leave = Leave {
            in_flight: self.in_flight.clone(),
            host,
        };
        let future = self.inner.call(request);
        Box::pin(async move {
            let _leave = leave;
            future.await
        })
    }
}
