//! The text of `-v` and `-i`: heads, the connection, TLS and the timings line.

use std::fmt::Write as _;
use std::time::Duration;

use http::{HeaderMap, StatusCode, Version, request};
use oktower::{ConnectionInfo, Handshake, Protocol, Timings};

use crate::write_out::version_text;

/// `HTTP/1.1 200 OK`, or `HTTP/2 200` (HTTP/2 has no reason phrase).
pub fn status_line(version: Version, status: StatusCode) -> String {
    let mut line = format!("{} {}", version_text(version), status.as_u16());
    if version != Version::HTTP_2
        && version != Version::HTTP_3
        && let Some(reason) = status.canonical_reason()
    {
        line.push(' ');
        line.push_str(reason);
    }
    line
}

/// Header lines, each `name: value` after `prefix` and ending in `eol`.
fn header_lines(out: &mut String, prefix: &str, headers: &HeaderMap, eol: &str) {
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        let _ = write!(out, "{prefix}{name}: {value}{eol}");
    }
}

/// The head as `-i` writes it before the body: the status line and headers, CRLF-ended, and an
/// empty line.
pub fn response_head(version: Version, status: StatusCode, headers: &HeaderMap) -> String {
    let mut out = status_line(version, status);
    out.push_str("\r\n");
    header_lines(&mut out, "", headers, "\r\n");
    out.push_str("\r\n");
    out
}

/// The request head as `-v` shows it: `> GET /path HTTP/1.1`, `> name: value`, `>`.
pub fn request_head_lines(request: &request::Parts) -> String {
    let target = request
        .uri
        .path_and_query()
        .map_or("/", |path| path.as_str());
    let mut out = format!(
        "> {} {} {}\n",
        request.method,
        target,
        version_text(request.version)
    );
    header_lines(&mut out, "> ", &request.headers, "\n");
    out.push_str(">\n");
    out
}

/// The response head as `-v` shows it: `< HTTP/1.1 200 OK`, `< name: value`, `<`.
pub fn response_head_lines(version: Version, status: StatusCode, headers: &HeaderMap) -> String {
    let mut out = format!("< {}\n", status_line(version, status));
    header_lines(&mut out, "< ", headers, "\n");
    out.push_str("<\n");
    out
}

/// A protocol's name as `-v` shows it.
pub fn protocol_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Http11 => "http/1.1",
        Protocol::Http2 => "h2",
        Protocol::H2PriorKnowledge => "h2 (prior knowledge)",
    }
}

/// How a call came by its connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acquired {
    /// It opened the connection.
    Opened,
    /// The connection was in the pool, opened for the same host.
    Reused,
    /// An HTTP/2 connection opened for another host whose certificate covers this one.
    Coalesced,
}

/// `* connection #1 opened: a.test:443 via direct at 127.0.0.1:443, h2, TLSv1_3`.
pub fn connection_line(info: &ConnectionInfo, acquired: Acquired) -> String {
    let how = match acquired {
        Acquired::Opened => "opened",
        Acquired::Reused => "reused",
        Acquired::Coalesced => "coalesced onto",
    };
    let mut line = format!(
        "* connection #{} {how}: {}, {}",
        info.id(),
        info.route(),
        protocol_name(info.protocol())
    );
    if let Some(handshake) = info.handshake() {
        let _ = write!(line, ", {:?}", handshake.tls_version());
    }
    line
}

/// `* TLS TLSv1_3, cipher TLS13_AES_256_GCM_SHA384, server certificate chain of 1`.
pub fn tls_line(handshake: &Handshake) -> String {
    format!(
        "* TLS {:?}, cipher {:?}, {} server certificate(s)",
        handshake.tls_version(),
        handshake.cipher_suite(),
        handshake.peer_certificates().len()
    )
}

fn millis(duration: Option<Duration>) -> String {
    match duration {
        Some(duration) => format!("{:.1} ms", duration.as_secs_f64() * 1000.0),
        None => "-".to_owned(),
    }
}

