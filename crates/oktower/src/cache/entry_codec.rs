//! The byte format of a [`CachedResponse`], versioned and checksummed.
//!
//! ```text
//! magic      4 bytes   "OKTC"
//! version    u16       1
//! length     u32       length of the payload
//! payload:
//!   url            bytes
//!   method         bytes
//!   vary headers   headers
//!   status         u16
//!   version        u8     0 = HTTP/0.9, 1 = HTTP/1.0, 2 = HTTP/1.1, 3 = HTTP/2, 4 = HTTP/3
//!   headers        headers
//!   sent at        time
//!   received at    time
//!   handshake      u8 0 (none) | 1, then u16 TLS version, u16 cipher suite,
//!                  certificates (peer), certificates (local)
//! checksum   32 bytes  SHA-256 of everything before it
//!
//! bytes        = u32 length, then the bytes
//! headers      = u32 count, then count × (bytes name, bytes value)
//! certificates = u32 count, then count × bytes (DER)
//! time         = u8 0 (at or after the Unix epoch) | 1 (before), u64 seconds, u32 nanoseconds
//! ```
//!
//! Integers are big-endian. Decoding checks the magic, the version, the length (a shorter
//! input is truncated, a longer one corrupt) and the checksum before reading any field, and
//! every count against the bytes left, so garbage never allocates much and never panics.

use std::fmt;
use std::time::{Duration, SystemTime};

use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode, Uri, Version};
use rustls::{CipherSuite, ProtocolVersion};
use rustls_pki_types::CertificateDer;
use sha2::{Digest, Sha256};

use super::entry::CachedResponse;
use crate::{Error, ErrorKind, Handshake};

const MAGIC: &[u8; 4] = b"OKTC";
const FORMAT_VERSION: u16 = 1;
const PREAMBLE_LEN: usize = 4 + 2 + 4;
const CHECKSUM_LEN: usize = 32;

impl CachedResponse {
    /// The entry as bytes for a store (see the module docs for the format).
    pub fn encode(&self) -> Vec<u8> {
        let mut payload = Vec::with_capacity(512);
        put_bytes(&mut payload, self.url.to_string().as_bytes());
        put_bytes(&mut payload, self.method.as_str().as_bytes());
        put_headers(&mut payload, &self.vary_headers);
        payload.extend_from_slice(&self.status.as_u16().to_be_bytes());
        payload.push(version_code(self.version));
        put_headers(&mut payload, &self.headers);
        put_time(&mut payload, self.sent_at);
        put_time(&mut payload, self.received_at);
        match &self.handshake {
            None => payload.push(0),
            Some(handshake) => {
                payload.push(1);
                payload.extend_from_slice(&u16::from(handshake.tls_version()).to_be_bytes());
                payload.extend_from_slice(&u16::from(handshake.cipher_suite()).to_be_bytes());
                put_certificates(&mut payload, handshake.peer_certificates());
                put_certificates(&mut payload, handshake.local_certificates());
            }
        }

        let mut out = Vec::with_capacity(PREAMBLE_LEN + payload.len() + CHECKSUM_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
        out.extend_from_slice(&length(payload.len()).to_be_bytes());
        out.extend_from_slice(&payload);
        let checksum = Sha256::digest(&out);
        out.extend_from_slice(&checksum);
        out
    }

    /// An entry from bytes [`encode`](Self::encode) wrote. Truncated, corrupt or foreign
    /// input is an [`ErrorKind::Cache`] error, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<CachedResponse, Error> {
        decode(bytes).map_err(|corruption| {
            Error::new(ErrorKind::Cache, corruption.to_string()).with_source(corruption)
        })
    }
}

