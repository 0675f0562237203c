//! The Client's event sequences, as OkHttp's `EventListenerTest` asserts them.

mod support;

use std::sync::Arc;
use std::time::Duration;

use oktower::ErrorKind;
use oktower_testkit::{Fault, MockResponse, MockWebServer};
use support::*;

const FRESH: &[&str] = &[
    "CallStart",
    "ProxySelectStart",
    "ProxySelectEnd",
    "DnsStart",
    "DnsEnd",
    "ConnectStart",
    "ConnectEnd",
    "ConnectionAcquired",
    "RequestHeadersStart",
    "RequestHeadersEnd",
    "ResponseHeadersStart",
    "ResponseHeadersEnd",
    "FollowUpDecision",
    "ResponseBodyStart",
    "ResponseBodyEnd",
    "ConnectionReleased",
    "CallEnd",
];

#[tokio::test]
async fn a_fresh_call_then_a_pooled_call() {
    let server = MockWebServer::start().await.unwrap();
    let events = Arc::new(Events::default());
    let client = client_builder(&["a.test"], &events).build().unwrap();
    let url = server.url_with_host("http", "a.test", "/");
    server.enqueue(MockResponse::new().body("one"));
    server.enqueue(MockResponse::new().body("two"));

    let response = client.get(&url).send().await.unwrap();
    assert_eq!(response.text().await.unwrap(), "one");
    assert_eq!(events.take(), FRESH);

    let response = client.get(&url).send().await.unwrap();
    assert_eq!(response.text().await.unwrap(), "two");
    assert_eq!(
        events.take(),
        [
            "CallStart",
            "ConnectionAcquired",
            "RequestHeadersStart",
            "RequestHeadersEnd",
            "ResponseHeadersStart",
            "ResponseHeadersEnd",
            "FollowUpDecision",
            "ResponseBodyStart",
            "ResponseBodyEnd",
            "ConnectionReleased",
            "CallEnd",
        ]
    );
    assert_eq!(client.connection_pool().idle_connection_count(), 1);
}

#[tokio::test]
async fn an_ip_literal_host_needs_no_dns() {
    let server = MockWebServer::start().await.unwrap();
    let events = Arc::new(Events::default());
    let client = client_builder(&[], &events).build().unwrap();
    server.enqueue(MockResponse::new().body("ok"));
    let response = client.get(server.url("/")).send().await.unwrap();
    response.bytes().await.unwrap();
    let expected: Vec<&str> = FRESH
        .iter()
        .copied()
        .filter(|name| !name.starts_with("Dns"))
        .collect();
    assert_eq!(events.take(), expected);
}

#[tokio::test]
async fn a_failed_call_reports_the_failure_and_releases_the_connection() {
    let server = MockWebServer::start().await.unwrap();
    let events = Arc::new(Events::default());
    let client = client_builder(&["a.test"], &events)
        .read_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    server.enqueue(
        MockResponse::new()
            .headers_delay(Duration::from_secs(5))
            .body("late"),
    );
    let error = client
        .get(server.url_with_host("http", "a.test", "/"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    let names = events.take();
    let tail = &names[names.len() - 5..];
    assert_eq!(
        tail,
        // OkHttp's `failedCallEventSequence`: the release comes after the retry decision.
        [
            "ResponseHeadersStart",
            "ResponseFailed",
            "RetryDecision false",
            "ConnectionReleased",
            "CallFailed"
        ],
        "{names:?}"
    );
    assert_eq!(client.connection_pool().connection_count(), 0);
}

#[tokio::test]
async fn a_retried_failure_releases_its_connection_after_the_retry_decision() {
    let server = MockWebServer::start().await.unwrap();
    let events = Arc::new(Events::default());
    let client = client_builder(&["a.test"], &events).build().unwrap();
    server.enqueue(MockResponse::fault(Fault::DisconnectAfterRequest));
    server.enqueue(MockResponse::new().body("second try"));
    let response = client
        .get(server.url_with_host("http", "a.test", "/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "second try");
    let names = events.take();
    let decision = names
        .iter()
        .position(|name| name == "RetryDecision true")
        .unwrap_or_else(|| panic!("{names:?}"));
    assert_eq!(
        names[decision - 1..decision + 3],
        [
            "ResponseFailed",
            "RetryDecision true",
            "ConnectionReleased",
            "ProxySelectStart"
        ],
        "{names:?}"
    );
    let count = |wanted: &str| names.iter().filter(|name| *name == wanted).count();
    assert_eq!(count("ConnectionAcquired"), 2, "{names:?}");
    assert_eq!(count("ConnectionReleased"), 2, "{names:?}");
    assert_eq!(names.last().map(String::as_str), Some("CallEnd"));
}

#[tokio::test]
async fn a_redirect_on_the_same_connection() {
    let server = MockWebServer::start().await.unwrap();
    let events = Arc::new(Events::default());
    let client = client_builder(&["a.test"], &events).build().unwrap();
    server.enqueue(
        MockResponse::new()
            .status(302)
            .header("Location", "/b")
            .body("moved"),
    );
    server.enqueue(MockResponse::new().body("here"));
    let response = client
        .get(server.url_with_host("http", "a.test", "/a"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.url().unwrap().to_string(),
        server.url_with_host("http", "a.test", "/b")
    );
    assert_eq!(response.prior_response().unwrap().status(), 302);
    assert_eq!(response.text().await.unwrap(), "here");
    let names = events.take();
    let first_follow_up = names
        .iter()
        .position(|name| name == "FollowUpDecision next")
        .unwrap();
    // The 302's body is read (and its connection released) before the follow-up is decided.
    assert_eq!(
        &names[first_follow_up - 3..=first_follow_up],
        [
            "ResponseBodyStart",
            "ResponseBodyEnd",
            "ConnectionReleased",
            "FollowUpDecision next"
        ],
        "{names:?}"
    );
    assert_eq!(names.iter().filter(|n| *n == "ConnectStart").count(), 1);
    assert_eq!(names.iter().filter(|n| *n == "CallEnd").count(), 1);
    assert_eq!(names.last().unwrap(), "CallEnd");
    let second = server.take_request(PATIENCE).await.unwrap();
    let third = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(second.connection_index(), third.connection_index());
}

#[tokio::test]
async fn a_canceled_call() {
    let server = MockWebServer::start().await.unwrap();
    let events = Arc::new(Events::default());
    let client = client_builder(&["a.test"], &events).build().unwrap();
    server.enqueue(MockResponse::new().headers_delay(Duration::from_secs(30)));
    let request = http::Request::get(server.url_with_host("http", "a.test", "/"))
        .body(oktower::RequestBody::empty())
        .unwrap();
    let call = client.new_call(request);
    let running = tokio::spawn({
        let call = call.clone();
        async move { call.execute().await }
    });
    events.wait_for("RequestHeadersEnd").await;
    call.cancel();
    call.cancel();
    let error = running.await.unwrap().unwrap_err();
    assert!(error.is_canceled(), "{error:?}");
    assert!(call.is_canceled());
    let names = events.take();
    assert_eq!(
        names.iter().filter(|n| *n == "Canceled").count(),
        1,
        "{names:?}"
    );
    // As in OkHttp, the abandoned exchange's connection is released before the call fails.
    let tail = &names[names.len() - 2..];
    assert_eq!(tail, ["ConnectionReleased", "CallFailed"], "{names:?}");
    let count = |wanted: &str| names.iter().filter(|name| *name == wanted).count();
    assert_eq!(count("ConnectionAcquired"), count("ConnectionReleased"));
    assert_eq!(client.connection_pool().connection_count(), 0);
}
