//! HTTP/2 pings (OkHttp's `pingInterval`): an idle connection whose peer answers them stays in
//! the pool; one whose peer stops answering is closed once the read timeout passes without a
//! pong, and is never handed out again.

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http2;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use oktower::{Client, Protocol};
use support::*;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// An h2c server on 127.0.0.1 that answers every request with `ok`. [`PingServer::freeze`]
/// stops serving the connections open at that moment: their frames are no longer read, so
/// their pings are no longer answered, while their sockets stay open.
struct PingServer {
    address: SocketAddr,
    accepted: Arc<AtomicUsize>,
    /// Canceled by `freeze`, for the connections accepted until then.
    freeze: Arc<Mutex<CancellationToken>>,
}

impl PingServer {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let freeze = Arc::new(Mutex::new(CancellationToken::new()));
        let (count, tokens) = (accepted.clone(), freeze.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let frozen = tokens.lock().unwrap().clone();
                let service = service_fn(|_request| async {
                    Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from("ok"))))
                });
                let connection = http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service);
                tokio::spawn(async move {
                    let mut connection = std::pin::pin!(connection);
                    tokio::select! {
                        _ = &mut connection => {}
                        // Still held, never polled again: the socket stays open and silent.
                        () = frozen.cancelled() => std::future::pending::<()>().await,
                    }
                });
            }
        });
        PingServer {
            address,
            accepted,
            freeze,
        }
    }

    fn freeze(&self) {
        let mut token = self.freeze.lock().unwrap();
        token.cancel();
        *token = CancellationToken::new();
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    fn url(&self) -> String {
        format!("http://a.test:{}/", self.address.port())
    }
}

fn h2_client(ping_interval: Duration, read_timeout: Duration) -> Client {
    client_builder(&["a.test"], &Arc::new(Events::default()))
        .protocols(&[Protocol::H2PriorKnowledge])
        .ping_interval(ping_interval)
        .read_timeout(read_timeout)
        .build()
        .unwrap()
}

async fn get_ok(client: &Client, url: &str) {
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn an_idle_connection_whose_peer_answers_pings_is_kept_and_reused() {
    let server = PingServer::start().await;
    let client = h2_client(Duration::from_millis(50), Duration::from_millis(500));
    get_ok(&client, &server.url()).await;
    // Many ping intervals and twice the read timeout, idle.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(client.connection_pool().connection_count(), 1);
    get_ok(&client, &server.url()).await;
    assert_eq!(server.accepted(), 1, "the pinged connection was reused");
}

#[tokio::test]
async fn a_connection_whose_pong_is_late_is_closed_and_not_handed_out() {
    let server = PingServer::start().await;
    let client = h2_client(Duration::from_millis(50), Duration::from_millis(200));
    get_ok(&client, &server.url()).await;
    assert_eq!(client.connection_pool().connection_count(), 1);
    server.freeze();
    let mut waited = Duration::ZERO;
    while client.connection_pool().connection_count() > 0 {
        assert!(
            waited < Duration::from_secs(5),
            "the silent connection is still pooled"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += Duration::from_millis(20);
    }
    // A ping sent up to one interval before the freeze may be the one that goes unanswered.
    assert!(
        waited >= Duration::from_millis(140),
        "closed after {waited:?}: before a ping could go unanswered for the read timeout"
    );
    get_ok(&client, &server.url()).await;
    assert_eq!(
        server.accepted(),
        2,
        "the next call opened a new connection"
    );
}

/// Without pings, the same silent peer goes unnoticed while the connection is idle: the pings
/// are what found it above.
#[tokio::test]
async fn without_pings_a_silent_idle_connection_stays_pooled() {
    let server = PingServer::start().await;
    let client = client_builder(&["a.test"], &Arc::new(Events::default()))
        .protocols(&[Protocol::H2PriorKnowledge])
        .read_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    get_ok(&client, &server.url()).await;
    server.freeze();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(client.connection_pool().connection_count(), 1);
}

/// A ping interval and a read timeout too long for the clock do not break the connection.
#[tokio::test]
async fn a_ping_interval_too_long_for_the_clock_is_harmless() {
    let server = PingServer::start().await;
    let client = h2_client(Duration::MAX, Duration::MAX);
    get_ok(&client, &server.url()).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    get_ok(&client, &server.url()).await;
    assert_eq!(server.accepted(), 1);
}
