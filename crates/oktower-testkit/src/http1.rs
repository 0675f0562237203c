//! HTTP/1.1 serving, written by hand so that the server can send malformed responses and commit
//! faults at exact byte positions.

use std::io::{self, Write as _};

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderName, HeaderValue, Version};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::connection::{Connection, Stream};
use crate::fault::{AfterResponse, ExpectContinue, Fault};
use crate::mock_response::{HeaderLine, ResponseBody, ResponseSpec};
use crate::{MockResponse, RecordedRequest};

/// The largest request head (request line and headers) the server reads.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// The most request headers the server parses.
const MAX_HEADERS: usize = 256;
/// Bodies up to this size are copied next to the head and sent in one write.
const COALESCE_BODY_BYTES: usize = 16 * 1024;

/// Serves HTTP/1.1 on `stream` until the connection ends.
pub(crate) async fn serve(connection: Connection, stream: Stream) -> io::Result<()> {
    Http1 {
        connection,
        stream,
        input: BytesMut::with_capacity(8 * 1024),
        output: Vec::with_capacity(1024),
    }
    .run()
    .await
}

struct Http1 {
    connection: Connection,
    stream: Stream,
    input: BytesMut,
    output: Vec<u8>,
}

/// A parsed request line and headers.
struct RequestHead {
    method: String,
    target: String,
    version: Version,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl RequestHead {
    fn header(&self, name: &str) -> Option<&HeaderValue> {
        self.headers
            .iter()
            .rev()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, v)| v)
    }

    fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.as_str() == name)
            .filter_map(|(_, v)| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// Whether the client asks for the connection to end after this exchange.
    fn wants_close(&self) -> bool {
        if self.version == Version::HTTP_10 {
            !self.has_token("connection", "keep-alive")
        } else {
            self.has_token("connection", "close")
        }
    }
}

/// How the request body is framed.
enum BodyFraming {
    Length(u64),
    Chunked,
}

/// Why serving stopped reading a request.
enum HeadOutcome {
    Head(RequestHead),
    /// The client closed the connection between requests.
    Closed,
    /// The request could not be parsed; the status to answer with and why.
    Malformed(u16, String, RecordedRequest),
}

/// What to do with the connection after an exchange.
enum Next {
    KeepAlive,
    Close,
    /// A `CONNECT` was answered with 200: serve the tunnel.
    Tunnel,
}

impl Http1 {
    async fn run(mut self) -> io::Result<()> {
        loop {
            let head = match self.read_head().await? {
                HeadOutcome::Head(head) => head,
                HeadOutcome::Closed => return Ok(()),
                HeadOutcome::Malformed(status, reason, request) => {
                    self.connection.shared.record(request);
                    let response = MockResponse::new()
                        .status(status)
                        .header("Connection", "close")
                        .body(reason);
                    self.write_response(response.spec(), false).await?;
                    self.lingering_close().await;
                    return Ok(());
                }
            };
            match self.exchange(head).await? {
                Next::KeepAlive => {}
                Next::Close => {
                    let _ = self.stream.shutdown().await;
                    return Ok(());
                }
                Next::Tunnel => return self.serve_tunnel().await,
            }
        }
    }

    /// Serves a tunnel opened by `CONNECT`: TLS inside it when the server has TLS settings
    /// (HTTP/2 by ALPN, else HTTP/1.1), cleartext HTTP/1.1 otherwise.
    async fn serve_tunnel(self) -> io::Result<()> {
        let Http1 {
            mut connection,
            stream,
            input,
            output,
        } = self;
        connection.in_tunnel = true;
        let Some(tls_config) = connection.shared.tls_config.clone() else {
            return Box::pin(
                Http1 {
                    connection,
                    stream,
                    input,
                    output,
                }
                .run(),
            )
            .await;
        };
        if !input.is_empty() {
            // The client sent tunnel bytes before reading the 200; they cannot be handed to TLS.
            return Ok(());
        }
        let (tls, sni, alpn) = stream.accept_tls(tls_config).await?;
        connection.sni = sni;
        connection.tls = true;
        if alpn.as_deref() == Some(b"h2") {
            return crate::http2::serve(connection, tls).await;
        }
        Box::pin(
            Http1 {
                connection,
                stream: tls,
                input,
                output,
            }
            .run(),
        )
        .await
    }

