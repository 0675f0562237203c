//! `DispatcherLayer`: puts a service's calls through a [`Dispatcher`].

use tower_layer::Layer;

use super::{Dispatched, Dispatcher};

/// Wraps a service in [`Dispatched`], so that its calls wait for a slot of `dispatcher`.
/// Every service made by one layer (and by its clones) shares the dispatcher.
///
/// ```
/// use oktower::{Dispatcher, DispatcherLayer};
///
/// let dispatcher = Dispatcher::with_limits(16, 4);
/// let stack = tower::ServiceBuilder::new()
///     .layer(DispatcherLayer::new(dispatcher.clone()))
///     .service(tower::service_fn(|_request: http::Request<()>| async {
///         Ok::<_, oktower::Error>(http::Response::new(()))
///     }));
/// assert_eq!(stack.dispatcher().max_requests(), 16);
/// ```
#[derive(Clone, Debug, Default)]
pub struct DispatcherLayer {
    dispatcher: Dispatcher,
}

impl DispatcherLayer {
    /// A layer that admits calls through `dispatcher`.
    pub fn new(dispatcher: Dispatcher) -> Self {
        DispatcherLayer { dispatcher }
    }

    /// The dispatcher.
    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }
}

impl<S> Layer<S> for DispatcherLayer {
    type Service = Dispatched<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Dispatched::new(inner, self.dispatcher.clone())
    }
}
