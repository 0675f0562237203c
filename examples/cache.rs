//! The response cache on disk: a fresh hit without the network, a conditional hit (`304`)
//! that merges the new headers, and a stale entry served when the server is gone
//! (`stale-if-error`).
//!
//! Run it with `cargo run -p oktower-examples --example cache`.

use oktower::{CacheLayer, CacheOutcome, Client, DiskStore};
use oktower_examples::{BoxError, local_world};
use oktower_testkit::{MockResponse, RecordedRequest};

async fn get(client: &Client, url: &str) -> Result<(), BoxError> {
    match client.get(url).send().await {
        Ok(response) => {
            let outcome = response.extensions().get::<CacheOutcome>().copied();
            let status = response.status();
            let text = response.text().await?;
            println!("  {url} -> {status} {outcome:?}: {text:?}");
        }
        Err(error) => println!("  {url} -> error: {error}"),
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let directory = tempfile::tempdir()?;
    let (server, builder) = local_world(&["a.test"], |request: &RecordedRequest| {
        match request.path() {
            "/fresh" => MockResponse::new()
                .header("Cache-Control", "max-age=600")
                .body("fresh for ten minutes"),
            "/validated" => match request.header("If-None-Match") {
                Some("\"v1\"") => MockResponse::new()
                    .status(304)
                    .header("ETag", "\"v1\"")
                    .header("X-Checked", "again"),
                _ => MockResponse::new()
                    .header("Cache-Control", "no-cache")
                    .header("ETag", "\"v1\"")
                    .body("validated on each use"),
            },
            _ => MockResponse::new()
                .header("Cache-Control", "max-age=0, stale-if-error=3600")
                .body("kept for bad days"),
        }
    })
    .await?;
    let store = DiskStore::open(directory.path(), 10 * 1024 * 1024).await?;
    let cache = CacheLayer::new(store);
    let client = builder.cache(cache.clone()).build()?;
    let port = server.port();
    let url = |path: &str| format!("https://a.test:{port}{path}");

    println!("first visits (the network, stored):");
    for path in ["/fresh", "/validated", "/resilient"] {
        get(&client, &url(path)).await?;
    }
    println!("second visits:");
    for path in ["/fresh", "/validated"] {
        get(&client, &url(path)).await?;
    }
    println!("the server goes away:");
    server.shutdown().await?;
    get(&client, &url("/resilient")).await?;
    get(&client, &url("/fresh")).await?;
    println!("statistics: {:?}", cache.stats());
    Ok(())
}
