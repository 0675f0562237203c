//! Socket faults a [`MockResponse`](crate::MockResponse) can script.

/// An HTTP/2 error code, as sent in `RST_STREAM` and `GOAWAY` frames.
pub use h2::Reason as Http2ErrorCode;

/// A fault the server commits while serving one response. Each is a real socket (or HTTP/2
/// frame) action, not a simulated error.
///
/// Faults marked *connection* are decided when a connection is accepted, from the response at
/// the head of the queue ([`Dispatcher::peek`](crate::Dispatcher::peek)); that response is then
/// consumed and a request with a [`failure`](crate::RecordedRequest::failure) is recorded. On
/// HTTP/2, a connection fault that comes up for a later stream of an open connection has no
/// effect: that stream is answered normally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// *Connection*: close the socket as soon as it is accepted, before reading anything (for
    /// TLS, before the handshake).
    DisconnectAtStart,
    /// *Connection*: accept the socket and never read from it or write to it.
    StallAtStart,
    /// *Connection*: fail the TLS handshake (the server sends a `handshake_failure` alert and
    /// closes). Without TLS, behaves like [`Fault::DisconnectAtStart`].
    FailHandshake,
    /// Read the request head and at most `after_bytes` of its body, then close the socket
    /// (HTTP/2: reset the stream with `CANCEL`; a request whose HEADERS frame ended the stream
    /// has no body to cut, so it is recorded as complete before its stream is reset).
    DisconnectDuringRequestBody {
        /// How many request body bytes to read before closing.
        after_bytes: usize,
    },
    /// Read the whole request, then close the socket without answering (HTTP/2: reset the stream
    /// with `CANCEL` instead of closing the connection).
    DisconnectAfterRequest,
    /// Send the response head and `after_bytes` bytes of the body, then close the socket
    /// (HTTP/2: close the whole connection without `GOAWAY`, once those bytes are written; every
    /// other stream on it fails too).
    DisconnectDuringResponseBody {
        /// How many body bytes to send before closing.
        after_bytes: usize,
    },
    /// Read the whole request and never answer, keeping the socket open.
    NoResponse,
    /// HTTP/2: reset the stream with the given error code instead of answering. On HTTP/1.1 the
    /// socket is closed instead.
    ResetStream(Http2ErrorCode),
}

impl Fault {
    /// Whether the fault acts at connection accept, before any request is read.
    pub fn is_connection_fault(self) -> bool {
        matches!(
            self,
            Fault::DisconnectAtStart | Fault::StallAtStart | Fault::FailHandshake
        )
    }
}

/// What happens to the connection after a response has been sent in full.
///
/// On HTTP/2 the socket is shared by every stream, so [`Close`](Self::Close),
/// [`ShutdownInput`](Self::ShutdownInput) and [`ShutdownOutput`](Self::ShutdownOutput) all
/// send `GOAWAY` after the response; the server then refuses new streams (`REFUSED_STREAM`) and
/// closes the connection once the streams in flight are done.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AfterResponse {
    /// Keep the connection open for the next request (HTTP/1.1 keep-alive, HTTP/2 as usual).
    #[default]
    KeepOpen,
    /// Close the connection: HTTP/1.1 adds no `Connection: close` on its own but closes the
    /// socket; HTTP/2 sends `GOAWAY` and closes after in-flight streams end.
    Close,
    /// Shut down the socket's read side (the client sees nothing; the server stops reading).
    ShutdownInput,
    /// Shut down the socket's write side (the client reads EOF after the response).
    ShutdownOutput,
}

/// How the server treats a request carrying `Expect: 100-continue`.
///
/// On HTTP/2, `100 Continue` is an informational HEADERS frame, answering without reading the
/// body ends the request side of the stream with `RST_STREAM(NO_ERROR)` (the connection stays
/// open), and never responding leaves the stream open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExpectContinue {
    /// Send `100 Continue`, then read the body and answer.
    #[default]
    Continue,
    /// Answer with the final response at once without reading the body; the connection is then
    /// closed, since the unread body cannot be skipped reliably.
    RespondWithoutReadingBody,
    /// Never answer: neither `100 Continue` nor a final response. The socket stays open.
    NeverRespond,
}