/// What is wrong with the bytes of an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Corruption {
    /// They do not start with the format's magic.
    BadMagic,
    /// They are of a format version this build does not read.
    UnsupportedVersion(u16),
    /// They end before the length they announce.
    Truncated,
    /// They go on after the checksum.
    TrailingBytes,
    /// The checksum does not match.
    ChecksumMismatch,
    /// The checksum matched, yet a field is invalid (a writer bug or a foreign writer).
    Malformed(&'static str),
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Corruption::BadMagic => f.write_str("not a cache entry (bad magic)"),
            Corruption::UnsupportedVersion(version) => {
                write!(f, "cache entry format version {version} is not supported")
            }
            Corruption::Truncated => f.write_str("cache entry is truncated"),
            Corruption::TrailingBytes => f.write_str("cache entry has trailing bytes"),
            Corruption::ChecksumMismatch => f.write_str("cache entry checksum mismatch"),
            Corruption::Malformed(what) => write!(f, "cache entry has a malformed {what}"),
        }
    }
}

impl std::error::Error for Corruption {}

fn decode(bytes: &[u8]) -> Result<CachedResponse, Corruption> {
    let magic_len = bytes.len().min(MAGIC.len());
    if bytes[..magic_len] != MAGIC[..magic_len] {
        return Err(Corruption::BadMagic);
    }
    let mut preamble = Reader { bytes };
    let (Ok(_), Ok(version), Ok(payload_len)) = (
        preamble.take(MAGIC.len(), "magic"),
        preamble.u16("format version"),
        preamble.u32("length"),
    ) else {
        return Err(Corruption::Truncated);
    };
    if version != FORMAT_VERSION {
        return Err(Corruption::UnsupportedVersion(version));
    }
    let total = usize::try_from(payload_len)
        .ok()
        .and_then(|payload_len| payload_len.checked_add(PREAMBLE_LEN + CHECKSUM_LEN))
        .ok_or(Corruption::Truncated)?;
    if bytes.len() < total {
        return Err(Corruption::Truncated);
    }
    if bytes.len() > total {
        return Err(Corruption::TrailingBytes);
    }
    let (checked, checksum) = bytes.split_at(total - CHECKSUM_LEN);
    if Sha256::digest(checked).as_slice() != checksum {
        return Err(Corruption::ChecksumMismatch);
    }

    let mut payload = Reader {
        bytes: &checked[PREAMBLE_LEN..],
    };
    let entry = read_entry(&mut payload)?;
    if !payload.bytes.is_empty() {
        return Err(Corruption::Malformed("payload length"));
    }
    Ok(entry)
}

fn read_entry(reader: &mut Reader<'_>) -> Result<CachedResponse, Corruption> {
    let url = std::str::from_utf8(reader.bytes("url")?)
        .ok()
        .and_then(|url| url.parse::<Uri>().ok())
        .ok_or(Corruption::Malformed("url"))?;
    let method =
        Method::from_bytes(reader.bytes("method")?).map_err(|_| Corruption::Malformed("method"))?;
    let vary_headers = reader.headers()?;
    let status =
        StatusCode::from_u16(reader.u16("status")?).map_err(|_| Corruption::Malformed("status"))?;
    let version = version_of(reader.u8("version")?)?;
    let headers = reader.headers()?;
    let sent_at = reader.time()?;
    let received_at = reader.time()?;
    let handshake = match reader.u8("handshake flag")? {
        0 => None,
        1 => {
            let tls_version = ProtocolVersion::from(reader.u16("TLS version")?);
            let cipher_suite = CipherSuite::from(reader.u16("cipher suite")?);
            let peer = reader.certificates()?;
            let local = reader.certificates()?;
            Some(Handshake::new(tls_version, cipher_suite, peer, local))
        }
        _ => return Err(Corruption::Malformed("handshake flag")),
    };
    Ok(CachedResponse {
        url,
        method,
        vary_headers,
        status,
        version,
        headers,
        sent_at,
        received_at,
        handshake,
    })
}

