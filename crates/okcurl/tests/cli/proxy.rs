//! -x/--proxy with --proxy-user, and -O.

use oktower_testkit::{MockResponse, MockWebServer, ProxyMode};

use crate::support::{okcurl, request};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_go_through_the_proxy_with_its_credentials() {
    let proxy = MockWebServer::builder()
        .proxy_mode(ProxyMode::new().require_auth("Basic dXNlcjpwYXNz", "Basic realm=\"p\""))
        .default_response(MockResponse::new().body("proxied"))
        .start()
        .await
        .unwrap();
    let address = proxy.proxy_address().to_string();
    let run = okcurl(&[
        "-x",
        &address,
        "--proxy-user",
        "user:pass",
        "http://origin.invalid/path",
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, b"proxied");
    let recorded = request(&proxy).await;
    assert_eq!(recorded.target(), "http://origin.invalid/path");

    let refused = okcurl(&["-f", "-x", &address, "http://origin.invalid/path"]).await;
    assert_eq!(refused.code, 22, "{refused:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_name_writes_to_the_urls_file_name() {
    let server = MockWebServer::builder()
        .default_response(MockResponse::new().body("file body"))
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_okcurl"))
        .current_dir(dir.path())
        .args(["-s", "-O", &server.url("/files/report.txt")])
        .output()
        .await
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    assert!(run.stdout.is_empty());
    let written = std::fs::read(dir.path().join("report.txt")).unwrap();
    assert_eq!(written, b"file body");
}
