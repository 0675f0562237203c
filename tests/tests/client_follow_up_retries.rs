//! The Client's retries of a request the server answered: 408 (once), 503 (once, only with
//! `Retry-After: 0`), and 421 on a coalesced HTTP/2 connection (on a fresh connection).

mod support;

use http::StatusCode;
use oktower::TlsConfig;
use oktower_testkit::{MockResponse, MockWebServer, RecordedRequest, TestCertificates};
use support::client::*;

fn url(server: &MockWebServer, host: &str, path: &str) -> String {
    server.url_with_host("http", host, path)
}

#[tokio::test]
async fn a_408_is_retried_once_with_the_body() {
    let server = MockWebServer::start().await.unwrap();
    let client = client_for(&["a.test"]);
    server.enqueue(MockResponse::new().status(408).body("too slow"));
    server.enqueue(MockResponse::new().body("second time lucky"));
    let response = client
        .post(url(&server, "a.test", "/"))
        .body("payload")
        .send()
        .await
        .unwrap();
    assert_eq!(response.prior_response().unwrap().status(), 408);
    assert_eq!(response.text().await.unwrap(), "second time lucky");
    for _ in 0..2 {
        assert_eq!(next_request(&server).await.body_text(), "payload");
    }
    assert_pool(&client, 1);
}

#[tokio::test]
async fn a_second_408_is_the_final_response() {
    let server = MockWebServer::start().await.unwrap();
    let client = client_for(&["a.test"]);
    server.enqueue(MockResponse::new().status(408).body("one"));
    server.enqueue(MockResponse::new().status(408).body("two"));
    server.enqueue(MockResponse::new().body("never"));
    let response = client
        .get(url(&server, "a.test", "/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(response.prior_response().unwrap().status(), 408);
    assert_eq!(response.text().await.unwrap(), "two");
    assert_eq!(server.request_count(), 2);
    assert_pool(&client, 1);
}

#[tokio::test]
async fn a_408_is_not_retried_when_it_asks_for_a_delay_or_retries_are_off() {
    let server = MockWebServer::start().await.unwrap();
    let delayed = client_for(&["a.test"]);
    server.enqueue(
        MockResponse::new()
            .status(408)
            .header("Retry-After", "1")
            .body("later"),
    );
    let response = delayed
        .get(url(&server, "a.test", "/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(response.text().await.unwrap(), "later");

    let no_retries = builder_for(&["a.test"])
        .retry_on_connection_failure(false)
        .build()
        .unwrap();
    server.enqueue(MockResponse::new().status(408).body("off"));
    let response = no_retries
        .get(url(&server, "a.test", "/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(response.text().await.unwrap(), "off");
    assert_eq!(server.request_count(), 2);
    assert_pool(&delayed, 1);
    assert_pool(&no_retries, 1);
}

#[tokio::test]
async fn a_503_is_retried_once_only_with_retry_after_zero() {
    let server = MockWebServer::start().await.unwrap();
    let client = client_for(&["a.test"]);
    let unavailable = |retry_after: Option<&str>| {
        let response = MockResponse::new().status(503).body("busy");
        match retry_after {
            Some(value) => response.header("Retry-After", value.to_owned()),
            None => response,
        }
    };

    server.enqueue(unavailable(Some("0")));
    server.enqueue(MockResponse::new().body("back"));
    let response = client
        .get(url(&server, "a.test", "/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.prior_response().unwrap().status(), 503);
    assert_eq!(response.text().await.unwrap(), "back");
    assert_eq!(server.request_count(), 2);

    // Retried once: a second 503 is final even with `Retry-After: 0`.
    server.enqueue(unavailable(Some("0")));
    server.enqueue(unavailable(Some("0")));
    let response = client
        .get(url(&server, "a.test", "/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    response.bytes().await.unwrap();
    assert_eq!(server.request_count(), 4);

    for retry_after in [None, Some("1"), Some("Wed, 21 Oct 2015 07:28:00 GMT")] {
        server.enqueue(unavailable(retry_after));
        let response = client
            .get(url(&server, "a.test", "/"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.prior_response().is_none(), "{retry_after:?}");
        response.bytes().await.unwrap();
    }
    assert_eq!(server.request_count(), 7);
    assert_pool(&client, 1);
}

#[tokio::test]
async fn a_421_on_a_coalesced_connection_is_retried_on_a_fresh_one() {
    let certificates = TestCertificates::for_hosts(&["a.test", "b.test"]).unwrap();
    // b.test's first request arrives on a.test's connection: misdirected. On its own
    // connection it is answered.
    let dispatcher = |request: &RecordedRequest| {
        let host = request.header("host").unwrap_or_default();
        if host.starts_with("b.test") && request.connection_index() == 0 {
            MockResponse::new().status(421).body("not here")
        } else {
            MockResponse::new().body(format!("{host} on {}", request.connection_index()))
        }
    };
    let server = MockWebServer::builder()
        .tls(certificates.server_tls())
        .dispatcher(dispatcher)
        .start()
        .await
        .unwrap();
    let tls = TlsConfig::builder()
        .without_platform_roots()
        .add_root_certificate(certificates.root().certificate_der().clone())
        .build()
        .unwrap();
    let client = builder_for(&["a.test", "b.test"]).tls(tls).build().unwrap();
    let a = server.url_with_host("https", "a.test", "/");
    let b = server.url_with_host("https", "b.test", "/");
    let port = server.port();

    let first = client.get(&a).send().await.unwrap();
    assert_eq!(first.version(), http::Version::HTTP_2);
    assert_eq!(first.text().await.unwrap(), format!("a.test:{port} on 0"));

    let second = client.get(&b).send().await.unwrap();
    assert_eq!(second.status(), StatusCode::OK);
    assert_eq!(second.prior_response().unwrap().status(), 421);
    assert!(!second.connection().unwrap().is_coalesced());
    assert_eq!(second.text().await.unwrap(), format!("b.test:{port} on 1"));

    let sent: Vec<(String, usize, Option<String>)> = [
        next_request(&server).await,
        next_request(&server).await,
        next_request(&server).await,
    ]
    .iter()
    .map(|r| {
        let host = r
            .header("host")
            .unwrap()
            .split(':')
            .next()
            .unwrap()
            .to_owned();
        (host, r.connection_index(), r.sni().map(str::to_owned))
    })
    .collect();
    assert_eq!(
        sent,
        [
            ("a.test".to_owned(), 0, Some("a.test".to_owned())),
            ("b.test".to_owned(), 0, Some("a.test".to_owned())),
            ("b.test".to_owned(), 1, Some("b.test".to_owned())),
        ]
    );

    // The misdirecting connection takes no more coalesced exchanges, and b.test keeps its own.
    let third = client.get(&b).send().await.unwrap();
    assert!(third.prior_response().is_none());
    assert_eq!(third.text().await.unwrap(), format!("b.test:{port} on 1"));
    assert_pool(&client, 2);
}

#[tokio::test]
async fn a_421_on_a_connection_of_its_own_is_the_final_response() {
    let server = MockWebServer::start().await.unwrap();
    let client = client_for(&["a.test"]);
    server.enqueue(MockResponse::new().status(421).body("misdirected"));
    let response = client
        .get(url(&server, "a.test", "/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::MISDIRECTED_REQUEST);
    assert_eq!(response.text().await.unwrap(), "misdirected");
    assert_eq!(server.request_count(), 1);
    assert_pool(&client, 1);
}