    async fn fill(&mut self) -> io::Result<usize> {
        if self.input.capacity() - self.input.len() < 1024 {
            self.input.reserve(8 * 1024);
        }
        self.stream.read_buf(&mut self.input).await
    }

    async fn read_head(&mut self) -> io::Result<HeadOutcome> {
        loop {
            if !self.input.is_empty() {
                let parsed = parse_head(&self.input);
                let head_len = match &parsed {
                    Ok(Some((_, consumed))) => *consumed,
                    _ => self.input.len(),
                };
                if parsed.is_ok() && head_len > MAX_HEAD_BYTES {
                    let failure = format!("request head exceeds {MAX_HEAD_BYTES} bytes");
                    return Ok(self.malformed(431, failure));
                }
                match parsed {
                    Ok(Some((head, consumed))) => {
                        self.input.advance(consumed);
                        return Ok(HeadOutcome::Head(head));
                    }
                    Ok(None) => {}
                    Err((status, failure)) => return Ok(self.malformed(status, failure)),
                }
            }
            if self.fill().await? == 0 {
                if self.input.is_empty() {
                    return Ok(HeadOutcome::Closed);
                }
                let failure = "connection closed in the middle of the request head".to_owned();
                return Ok(self.malformed(400, failure));
            }
        }
    }

    fn malformed(&mut self, status: u16, failure: String) -> HeadOutcome {
        let mut request = self.connection.next_request();
        request.failure = Some(failure.clone());
        // Keep what can be told of the request line, for the test's benefit.
        if let Some(line) = self.input[..].split(|&b| b == b'\n').next() {
            let line = String::from_utf8_lossy(line);
            let mut parts = line.trim_end().splitn(3, ' ');
            request.method = parts.next().unwrap_or_default().to_owned();
            request.target = parts.next().unwrap_or_default().to_owned();
        }
        self.input.clear();
        HeadOutcome::Malformed(status, failure, request)
    }

