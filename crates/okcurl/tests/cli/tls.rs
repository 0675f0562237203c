//! TLS: --cacert with --resolve, -v's TLS and timings lines, coalescing, pins, -k, mTLS.

use oktower_testkit::{MockResponse, MockWebServer, TestCertificates};

use crate::support::{TlsSetup, okcurl, request, resolve};

async fn tls_server(setup: &TlsSetup) -> MockWebServer {
    MockWebServer::builder()
        .tls(setup.certificates.server_tls())
        .default_response(MockResponse::new().body("secure"))
        .start()
        .await
        .unwrap()
}

fn args<'a>(owned: &'a [String], more: &[&'a str]) -> Vec<&'a str> {
    owned
        .iter()
        .map(String::as_str)
        .chain(more.iter().copied())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cacert_and_resolve_reach_a_tls_server_and_verbose_shows_tls_and_timings() {
    let dir = tempfile::tempdir().unwrap();
    let setup = TlsSetup::new(dir.path());
    let server = tls_server(&setup).await;
    let port = server.port();
    let mut owned = resolve(&["a.test", "b.test"], port);
    owned.extend(["--cacert".to_owned(), setup.cacert().to_owned()]);
    let a = format!("https://a.test:{port}/one");
    let b = format!("https://b.test:{port}/two");
    let run = okcurl(&args(&owned, &["-v", &a, &b])).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, b"securesecure");
    let stderr = &run.stderr;
    assert!(
        stderr.contains("* resolved a.test to [127.0.0.1]"),
        "{stderr}"
    );
    assert!(stderr.contains("* TLS TLSv1_3, cipher TLS13_"), "{stderr}");
    assert!(stderr.contains("(h2)"), "{stderr}");
    assert!(stderr.contains("> GET /one HTTP/2"), "{stderr}");
    assert!(stderr.contains("< HTTP/2 200"), "{stderr}");
    // b.test shares a.test's HTTP/2 connection: same address, certificate covers it.
    assert_eq!(stderr.matches(" opened: ").count(), 1, "{stderr}");
    assert_eq!(stderr.matches(" coalesced onto: ").count(), 1, "{stderr}");
    assert_eq!(server.connection_count(), 1);
    let timings: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("* timings: "))
        .collect();
    assert_eq!(timings.len(), 2, "{stderr}");
    assert!(!timings[0].contains("tls -"), "{}", timings[0]);
    assert!(!timings[0].contains("total -"), "{}", timings[0]);
    assert!(timings[1].contains("connect -, tls -"), "{}", timings[1]);
    assert_eq!(request(&server).await.sni(), Some("a.test"));

    let format = "%{time_appconnect} %{time_total} %{remote_ip} %{http_version}";
    let written = okcurl(&args(&owned, &["-s", "-o", "/dev/null", "-w", format, &a])).await;
    assert_eq!(written.code, 0, "{written:?}");
    let text = written.stdout_text();
    let fields: Vec<&str> = text.split(' ').collect();
    let appconnect: f64 = fields[0].parse().unwrap();
    let total: f64 = fields[1].parse().unwrap();
    assert!(appconnect > 0.0 && total >= appconnect, "{text}");
    assert_eq!(&fields[2..], ["127.0.0.1", "2"], "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_exits_35_and_insecure_accepts_it_loudly() {
    let dir = tempfile::tempdir().unwrap();
    let setup = TlsSetup::new(dir.path());
    let server = tls_server(&setup).await;
    let port = server.port();
    let other = TestCertificates::for_hosts(&["a.test"]).unwrap();
    let other_ca = dir.path().join("other.pem");
    std::fs::write(&other_ca, other.root().certificate_pem()).unwrap();
    let owned = resolve(&["a.test"], port);
    let url = format!("https://a.test:{port}/");
    let untrusted = okcurl(&args(
        &owned,
        &["--cacert", other_ca.to_str().unwrap(), &url],
    ))
    .await;
    assert_eq!(untrusted.code, 35, "{untrusted:?}");
    assert_eq!(untrusted.stderr.lines().count(), 1, "{untrusted:?}");
    assert!(
        untrusted.stderr.starts_with("okcurl: (35) "),
        "{untrusted:?}"
    );

    let insecure = okcurl(&args(&owned, &["-k", &url])).await;
    assert_eq!(insecure.code, 0, "{insecure:?}");
    assert_eq!(insecure.stdout, b"secure");
    assert!(insecure.stderr.contains("WARNING"), "{insecure:?}");

    let unreadable = okcurl(&args(&owned, &["--cacert", "/no/such/ca.pem", &url])).await;
    assert_eq!(unreadable.code, 58, "{unreadable:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pins_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let setup = TlsSetup::new(dir.path());
    let server = tls_server(&setup).await;
    let port = server.port();
    let mut owned = resolve(&["a.test"], port);
    owned.extend(["--cacert".to_owned(), setup.cacert().to_owned()]);
    let url = format!("https://a.test:{port}/");
    let good = setup.certificates.leaf().spki_sha256_pin();
    let pinned = okcurl(&args(&owned, &["--pin", &good, &url])).await;
    assert_eq!(pinned.code, 0, "{pinned:?}");
    let wrong = "a.test:sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let mismatched = okcurl(&args(&owned, &["--pin", wrong, &url])).await;
    assert_eq!(mismatched.code, 35, "{mismatched:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_are_presented() {
    let dir = tempfile::tempdir().unwrap();
    let setup = TlsSetup::new(dir.path());
    let root = setup.certificates.root().certificate_der().clone();
    let server = MockWebServer::builder()
        .tls(
            setup
                .certificates
                .server_tls()
                .require_client_auth(vec![root]),
        )
        .default_response(MockResponse::new().body("mutual"))
        .start()
        .await
        .unwrap();
    let port = server.port();
    let client = setup
        .certificates
        .client_certificate("okcurl test")
        .unwrap();
    let cert = dir.path().join("client.pem");
    let key = dir.path().join("client-key.pem");
    std::fs::write(&cert, client.certificate_pem()).unwrap();
    std::fs::write(&key, client.private_key_pkcs8_pem()).unwrap();
    let mut owned = resolve(&["a.test"], port);
    owned.extend(["--cacert".to_owned(), setup.cacert().to_owned()]);
    let url = format!("https://a.test:{port}/");
    let run = okcurl(&args(
        &owned,
        &[
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            &url,
        ],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, b"mutual");
    let without = okcurl(&args(&owned, &[&url])).await;
    assert_ne!(without.code, 0, "{without:?}");
}
