use std::io;
use std::path::Path;

use clap::Parser;

use super::*;
use crate::Failure;

fn settings(args: &[&str]) -> Result<Settings, UsageError> {
    let mut all = vec!["okcurl"];
    all.extend_from_slice(args);
    Settings::from_args(Args::try_parse_from(all).unwrap())
}

#[test]
fn methods_follow_curl() {
    assert_eq!(settings(&["a.test"]).unwrap().method, Method::GET);
    assert_eq!(settings(&["-I", "a.test"]).unwrap().method, Method::HEAD);
    assert_eq!(
        settings(&["-d", "x", "a.test"]).unwrap().method,
        Method::POST
    );
    let put = settings(&["-X", "PUT", "-d", "x", "a.test"]).unwrap();
    assert_eq!(put.method, Method::PUT);
    assert!(settings(&["-X", "BAD METHOD", "a.test"]).is_err());
}

#[test]
fn urls_default_to_http_and_bad_ones_fail() {
    let parsed = settings(&["a.test/x", "https://b.test"]).unwrap();
    assert_eq!(parsed.urls[0], "http://a.test/x");
    assert_eq!(parsed.urls[1], "https://b.test/");
    assert!(settings(&["ftp://a.test/"]).is_err());
    assert!(settings(&["http://"]).is_err());
}

#[test]
fn form_data_gets_a_content_type_unless_one_is_given() {
    let form = settings(&["-d", "a=1", "a.test"]).unwrap();
    assert_eq!(form.headers.len(), 1);
    assert_eq!(form.headers[0].1, "application/x-www-form-urlencoded");
    let json = settings(&["-d", "{}", "-H", "Content-Type: application/json", "a.test"]).unwrap();
    assert_eq!(json.headers.len(), 1);
    assert_eq!(json.headers[0].1, "application/json");
    let binary = settings(&["--data-binary", "@f", "a.test"]).unwrap();
    assert!(binary.headers.is_empty());
}

#[test]
fn outputs_pair_with_urls_and_remote_names() {
    let parsed = settings(&["-o", "one", "-O", "a.test/x/file.txt", "a.test/y/other.bin"]).unwrap();
    assert_eq!(
        parsed.outputs,
        [Output::File("one".into()), Output::File("other.bin".into())]
    );
    let plain = settings(&["-o", "-", "a.test", "b.test"]).unwrap();
    assert_eq!(plain.outputs, [Output::Stdout, Output::Stdout]);
    assert!(settings(&["-O", "a.test/"]).is_err());
    assert!(settings(&["-o", "a", "-o", "b", "a.test"]).is_err());
}

#[test]
fn redirect_limits() {
    assert_eq!(settings(&["a.test"]).unwrap().redirects, None);
    assert_eq!(settings(&["-L", "a.test"]).unwrap().redirects, Some(20));
    let three = settings(&["-L", "--max-redirs", "3", "a.test"]).unwrap();
    assert_eq!(three.redirects, Some(3));
    let unlimited = settings(&["-L", "--max-redirs", "-1", "a.test"]).unwrap();
    assert_eq!(unlimited.redirects, Some(u32::MAX));
}

#[test]
fn timeouts_of_zero_mean_none() {
    let parsed = settings(&[
        "--connect-timeout",
        "0",
        "--read-timeout",
        "2",
        "-m",
        "0",
        "a.test",
    ])
    .unwrap();
    assert_eq!(parsed.connect_timeout, Some(None));
    assert_eq!(parsed.read_timeout, Some(Some(Duration::from_secs(2))));
    assert_eq!(parsed.write_timeout, None);
    assert_eq!(parsed.call_timeout, None);
}

#[test]
fn proxies_protocols_and_credentials() {
    let parsed = settings(&[
        "-x",
        "p.test:3128",
        "--proxy-user",
        "me:pw",
        "-u",
        "user:secret",
        "--http2-prior-knowledge",
        "a.test",
    ])
    .unwrap();
    assert_eq!(
        parsed.proxy,
        Some(Proxy::http("p.test", 3128).with_credentials("me", "pw"))
    );
    assert_eq!(
        parsed.user,
        Some(("user".to_owned(), Some("secret".to_owned())))
    );
    assert_eq!(parsed.protocols, Some(vec![Protocol::H2PriorKnowledge]));
    assert_eq!(
        settings(&["--http1.1", "a.test"]).unwrap().protocols,
        Some(vec![Protocol::Http11])
    );
    assert!(settings(&["--proxy-user", "me:pw", "a.test"]).is_err());
    assert!(settings(&["--key", "k.pem", "a.test"]).is_err());
}

#[test]
fn cache_modes_add_their_header() {
    assert_eq!(settings(&["a.test"]).unwrap().cache_mode.header(), None);
    let only = settings(&["--cache-only", "a.test"]).unwrap().cache_mode;
    assert_eq!(only, CacheMode::OnlyIfCached);
    let (name, value) = only.header().unwrap();
    assert_eq!(name, CACHE_CONTROL);
    assert!(value.to_str().unwrap().starts_with("only-if-cached"));
    let (_, value) = CacheMode::NoCache.header().unwrap();
    assert_eq!(value, "no-cache");
}

#[test]
fn bad_structured_values_are_usage_errors() {
    assert!(settings(&["-H", "nocolon", "a.test"]).is_err());
    assert!(settings(&["--resolve", "a.test", "a.test"]).is_err());
    assert!(settings(&["--pin", "xyz", "a.test"]).is_err());
    assert!(settings(&["-w", "%{bogus}", "a.test"]).is_err());
    assert!(settings(&["-x", "gopher://p.test", "a.test"]).is_err());
}

#[test]
fn bodies_join_with_ampersands_and_strip_newlines_from_d_files() {
    let parsed = settings(&[
        "-d",
        "a=1",
        "-d",
        "@form.txt",
        "--data-binary",
        "@raw.bin",
        "--data-raw",
        "@literal",
        "a.test",
    ])
    .unwrap();
    let read = |path: &Path| -> io::Result<Vec<u8>> {
        match path.to_str() {
            Some("form.txt") => Ok(b"b=2\r\nc=3\n".to_vec()),
            Some("raw.bin") => Ok(b"x\ny".to_vec()),
            _ => Err(io::Error::from(io::ErrorKind::NotFound)),
        }
    };
    let body = assemble_body(&parsed.data, read).unwrap().unwrap();
    assert_eq!(body, b"a=1&b=2c=3&x\ny&@literal");
    assert_eq!(assemble_body(&[], read).unwrap(), None);
    let missing = [DataPart::File {
        path: "missing".into(),
        strip_newlines: true,
    }];
    let error = assemble_body(&missing, read).unwrap_err();
    assert!(matches!(error, Failure::ReadFile { .. }));
    assert_eq!(error.exit_code(), 26);
}