    async fn exchange(&mut self, head: RequestHead) -> io::Result<Next> {
        let mut request = self.connection.next_request();
        let framing = match body_framing(&head) {
            Ok(framing) => framing,
            Err(failure) => {
                request.method = head.method;
                request.target = head.target;
                request.failure = Some(failure.clone());
                self.connection.shared.record(request);
                let response = MockResponse::new()
                    .status(400)
                    .header("Connection", "close")
                    .body(failure);
                self.write_response(response.spec(), false).await?;
                return Ok(Next::Close);
            }
        };
        let close_requested = head.wants_close();
        let is_head = head.method == "HEAD";
        let expects_continue =
            head.version == Version::HTTP_11 && head.has_token("expect", "100-continue");

        let proxy = match &self.connection.shared.config.proxy {
            Some(proxy) if !self.connection.in_tunnel => Some(proxy),
            _ => None,
        };
        if let Some(proxy) = proxy {
            let authorized = proxy.authorizes(
                head.headers
                    .iter()
                    .filter(|(n, _)| n == http::header::PROXY_AUTHORIZATION)
                    .map(|(_, v)| v.as_bytes()),
            );
            let is_connect = head.method == "CONNECT";
            if !authorized {
                let (challenge, close) = match &proxy.auth {
                    Some(auth) => (auth.challenge.clone(), proxy.close_on_auth_failure),
                    None => (Bytes::new(), false),
                };
                fill_request(&mut request, head);
                self.read_body(&mut request, framing, None).await?;
                self.connection.shared.record(request);
                let mut response = MockResponse::new()
                    .status(407)
                    .header("Proxy-Authenticate", challenge);
                if close {
                    response = response.header("Connection", "close");
                }
                self.write_response(response.spec(), false).await?;
                return Ok(if close || close_requested {
                    Next::Close
                } else {
                    Next::KeepAlive
                });
            }
            if is_connect {
                fill_request(&mut request, head);
                self.connection.shared.record(request);
                self.stream
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await?;
                self.stream.flush().await?;
                return Ok(Next::Tunnel);
            }
        }

        fill_request(&mut request, head);
        // Only a request with a body (or an expectation) has a body phase to script; a plain
        // GET skips the dispatcher lookup.
        let has_body = !matches!(framing, BodyFraming::Length(0));
        let upcoming = if has_body || expects_continue {
            self.connection.shared.peek()
        } else {
            None
        };
        let upcoming = upcoming.as_ref().map(MockResponse::spec);

        if let Some(Fault::DisconnectDuringRequestBody { after_bytes }) =
            upcoming.and_then(|spec| spec.fault)
        {
            self.read_body(&mut request, framing, Some(after_bytes as u64))
                .await?;
            request.failure = Some(format!(
                "disconnected during the request body after {} bytes (scripted)",
                request.body_size
            ));
            let _ = self.connection.shared.dispatch(request);
            return Ok(Next::Close);
        }

        let mut body_unread = false;
        if expects_continue {
            match upcoming.map_or(ExpectContinue::Continue, |spec| spec.expect_continue) {
                ExpectContinue::Continue => {
                    self.stream
                        .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                        .await?;
                    self.stream.flush().await?;
                    self.read_body(&mut request, framing, None).await?;
                }
                ExpectContinue::RespondWithoutReadingBody => body_unread = true,
                ExpectContinue::NeverRespond => {
                    let _ = self.connection.shared.dispatch(request);
                    self.hold_until_client_closes().await;
                    return Ok(Next::Close);
                }
            }
        } else {
            self.read_body(&mut request, framing, None).await?;
        }

        let response = self.connection.shared.dispatch(request);
        let spec = response.spec();
        match spec.fault {
            // A bodiless request has no body phase: its DisconnectDuringRequestBody closes here.
            Some(
                Fault::DisconnectAfterRequest
                | Fault::ResetStream(_)
                | Fault::DisconnectDuringRequestBody { .. },
            ) => return Ok(Next::Close),
            Some(Fault::NoResponse) => {
                self.hold_until_client_closes().await;
                return Ok(Next::Close);
            }
            _ => {}
        }
        if !self.write_response(spec, is_head).await? {
            return Ok(Next::Close);
        }
        let close_delimited = matches!(spec.body, ResponseBody::CloseDelimited(_)) && !is_head;
        match spec.after_response {
            AfterResponse::Close => Ok(Next::Close),
            AfterResponse::ShutdownOutput => {
                self.stream.shutdown().await?;
                self.hold_until_client_closes().await;
                Ok(Next::Close)
            }
            AfterResponse::ShutdownInput => {
                self.stream.shutdown_read()?;
                // The server no longer reads: later requests on this connection go unanswered
                // until the server shuts down.
                std::future::pending::<()>().await;
                Ok(Next::Close)
            }
            AfterResponse::KeepOpen if close_requested || close_delimited || body_unread => {
                Ok(Next::Close)
            }
            AfterResponse::KeepOpen => Ok(Next::KeepAlive),
        }
    }

    /// Reads the request body into `request`, stopping after `limit` bytes if given.
    async fn read_body(
        &mut self,
        request: &mut RecordedRequest,
        framing: BodyFraming,
        limit: Option<u64>,
    ) -> io::Result<()> {
        let body_limit = self.connection.shared.config.body_limit;
        let mut body = BodySink::new(body_limit);
        let result = match framing {
            BodyFraming::Length(length) => {
                let wanted = limit.map_or(length, |limit| limit.min(length));
                self.read_exact_into(wanted, &mut body).await
            }
            BodyFraming::Chunked => self.read_chunked(request, &mut body, limit).await,
        };
        request.body_size = body.size;
        request.body = body.finish();
        if let Err(failure) = result {
            request.failure = Some(failure);
        }
        Ok(())
    }

    async fn read_exact_into(
        &mut self,
        mut remaining: u64,
        body: &mut BodySink,
    ) -> Result<(), String> {
        while remaining > 0 {
            if self.input.is_empty() && self.fill_or_fail().await? == 0 {
                return Err(format!(
                    "connection closed with {remaining} request body bytes still expected"
                ));
            }
            let take = remaining.min(self.input.len() as u64) as usize;
            body.push(self.input.split_to(take).freeze());
            remaining -= take as u64;
        }
        Ok(())
    }

    async fn fill_or_fail(&mut self) -> Result<usize, String> {
        self.fill()
            .await
            .map_err(|error| format!("reading the request body failed: {error}"))
    }

