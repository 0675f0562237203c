//! Calls through the Client: the call timeout across a redirect and over the body, cancel
//! before execute, while connecting and while the body is read, executing twice, enqueue, and
//! the timings a response gives.

mod support;

use std::sync::Arc;
use std::time::Duration;

use oktower::{Call, Client, ErrorKind, RequestBody};
use oktower_testkit::{MockResponse, MockWebServer};
use support::tcp::{Plan, ScriptedTcp};
use support::*;
use tokio::sync::oneshot;
use tokio::time::timeout;

fn call(client: &Client, url: &str) -> Call {
    let request = http::Request::get(url).body(RequestBody::empty()).unwrap();
    client.new_call(request)
}

#[tokio::test]
async fn the_call_timeout_covers_a_redirect_whose_second_hop_stalls() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(
        MockResponse::new()
            .status(302)
            .header("Location", "/b")
            .body("moved"),
    );
    server.enqueue(
        MockResponse::new()
            .headers_delay(Duration::from_secs(30))
            .body("late"),
    );
    let events = Arc::new(Events::default());
    let client = client_builder(&["a.test"], &events)
        .call_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let url = server.url_with_host("http", "a.test", "/a");

    let error = timeout(PATIENCE, client.get(&url).send())
        .await
        .expect("the call timeout ends the call")
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error:?}");
    assert!(
        error.to_string().contains("call timed out after 500ms"),
        "{error}"
    );
    assert_eq!(error.url(), Some(url.as_str()));
    let first = server.take_request(PATIENCE).await.unwrap();
    let second = server.take_request(PATIENCE).await.unwrap();
    assert_eq!((first.path(), second.path()), ("/a", "/b"));
    assert_eq!(first.connection_index(), second.connection_index());
    assert_eq!(client.connection_pool().connection_count(), 0);
    assert!(client.dispatcher().is_idle());
    assert_eq!(events.take().last().unwrap(), "CallFailed");
}

#[tokio::test]
async fn the_call_timeout_covers_reading_the_body() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(
        MockResponse::new()
            .body("abcdef")
            .throttle_body(1, Duration::from_secs(30)),
    );
    let events = Arc::new(Events::default());
    let client = client_builder(&["a.test"], &events).build().unwrap();
    let mut response = client
        .get(server.url_with_host("http", "a.test", "/"))
        .timeout(Duration::from_millis(500))
        .send()
        .await
        .unwrap();
    assert_eq!(response.chunk().await.unwrap().unwrap(), "a");
    let error = timeout(PATIENCE, response.chunk())
        .await
        .expect("the call timeout ends the read")
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error:?}");
    assert!(error.to_string().contains("500ms"), "{error}");
    assert_eq!(client.connection_pool().connection_count(), 0);
    assert!(client.dispatcher().is_idle());
    assert_eq!(events.take().last().unwrap(), "CallFailed");
}

#[tokio::test]
async fn a_call_canceled_before_it_executes_fails_at_once() {
    let server = MockWebServer::start().await.unwrap();
    let events = Arc::new(Events::default());
    let client = client_builder(&["a.test"], &events).build().unwrap();
    let call = call(&client, &server.url_with_host("http", "a.test", "/"));
    call.cancel();
    assert!(call.is_canceled());
    let error = call.execute().await.unwrap_err();
    assert!(error.is_canceled(), "{error:?}");
    assert_eq!(server.request_count(), 0);
    assert_eq!(server.connection_count(), 0);
    assert_eq!(events.take(), ["Canceled", "CallStart", "CallFailed"]);
    assert!(client.dispatcher().is_idle());
}

