//! The bridge as a service: request headers and cookies around a scripted inner service.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::{BodyExt, Empty, Full};
use tower::{Layer, ServiceExt, service_fn};

use super::test_body::TestBody;
use super::*;
use crate::{BoxError, Error, ErrorKind};

/// The requests an inner service saw, in order.
type Seen = Arc<Mutex<Vec<HeaderMap>>>;

/// An inner service that records each request's headers and answers with `respond(url)`.
fn server(
    seen: &Seen,
    respond: fn(&str) -> Response<TestBody>,
) -> impl tower::Service<
    Request<Full<Bytes>>,
    Response = Response<TestBody>,
    Error = Infallible,
    Future = impl Send,
> + Clone {
    let seen = Arc::clone(seen);
    service_fn(move |request: Request<Full<Bytes>>| {
        seen.lock()
            .expect("not poisoned")
            .push(request.headers().clone());
        let response = respond(&request.uri().to_string());
        async move { Ok::<_, Infallible>(response) }
    })
}

fn ok(_url: &str) -> Response<TestBody> {
    Response::new(TestBody::bytes("ok"))
}

/// Sets a cookie named after the host that answers.
fn sets_cookie(url: &str) -> Response<TestBody> {
    let host = url
        .split('/')
        .nth(2)
        .expect("absolute URL")
        .replace('.', "_");
    let status = if url.ends_with("/redirect") {
        StatusCode::FOUND
    } else if url.ends_with("/not-modified") {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    Response::builder()
        .status(status)
        .header("set-cookie", format!("from_{host}=1; Path=/"))
        .header("set-cookie", "bad=1; Domain=co.uk")
        .body(TestBody::bytes(""))
        .expect("valid response")
}

fn get(url: &str) -> Request<Full<Bytes>> {
    Request::get(url)
        .body(Full::default())
        .expect("valid request")
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|value| value.to_str().expect("ASCII").to_owned())
}

#[tokio::test]
async fn requests_reach_the_inner_service_with_the_bridge_headers() {
    let seen = Seen::default();
    let bridge = Bridge::new(server(&seen, ok));
    let request = Request::post("http://[::1]:8080/upload")
        .body(Full::new(Bytes::from_static(b"12345")))
        .expect("valid request");
    let response = bridge.oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);

    let sent = &seen.lock().expect("not poisoned")[0];
    assert_eq!(header(sent, "host").as_deref(), Some("[::1]:8080"));
    assert_eq!(header(sent, "content-length").as_deref(), Some("5"));
    assert_eq!(header(sent, "connection").as_deref(), Some("keep-alive"));
    assert_eq!(
        header(sent, "accept-encoding").as_deref(),
        Some("gzip, deflate, br, zstd")
    );
    assert_eq!(
        header(sent, "user-agent"),
        Some(format!("oktower/{}", env!("CARGO_PKG_VERSION")))
    );
    assert!(sent.get("cookie").is_none());
}

#[tokio::test]
async fn the_configured_user_agent_is_sent() {
    let seen = Seen::default();
    let layer = BridgeLayer::new().user_agent(HeaderValue::from_static("my-app/3"));
    let bridge = layer.layer(server(&seen, ok));
    bridge
        .oneshot(get("http://example.com/"))
        .await
        .expect("infallible");
    let sent = &seen.lock().expect("not poisoned")[0];
    assert_eq!(header(sent, "user-agent").as_deref(), Some("my-app/3"));
}

