//! The dispatcher through the Client: per-host and global limits, FIFO promotion, slots held
//! by response bodies, cancel_all, queue events, and promotion under load.

mod support;

use std::sync::Arc;

use oktower::{CallContext, Client, Dispatcher, ErrorKind, Response};
use oktower_testkit::{MockResponse, MockWebServer};
use support::layers::InFlight;
use support::*;
use tokio::time::timeout;

/// A server that answers every request with a short body (a body that is not empty holds its
/// call's slot until it is read).
async fn ok_server() -> MockWebServer {
    MockWebServer::builder()
        .default_response(MockResponse::new().body("ok"))
        .start()
        .await
        .unwrap()
}

fn client(events: &Arc<Events>, dispatcher: Dispatcher) -> Client {
    client_builder(&["a.test", "b.test", "c.test", "d.test"], events)
        .dispatcher(dispatcher)
        .build()
        .unwrap()
}

/// A call to `url` that reports to its own listener, running on its own task; returns once it
/// waits in the dispatcher's queue.
async fn queued_call(
    client: &Client,
    url: &str,
) -> (
    Arc<Events>,
    tokio::task::JoinHandle<Result<String, oktower::Error>>,
) {
    let events = Arc::new(Events::default());
    let sending = client
        .get(url)
        .extension(CallContext::new(events.clone()))
        .send();
    let running = tokio::spawn(async move { sending.await?.text().await });
    timeout(PATIENCE, events.wait_for("DispatcherQueueStart"))
        .await
        .expect("the call waits in the queue");
    (events, running)
}

async fn finish(running: tokio::task::JoinHandle<Result<String, oktower::Error>>) -> String {
    timeout(PATIENCE, running)
        .await
        .expect("the call ends")
        .unwrap()
        .unwrap()
}

/// Every connection of `client` is idle: none was leaked by a call.
fn assert_no_connection_in_use(client: &Client) {
    let pool = client.connection_pool();
    assert_eq!(pool.connection_count(), pool.idle_connection_count());
}

#[tokio::test]
async fn the_sixth_call_to_a_host_waits_until_a_body_is_read() {
    let server = ok_server().await;
    let events = Arc::new(Events::default());
    let client = client(&events, Dispatcher::new());
    let a = server.url_with_host("http", "a.test", "/");

    let mut held: Vec<Response> = Vec::new();
    for _ in 0..5 {
        held.push(client.get(&a).send().await.unwrap());
    }
    assert_eq!(client.dispatcher().running_calls_count(), 5);

    let (sixth_events, sixth) = queued_call(&client, &a).await;
    assert_eq!(client.dispatcher().queued_calls_count(), 1);
    assert_eq!(server.request_count(), 5);

    // Another host has room of its own.
    let b = server.url_with_host("http", "b.test", "/");
    let other = client.get(&b).send().await.unwrap();
    assert_eq!(other.text().await.unwrap(), "ok");
    assert_eq!(client.dispatcher().queued_calls_count(), 1);
    assert!(!sixth.is_finished());

    // Reading one body to its end frees its slot for the sixth call.
    let first = held.remove(0);
    assert_eq!(first.text().await.unwrap(), "ok");
    assert_eq!(finish(sixth).await, "ok");
    let names = sixth_events.take();
    assert_eq!(
        names[..3],
        ["CallStart", "DispatcherQueueStart", "DispatcherQueueEnd"],
        "{names:?}"
    );
    assert_eq!(names.last().unwrap(), "CallEnd");

    for response in held {
        assert_eq!(response.text().await.unwrap(), "ok");
    }
    timeout(PATIENCE, client.dispatcher().idle()).await.unwrap();
    assert_eq!(server.request_count(), 7);
    assert_no_connection_in_use(&client);
}

#[tokio::test]
async fn max_requests_holds_calls_to_every_host() {
    let server = ok_server().await;
    let events = Arc::new(Events::default());
    let client = client(&events, Dispatcher::with_limits(2, 5));

    let a = client
        .get(server.url_with_host("http", "a.test", "/a"))
        .send()
        .await
        .unwrap();
    let b = client
        .get(server.url_with_host("http", "b.test", "/b"))
        .send()
        .await
        .unwrap();
    let (c_events, c) = queued_call(&client, &server.url_with_host("http", "c.test", "/c")).await;
    assert_eq!(server.request_count(), 2);
    assert_eq!(client.dispatcher().queued_calls_count(), 1);

    // Dropping a body unread frees its slot too.
    drop(b);
    assert_eq!(finish(c).await, "ok");
    assert_eq!(a.text().await.unwrap(), "ok");
    timeout(PATIENCE, client.dispatcher().idle()).await.unwrap();
    assert_no_connection_in_use(&client);
    let names = c_events.take();
    assert_eq!(
        names[1..3],
        ["DispatcherQueueStart", "DispatcherQueueEnd"],
        "{names:?}"
    );
    assert!(!events.take().iter().any(|n| n.starts_with("Dispatcher")));
}

