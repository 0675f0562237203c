//! [`Settings`]: the command line checked and interpreted, without touching files or the
//! network.

use std::path::PathBuf;
use std::time::Duration;

use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderName, HeaderValue, Method, Uri};
use oktower::{IntoUrl, Protocol, Proxy};

use crate::parse::{self, PinSpec, ResolveEntry};
use crate::{Args, UsageError, WriteOut};

/// How the request body is made from `-d`, `--data-binary` and `--data-raw` values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataPart {
    /// Text as given.
    Text(String),
    /// A file's bytes (`@file`; `-` is standard input), with CR and LF removed when
    /// `strip_newlines` (as `-d @file` does in curl).
    File {
        /// The file, or `-` for standard input.
        path: PathBuf,
        /// Whether to remove CR and LF.
        strip_newlines: bool,
    },
}

/// The cache directives okcurl adds to requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheMode {
    /// The cache decides (when `--cache-dir` is given).
    Normal,
    /// `--cache-only`: `Cache-Control: only-if-cached, max-stale` (OkHttp's `FORCE_CACHE`).
    OnlyIfCached,
    /// `--no-cache`: `Cache-Control: no-cache` (OkHttp's `FORCE_NETWORK`).
    NoCache,
}

impl CacheMode {
    /// The `Cache-Control` request header for this mode.
    pub fn header(self) -> Option<(HeaderName, HeaderValue)> {
        let value = match self {
            CacheMode::Normal => return None,
            CacheMode::OnlyIfCached => "only-if-cached, max-stale=2147483647",
            CacheMode::NoCache => "no-cache",
        };
        Some((CACHE_CONTROL, HeaderValue::from_static(value)))
    }
}

/// Where a transfer's body goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Standard output.
    Stdout,
    /// A file.
    File(PathBuf),
}

/// Everything okcurl was asked to do, checked.
///
/// ```
/// use clap::Parser;
/// use okcurl::{Args, Settings};
///
/// let args = Args::try_parse_from(["okcurl", "-d", "a=1", "http://a.test/"]).unwrap();
/// let settings = Settings::from_args(args).unwrap();
/// assert_eq!(settings.method, http::Method::POST);
/// ```
#[derive(Clone, Debug)]
pub struct Settings {
    /// The URLs, parsed.
    pub urls: Vec<Uri>,
    /// The method of the first request.
    pub method: Method,
    /// Headers to send, in order.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The body's parts, joined with `&` for `-d`.
    pub data: Vec<DataPart>,
    /// The User-Agent.
    pub user_agent: HeaderValue,
    /// Whether to write the response head before the body (`-i`, `-I`).
    pub include_head: bool,
    /// Whether to write no body (`-I`).
    pub head_only: bool,
    /// The most redirects to follow, when following (`None`: not following).
    pub redirects: Option<u32>,
    /// Where each URL's body goes, by index of the URL.
    pub outputs: Vec<Output>,
    /// No progress bar and no error messages.
    pub silent: bool,
    /// Error messages even with `silent`.
    pub show_error: bool,
    /// Error statuses fail the transfer.
    pub fail: bool,
    /// `--connect-timeout` (`Some(None)`: no limit).
    pub connect_timeout: Option<Option<Duration>>,
    /// `--read-timeout`.
    pub read_timeout: Option<Option<Duration>>,
    /// `--write-timeout`.
    pub write_timeout: Option<Option<Duration>>,
    /// `--call-timeout`.
    pub call_timeout: Option<Duration>,
    /// Accept any certificate.
    pub insecure: bool,
    /// Trusted roots instead of the platform's.
    pub cacert: Option<PathBuf>,
    /// The client certificate chain.
    pub cert: Option<PathBuf>,
    /// The client key (defaults to the certificate file).
    pub key: Option<PathBuf>,
    /// Certificate pins.
    pub pins: Vec<PinSpec>,
    /// DNS overrides.
    pub resolve: Vec<ResolveEntry>,
    /// The proxy (`None`: from the environment, as oktower does).
    pub proxy: Option<Proxy>,
    /// Basic credentials for the server.
    pub user: Option<(String, Option<String>)>,
    /// The protocols to offer (`None`: oktower's default, HTTP/2 then HTTP/1.1).
    pub protocols: Option<Vec<Protocol>>,
    /// The cache directory and its size.
    pub cache_dir: Option<(PathBuf, u64)>,
    /// Cache directives for requests.
    pub cache_mode: CacheMode,
    /// `-v`.
    pub verbose: bool,
    /// `--events`.
    pub events: bool,
    /// `-w`.
    pub write_out: Option<WriteOut>,
}

