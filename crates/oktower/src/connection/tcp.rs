//! Opening TCP connections: the injectable [`TcpConnector`], the system one, and
//! `connect_tcp`, OkHttp's `ConnectPlan.connectTcp`.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};

use crate::{Error, ErrorKind, EventListener, Route};

/// A byte stream a connection runs on: a TCP socket, a TLS stream over one, a proxy tunnel, or
/// an in-memory stream in tests. Implemented for every type with these bounds.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

/// A boxed [`Io`] stream.
pub type BoxedIo = Box<dyn Io>;

/// The future a [`TcpConnector`] returns.
pub type TcpConnectFuture = Pin<Box<dyn Future<Output = io::Result<BoxedIo>> + Send + 'static>>;

/// Opens TCP connections. The default is [`SystemTcp`]; tests inject connectors that refuse,
/// stall or blackhole chosen addresses without touching the network.
///
/// Dropping the returned future must abandon the attempt and close its socket: that is how the
/// losers of a happy-eyeballs race are cancelled.
///
/// ```
/// use std::io;
/// use std::net::SocketAddr;
/// use oktower::{TcpConnectFuture, TcpConnector};
///
/// /// Refuses every connection, as a host with no listener would.
/// struct Refusing;
///
/// impl TcpConnector for Refusing {
///     fn connect(&self, _addr: SocketAddr) -> TcpConnectFuture {
///         Box::pin(async { Err(io::Error::from(io::ErrorKind::ConnectionRefused)) })
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let error = Refusing.connect("127.0.0.1:9".parse().unwrap()).await.err().unwrap();
/// assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
/// # }
/// ```
pub trait TcpConnector: Send + Sync + 'static {
    /// Connects to `addr`.
    fn connect(&self, addr: SocketAddr) -> TcpConnectFuture;
}

impl<T: TcpConnector + ?Sized> TcpConnector for Arc<T> {
    fn connect(&self, addr: SocketAddr) -> TcpConnectFuture {
        (**self).connect(addr)
    }
}

/// The operating system's TCP, through `tokio::net::TcpStream`, with `TCP_NODELAY` set (requests
/// are written whole, so Nagle's algorithm only adds latency).
///
/// ```
/// use oktower::{SystemTcp, TcpConnector};
/// use tokio::io::AsyncWriteExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let mut stream = SystemTcp.connect(listener.local_addr()?).await?;
/// stream.write_all(b"hello").await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemTcp;

impl TcpConnector for SystemTcp {
    fn connect(&self, addr: SocketAddr) -> TcpConnectFuture {
        Box::pin(async move {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            Ok(Box::new(stream) as BoxedIo)
        })
    }
}

/// Opens TCP to `route`'s socket address with `connector`, within `connect_timeout` if one is
/// set, firing `connect_start` first.
///
/// On failure `connect_failed` fires and, when the proxy came from the address's
/// [`ProxySelector`](crate::ProxySelector), the selector hears of it. Failures are
/// [`ErrorKind::Connect`] ("Failed to connect to ...") or [`ErrorKind::Timeout`], naming the
/// route. If the returned future is dropped before it completes (a happy-eyeballs loser, a
/// cancelled call), the socket is closed and `connect_failed` fires with
/// [`ErrorKind::Canceled`], as OkHttp reports a cancelled plan.
///
/// `connect_end` is not fired here: the connection is only ready after the tunnel, TLS and the
/// protocol handshake, which the caller runs.
pub(crate) async fn connect_tcp(
    route: &Route,
    connector: &dyn TcpConnector,
    connect_timeout: Option<Duration>,
    listener: &dyn EventListener,
) -> Result<BoxedIo, Error> {
    let addr = route.socket_addr();
    listener.connect_start(addr, route.proxy());
    let mut attempt = Attempt {
        route,
        listener,
        finished: false,
    };
    let connecting = connector.connect(addr);
    let connected = match connect_timeout {
        Some(limit) => match tokio::time::timeout(limit, connecting).await {
            Ok(connected) => connected.map_err(|error| connect_error(route, error)),
            Err(_elapsed) => Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "Timed out connecting to {addr} after {limit:?} ({})",
                    describe(route)
                ),
            )),
        },
        None => connecting
            .await
            .map_err(|error| connect_error(route, error)),
    };
    attempt.finished = true;
    if let Err(error) = &connected {
        if route.address().proxy().is_none() && !route.proxy().is_direct() {
            let selector = route.address().proxy_selector();
            selector.connect_failed(route.address().uri(), route.proxy(), error);
        }
        listener.connect_failed(addr, route.proxy(), None, error);
    }
    connected
}

fn connect_error(route: &Route, error: io::Error) -> Error {
    Error::from_io(
        ErrorKind::Connect,
        format!(
            "Failed to connect to {} ({})",
            route.socket_addr(),
            describe(route)
        ),
        error,
    )
}

/// `http://host:port via PROXY`: the route without its socket address, which the messages
/// name first.
fn describe(route: &Route) -> String {
    format!("{} via {}", route.address(), route.proxy())
}

