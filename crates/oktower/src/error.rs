//! The one error type of oktower.

use std::error::Error as StdError;
use std::fmt;
use std::io;

use crate::ConnectionInfo;

/// A boxed error from a lower layer (I/O, TLS, hyper, a user's trait implementation).
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// What went wrong, as the retry layer and users need to tell it apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request or the client was built with invalid settings (a bad URL, a port out of
    /// range, cleartext where it is not permitted).
    Builder,
    /// A host name could not be resolved, or resolved to no addresses.
    Dns,
    /// A TCP connection could not be opened (refused, unreachable).
    Connect,
    /// The TLS handshake failed: an untrusted, expired or wrong-host certificate, a pin
    /// mismatch, no common protocol version.
    Tls,
    /// A proxy refused the connection: CONNECT answered with an error, proxy authentication
    /// failed, a SOCKS5 failure.
    Proxy,
    /// A connect, read, write or call timeout elapsed.
    Timeout,
    /// The peer broke the protocol: a malformed status line, oversized headers, invalid chunked
    /// encoding, a truncated body, an unexpected HTTP/2 frame or reset.
    Protocol,
    /// Reading or writing failed after the connection was established, including the stream
    /// ending before the response head ("unexpected end of stream on ...", which the follow-up
    /// layer may retry, as OkHttp does).
    Io,
    /// A response exceeded a configured size limit, such as the bridge's maximum decompressed
    /// body size (which stops decompression bombs).
    TooLarge,
    /// The call was canceled.
    Canceled,
    /// The response cache could not use a stored entry: its bytes are truncated, corrupt or
    /// of an unknown format version. The cache treats such an entry as absent.
    Cache,
    /// The server answered with a client or server error status and the caller asked for it
    /// to be an error (`Response::error_for_status`); [`Error::status`] holds the status.
    Status,
    /// The response body could not be decoded as asked: not valid JSON for the target type,
    /// or not text in its charset.
    Decode,
}

impl ErrorKind {
    fn describe(self) -> &'static str {
        match self {
            ErrorKind::Builder => "invalid request or client settings",
            ErrorKind::Dns => "DNS resolution failed",
            ErrorKind::Connect => "connect failed",
            ErrorKind::Tls => "TLS handshake failed",
            ErrorKind::Proxy => "proxy failure",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Protocol => "protocol error",
            ErrorKind::Io => "I/O error",
            ErrorKind::TooLarge => "response too large",
            ErrorKind::Canceled => "canceled",
            ErrorKind::Cache => "cache entry unusable",
            ErrorKind::Status => "error status",
            ErrorKind::Decode => "response body could not be decoded",
        }
    }
}

/// Whether the request may have reached the server before the failure.
///
/// The retry layer only repeats requests that were provably not sent, unless the request is
/// safe to repeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum RequestSent {
    /// The failure happened before any byte of the request was written (DNS, connect, TLS,
    /// proxy, or a pooled connection that was found closed before use).
    #[default]
    No,
    /// Some or all of the request may have been written.
    Maybe,
}

/// The error of every oktower operation.
///
/// Cheap to move (one pointer). [`kind`](Self::kind) and the `is_*` methods tell failures
/// apart; [`url`](Self::url) names the request (credentials removed); [`recovered`](Self::recovered)
/// lists earlier failures that were recovered from before this one (other routes tried, for
/// example).
///
/// ```
/// use oktower::{Error, ErrorKind};
///
/// let error = Error::new(ErrorKind::Dns, "no addresses for host missing.test")
///     .with_url("https://user:secret@missing.test/path");
/// assert!(error.is_dns());
/// assert_eq!(error.url(), Some("https://missing.test/path"));
/// assert_eq!(
///     error.to_string(),
///     "DNS resolution failed: no addresses for host missing.test (https://missing.test/path)"
/// );
/// ```
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    source: Option<BoxError>,
    url: Option<String>,
    request_sent: RequestSent,
    recovered: Vec<Error>,
    status: Option<http::StatusCode>,
    /// The connection the failed exchange released, whose `connection_released` event waits
    /// for the retry decision (see [`Error::with_unreported_release`]).
    unreported_release: Option<ConnectionInfo>,
}