    async fn read_line(&mut self) -> Result<Bytes, String> {
        loop {
            if let Some(end) = self.input.iter().position(|&b| b == b'\n') {
                let line = self.input.split_to(end + 1).freeze();
                return Ok(line);
            }
            if self.input.len() > MAX_HEAD_BYTES {
                return Err("chunk header line too long".to_owned());
            }
            if self.fill_or_fail().await? == 0 {
                return Err("connection closed in the middle of a chunked request body".to_owned());
            }
        }
    }

    async fn read_chunked(
        &mut self,
        request: &mut RecordedRequest,
        body: &mut BodySink,
        limit: Option<u64>,
    ) -> Result<(), String> {
        loop {
            let line = self.read_line().await?;
            let size = match httparse::parse_chunk_size(&line) {
                Ok(httparse::Status::Complete((_, size))) => size,
                _ => {
                    return Err(format!(
                        "malformed chunk size line {:?}",
                        String::from_utf8_lossy(&line).trim_end()
                    ));
                }
            };
            if size == 0 {
                break;
            }
            let wanted = match limit {
                Some(limit) => size.min(limit.saturating_sub(body.size)),
                None => size,
            };
            request.chunk_sizes.push(size as usize);
            self.read_exact_into(wanted, body).await?;
            if wanted < size {
                return Ok(());
            }
            let crlf = self.read_line().await?;
            if crlf.as_ref() != b"\r\n" && crlf.as_ref() != b"\n" {
                return Err("chunk data not followed by CRLF".to_owned());
            }
        }
        // Trailers, up to the empty line.
        loop {
            let line = self.read_line().await?;
            let line = trim_line(&line);
            if line.is_empty() {
                return Ok(());
            }
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                return Err("malformed trailer line".to_owned());
            };
            let name = HeaderName::from_bytes(&line[..colon])
                .map_err(|_| "malformed trailer name".to_owned())?;
            let value = HeaderValue::from_bytes(trim_ows(&line[colon + 1..]))
                .map_err(|_| "malformed trailer value".to_owned())?;
            request.trailers.push((name, value));
        }
    }

    /// Closes the write side, then reads and discards what the client still sends for a while,
    /// so that the client reads the error response instead of a connection reset.
    async fn lingering_close(&mut self) {
        let _ = self.stream.shutdown().await;
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            self.hold_until_client_closes(),
        )
        .await;
    }

    /// Keeps the connection open without answering, until the client closes it.
    async fn hold_until_client_closes(&mut self) {
        let mut discard = [0u8; 4096];
        while matches!(self.stream.read(&mut discard).await, Ok(n) if n > 0) {}
    }

    /// Writes the informational responses, head and body of `spec`. Returns `false` when a
    /// scripted fault cut the response short.
    async fn write_response(&mut self, spec: &ResponseSpec, is_head: bool) -> io::Result<bool> {
        for informational in &spec.informational {
            self.output.clear();
            let reason = http::StatusCode::from_u16(informational.status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("");
            let _ = write!(
                self.output,
                "HTTP/1.1 {} {reason}\r\n",
                informational.status
            );
            for (name, value) in &informational.headers {
                push_header(&mut self.output, name.as_bytes(), value);
            }
            self.output.extend_from_slice(b"\r\n");
            self.stream.write_all(&self.output).await?;
            self.stream.flush().await?;
        }
        if !spec.headers_delay.is_zero() {
            tokio::time::sleep(spec.headers_delay).await;
        }

        self.output.clear();
        let _ = write!(
            self.output,
            "HTTP/1.1 {} {}\r\n",
            spec.status,
            spec.reason_phrase()
        );
        for line in &spec.headers {
            match line {
                HeaderLine::Field(name, value) => {
                    push_header(&mut self.output, name.as_bytes(), value)
                }
                HeaderLine::Raw(raw) => {
                    self.output.extend_from_slice(raw);
                    self.output.extend_from_slice(b"\r\n");
                }
            }
        }
        let bodyless_status = matches!(spec.status, 100..=199 | 204 | 304);
        let wire_body = match &spec.body {
            ResponseBody::Fixed(data) => {
                if !bodyless_status
                    && !spec.has_header("content-length")
                    && !spec.has_header("transfer-encoding")
                {
                    let _ = write!(self.output, "Content-Length: {}\r\n", data.len());
                }
                data.clone()
            }
            ResponseBody::Chunked { data, chunk_sizes } => {
                if !spec.has_header("transfer-encoding") {
                    self.output
                        .extend_from_slice(b"Transfer-Encoding: chunked\r\n");
                }
                encode_chunked(data, chunk_sizes, &spec.trailers)
            }
            ResponseBody::CloseDelimited(data) => data.clone(),
        };
        self.output.extend_from_slice(b"\r\n");
        let wire_body = if is_head || bodyless_status {
            Bytes::new()
        } else {
            wire_body
        };

        let cut = match spec.fault {
            Some(Fault::DisconnectDuringResponseBody { after_bytes }) => Some(after_bytes),
            _ => None,
        };
        let plain = spec.body_delay.is_zero() && spec.throttle.is_none() && cut.is_none();
        if plain && wire_body.len() <= COALESCE_BODY_BYTES {
            self.output.extend_from_slice(&wire_body);
            self.stream.write_all(&self.output).await?;
            self.stream.flush().await?;
            return Ok(true);
        }
        self.stream.write_all(&self.output).await?;
        self.stream.flush().await?;
        if !spec.body_delay.is_zero() {
            tokio::time::sleep(spec.body_delay).await;
        }
        let (to_send, complete) = match cut {
            Some(after) if after < wire_body.len() => (wire_body.slice(..after), false),
            _ => (wire_body, true),
        };
        match spec.throttle {
            Some(throttle) => {
                let mut pieces = to_send.chunks(throttle.bytes).peekable();
                while let Some(piece) = pieces.next() {
                    self.stream.write_all(piece).await?;
                    self.stream.flush().await?;
                    if pieces.peek().is_some() {
                        tokio::time::sleep(throttle.period).await;
                    }
                }
            }
            None => {
                self.stream.write_all(&to_send).await?;
                self.stream.flush().await?;
            }
        }
        Ok(complete)
    }
}