/// Reports a connect attempt dropped before it finished.
struct Attempt<'a> {
    route: &'a Route,
    listener: &'a dyn EventListener,
    finished: bool,
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.finished {
            let addr = self.route.socket_addr();
            let error = Error::new(
                ErrorKind::Canceled,
                format!("Canceled connecting to {addr} ({})", describe(self.route)),
            );
            self.listener
                .connect_failed(addr, self.route.proxy(), None, &error);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Address, NoProxy, Proxy, ProxySelector, Scheme, SystemDns};
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recorder {
        events: Mutex<Vec<String>>,
    }

    impl Recorder {
        fn events(&self) -> Vec<String> {
            self.events.lock().unwrap().clone()
        }
    }

    impl EventListener for Recorder {
        fn connect_start(&self, addr: SocketAddr, _proxy: &Proxy) {
            self.events.lock().unwrap().push(format!("start {addr}"));
        }
        fn connect_failed(
            &self,
            addr: SocketAddr,
            _: &Proxy,
            _: Option<crate::Protocol>,
            e: &Error,
        ) {
            let kind = e.kind();
            self.events
                .lock()
                .unwrap()
                .push(format!("failed {addr} {kind:?}"));
        }
    }

    impl ProxySelector for Recorder {
        fn select(&self, _uri: &http::Uri) -> Vec<Proxy> {
            vec![Proxy::http("127.0.0.1", 9)]
        }
        fn connect_failed(&self, uri: &http::Uri, proxy: &Proxy, _error: &Error) {
            self.events
                .lock()
                .unwrap()
                .push(format!("selector {uri} {proxy}"));
        }
    }

    struct Blackhole;

    impl TcpConnector for Blackhole {
        fn connect(&self, _addr: SocketAddr) -> TcpConnectFuture {
            Box::pin(std::future::pending())
        }
    }

    fn route(selector: Arc<dyn ProxySelector>, proxy: Proxy, addr: &str) -> Route {
        let address = Address::builder(Scheme::Http, "a.test", 80, Arc::new(SystemDns), selector);
        Route::new(address.build(), proxy, addr.parse().unwrap())
    }

    #[tokio::test]
    async fn a_refused_connect_names_the_route_and_tells_the_selector() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let recorder = Arc::new(Recorder::default());
        let proxy = Proxy::http("127.0.0.1", addr.port());
        let route = route(recorder.clone(), proxy, &addr.to_string());
        let error = connect_tcp(&route, &SystemTcp, None, &*recorder)
            .await
            .err()
            .unwrap();
        assert!(error.is_connect(), "{error:?}");
        assert_eq!(
            error.message(),
            format!("Failed to connect to {addr} (http://a.test:80 via http://{addr})")
        );
        assert_eq!(
            recorder.events(),
            [
                format!("start {addr}"),
                format!("selector http://a.test:80/ http://{addr}"),
                format!("failed {addr} Connect"),
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_blackholed_connect_times_out() {
        let recorder = Arc::new(Recorder::default());
        let route = route(Arc::new(NoProxy), Proxy::Direct, "127.0.0.1:9");
        let started = tokio::time::Instant::now();
        let error = connect_tcp(&route, &Blackhole, Some(Duration::from_secs(3)), &*recorder)
            .await
            .err()
            .unwrap();
        assert_eq!(started.elapsed(), Duration::from_secs(3));
        assert!(error.is_timeout(), "{error:?}");
        assert!(error.message().contains("127.0.0.1:9"), "{error}");
        assert_eq!(
            recorder.events(),
            ["start 127.0.0.1:9", "failed 127.0.0.1:9 Timeout"]
        );
    }

    #[tokio::test]
    async fn a_dropped_connect_reports_cancellation() {
        let recorder = Arc::new(Recorder::default());
        let route = route(Arc::new(NoProxy), Proxy::Direct, "127.0.0.1:9");
        let mut connecting = Box::pin(connect_tcp(&route, &Blackhole, None, &*recorder));
        assert!(futures_poll_once(connecting.as_mut()).await.is_none());
        drop(connecting);
        assert_eq!(
            recorder.events(),
            ["start 127.0.0.1:9", "failed 127.0.0.1:9 Canceled"]
        );
    }

    #[tokio::test]
    async fn the_system_connector_reaches_a_listener() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let route = route(Arc::new(NoProxy), Proxy::Direct, &addr.to_string());
        let (connected, accepted) = tokio::join!(
            connect_tcp(
                &route,
                &SystemTcp,
                Some(Duration::from_secs(5)),
                &crate::NoEvents
            ),
            listener.accept()
        );
        connected.unwrap();
        accepted.unwrap();
    }

    /// Polls `future` once, returning its output if it was ready.
    async fn futures_poll_once<F: Future + Unpin>(mut future: F) -> Option<F::Output> {
        std::future::poll_fn(|cx| {
            std::task::Poll::Ready(match Pin::new(&mut future).poll(cx) {
                std::task::Poll::Ready(output) => Some(output),
                std::task::Poll::Pending => None,
            })
        })
        .await
    }
}
