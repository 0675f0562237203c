//! The Client as a tower service: under `tower::timeout`, under tower-http's `TraceLayer`, and
//! as the outbound client of an axum handler.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use oktower::Client;
use oktower_testkit::{MockResponse, MockWebServer};
use support::*;
use tokio::sync::oneshot;
use tokio::time::timeout;
use tower::{BoxError, ServiceBuilder, ServiceExt};
use tower_http::classify::ServerErrorsFailureClass;
use tower_http::trace::TraceLayer;
use tower_service::Service;
use tracing::Span;

fn get_request(url: &str) -> Request<Empty<Bytes>> {
    Request::get(url).body(Empty::new()).unwrap()
}

/// Sends a GET of `url` through `service`, once it is ready.
async fn send<S>(service: &mut S, url: &str) -> Result<S::Response, S::Error>
where
    S: Service<Request<Empty<Bytes>>>,
{
    service.ready().await?.call(get_request(url)).await
}

#[tokio::test]
async fn under_tower_timeout_a_late_response_is_abandoned_without_a_leak() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::new().body("in time"));
    server.enqueue(
        MockResponse::new()
            .headers_delay(Duration::from_secs(30))
            .body("late"),
    );
    let events = Arc::new(Events::default());
    let client = client_builder(&["a.test"], &events).build().unwrap();
    let mut service = ServiceBuilder::new()
        .timeout(Duration::from_millis(300))
        .service(client.clone());
    let url = server.url_with_host("http", "a.test", "/");

    let response = send(&mut service, &url).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "in time");
    assert_eq!(client.connection_pool().idle_connection_count(), 1);

    let error: BoxError = timeout(PATIENCE, send(&mut service, &url))
        .await
        .expect("tower's timeout ends the call")
        .unwrap_err();
    assert!(error.is::<tower::timeout::error::Elapsed>(), "{error:?}");
    assert_eq!(server.request_count(), 2);
    // The abandoned call gave back its slot and closed its connection.
    assert!(client.dispatcher().is_idle());
    assert_eq!(client.connection_pool().connection_count(), 0);
}

/// What the trace layer's callbacks heard.
#[derive(Clone, Default)]
struct Traced {
    requests: Arc<Mutex<Vec<String>>>,
    statuses: Arc<Mutex<Vec<u16>>>,
    body_bytes: Arc<Mutex<usize>>,
    failures: Arc<Mutex<Vec<String>>>,
}

#[tokio::test]
async fn under_tower_http_trace_layer_every_callback_fires() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::new().chunked_body("traced body", 4));
    server.enqueue(MockResponse::new().status(500).body("broken"));
    let events = Arc::new(Events::default());
    let client = client_builder(&["a.test"], &events).build().unwrap();
    let traced = Traced::default();
    let trace = {
        let (on_request, on_response) = (traced.clone(), traced.clone());
        let (on_chunk, on_failure) = (traced.clone(), traced.clone());
        TraceLayer::new_for_http()
            .on_request(move |request: &Request<Empty<Bytes>>, _span: &Span| {
                let path = request.uri().path().to_owned();
                on_request.requests.lock().unwrap().push(path);
            })
            .on_response(
                move |response: &http::Response<oktower::Body>,
                      _latency: Duration,
                      _span: &Span| {
                    let status = response.status().as_u16();
                    on_response.statuses.lock().unwrap().push(status);
                },
            )
            .on_body_chunk(move |chunk: &Bytes, _latency: Duration, _span: &Span| {
                *on_chunk.body_bytes.lock().unwrap() += chunk.len();
            })
            .on_failure(
                move |failure: ServerErrorsFailureClass, _latency: Duration, _span: &Span| {
                    on_failure
                        .failures
                        .lock()
                        .unwrap()
                        .push(failure.to_string());
                },
            )
    };
    let mut service = ServiceBuilder::new().layer(trace).service(client.clone());

    let url = |path: &str| server.url_with_host("http", "a.test", path);
    let response = send(&mut service, &url("/ok")).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "traced body");
    let response = send(&mut service, &url("/broken")).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    response.into_body().collect().await.unwrap();

    assert_eq!(*traced.requests.lock().unwrap(), ["/ok", "/broken"]);
    assert_eq!(*traced.statuses.lock().unwrap(), [200, 500]);
    assert_eq!(
        *traced.body_bytes.lock().unwrap(),
        "traced body".len() + "broken".len()
    );
    let failures = traced.failures.lock().unwrap().clone();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].contains("500"), "{failures:?}");
    assert!(client.dispatcher().is_idle());
    assert_eq!(client.connection_pool().idle_connection_count(), 1);
}

/// The state of the axum app: the client it calls out with, and where to.
#[derive(Clone)]
struct Relay {
    client: Client,
    upstream: String,
}

async fn relay(State(relay): State<Relay>) -> Result<String, (StatusCode, String)> {
    let failed = |error: oktower::Error| (StatusCode::BAD_GATEWAY, error.to_string());
    let response = relay
        .client
        .get(&relay.upstream)
        .send()
        .await
        .map_err(failed)?;
    let text = response.text().await.map_err(failed)?;
    Ok(format!("relayed: {text}"))
}

#[tokio::test]
async fn an_axum_handler_calls_out_with_the_client() {
    let upstream = MockWebServer::start().await.unwrap();
    upstream.enqueue(MockResponse::new().body("from upstream"));
    let events = Arc::new(Events::default());
    let client = client_builder(&["a.test"], &events).build().unwrap();
    let app = Router::new().route("/relay", get(relay)).with_state(Relay {
        client: client.clone(),
        upstream: upstream.url_with_host("http", "a.test", "/source"),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });

    // The client calls the app, whose handler calls upstream with the same client.
    let response = client
        .get(format!("http://{address}/relay"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "relayed: from upstream");
    let request = upstream.take_request(PATIENCE).await.unwrap();
    assert_eq!(request.path(), "/source");
    assert!(
        request
            .header("user-agent")
            .unwrap()
            .starts_with("oktower/")
    );

    let names = events.take();
    assert_eq!(names.iter().filter(|n| *n == "CallStart").count(), 2);
    assert_eq!(names.iter().filter(|n| *n == "CallEnd").count(), 2);
    assert!(client.dispatcher().is_idle());
    let pool = client.connection_pool();
    assert_eq!(pool.connection_count(), 2);
    assert_eq!(pool.idle_connection_count(), 2);

    stop.send(()).unwrap();
    timeout(PATIENCE, serving)
        .await
        .expect("the app stops")
        .unwrap()
        .unwrap();
}
