//! User layers in the Client: application layers see the call once and may answer, retry or
//! change it; network layers see each request on the wire with its connection, must call the
//! service below once and keep the host and port. Derived clients share the pool and keep the
//! layers they inherit.

mod support;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::BodyExt;
use oktower::stack::{ApplicationSeam, NetworkExit, NetworkSeam};
use oktower::{Body, Error, ErrorKind, RequestBody, ResponseBody};
use oktower_testkit::{MockResponse, MockWebServer};
use support::layers::Seen;
use support::*;
use tower::ServiceExt;
use tower::util::MapRequestLayer;
use tower_layer::layer_fn;
use tower_service::Service;

fn redirect_then(body: &'static str, server: &MockWebServer) {
    server.enqueue(
        MockResponse::new()
            .status(302)
            .header("Location", "/b")
            .body("moved"),
    );
    server.enqueue(MockResponse::new().body(body));
}

#[tokio::test]
async fn an_application_layer_answers_without_the_network() {
    let server = MockWebServer::start().await.unwrap();
    let events = Arc::new(Events::default());
    let answered = Arc::new(AtomicUsize::new(0));
    let counter = answered.clone();
    let client = client_builder(&["a.test"], &events)
        .layer(layer_fn(move |_below: ApplicationSeam| {
            let counter = counter.clone();
            tower::service_fn(move |request: Request<RequestBody>| {
                counter.fetch_add(1, Ordering::SeqCst);
                let text = format!("answered {}", request.uri().path());
                async move { Ok::<_, Error>(Response::new(Body::from(text))) }
            })
        }))
        .build()
        .unwrap();

    let response = client
        .get(server.url_with_host("http", "a.test", "/here"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.connection().is_none());
    assert_eq!(response.text().await.unwrap(), "answered /here");
    assert_eq!(answered.load(Ordering::SeqCst), 1);
    assert_eq!(server.request_count(), 0);
    assert_eq!(client.connection_pool().connection_count(), 0);
    assert!(client.dispatcher().is_idle());
    assert_eq!(events.take(), ["CallStart", "CallEnd"]);
}

/// Sends the call again, once, when the answer is a 503.
#[derive(Clone)]
struct RetryOn503<S> {
    inner: S,
}

impl<S> Service<Request<RequestBody>> for RetryOn503<S>
where
    S: Service<Request<RequestBody>, Response = Response<Body>, Error = Error>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    type Response = Response<Body>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<RequestBody>) -> Self::Future {
        let mut inner = self.inner.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let again = body.try_clone().expect("a body held in memory");
            let request = Request::from_parts(parts.clone(), body);
            let response = inner.ready().await?.call(request).await?;
            if response.status() != StatusCode::SERVICE_UNAVAILABLE {
                return Ok(response);
            }
            response.into_body().collect().await?;
            let request = Request::from_parts(parts, again);
            inner.ready().await?.call(request).await
        })
    }
}

#[tokio::test]
async fn an_application_layer_retries() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::new().status(503).body("busy"));
    server.enqueue(MockResponse::new().body("done"));
    let events = Arc::new(Events::default());
    let client = client_builder(&["a.test"], &events)
        .layer(layer_fn(|inner: ApplicationSeam| RetryOn503 { inner }))
        .build()
        .unwrap();

    let response = client
        .post(server.url_with_host("http", "a.test", "/job"))
        .body("payload")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "done");
    let first = server.take_request(PATIENCE).await.unwrap();
    let second = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(
        (first.body_text(), second.body_text()),
        ("payload".into(), "payload".into())
    );
    assert_eq!(first.connection_index(), second.connection_index());
    assert_eq!(client.connection_pool().idle_connection_count(), 1);
    assert!(client.dispatcher().is_idle());
    let names = events.take();
    assert_eq!(names.iter().filter(|n| *n == "CallStart").count(), 1);
    assert_eq!(
        names.iter().filter(|n| *n == "RequestHeadersStart").count(),
        2
    );
    assert_eq!(names.last().unwrap(), "CallEnd");
}

#[tokio::test]
async fn an_application_layer_sees_one_call_across_a_redirect() {
    let server = MockWebServer::start().await.unwrap();
    redirect_then("here", &server);
    let events = Arc::new(Events::default());
    let seen = Seen::default();
    let client = client_builder(&["a.test"], &events)
        .layer(seen.clone())
        .build()
        .unwrap();

    let response = client
        .get(server.url_with_host("http", "a.test", "/a"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "here");
    let requests = seen.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].uri.path(), "/a");
    assert_eq!(requests[0].connection, None);
    assert_eq!(requests[0].exchange_connection, None);
    assert_eq!(server.request_count(), 2);
    assert_eq!(client.connection_pool().idle_connection_count(), 1);
}

#[tokio::test]
async fn a_network_layer_sees_each_request_with_its_connection() {
    let server = MockWebServer::start().await.unwrap();
    redirect_then("here", &server);
    let events = Arc::new(Events::default());
    let seen = Seen::default();
    let client = client_builder(&["a.test"], &events)
        .network_layer(seen.clone())
        .build()
        .unwrap();

    let response = client
        .get(server.url_with_host("http", "a.test", "/a"))
        .send()
        .await
        .unwrap();
    let connection = response.connection().expect("from the network").id();
    assert_eq!(response.text().await.unwrap(), "here");
    let requests = seen.requests();
    let paths: Vec<&str> = requests.iter().map(|r| r.uri.path()).collect();
    assert_eq!(paths, ["/a", "/b"]);
    for request in &requests {
        assert_eq!(request.connection, Some(connection));
        assert_eq!(request.exchange_connection, Some(connection));
        // The bridge's headers are on the request by then.
        assert!(request.headers.contains_key("host"));
        assert!(request.headers.contains_key("user-agent"));
    }
    assert_eq!(client.connection_pool().idle_connection_count(), 1);
    assert!(client.dispatcher().is_idle());
}

