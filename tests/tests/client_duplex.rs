//! Duplex on HTTP/2: the response is read while the request body is still being written.

mod support;

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::Frame;
use hyper::server::conn::http2;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use oktower::{Protocol, RequestBody};
use support::*;
use tokio::sync::mpsc;

/// A request body fed chunk by chunk from a channel; it ends when the sender is dropped.
struct Channel(mpsc::Receiver<Bytes>);

impl http_body::Body for Channel {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|bytes| Ok(Frame::data(bytes))))
    }
}

/// A cleartext HTTP/2 server whose responses echo their request's body as it arrives.
async fn echo_server() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let echo = service_fn(|request: http::Request<hyper::body::Incoming>| async move {
                    Ok::<_, std::convert::Infallible>(http::Response::new(request.into_body()))
                });
                let _ = http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), echo)
                    .await;
            });
        }
    });
    address
}

#[tokio::test]
async fn the_response_streams_while_the_request_body_is_still_open() {
    let address = echo_server().await;
    let events = Arc::new(Events::default());
    let client = client_builder(&["duplex.test"], &events)
        .protocols(&[Protocol::H2PriorKnowledge])
        .build()
        .unwrap();
    let (sender, receiver) = mpsc::channel(1);
    sender.send(Bytes::from_static(b"ping 1")).await.unwrap();
    let mut response = client
        .post(format!("http://duplex.test:{}/echo", address.port()))
        .body(RequestBody::streaming(Channel(receiver)))
        .send()
        .await
        .unwrap();
    // The head arrived with the request body still open: each chunk comes back before the
    // next is written.
    assert_eq!(response.version(), http::Version::HTTP_2);
    assert_eq!(response.chunk().await.unwrap().unwrap(), "ping 1");
    sender.send(Bytes::from_static(b"ping 2")).await.unwrap();
    assert_eq!(response.chunk().await.unwrap().unwrap(), "ping 2");
    drop(sender);
    assert_eq!(response.chunk().await.unwrap(), None);
    assert_eq!(client.connection_pool().connection_count(), 1);
    assert_eq!(client.connection_pool().idle_connection_count(), 1);
}
