//! The request the two hyper-based clients send: `GET` with the headers a scenario needs
//! (`Accept-Encoding: gzip` for S5, `Connection: close` for S6). oktower and reqwest add the
//! same headers themselves (their transparent gzip) or through their request builders.

use bytes::Bytes;
use http::{Request, Uri, header};
use http_body_util::Empty;

use super::super::scenario::{BodyMode, Scenario};
use crate::BoxError;

/// `GET uri` with the scenario's headers; `host`, when given, becomes the `Host` header (raw
/// HTTP/1.1 requests carry an origin-form target).
pub fn hyper_request(
    scenario: Scenario,
    uri: Uri,
    host: Option<&http::HeaderValue>,
) -> Result<Request<Empty<Bytes>>, BoxError> {
    let mut builder = Request::get(uri);
    if let Some(host) = host {
        builder = builder.header(header::HOST, host.clone());
    }
    if scenario.body_mode() == BodyMode::Gunzip {
        builder = builder.header(header::ACCEPT_ENCODING, "gzip");
    }
    if scenario.closes_connections() {
        builder = builder.header(header::CONNECTION, "close");
    }
    Ok(builder.body(Empty::new())?)
}
