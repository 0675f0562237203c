//! Cleartext HTTP: GET, -i, -I, -d, -H, -L, -o, -w, --events, several URLs.

use oktower_testkit::{MockResponse, MockWebServer, Protocol, RecordedRequest};

use crate::support::{okcurl, okcurl_with_stdin, request};

fn answer(request: &RecordedRequest) -> MockResponse {
    match request.path() {
        "/hello" => MockResponse::new()
            .header("Content-Type", "text/plain")
            .body("hello"),
        "/echo" => MockResponse::new().body(format!(
            "{} {} {}",
            request.method(),
            request.header("content-type").unwrap_or("-"),
            request.body_text()
        )),
        "/r3" => MockResponse::new().status(302).header("Location", "/r2"),
        "/r2" => MockResponse::new().status(301).header("Location", "/r1"),
        "/r1" => MockResponse::new().status(303).header("Location", "/echo"),
        "/missing" => MockResponse::new().status(404).body("not here"),
        _ => MockResponse::new().status(500),
    }
}

async fn server() -> MockWebServer {
    MockWebServer::builder()
        .dispatcher(answer)
        .start()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_writes_the_body_and_sends_okcurls_user_agent() {
    let server = server().await;
    let run = okcurl(&[&server.url("/hello")]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, b"hello");
    assert_eq!(run.stderr, "");
    let recorded = request(&server).await;
    assert_eq!(recorded.method(), "GET");
    let agent = recorded.header("user-agent").unwrap();
    assert!(agent.starts_with("okcurl/"), "{agent}");
    assert!(recorded.header("accept-encoding").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn include_writes_the_head_before_the_body() {
    let server = server().await;
    let run = okcurl(&["-i", &server.url("/hello")]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let text = run.stdout_text();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("\r\ncontent-type: text/plain\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\nhello"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_sends_head_and_writes_only_the_head() {
    let server = server().await;
    let run = okcurl(&["-I", &server.url("/hello")]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let text = run.stdout_text();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\n"), "{text}");
    assert_eq!(request(&server).await.method(), "HEAD");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_posts_a_form_from_text_files_and_stdin() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("form.txt");
    std::fs::write(&file, "b=2\n").unwrap();
    let at_file = format!("@{}", file.display());
    let run = okcurl_with_stdin(
        &[
            "-d",
            "a=1",
            "-d",
            &at_file,
            "-d",
            "@-",
            &server.url("/echo"),
        ],
        b"c=3",
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout_text(),
        "POST application/x-www-form-urlencoded a=1&b=2&c=3"
    );
    let put = okcurl(&[
        "-X",
        "PUT",
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        "{\"x\":1}",
        &server.url("/echo"),
    ])
    .await;
    assert_eq!(put.stdout_text(), "PUT application/json {\"x\":1}");
    let missing = okcurl(&["-d", "@/no/such/file", &server.url("/echo")]).await;
    assert_eq!(missing.code, 26, "{missing:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_user_agent_and_basic_auth_are_sent() {
    let server = server().await;
    let run = okcurl(&[
        "-H",
        "X-Trace: abc",
        "-A",
        "tester/1.0",
        "-u",
        "user:secret",
        &server.url("/hello"),
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let recorded = request(&server).await;
    assert_eq!(recorded.header("x-trace"), Some("abc"));
    assert_eq!(recorded.header("user-agent"), Some("tester/1.0"));
    assert_eq!(
        recorded.header("authorization"),
        Some("Basic dXNlcjpzZWNyZXQ=")
    );
    let bad = okcurl(&["-H", "no colon here", &server.url("/hello")]).await;
    assert_eq!(bad.code, 2, "{bad:?}");
    assert_eq!(bad.stderr.lines().count(), 1, "{bad:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn location_follows_redirects_within_max_redirs() {
    let server = server().await;
    let unfollowed = okcurl(&["-i", &server.url("/r1")]).await;
    assert_eq!(unfollowed.code, 0, "{unfollowed:?}");
    assert!(
        unfollowed
            .stdout_text()
            .starts_with("HTTP/1.1 303 See Other")
    );

    let followed = okcurl(&[
        "-L",
        "-d",
        "x=1",
        "-w",
        "\\n%{num_redirects} %{http_code} %{url_effective}",
        &server.url("/r3"),
    ])
    .await;
    assert_eq!(followed.code, 0, "{followed:?}");
    // The POST became a GET at the first 302, without its body.
    let echo = server.url("/echo");
    assert_eq!(followed.stdout_text(), format!("GET - \n3 200 {echo}"));

    let limited = okcurl(&["-L", "--max-redirs", "2", &server.url("/r3")]).await;
    assert_eq!(limited.code, 47, "{limited:?}");
    assert_eq!(
        limited.stderr.trim_end(),
        "okcurl: (47) maximum (2) redirects followed"
    );
    let enough = okcurl(&["-sL", "--max-redirs", "3", &server.url("/r3")]).await;
    assert_eq!(enough.code, 0, "{enough:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_exits_22_without_writing_the_body() {
    let server = server().await;
    let failed = okcurl(&["-f", &server.url("/missing")]).await;
    assert_eq!(failed.code, 22, "{failed:?}");
    assert!(failed.stdout.is_empty(), "{failed:?}");
    assert_eq!(
        failed.stderr,
        "okcurl: (22) the requested URL returned error: 404\n"
    );
    let silent = okcurl(&["-sf", &server.url("/missing")]).await;
    assert_eq!((silent.code, silent.stderr.as_str()), (22, ""));
    let shown = okcurl(&["-sSf", &server.url("/missing")]).await;
    assert!(shown.stderr.contains("(22)"), "{shown:?}");
    let lenient = okcurl(&[&server.url("/missing")]).await;
    assert_eq!(lenient.code, 0, "{lenient:?}");
    assert_eq!(lenient.stdout, b"not here");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_files_and_write_out() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.txt");
    let run = okcurl(&[
        "-o",
        first.to_str().unwrap(),
        "-w",
        "%{http_code} %{size_download} %{content_type} %{num_connects}\\n",
        &server.url("/hello"),
        &server.url("/missing"),
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(std::fs::read(&first).unwrap(), b"hello");
    assert_eq!(run.stdout_text(), "200 5 text/plain 1\nnot here404 8  0\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_urls_reuse_the_pooled_connection_and_verbose_shows_it() {
    let server = server().await;
    let run = okcurl(&["-v", &server.url("/hello"), &server.url("/hello")]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, b"hellohello");
    assert_eq!(server.connection_count(), 1);
    let stderr = &run.stderr;
    assert!(stderr.contains("> GET /hello HTTP/1.1\n"), "{stderr}");
    assert!(stderr.contains("> user-agent: okcurl/"), "{stderr}");
    assert!(stderr.contains("< HTTP/1.1 200 OK\n"), "{stderr}");
    assert!(stderr.contains("* connection #"), "{stderr}");
    assert_eq!(stderr.matches(" opened: ").count(), 1, "{stderr}");
    assert_eq!(stderr.matches(" reused: ").count(), 1, "{stderr}");
    assert_eq!(stderr.matches("* timings: dns ").count(), 2, "{stderr}");
    assert!(
        stderr.contains("* pool: 1 connection(s), 1 idle"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_show_every_event_with_its_offset() {
    let server = server().await;
    let run = okcurl(&["--events", &server.url("/hello")]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let names: Vec<&str> = run
        .stderr
        .lines()
        .map(|line| {
            assert!(line.starts_with('['), "{line}");
            let (_, rest) = line.split_once(" ms] ").expect("an offset");
            rest.split(' ').next().unwrap()
        })
        .collect();
    assert_eq!(names.first(), Some(&"call_start"));
    assert_eq!(names.last(), Some(&"call_end"));
    for name in [
        "connect_start",
        "connect_end",
        "connection_acquired",
        "request_headers_end",
        "response_headers_end",
        "response_body_end",
        "connection_released",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_prior_knowledge_and_http1_only() {
    let h2 = MockWebServer::builder()
        .protocols(&[Protocol::H2PriorKnowledge])
        .dispatcher(answer)
        .start()
        .await
        .unwrap();
    let run = okcurl(&["-i", "--http2-prior-knowledge", &h2.url("/hello")]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout_text().starts_with("HTTP/2 200\r\n"), "{run:?}");
    let h1 = server().await;
    let run = okcurl(&["--http1.1", "-w", "%{http_version}", &h1.url("/hello")]).await;
    assert_eq!(run.stdout_text(), "hello1.1");
}
