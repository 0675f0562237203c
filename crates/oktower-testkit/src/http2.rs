//! HTTP/2 serving: one task per connection driving h2, one task per stream.
//!
//! The connection task accepts streams, hands each its [`RecordedRequest`] in accept order, and
//! runs it in a task of its own (in a [`JoinSet`], so dropping the connection drops its streams
//! and a panic in a stream resurfaces in the connection task). Stream tasks ask the connection
//! task for connection-wide actions (GOAWAY, abrupt close) through a channel.

use std::future::poll_fn;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::Instant;

use bytes::Bytes;
use h2::server::SendResponse;
use h2::{Reason, RecvStream, SendStream};
use http::header::{EXPECT, HOST};
use http::{HeaderValue, Method, Request, Response, StatusCode, Version};
use tokio::sync::mpsc;
use tokio::task::{JoinError, JoinSet};

use crate::connection::{Connection, Stream};
use crate::fault::{AfterResponse, ExpectContinue, Fault};
use crate::http2_body::{
    TrackedIo, append_header_pairs, informational_head, read_body, response_head, send_body,
    trailer_map,
};
use crate::mock_response::ResponseSpec;
use crate::server::ServerShared;
use crate::{MockResponse, RecordedRequest};

/// Flow-control windows the server announces, large enough that uploads rarely wait for
/// WINDOW_UPDATE round trips (capacity is released as the body is read).
const STREAM_WINDOW: u32 = 1 << 20;
const CONNECTION_WINDOW: u32 = 4 << 20;

type H2Connection = h2::server::Connection<TrackedIo, Bytes>;

/// What a stream task can ask of its connection.
enum Command {
    /// Send GOAWAY and close once the streams in flight are done.
    GoAway,
    /// Close the socket without GOAWAY once what has been queued so far is written.
    Disconnect,
}

/// What every stream task of one connection shares.
struct StreamContext {
    shared: Arc<ServerShared>,
    commands: mpsc::UnboundedSender<Command>,
}

pub(crate) async fn serve(mut connection: Connection, stream: Stream) -> io::Result<()> {
    let shared = connection.shared.clone();
    let settings = &shared.config.http2;
    if !settings.settings_delay.is_zero() {
        // Nothing is written (nor read) until the delay is over: the server's SETTINGS come late.
        tokio::time::sleep(settings.settings_delay).await;
    }
    let mut builder = h2::server::Builder::new();
    builder
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW);
    if let Some(max) = settings.max_concurrent_streams {
        builder.max_concurrent_streams(max);
    }
    let (io, unflushed) = TrackedIo::new(stream);
    let mut h2: H2Connection = builder.handshake(io).await.map_err(io::Error::other)?;

    let (commands, mut command_rx) = mpsc::unbounded_channel();
    let context = Arc::new(StreamContext {
        shared: shared.clone(),
        commands,
    });
    let mut streams = JoinSet::new();
    let mut accepted = 0usize;
    let mut going_away = false;
    if settings.goaway_after_streams == Some(0) {
        h2.graceful_shutdown();
        going_away = true;
    }

    let mut disconnect = false;
    let outcome = loop {
        tokio::select! {
            biased;
            Some(command) = command_rx.recv() => match command {
                Command::GoAway => {
                    if !going_away {
                        h2.graceful_shutdown();
                        going_away = true;
                    }
                }
                Command::Disconnect => {
                    finish_writes(&mut h2, &unflushed).await;
                    disconnect = true;
                    break Ok(());
                }
            },
            Some(joined) = streams.join_next(), if !streams.is_empty() => resume_panic(joined),
            next = h2.accept() => match next {
                None => break Ok(()),
                Some(Err(error)) => break Err(io::Error::other(error)),
                Some(Ok((request, mut respond))) => {
                    if going_away {
                        // After our GOAWAY: refused, so the client may retry it elsewhere.
                        respond.send_reset(Reason::REFUSED_STREAM);
                        continue;
                    }
                    accepted += 1;
                    let record = connection.next_request();
                    streams.spawn(serve_stream(context.clone(), request, respond, record));
                    if settings.goaway_after_streams == Some(accepted) {
                        h2.graceful_shutdown();
                        going_away = true;
                    }
                }
            },
        }
    };

    // Closing the socket (without GOAWAY when it was not sent already) wakes every stream
    // still waiting on it.
    drop(h2);
    if disconnect {
        // Streams that commit the disconnect wait for it forever.
        streams.abort_all();
    }
    while let Some(joined) = streams.join_next().await {
        resume_panic(joined);
    }
    outcome
}

