//! An axum service whose handler calls another local service through a shared `Client`, with
//! tower middleware around the client (a timeout and a concurrency limit) — oktower as the
//! outbound client of a web service.
//!
//! Run it with `cargo run -p oktower-examples --example axum_outbound`.

use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use oktower::{Client, RequestBody};
use oktower_examples::{BoxError, local_world};
use oktower_testkit::{MockResponse, RecordedRequest};
use tower::util::BoxCloneSyncService;
use tower::{Service, ServiceBuilder, ServiceExt};

/// The outbound client as the handlers see it: the oktower `Client` under tower middleware.
type Outbound =
    BoxCloneSyncService<http::Request<RequestBody>, http::Response<oktower::Body>, BoxError>;

#[derive(Clone)]
struct App {
    outbound: Outbound,
    upstream: String,
}

/// `GET /weather/{city}`: asks the upstream service and relays its answer.
async fn weather(State(app): State<App>, Path(city): Path<String>) -> (StatusCode, String) {
    let request = http::Request::get(format!("{}/forecast/{city}", app.upstream))
        .body(RequestBody::empty())
        .expect("a valid request");
    let outcome = async {
        let response = app.outbound.clone().ready().await?.call(request).await?;
        let response = oktower::Response::new(response);
        let status = response.status();
        let text = response.text().await?;
        Ok::<_, BoxError>((status, text))
    }
    .await;
    match outcome {
        Ok((status, text)) => (
            StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY),
            format!("upstream says: {text}"),
        ),
        Err(error) => (StatusCode::BAD_GATEWAY, format!("upstream failed: {error}")),
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // The upstream service: a MockWebServer answering forecasts over TLS.
    let (upstream, builder) = local_world(&["forecasts.test"], |request: &RecordedRequest| {
        let city = request.path().trim_start_matches("/forecast/").to_owned();
        MockResponse::new().body(format!("sunny in {city}"))
    })
    .await?;
    let client: Client = builder.build()?;
    let outbound = ServiceBuilder::new()
        .timeout(Duration::from_secs(5))
        .concurrency_limit(16)
        .service(client.clone());
    let app = Router::new()
        .route("/weather/{city}", get(weather))
        .with_state(App {
            outbound: BoxCloneSyncService::new(outbound),
            upstream: format!("https://forecasts.test:{}", upstream.port()),
        });

    // The axum service on loopback.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    println!("axum service at http://{address}/");

    // Its users (here the same client) ask it about a few cities.
    for city in ["lisbon", "oslo", "kyoto"] {
        let response = client
            .get(format!("http://{address}/weather/{city}"))
            .send()
            .await?;
        println!(
            "GET /weather/{city} -> {}: {}",
            response.status(),
            response.text().await?
        );
    }
    println!(
        "upstream saw {} requests on {} connection(s); the client pool holds {} connection(s)",
        upstream.request_count(),
        upstream.connection_count(),
        client.connection_pool().connection_count()
    );
    let _ = stop.send(());
    serving.await??;
    Ok(())
}
