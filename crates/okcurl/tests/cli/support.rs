//! Running okcurl and reading what it did.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use oktower_testkit::{MockWebServer, RecordedRequest, TestCertificates};
use tokio::io::AsyncWriteExt;

/// What one okcurl process did.
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: String,
}

impl Run {
    pub(crate) fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code,
            self.stdout_text(),
            self.stderr
        )
    }
}

/// Runs okcurl with `args` (and `stdin`), without proxy settings from the environment.
pub(crate) async fn okcurl_with_stdin(args: &[&str], stdin: &[u8]) -> Run {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_okcurl"));
    command.args(args);
    for variable in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
    ] {
        command.env_remove(variable);
    }
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("okcurl starts");
    let mut input = child.stdin.take().expect("piped stdin");
    input.write_all(stdin).await.expect("stdin written");
    drop(input);
    let output = child.wait_with_output().await.expect("okcurl ends");
    Run {
        code: output.status.code().expect("an exit code"),
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs okcurl with `args`.
pub(crate) async fn okcurl(args: &[&str]) -> Run {
    okcurl_with_stdin(args, b"").await
}

/// The next request the server recorded.
pub(crate) async fn request(server: &MockWebServer) -> RecordedRequest {
    server
        .take_request(std::time::Duration::from_secs(5))
        .await
        .expect("a recorded request")
}

/// A TLS server for a.test and b.test, and the PEM of its root in `dir`.
pub(crate) struct TlsSetup {
    pub(crate) certificates: TestCertificates,
    pub(crate) cacert: PathBuf,
}

impl TlsSetup {
    pub(crate) fn new(dir: &Path) -> TlsSetup {
        let certificates = TestCertificates::for_hosts(&["a.test", "b.test"]).unwrap();
        let cacert = dir.join("ca.pem");
        std::fs::write(&cacert, certificates.root().certificate_pem()).unwrap();
        TlsSetup {
            certificates,
            cacert,
        }
    }

    pub(crate) fn cacert(&self) -> &str {
        self.cacert.to_str().unwrap()
    }
}

/// `--resolve` arguments mapping `hosts` to loopback at `port`.
pub(crate) fn resolve(hosts: &[&str], port: u16) -> Vec<String> {
    hosts
        .iter()
        .flat_map(|host| ["--resolve".to_owned(), format!("{host}:{port}:127.0.0.1")])
        .collect()
}
