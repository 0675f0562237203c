//! Transparent decompression through the bridge, with bodies compressed by the same codecs.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_compression::Level;
use async_compression::tokio::bufread::{BrotliEncoder, GzipEncoder, ZlibEncoder, ZstdEncoder};
use async_compression::zstd::CParameter;
use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::{BodyExt, Empty};
use tokio::io::AsyncReadExt;
use tower::{Layer, ServiceExt, service_fn};

use super::test_body::TestBody;
use super::*;
use crate::{BoxError, Error, ErrorKind};

const URL: &str = "https://example.com/data";

/// Test bodies are compressed quickly: brotli's best quality is slow in debug builds.
const FAST: Level = Level::Fastest;

async fn encode(encoding: &str, data: &[u8]) -> Bytes {
    let mut out = Vec::new();
    let read = match encoding {
        "gzip" => {
            GzipEncoder::with_quality(data, FAST)
                .read_to_end(&mut out)
                .await
        }
        "deflate" => {
            ZlibEncoder::with_quality(data, FAST)
                .read_to_end(&mut out)
                .await
        }
        "br" => {
            BrotliEncoder::with_quality(data, FAST)
                .read_to_end(&mut out)
                .await
        }
        "zstd" => {
            ZstdEncoder::with_quality(data, FAST)
                .read_to_end(&mut out)
                .await
        }
        other => panic!("no encoder for {other}"),
    };
    read.expect("in-memory encoding");
    Bytes::from(out)
}

/// Text that compresses well but not to nothing: several decoded frames' worth.
fn text() -> Vec<u8> {
    (0..5_000)
        .flat_map(|line| format!("line {line} of the response\n").into_bytes())
        .collect()
}

/// `body` split into chunks of `size` bytes, as a network would deliver it.
fn chunked(body: &Bytes, size: usize) -> Vec<Bytes> {
    (0..body.len())
        .step_by(size)
        .map(|start| body.slice(start..body.len().min(start + size)))
        .collect()
}

/// Sends `request` through `layer` to a server answering with `response`; returns the
/// response and the request headers the server saw.
async fn exchange(
    layer: &BridgeLayer,
    request: Request<Empty<Bytes>>,
    response: Response<TestBody>,
) -> (Response<ResponseBody<TestBody>>, HeaderMap) {
    let (sent_tx, sent_rx) = tokio::sync::oneshot::channel();
    let sent_tx = std::sync::Mutex::new(Some(sent_tx));
    let response = std::sync::Mutex::new(Some(response));
    let server = service_fn(move |request: Request<Empty<Bytes>>| {
        if let Some(sent_tx) = sent_tx.lock().expect("not poisoned").take() {
            let _ = sent_tx.send(request.headers().clone());
        }
        let response = response
            .lock()
            .expect("not poisoned")
            .take()
            .expect("one call");
        async move { Ok::<_, Infallible>(response) }
    });
    let response = layer
        .layer(server)
        .oneshot(request)
        .await
        .expect("infallible");
    (response, sent_rx.await.expect("the server was called"))
}

fn request(method: Method, headers: &[(&'static str, &'static str)]) -> Request<Empty<Bytes>> {
    let mut builder = Request::builder().method(method).uri(URL);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Empty::new()).expect("valid request")
}

fn encoded_response(status: StatusCode, encoding: &str, body: TestBody) -> Response<TestBody> {
    Response::builder()
        .status(status)
        .header(CONTENT_ENCODING, encoding)
        .header(CONTENT_LENGTH, "1234")
        .body(body)
        .expect("valid response")
}

async fn collect(body: ResponseBody<TestBody>) -> Result<Bytes, Error> {
    Ok(body.collect().await?.to_bytes())
}

