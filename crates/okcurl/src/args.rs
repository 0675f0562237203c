//! [`Args`]: the command line, with curl's flag names (and OkHttp okcurl's where curl has
//! none).

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// okcurl's command line, as clap parses it. [`Settings::from_args`](crate::Settings::from_args)
/// checks and interprets it.
///
/// ```
/// use clap::Parser;
/// use okcurl::Args;
///
/// let args = Args::try_parse_from(["okcurl", "-sL", "-H", "Accept: text/plain", "https://a.test/"]).unwrap();
/// assert!(args.silent && args.location);
/// assert_eq!(args.headers, ["Accept: text/plain"]);
/// ```
#[derive(Clone, Debug, Parser)]
#[command(
    name = "okcurl",
    version,
    about = "A curl-like HTTP client built on oktower (OkHttp's rules on tower, hyper and rustls).",
    long_about = None
)]
pub struct Args {
    /// The URLs to fetch, in order, over one client (connections are reused).
    #[arg(required = true, value_name = "URL")]
    pub urls: Vec<String>,

    /// The request method (default GET, or POST with --data, HEAD with --head).
    #[arg(short = 'X', long = "request", value_name = "METHOD")]
    pub method: Option<String>,

    /// Sends DATA as a form body (POST); `@file` reads a file (newlines removed), `@-` reads
    /// standard input. Several are joined with `&`.
    #[arg(short = 'd', long = "data", value_name = "DATA")]
    pub data: Vec<String>,

    /// Sends DATA as it is; `@file` reads a file byte for byte.
    #[arg(long = "data-binary", value_name = "DATA")]
    pub data_binary: Vec<String>,

    /// Sends DATA as it is, without interpreting `@`.
    #[arg(long = "data-raw", value_name = "DATA")]
    pub data_raw: Vec<String>,

    /// Adds a request header, `Name: value` (`Name;` for an empty value).
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,

    /// The User-Agent to send (default `okcurl/<version>`).
    #[arg(short = 'A', long = "user-agent", value_name = "NAME")]
    pub user_agent: Option<String>,

    /// Writes the response head before the body.
    #[arg(short = 'i', long = "include")]
    pub include: bool,

    /// Sends a HEAD request and writes the response head.
    #[arg(short = 'I', long = "head")]
    pub head: bool,

    /// Follows redirects.
    #[arg(short = 'L', long = "location")]
    pub location: bool,