/// Where request body bytes go: kept up to the body limit, counted past it.
struct BodySink {
    limit: usize,
    size: u64,
    first: Option<Bytes>,
    rest: BytesMut,
}

impl BodySink {
    fn new(limit: usize) -> Self {
        BodySink {
            limit,
            size: 0,
            first: None,
            rest: BytesMut::new(),
        }
    }

    fn push(&mut self, mut piece: Bytes) {
        let kept = (self.size.min(self.limit as u64)) as usize;
        self.size += piece.len() as u64;
        let room = self.limit - kept;
        piece.truncate(room);
        if piece.is_empty() {
            return;
        }
        match self.first.take() {
            // The common case, a body read in one piece, keeps that piece without copying.
            None if self.rest.is_empty() => self.first = Some(piece),
            first => {
                if let Some(first) = first {
                    self.rest.extend_from_slice(&first);
                }
                self.rest.extend_from_slice(&piece);
            }
        }
    }

    fn finish(self) -> Bytes {
        match self.first {
            Some(first) => first,
            None => self.rest.freeze(),
        }
    }
}

fn fill_request(request: &mut RecordedRequest, head: RequestHead) {
    request.method = head.method;
    request.target = head.target;
    request.version = head.version;
    request.headers = head.headers;
}

/// Parses a request head at the start of `input`; `Ok(None)` when more bytes are needed, or
/// the status to answer with and why the head is refused.
fn parse_head(input: &[u8]) -> Result<Option<(RequestHead, usize)>, (u16, String)> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut slots);
    let consumed = match parsed.parse(input) {
        Ok(httparse::Status::Complete(consumed)) => consumed,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err((431, format!("more than {MAX_HEADERS} request headers")));
        }
        Err(error) => return Err((400, format!("malformed request head: {error}"))),
    };
    let version = match parsed.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let mut headers = Vec::with_capacity(parsed.headers.len());
    for header in parsed.headers.iter() {
        let name = HeaderName::from_bytes(header.name.as_bytes())
            .map_err(|_| (400, format!("malformed header name {:?}", header.name)))?;
        let value = HeaderValue::from_bytes(header.value)
            .map_err(|_| (400, format!("malformed value for header {:?}", header.name)))?;
        headers.push((name, value));
    }
    let head = RequestHead {
        method: parsed.method.unwrap_or_default().to_owned(),
        target: parsed.path.unwrap_or_default().to_owned(),
        version,
        headers,
    };
    Ok(Some((head, consumed)))
}

