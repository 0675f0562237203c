//! What to do with a response (OkHttp's `followUpRequest`), pure.

use http::header::RETRY_AFTER;
use http::{HeaderMap, StatusCode, request, response};

use super::redirect::{Redirect, redirect};
use crate::{ConnectionInfo, Error, ErrorKind};

/// The plain settings of the follow-up layer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Policy {
    pub(crate) retry_on_connection_failure: bool,
    pub(crate) follow_redirects: bool,
    pub(crate) follow_ssl_redirects: bool,
    pub(crate) keep_authorization_on_https_upgrade: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            retry_on_connection_failure: true,
            follow_redirects: true,
            follow_ssl_redirects: true,
            keep_authorization_on_https_upgrade: false,
        }
    }
}

/// What the follow-up layer knows when a response arrives.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Exchange<'a> {
    /// The head of the request the response answers.
    pub(crate) request: &'a request::Parts,
    /// The response's head.
    pub(crate) response: &'a response::Parts,
    /// The status of the response followed up just before, if any.
    pub(crate) prior_status: Option<StatusCode>,
    /// Whether a copy of the request body is at hand to send again.
    pub(crate) body_replayable: bool,
    /// The connection the response came on, if the layers below said.
    pub(crate) connection: Option<&'a ConnectionInfo>,
}

/// What follows a response.
#[derive(Debug)]
pub(crate) enum FollowUp {
    /// Nothing: the response is the call's.
    Final,
    /// A redirect to another request.
    Redirect(Box<Redirect>),
    /// The same request again (408, 503 with `Retry-After: 0`).
    Repeat,
    /// The same request again, after taking the coalesced connection out of coalescing (421).
    RepeatOnFreshConnection,
    /// Ask the authenticator (401).
    Authenticate,
    /// Ask the proxy authenticator (407 through an HTTP proxy).
    ProxyAuthenticate,
}

/// The follow-up of `exchange.response`, by status, as OkHttp 5.4 decides it:
///
/// - 407: only through an HTTP proxy (else a protocol error, "Received HTTP_PROXY_AUTH (407)
///   code while not using proxy"): the proxy authenticator;
/// - 401: the authenticator;
/// - 300, 301, 302, 303, 307, 308: [`redirect`];
/// - 408: the same request, unless retries are off, the previous response was a 408 too, or
///   `Retry-After` asks for a delay;
/// - 503: the same request only when `Retry-After` is exactly `0` and the previous response
///   was not a 503;
/// - 421: the same request on a fresh connection when this one was coalesced;
/// - anything else: final.
///
/// Every follow-up that sends the body again is dropped (the response is final) when the body
/// cannot be replayed.
pub(crate) fn decide(exchange: &Exchange<'_>, policy: &Policy) -> Result<FollowUp, Error> {
    let response = exchange.response;
    let prior_was = |status| exchange.prior_status == Some(status);
    let follow_up = match response.status {
        StatusCode::PROXY_AUTHENTICATION_REQUIRED => {
            let through_http_proxy = exchange
                .connection
                .is_some_and(|connection| connection.route().proxy().is_http());
            if !through_http_proxy {
                return Err(Error::new(
                    ErrorKind::Protocol,
                    "Received HTTP_PROXY_AUTH (407) code while not using proxy",
                )
                .with_url(exchange.request.uri.to_string()));
            }
            FollowUp::ProxyAuthenticate
        }
        StatusCode::UNAUTHORIZED => FollowUp::Authenticate,
        StatusCode::MULTIPLE_CHOICES
        | StatusCode::MOVED_PERMANENTLY
        | StatusCode::FOUND
        | StatusCode::SEE_OTHER
        | StatusCode::TEMPORARY_REDIRECT
        | StatusCode::PERMANENT_REDIRECT => match redirect(exchange.request, response, policy) {
            Some(redirect) if !redirect.keep_body || exchange.body_replayable => {
                return Ok(FollowUp::Redirect(Box::new(redirect)));
            }
            _ => FollowUp::Final,
        },
        StatusCode::REQUEST_TIMEOUT => {
            if !policy.retry_on_connection_failure
                || prior_was(StatusCode::REQUEST_TIMEOUT)
                || retry_after(&response.headers, 0) > 0
            {
                FollowUp::Final
            } else {
                FollowUp::Repeat
            }
        }
        StatusCode::SERVICE_UNAVAILABLE => {
            if !prior_was(StatusCode::SERVICE_UNAVAILABLE)
                && retry_after(&response.headers, u64::MAX) == 0
            {
                FollowUp::Repeat
            } else {
                FollowUp::Final
            }
        }
        StatusCode::MISDIRECTED_REQUEST => {
            if exchange
                .connection
                .is_some_and(ConnectionInfo::is_coalesced)
            {
                FollowUp::RepeatOnFreshConnection
            } else {
                FollowUp::Final
            }
        }
        _ => FollowUp::Final,
    };
    Ok(match follow_up {
        FollowUp::Final => FollowUp::Final,
        _ if !exchange.body_replayable => FollowUp::Final,
        follow_up => follow_up,
    })
}

/// The delay `Retry-After` asks for, in seconds (OkHttp's `retryAfter`): `default` without the
/// header; its value when it is all ASCII digits (saturating); `u64::MAX` for anything else,
/// an HTTP-date included. The last `Retry-After` counts.
pub(crate) fn retry_after(headers: &HeaderMap, default: u64) -> u64 {
    let Some(value) = headers.get_all(RETRY_AFTER).iter().next_back() else {
        return default;
    };
    let digits = value.as_bytes();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return u64::MAX;
    }
    digits.iter().fold(0u64, |seconds, digit| {
        seconds
            .saturating_mul(10)
            .saturating_add(u64::from(digit - b'0'))
    })
}

#[cfg(test)]
mod tests;
