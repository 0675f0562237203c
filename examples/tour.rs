//! A tour of oktower, offline: it starts oktower-testkit's MockWebServer on 127.0.0.1 with TLS
//! (certificates made just now for `a.test` and `b.test`) and HTTP/2, points a `Client` at it
//! with a DNS override, and shows the stack at work: a GET with its timings, a redirect,
//! transparent gzip, two host names coalesced onto one HTTP/2 connection, an application and
//! a network layer logging, and the response cache answering a hit and a conditional hit.
//!
//! Run it with `cargo run -p oktower-examples --example tour`.

use std::error::Error;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr};

use flate2::Compression;
use flate2::write::GzEncoder;
use oktower::{
    CacheLayer, Client, DnsOverride, Exchange, MemoryStore, Proxy, RequestBody, TlsConfig,
};
use oktower_testkit::{MockResponse, MockWebServer, RecordedRequest, TestCertificates};
use tower::ServiceBuilder;

type BoxError = Box<dyn Error + Send + Sync>;

/// What the server answers, by path.
fn answer(request: &RecordedRequest) -> MockResponse {
    match request.path() {
        "/hello" => MockResponse::new()
            .header("Content-Type", "text/plain; charset=utf-8")
            .body("hello from the mock server"),
        "/old" => MockResponse::new().status(302).header("Location", "/new"),
        "/new" => MockResponse::new().body("you were redirected here"),
        "/gzip" => {
            let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
            let text = "squeezed ".repeat(100);
            encoder
                .write_all(text.as_bytes())
                .expect("gzip into memory");
            MockResponse::new()
                .header("Content-Encoding", "gzip")
                .body(encoder.finish().expect("gzip into memory"))
        }
        "/fresh" => MockResponse::new()
            .header("Cache-Control", "max-age=60")
            .body("cached for a minute"),
        "/validated" => match request.header("If-None-Match") {
            Some("\"v1\"") => MockResponse::new().status(304).header("ETag", "\"v1\""),
            _ => MockResponse::new()
                .header("Cache-Control", "no-cache")
                .header("ETag", "\"v1\"")
                .body("validated each time"),
        },
        _ => MockResponse::new().status(404),
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // 1. A TLS server for a.test and b.test, offering h2 and http/1.1 by ALPN.
    let certificates = TestCertificates::for_hosts(&["a.test", "b.test"])?;
    let server = MockWebServer::builder()
        .tls(certificates.server_tls())
        .dispatcher(answer)
        .start()
        .await?;
    println!("MockWebServer listening at {}", server.url("/"));
    let port = server.port();

    // 2. A client: DNS maps the fake hosts to loopback, TLS trusts the test root, and two
    //    layers log what they see.
    let loopback = [IpAddr::V4(Ipv4Addr::LOCALHOST)];
    let dns = DnsOverride::only()
        .with_host("a.test", loopback)
        .with_host("b.test", loopback);
    let tls = TlsConfig::builder()
        .without_platform_roots()
        .add_root_certificate(certificates.root().certificate_der().clone())
        .build()?;
    let client = Client::builder()
        .dns(dns)
        .proxy(Proxy::Direct)
        .tls(tls)
        .cache(CacheLayer::new(MemoryStore::new(1024 * 1024)))
        .layer(
            ServiceBuilder::new().map_request(|request: http::Request<RequestBody>| {
                println!(
                    "  [application layer] {} {}",
                    request.method(),
                    request.uri()
                );
                request
            }),
        )
        .network_layer(
            ServiceBuilder::new().map_request(|request: http::Request<RequestBody>| {
                let connection = request
                    .extensions()
                    .get::<Exchange>()
                    .map(|e| e.info().id());
                println!(
                    "  [network layer]     {} {} on connection {:?}",
                    request.method(),
                    request.uri(),
                    connection
                );
                request
            }),
        )
        .build()?;
    let url = |host: &str, path: &str| format!("https://{host}:{port}{path}");

    // 3. A GET, with its timings once the body is read.
    println!("\nGET /hello");
    let response = client.get(url("a.test", "/hello")).send().await?;
    let version = response.version();
    let status = response.status();
    let connection = response.connection().cloned();
    let timings = response.call_timings();
    let text = response.text().await?;
    println!("  -> {version:?} {status}: {text:?}");
    if let Some(connection) = &connection {
        println!(
            "  connection {} to {} ({:?}, TLS {:?})",
            connection.id(),
            connection.route().socket_addr(),
            connection.protocol(),
            connection.handshake().map(|h| h.tls_version())
        );
    }
    if let Some(timings) = timings {
        println!("  timings: {:?}", timings.timings());
    }

    // 4. A redirect: the prior response stays reachable.
    println!("\nGET /old");
    let response = client.get(url("a.test", "/old")).send().await?;
    let prior = response.prior_response().map(|prior| prior.status());
    println!(
        "  -> {} at {:?}, after {:?}",
        response.status(),
        response.url().map(ToString::to_string),
        prior
    );
    println!("  body: {:?}", response.text().await?);

    // 5. Transparent gzip: the bridge asked for it and decodes it.
    println!("\nGET /gzip");
    let response = client.get(url("a.test", "/gzip")).send().await?;
    let encoding = response.headers().get("content-encoding").cloned();
    let body = response.bytes().await?;
    println!(
        "  -> {} bytes after decoding (Content-Encoding left: {:?})",
        body.len(),
        encoding
    );

    // 6. Coalescing: b.test shares a.test's HTTP/2 connection (same IP, certificate covers it).
    println!("\nGET https://b.test/hello");
    let response = client.get(url("b.test", "/hello")).send().await?;
    let coalesced = response.connection().map(|c| (c.id(), c.is_coalesced()));
    response.bytes().await?;
    println!(
        "  -> connection (id, coalesced) = {coalesced:?}; pool holds {} connection(s)",
        client.connection_pool().connection_count()
    );

    // 7. The cache: a hit without the network, then a conditional hit (304).
    for path in ["/fresh", "/fresh", "/validated", "/validated"] {
        println!("\nGET {path}");
        let response = client.get(url("a.test", path)).send().await?;
        let outcome = response.cache_outcome();
        let sources = (
            response.cache_response().is_some(),
            response.network_response().is_some(),
        );
        println!(
            "  -> {} ({outcome:?}; cache response, network response: {sources:?})",
            response.status()
        );
        response.bytes().await?;
    }
    if let Some(cache) = client.cache() {
        println!("\ncache statistics: {:?}", cache.stats());
    }

    println!(
        "\nserver totals: {} requests on {} connection(s)",
        server.request_count(),
        server.connection_count()
    );
    server.shutdown().await?;
    Ok(())
}