/// `* timings: dns 1.0 ms, connect 3.2 ms, tls 2.1 ms, ttfb 0.8 ms, total 7.5 ms` (`-` for a
/// phase that did not happen, such as connecting on a reused connection).
pub fn timings_line(timings: &Timings) -> String {
    let mut line = format!(
        "* timings: dns {}, connect {}, tls {}, ttfb {}, total {}",
        millis(timings.dns),
        millis(timings.connect),
        millis(timings.tls),
        millis(timings.time_to_first_byte),
        millis(timings.total)
    );
    if timings.follow_ups > 0 || timings.retries > 0 {
        let _ = write!(
            line,
            " ({} follow-up(s), {} retry(ies))",
            timings.follow_ups, timings.retries
        );
    }
    line
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use http::{HeaderValue, Method};
    use oktower::{Address, NoProxy, Proxy, Route, Scheme, SystemDns};

    use super::*;

    fn headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("text/plain"));
        headers.append("set-cookie", HeaderValue::from_static("a=1"));
        headers.append("set-cookie", HeaderValue::from_static("b=2"));
        headers
    }

    #[test]
    fn status_lines() {
        assert_eq!(
            status_line(Version::HTTP_11, StatusCode::OK),
            "HTTP/1.1 200 OK"
        );
        assert_eq!(
            status_line(Version::HTTP_2, StatusCode::NOT_FOUND),
            "HTTP/2 404"
        );
        let unknown = StatusCode::from_u16(599).unwrap();
        assert_eq!(status_line(Version::HTTP_10, unknown), "HTTP/1.0 599");
    }

    #[test]
    fn heads_for_include_and_verbose() {
        assert_eq!(
            response_head(Version::HTTP_11, StatusCode::OK, &headers()),
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n\r\n"
        );
        assert_eq!(
            response_head_lines(Version::HTTP_2, StatusCode::OK, &headers()),
            "< HTTP/2 200\n< content-type: text/plain\n< set-cookie: a=1\n< set-cookie: b=2\n<\n"
        );
        let (parts, ()) = http::Request::builder()
            .method(Method::POST)
            .uri("https://a.test/p?q=1")
            .header("host", "a.test")
            .body(())
            .unwrap()
            .into_parts();
        assert_eq!(
            request_head_lines(&parts),
            "> POST /p?q=1 HTTP/1.1\n> host: a.test\n>\n"
        );
    }

    #[test]
    fn connection_lines_say_how_the_connection_was_had() {
        let address = Address::builder(
            Scheme::Http,
            "a.test",
            8080,
            Arc::new(SystemDns),
            Arc::new(NoProxy),
        )
        .build();
        let route = Route::new(address, Proxy::Direct, "127.0.0.1:8080".parse().unwrap());
        let info = ConnectionInfo::new(4, route, Protocol::Http11, None, false);
        let opened = connection_line(&info, Acquired::Opened);
        assert!(opened.starts_with("* connection #4 opened: "), "{opened}");
        assert!(opened.contains("127.0.0.1:8080"), "{opened}");
        assert!(opened.ends_with(", http/1.1"), "{opened}");
        assert!(connection_line(&info, Acquired::Reused).contains("#4 reused: "));
        assert!(connection_line(&info, Acquired::Coalesced).contains("#4 coalesced onto: "));
    }

    #[test]
    fn timings_lines_show_each_phase() {
        let mut timings = Timings::default();
        timings.dns = Some(Duration::from_micros(1500));
        timings.connect = Some(Duration::from_millis(3));
        timings.time_to_first_byte = Some(Duration::from_millis(2));
        timings.total = Some(Duration::from_millis(10));
        assert_eq!(
            timings_line(&timings),
            "* timings: dns 1.5 ms, connect 3.0 ms, tls -, ttfb 2.0 ms, total 10.0 ms"
        );
        timings.retries = 1;
        assert!(timings_line(&timings).ends_with("(0 follow-up(s), 1 retry(ies))"));
    }
}
