//! Reading a hyper response body the way a scenario asks ([`BodyMode`]), for the two clients
//! that hand out `hyper::body::Incoming` (raw hyper and hyper-util's legacy `Client`).
//!
//! For S5 they gunzip with flate2 while streaming, counting decoded bytes: the same inflate
//! (flate2, over zlib-rs for the whole workspace) that oktower and reqwest run through
//! async-compression.

use std::io::Write;

use flate2::write::GzDecoder;
use http::{Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;

use super::scenario::BodyMode;
use crate::BoxError;

/// Reads `response`'s body per `mode`; returns the (decoded) body bytes read. Fails unless the
/// status is `200 OK`.
pub async fn read_hyper_body(
    response: Response<Incoming>,
    mode: BodyMode,
) -> Result<u64, BoxError> {
    check_status(response.status())?;
    let mut body = response.into_body();
    match mode {
        BodyMode::Collect => Ok(body.collect().await?.to_bytes().len() as u64),
        BodyMode::Stream => count_data(body).await,
        BodyMode::Gunzip => {
            let mut decoder = GzDecoder::new(CountingSink::default());
            while let Some(frame) = body.frame().await {
                if let Ok(data) = frame?.into_data() {
                    decoder.write_all(&data)?;
                }
            }
            Ok(decoder.finish()?.written)
        }
    }
}

/// Reads `body` to its end frame by frame, discarding the data; returns how many bytes of
/// data it had.
pub async fn count_data<B>(mut body: B) -> Result<u64, BoxError>
where
    B: hyper::body::Body + Unpin,
    B::Error: Into<BoxError>,
{
    let mut read = 0u64;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.map_err(Into::into)?.into_data() {
            read += bytes::Buf::remaining(&data) as u64;
        }
    }
    Ok(read)
}

/// Fails unless `status` is `200 OK`.
pub fn check_status(status: StatusCode) -> Result<(), BoxError> {
    if status == StatusCode::OK {
        Ok(())
    } else {
        Err(format!("unexpected status {status}").into())
    }
}

/// A writer that counts and discards.
#[derive(Debug, Default)]
struct CountingSink {
    written: u64,
}

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.written += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
