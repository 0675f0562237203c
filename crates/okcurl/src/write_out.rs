//! `-w/--write-out`: a template of `%{variable}`s filled from a [`TransferReport`].

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use http::{StatusCode, Version};
use oktower::Timings;

use crate::UsageError;

/// What is known of one transfer when it ends, for `--write-out` and the `-v` summary.
#[derive(Clone, Debug, Default)]
pub struct TransferReport {
    /// The final response's status, if one came.
    pub status: Option<StatusCode>,
    /// The final response's HTTP version.
    pub version: Option<Version>,
    /// The last URL requested.
    pub url: String,
    /// How many redirects were followed.
    pub redirects: u32,
    /// Body bytes received (after decoding).
    pub size_download: u64,
    /// The final response's `Content-Type`.
    pub content_type: Option<String>,
    /// The address the final response came from.
    pub remote: Option<SocketAddr>,
    /// The final call's timings.
    pub timings: Timings,
    /// From the start of the transfer to the final response's head.
    pub time_to_head: Option<Duration>,
    /// From the start of the transfer to the end of the body.
    pub time_total: Option<Duration>,
    /// The id of the connection the final response came on.
    pub connection_id: Option<u64>,
    /// The exit code of the transfer (0 when it succeeded).
    pub exit_code: u8,
}

/// A `--write-out` variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variable {
    HttpCode,
    HttpVersion,
    UrlEffective,
    NumRedirects,
    NumConnects,
    SizeDownload,
    ContentType,
    RemoteIp,
    RemotePort,
    TimeNamelookup,
    TimeConnect,
    TimeAppconnect,
    TimePretransfer,
    TimeStarttransfer,
    TimeTotal,
    TimeQueued,
    TimeDns,
    TimeTcp,
    TimeTls,
    TimeTtfb,
    ConnectionReused,
    ConnectionId,
    ExitCode,
}

const VARIABLES: &[(&str, Variable)] = &[
    ("http_code", Variable::HttpCode),
    ("response_code", Variable::HttpCode),
    ("http_version", Variable::HttpVersion),
    ("url_effective", Variable::UrlEffective),
    ("num_redirects", Variable::NumRedirects),
    ("num_connects", Variable::NumConnects),
    ("size_download", Variable::SizeDownload),
    ("content_type", Variable::ContentType),
    ("remote_ip", Variable::RemoteIp),
    ("remote_port", Variable::RemotePort),
    ("time_namelookup", Variable::TimeNamelookup),
    ("time_connect", Variable::TimeConnect),
    ("time_appconnect", Variable::TimeAppconnect),
    ("time_pretransfer", Variable::TimePretransfer),
    ("time_starttransfer", Variable::TimeStarttransfer),
    ("time_total", Variable::TimeTotal),
    ("time_queued", Variable::TimeQueued),
    ("time_dns", Variable::TimeDns),
    ("time_tcp", Variable::TimeTcp),
    ("time_tls", Variable::TimeTls),
    ("time_ttfb", Variable::TimeTtfb),
    ("connection_reused", Variable::ConnectionReused),
    ("connection_id", Variable::ConnectionId),
    ("exitcode", Variable::ExitCode),
];

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    Variable(Variable),
}

/// A parsed `--write-out` template.
///
/// curl's variables (`http_code`, `http_version`, `url_effective`, `num_redirects`,
/// `num_connects`, `size_download`, `content_type`, `remote_ip`, `remote_port`, `exitcode`
/// and the cumulative `time_namelookup`, `time_connect`, `time_appconnect`,
/// `time_pretransfer`, `time_starttransfer`, `time_total`) and okcurl's own phase durations
/// (`time_queued`, `time_dns`, `time_tcp`, `time_tls`, `time_ttfb`) and `connection_reused`,
/// `connection_id`. Times are in seconds with six decimals; `\n`, `\r`, `\t` and `\\` are
/// escapes; `%%` is a `%`.
///
/// ```
/// use okcurl::{TransferReport, WriteOut};
///
/// let template = WriteOut::parse(r"%{http_code} %{num_redirects}\n").unwrap();
/// let report = TransferReport {
///     status: Some(http::StatusCode::OK),
///     redirects: 2,
///     ..TransferReport::default()
/// };
/// assert_eq!(template.render(&report), "200 2\n");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteOut {
    pieces: Vec<Piece>,
}