#[tokio::test]
async fn gzip_deflate_br_and_zstd_are_decoded_transparently() {
    let original = text();
    for encoding in ["gzip", "deflate", "br", "zstd", "x-gzip", "GZip"] {
        let encoder = if encoding == "x-gzip" || encoding == "GZip" {
            "gzip"
        } else {
            encoding
        };
        let compressed = encode(encoder, &original).await;
        assert!(
            compressed.len() * 4 < original.len(),
            "{encoding} compresses"
        );
        let body = TestBody::chunks(chunked(&compressed, 7), None);
        let response = encoded_response(StatusCode::OK, encoding, body);
        let (response, sent) =
            exchange(&BridgeLayer::new(), request(Method::GET, &[]), response).await;
        assert_eq!(sent["accept-encoding"], "gzip, deflate, br, zstd");
        assert!(response.body().is_decompressing(), "{encoding}");
        assert!(
            !response.headers().contains_key(CONTENT_ENCODING),
            "{encoding}"
        );
        assert!(
            !response.headers().contains_key(CONTENT_LENGTH),
            "{encoding}"
        );
        let decoded = collect(response.into_body()).await.expect("decodes");
        assert!(decoded == original, "{encoding} decodes to the original");
    }
}

#[tokio::test]
async fn trailers_follow_the_decoded_data() {
    for encoding in ["gzip", "deflate", "br", "zstd"] {
        let compressed = encode(encoding, b"with trailers").await;
        let mut trailers = HeaderMap::new();
        trailers.insert("x-checksum", "abc".parse().expect("valid"));
        let body = TestBody::chunks(chunked(&compressed, 5), Some(trailers));
        let response = encoded_response(StatusCode::OK, encoding, body);
        let (response, _) =
            exchange(&BridgeLayer::new(), request(Method::GET, &[]), response).await;
        let collected = response.into_body().collect().await.expect("decodes");
        let trailers = collected.trailers().expect(encoding);
        assert_eq!(trailers["x-checksum"], "abc");
        assert_eq!(collected.to_bytes(), "with trailers");
    }
}

#[tokio::test]
async fn the_compressed_body_is_read_to_its_end() {
    // The end of the inner body is what releases its connection, so it is always reached.
    for encoding in ["gzip", "deflate", "br", "zstd"] {
        let compressed = encode(encoding, b"to the end").await;
        let ended = Arc::new(AtomicUsize::new(0));
        let seen_end = Arc::clone(&ended);
        let frames = chunked(&compressed, 3)
            .into_iter()
            .map(|chunk| Ok(Frame::data(chunk)))
            .chain(std::iter::from_fn(move || {
                seen_end.fetch_add(1, Ordering::Relaxed);
                None
            }));
        let response = encoded_response(StatusCode::OK, encoding, TestBody::new(frames));
        let (response, _) =
            exchange(&BridgeLayer::new(), request(Method::GET, &[]), response).await;
        let mut body = response.into_body();
        let mut decoded = Vec::new();
        while let Some(frame) = body.frame().await {
            decoded.extend_from_slice(&frame.expect("decodes").into_data().expect("data"));
        }
        assert_eq!(decoded, b"to the end", "{encoding}");
        assert!(
            ended.load(Ordering::Relaxed) >= 1,
            "{encoding}: inner body read to its end"
        );
        assert!(http_body::Body::is_end_stream(&body));
    }
}

#[tokio::test]
async fn data_after_the_compressed_stream_is_a_protocol_error() {
    for encoding in ["deflate", "br", "gzip"] {
        let mut body = encode(encoding, b"payload").await.to_vec();
        body.extend_from_slice(b"garbage");
        let response = encoded_response(StatusCode::OK, encoding, TestBody::bytes(body));
        let (response, _) =
            exchange(&BridgeLayer::new(), request(Method::GET, &[]), response).await;
        let error = collect(response.into_body()).await.expect_err(encoding);
        assert!(error.is_protocol(), "{encoding}: {error:?}");
        assert_eq!(error.url(), Some(URL));
    }
}

#[tokio::test]
async fn concatenated_gzip_members_are_all_decoded() {
    let mut body = encode("gzip", b"hello ").await.to_vec();
    body.extend_from_slice(&encode("gzip", b"world").await);
    let response = encoded_response(StatusCode::OK, "gzip", TestBody::bytes(body));
    let (response, _) = exchange(&BridgeLayer::new(), request(Method::GET, &[]), response).await;
    assert_eq!(
        collect(response.into_body()).await.expect("decodes"),
        "hello world"
    );
}

