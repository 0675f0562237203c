use std::error::Error as _;

use http::Response;
use proptest::prelude::*;

use super::*;

fn sample(url: &'static str, handshake: Option<Handshake>) -> CachedResponse {
    let (parts, ()) = Response::builder()
        .status(StatusCode::NON_AUTHORITATIVE_INFORMATION)
        .version(Version::HTTP_2)
        .header("cache-control", "max-age=60")
        .header("set-cookie", "a=1")
        .header("set-cookie", "b=2")
        .header(
            "x-opaque",
            HeaderValue::from_bytes(b"caf\xe9 \x80").unwrap(),
        )
        .header("vary", "Accept-Language")
        .body(())
        .unwrap()
        .into_parts();
    let mut request = HeaderMap::new();
    request.append("accept-language", HeaderValue::from_static("fr-CA"));
    request.append("accept-language", HeaderValue::from_static("en"));
    let sent = SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
    CachedResponse::new(Uri::from_static(url), Method::GET, &parts)
        .with_vary_headers_from(&request)
        .with_times(sent, sent + Duration::from_nanos(42_000_001))
        .with_handshake(handshake)
}

fn handshake() -> Handshake {
    Handshake::new(
        ProtocolVersion::TLSv1_3,
        CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
        vec![
            CertificateDer::from(vec![0x30, 0x82, 1, 2, 3]),
            CertificateDer::from(vec![0x30; 700]),
        ],
        vec![CertificateDer::from(vec![9, 9, 9])],
    )
}

fn corruption(bytes: &[u8]) -> Corruption {
    let error = CachedResponse::decode(bytes).unwrap_err();
    assert!(error.is_cache(), "{error}");
    *error
        .source()
        .and_then(|source| source.downcast_ref::<Corruption>())
        .unwrap()
}

/// `bytes` with its checksum recomputed, as a buggy or foreign writer would produce it.
fn resealed(mut bytes: Vec<u8>) -> Vec<u8> {
    let body_len = bytes.len() - CHECKSUM_LEN;
    bytes.truncate(body_len);
    let checksum = Sha256::digest(&bytes);
    bytes.extend_from_slice(&checksum);
    bytes
}

#[test]
fn http_entry_round_trips() {
    let entry = sample("http://a.test/p?q=1", None);
    let decoded = CachedResponse::decode(&entry.encode()).unwrap();
    assert_eq!(decoded, entry);
    let cookies: Vec<_> = decoded.headers().get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    let languages: Vec<_> = decoded
        .vary_headers()
        .get_all("accept-language")
        .iter()
        .collect();
    assert_eq!(languages, ["fr-CA", "en"]);
}

#[test]
fn https_entry_round_trips_with_its_handshake() {
    let entry = sample("https://a.test/", Some(handshake()));
    let decoded = CachedResponse::decode(&entry.encode()).unwrap();
    assert_eq!(decoded.handshake(), Some(&handshake()));
    assert_eq!(decoded, entry);
}

#[test]
fn every_version_and_odd_times_round_trip() {
    for version in [
        Version::HTTP_09,
        Version::HTTP_10,
        Version::HTTP_11,
        Version::HTTP_2,
        Version::HTTP_3,
    ] {
        let mut entry = sample("http://a.test/", None);
        entry.version = version;
        entry.sent_at = SystemTime::UNIX_EPOCH - Duration::new(86_400, 5);
        entry.received_at = SystemTime::UNIX_EPOCH;
        assert_eq!(CachedResponse::decode(&entry.encode()).unwrap(), entry);
    }
}

#[test]
fn an_empty_entry_round_trips() {
    let (parts, ()) = Response::new(()).into_parts();
    let entry = CachedResponse::new(Uri::from_static("/"), Method::GET, &parts);
    assert_eq!(CachedResponse::decode(&entry.encode()).unwrap(), entry);
}

#[test]
fn the_format_starts_with_magic_and_version() {
    let bytes = sample("http://a.test/", None).encode();
    assert_eq!(&bytes[..4], b"OKTC");
    assert_eq!(&bytes[4..6], &[0, 1]);
    let payload_len = u32::from_be_bytes(bytes[6..10].try_into().unwrap()) as usize;
    assert_eq!(bytes.len(), PREAMBLE_LEN + payload_len + CHECKSUM_LEN);
}

#[test]
fn every_truncation_is_detected() {
    let bytes = sample("https://a.test/", Some(handshake())).encode();
    for len in 0..bytes.len() {
        let found = corruption(&bytes[..len]);
        assert_eq!(found, Corruption::Truncated, "truncated to {len}");
    }
}

#[test]
fn every_flipped_byte_is_detected() {
    let bytes = sample("https://a.test/", Some(handshake())).encode();
    for index in 0..bytes.len() {
        for flip in [0x01, 0x80, 0xff] {
            let mut damaged = bytes.clone();
            damaged[index] ^= flip;
            let error = CachedResponse::decode(&damaged).unwrap_err();
            assert!(error.is_cache(), "byte {index}");
        }
    }
}