#[tokio::test]
async fn cookies_are_received_from_every_response_and_sent_back() {
    let seen = Seen::default();
    let jar = Arc::new(MemoryCookieJar::new());
    let bridge = BridgeLayer::new()
        .cookie_jar(jar.clone())
        .layer(server(&seen, sets_cookie));

    for url in [
        "https://a.example.co.uk/redirect",
        "https://b.example.co.uk/not-modified",
        "https://a.example.co.uk/page",
    ] {
        bridge.clone().oneshot(get(url)).await.expect("infallible");
    }
    let seen = seen.lock().expect("not poisoned");
    assert!(seen[0].get("cookie").is_none());
    // The cookie a 302 set is sent on the next request to its host; the 304's stays with its
    // host; the public-suffix cookie was never stored.
    assert!(seen[1].get("cookie").is_none());
    assert_eq!(
        header(&seen[2], "cookie").as_deref(),
        Some("from_a_example_co_uk=1")
    );
    let b: http::Uri = "https://b.example.co.uk/".parse().expect("valid");
    assert_eq!(
        jar.cookies(&b).expect("stored from the 304"),
        "from_b_example_co_uk=1"
    );
    let other: http::Uri = "https://other.co.uk/".parse().expect("valid");
    assert!(jar.cookies(&other).is_none());
}

#[tokio::test]
async fn jar_cookies_join_the_users_cookie_header() {
    let seen = Seen::default();
    let jar = Arc::new(MemoryCookieJar::new());
    let url: http::Uri = "https://example.com/".parse().expect("valid");
    assert!(jar.add_cookie_str("stored=1", &url));
    let bridge = BridgeLayer::new().cookie_jar(jar).layer(server(&seen, ok));
    let request = Request::get("https://example.com/")
        .header("cookie", "mine=2")
        .body(Full::default())
        .expect("valid request");
    bridge.oneshot(request).await.expect("infallible");
    let sent = &seen.lock().expect("not poisoned")[0];
    assert_eq!(header(sent, "cookie").as_deref(), Some("mine=2; stored=1"));
}

#[tokio::test]
async fn the_inner_services_error_passes_through() {
    let failing = service_fn(|_request: Request<Empty<Bytes>>| async {
        Err::<Response<TestBody>, _>(Error::new(ErrorKind::Connect, "refused"))
    });
    let request = Request::get("http://example.com/")
        .body(Empty::new())
        .expect("valid request");
    let error = Bridge::new(failing)
        .oneshot(request)
        .await
        .expect_err("fails");
    assert!(error.is_connect());
}

#[tokio::test]
async fn plain_bodies_pass_through_with_their_errors_as_oktower_errors() {
    fn failing_body(error: BoxError) -> Response<TestBody> {
        let frames = vec![Ok(Frame::data(Bytes::from_static(b"part"))), Err(error)];
        Response::new(TestBody::new(frames.into_iter()))
    }
    for (error, kind) in [
        (
            Box::new(Error::new(ErrorKind::Timeout, "read timed out")) as BoxError,
            ErrorKind::Timeout,
        ),
        ("connection reset".into(), ErrorKind::Io),
    ] {
        let response = Mutex::new(Some(failing_body(error)));
        let inner = service_fn(move |_request: Request<Empty<Bytes>>| {
            let response = response
                .lock()
                .expect("not poisoned")
                .take()
                .expect("one call");
            async move { Ok::<_, Infallible>(response) }
        });
        let request = Request::get("http://example.com/")
            .body(Empty::new())
            .expect("valid request");
        let response = Bridge::new(inner)
            .oneshot(request)
            .await
            .expect("infallible");
        assert!(!response.body().is_decompressing());
        let mut body = response.into_body();
        let first = body.frame().await.expect("a frame").expect("data");
        assert_eq!(first.into_data().expect("data"), "part");
        let error = body.frame().await.expect("a frame").expect_err("fails");
        assert_eq!(error.kind(), kind);
    }
}

#[tokio::test]
async fn plain_bodies_keep_their_size_hint_and_end() {
    let inner = service_fn(|_request: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"12345"))))
    });
    let response = Bridge::new(inner)
        .oneshot(get("http://example.com/"))
        .await
        .expect("infallible");
    let body = response.into_body();
    assert_eq!(http_body::Body::size_hint(&body).exact(), Some(5));
    assert!(!http_body::Body::is_end_stream(&body));
    let bytes = body.collect().await.expect("body").to_bytes();
    assert_eq!(bytes, "12345");
}