#[tokio::test]
async fn a_user_set_accept_encoding_leaves_the_body_encoded() {
    let compressed = encode("gzip", b"still compressed").await;
    let response = encoded_response(StatusCode::OK, "gzip", TestBody::bytes(compressed.clone()));
    let request = request(Method::GET, &[("accept-encoding", "gzip")]);
    let (response, sent) = exchange(&BridgeLayer::new(), request, response).await;
    assert_eq!(sent["accept-encoding"], "gzip");
    assert!(!response.body().is_decompressing());
    assert_eq!(response.headers()[CONTENT_ENCODING], "gzip");
    assert_eq!(response.headers()[CONTENT_LENGTH], "1234");
    assert_eq!(
        collect(response.into_body()).await.expect("body"),
        compressed
    );
}

#[tokio::test]
async fn range_requests_ask_for_no_encoding_and_get_the_body_as_sent() {
    let compressed = encode("gzip", b"a range of bytes").await;
    // A server that compresses anyway is not second-guessed: the bytes are the range.
    let response = encoded_response(
        StatusCode::PARTIAL_CONTENT,
        "gzip",
        TestBody::bytes(compressed.clone()),
    );
    let request = request(Method::GET, &[("range", "bytes=0-99")]);
    let (response, sent) = exchange(&BridgeLayer::new(), request, response).await;
    assert!(!sent.contains_key("accept-encoding"));
    assert!(!response.body().is_decompressing());
    assert_eq!(response.headers()[CONTENT_ENCODING], "gzip");
    assert_eq!(
        collect(response.into_body()).await.expect("body"),
        compressed
    );
}

#[tokio::test]
async fn head_204_and_304_responses_keep_their_content_encoding() {
    for (method, status) in [
        (Method::HEAD, StatusCode::OK),
        (Method::GET, StatusCode::NO_CONTENT),
        (Method::GET, StatusCode::NOT_MODIFIED),
    ] {
        let response = encoded_response(status, "gzip", TestBody::chunks(Vec::new(), None));
        let (response, _) =
            exchange(&BridgeLayer::new(), request(method.clone(), &[]), response).await;
        assert!(!response.body().is_decompressing(), "{method} {status}");
        assert_eq!(
            response.headers()[CONTENT_ENCODING],
            "gzip",
            "{method} {status}"
        );
        assert_eq!(
            response.headers()[CONTENT_LENGTH],
            "1234",
            "{method} {status}"
        );
        assert!(
            collect(response.into_body())
                .await
                .expect("empty")
                .is_empty()
        );
    }
}

#[tokio::test]
async fn unknown_or_stacked_codings_pass_through() {
    for encoding in ["compress", "gzip, br", "identity"] {
        let response = encoded_response(StatusCode::OK, encoding, TestBody::bytes("raw"));
        let (response, _) =
            exchange(&BridgeLayer::new(), request(Method::GET, &[]), response).await;
        assert!(!response.body().is_decompressing(), "{encoding}");
        assert_eq!(response.headers()[CONTENT_ENCODING], encoding);
        assert_eq!(collect(response.into_body()).await.expect("body"), "raw");
    }
}

#[tokio::test]
async fn corrupt_and_truncated_bodies_are_protocol_errors_naming_the_url() {
    let compressed = encode("gzip", &text()).await;
    for (name, body) in [
        ("corrupt", Bytes::from_static(b"this is not gzip at all")),
        ("truncated", compressed.slice(..compressed.len() / 2)),
    ] {
        let response = encoded_response(StatusCode::OK, "gzip", TestBody::bytes(body));
        let (response, _) =
            exchange(&BridgeLayer::new(), request(Method::GET, &[]), response).await;
        let error = collect(response.into_body()).await.expect_err(name);
        assert!(error.is_protocol(), "{name}: {error:?}");
        assert_eq!(error.url(), Some(URL), "{name}");
        assert!(error.to_string().contains("gzip"), "{name}: {error}");
    }
}

#[tokio::test]
async fn a_zstd_window_over_8_mib_is_refused() {
    let mut compressed = Vec::new();
    let params = [CParameter::window_log(25)];
    let data = vec![7u8; 4096];
    ZstdEncoder::with_quality_and_params(&data[..], Level::Default, &params)
        .read_to_end(&mut compressed)
        .await
        .expect("in-memory encoding");
    let response = encoded_response(StatusCode::OK, "zstd", TestBody::bytes(compressed));
    let (response, _) = exchange(&BridgeLayer::new(), request(Method::GET, &[]), response).await;
    let error = collect(response.into_body())
        .await
        .expect_err("window too large");
    assert!(error.is_protocol(), "{error:?}");
}

