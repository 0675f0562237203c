//! [`Failure`]: why a transfer failed, with curl's exit code for it.

use std::error::Error as _;
use std::fmt;

use http::StatusCode;
use oktower::{Error, ErrorKind};

/// A command line that cannot be used: a bad header, `--resolve` entry, proxy or pin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError {
    message: String,
}

impl UsageError {
    /// A usage error saying `message`.
    pub fn new(message: impl Into<String>) -> Self {
        UsageError {
            message: message.into(),
        }
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UsageError {}

/// Why okcurl stops a transfer; [`exit_code`](Self::exit_code) is curl's code for it.
///
/// ```
/// use oktower::{Error, ErrorKind};
/// use okcurl::Failure;
///
/// let failure = Failure::Http(Error::new(ErrorKind::Connect, "connection refused"));
/// assert_eq!(failure.exit_code(), 7);
/// assert_eq!(Failure::TooManyRedirects { max: 3 }.exit_code(), 47);
/// ```
#[derive(Debug)]
pub enum Failure {
    /// The command line cannot be used (exit 2).
    Usage(UsageError),
    /// A file to send (`-d @file`, `--cacert`, `--cert`, `--key`) could not be read (exit 26;
    /// 58 for certificate and key files, as curl).
    ReadFile {
        /// What the file was for and why it could not be read.
        message: String,
        /// Whether it was a TLS certificate or key.
        certificate: bool,
    },
    /// The body could not be written to its destination (exit 23).
    Write(String),
    /// The call failed.
    Http(Error),
    /// `--fail` and the server answered with an error status (exit 22).
    HttpStatus(StatusCode),
    /// `--location` met more redirects than `--max-redirs` allows (exit 47).
    TooManyRedirects {
        /// The limit.
        max: u32,
    },
}

impl Failure {
    /// curl's exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 2,
            Failure::ReadFile {
                certificate: true, ..
            } => 58,
            Failure::ReadFile { .. } => 26,
            Failure::Write(_) => 23,
            Failure::Http(error) => exit_code_for(error.kind()),
            Failure::HttpStatus(_) => 22,
            Failure::TooManyRedirects { .. } => 47,
        }
    }
}

/// curl's exit code for a failed call of `kind`.
///
/// | kind | code | curl's name |
/// |---|---|---|
/// | `Builder` | 3 | URL malformed |
/// | `Dns` | 6 | couldn't resolve host |
/// | `Connect` | 7 | failed to connect |
/// | `Protocol` | 8 | weird server reply |
/// | `Status` | 22 | HTTP returned error |
/// | `Timeout` | 28 | operation timed out |
/// | `Tls` | 35 | SSL connect error |
/// | `Canceled` | 42 | aborted |
/// | `Io`, `Cache` | 56 | failure receiving network data |
/// | `Decode` | 61 | bad content encoding |
/// | `TooLarge` | 63 | maximum file size exceeded |
/// | `Proxy` | 97 | proxy handshake error |
/// | anything newer | 1 | |
pub fn exit_code_for(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Builder => 3,
        ErrorKind::Dns => 6,
        ErrorKind::Connect => 7,
        ErrorKind::Protocol => 8,
        ErrorKind::Status => 22,
        ErrorKind::Timeout => 28,
        ErrorKind::Tls => 35,
        ErrorKind::Canceled => 42,
        ErrorKind::Io | ErrorKind::Cache => 56,
        ErrorKind::Decode => 61,
        ErrorKind::TooLarge => 63,
        ErrorKind::Proxy => 97,
        _ => 1,
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(error) => write!(f, "{error}"),
            Failure::ReadFile { message, .. } | Failure::Write(message) => f.write_str(message),
            Failure::Http(error) => {
                write!(f, "{error}")?;
                // The innermost cause often says what really happened ("UnknownIssuer",
                // "Connection refused"); add it when the message does not already.
                let mut cause = error.source();
                let mut innermost = None;
                while let Some(next) = cause {
                    innermost = Some(next);
                    cause = next.source();
                }
                if let Some(innermost) = innermost {
                    let text = innermost.to_string();
                    if !text.is_empty() && !error.to_string().contains(&text) {
                        write!(f, ": {text}")?;
                    }
                }
                Ok(())
            }
            Failure::HttpStatus(status) => {
                write!(f, "the requested URL returned error: {}", status.as_u16())
            }
            Failure::TooManyRedirects { max } => {
                write!(f, "maximum ({max}) redirects followed")
            }
        }
    }
}

impl From<UsageError> for Failure {
    fn from(error: UsageError) -> Self {
        Failure::Usage(error)
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::Http(error)
    }
}

/// The one line okcurl prints to stderr for `failure`: `okcurl: (CODE) what happened`.
pub fn error_line(failure: &Failure) -> String {
    let text = failure.to_string().replace(['\r', '\n'], " ");
    format!("okcurl: ({}) {text}", failure.exit_code())
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    #[test]
    fn curl_codes_for_the_common_failures() {
        assert_eq!(exit_code_for(ErrorKind::Dns), 6);
        assert_eq!(exit_code_for(ErrorKind::Connect), 7);
        assert_eq!(exit_code_for(ErrorKind::Timeout), 28);
        assert_eq!(exit_code_for(ErrorKind::Tls), 35);
        assert_eq!(exit_code_for(ErrorKind::Builder), 3);
        assert_eq!(exit_code_for(ErrorKind::Proxy), 97);
        assert_eq!(exit_code_for(ErrorKind::Io), 56);
        assert_eq!(Failure::HttpStatus(StatusCode::NOT_FOUND).exit_code(), 22);
        assert_eq!(Failure::TooManyRedirects { max: 0 }.exit_code(), 47);
        assert_eq!(Failure::Usage(UsageError::new("x")).exit_code(), 2);
        assert_eq!(Failure::Write("disk full".into()).exit_code(), 23);
        let unreadable = |certificate| Failure::ReadFile {
            message: "gone".into(),
            certificate,
        };
        assert_eq!(unreadable(false).exit_code(), 26);
        assert_eq!(unreadable(true).exit_code(), 58);
    }

    #[test]
    fn the_error_line_is_one_line_with_the_innermost_cause() {
        let error = Error::new(ErrorKind::Connect, "connecting to 127.0.0.1:9 failed")
            .with_url("http://a.test:9/")
            .with_source(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                "Connection refused",
            ));
        assert_eq!(
            error_line(&Failure::Http(error)),
            "okcurl: (7) connect failed: connecting to 127.0.0.1:9 failed (http://a.test:9/): \
             Connection refused"
        );
        let status = Failure::HttpStatus(StatusCode::NOT_FOUND);
        assert_eq!(
            error_line(&status),
            "okcurl: (22) the requested URL returned error: 404"
        );
        let multi = Failure::Usage(UsageError::new("a\nb"));
        assert_eq!(error_line(&multi), "okcurl: (2) a b");
    }
}
