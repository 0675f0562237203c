//! A minimal HTTP/1.1 keep-alive server that tells when the client closes a connection: what
//! the testkit's server does not report. It answers every request (bodiless ones only) with
//! `200` and the body `ok`.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc};
use tokio::task::{JoinHandle, JoinSet};

/// The running server; dropping it stops it and closes its connections.
pub struct PlainServer {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    closed: Mutex<mpsc::UnboundedReceiver<usize>>,
    task: JoinHandle<()>,
}

impl PlainServer {
    pub async fn start() -> PlainServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let (closed_tx, closed) = mpsc::unbounded_channel();
        let counter = accepted.clone();
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let index = counter.fetch_add(1, Ordering::SeqCst);
                let closed_tx = closed_tx.clone();
                connections.spawn(async move {
                    let _ = serve(socket).await;
                    let _ = closed_tx.send(index);
                });
                while connections.try_join_next().is_some() {}
            }
        });
        PlainServer {
            addr,
            accepted,
            closed: Mutex::new(closed),
            task,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL of `/` under `host` (which the client's DNS must map to 127.0.0.1).
    pub fn url(&self, host: &str) -> String {
        format!("http://{host}:{}/", self.addr.port())
    }

    /// How many connections were accepted.
    pub fn connection_count(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Waits for the client to close a connection; returns its index (0 for the first accepted).
    pub async fn closed(&self) -> usize {
        self.closed
            .lock()
            .await
            .recv()
            .await
            .expect("the server is running")
    }
}

impl Drop for PlainServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Answers requests until the client closes the connection (EOF or error).
async fn serve(mut socket: TcpStream) -> io::Result<()> {
    let mut buffered = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while let Some(end) = find(&buffered, b"\r\n\r\n") {
            buffered.drain(..end + 4);
            socket
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .await?;
        }
        let read = socket.read(&mut chunk).await?;
        if read == 0 {
            return Ok(());
        }
        buffered.extend_from_slice(&chunk[..read]);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