impl WriteOut {
    /// Parses `template`; an unknown or unclosed `%{...}` is a usage error.
    pub fn parse(template: &str) -> Result<WriteOut, UsageError> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = template.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, chars.peek().copied()) {
                ('\\', Some(escaped @ ('n' | 'r' | 't' | '\\'))) => {
                    chars.next();
                    text.push(match escaped {
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        _ => '\\',
                    });
                }
                ('%', Some('%')) => {
                    chars.next();
                    text.push('%');
                }
                ('%', Some('{')) => {
                    chars.next();
                    let mut name = String::new();
                    let mut closed = false;
                    for c in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        name.push(c);
                    }
                    if !closed {
                        let message = format!("--write-out: %{{{name} is not closed");
                        return Err(UsageError::new(message));
                    }
                    let variable = VARIABLES
                        .iter()
                        .find(|(known, _)| *known == name)
                        .map(|(_, variable)| *variable)
                        .ok_or_else(|| {
                            UsageError::new(format!("--write-out: unknown variable %{{{name}}}"))
                        })?;
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Variable(variable));
                }
                _ => text.push(c),
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(WriteOut { pieces })
    }

    /// The template filled in from `report`.
    pub fn render(&self, report: &TransferReport) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Variable(variable) => write_variable(&mut out, *variable, report),
            }
        }
        out
    }
}

fn seconds(duration: Option<Duration>) -> String {
    format!("{:.6}", duration.unwrap_or_default().as_secs_f64())
}

/// `HTTP/1.1`, `HTTP/2`, ... as curl names versions in status lines.
pub(crate) fn version_text(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/1.1",
    }
}