impl Error {
    /// An error of `kind` saying `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                source: None,
                url: None,
                request_sent: RequestSent::No,
                recovered: Vec::new(),
                status: None,
                unreported_release: None,
            }),
        }
    }

    /// An error for a response with a client (4xx) or server (5xx) error `status`.
    pub fn status_error(status: http::StatusCode, url: impl AsRef<str>) -> Self {
        let mut error =
            Error::new(ErrorKind::Status, format!("HTTP status {status}")).with_url(url);
        error.inner.status = Some(status);
        error
    }

    /// Converts any boxed error: an oktower [`Error`] inside is taken out as it is; anything
    /// else becomes an [`ErrorKind::Io`] error with it as its source (a timeout from tower's
    /// `timeout` layer becomes [`ErrorKind::Timeout`]).
    pub fn from_boxed(error: BoxError) -> Self {
        match error.downcast::<Error>() {
            Ok(error) => *error,
            Err(other) => {
                let timed_out = other.is::<tower::timeout::error::Elapsed>()
                    || other
                        .downcast_ref::<io::Error>()
                        .is_some_and(|e| e.kind() == io::ErrorKind::TimedOut);
                let kind = if timed_out {
                    ErrorKind::Timeout
                } else {
                    ErrorKind::Io
                };
                Error::new(kind, other.to_string()).with_source(other)
            }
        }
    }

    /// The status of an [`ErrorKind::Status`] error.
    pub fn status(&self) -> Option<http::StatusCode> {
        self.inner.status
    }

    /// Whether this is an error status made an error ([`ErrorKind::Status`]).
    pub fn is_status(&self) -> bool {
        self.inner.kind == ErrorKind::Status
    }

    /// Whether the body could not be decoded ([`ErrorKind::Decode`]).
    pub fn is_decode(&self) -> bool {
        self.inner.kind == ErrorKind::Decode
    }

    /// Attaches the lower-level cause.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    /// Names the request's URL; user info (credentials) is removed.
    pub fn with_url(mut self, url: impl AsRef<str>) -> Self {
        self.inner.url = Some(redact_url(url.as_ref()));
        self
    }

    /// Records whether the request may have been sent.
    pub fn with_request_sent(mut self, sent: RequestSent) -> Self {
        self.inner.request_sent = sent;
        self
    }

    /// The error of an exchange whose connection was released without its
    /// `connection_released` event: the follow-up layer above reports it after its
    /// `retry_decision`, in OkHttp's order.
    pub(crate) fn with_unreported_release(mut self, connection: ConnectionInfo) -> Self {
        self.inner.unreported_release = Some(connection);
        self
    }

    /// The released connection whose event is still to be reported, taken (once).
    pub(crate) fn take_unreported_release(&mut self) -> Option<ConnectionInfo> {
        self.inner.unreported_release.take()
    }

    /// Adds an earlier failure that was recovered from before this one.
    pub fn with_recovered(mut self, earlier: Error) -> Self {
        self.inner.recovered.push(earlier);
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The message, without the kind or the URL.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The URL of the request, without credentials, if known.
    pub fn url(&self) -> Option<&str> {
        self.inner.url.as_deref()
    }

    /// Whether the request may have reached the server.
    pub fn request_sent(&self) -> RequestSent {
        self.inner.request_sent
    }

    /// Failures recovered from before this one, oldest first.
    pub fn recovered(&self) -> &[Error] {
        &self.inner.recovered
    }

    /// A DNS failure.
    pub fn is_dns(&self) -> bool {
        self.kind() == ErrorKind::Dns
    }

    /// A TCP connect failure.
    pub fn is_connect(&self) -> bool {
        self.kind() == ErrorKind::Connect
    }

    /// A TLS failure (certificate, pin, handshake).
    pub fn is_tls(&self) -> bool {
        self.kind() == ErrorKind::Tls
    }

    /// A proxy failure.
    pub fn is_proxy(&self) -> bool {
        self.kind() == ErrorKind::Proxy
    }

    /// A timeout.
    pub fn is_timeout(&self) -> bool {
        self.kind() == ErrorKind::Timeout
    }

    /// A protocol violation by the peer.
    pub fn is_protocol(&self) -> bool {
        self.kind() == ErrorKind::Protocol
    }

    /// An I/O failure on an established connection.
    pub fn is_io(&self) -> bool {
        self.kind() == ErrorKind::Io
    }

    /// A response over a configured size limit.
    pub fn is_too_large(&self) -> bool {
        self.kind() == ErrorKind::TooLarge
    }

    /// A canceled call.
    pub fn is_canceled(&self) -> bool {
        self.kind() == ErrorKind::Canceled
    }

    /// Invalid settings.
    pub fn is_builder(&self) -> bool {
        self.kind() == ErrorKind::Builder
    }

    /// An unusable cache entry.
    pub fn is_cache(&self) -> bool {
        self.kind() == ErrorKind::Cache
    }

    /// Wraps an I/O error of `kind`, keeping the I/O error as the source; timeouts become
    /// [`ErrorKind::Timeout`] whatever `kind` says.
    pub(crate) fn from_io(kind: ErrorKind, context: impl Into<String>, error: io::Error) -> Self {
        let kind = if error.kind() == io::ErrorKind::TimedOut {
            ErrorKind::Timeout
        } else {
            kind
        };
        Error::new(kind, context).with_source(error)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Error");
        debug
            .field("kind", &self.inner.kind)
            .field("message", &self.inner.message);
        if let Some(url) = &self.inner.url {
            debug.field("url", url);
        }
        if let Some(source) = &self.inner.source {
            debug.field("source", source);
        }
        if self.inner.request_sent != RequestSent::No {
            debug.field("request_sent", &self.inner.request_sent);
        }
        if !self.inner.recovered.is_empty() {
            debug.field("recovered", &self.inner.recovered);
        }
        debug.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.inner.kind.describe())?;
        if !self.inner.message.is_empty() {
            write!(f, ": {}", self.inner.message)?;
        }
        if let Some(url) = &self.inner.url {
            write!(f, " ({url})")?;
        }
        Ok(())
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|source| source as &(dyn StdError + 'static))
    }
}

