//! [`Call`]: one request, ready to execute once, enqueue, or cancel from anywhere.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use http::{Request, Uri};

use crate::call_future::CallFuture;
use crate::{CallContext, Client, Error, ErrorKind, RequestBody, Response};

/// A request prepared for execution, OkHttp's `Call`.
///
/// Execute it once with [`execute`](Self::execute), or run it on the tokio runtime with
/// [`enqueue`](Self::enqueue). [`cancel`](Self::cancel) works from any task or thread, at any
/// time: before the call starts (it then fails at once), while it waits in the dispatcher,
/// connects, or waits for the server (the awaiting side gets an
/// [`ErrorKind::Canceled`] error), and while its body is read (the next read fails promptly
/// and the connection is closed). Clones are the same call.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), oktower::Error> {
/// let client = oktower::Client::new()?;
/// let request = http::Request::get("https://example.com/").body(oktower::RequestBody::empty()).unwrap();
/// let call = client.new_call(request);
/// let canceler = call.clone();
/// tokio::spawn(async move { canceler.cancel() });
/// match call.execute().await {
///     Ok(response) => println!("{}", response.status()),
///     Err(error) if error.is_canceled() => println!("canceled"),
///     Err(error) => return Err(error),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Call {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    uri: Uri,
    context: CallContext,
    request: Mutex<Option<Request<RequestBody>>>,
    executed: AtomicBool,
}

impl Call {
    pub(crate) fn new(client: Client, mut request: Request<RequestBody>) -> Self {
        let uri = request.uri().clone();
        // A context the caller put on the request (its own listener or token) is kept.
        let context = match CallContext::of(request.extensions()) {
            Some(context) => context.clone(),
            None => {
                let context = client.new_context(&uri);
                request.extensions_mut().insert(context.clone());
                context
            }
        };
        Call {
            inner: Arc::new(Inner {
                client,
                uri,
                context,
                request: Mutex::new(Some(request)),
                executed: AtomicBool::new(false),
            }),
        }
    }

    /// The URL the call was made for.
    pub fn uri(&self) -> &Uri {
        &self.inner.uri
    }

    /// Sends the request and waits for the response head. A call executes once: the second
    /// time (or after [`enqueue`](Self::enqueue)) this fails with an
    /// [`ErrorKind::Builder`] error, "Already Executed".
    pub fn execute(
        &self,
    ) -> impl Future<Output = Result<Response, Error>> + Send + 'static + use<> {
        let client = &self.inner.client;
        CallFuture::new(self.take_request().map(|request| client.send(request)))
    }

    /// Runs the call on the current tokio runtime and hands its outcome to `callback`; the
    /// returned handle awaits its end. Outside a tokio runtime the callback gets an
    /// [`ErrorKind::Builder`] error at once.
    pub fn enqueue<F>(&self, callback: F) -> Option<tokio::task::JoinHandle<()>>
    where
        F: FnOnce(Result<Response, Error>) + Send + 'static,
    {
        let request = match self.take_request() {
            Ok(request) => request,
            Err(error) => {
                callback(Err(error));
                return None;
            }
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            let message = "Call::enqueue needs a tokio runtime";
            callback(Err(Error::new(ErrorKind::Builder, message)));
            return None;
        };
        let sending = self.inner.client.send(request);
        Some(runtime.spawn(async move {
            callback(sending.await.map(Response::new));
        }))
    }

    /// Cancels the call. Idempotent; the first cancel reports `canceled` to the call's
    /// listener.
    pub fn cancel(&self) {
        self.inner.context.cancel();
    }

    /// Whether the call was canceled (by [`cancel`](Self::cancel), the dispatcher's
    /// `cancel_all`, or its call timeout).
    pub fn is_canceled(&self) -> bool {
        self.inner.context.is_canceled()
    }

    /// Whether the call was executed or enqueued.
    pub fn is_executed(&self) -> bool {
        self.inner.executed.load(Ordering::Acquire)
    }

    fn take_request(&self) -> Result<Request<RequestBody>, Error> {
        let taken = match self.inner.request.lock() {
            Ok(mut request) => request.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        self.inner.executed.store(true, Ordering::Release);
        taken.ok_or_else(|| {
            Error::new(ErrorKind::Builder, "Already Executed").with_url(self.inner.uri.to_string())
        })
    }
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("uri", &self.inner.uri)
            .field("executed", &self.is_executed())
            .field("canceled", &self.is_canceled())
            .finish()
    }
}
