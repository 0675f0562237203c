//! User layers: an application layer that adds a token and retries a `503` once (it sees each
//! call once, above redirects), and a network layer that logs each request on the wire with
//! its connection (it sees the redirect's two requests).
//!
//! Run it with `cargo run -p oktower-examples --example interceptors`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use oktower::stack::ApplicationSeam;
use oktower::{Body, Error, Exchange, RequestBody};
use oktower_examples::{BoxError, local_world};
use oktower_testkit::{MockResponse, RecordedRequest};
use tower::{Layer, Service, ServiceBuilder, ServiceExt};

/// Adds `Authorization` to every call and sends it once more after a `503`.
#[derive(Clone)]
struct TokenAndRetry<S> {
    inner: S,
}

impl<S> Service<http::Request<RequestBody>> for TokenAndRetry<S>
where
    S: Service<http::Request<RequestBody>, Response = http::Response<Body>, Error = Error>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    type Response = http::Response<Body>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<RequestBody>) -> Self::Future {
        let auth = http::HeaderValue::from_static("Bearer example-token");
        request
            .headers_mut()
            .insert(http::header::AUTHORIZATION, auth);
        let retry = request.body().try_clone().map(|body| {
            let mut again = http::Request::new(body);
            *again.method_mut() = request.method().clone();
            *again.uri_mut() = request.uri().clone();
            *again.headers_mut() = request.headers().clone();
            *again.extensions_mut() = request.extensions().clone();
            again
        });
        let mut inner = self.inner.clone();
        let first = self.inner.call(request);
        Box::pin(async move {
            let response = first.await?;
            match retry {
                Some(again) if response.status() == 503 => {
                    println!("  [application] 503: trying once more");
                    drop(response);
                    inner.ready().await?.call(again).await
                }
                _ => Ok(response),
            }
        })
    }
}

struct TokenAndRetryLayer;

impl Layer<ApplicationSeam> for TokenAndRetryLayer {
    type Service = TokenAndRetry<ApplicationSeam>;

    fn layer(&self, inner: ApplicationSeam) -> Self::Service {
        TokenAndRetry { inner }
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let busy = std::sync::atomic::AtomicBool::new(true);
    let (server, builder) =
        local_world(
            &["api.test"],
            move |request: &RecordedRequest| match request.path() {
                "/busy" if busy.swap(false, std::sync::atomic::Ordering::SeqCst) => {
                    MockResponse::new().status(503)
                }
                "/old" => MockResponse::new().status(301).header("Location", "/new"),
                _ => MockResponse::new().body(format!(
                    "hello, {}",
                    request.header("authorization").unwrap_or("stranger")
                )),
            },
        )
        .await?;
    let client = builder
        .layer(TokenAndRetryLayer)
        .network_layer(
            ServiceBuilder::new().map_request(|request: http::Request<RequestBody>| {
                let connection = request
                    .extensions()
                    .get::<Exchange>()
                    .map(|e| e.info().clone());
                println!(
                    "  [network] {} {} {:?} on {:?}",
                    request.method(),
                    request.uri(),
                    request
                        .headers()
                        .keys()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>(),
                    connection.map(|c| (c.id(), c.protocol()))
                );
                request
            }),
        )
        .build()?;
    let port = server.port();
    for path in ["/busy", "/old"] {
        println!("GET {path}");
        let response = client
            .get(format!("https://api.test:{port}{path}"))
            .send()
            .await?;
        println!("  -> {}: {:?}", response.status(), response.text().await?);
    }
    Ok(())
}