/// `url` without the user info (`user:password@`) of its authority.
fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let authority_start = scheme_end + 3;
    let rest = &url[authority_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}{}", &url[..authority_start], &rest[at + 1..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_removed_from_urls() {
        assert_eq!(
            redact_url("http://a:b@host:8080/p?q=@"),
            "http://host:8080/p?q=@"
        );
        assert_eq!(redact_url("https://host/p"), "https://host/p");
        assert_eq!(redact_url("not a url"), "not a url");
    }

    #[test]
    fn io_timeouts_become_timeouts() {
        let error = Error::from_io(
            ErrorKind::Connect,
            "connecting to 127.0.0.1:1",
            io::Error::from(io::ErrorKind::TimedOut),
        );
        assert!(error.is_timeout());
        assert!(error.source().is_some());
        let refused = Error::from_io(
            ErrorKind::Connect,
            "connecting to 127.0.0.1:1",
            io::Error::from(io::ErrorKind::ConnectionRefused),
        );
        assert!(refused.is_connect());
    }

    #[test]
    fn recovered_failures_and_sent_state_are_kept() {
        let first = Error::new(ErrorKind::Connect, "route 1 refused");
        let error = Error::new(ErrorKind::Connect, "route 2 refused")
            .with_recovered(first)
            .with_request_sent(RequestSent::Maybe);
        assert_eq!(error.recovered().len(), 1);
        assert_eq!(error.recovered()[0].message(), "route 1 refused");
        assert_eq!(error.request_sent(), RequestSent::Maybe);
        assert!(format!("{error:?}").contains("route 1 refused"));
    }

    #[test]
    fn boxed_errors_keep_oktower_errors_and_recognise_timeouts() {
        let ours: BoxError = Box::new(Error::new(ErrorKind::Dns, "no such host"));
        assert_eq!(Error::from_boxed(ours).kind(), ErrorKind::Dns);
        let elapsed: BoxError = Box::new(tower::timeout::error::Elapsed::new());
        assert_eq!(Error::from_boxed(elapsed).kind(), ErrorKind::Timeout);
        let io_timeout: BoxError = Box::new(io::Error::from(io::ErrorKind::TimedOut));
        assert_eq!(Error::from_boxed(io_timeout).kind(), ErrorKind::Timeout);
        let other: BoxError = "the layer gave up, timed out or not".into();
        assert_eq!(Error::from_boxed(other).kind(), ErrorKind::Io);
    }
}
