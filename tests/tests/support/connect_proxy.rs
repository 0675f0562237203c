//! A minimal HTTP proxy for `CONNECT` only, for what the testkit's proxy mode does not do:
//! refuse a tunnel with a chosen status, or tunnel to another server (the testkit's tunnels go
//! to the testkit server itself, in HTTP/1.1 when in cleartext).

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// How the proxy answers every `CONNECT`.
#[derive(Clone, Copy, Debug)]
pub enum Answer {
    /// With this status (and an empty body), then it closes the connection.
    Status(u16),
    /// With `200`, then splices the connection to this address.
    TunnelTo(SocketAddr),
}

/// The running proxy; dropping it stops it and closes its connections.
pub struct ConnectProxy {
    addr: SocketAddr,
    heads: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl ConnectProxy {
    pub async fn start(answer: Answer) -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let recorded = heads.clone();
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let recorded = recorded.clone();
                connections.spawn(async move {
                    let _ = serve(socket, answer, &recorded).await;
                });
                while connections.try_join_next().is_some() {}
            }
        });
        ConnectProxy { addr, heads, task }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The request heads received, as text, in order (recorded before they are answered).
    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    mut client: TcpStream,
    answer: Answer,
    heads: &Mutex<Vec<String>>,
) -> io::Result<()> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        if client.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    heads
        .lock()
        .unwrap()
        .push(String::from_utf8_lossy(&head).into_owned());
    match answer {
        Answer::Status(status) => {
            let response = format!("HTTP/1.1 {status} Refused\r\nContent-Length: 0\r\n\r\n");
            client.write_all(response.as_bytes()).await?;
            client.shutdown().await
        }
        Answer::TunnelTo(to) => {
            let mut upstream = TcpStream::connect(to).await?;
            client
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .await?;
            tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
            Ok(())
        }
    }
}
