//! Exit codes for the common failures: 6, 7, 28, 3.

use std::time::Duration;

use oktower_testkit::{MockResponse, MockWebServer};

use crate::support::okcurl;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unresolvable_host_exits_6() {
    let run = okcurl(&["http://nothing.invalid/"]).await;
    assert_eq!(run.code, 6, "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
    assert!(run.stderr.starts_with("okcurl: (6) "), "{run:?}");
    assert!(run.stderr.contains("nothing.invalid"), "{run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_exits_7() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let run = okcurl(&[&format!("http://127.0.0.1:{port}/")]).await;
    assert_eq!(run.code, 7, "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
    assert!(run.stderr.starts_with("okcurl: (7) "), "{run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_server_exits_28() {
    let server = MockWebServer::builder()
        .default_response(
            MockResponse::new()
                .headers_delay(Duration::from_secs(30))
                .body("late"),
        )
        .start()
        .await
        .unwrap();
    let read = okcurl(&["--read-timeout", "0.2", &server.url("/")]).await;
    assert_eq!(read.code, 28, "{read:?}");
    assert!(read.stderr.starts_with("okcurl: (28) "), "{read:?}");
    let call = okcurl(&["--call-timeout", "0.2", &server.url("/")]).await;
    assert_eq!(call.code, 28, "{call:?}");
    let write_out = okcurl(&[
        "-s",
        "-m",
        "0.2",
        "-w",
        "%{http_code} %{exitcode}",
        &server.url("/"),
    ])
    .await;
    assert_eq!(write_out.stdout_text(), "000 28");
    assert_eq!(write_out.stderr, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2_and_bad_urls_too() {
    let bad_header = okcurl(&["-H", "oops", "http://a.test/"]).await;
    assert_eq!(bad_header.code, 2, "{bad_header:?}");
    let bad_url = okcurl(&["ftp://a.test/"]).await;
    assert_eq!(bad_url.code, 2, "{bad_url:?}");
    let no_url = okcurl(&[]).await;
    assert_eq!(no_url.code, 2, "{no_url:?}");
}