/// A cursor over a payload whose checksum already matched.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], Corruption> {
        if self.bytes.len() < len {
            return Err(Corruption::Malformed(what));
        }
        let (taken, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], Corruption> {
        let mut array = [0; N];
        array.copy_from_slice(self.take(N, what)?);
        Ok(array)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, Corruption> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, Corruption> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, Corruption> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, Corruption> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], Corruption> {
        let len = self.u32(what)?;
        let len = usize::try_from(len).map_err(|_| Corruption::Malformed(what))?;
        self.take(len, what)
    }

    /// A count of items that each take at least `min_item_len` bytes, checked against what is
    /// left so a bad count cannot ask for a huge allocation.
    fn count(&mut self, min_item_len: usize, what: &'static str) -> Result<usize, Corruption> {
        let count = usize::try_from(self.u32(what)?).map_err(|_| Corruption::Malformed(what))?;
        if count.saturating_mul(min_item_len) > self.bytes.len() {
            return Err(Corruption::Malformed(what));
        }
        Ok(count)
    }

    fn headers(&mut self) -> Result<HeaderMap, Corruption> {
        let count = self.count(8, "header count")?;
        // A capacity hint only: the count is checked, not trusted.
        let mut headers = HeaderMap::try_with_capacity(count.min(64))
            .map_err(|_| Corruption::Malformed("header count"))?;
        for _ in 0..count {
            let name = HeaderName::from_bytes(self.bytes("header name")?)
                .map_err(|_| Corruption::Malformed("header name"))?;
            let value = HeaderValue::from_bytes(self.bytes("header value")?)
                .map_err(|_| Corruption::Malformed("header value"))?;
            headers
                .try_append(name, value)
                .map_err(|_| Corruption::Malformed("header count"))?;
        }
        Ok(headers)
    }

    fn certificates(&mut self) -> Result<Vec<CertificateDer<'static>>, Corruption> {
        let count = self.count(4, "certificate count")?;
        let mut certificates = Vec::with_capacity(count);
        for _ in 0..count {
            certificates.push(CertificateDer::from(self.bytes("certificate")?.to_vec()));
        }
        Ok(certificates)
    }

    fn time(&mut self) -> Result<SystemTime, Corruption> {
        let before_epoch = match self.u8("time")? {
            0 => false,
            1 => true,
            _ => return Err(Corruption::Malformed("time")),
        };
        let seconds = self.u64("time")?;
        let nanos = self.u32("time")?;
        if nanos >= 1_000_000_000 {
            return Err(Corruption::Malformed("time"));
        }
        let offset = Duration::new(seconds, nanos);
        let time = if before_epoch {
            SystemTime::UNIX_EPOCH.checked_sub(offset)
        } else {
            SystemTime::UNIX_EPOCH.checked_add(offset)
        };
        time.ok_or(Corruption::Malformed("time"))
    }
}

/// A length as written; lengths over 4 GiB cannot occur in headers and certificates held in
/// memory, and would saturate into an entry that fails to decode, not a wrong one.
fn length(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&length(bytes.len()).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn put_headers(out: &mut Vec<u8>, headers: &HeaderMap) {
    out.extend_from_slice(&length(headers.len()).to_be_bytes());
    for (name, value) in headers {
        put_bytes(out, name.as_str().as_bytes());
        put_bytes(out, value.as_bytes());
    }
}

fn put_certificates(out: &mut Vec<u8>, certificates: &[CertificateDer<'static>]) {
    out.extend_from_slice(&length(certificates.len()).to_be_bytes());
    for certificate in certificates {
        put_bytes(out, certificate.as_ref());
    }
}

fn put_time(out: &mut Vec<u8>, time: SystemTime) {
    let (before_epoch, offset) = match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => (0, after),
        Err(before) => (1, before.duration()),
    };
    out.push(before_epoch);
    out.extend_from_slice(&offset.as_secs().to_be_bytes());
    out.extend_from_slice(&offset.subsec_nanos().to_be_bytes());
}

fn version_code(version: Version) -> u8 {
    match version {
        Version::HTTP_09 => 0,
        Version::HTTP_10 => 1,
        Version::HTTP_2 => 3,
        Version::HTTP_3 => 4,
        _ => 2,
    }
}

fn version_of(code: u8) -> Result<Version, Corruption> {
    match code {
        0 => Ok(Version::HTTP_09),
        1 => Ok(Version::HTTP_10),
        2 => Ok(Version::HTTP_11),
        3 => Ok(Version::HTTP_2),
        4 => Ok(Version::HTTP_3),
        _ => Err(Corruption::Malformed("version")),
    }
}

#[cfg(test)]
#[path = "entry_codec_tests.rs"]
mod tests;