impl Settings {
    /// Checks and interprets `args`.
    pub fn from_args(args: Args) -> Result<Settings, UsageError> {
        let urls = args
            .urls
            .iter()
            .map(|url| url_of(url))
            .collect::<Result<Vec<_>, _>>()?;
        let mut data: Vec<DataPart> = args.data.iter().map(|d| data_part(d, true)).collect();
        data.extend(args.data_binary.iter().map(|d| data_part(d, false)));
        data.extend(args.data_raw.iter().cloned().map(DataPart::Text));
        let method = match &args.method {
            Some(method) => Method::from_bytes(method.as_bytes())
                .map_err(|_| UsageError::new(format!("{method:?} is not a valid method")))?,
            None if args.head => Method::HEAD,
            None if !data.is_empty() => Method::POST,
            None => Method::GET,
        };
        let mut headers = args
            .headers
            .iter()
            .map(|header| parse::header(header))
            .collect::<Result<Vec<_>, _>>()?;
        if !args.data.is_empty() && !headers.iter().any(|(name, _)| name == CONTENT_TYPE) {
            let form = HeaderValue::from_static("application/x-www-form-urlencoded");
            headers.push((CONTENT_TYPE, form));
        }
        let user_agent = match &args.user_agent {
            Some(agent) => HeaderValue::try_from(agent.as_str())
                .map_err(|_| UsageError::new("the User-Agent is not a valid header value"))?,
            None => HeaderValue::from_static(concat!("okcurl/", env!("CARGO_PKG_VERSION"))),
        };
        if args.output.len() > urls.len() {
            return Err(UsageError::new("more --output files than URLs"));
        }
        let outputs = urls
            .iter()
            .enumerate()
            .map(|(index, uri)| match args.output.get(index) {
                Some(path) if path.as_os_str() == "-" => Ok(Output::Stdout),
                Some(path) => Ok(Output::File(path.clone())),
                None if args.remote_name => remote_name(uri).map(Output::File),
                None => Ok(Output::Stdout),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let redirects = args.location.then(|| {
            u32::try_from(args.max_redirs).unwrap_or(if args.max_redirs < 0 { u32::MAX } else { 0 })
        });
        let mut proxy = args.proxy.as_deref().map(parse::proxy).transpose()?;
        if let Some(user) = &args.proxy_user {
            let (name, password) = parse::credentials(user);
            let Some(chosen) = proxy.take() else {
                return Err(UsageError::new("--proxy-user needs --proxy"));
            };
            proxy = Some(chosen.with_credentials(name, password.unwrap_or_default()));
        }
        let protocols = if args.http1_1 {
            Some(vec![Protocol::Http11])
        } else if args.http2_prior_knowledge {
            Some(vec![Protocol::H2PriorKnowledge])
        } else {
            None
        };
        if args.key.is_some() && args.cert.is_none() {
            return Err(UsageError::new("--key needs --cert"));
        }
        let cache_mode = if args.cache_only {
            CacheMode::OnlyIfCached
        } else if args.no_cache {
            CacheMode::NoCache
        } else {
            CacheMode::Normal
        };
        let limit = |timeout: Option<Duration>| timeout.map(|t| (!t.is_zero()).then_some(t));
        Ok(Settings {
            urls,
            method,
            headers,
            data,
            user_agent,
            include_head: args.include || args.head,
            head_only: args.head,
            redirects,
            outputs,
            silent: args.silent,
            show_error: args.show_error,
            fail: args.fail,
            connect_timeout: limit(args.connect_timeout),
            read_timeout: limit(args.read_timeout),
            write_timeout: limit(args.write_timeout),
            call_timeout: args.call_timeout.filter(|timeout| !timeout.is_zero()),
            insecure: args.insecure,
            cacert: args.cacert,
            cert: args.cert,
            key: args.key,
            pins: args
                .pins
                .iter()
                .map(|pin| parse::pin(pin))
                .collect::<Result<_, _>>()?,
            resolve: args
                .resolve
                .iter()
                .map(|entry| parse::resolve_entry(entry))
                .collect::<Result<_, _>>()?,
            proxy,
            user: args.user.as_deref().map(parse::credentials),
            protocols,
            cache_dir: args.cache_dir.map(|dir| (dir, args.cache_size)),
            cache_mode,
            verbose: args.verbose,
            events: args.events,
            write_out: args.write_out.as_deref().map(WriteOut::parse).transpose()?,
        })
    }

    /// Whether error messages go to stderr.
    pub fn shows_errors(&self) -> bool {
        !self.silent || self.show_error
    }
}

/// A URL as curl takes it: without a scheme, `http://` is assumed.
fn url_of(text: &str) -> Result<Uri, UsageError> {
    let with_scheme = if text.contains("://") {
        text.to_owned()
    } else {
        format!("http://{text}")
    };
    with_scheme.into_uri().map_err(|error| {
        UsageError::new(format!("{text:?} is not a usable URL: {}", error.message()))
    })
}

fn data_part(text: &str, strip_newlines: bool) -> DataPart {
    match text.strip_prefix('@') {
        Some(path) => DataPart::File {
            path: PathBuf::from(path),
            strip_newlines,
        },
        None => DataPart::Text(text.to_owned()),
    }
}

/// The file name `-O` uses: the URL's last path segment.
fn remote_name(uri: &Uri) -> Result<PathBuf, UsageError> {
    let name = uri.path().rsplit('/').next().unwrap_or("");
    if name.is_empty() || name == "." || name == ".." {
        return Err(UsageError::new(format!(
            "--remote-name: the URL {uri} has no file name"
        )));
    }
    Ok(PathBuf::from(name))
}

/// The request body from its parts: `-d` parts joined with `&`; `read` reads a file (or
/// standard input for `-`).
pub fn assemble_body(
    parts: &[DataPart],
    mut read: impl FnMut(&std::path::Path) -> std::io::Result<Vec<u8>>,
) -> Result<Option<Vec<u8>>, crate::Failure> {
    if parts.is_empty() {
        return Ok(None);
    }
    let mut body = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        if index > 0 {
            body.push(b'&');
        }
        match part {
            DataPart::Text(text) => body.extend_from_slice(text.as_bytes()),
            DataPart::File {
                path,
                strip_newlines,
            } => {
                let bytes = read(path).map_err(|error| crate::Failure::ReadFile {
                    message: format!("cannot read data from {}: {error}", path.display()),
                    certificate: false,
                })?;
                if *strip_newlines {
                    body.extend(bytes.into_iter().filter(|b| !matches!(b, b'\r' | b'\n')));
                } else {
                    body.extend_from_slice(&bytes);
                }
            }
        }
    }
    Ok(Some(body))
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
