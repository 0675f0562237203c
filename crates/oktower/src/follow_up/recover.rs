//! Whether to retry after a failure (OkHttp's `recover`), pure.

use crate::{Error, ErrorKind, RequestSent};

/// How many failures a call recovers from before the next one is final (OkHttp's
/// `MAX_RECOVERED_FAILURES`, which bounds a route selector that keeps yielding routes).
pub(crate) const MAX_RECOVERED_FAILURES: usize = 20;

/// What [`recover`] needs besides the error.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RecoverInput {
    /// The `retry_on_connection_failure` setting.
    pub(crate) retry_on_connection_failure: bool,
    /// Whether a copy of the request body is at hand to send again.
    pub(crate) body_replayable: bool,
    /// How many failures the call already recovered from.
    pub(crate) recovered: usize,
}

/// Whether the request that failed with `error` is sent again. `false`, in this order, when:
///
/// 1. `retry_on_connection_failure` is off;
/// 2. the body cannot be sent again. OkHttp retries a one-shot body when its sending had not
///    started; here the failed attempt took the body, so nothing is left to send, sent or not;
/// 3. the failure is not recoverable ([`is_recoverable`]);
/// 4. there is nothing more to try ([`more_to_try`]).
pub(crate) fn recover(error: &Error, input: &RecoverInput) -> bool {
    if !input.retry_on_connection_failure || !input.body_replayable {
        return false;
    }
    let sent = error.request_sent() == RequestSent::Maybe;
    is_recoverable(error.kind(), sent) && more_to_try(error.kind(), sent, input.recovered)
}

/// OkHttp's `isRecoverable`: protocol errors never (the peer would break the protocol again),
/// TLS errors never (an untrusted certificate, a pin mismatch: trying again will not fix them),
/// timeouts only when the request was not sent (a connect timeout; a read timeout after the
/// request went out may mean the server is processing it), cancellation and invalid settings
/// never; any other I/O, DNS, connect or proxy failure yes.
pub(crate) fn is_recoverable(kind: ErrorKind, sent: bool) -> bool {
    match kind {
        ErrorKind::Protocol | ErrorKind::Tls | ErrorKind::Canceled | ErrorKind::Builder => false,
        ErrorKind::Timeout => !sent,
        _ => true,
    }
}

/// OkHttp's `retryAfterFailure` and its recovered-failures bound: retry only a failure of an
/// exchange (the request was on its way over a connection, as for a pooled connection found
/// dead), and at most [`MAX_RECOVERED_FAILURES`] times per call.
///
/// A failure before any connection was ready (DNS, connect, TLS, proxy, and a timeout before
/// the request was sent) is final here: the connect layer below has already tried every route
/// for it, as OkHttp 5.4's exchange finder does (its `retryAfterFailure` needs an exchange).
pub(crate) fn more_to_try(kind: ErrorKind, sent: bool, recovered: usize) -> bool {
    let before_exchange = match kind {
        ErrorKind::Dns | ErrorKind::Connect | ErrorKind::Tls | ErrorKind::Proxy => true,
        ErrorKind::Timeout => !sent,
        _ => false,
    };
    !before_exchange && recovered < MAX_RECOVERED_FAILURES
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_KINDS: [ErrorKind; 9] = [
        ErrorKind::Builder,
        ErrorKind::Dns,
        ErrorKind::Connect,
        ErrorKind::Tls,
        ErrorKind::Proxy,
        ErrorKind::Timeout,
        ErrorKind::Protocol,
        ErrorKind::Io,
        ErrorKind::Canceled,
    ];

    fn error(kind: ErrorKind, sent: RequestSent) -> Error {
        Error::new(kind, "failed").with_request_sent(sent)
    }

    fn input() -> RecoverInput {
        RecoverInput {
            retry_on_connection_failure: true,
            body_replayable: true,
            recovered: 0,
        }
    }

    #[test]
    fn io_failures_of_an_exchange_are_retried_sent_or_not() {
        assert!(recover(&error(ErrorKind::Io, RequestSent::No), &input()));
        assert!(recover(&error(ErrorKind::Io, RequestSent::Maybe), &input()));
    }

    #[test]
    fn retry_off_means_never() {
        let off = RecoverInput {
            retry_on_connection_failure: false,
            ..input()
        };
        for kind in ALL_KINDS {
            for sent in [RequestSent::No, RequestSent::Maybe] {
                assert!(!recover(&error(kind, sent), &off), "{kind:?} {sent:?}");
            }
        }
    }

    #[test]
    fn one_shot_bodies_are_never_sent_again() {
        let one_shot = RecoverInput {
            body_replayable: false,
            ..input()
        };
        assert!(!recover(
            &error(ErrorKind::Io, RequestSent::Maybe),
            &one_shot
        ));
        assert!(!recover(&error(ErrorKind::Io, RequestSent::No), &one_shot));
    }

    #[test]
    fn fatal_kinds() {
        for sent in [false, true] {
            assert!(!is_recoverable(ErrorKind::Protocol, sent));
            assert!(!is_recoverable(ErrorKind::Tls, sent));
            assert!(!is_recoverable(ErrorKind::Canceled, sent));
            assert!(!is_recoverable(ErrorKind::Builder, sent));
            assert!(is_recoverable(ErrorKind::Io, sent));
            assert!(is_recoverable(ErrorKind::Connect, sent));
            assert!(is_recoverable(ErrorKind::Dns, sent));
            assert!(is_recoverable(ErrorKind::Proxy, sent));
        }
        for sent in [RequestSent::No, RequestSent::Maybe] {
            for kind in [ErrorKind::Protocol, ErrorKind::Tls, ErrorKind::Canceled] {
                assert!(!recover(&error(kind, sent), &input()), "{kind:?}");
            }
        }
    }

    #[test]
    fn timeouts_only_before_the_request_was_sent() {
        assert!(is_recoverable(ErrorKind::Timeout, false));
        assert!(!is_recoverable(ErrorKind::Timeout, true));
        // A read timeout is final.
        assert!(!recover(
            &error(ErrorKind::Timeout, RequestSent::Maybe),
            &input()
        ));
        // A timeout before sending is a connect timeout: the connect layer tried every route.
        assert!(!recover(
            &error(ErrorKind::Timeout, RequestSent::No),
            &input()
        ));
    }

    #[test]
    fn failures_before_an_exchange_are_final_here() {
        for kind in [
            ErrorKind::Dns,
            ErrorKind::Connect,
            ErrorKind::Proxy,
            ErrorKind::Tls,
        ] {
            assert!(!more_to_try(kind, false, 0), "{kind:?}");
            assert!(
                !recover(&error(kind, RequestSent::No), &input()),
                "{kind:?}"
            );
        }
        assert!(!more_to_try(ErrorKind::Timeout, false, 0));
        assert!(more_to_try(ErrorKind::Timeout, true, 0));
        assert!(more_to_try(ErrorKind::Io, false, 0));
    }

    #[test]
    fn at_most_twenty_recoveries() {
        let failure = error(ErrorKind::Io, RequestSent::No);
        let after = |recovered| RecoverInput {
            recovered,
            ..input()
        };
        assert!(recover(&failure, &after(0)));
        assert!(recover(&failure, &after(19)));
        assert!(!recover(&failure, &after(20)));
        assert!(!recover(&failure, &after(21)));
    }
}