fn write_variable(out: &mut String, variable: Variable, report: &TransferReport) {
    let timings = &report.timings;
    let tcp = match (timings.connect, timings.tls) {
        (Some(connect), tls) => Some(connect.saturating_sub(tls.unwrap_or_default())),
        (None, _) => None,
    };
    let add =
        |parts: &[Option<Duration>]| -> Option<Duration> { Some(parts.iter().flatten().sum()) };
    let namelookup = add(&[timings.queued, timings.dns]);
    // Written with `write!` into a String, which cannot fail.
    let _ = match variable {
        Variable::HttpCode => match report.status {
            Some(status) => write!(out, "{}", status.as_u16()),
            None => write!(out, "000"),
        },
        Variable::HttpVersion => {
            let version = report.version.map(version_text).unwrap_or("0");
            write!(out, "{}", version.trim_start_matches("HTTP/"))
        }
        Variable::UrlEffective => write!(out, "{}", report.url),
        Variable::NumRedirects => write!(out, "{}", report.redirects),
        Variable::NumConnects => {
            let connects = u8::from(timings.connection_reused == Some(false));
            write!(out, "{connects}")
        }
        Variable::SizeDownload => write!(out, "{}", report.size_download),
        Variable::ContentType => write!(out, "{}", report.content_type.as_deref().unwrap_or("")),
        Variable::RemoteIp => match report.remote {
            Some(remote) => write!(out, "{}", remote.ip()),
            None => Ok(()),
        },
        Variable::RemotePort => match report.remote {
            Some(remote) => write!(out, "{}", remote.port()),
            None => Ok(()),
        },
        Variable::TimeNamelookup => write!(out, "{}", seconds(namelookup)),
        Variable::TimeConnect => write!(out, "{}", seconds(add(&[namelookup, tcp]))),
        Variable::TimeAppconnect => match timings.tls {
            Some(_) => write!(out, "{}", seconds(add(&[namelookup, timings.connect]))),
            None => write!(out, "{}", seconds(None)),
        },
        Variable::TimePretransfer => {
            write!(out, "{}", seconds(add(&[namelookup, timings.connect])))
        }
        Variable::TimeStarttransfer => write!(out, "{}", seconds(report.time_to_head)),
        Variable::TimeTotal => write!(out, "{}", seconds(report.time_total)),
        Variable::TimeQueued => write!(out, "{}", seconds(timings.queued)),
        Variable::TimeDns => write!(out, "{}", seconds(timings.dns)),
        Variable::TimeTcp => write!(out, "{}", seconds(tcp)),
        Variable::TimeTls => write!(out, "{}", seconds(timings.tls)),
        Variable::TimeTtfb => write!(out, "{}", seconds(timings.time_to_first_byte)),
        Variable::ConnectionReused => match timings.connection_reused {
            Some(reused) => write!(out, "{}", u8::from(reused)),
            None => Ok(()),
        },
        Variable::ConnectionId => match report.connection_id {
            Some(id) => write!(out, "{id}"),
            None => Ok(()),
        },
        Variable::ExitCode => write!(out, "{}", report.exit_code),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(millis: u64) -> Option<Duration> {
        Some(Duration::from_millis(millis))
    }

    fn report() -> TransferReport {
        let mut timings = Timings::default();
        timings.dns = ms(2);
        timings.connect = ms(10);
        timings.tls = ms(6);
        timings.time_to_first_byte = ms(5);
        timings.connection_reused = Some(false);
        TransferReport {
            status: Some(StatusCode::NOT_FOUND),
            version: Some(Version::HTTP_2),
            url: "https://a.test/x".into(),
            redirects: 1,
            size_download: 42,
            content_type: Some("text/plain".into()),
            remote: Some("127.0.0.1:8443".parse().unwrap()),
            timings,
            time_to_head: ms(20),
            time_total: ms(25),
            connection_id: Some(3),
            exit_code: 22,
        }
    }

    fn render(template: &str, report: &TransferReport) -> String {
        WriteOut::parse(template).unwrap().render(report)
    }

    #[test]
    fn curl_variables() {
        let report = report();
        assert_eq!(
            render(
                "%{http_code} %{http_version} %{url_effective} %{num_redirects} %{num_connects} \
                 %{size_download} %{content_type} %{remote_ip}:%{remote_port} %{exitcode}",
                &report
            ),
            "404 2 https://a.test/x 1 1 42 text/plain 127.0.0.1:8443 22"
        );
        assert_eq!(
            render(
                "%{time_namelookup} %{time_connect} %{time_appconnect} %{time_pretransfer} \
                 %{time_starttransfer} %{time_total}",
                &report
            ),
            "0.002000 0.006000 0.012000 0.012000 0.020000 0.025000"
        );
    }

    #[test]
    fn okcurl_variables() {
        let report = report();
        assert_eq!(
            render(
                "%{time_dns} %{time_tcp} %{time_tls} %{time_ttfb} %{time_queued} \
                 %{connection_reused} %{connection_id}",
                &report
            ),
            "0.002000 0.004000 0.006000 0.005000 0.000000 0 3"
        );
    }

    #[test]
    fn a_transfer_without_a_response() {
        let report = TransferReport {
            exit_code: 7,
            ..TransferReport::default()
        };
        assert_eq!(
            render(
                "%{http_code}|%{remote_ip}|%{connection_reused}|%{exitcode}|%{time_appconnect}",
                &report
            ),
            "000|||7|0.000000"
        );
    }

    #[test]
    fn escapes_and_errors() {
        let report = report();
        assert_eq!(render(r"a\tb\\c\n100%% %x", &report), "a\tb\\c\n100% %x");
        assert!(WriteOut::parse("%{no_such_thing}").is_err());
        assert!(WriteOut::parse("%{http_code").is_err());
    }
}
