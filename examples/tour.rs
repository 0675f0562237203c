//! A tour of what oktower has today, offline: it starts oktower-testkit's MockWebServer on
//! loopback with TLS and HTTP/2, talks to it with hyper over rustls, and shows what the server
//! recorded and the faults it can commit.
//!
//! Run it with `cargo run -p oktower-examples --example tour`.

use std::error::Error;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use oktower_testkit::{Fault, MockResponse, MockWebServer, TestCertificates};
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

type BoxError = Box<dyn Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // 1. A TLS server offering h2 and http/1.1 by ALPN, with certificates made just now.
    let certificates = TestCertificates::localhost()?;
    let server = MockWebServer::builder()
        .tls(certificates.server_tls())
        .start()
        .await?;
    println!("MockWebServer listening at {}", server.url("/"));

    server.enqueue(
        MockResponse::new()
            .header("Content-Type", "text/plain")
            .body("hello from the mock server"),
    );
    server.enqueue(
        MockResponse::new()
            .body("this body is cut short by a scripted fault")
            .with_fault(Fault::DisconnectDuringResponseBody { after_bytes: 9 }),
    );

    // 2. One TLS connection; ALPN decides the protocol.
    let tcp = TcpStream::connect(server.socket_addr()).await?;
    tcp.set_nodelay(true)?;
    let config = certificates.client_config(&[b"h2", b"http/1.1"]);
    let tls = TlsConnector::from(config)
        .connect(ServerName::try_from("localhost")?, tcp)
        .await?;
    let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    println!(
        "TLS handshake done, ALPN chose {}",
        String::from_utf8_lossy(alpn.as_deref().unwrap_or(b"(none)"))
    );
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls)).await?;
    tokio::spawn(connection);

    // 3. A normal exchange.
    let request = http::Request::get(server.url("/hello")).body(Empty::<Bytes>::new())?;
    let response = sender.send_request(request).await?;
    println!(
        "GET /hello -> {:?} {}",
        response.version(),
        response.status()
    );
    let body = response.into_body().collect().await?.to_bytes();
    println!("  body: {:?}", String::from_utf8_lossy(&body));

    // 4. What the server recorded.
    let recorded = server
        .take_request(Duration::from_secs(5))
        .await
        .ok_or("the server recorded no request")?;
    println!(
        "server saw: {} {} {:?}, SNI {:?}, connection #{} exchange #{}",
        recorded.method(),
        recorded.path(),
        recorded.version(),
        recorded.sni(),
        recorded.connection_index(),
        recorded.exchange_index(),
    );

    // 5. A fault: the connection dies after 9 body bytes.
    let request = http::Request::get(server.url("/fragile")).body(Empty::<Bytes>::new())?;
    let response = sender.send_request(request).await?;
    println!("GET /fragile -> {}", response.status());
    match response.into_body().collect().await {
        Ok(body) => println!("  unexpectedly complete: {:?}", body.to_bytes()),
        Err(error) => println!("  body failed as scripted: {error}"),
    }

    println!(
        "server totals: {} requests on {} connection(s)",
        server.request_count(),
        server.connection_count()
    );
    server.shutdown().await?;
    Ok(())
}