#[tokio::test]
async fn calls_to_one_host_run_first_in_first_out() {
    let server = ok_server().await;
    let events = Arc::new(Events::default());
    let client = client(&events, Dispatcher::with_limits(64, 1));
    let url = |n: usize| server.url_with_host("http", "a.test", &format!("/{n}"));

    let first = client.get(url(0)).send().await.unwrap();
    let mut queued = Vec::new();
    for n in 1..=5 {
        queued.push(queued_call(&client, &url(n)).await.1);
    }
    assert_eq!(client.dispatcher().queued_calls_count(), 5);
    first.bytes().await.unwrap();
    for running in queued {
        assert_eq!(finish(running).await, "ok");
    }
    let mut paths = Vec::new();
    for _ in 0..6 {
        paths.push(
            server
                .take_request(PATIENCE)
                .await
                .unwrap()
                .path()
                .to_owned(),
        );
    }
    assert_eq!(paths, ["/0", "/1", "/2", "/3", "/4", "/5"]);
    // One call at a time: each reused the connection of the one before.
    assert_eq!(server.connection_count(), 1);
    assert_no_connection_in_use(&client);
}

#[tokio::test]
async fn a_freed_slot_goes_to_the_oldest_call_whose_host_has_room() {
    let server = ok_server().await;
    let events = Arc::new(Events::default());
    let client = client(&events, Dispatcher::with_limits(2, 1));
    let a0 = client
        .get(server.url_with_host("http", "a.test", "/a0"))
        .send()
        .await
        .unwrap();
    let b1 = client
        .get(server.url_with_host("http", "b.test", "/b1"))
        .send()
        .await
        .unwrap();
    let (_, a2) = queued_call(&client, &server.url_with_host("http", "a.test", "/a2")).await;
    let (_, a3) = queued_call(&client, &server.url_with_host("http", "a.test", "/a3")).await;
    let (_, c4) = queued_call(&client, &server.url_with_host("http", "c.test", "/c4")).await;

    // b.test's slot frees; a.test is still at its limit, so c.test's call goes first.
    b1.bytes().await.unwrap();
    assert_eq!(finish(c4).await, "ok");
    assert!(!a2.is_finished() && !a3.is_finished());
    assert_eq!(client.dispatcher().queued_calls_count(), 2);

    a0.bytes().await.unwrap();
    assert_eq!(finish(a2).await, "ok");
    assert_eq!(finish(a3).await, "ok");
    let mut paths = Vec::new();
    for _ in 0..5 {
        paths.push(
            server
                .take_request(PATIENCE)
                .await
                .unwrap()
                .path()
                .to_owned(),
        );
    }
    assert_eq!(paths, ["/a0", "/b1", "/c4", "/a2", "/a3"]);
    assert_no_connection_in_use(&client);
}

#[tokio::test]
async fn a_slot_is_held_while_the_body_is_read_in_part() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::new().chunked_body("abcdef", 2));
    server.enqueue(MockResponse::new().body("second"));
    let events = Arc::new(Events::default());
    let client = client(&events, Dispatcher::with_limits(64, 1));
    let url = server.url_with_host("http", "a.test", "/");

    let mut first = client.get(&url).send().await.unwrap();
    let mut read = first.chunk().await.unwrap().unwrap().to_vec();
    let (_, second) = queued_call(&client, &url).await;
    assert!(!second.is_finished());
    assert_eq!(client.dispatcher().running_calls_count(), 1);
    assert_eq!(client.dispatcher().queued_calls_count(), 1);
    while let Some(chunk) = first.chunk().await.unwrap() {
        read.extend_from_slice(&chunk);
    }
    assert_eq!(read, b"abcdef");
    assert_eq!(finish(second).await, "second");
    timeout(PATIENCE, client.dispatcher().idle()).await.unwrap();
    assert_eq!(server.connection_count(), 1);
    assert_no_connection_in_use(&client);
}