#[tokio::test]
async fn a_call_canceled_while_connecting_stops_connecting() {
    let events = Arc::new(Events::default());
    let tcp = ScriptedTcp::new(&[], Plan::Blackhole);
    let client = client_builder(&["a.test"], &events)
        .tcp_connector(tcp.clone())
        .build()
        .unwrap();
    let call = call(&client, "http://a.test:8080/");
    let running = tokio::spawn({
        let call = call.clone();
        async move { call.execute().await }
    });
    timeout(PATIENCE, tcp.wait_for_attempts(1)).await.unwrap();
    call.cancel();
    let error = timeout(PATIENCE, running)
        .await
        .expect("the cancel ends the connect")
        .unwrap()
        .unwrap_err();
    assert!(error.is_canceled(), "{error:?}");
    assert_eq!(tcp.attempts().len(), 1);
    assert_eq!(tcp.blackholes_dropped(), 1);
    assert_eq!(client.connection_pool().connection_count(), 0);
    assert!(client.dispatcher().is_idle());
    let names = events.take();
    assert!(names.iter().any(|n| n == "ConnectStart"), "{names:?}");
    assert_eq!(names.last().unwrap(), "CallFailed", "{names:?}");
}

#[tokio::test]
async fn a_call_canceled_while_its_body_is_read_fails_the_next_read() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(
        MockResponse::new()
            .body(vec![b'x'; 64 * 1024])
            .throttle_body(1024, Duration::from_millis(50)),
    );
    let events = Arc::new(Events::default());
    let client = client_builder(&["a.test"], &events).build().unwrap();
    let call = call(&client, &server.url_with_host("http", "a.test", "/"));
    let mut response = call.execute().await.unwrap();
    let chunk = response.chunk().await.unwrap().unwrap();
    assert!(!chunk.is_empty());
    assert_eq!(client.dispatcher().running_calls_count(), 1);

    call.cancel();
    let error = timeout(Duration::from_secs(1), response.chunk())
        .await
        .expect("the read fails promptly")
        .unwrap_err();
    assert!(error.is_canceled(), "{error:?}");
    // The body is done: it reads nothing more.
    assert_eq!(response.chunk().await.unwrap(), None);
    assert_eq!(client.connection_pool().connection_count(), 0);
    assert!(client.dispatcher().is_idle());
    let names = events.take();
    assert_eq!(names.iter().filter(|n| *n == "Canceled").count(), 1);
    assert_eq!(names.last().unwrap(), "CallFailed", "{names:?}");
}

#[tokio::test]
async fn a_call_executes_once() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::new().body("once"));
    let events = Arc::new(Events::default());
    let client = client_builder(&["a.test"], &events).build().unwrap();
    let call = call(&client, &server.url_with_host("http", "a.test", "/"));
    assert!(!call.is_executed());
    let response = call.execute().await.unwrap();
    assert!(call.is_executed());
    assert_eq!(response.text().await.unwrap(), "once");

    let error = call.execute().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Builder);
    assert!(error.to_string().contains("Already Executed"), "{error}");
    let (sender, receiver) = oneshot::channel();
    let handle = call.clone().enqueue(move |outcome| {
        sender.send(outcome).unwrap();
    });
    assert!(handle.is_none());
    let error = receiver.await.unwrap().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Builder);
    assert_eq!(server.request_count(), 1);
    assert_eq!(client.connection_pool().idle_connection_count(), 1);
}

#[tokio::test]
async fn an_enqueued_call_hands_its_response_to_the_callback() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::new().body("called back"));
    let events = Arc::new(Events::default());
    let client = client_builder(&["a.test"], &events).build().unwrap();
    let call = call(&client, &server.url_with_host("http", "a.test", "/"));
    let (sender, receiver) = oneshot::channel();
    let handle = call
        .enqueue(move |outcome| {
            sender.send(outcome).unwrap();
        })
        .expect("inside a runtime");
    assert!(call.is_executed());
    timeout(PATIENCE, handle).await.unwrap().unwrap();
    let response = receiver.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "called back");
    assert!(client.dispatcher().is_idle());
    assert_eq!(client.connection_pool().idle_connection_count(), 1);
    assert_eq!(events.take().last().unwrap(), "CallEnd");

    // An enqueued call canceled while it waits hands the cancellation to its callback.
    server.enqueue(
        MockResponse::new()
            .headers_delay(Duration::from_secs(30))
            .body("late"),
    );
    let call = call_on(&client, &server);
    let (sender, receiver) = oneshot::channel();
    let handle = call
        .enqueue(move |outcome| {
            sender.send(outcome.map(|_| ())).unwrap();
        })
        .unwrap();
    timeout(PATIENCE, events.wait_for("RequestHeadersEnd"))
        .await
        .unwrap();
    call.cancel();
    timeout(PATIENCE, handle).await.unwrap().unwrap();
    let error = receiver.await.unwrap().unwrap_err();
    assert!(error.is_canceled(), "{error:?}");
    assert_eq!(client.connection_pool().connection_count(), 0);
}

