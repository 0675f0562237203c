//! One exchange as an HTTP/2 stream, sent with `h2` directly: the request head, its body
//! pumped by a task of its own (as hyper does), the informational responses (`100 Continue`
//! opens a held-back body; 102 and 103 go to the listener) and the final response head.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use h2::client::ResponseFuture;
use h2::{Reason, SendStream};
use http::header::{CONNECTION, CONTENT_LENGTH, TE, TRANSFER_ENCODING, UPGRADE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body as _;
use tokio::task::AbortHandle;

use super::h2_body::H2Incoming;
use super::wire_incoming::WireIncoming;
use crate::EventListener;
use crate::call_context::CallEvents;
use crate::connection::http_conn::H2Sender;
use crate::connection::wire_body::{BodyTracker, WireBody};
use crate::head_names;

/// What an exchange does with the informational responses of its stream.
pub(super) struct Interim {
    /// Opened by `100 Continue` (a request that expects it).
    pub(super) tracker: Option<Arc<BodyTracker>>,
    /// Told of the others (a listener that hears them).
    pub(super) listener: Option<CallEvents>,
}

impl Interim {
    fn heard(&self, head: &Response<()>) {
        if head.status() == StatusCode::CONTINUE {
            if let Some(tracker) = &self.tracker {
                tracker.open_gate();
            }
        } else if let Some(listener) = &self.listener {
            listener.informational_response(head.status(), head.headers());
        }
    }
}

/// A request sent as a stream, until its response head.
pub(super) struct H2Sending {
    /// The stream's response, or why the request could not be sent.
    response: Result<ResponseFuture, Option<h2::Error>>,
    interim: Option<Box<Interim>>,
    /// The task sending the request body, if it has one.
    pump: Option<PumpGuard>,
}

/// Opens a stream on `sender` (which the caller found ready) for `request`, and starts
/// sending its body.
pub(super) fn send(
    sender: &mut H2Sender,
    request: Request<WireBody>,
    interim: Option<Box<Interim>>,
) -> H2Sending {
    let (mut parts, body) = request.into_parts();
    strip_connection_headers(&mut parts.headers);
    if let Some(length) = body.size_hint().exact()
        && (length != 0 || has_defined_payload(&parts.method))
        && !parts.headers.contains_key(CONTENT_LENGTH)
    {
        parts
            .headers
            .insert(CONTENT_LENGTH, HeaderValue::from(length));
    }
    if let Some(protocol) = parts.extensions.remove::<hyper::ext::Protocol>() {
        parts
            .extensions
            .insert(h2::ext::Protocol::from(protocol.as_str()));
    }
    let end_of_stream = body.is_end_stream();
    let head = Request::from_parts(parts, ());
    let (response, pump) = match sender.send_request(head, end_of_stream) {
        Ok((response, stream)) => {
            let pump = (!end_of_stream).then(|| {
                let task = tokio::spawn(pump(body, stream));
                PumpGuard(task.abort_handle())
            });
            (Ok(response), pump)
        }
        Err(error) => (Err(Some(error)), None),
    };
    H2Sending {
        response,
        interim,
        pump,
    }
}

impl Future for H2Sending {
    type Output = Result<Response<WireIncoming>, h2::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let response = match &mut this.response {
            Ok(response) => response,
            Err(error) => {
                // Polled again after it ended: stay pending rather than panic.
                return match error.take() {
                    Some(error) => Poll::Ready(Err(error)),
                    None => Poll::Pending,
                };
            }
        };
        if let Some(interim) = &this.interim {
            // Informational heads come before the final one; a stream error shows there too.
            while let Poll::Ready(Some(Ok(head))) = response.poll_informational(cx) {
                interim.heard(&head);
            }
        }
        let head = ready!(Pin::new(response).poll(cx))?;
        let (parts, recv) = head.into_parts();
        let body = H2Incoming::new(recv, &parts.headers, this.pump.take());
        Poll::Ready(Ok(Response::from_parts(parts, WireIncoming::Http2(body))))
    }
}

/// Ends the request body's task when the exchange no longer needs it (the call was dropped,
/// or its response ended): the stream is then reset, unless it ended already.
pub(super) struct PumpGuard(AbortHandle);

impl Drop for PumpGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Sends `body` on `stream`, as the peer's flow control allows, until its end, a failure, or
/// a reset of the stream by the peer (which may answer without reading the body).
async fn pump(mut body: WireBody, mut stream: SendStream<Bytes>) {
    poll_fn(|cx| poll_pump(&mut body, &mut stream, cx)).await;
}