#[tokio::test]
async fn a_failure_of_the_compressed_body_comes_out_unchanged() {
    let compressed = encode("br", &text()).await;
    let frames: Vec<Result<Frame<Bytes>, BoxError>> = vec![
        Ok(Frame::data(compressed.slice(..100))),
        Err(Box::new(Error::new(ErrorKind::Timeout, "read timed out"))),
    ];
    let body = TestBody::new(frames.into_iter());
    let response = encoded_response(StatusCode::OK, "br", body);
    let (response, _) = exchange(&BridgeLayer::new(), request(Method::GET, &[]), response).await;
    let error = collect(response.into_body()).await.expect_err("fails");
    assert!(error.is_timeout(), "{error:?}");
    assert_eq!(error.message(), "read timed out");
}

/// A body of `members` gzip members, each `member`, counting how many were read.
fn gzip_members(member: Bytes, members: usize, read: &Arc<AtomicUsize>) -> TestBody {
    let read = Arc::clone(read);
    TestBody::new(std::iter::repeat_n(member, members).map(move |member| {
        read.fetch_add(1, Ordering::Relaxed);
        Ok(Frame::data(member))
    }))
}

#[tokio::test]
async fn a_gzip_bomb_is_stopped_at_the_limit() {
    const MIB: usize = 1024 * 1024;
    let zeros = vec![0u8; MIB];
    let mut member = Vec::new();
    GzipEncoder::with_quality(&zeros[..], Level::Best)
        .read_to_end(&mut member)
        .await
        .expect("in-memory encoding");
    let member = Bytes::from(member);
    assert!(
        member.len() < 8 * 1024,
        "1 MiB of zeros compresses to {} bytes",
        member.len()
    );
    // 10 GiB when decoded, from about 10 MB on the wire, streamed and never held.
    let members = 10 * 1024;
    let read = Arc::new(AtomicUsize::new(0));
    let response = encoded_response(StatusCode::OK, "gzip", gzip_members(member, members, &read));
    let layer = BridgeLayer::new().max_decompressed_size(Some(4 * MIB as u64));
    let (response, _) = exchange(&layer, request(Method::GET, &[]), response).await;

    let mut body = response.into_body();
    let mut delivered = 0;
    let error = loop {
        match body.frame().await.expect("fails before the end") {
            Ok(frame) => delivered += frame.into_data().expect("data").len(),
            Err(error) => break error,
        }
    };
    assert!(error.is_too_large(), "{error:?}");
    assert_eq!(error.kind(), ErrorKind::TooLarge);
    assert_eq!(error.url(), Some(URL));
    assert!(
        error.to_string().contains(&(4 * MIB).to_string()),
        "{error}"
    );
    assert!(delivered <= 4 * MIB, "{delivered} bytes delivered");
    assert!(
        read.load(Ordering::Relaxed) <= 6,
        "read only what the limit needs"
    );
    assert!(http_body::Body::is_end_stream(&body));
    assert!(body.frame().await.is_none(), "nothing after the error");
}

#[tokio::test]
async fn the_limit_is_inclusive_and_can_be_lifted() {
    let data = vec![b'x'; 10_000];
    let compressed = encode("zstd", &data).await;
    for (limit, fits) in [(Some(9_999), false), (Some(10_000), true), (None, true)] {
        let response =
            encoded_response(StatusCode::OK, "zstd", TestBody::bytes(compressed.clone()));
        let layer = BridgeLayer::new().max_decompressed_size(limit);
        let (response, _) = exchange(&layer, request(Method::GET, &[]), response).await;
        let result = collect(response.into_body()).await;
        assert_eq!(result.is_ok(), fits, "limit {limit:?}");
        if let Err(error) = result {
            assert!(error.is_too_large());
        }
    }
    assert_eq!(DEFAULT_MAX_DECOMPRESSED_SIZE, 64 * 1024 * 1024);
    assert!(format!("{:?}", BridgeLayer::new()).contains("max_decompressed_size: Some(67108864)"));
}
