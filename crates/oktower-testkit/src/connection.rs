//! One accepted connection: connection faults, TLS, and the choice of protocol.

use std::io;
use std::net::Shutdown;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

use crate::fault::Fault;
use crate::server::ServerShared;
use crate::{Protocol, RecordedRequest};

/// What a protocol handler knows about the connection it serves.
pub(crate) struct Connection {
    pub(crate) shared: Arc<ServerShared>,
    pub(crate) index: usize,
    pub(crate) sni: Option<String>,
    pub(crate) tls: bool,
    /// Whether this is the inside of a proxy tunnel, where the server is the origin and no
    /// longer the proxy.
    pub(crate) in_tunnel: bool,
    next_exchange: usize,
}

impl Connection {
    pub(crate) fn new(shared: Arc<ServerShared>, index: usize) -> Self {
        Connection {
            shared,
            index,
            sni: None,
            tls: false,
            in_tunnel: false,
            next_exchange: 0,
        }
    }

    /// A fresh record for the next exchange on this connection.
    pub(crate) fn next_request(&mut self) -> RecordedRequest {
        let mut request = RecordedRequest::new(self.index, self.next_exchange);
        self.next_exchange += 1;
        request.sni.clone_from(&self.sni);
        request.tls = self.tls;
        request
    }

    /// Records a request that stands for a connection fault and consumes its response.
    fn record_fault(&mut self, fault: Fault) {
        let mut request = self.next_request();
        request.failure = Some(format!("connection fault {fault:?}"));
        let _ = self.shared.dispatch(request);
    }
}

/// The socket a connection is served on, in cleartext or TLS.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(tcp) => tcp,
            Stream::Tls(tls) => tls.get_ref().0,
        }
    }

    /// Shuts down the read side of the socket.
    pub(crate) fn shutdown_read(&self) -> io::Result<()> {
        socket2::SockRef::from(self.tcp()).shutdown(Shutdown::Read)
    }

    /// Accepts TLS on a cleartext stream; returns the stream with its SNI and ALPN protocol.
    pub(crate) async fn accept_tls(
        self,
        config: Arc<rustls::ServerConfig>,
    ) -> io::Result<(Stream, Option<String>, Option<Vec<u8>>)> {
        let Stream::Plain(tcp) = self else {
            return Err(io::Error::other("TLS inside TLS is not supported"));
        };
        let tls = tokio_rustls::TlsAcceptor::from(config).accept(tcp).await?;
        let (_, session) = tls.get_ref();
        let sni = session.server_name().map(str::to_owned);
        let alpn = session.alpn_protocol().map(<[u8]>::to_vec);
        Ok((Stream::Tls(Box::new(tls)), sni, alpn))
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// Serves one accepted connection until it closes.
pub(crate) async fn serve_connection(shared: Arc<ServerShared>, tcp: TcpStream, index: usize) {
    let mut connection = Connection::new(shared.clone(), index);
    let stream = Stream::Plain(tcp);

    let connection_fault = shared
        .peek()
        .and_then(|response| response.scripted_fault())
        .filter(|fault| fault.is_connection_fault());
    if let Some(fault) = connection_fault {
        connection.record_fault(fault);
        match fault {
            Fault::StallAtStart => {
                // Hold the socket open, unread, until the server shuts down.
                let _held = stream;
                std::future::pending::<()>().await;
            }
            Fault::FailHandshake => fail_handshake(stream).await,
            _ => drop(stream),
        }
        return;
    }

    let config = &shared.config;
    let outcome = match (&shared.tls_config, &config.proxy) {
        (Some(tls_config), None) => match stream.accept_tls(tls_config.clone()).await {
            Ok((stream, sni, alpn)) => {
                connection.sni = sni;
                connection.tls = true;
                if alpn.as_deref() == Some(b"h2") {
                    crate::http2::serve(connection, stream).await
                } else {
                    crate::http1::serve(connection, stream).await
                }
            }
            // The client gave up on the handshake (say, it rejected the certificate): that is
            // the client's business, not a server failure.
            Err(_) => Ok(()),
        },
        _ if config.proxy.is_none() && config.protocols == [Protocol::H2PriorKnowledge] => {
            crate::http2::serve(connection, stream).await
        }
        _ => crate::http1::serve(connection, stream).await,
    };
    // I/O errors are how clients and faults end connections; only panics are server failures.
    drop(outcome);
}

/// Reads the client's first TLS flight, answers with a fatal `handshake_failure` alert, and
/// closes.
async fn fail_handshake(mut stream: Stream) {
    let mut client_hello = [0u8; 4096];
    let _ = stream.read(&mut client_hello).await;
    // TLS record: alert (21), TLS 1.2 record version, length 2, level fatal (2),
    // description handshake_failure (40).
    let _ = stream.write_all(&[21, 3, 3, 0, 2, 2, 40]).await;
    let _ = stream.shutdown().await;
}
