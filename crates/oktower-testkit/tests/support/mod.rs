//! Raw client tools shared by the testkit's tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Generous bound for things that should happen at once; a hang fails the test instead of the
/// whole run.
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);

/// Connects, sends `request`, and reads until the server closes the connection.
pub(crate) async fn exchange_until_close(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut socket = TcpStream::connect(addr).await.unwrap();
    socket.write_all(request).await.unwrap();
    read_to_end(&mut socket).await
}

/// Reads until EOF (or a reset, which ends the read as well).
pub(crate) async fn read_to_end(socket: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let read = tokio::time::timeout(PATIENCE, socket.read(&mut buf))
            .await
            .expect("the server neither answered nor closed");
        match read {
            Ok(0) | Err(_) => return received,
            Ok(n) => received.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads until `received` contains `needle`, returning everything read so far.
pub(crate) async fn read_until(socket: &mut TcpStream, needle: &[u8]) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buf = [0u8; 8192];
    while !contains(&received, needle) {
        let n = tokio::time::timeout(PATIENCE, socket.read(&mut buf))
            .await
            .expect("timed out waiting for the server")
            .unwrap();
        assert!(
            n > 0,
            "EOF before {:?}; got {:?}",
            String::from_utf8_lossy(needle),
            String::from_utf8_lossy(&received)
        );
        received.extend_from_slice(&buf[..n]);
    }
    received
}

pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Whether nothing arrives on `socket` within `wait` (and it is not closed either).
pub(crate) async fn stays_silent(socket: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 1];
    tokio::time::timeout(wait, socket.read(&mut buf))
        .await
        .is_err()
}