fn poll_pump(
    body: &mut WireBody,
    stream: &mut SendStream<Bytes>,
    cx: &mut Context<'_>,
) -> Poll<()> {
    loop {
        // Room for at least one byte before the body is asked for more: h2 buffers what
        // exceeds the peer's window, and this keeps that buffer from growing unbounded.
        stream.reserve_capacity(1);
        if stream.capacity() == 0 {
            loop {
                match ready!(stream.poll_capacity(cx)) {
                    Some(Ok(0)) => {}
                    Some(Ok(_)) => break,
                    Some(Err(_)) | None => return Poll::Ready(()),
                }
            }
        } else if stream.poll_reset(cx).is_ready() {
            return Poll::Ready(());
        }
        match ready!(Pin::new(&mut *body).poll_frame(cx)) {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    let end = body.is_end_stream();
                    if stream.send_data(data, end).is_err() || end {
                        return Poll::Ready(());
                    }
                }
                Err(frame) => {
                    if let Ok(trailers) = frame.into_trailers() {
                        let _ = stream.send_trailers(trailers);
                    }
                    return Poll::Ready(());
                }
            },
            Some(Err(_)) => {
                // A body held back for `100 Continue` that a final response made moot leaves
                // the stream as it is: its response is being read.
                if !body.is_abandoned() {
                    stream.send_reset(Reason::CANCEL);
                }
                return Poll::Ready(());
            }
            None => {
                let _ = stream.send_data(Bytes::new(), true);
                return Poll::Ready(());
            }
        }
    }
}

/// `keep-alive`, which `http` has no constant for.
static KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
/// `proxy-connection`, which `http` has no constant for.
static PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// Takes off the connection-specific headers HTTP/2 forbids (RFC 9113 §8.2.2), with the
/// headers a `Connection` header names, and a `TE` other than `trailers`; h2 would refuse the
/// request otherwise. Most requests have none of them: one pass over the names tells.
fn strip_connection_headers(headers: &mut HeaderMap) {
    let found = head_names::present(
        headers,
        [
            &CONNECTION,
            &TRANSFER_ENCODING,
            &UPGRADE,
            &KEEP_ALIVE,
            &PROXY_CONNECTION,
            &TE,
        ],
    );
    if !found.iter().any(|&found| found) {
        return;
    }
    if found[0]
        && let Some(connection) = headers.remove(CONNECTION)
        && let Ok(listed) = connection.to_str()
    {
        for name in listed.split(',') {
            if let Ok(name) = HeaderName::try_from(name.trim()) {
                headers.remove(name);
            }
        }
    }
    for name in [&TRANSFER_ENCODING, &UPGRADE, &KEEP_ALIVE, &PROXY_CONNECTION] {
        headers.remove(name);
    }
    if found[5]
        && headers
            .get_all(TE)
            .iter()
            .any(|value| !value.as_bytes().eq_ignore_ascii_case(b"trailers"))
    {
        headers.remove(TE);
    }
}

/// Whether a request with `method` has a meaning for its body, so that an empty one is
/// announced with `Content-Length: 0` (RFC 9110 §8.6).
fn has_defined_payload(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::DELETE | Method::CONNECT
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_specific_headers_are_taken_off() {
        let mut headers = HeaderMap::new();
        headers.insert(CONNECTION, HeaderValue::from_static("x-hop, Keep-Alive"));
        headers.insert("x-hop", HeaderValue::from_static("1"));
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.insert(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert("proxy-connection", HeaderValue::from_static("close"));
        headers.insert(TE, HeaderValue::from_static("gzip"));
        headers.insert("accept", HeaderValue::from_static("*/*"));
        strip_connection_headers(&mut headers);
        let names: Vec<_> = headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["accept"]);
    }

    #[test]
    fn te_trailers_and_ordinary_headers_stay() {
        let mut headers = HeaderMap::new();
        headers.insert(TE, HeaderValue::from_static("Trailers"));
        headers.insert("accept", HeaderValue::from_static("*/*"));
        strip_connection_headers(&mut headers);
        assert_eq!(headers.len(), 2);
        let mut plain = HeaderMap::new();
        plain.insert("accept", HeaderValue::from_static("*/*"));
        strip_connection_headers(&mut plain);
        assert_eq!(plain.len(), 1);
    }

    #[test]
    fn only_methods_with_payload_semantics_announce_an_empty_body() {
        assert!(has_defined_payload(&Method::POST));
        assert!(has_defined_payload(&Method::PUT));
        assert!(!has_defined_payload(&Method::GET));
        assert!(!has_defined_payload(&Method::HEAD));
    }
}
