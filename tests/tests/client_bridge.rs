//! The Client's bridge end to end: cookies with `MemoryCookieJar` (across redirects too),
//! transparent decompression and when it stands aside, the decompressed size limit, and
//! request input that must be refused before anything is sent.

mod support;

use std::sync::Arc;

use http::{StatusCode, Uri};
use oktower::{CookieJar, ErrorKind, MemoryCookieJar, RequestBody};
use oktower_testkit::{MockResponse, MockWebServer};
use support::client::*;

fn url(server: &MockWebServer, host: &str, path: &str) -> String {
    server.url_with_host("http", host, path)
}

fn uri(text: &str) -> Uri {
    text.parse().unwrap()
}

/// A client for `hosts` keeping cookies in `jar`.
fn client_with_jar(hosts: &[&str], jar: &Arc<MemoryCookieJar>) -> oktower::Client {
    builder_for(hosts).cookie_jar(jar.clone()).build().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Cookies

#[tokio::test]
async fn cookies_received_are_stored_and_sent_back() {
    let server = MockWebServer::start().await.unwrap();
    let jar = Arc::new(MemoryCookieJar::new());
    let client = client_with_jar(&["a.test"], &jar);
    server.enqueue(
        MockResponse::new()
            .header("Set-Cookie", "session=42; Path=/")
            .header("Set-Cookie", "theme=dark; Path=/; Max-Age=3600")
            .body("hello"),
    );
    server.enqueue(MockResponse::new().body("again"));

    let response = client
        .get(url(&server, "a.test", "/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "hello");
    let stored = jar.cookies(&uri(&url(&server, "a.test", "/"))).unwrap();
    let mut names: Vec<&str> = stored.to_str().unwrap().split("; ").collect();
    names.sort_unstable();
    assert_eq!(names, ["session=42", "theme=dark"]);

    let response = client
        .get(url(&server, "a.test", "/account"))
        .header("cookie", "mine=1")
        .send()
        .await
        .unwrap();
    response.bytes().await.unwrap();
    assert_eq!(next_request(&server).await.header("cookie"), None);
    let second = next_request(&server).await;
    let sent: Vec<_> = second.header_all("cookie").collect();
    assert_eq!(sent.len(), 1, "one Cookie header: {sent:?}");
    let mut cookies: Vec<&str> = sent[0].to_str().unwrap().split("; ").collect();
    // The user's cookie comes first, then the jar's.
    assert_eq!(cookies.remove(0), "mine=1");
    cookies.sort_unstable();
    assert_eq!(cookies, ["session=42", "theme=dark"]);
    assert_pool(&client, 1);
}

#[tokio::test]
async fn a_cookie_for_a_public_suffix_is_rejected() {
    let server = MockWebServer::start().await.unwrap();
    let hosts = ["www.example.com", "shop.example.com", "elsewhere.com"];
    let jar = Arc::new(MemoryCookieJar::new());
    let client = client_with_jar(&hosts, &jar);
    server.enqueue(
        MockResponse::new()
            .header("Set-Cookie", "tracker=1; Domain=com; Path=/")
            .header("Set-Cookie", "site=1; Domain=example.com; Path=/")
            .header("Set-Cookie", "secure=1; Path=/; Secure"),
    );
    server.enqueue(MockResponse::new());
    server.enqueue(MockResponse::new());

    let response = client
        .get(url(&server, "www.example.com", "/"))
        .send()
        .await
        .unwrap();
    response.bytes().await.unwrap();
    // `Domain=com` is refused; `Secure` is refused over plain http.
    let shop = client
        .get(url(&server, "shop.example.com", "/"))
        .send()
        .await
        .unwrap();
    shop.bytes().await.unwrap();
    let elsewhere = client
        .get(url(&server, "elsewhere.com", "/"))
        .send()
        .await
        .unwrap();
    elsewhere.bytes().await.unwrap();

    next_request(&server).await;
    assert_eq!(next_request(&server).await.header("cookie"), Some("site=1"));
    assert_eq!(next_request(&server).await.header("cookie"), None);
    assert!(jar.cookies(&uri("http://elsewhere.com/")).is_none());
    assert_eq!(
        jar.cookies(&uri("http://www.example.com/")).unwrap(),
        "site=1"
    );
    assert_pool(&client, 3);
}

#[tokio::test]
async fn a_redirect_to_another_host_gets_only_that_hosts_cookies() {
    let server = MockWebServer::start().await.unwrap();
    let jar = Arc::new(MemoryCookieJar::new());
    assert!(jar.add_cookie_str("for_a=1; Path=/", &uri(&url(&server, "a.test", "/"))));
    assert!(jar.add_cookie_str("for_b=2; Path=/", &uri(&url(&server, "b.test", "/"))));
    let client = client_with_jar(&["a.test", "b.test"], &jar);
    server.enqueue(
        MockResponse::new()
            .status(302)
            .header("Location", url(&server, "b.test", "/landing")),
    );
    server.enqueue(MockResponse::new().body("b"));
    let response = client
        .get(url(&server, "a.test", "/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "b");
    assert_eq!(
        next_request(&server).await.header("cookie"),
        Some("for_a=1")
    );
    assert_eq!(
        next_request(&server).await.header("cookie"),
        Some("for_b=2")
    );
    assert_pool(&client, 2);
}

#[tokio::test]
async fn set_cookie_on_a_redirect_is_stored_and_sent_where_it_belongs() {
    let server = MockWebServer::start().await.unwrap();
    let jar = Arc::new(MemoryCookieJar::new());
    let client = client_with_jar(&["a.test", "b.test"], &jar);
    server.enqueue(
        MockResponse::new()
            .status(302)
            .header("Set-Cookie", "step=1; Path=/")
            .header("Location", "/next"),
    );
    server.enqueue(
        MockResponse::new()
            .status(303)
            .header("Set-Cookie", "step=2; Path=/")
            .header("Location", url(&server, "b.test", "/away")),
    );
    server.enqueue(MockResponse::new().body("away"));
    let response = client
        .get(url(&server, "a.test", "/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "away");

    assert_eq!(next_request(&server).await.header("cookie"), None);
    // Stored from the 302 and sent with the request it led to.
    assert_eq!(next_request(&server).await.header("cookie"), Some("step=1"));
    // The 303's cookie replaced it, for a.test only.
    assert_eq!(next_request(&server).await.header("cookie"), None);
    let stored = jar.cookies(&uri(&url(&server, "a.test", "/"))).unwrap();
    assert_eq!(stored, "step=2");
    assert!(jar.cookies(&uri(&url(&server, "b.test", "/"))).is_none());
    assert_pool(&client, 2);
}

// ---------------------------------------------------------------------------------------------
// Transparent decompression

/// Text that compresses well: many decoded chunks' worth.
fn text() -> String {
    (0..5_000)
        .map(|line| format!("line {line} of the response\n"))
        .collect()
}

#[tokio::test]
async fn gzip_deflate_br_and_zstd_bodies_are_decoded() {
    let server = MockWebServer::start().await.unwrap();
    let client = client_for(&["a.test"]);
    let text = text();
    for encoding in ["gzip", "deflate", "br", "zstd"] {
        let encoded = encode(encoding, text.as_bytes()).await;
        assert!(encoded.len() < text.len() / 4, "{encoding}");
        server.enqueue(
            MockResponse::new()
                .header("Content-Encoding", encoding)
                .header("Content-Type", "text/plain")
                .body(encoded),
        );
        let response = client
            .get(url(&server, "a.test", "/"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers().get("content-encoding"),
            None,
            "{encoding}"
        );
        assert_eq!(response.headers().get("content-length"), None, "{encoding}");
        assert_eq!(response.headers()["content-type"], "text/plain");
        assert_eq!(response.content_length(), None);
        assert!(response.text().await.unwrap() == text, "{encoding}");
        let request = next_request(&server).await;
        assert_eq!(
            request.header("accept-encoding"),
            Some("gzip, deflate, br, zstd")
        );
    }
    assert_pool(&client, 1);
}

/// A MockWebServer speaking cleartext HTTP/2 (prior knowledge), and a builder for a client
/// that reaches it as `a.test` the same way.
async fn h2c_server_and_client() -> (MockWebServer, oktower::ClientBuilder) {
    let server = MockWebServer::builder()
        .protocols(&[oktower_testkit::Protocol::H2PriorKnowledge])
        .start()
        .await
        .unwrap();
    let builder = builder_for(&["a.test"]).protocols(&[oktower::Protocol::H2PriorKnowledge]);
    (server, builder)
}

#[tokio::test]
async fn cookies_and_decoding_work_the_same_over_http2() {
    let (server, builder) = h2c_server_and_client().await;
    let jar = Arc::new(MemoryCookieJar::new());
    let client = builder.cookie_jar(jar.clone()).build().unwrap();
    let text = text();
    server.enqueue(
        MockResponse::new()
            .header("Content-Encoding", "zstd")
            .header("Set-Cookie", "h2=yes; Path=/")
            .body(encode("zstd", text.as_bytes()).await),
    );
    server.enqueue(MockResponse::new().body("second"));
    let response = client
        .get(url(&server, "a.test", "/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), http::Version::HTTP_2);
    assert_eq!(response.headers().get("content-encoding"), None);
    assert!(response.text().await.unwrap() == text);
    let response = client
        .get(url(&server, "a.test", "/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "second");
    let first = next_request(&server).await;
    assert_eq!(
        first.header("accept-encoding"),
        Some("gzip, deflate, br, zstd")
    );
    assert_eq!(first.header("connection"), None);
    // The host goes as `:authority` only (the server records it as `host`), never twice.
    let hosts: Vec<_> = first.header_all("host").collect();
    assert_eq!(hosts, [&format!("a.test:{}", server.port())]);
    let second = next_request(&server).await;
    assert_eq!(second.header("cookie"), Some("h2=yes"));
    assert_eq!(second.connection_index(), 0);
    assert_pool(&client, 1);
}

/// A client that speaks only HTTP/2 with prior knowledge adds no `Connection` header (HTTP/2
/// forbids it) and no `Host` (`:authority` says it); one that may speak HTTP/1.1 adds both,
/// as OkHttp does.
#[tokio::test]
async fn only_a_client_that_may_speak_http1_adds_host_and_connection_keep_alive() {
    for http2_only in [true, false] {
        let (server, builder) = match http2_only {
            true => h2c_server_and_client().await,
            false => (
                MockWebServer::start().await.unwrap(),
                builder_for(&["a.test"]),
            ),
        };
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = seen.clone();
        let client = builder
            .network_layer(tower::util::MapRequestLayer::new(
                move |request: http::Request<RequestBody>| {
                    let headers = request.headers();
                    let seen = (
                        headers.get("host").cloned(),
                        headers.get("connection").cloned(),
                    );
                    record.lock().unwrap().push(seen);
                    request
                },
            ))
            .build()
            .unwrap();
        server.enqueue(MockResponse::new().body("x"));
        let response = client
            .get(url(&server, "a.test", "/"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.text().await.unwrap(), "x");
        let host = http::HeaderValue::from_str(&format!("a.test:{}", server.port())).unwrap();
        let expected = match http2_only {
            true => (None, None),
            false => (
                Some(host),
                Some(http::HeaderValue::from_static("keep-alive")),
            ),
        };
        assert_eq!(
            *seen.lock().unwrap(),
            [expected],
            "http2_only: {http2_only}"
        );
        // The server hears the authority either way.
        let recorded = next_request(&server).await;
        let hosts: Vec<_> = recorded.header_all("host").collect();
        assert_eq!(hosts, [&format!("a.test:{}", server.port())]);
    }
}

#[tokio::test]
async fn a_host_header_set_by_the_caller_becomes_the_http2_authority() {
    let (server, builder) = h2c_server_and_client().await;
    let client = builder.build().unwrap();
    server.enqueue(MockResponse::new().body("virtual"));
    server.enqueue(MockResponse::new().body("plain"));
    let response = client
        .get(url(&server, "a.test", "/v"))
        .header("Host", "virtual.test")
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "virtual");
    let response = client
        .get(url(&server, "a.test", "/p"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "plain");
    let virtual_host = next_request(&server).await;
    let hosts: Vec<_> = virtual_host.header_all("host").collect();
    assert_eq!(hosts, ["virtual.test"]);
    assert_eq!(virtual_host.path(), "/v");
    let plain = next_request(&server).await;
    let hosts: Vec<_> = plain.header_all("host").collect();
    assert_eq!(hosts, [&format!("a.test:{}", server.port())]);
    assert_eq!(plain.connection_index(), virtual_host.connection_index());
}

#[tokio::test]
async fn a_chunked_gzip_body_is_decoded_as_it_arrives() {
    let server = MockWebServer::start().await.unwrap();
    let client = client_for(&["a.test"]);
    let text = text();
    let encoded = encode("gzip", text.as_bytes()).await;
    server.enqueue(
        MockResponse::new()
            .header("Content-Encoding", "gzip")
            .chunked_body(encoded, 97),
    );
    let mut response = client
        .get(url(&server, "a.test", "/"))
        .send()
        .await
        .unwrap();
    let mut decoded = Vec::new();
    while let Some(chunk) = response.chunk().await.unwrap() {
        decoded.extend_from_slice(&chunk);
    }
    assert!(decoded == text.as_bytes());
    drop(response);
    assert_pool(&client, 1);
}

#[tokio::test]
async fn a_range_request_asks_for_no_coding_and_gets_the_body_as_sent() {
    let server = MockWebServer::start().await.unwrap();
    let client = client_for(&["a.test"]);
    // A server that compresses anyway: the bytes are handed over untouched.
    let encoded = encode("gzip", b"partial content").await;
    server.enqueue(
        MockResponse::new()
            .status(206)
            .header("Content-Encoding", "gzip")
            .header(
                "Content-Range",
                format!("bytes 0-{}/100", encoded.len() - 1),
            )
            .body(encoded.clone()),
    );
    let response = client
        .get(url(&server, "a.test", "/file"))
        .header("range", "bytes=0-")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    assert_eq!(response.content_length(), Some(encoded.len() as u64));
    assert_eq!(response.bytes().await.unwrap(), encoded);
    let request = next_request(&server).await;
    assert_eq!(request.header("range"), Some("bytes=0-"));
    assert_eq!(request.header("accept-encoding"), None);
    assert_pool(&client, 1);
}

#[tokio::test]
async fn a_user_set_accept_encoding_gets_the_raw_body() {
    let server = MockWebServer::start().await.unwrap();
    let client = client_for(&["a.test"]);
    let encoded = encode("br", text().as_bytes()).await;
    server.enqueue(
        MockResponse::new()
            .header("Content-Encoding", "br")
            .body(encoded.clone()),
    );
    let response = client
        .get(url(&server, "a.test", "/"))
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-encoding"], "br");
    assert_eq!(
        response.headers()["content-length"],
        encoded.len().to_string()
    );
    assert_eq!(response.bytes().await.unwrap(), encoded);
    let request = next_request(&server).await;
    let sent: Vec<_> = request.header_all("accept-encoding").collect();
    assert_eq!(sent, ["br"]);
    assert_pool(&client, 1);
}

#[tokio::test]
async fn a_head_response_with_a_coding_is_left_alone() {
    let server = MockWebServer::start().await.unwrap();
    let client = client_for(&["a.test"]);
    server.enqueue(
        MockResponse::new()
            .header("Content-Encoding", "gzip")
            .header("Content-Length", "1234"),
    );
    let response = client
        .head(url(&server, "a.test", "/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-encoding"], "gzip");
    assert_eq!(response.headers()["content-length"], "1234");
    assert!(response.bytes().await.unwrap().is_empty());
    assert_pool(&client, 1);
}

#[tokio::test]
async fn a_gzip_bomb_fails_with_too_large() {
    let server = MockWebServer::start().await.unwrap();
    let limit = 64 * 1024;
    let client = builder_for(&["a.test"])
        .max_decompressed_size(Some(limit))
        .build()
        .unwrap();
    let zeros = vec![0u8; 8 * 1024 * 1024];
    let bomb = encode("gzip", &zeros).await;
    assert!(bomb.len() * 100 < zeros.len(), "{} bytes", bomb.len());
    server.enqueue(
        MockResponse::new()
            .header("Content-Encoding", "gzip")
            .body(bomb),
    );
    let target = url(&server, "a.test", "/bomb");
    let response = client.get(&target).send().await.unwrap();
    let error = response.bytes().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::TooLarge, "{error:?}");
    assert!(error.is_too_large());
    assert_eq!(error.url(), Some(target.as_str()));
    assert!(error.to_string().contains(&limit.to_string()), "{error}");
    // The connection is not held: closed with the unread rest of the body.
    assert_eq!(client.connection_pool().idle_connection_count(), 0);
    assert_eq!(client.connection_pool().connection_count(), 0);

    // Under the limit, the same client decodes.
    server.enqueue(
        MockResponse::new()
            .header("Content-Encoding", "gzip")
            .body(encode("gzip", &zeros[..limit as usize]).await),
    );
    let response = client.get(&target).send().await.unwrap();
    assert_eq!(response.bytes().await.unwrap().len() as u64, limit);
    assert_pool(&client, 1);
}

#[tokio::test]
async fn a_corrupt_gzip_body_fails_with_a_protocol_error() {
    let server = MockWebServer::start().await.unwrap();
    let client = client_for(&["a.test"]);
    server.enqueue(
        MockResponse::new()
            .header("Content-Encoding", "gzip")
            .body("this is not gzip at all"),
    );
    let target = url(&server, "a.test", "/");
    let response = client.get(&target).send().await.unwrap();
    let error = response.bytes().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Protocol, "{error:?}");
    assert_eq!(error.url(), Some(target.as_str()));
    // The message itself was framed correctly and read to its end: the connection is back in
    // the pool and carries the next request.
    assert_pool(&client, 1);
    server.enqueue(MockResponse::new().body("plain"));
    let response = client.get(&target).send().await.unwrap();
    assert_eq!(response.text().await.unwrap(), "plain");
    next_request(&server).await;
    assert_eq!(next_request(&server).await.connection_index(), 0);
    assert_pool(&client, 1);
}

// ---------------------------------------------------------------------------------------------
// Request input refused before anything is sent

#[tokio::test]
async fn invalid_urls_and_schemes_are_builder_errors() {
    let server = MockWebServer::start().await.unwrap();
    let client = client_for(&["a.test"]);
    let port = server.port();
    let bad = [
        format!("ftp://a.test:{port}/file"),
        "file:///etc/passwd".to_owned(),
        "not a url".to_owned(),
        "http://".to_owned(),
        "https://:443/".to_owned(),
        format!("http://a.test:{}/", u32::from(u16::MAX) + 1),
        String::new(),
    ];
    for url in &bad {
        let error = client.get(url).send().await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Builder, "{url}: {error:?}");
        let error = client.get(url).new_call().unwrap_err();
        assert!(error.is_builder(), "{url}");
    }
    // Through the http::Request paths, which parse less strictly.
    for target in ["/relative", "ftp://a.test/file", "a.test:80"] {
        let request = http::Request::get(target)
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap();
        let error = client.execute(request).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Builder, "{target}: {error:?}");
        let request = http::Request::get(target)
            .body(RequestBody::empty())
            .unwrap();
        let error = client.new_call(request).execute().await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Builder, "{target}");
    }
    assert_eq!(server.request_count(), 0);
    assert_eq!(server.connection_count(), 0);
    assert_pool(&client, 0);
}

#[tokio::test]
async fn header_values_with_cr_or_lf_are_builder_errors() {
    let server = MockWebServer::start().await.unwrap();
    let client = client_for(&["a.test"]);
    let target = url(&server, "a.test", "/");
    for value in ["a\r\nInjected: yes", "a\nb", "a\rb", "nul\0byte"] {
        let error = client
            .get(&target)
            .header("x-value", value)
            .send()
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Builder, "{value:?}");
        assert!(error.to_string().contains("x-value"), "{error}");
        assert_eq!(error.url(), Some(target.as_str()));
    }
    let error = client
        .get(&target)
        .header("bad name", "v")
        .send()
        .await
        .unwrap_err();
    assert!(error.is_builder(), "{error:?}");
    let error = client
        .get(&target)
        .bearer_auth("tok\r\nen")
        .send()
        .await
        .unwrap_err();
    assert!(error.is_builder(), "{error:?}");
    // The first error is kept: later valid input does not hide it.
    let error = client
        .get(&target)
        .header("x-value", "a\r\nb")
        .header("x-fine", "ok")
        .send()
        .await
        .unwrap_err();
    assert!(error.is_builder());
    assert_eq!(server.request_count(), 0);
    assert_pool(&client, 0);
}