#[tokio::test]
async fn a_network_layer_may_change_headers() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::new().body("ok"));
    let events = Arc::new(Events::default());
    let client = client_builder(&["a.test"], &events)
        .network_layer(MapRequestLayer::new(|mut request: Request<RequestBody>| {
            let value = HeaderValue::from_static("on the wire");
            request.headers_mut().insert("x-network", value);
            request
        }))
        .build()
        .unwrap();
    let response = client
        .get(server.url_with_host("http", "a.test", "/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "ok");
    let request = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(request.header("x-network"), Some("on the wire"));
}

#[tokio::test]
async fn a_network_layer_that_changes_the_host_fails_the_call() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::new().body("never"));
    let events = Arc::new(Events::default());
    let elsewhere = server.url_with_host("http", "b.test", "/");
    let client = client_builder(&["a.test", "b.test"], &events)
        .network_layer(MapRequestLayer::new(
            move |mut request: Request<RequestBody>| {
                *request.uri_mut() = elsewhere.parse().unwrap();
                request
            },
        ))
        .build()
        .unwrap();

    let error = client
        .get(server.url_with_host("http", "a.test", "/"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Builder, "{error:?}");
    assert!(error.to_string().contains("host or port"), "{error}");
    assert_eq!(server.request_count(), 0);
    let pool = client.connection_pool();
    assert_eq!(pool.connection_count(), pool.idle_connection_count());
    assert!(pool.connection_count() <= 1);
    assert!(client.dispatcher().is_idle());
    let events = events.take();
    assert_eq!(
        events[events.len() - 4..],
        [
            "ConnectionAcquired",
            "RetryDecision false",
            "ConnectionReleased",
            "CallFailed"
        ]
    );
}

#[tokio::test]
async fn a_network_layer_that_skips_the_service_below_fails_the_call() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::new().body("never"));
    let events = Arc::new(Events::default());
    let client = client_builder(&["a.test"], &events)
        .network_layer(layer_fn(|_below: NetworkExit<NetworkSeam>| {
            tower::service_fn(|_request: Request<RequestBody>| async {
                Ok::<_, Error>(Response::new(ResponseBody::empty()))
            })
        }))
        .build()
        .unwrap();

    let error = client
        .get(server.url_with_host("http", "a.test", "/"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Builder, "{error:?}");
    assert!(error.to_string().contains("exactly once"), "{error}");
    assert_eq!(server.request_count(), 0);
    // The connection the layer left unused is reported released, in OkHttp's order.
    assert_eq!(
        events.take(),
        [
            "CallStart",
            "ProxySelectStart",
            "ProxySelectEnd",
            "DnsStart",
            "DnsEnd",
            "ConnectStart",
            "ConnectEnd",
            "ConnectionAcquired",
            "RetryDecision false",
            "ConnectionReleased",
            "CallFailed",
        ]
    );
    let pool = client.connection_pool();
    assert_eq!(pool.connection_count(), pool.idle_connection_count());
    assert!(client.dispatcher().is_idle());
}

fn add_header(
    name: &'static str,
) -> MapRequestLayer<impl Fn(Request<RequestBody>) -> Request<RequestBody> + Clone> {
    MapRequestLayer::new(move |mut request: Request<RequestBody>| {
        request
            .headers_mut()
            .append(name, HeaderValue::from_static("1"));
        request
    })
}

#[tokio::test]
async fn a_derived_client_shares_the_pool_and_keeps_inherited_layers() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::new().body("first"));
    server.enqueue(MockResponse::new().body("second"));
    let events = Arc::new(Events::default());
    let seen = Seen::default();
    let first = client_builder(&["a.test"], &events)
        .layer(add_header("x-inherited"))
        .network_layer(seen.clone())
        .build()
        .unwrap();
    let second = first
        .new_builder()
        .layer(add_header("x-own"))
        .build()
        .unwrap();
    let url = server.url_with_host("http", "a.test", "/");

    let response = first.get(&url).send().await.unwrap();
    assert_eq!(response.text().await.unwrap(), "first");
    let response = second.get(&url).send().await.unwrap();
    assert_eq!(response.text().await.unwrap(), "second");

    let one = server.take_request(PATIENCE).await.unwrap();
    let two = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(one.header("x-inherited"), Some("1"));
    assert_eq!(one.header("x-own"), None);
    assert_eq!(two.header("x-inherited"), Some("1"));
    assert_eq!(two.header("x-own"), Some("1"));
    // The derived client reused the first client's connection.
    assert_eq!(one.connection_index(), two.connection_index());
    assert_eq!(server.connection_count(), 1);
    assert_eq!(first.connection_pool().idle_connection_count(), 1);
    assert_eq!(second.connection_pool().idle_connection_count(), 1);
    // The network layer, inherited too, saw both requests.
    assert_eq!(seen.count(), 2);
    // The dispatcher is shared as well.
    first.dispatcher().set_max_requests_per_host(3);
    assert_eq!(second.dispatcher().max_requests_per_host(), 3);
}
