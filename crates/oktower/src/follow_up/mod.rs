//! The follow-up layer: OkHttp's `RetryAndFollowUpInterceptor` as a tower layer.
//!
//! [`FollowUpLayer`] wraps any service of `http::Request<B>` to `http::Response<RB>` with
//! [`Error`](crate::Error) as its error, the way tower-http's layers wrap any HTTP client.
//! [`FollowUp`] then runs a call as OkHttp 5.4 does:
//!
//! - **Recovery.** After a failure it sends the request again when
//!   `retry_on_connection_failure` is on, the body can be sent again, the failure is not a
//!   protocol, TLS or cancellation error nor a timeout after the request went out, the failure
//!   happened on an exchange (failures while connecting are the connect layer's, which has
//!   tried every route), and fewer than 20 failures were recovered from. The final error
//!   carries the failures recovered from ([`Error::recovered`](crate::Error::recovered)).
//! - **Follow-ups.** Redirects (300–303, 307, 308) with OkHttp's method and body rules,
//!   `401` to the [`Authenticator`], `407` from an HTTP proxy to the
//!   [`ProxyAuthenticator`](crate::ProxyAuthenticator), `408` once, `503` once when
//!   `Retry-After: 0`, and `421` on a coalesced HTTP/2 connection once the connection is taken
//!   out of coalescing. At most [`MAX_FOLLOW_UPS`] follow-ups: the next one fails the call with
//!   a protocol error, "Too many follow-up requests: 21".
//! - **Credentials.** Beyond OkHttp, a redirect to another origin drops `Authorization`,
//!   `Cookie` and `Proxy-Authorization` (an option keeps `Authorization` on a same-host
//!   upgrade from `http` to `https`).
//! - **No-follows.** A redirect without a usable `Location` (missing, not a URL, not `http` or
//!   `https`), one that switches scheme while `follow_ssl_redirects` is off, and any follow-up
//!   that would send a body that cannot be replayed ([`ReplayBody`]) are not followed: the
//!   response that asked for them is the call's response.
//!
//! Intermediate response bodies are read off (up to 64 KiB, for at most 100 ms, so that their
//! connection can carry the next request, as OkHttp does) and dropped before the next request
//! is sent;
//! their heads stay reachable from the final response as a [`PriorResponse`] chain. The call's
//! [`CallContext`](crate::CallContext), when the request carries one, hears
//! `retry_decision` and `follow_up_decision` events and stops the loop when canceled.
//!
//! ```
//! use bytes::Bytes;
//! use http_body_util::Full;
//! use oktower::{BearerAuthenticator, Error, FollowUpLayer};
//! use tower::{Layer, Service, ServiceExt};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! // A server that wants a token.
//! let server = tower::service_fn(|request: http::Request<Full<Bytes>>| async move {
//!     let status = match request.headers().get("authorization") {
//!         Some(token) if token == "Bearer s3cret" => 200,
//!         _ => 401,
//!     };
//!     Ok::<_, Error>(http::Response::builder().status(status).body(Full::<Bytes>::default()).unwrap())
//! });
//! let mut client = FollowUpLayer::new()
//!     .authenticator(BearerAuthenticator::new("s3cret"))
//!     .layer(server);
//! let request = http::Request::get("https://api.test/me").body(Full::default()).unwrap();
//! let response = client.ready().await.unwrap().call(request).await.unwrap();
//! assert_eq!(response.status(), 200);
//! # });
//! ```

mod auth_future;
mod authenticator;
mod basic_auth;
mod bearer_auth;
mod challenge;
mod decision;
mod future;
mod layer;
mod prior_response;
mod progress;
mod recover;
mod redirect;
mod replay;
mod service;
#[cfg(test)]
mod tests;

pub use auth_future::AuthFuture;
pub use authenticator::{AuthContext, Authenticator, NoAuthenticator};
pub use basic_auth::BasicAuthenticator;
pub use bearer_auth::{BearerAuthenticator, TokenProvider};
pub use challenge::Challenge;
pub use future::ResponseFuture;
pub use layer::FollowUpLayer;
pub use prior_response::{FinalUri, PriorResponse};
pub use replay::ReplayBody;
pub use service::FollowUp;

/// How many follow-up requests (redirects, authentication retries, 408, 421 and 503 retries) a
/// call makes at most, as in OkHttp (Chrome follows 21 redirects, Firefox, curl and wget 20).
pub const MAX_FOLLOW_UPS: usize = 20;
