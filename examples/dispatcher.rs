//! 1,000 calls across 4 hosts under the dispatcher's limits (64 in all, 5 per host): the calls
//! wait their turn in FIFO order per host, and the queue drains as responses complete.
//!
//! Run it with `cargo run -p oktower-examples --example dispatcher`.

use std::time::Duration;

use oktower::Dispatcher;
use oktower_examples::{BoxError, local_world};
use oktower_testkit::{MockResponse, RecordedRequest};
use tokio::task::JoinSet;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let hosts = ["a.test", "b.test", "c.test", "d.test"];
    let (server, builder) = local_world(&hosts, |_: &RecordedRequest| {
        MockResponse::new()
            .headers_delay(Duration::from_millis(2))
            .body("done")
    })
    .await?;
    let dispatcher = Dispatcher::new();
    let client = builder
        .dispatcher(dispatcher.clone())
        // HTTP/1.1, so that each running call holds its own connection.
        .protocols(&[oktower::Protocol::Http11])
        .build()?;
    let port = server.port();

    let mut calls = JoinSet::new();
    for i in 0..1_000 {
        let client = client.clone();
        let url = format!("https://{}:{port}/{i}", hosts[i % hosts.len()]);
        calls.spawn(async move { client.get(&url).send().await?.bytes().await });
    }
    let mut done = 0;
    let mut busiest = 0;
    while let Some(outcome) = calls.join_next().await {
        outcome??;
        done += 1;
        busiest = busiest.max(dispatcher.running_calls_count());
        if done % 250 == 0 {
            println!(
                "{done:>5} done; running {:>2}, queued {:>3}",
                dispatcher.running_calls_count(),
                dispatcher.queued_calls_count()
            );
        }
    }
    println!(
        "all {done} calls done; at most {busiest} running at once (limit {} in all, {} per host); {} connections opened",
        dispatcher.max_requests(),
        dispatcher.max_requests_per_host(),
        server.connection_count()
    );
    Ok(())
}