fn call_on(client: &Client, server: &MockWebServer) -> Call {
    call(client, &server.url_with_host("http", "a.test", "/"))
}

#[test]
fn enqueue_outside_a_runtime_reports_an_error_to_the_callback() {
    let events = Arc::new(Events::default());
    let client = client_builder(&["a.test"], &events).build().unwrap();
    let call = call(&client, "http://a.test/");
    let (sender, receiver) = std::sync::mpsc::channel();
    let handle = call.enqueue(move |outcome| sender.send(outcome.map(|_| ())).unwrap());
    assert!(handle.is_none());
    let error = receiver.recv().unwrap().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Builder);
    assert!(error.to_string().contains("tokio runtime"), "{error}");
}

#[tokio::test]
async fn the_response_url_is_the_calls_before_and_after_its_body_is_read() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::new().body("streamed"));
    server.enqueue(MockResponse::new().status(204));
    let events = Arc::new(Events::default());
    let client = client_builder(&["a.test"], &events).build().unwrap();

    let url = server.url_with_host("http", "a.test", "/read");
    let mut response = client.get(&url).send().await.unwrap();
    assert_eq!(response.url().unwrap().to_string(), url);
    let mut read = Vec::new();
    while let Some(chunk) = response.chunk().await.unwrap() {
        read.extend_from_slice(&chunk);
    }
    assert_eq!(read, b"streamed");
    assert_eq!(
        response.url().unwrap().to_string(),
        url,
        "after the body ended"
    );
    assert_eq!(events.take().last().unwrap(), "CallEnd");

    let bodiless = server.url_with_host("http", "a.test", "/none");
    let response = call(&client, &bodiless).execute().await.unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(response.url().unwrap().to_string(), bodiless);
    drop(response);
    assert_eq!(events.take().last().unwrap(), "CallEnd");
    assert!(client.dispatcher().is_idle());
}

#[tokio::test]
async fn a_response_gives_its_calls_timings_which_outlive_it() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::new().body("first"));
    server.enqueue(MockResponse::new().body("second"));
    server.enqueue(MockResponse::new().body("third"));
    let events = Arc::new(Events::default());
    let client = client_builder(&["a.test"], &events).build().unwrap();
    let url = server.url_with_host("http", "a.test", "/timed");

    let response = client.get(&url).send().await.unwrap();
    let timings = response.call_timings().expect("a client's call is timed");
    let head = response.timings();
    assert_eq!(head.connection_reused, Some(false));
    assert!(head.dns.is_some() && head.connect.is_some(), "{head:?}");
    assert!(head.time_to_first_byte.is_some(), "{head:?}");
    assert_eq!(head.total, None, "the body is not read yet");
    assert_eq!(response.text().await.unwrap(), "first");
    let done = timings.timings();
    assert!(
        done.total.is_some(),
        "the call ended with its body: {done:?}"
    );
    assert!(done.total >= done.time_to_first_byte);

    let pooled = client.get(&url).send().await.unwrap();
    let pooled_timings = pooled.timings();
    assert_eq!(pooled_timings.connection_reused, Some(true));
    assert_eq!((pooled_timings.dns, pooled_timings.connect), (None, None));
    drop(pooled);

    // The client as a `tower::Service`: the body carries them.
    let request = http::Request::get(&url).body(RequestBody::empty()).unwrap();
    let response = tower::ServiceExt::oneshot(client.clone(), request)
        .await
        .unwrap();
    let timings = response.body().call_timings().expect("timed");
    assert!(timings.timings().time_to_first_byte.is_some());
    drop(response);
    assert!(timings.timings().total.is_some());
    assert!(oktower::Body::from("made here").call_timings().is_none());
    assert!(client.dispatcher().is_idle());
}