#[test]
fn damage_is_classified() {
    let bytes = sample("http://a.test/", None).encode();
    let mut wrong_magic = bytes.clone();
    wrong_magic[0] = b'X';
    assert_eq!(corruption(&wrong_magic), Corruption::BadMagic);
    assert_eq!(corruption(b"GET / HTTP/1.1\r\n"), Corruption::BadMagic);

    let mut future = bytes.clone();
    future[5] = 2;
    assert_eq!(corruption(&future), Corruption::UnsupportedVersion(2));

    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(corruption(&longer), Corruption::TrailingBytes);

    let mut flipped = bytes.clone();
    flipped[20] ^= 0x10;
    assert_eq!(corruption(&flipped), Corruption::ChecksumMismatch);

    let mut huge_length = bytes;
    huge_length[6..10].copy_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(corruption(&huge_length), Corruption::Truncated);
}

#[test]
fn errors_name_what_is_wrong() {
    let error = CachedResponse::decode(b"OKTC").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Cache);
    assert_eq!(
        error.to_string(),
        "cache entry unusable: cache entry is truncated"
    );
}

#[test]
fn invalid_fields_under_a_valid_checksum_are_malformed() {
    let entry = sample("http://a.test/", None);
    let bytes = entry.encode();
    let payload_start = PREAMBLE_LEN;
    // The URL's length prefix, then the URL.
    let url_len = entry.url.to_string().len();
    let method_at = payload_start + 4 + url_len;

    let mut bad_url = bytes.clone();
    bad_url[payload_start + 4] = b' ';
    assert_eq!(corruption(&resealed(bad_url)), Corruption::Malformed("url"));

    let mut bad_method = bytes.clone();
    bad_method[method_at + 4] = b' ';
    assert_eq!(
        corruption(&resealed(bad_method)),
        Corruption::Malformed("method")
    );

    let mut long_url = bytes.clone();
    long_url[payload_start..payload_start + 4].copy_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(
        corruption(&resealed(long_url)),
        Corruption::Malformed("url")
    );
}

#[test]
fn a_huge_count_is_refused_before_allocating() {
    // A payload holding only a URL, a method, and a vary-header count of 4 billion.
    let mut payload = Vec::new();
    put_bytes(&mut payload, b"http://a.test/");
    put_bytes(&mut payload, b"GET");
    payload.extend_from_slice(&u32::MAX.to_be_bytes());
    let mut bytes = Vec::new();
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
    bytes.extend_from_slice(&length(payload.len()).to_be_bytes());
    bytes.extend_from_slice(&payload);
    bytes.extend_from_slice(&Sha256::digest(&bytes));
    assert_eq!(corruption(&bytes), Corruption::Malformed("header count"));
}

#[test]
fn a_payload_with_leftover_bytes_is_malformed() {
    let mut bytes = sample("http://a.test/", None).encode();
    let payload_end = bytes.len() - CHECKSUM_LEN;
    bytes.insert(payload_end, 0);
    let payload_len = u32::from_be_bytes(bytes[6..10].try_into().unwrap()) + 1;
    bytes[6..10].copy_from_slice(&payload_len.to_be_bytes());
    assert_eq!(
        corruption(&resealed(bytes)),
        Corruption::Malformed("payload length")
    );
}

fn sealed(payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
    bytes.extend_from_slice(&length(payload.len()).to_be_bytes());
    bytes.extend_from_slice(payload);
    bytes.extend_from_slice(&Sha256::digest(&bytes));
    bytes
}

proptest! {
    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = CachedResponse::decode(&bytes);
        let mut with_magic = MAGIC.to_vec();
        with_magic.extend_from_slice(&bytes);
        let _ = CachedResponse::decode(&with_magic);
    }

    #[test]
    fn sealed_garbage_never_panics(payload in proptest::collection::vec(any::<u8>(), 0..512)) {
        let result = CachedResponse::decode(&sealed(&payload));
        if let Err(error) = result {
            prop_assert!(error.is_cache());
        }
    }

    #[test]
    fn mutated_entries_never_panic_or_decode_wrong(
        index in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        reseal in any::<bool>(),
    ) {
        let entry = sample("https://a.test/", Some(handshake()));
        let mut bytes = entry.encode();
        let at = index.index(bytes.len());
        let changed = bytes[at] != byte;
        bytes[at] = byte;
        let bytes = if reseal { resealed(bytes) } else { bytes };
        match CachedResponse::decode(&bytes) {
            // Without resealing, any change is caught by the checksum.
            Ok(decoded) => prop_assert!(reseal || !changed || decoded == entry),
            Err(error) => prop_assert!(error.is_cache()),
        }
    }
}
