//! Per-call timeouts: an application layer changes the read timeout of the calls it sees.

mod support;

use std::sync::Arc;
use std::time::Duration;

use oktower::{ErrorKind, RequestBody, Timeouts};
use oktower_testkit::{MockResponse, MockWebServer};
use support::*;
use tower::ServiceBuilder;

#[tokio::test]
async fn an_application_layer_shortens_the_read_timeout_of_one_call() {
    let server = MockWebServer::start().await.unwrap();
    let events = Arc::new(Events::default());
    let client = client_builder(&["a.test"], &events)
        .read_timeout(Duration::from_secs(30))
        .layer(
            ServiceBuilder::new().map_request(|mut request: http::Request<RequestBody>| {
                if request.uri().path() == "/impatient" {
                    request.extensions_mut().insert(Timeouts {
                        read: Some(Some(Duration::from_millis(100))),
                        ..Timeouts::default()
                    });
                }
                request
            }),
        )
        .build()
        .unwrap();
    server.enqueue(MockResponse::new().body("patient"));
    server.enqueue(
        MockResponse::new()
            .headers_delay(Duration::from_secs(5))
            .body("too late"),
    );
    let patient = client
        .get(server.url_with_host("http", "a.test", "/patient"))
        .send()
        .await
        .unwrap();
    assert_eq!(patient.text().await.unwrap(), "patient");
    let error = client
        .get(server.url_with_host("http", "a.test", "/impatient"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    assert!(error.to_string().contains("100ms"), "{error}");
    assert_eq!(client.connection_pool().connection_count(), 0);
}

/// Timeouts too long for a clock to hold (`Duration::MAX`) mean "no limit in practice": a call
/// waiting for its head, and a pooled second call waiting for its body, go through, and
/// nothing panics on the deadline arithmetic.
#[tokio::test]
async fn timeouts_too_long_for_the_clock_never_fire() {
    let server = MockWebServer::start().await.unwrap();
    let events = Arc::new(Events::default());
    let client = client_builder(&["a.test"], &events)
        .connect_timeout(Duration::MAX)
        .read_timeout(Duration::MAX)
        .write_timeout(Duration::MAX)
        .call_timeout(Duration::MAX)
        .build()
        .unwrap();
    server.enqueue(
        MockResponse::new()
            .headers_delay(Duration::from_millis(20))
            .body("first"),
    );
    server.enqueue(
        MockResponse::new()
            .body_delay(Duration::from_millis(20))
            .body("second"),
    );
    for expected in ["first", "second"] {
        let response = client
            .get(server.url_with_host("http", "a.test", "/"))
            .timeout(Duration::MAX)
            .send()
            .await
            .unwrap();
        assert_eq!(response.text().await.unwrap(), expected);
    }
}
