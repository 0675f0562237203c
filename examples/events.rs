//! Timings per phase for several calls: the first opens a connection (DNS, connect, TLS), the
//! next reuse it, and a call to a second host name is coalesced onto it. A listener prints
//! every event with its offset.
//!
//! Run it with `cargo run -p oktower-examples --example events`.

use std::sync::Arc;

use oktower::{EventListener, Timings};
use oktower_examples::{BoxError, local_world};
use oktower_testkit::MockResponse;
use tokio::time::Instant;

/// Prints each event of a call with the milliseconds since the call started.
struct Printer {
    start: Instant,
}

impl Printer {
    fn say(&self, what: &str) {
        println!(
            "    {:>8.3} ms  {what}",
            self.start.elapsed().as_secs_f64() * 1e3
        );
    }
}

impl EventListener for Printer {
    fn call_start(&self, uri: &http::Uri) {
        self.say(&format!("call_start {uri}"));
    }
    fn dns_end(&self, host: &str, addresses: &[std::net::IpAddr]) {
        self.say(&format!("dns_end {host} -> {addresses:?}"));
    }
    fn connect_end(
        &self,
        address: std::net::SocketAddr,
        _proxy: &oktower::Proxy,
        protocol: Option<oktower::Protocol>,
    ) {
        self.say(&format!("connect_end {address} {protocol:?}"));
    }
    fn connection_acquired(&self, connection: &oktower::ConnectionInfo) {
        let how = if connection.is_coalesced() {
            " (coalesced)"
        } else {
            ""
        };
        self.say(&format!("connection_acquired #{}{how}", connection.id()));
    }
    fn response_headers_end(&self, response: &http::response::Parts) {
        self.say(&format!("response_headers_end {}", response.status));
    }
    fn call_end(&self) {
        self.say("call_end");
    }
}

fn line(timings: &Timings) -> String {
    let ms = |d: Option<std::time::Duration>| match d {
        Some(d) => format!("{:.3}", d.as_secs_f64() * 1e3),
        None => "-".to_owned(),
    };
    format!(
        "dns {} | connect {} | tls {} | ttfb {} | total {} (ms), reused: {:?}",
        ms(timings.dns),
        ms(timings.connect),
        ms(timings.tls),
        ms(timings.time_to_first_byte),
        ms(timings.total),
        timings.connection_reused
    )
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let (server, builder) = local_world(
        &["a.test", "b.test"],
        |_: &oktower_testkit::RecordedRequest| MockResponse::new().body("ok"),
    )
    .await?;
    let factory = |_: &http::Uri| -> Arc<dyn EventListener> {
        Arc::new(Printer {
            start: Instant::now(),
        })
    };
    let client = builder.event_listener_factory(factory).build()?;
    let port = server.port();
    for host in ["a.test", "a.test", "a.test", "b.test"] {
        let url = format!("https://{host}:{port}/");
        println!("GET {url}");
        let response = client.get(&url).send().await?;
        let timings = response
            .call_timings()
            .ok_or("every response has its timings")?;
        response.bytes().await?;
        println!("  {}", line(&timings.timings()));
    }
    println!(
        "{} requests, {} connection(s) on the server",
        server.request_count(),
        server.connection_count()
    );
    Ok(())
}