/// Re-raises, in the connection task, a panic that ended a stream task (the server records
/// connection-task panics as failures).
fn resume_panic(joined: Result<(), JoinError>) {
    if let Err(error) = joined
        && error.is_panic()
    {
        std::panic::resume_unwind(error.into_panic());
    }
}

/// Drives the connection until everything h2 has queued is written and flushed to the socket
/// (or the connection ends).
async fn finish_writes(h2: &mut H2Connection, unflushed: &AtomicBool) {
    poll_fn(|cx| match h2.poll_closed(cx) {
        Poll::Pending if unflushed.load(Ordering::Relaxed) => Poll::Pending,
        _ => Poll::Ready(()),
    })
    .await;
}

/// Serves one stream: reads and records the request, then answers as the response scripts.
async fn serve_stream(
    context: Arc<StreamContext>,
    request: Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
    mut record: RecordedRequest,
) {
    let shared = &context.shared;
    let (head, mut body) = request.into_parts();
    let is_head = head.method == Method::HEAD;
    let expects_continue = record_head(&mut record, head);

    if !body.is_end_stream() {
        // Request-body behaviour is decided before the body is read, from the coming response.
        let peeked = shared.peek();
        let spec = peeked.as_ref().map(MockResponse::spec);
        if expects_continue {
            match spec.map_or(ExpectContinue::Continue, |spec| spec.expect_continue) {
                ExpectContinue::RespondWithoutReadingBody => {
                    drop(body);
                    finish_request(&mut record);
                    let response = shared.dispatch(record);
                    answer(&context, respond, &response, is_head).await;
                    return;
                }
                ExpectContinue::NeverRespond => {
                    drop(body);
                    finish_request(&mut record);
                    let _ = shared.dispatch(record);
                    hold(&mut respond).await;
                    return;
                }
                _ => {
                    let mut continue_head = Response::new(());
                    *continue_head.status_mut() = StatusCode::CONTINUE;
                    if let Err(error) = respond.send_informational(continue_head) {
                        record.failure = Some(format!("100 Continue could not be sent: {error}"));
                    }
                }
            }
        }
        let limit = shared.config.body_limit;
        match spec.and_then(|spec| spec.fault) {
            Some(Fault::DisconnectDuringRequestBody { after_bytes }) => {
                read_body(&mut body, &mut record, limit, after_bytes).await;
                record.failure.get_or_insert_with(|| {
                    format!(
                        "fault DisconnectDuringRequestBody: the stream was reset after {} body \
                         bytes",
                        record.body_size
                    )
                });
                finish_request(&mut record);
                let _ = shared.dispatch(record);
                respond.send_reset(Reason::CANCEL);
                return;
            }
            _ if record.failure.is_none() => {
                read_body(&mut body, &mut record, limit, usize::MAX).await;
            }
            _ => {}
        }
    }
    drop(body);
    finish_request(&mut record);
    let failed = record.failure.is_some();
    let response = shared.dispatch(record);
    if failed {
        // The stream broke while the request was read: nothing can be answered on it.
        respond.send_reset(Reason::CANCEL);
        return;
    }
    answer(&context, respond, &response, is_head).await;
}