    /// The most redirects --location follows (default 20, OkHttp's limit; -1 for no limit).
    #[arg(
        long = "max-redirs",
        value_name = "NUM",
        default_value_t = 20,
        allow_negative_numbers = true
    )]
    pub max_redirs: i64,

    /// Writes the body to FILE instead of standard output (once per URL, in order).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Vec<PathBuf>,

    /// Writes each body to a file named as the URL's last path segment.
    #[arg(short = 'O', long = "remote-name")]
    pub remote_name: bool,

    /// Shows no progress bar and no error messages.
    #[arg(short = 's', long = "silent")]
    pub silent: bool,

    /// With --silent, still shows error messages.
    #[arg(short = 'S', long = "show-error")]
    pub show_error: bool,

    /// Fails with exit code 22 on HTTP errors (status 400 and above), writing no body.
    #[arg(short = 'f', long = "fail")]
    pub fail: bool,

    /// The longest a TCP connect may take, in seconds (default 10; 0 for none).
    #[arg(long = "connect-timeout", value_name = "SECONDS", value_parser = parse_seconds)]
    pub connect_timeout: Option<Duration>,

    /// The longest each wait for the response may take, in seconds (default 10; 0 for none).
    #[arg(long = "read-timeout", value_name = "SECONDS", value_parser = parse_seconds)]
    pub read_timeout: Option<Duration>,

    /// The longest each wait to write the request may take, in seconds (default 10).
    #[arg(long = "write-timeout", value_name = "SECONDS", value_parser = parse_seconds)]
    pub write_timeout: Option<Duration>,

    /// The longest the whole call may take, in seconds, redirects included (default none).
    #[arg(
        short = 'm',
        long = "call-timeout",
        visible_alias = "max-time",
        value_name = "SECONDS",
        value_parser = parse_seconds
    )]
    pub call_timeout: Option<Duration>,

    /// Accepts any server certificate. Dangerous: anyone on the path can read and change the
    /// traffic.
    #[arg(short = 'k', long = "insecure")]
    pub insecure: bool,

    /// Trusts the CA certificates in this PEM file instead of the platform's.
    #[arg(long = "cacert", value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// A client certificate chain (PEM) for mutual TLS; the key may be in the same file.
    #[arg(short = 'E', long = "cert", value_name = "FILE")]
    pub cert: Option<PathBuf>,

    /// The client certificate's private key (PEM).
    #[arg(long = "key", value_name = "FILE")]
    pub key: Option<PathBuf>,

    /// Pins a certificate: `[HOST:]sha256/BASE64` (without HOST, for every URL's host).
    #[arg(long = "pin", value_name = "PIN")]
    pub pins: Vec<String>,

    /// Resolves HOST to ADDRESS(es): `HOST:PORT:ADDRESS[,ADDRESS...]`.
    #[arg(long = "resolve", value_name = "HOST:PORT:ADDRESS")]
    pub resolve: Vec<String>,

    /// Uses this proxy: `[http|https|socks5://][USER:PASSWORD@]HOST[:PORT]`.
    #[arg(short = 'x', long = "proxy", value_name = "PROXY")]
    pub proxy: Option<String>,

    /// The proxy's credentials, `USER:PASSWORD`.
    #[arg(long = "proxy-user", value_name = "USER:PASSWORD")]
    pub proxy_user: Option<String>,

    /// Server credentials for basic authentication, `USER[:PASSWORD]`.
    #[arg(short = 'u', long = "user", value_name = "USER:PASSWORD")]
    pub user: Option<String>,

    /// Speaks HTTP/1.1 only.
    #[arg(long = "http1.1", conflicts_with_all = ["http2", "http2_prior_knowledge"])]
    pub http1_1: bool,

    /// Offers HTTP/2, then HTTP/1.1, by ALPN (the default).
    #[arg(long = "http2", conflicts_with = "http2_prior_knowledge")]
    pub http2: bool,

    /// Speaks HTTP/2 over cleartext without negotiation.
    #[arg(long = "http2-prior-knowledge")]
    pub http2_prior_knowledge: bool,

    /// Asks for a compressed response and decodes it (always on, as in oktower).
    #[arg(long = "compressed")]
    pub compressed: bool,

    /// Caches responses in this directory (RFC 9111 private cache).
    #[arg(long = "cache-dir", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// The most bytes the cache directory holds (default 10 MiB).
    #[arg(long = "cache-size", value_name = "BYTES", default_value_t = 10 * 1024 * 1024)]
    pub cache_size: u64,

    /// Answers from the cache only (`Cache-Control: only-if-cached`); 504 when nothing fits.
    #[arg(long = "cache-only", conflicts_with = "no_cache")]
    pub cache_only: bool,

    /// Skips the cache's stored answers (`Cache-Control: no-cache`).
    #[arg(long = "no-cache")]
    pub no_cache: bool,

    /// Shows the request and response heads, the connection and a timings line on stderr.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,

    /// Shows every call event with its offset in milliseconds on stderr.
    #[arg(long = "events")]
    pub events: bool,

    /// Writes FORMAT to stdout after each transfer. Variables: curl's `%{http_code}`,
    /// `%{http_version}`, `%{url_effective}`, `%{num_redirects}`, `%{num_connects}`,
    /// `%{size_download}`, `%{content_type}`, `%{remote_ip}`, `%{remote_port}`, `%{exitcode}`,
    /// `%{time_namelookup}`, `%{time_connect}`, `%{time_appconnect}`, `%{time_pretransfer}`,
    /// `%{time_starttransfer}`, `%{time_total}`; okcurl's `%{time_queued}`, `%{time_dns}`,
    /// `%{time_tcp}`, `%{time_tls}`, `%{time_ttfb}`, `%{connection_reused}`,
    /// `%{connection_id}`.
    #[arg(short = 'w', long = "write-out", value_name = "FORMAT")]
    pub write_out: Option<String>,
}

/// Seconds as curl takes them: a decimal number, `0` for none.
fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("{text:?} is not a usable duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_parse_as_curl_takes_them() {
        assert_eq!(parse_seconds("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_seconds("0.25"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_seconds("0"), Ok(Duration::ZERO));
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("soon").is_err());
        assert!(parse_seconds("inf").is_err());
    }

    #[test]
    fn curl_flags_parse() {
        let args = Args::try_parse_from([
            "okcurl",
            "-X",
            "PUT",
            "-d",
            "a=1",
            "-d",
            "@body.txt",
            "-iLfsS",
            "--max-redirs",
            "-1",
            "-o",
            "out.bin",
            "--connect-timeout",
            "1.5",
            "-m",
            "3",
            "--resolve",
            "a.test:443:127.0.0.1",
            "--http1.1",
            "-w",
            "%{http_code}",
            "https://a.test/x",
            "https://b.test/y",
        ])
        .unwrap();
        assert_eq!(args.method.as_deref(), Some("PUT"));
        assert_eq!(args.data, ["a=1", "@body.txt"]);
        assert!(args.include && args.location && args.fail && args.silent && args.show_error);
        assert_eq!(args.max_redirs, -1);
        assert_eq!(args.output, [PathBuf::from("out.bin")]);
        assert_eq!(args.connect_timeout, Some(Duration::from_millis(1500)));
        assert_eq!(args.call_timeout, Some(Duration::from_secs(3)));
        assert_eq!(args.resolve, ["a.test:443:127.0.0.1"]);
        assert!(args.http1_1);
        assert_eq!(args.urls.len(), 2);
    }

    #[test]
    fn conflicting_protocols_and_missing_urls_are_usage_errors() {
        assert!(
            Args::try_parse_from(["okcurl", "--http1.1", "--http2", "http://a.test/"]).is_err()
        );
        assert!(Args::try_parse_from(["okcurl", "-v"]).is_err());
        assert!(
            Args::try_parse_from(["okcurl", "--cache-only", "--no-cache", "http://a.test/"])
                .is_err()
        );
        let max_time = Args::try_parse_from(["okcurl", "--max-time", "2", "http://a.test/"]);
        assert_eq!(max_time.unwrap().call_timeout, Some(Duration::from_secs(2)));
    }
}