#[tokio::test]
async fn cancel_all_ends_running_and_queued_calls() {
    let server = MockWebServer::builder()
        .default_response(
            MockResponse::new()
                .headers_delay(std::time::Duration::from_secs(30))
                .body("late"),
        )
        .start()
        .await
        .unwrap();
    let events = Arc::new(Events::default());
    let client = client(&events, Dispatcher::with_limits(64, 1));
    let url = server.url_with_host("http", "a.test", "/");

    let running_events = Arc::new(Events::default());
    let running = tokio::spawn(
        client
            .get(&url)
            .extension(CallContext::new(running_events.clone()))
            .send(),
    );
    timeout(PATIENCE, running_events.wait_for("RequestHeadersEnd"))
        .await
        .unwrap();
    let (queued_events, queued) = queued_call(&client, &url).await;

    client.dispatcher().cancel_all();
    let error = timeout(PATIENCE, running)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Canceled, "{error:?}");
    let error = timeout(PATIENCE, queued)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Canceled, "{error:?}");
    assert_eq!(
        queued_events.take(),
        [
            "CallStart",
            "DispatcherQueueStart",
            "Canceled",
            "DispatcherQueueEnd",
            "CallFailed"
        ]
    );
    assert_eq!(running_events.take().last().unwrap(), "CallFailed");
    assert!(client.dispatcher().is_idle());
    assert_eq!(server.request_count(), 1);
    assert_eq!(client.connection_pool().connection_count(), 0);

    // Later calls are not affected.
    server.enqueue(MockResponse::new().body("fresh"));
    let response = client.get(&url).send().await.unwrap();
    assert_eq!(response.text().await.unwrap(), "fresh");
}

#[tokio::test]
async fn a_canceled_queued_call_leaves_the_queue() {
    let server = ok_server().await;
    let events = Arc::new(Events::default());
    let client = client(&events, Dispatcher::with_limits(64, 1));
    let url = server.url_with_host("http", "a.test", "/");
    let first = client.get(&url).send().await.unwrap();

    events.take();

    let call = client.get(&url).new_call().unwrap();
    let running = tokio::spawn({
        let call = call.clone();
        async move { call.execute().await }
    });
    timeout(PATIENCE, events.wait_for("DispatcherQueueStart"))
        .await
        .unwrap();
    assert_eq!(client.dispatcher().queued_calls_count(), 1);
    call.cancel();
    let error = timeout(PATIENCE, running)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert!(error.is_canceled(), "{error:?}");
    assert_eq!(
        events.take(),
        [
            "CallStart",
            "DispatcherQueueStart",
            "Canceled",
            "DispatcherQueueEnd",
            "CallFailed"
        ]
    );
    assert_eq!(client.dispatcher().queued_calls_count(), 0);
    first.bytes().await.unwrap();
    timeout(PATIENCE, client.dispatcher().idle()).await.unwrap();
    assert_eq!(server.request_count(), 1);
    assert_no_connection_in_use(&client);
}

#[tokio::test]
async fn thousands_of_queued_calls_all_run_within_the_limits() {
    const CALLS: usize = 2000;
    let server = ok_server().await;
    let events = Arc::new(Events::default());
    let in_flight = InFlight::default();
    let client = client_builder(&["a.test", "b.test", "c.test", "d.test", "e.test"], &events)
        .dispatcher(Dispatcher::with_limits(6, 2))
        .network_layer(in_flight.clone())
        .build()
        .unwrap();
    let hosts = ["a.test", "b.test", "c.test", "d.test"];

    // Every call queues behind one that holds the only slot, then the limits are raised.
    let dispatcher = client.dispatcher().clone();
    dispatcher.set_max_requests(1);
    let blocker = client
        .get(server.url_with_host("http", "e.test", "/blocker"))
        .send()
        .await
        .unwrap();
    let mut calls = Vec::with_capacity(CALLS);
    for n in 0..CALLS {
        let url = server.url_with_host("http", hosts[n % hosts.len()], &format!("/{n}"));
        let sending = client.get(url).send();
        calls.push(tokio::spawn(async move { sending.await?.text().await }));
    }
    timeout(PATIENCE, async {
        while dispatcher.queued_calls_count() < CALLS {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("every call queues");
    dispatcher.set_max_requests(6);
    drop(blocker);
    for call in calls {
        assert_eq!(finish(call).await, "ok");
    }
    timeout(PATIENCE, client.dispatcher().idle()).await.unwrap();

    assert_eq!(server.request_count(), CALLS + 1);
    assert_eq!(in_flight.done(), CALLS + 1);
    let max = in_flight.max();
    assert!(
        (2..=6).contains(&max),
        "at most 6 at once, and more than one: {max}"
    );
    let per_host = in_flight.max_per_host();
    assert_eq!(per_host.len(), 5);
    assert!(per_host.values().all(|&max| max <= 2), "{per_host:?}");
    let names = events.take();
    let starts = names
        .iter()
        .filter(|n| *n == "DispatcherQueueStart")
        .count();
    let ends = names.iter().filter(|n| *n == "DispatcherQueueEnd").count();
    assert_eq!(starts, ends);
    assert_eq!(starts, CALLS);
    assert_eq!(names.iter().filter(|n| *n == "CallEnd").count(), CALLS + 1);
    assert_no_connection_in_use(&client);
}
