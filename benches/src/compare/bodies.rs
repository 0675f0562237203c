//! The response bodies the comparison server sends: 13 bytes, 64 MiB, and 1 MiB of JSON
//! compressed with gzip once at start.

use std::io::Write;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;

/// The small body (S1, S2, S3, S6, S7).
pub const SMALL_BODY: &[u8] = b"Hello, world!";

/// The size of S4's download: 64 MiB.
pub const LARGE_BODY_LEN: usize = 64 * 1024 * 1024;

/// The decoded size of S5's JSON body: 1 MiB.
pub const JSON_BODY_LEN: usize = 1024 * 1024;

/// The bodies, built once.
#[derive(Clone, Debug)]
pub struct Bodies {
    /// [`SMALL_BODY`].
    pub small: Bytes,
    /// [`LARGE_BODY_LEN`] bytes of a repeating pattern.
    pub large: Bytes,
    /// The gzip encoding of [`json_body`].
    pub gzip_json: Bytes,
}

impl Bodies {
    /// Builds the bodies (compresses the JSON with flate2's default level).
    pub fn new() -> std::io::Result<Bodies> {
        let large: Vec<u8> = (0..LARGE_BODY_LEN).map(|i| b'a' + (i % 26) as u8).collect();
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(&json_body())?;
        Ok(Bodies {
            small: Bytes::from_static(SMALL_BODY),
            large: Bytes::from(large),
            gzip_json: Bytes::from(encoder.finish()?),
        })
    }
}

/// A JSON array of records, exactly [`JSON_BODY_LEN`] bytes long (padded with spaces before the
/// closing bracket), compressible the way API responses are.
pub fn json_body() -> Vec<u8> {
    let mut json = Vec::with_capacity(JSON_BODY_LEN);
    json.push(b'[');
    let mut id = 0u64;
    loop {
        let record = format!(
            "{{\"id\":{id},\"name\":\"user-{id}\",\"email\":\"user{id}@example.com\",\
             \"active\":{},\"score\":{}.{}}}",
            !id.is_multiple_of(3),
            id * 7 % 1000,
            id % 10
        );
        // Room for the separator, the record and the closing bracket.
        if json.len() + record.len() + 2 > JSON_BODY_LEN {
            break;
        }
        if id > 0 {
            json.push(b',');
        }
        json.extend_from_slice(record.as_bytes());
        id += 1;
    }
    json.resize(JSON_BODY_LEN - 1, b' ');
    json.push(b']');
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_body_has_the_announced_length() {
        let json = json_body();
        assert_eq!(json.len(), JSON_BODY_LEN);
        assert_eq!(json.first(), Some(&b'['));
        assert_eq!(json.last(), Some(&b']'));
    }
}
