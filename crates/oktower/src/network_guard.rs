//! The checks around the user's network layers: they call the service below exactly once per
//! request, and do not move the request to another host or port (the connection was chosen for
//! it already).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Uri};
use tower_service::Service;

use crate::stack::NetworkResponse;
use crate::{Error, ErrorKind, Exchange, RequestBody};

/// The host and port a request had when it entered the network layers.
#[derive(Clone, Debug)]
struct EnteredAuthority {
    host: String,
    port: Option<u16>,
}

fn authority_of(uri: &Uri) -> EnteredAuthority {
    EnteredAuthority {
        host: uri.host().unwrap_or_default().to_owned(),
        port: uri.port_u16(),
    }
}

/// Above the user's network layers: records the request's host and port, and after the layers
/// answered, fails the request if they never called the service below.
#[derive(Clone, Debug)]
pub struct NetworkEntry<S> {
    inner: S,
}

impl<S> NetworkEntry<S> {
    pub(crate) fn new(inner: S) -> Self {
        NetworkEntry { inner }
    }
}

impl<S> Service<Request<RequestBody>> for NetworkEntry<S>
where
    S: Service<Request<RequestBody>, Response = NetworkResponse, Error = Error>,
    S::Future: Send + 'static,
{
    type Response = NetworkResponse;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<NetworkResponse, Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<RequestBody>) -> Self::Future {
        let exchange = request.extensions().get::<Exchange>().cloned();
        if let Some(exchange) = &exchange {
            // Network layers read the connection from the request, as the builder promises.
            request.extensions_mut().insert(exchange.info().clone());
        }
        let entered = authority_of(request.uri());
        request.extensions_mut().insert(entered);
        let future = self.inner.call(request);
        Box::pin(async move {
            let result = future.await;
            // A lease still in the exchange means nobody sent the request on it.
            let Some(exchange) = exchange else {
                return result;
            };
            let Some(lease) = exchange.take_lease() else {
                return result;
            };
            lease.release(false);
            let error = match result {
                Ok(_) => {
                    let message = "a network layer answered without calling the service below: \
                                   network layers must call it exactly once";
                    Error::new(ErrorKind::Builder, message)
                }
                Err(error) => error,
            };
            Err(exchange.report_release(error))
        })
    }
}

/// Below the user's network layers, over the call server: fails a request whose host or port
/// a network layer changed.
#[derive(Clone, Debug)]
pub struct NetworkExit<S> {
    inner: S,
}

impl<S> NetworkExit<S> {
    pub(crate) fn new(inner: S) -> Self {
        NetworkExit { inner }
    }
}

impl<S> Service<Request<RequestBody>> for NetworkExit<S>
where
    S: Service<Request<RequestBody>, Response = NetworkResponse, Error = Error>,
    S::Future: Send + 'static,
{
    type Response = NetworkResponse;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<NetworkResponse, Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<RequestBody>) -> Self::Future {
        if let Some(entered) = request.extensions().get::<EnteredAuthority>() {
            let host = request.uri().host().unwrap_or_default();
            let port = request.uri().port_u16();
            if !host.eq_ignore_ascii_case(&entered.host) || port != entered.port {
                let message = format!(
                    "a network layer changed the request's host or port from {}:{:?} to {host}:{port:?}; \
                     network layers must keep them (the connection is already chosen)",
                    entered.host, entered.port
                );
                let mut error =
                    Error::new(ErrorKind::Builder, message).with_url(request.uri().to_string());
                if let Some(exchange) = request.extensions().get::<Exchange>()
                    && let Some(lease) = exchange.take_lease()
                {
                    lease.release(false);
                    error = exchange.report_release(error);
                }
                return Box::pin(std::future::ready(Err(error)));
            }
        }
        Box::pin(self.inner.call(request))
    }
}
