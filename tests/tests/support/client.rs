//! What the Client's end-to-end tests share: a client for fake hosts, the leak check, the
//! request the server saw, and bodies compressed the way servers compress them.

use std::sync::Arc;

use async_compression::Level;
use async_compression::tokio::bufread::{BrotliEncoder, GzipEncoder, ZlibEncoder, ZstdEncoder};
use bytes::Bytes;
use oktower::{Client, ClientBuilder};
use oktower_testkit::{MockWebServer, RecordedRequest};
use tokio::io::AsyncReadExt;

use super::{Events, PATIENCE, client_builder};

/// A builder for a client whose DNS maps `hosts` to 127.0.0.1 (and nothing else), with no
/// proxy.
pub fn builder_for(hosts: &[&str]) -> ClientBuilder {
    client_builder(hosts, &Arc::new(Events::default()))
}

/// A client with the defaults whose DNS maps `hosts` to 127.0.0.1.
pub fn client_for(hosts: &[&str]) -> Client {
    builder_for(hosts).build().expect("a valid client")
}

/// Asserts that the client's pool holds `connections` connections and that none is in use:
/// every response body was given back.
pub fn assert_pool(client: &Client, connections: usize) {
    let pool = client.connection_pool();
    assert_eq!(
        pool.connection_count(),
        connections,
        "connections in the pool"
    );
    assert_eq!(
        pool.idle_connection_count(),
        connections,
        "connections still in use"
    );
}

/// The next request `server` recorded (fails the test when none comes).
pub async fn next_request(server: &MockWebServer) -> RecordedRequest {
    server
        .take_request(PATIENCE)
        .await
        .expect("the server received a request")
}

/// `data` encoded with the `Content-Encoding` named `encoding` (`gzip`, `deflate`, `br` or
/// `zstd`), at the fastest level (brotli's best is slow in debug builds).
pub async fn encode(encoding: &str, data: &[u8]) -> Bytes {
    let fast = Level::Fastest;
    let mut out = Vec::new();
    let read = match encoding {
        "gzip" => {
            GzipEncoder::with_quality(data, fast)
                .read_to_end(&mut out)
                .await
        }
        "deflate" => {
            ZlibEncoder::with_quality(data, fast)
                .read_to_end(&mut out)
                .await
        }
        "br" => {
            BrotliEncoder::with_quality(data, fast)
                .read_to_end(&mut out)
                .await
        }
        "zstd" => {
            ZstdEncoder::with_quality(data, fast)
                .read_to_end(&mut out)
                .await
        }
        other => panic!("no encoder for {other}"),
    };
    read.expect("in-memory encoding");
    Bytes::from(out)
}