/// Records the request head; returns whether it carries `Expect: 100-continue`.
fn record_head(record: &mut RecordedRequest, head: http::request::Parts) -> bool {
    record.version = Version::HTTP_2;
    record.method = head.method.as_str().to_owned();
    record.target = if head.method == Method::CONNECT {
        head.uri
            .authority()
            .map(|a| a.as_str().to_owned())
            .unwrap_or_default()
    } else {
        head.uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned()
    };
    let expects_continue = head
        .headers
        .get(EXPECT)
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let mut headers = Vec::with_capacity(head.headers.len() + 1);
    if let Some(authority) = head.uri.authority()
        && let Ok(host) = HeaderValue::from_str(authority.as_str())
    {
        headers.push((HOST, host));
    }
    append_header_pairs(&mut headers, head.headers);
    record.headers = headers;
    expects_continue
}

fn finish_request(record: &mut RecordedRequest) {
    record.received_at = Instant::now();
}

/// Waits until the client resets the stream or the connection ends, never answering.
async fn hold(respond: &mut SendResponse<Bytes>) {
    let _ = poll_fn(|cx| respond.poll_reset(cx)).await;
}

/// Answers a stream with `response`: its stream faults, informational responses, delays, head,
/// body, trailers, and what follows it.
async fn answer(
    context: &StreamContext,
    mut respond: SendResponse<Bytes>,
    response: &MockResponse,
    is_head: bool,
) {
    let spec = response.spec();
    let mut cut = None;
    match spec.fault {
        Some(Fault::DisconnectAfterRequest | Fault::DisconnectDuringRequestBody { .. }) => {
            return respond.send_reset(Reason::CANCEL);
        }
        Some(Fault::ResetStream(reason)) => return respond.send_reset(reason),
        Some(Fault::NoResponse) => return hold(&mut respond).await,
        Some(Fault::DisconnectDuringResponseBody { after_bytes }) => cut = Some(after_bytes),
        // Connection faults are committed when a connection is accepted; here they mean nothing.
        _ => {}
    }

    for informational in &spec.informational {
        if let Some(head) = informational_head(informational)
            && respond.send_informational(head).is_err()
        {
            return;
        }
    }
    if !spec.headers_delay.is_zero() {
        tokio::time::sleep(spec.headers_delay).await;
    }
    let Some(head) = response_head(spec) else {
        // A status outside 100..=999 cannot be expressed on HTTP/2.
        return respond.send_reset(Reason::INTERNAL_ERROR);
    };
    let body = if is_head {
        Bytes::new()
    } else {
        spec.body.data().clone()
    };
    let trailers = if is_head {
        None
    } else {
        trailer_map(&spec.trailers)
    };
    let end_at_head = cut.is_none() && body.is_empty() && trailers.is_none();
    let Ok(mut send) = respond.send_response(head, end_at_head) else {
        return;
    };
    if !end_at_head {
        if !spec.body_delay.is_zero() {
            tokio::time::sleep(spec.body_delay).await;
        }
        if let Some(after_bytes) = cut {
            let partial = body.slice(..after_bytes.min(body.len()));
            return disconnect_after(context, respond, send, spec, partial).await;
        }
        if send_body(&mut send, spec, body, trailers.is_none(), false)
            .await
            .is_err()
        {
            return;
        }
        if let Some(trailers) = trailers
            && send.send_trailers(trailers).is_err()
        {
            return;
        }
    }
    if spec.after_response != AfterResponse::KeepOpen {
        // HTTP/2 has no half-closed sockets to offer: every variant ends the connection with
        // GOAWAY once the streams in flight are done.
        let _ = context.commands.send(Command::GoAway);
    }
}

/// Sends `partial` body bytes, then has the connection close its socket without GOAWAY. The
/// stream's handles are held until then: dropping them would reset the stream first.
async fn disconnect_after(
    context: &StreamContext,
    respond: SendResponse<Bytes>,
    mut send: SendStream<Bytes>,
    spec: &ResponseSpec,
    partial: Bytes,
) {
    let _ = send_body(&mut send, spec, partial, false, true).await;
    let _ = context.commands.send(Command::Disconnect);
    let _held = (respond, send);
    std::future::pending::<()>().await;
}