fn body_framing(head: &RequestHead) -> Result<BodyFraming, String> {
    if let Some(encoding) = head.header("transfer-encoding") {
        let last = encoding
            .to_str()
            .ok()
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim);
        return match last {
            Some(last) if last.eq_ignore_ascii_case("chunked") => Ok(BodyFraming::Chunked),
            _ => Err("request Transfer-Encoding does not end with chunked".to_owned()),
        };
    }
    match head.header("content-length") {
        Some(length) => length
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(BodyFraming::Length)
            .ok_or_else(|| format!("malformed Content-Length {length:?}")),
        None => Ok(BodyFraming::Length(0)),
    }
}

fn push_header(output: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    output.extend_from_slice(name);
    output.extend_from_slice(b": ");
    output.extend_from_slice(value);
    output.extend_from_slice(b"\r\n");
}

/// The chunked encoding of `data` cut into `chunk_sizes` (the last size repeats), followed by
/// the last chunk and `trailers`.
fn encode_chunked(data: &Bytes, chunk_sizes: &[usize], trailers: &[(String, Bytes)]) -> Bytes {
    let mut wire = Vec::with_capacity(data.len() + 64);
    let mut rest = data.as_ref();
    let mut sizes = chunk_sizes.iter().copied().filter(|&size| size > 0);
    let mut size = sizes.next().unwrap_or(rest.len().max(1));
    while !rest.is_empty() {
        let take = size.min(rest.len());
        let _ = write!(wire, "{take:x}\r\n");
        wire.extend_from_slice(&rest[..take]);
        wire.extend_from_slice(b"\r\n");
        rest = &rest[take..];
        size = sizes.next().unwrap_or(size);
    }
    wire.extend_from_slice(b"0\r\n");
    for (name, value) in trailers {
        push_header(&mut wire, name.as_bytes(), value);
    }
    wire.extend_from_slice(b"\r\n");
    Bytes::from(wire)
}

fn trim_line(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn trim_ows(value: &[u8]) -> &[u8] {
    let start = value
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |end| end + 1);
    &value[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_encoding_uses_sizes_then_repeats_the_last() {
        let wire = encode_chunked(&Bytes::from_static(b"abcdefgh"), &[3, 2], &[]);
        assert_eq!(
            wire.as_ref(),
            b"3\r\nabc\r\n2\r\nde\r\n2\r\nfg\r\n1\r\nh\r\n0\r\n\r\n"
        );
    }

    #[test]
    fn chunked_encoding_sends_trailers() {
        let trailers = [("Checksum".to_owned(), Bytes::from_static(b"abc"))];
        let wire = encode_chunked(&Bytes::from_static(b"hi"), &[10], &trailers);
        assert_eq!(wire.as_ref(), b"2\r\nhi\r\n0\r\nChecksum: abc\r\n\r\n");
    }

    #[test]
    fn head_parsing_keeps_header_order_and_version() {
        let (head, consumed) =
            parse_head(b"POST /a?b HTTP/1.0\r\nB: 2\r\nA: 1\r\nB: 3\r\n\r\nbody")
                .unwrap()
                .unwrap();
        assert_eq!(consumed, 40);
        assert_eq!(head.method, "POST");
        assert_eq!(head.target, "/a?b");
        assert_eq!(head.version, Version::HTTP_10);
        let names: Vec<_> = head
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.to_str().unwrap()))
            .collect();
        assert_eq!(names, [("b", "2"), ("a", "1"), ("b", "3")]);
        assert!(head.wants_close());
    }

    #[test]
    fn head_parsing_reports_garbage() {
        assert!(parse_head(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n").is_err());
        assert!(
            parse_head(b"GET / HTTP/1.1\r\nHost: a\r\n")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn body_sink_keeps_up_to_the_limit_and_counts_the_rest() {
        let mut sink = BodySink::new(5);
        sink.push(Bytes::from_static(b"abc"));
        sink.push(Bytes::from_static(b"defg"));
        sink.push(Bytes::from_static(b"hij"));
        assert_eq!(sink.size, 10);
        assert_eq!(sink.finish().as_ref(), b"abcde");
    }
}
