//! The Client's redirects end to end: codes, methods and bodies, limits, scheme switches,
//! credentials across origins, and the redirects it declines to follow. The 408, 503 and 421
//! retries are in `client_follow_up_retries.rs`.

mod support;

use bytes::Bytes;
use http::StatusCode;
use http_body_util::Full;
use oktower::{ErrorKind, RequestBody};
use oktower_testkit::{MockResponse, MockWebServer, RecordedRequest};
use support::client::*;
use support::tls_world::TlsWorld;

fn redirect(code: u16, location: &str) -> MockResponse {
    MockResponse::new()
        .status(code)
        .header("Location", location.to_owned())
        .body("moved")
}

fn url(server: &MockWebServer, host: &str, path: &str) -> String {
    server.url_with_host("http", host, path)
}

// ---------------------------------------------------------------------------------------------
// Redirects

#[tokio::test]
async fn a_chain_of_redirect_codes_is_kept_as_prior_responses() {
    let server = MockWebServer::start().await.unwrap();
    let client = client_for(&["a.test"]);
    let codes = [301, 302, 303, 307, 308];
    for (i, code) in codes.iter().enumerate() {
        server.enqueue(redirect(*code, &format!("/{}", i + 1)));
    }
    server.enqueue(MockResponse::new().body("landed"));

    let response = client
        .get(url(&server, "a.test", "/0"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.url().unwrap().to_string(),
        url(&server, "a.test", "/5")
    );
    let chain: Vec<(u16, String)> = response
        .prior_response()
        .unwrap()
        .iter()
        .map(|prior| (prior.status().as_u16(), prior.uri().path().to_owned()))
        .collect();
    let expected: Vec<(u16, String)> = codes
        .iter()
        .enumerate()
        .rev()
        .map(|(i, code)| (*code, format!("/{i}")))
        .collect();
    assert_eq!(chain, expected);
    assert_eq!(response.text().await.unwrap(), "landed");

    // Every redirect's body was read off, so one connection carried the six exchanges.
    for exchange in 0..6 {
        let request = next_request(&server).await;
        assert_eq!(request.path(), format!("/{exchange}"));
        assert_eq!(request.method(), "GET");
        assert_eq!(request.connection_index(), 0);
        assert_eq!(request.exchange_index(), exchange);
    }
    assert_pool(&client, 1);
}

#[tokio::test]
async fn a_post_redirected_by_301_302_or_303_becomes_a_get_without_its_body() {
    let server = MockWebServer::start().await.unwrap();
    let client = client_for(&["a.test"]);
    for code in [301, 302, 303] {
        server.enqueue(redirect(code, "/landing"));
        server.enqueue(MockResponse::new().body("done"));
        let response = client
            .post(url(&server, "a.test", "/form"))
            .header("content-type", "text/plain")
            .body("name=value")
            .send()
            .await
            .unwrap();
        assert_eq!(response.prior_response().unwrap().method(), "POST");
        assert_eq!(response.text().await.unwrap(), "done");

        let posted = next_request(&server).await;
        assert_eq!(posted.method(), "POST", "{code}");
        assert_eq!(posted.body_text(), "name=value");
        assert_eq!(posted.header("content-length"), Some("10"));
        let followed = next_request(&server).await;
        assert_eq!(followed.method(), "GET", "{code}");
        assert_eq!(followed.path(), "/landing");
        assert!(followed.body().is_empty(), "{code}");
        for gone in ["content-type", "content-length", "transfer-encoding"] {
            assert_eq!(followed.header(gone), None, "{code}: {gone}");
        }
    }
    assert_pool(&client, 1);
}

#[tokio::test]
async fn redirects_307_and_308_keep_the_method_and_the_body() {
    let server = MockWebServer::start().await.unwrap();
    let client = client_for(&["a.test"]);
    server.enqueue(redirect(307, "/second"));
    server.enqueue(redirect(308, "/third"));
    server.enqueue(MockResponse::new().body("stored"));
    let response = client
        .put(url(&server, "a.test", "/first"))
        .header("content-type", "application/json")
        .body(r#"{"k":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "stored");
    for path in ["/first", "/second", "/third"] {
        let request = next_request(&server).await;
        assert_eq!(request.path(), path);
        assert_eq!(request.method(), "PUT", "{path}");
        assert_eq!(request.body_text(), r#"{"k":1}"#, "{path}");
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(request.header("content-length"), Some("7"));
    }
    assert_pool(&client, 1);
}

#[tokio::test]
async fn twenty_follow_ups_are_followed() {
    let server = MockWebServer::start().await.unwrap();
    let client = client_for(&["a.test"]);
    for hop in 1..=20 {
        server.enqueue(redirect(302, &format!("/{hop}")));
    }
    server.enqueue(MockResponse::new().body("twenty"));
    let response = client
        .get(url(&server, "a.test", "/0"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.prior_response().unwrap().iter().count(), 20);
    assert_eq!(response.url().unwrap().path(), "/20");
    assert_eq!(response.text().await.unwrap(), "twenty");
    assert_eq!(server.request_count(), 21);
    assert_pool(&client, 1);
}

#[tokio::test]
async fn the_twenty_first_follow_up_fails_the_call() {
    let server = MockWebServer::start().await.unwrap();
    let client = client_for(&["a.test"]);
    for hop in 1..=21 {
        server.enqueue(redirect(302, &format!("/{hop}")));
    }
    server.enqueue(MockResponse::new().body("never reached"));
    let error = client
        .get(url(&server, "a.test", "/0"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Protocol);
    assert_eq!(error.message(), "Too many follow-up requests: 21");
    assert_eq!(error.url(), Some(url(&server, "a.test", "/20").as_str()));
    assert_eq!(server.request_count(), 21);
    assert_pool(&client, 1);
}

#[tokio::test]
async fn a_redirect_loop_ends_with_too_many_follow_ups() {
    let server = MockWebServer::builder()
        .default_response(redirect(301, "/loop"))
        .start()
        .await
        .unwrap();
    let client = client_for(&["a.test"]);
    let error = client
        .get(url(&server, "a.test", "/loop"))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_protocol(), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("Too many follow-up requests: 21"),
        "{error}"
    );
    assert_eq!(server.request_count(), 21);
    assert_pool(&client, 1);
}

#[tokio::test]
async fn a_relative_location_resolves_against_the_request_url() {
    let server = MockWebServer::start().await.unwrap();
    let client = client_for(&["a.test"]);
    server.enqueue(redirect(302, "../c/d?x=1#fragment"));
    server.enqueue(MockResponse::new().body("resolved"));
    let response = client
        .get(url(&server, "a.test", "/a/b/page"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.url().unwrap().to_string(),
        url(&server, "a.test", "/a/c/d?x=1")
    );
    response.bytes().await.unwrap();
    next_request(&server).await;
    assert_eq!(next_request(&server).await.target(), "/a/c/d?x=1");
    assert_pool(&client, 1);
}

#[tokio::test]
async fn a_redirect_to_another_host_opens_a_connection_with_that_host() {
    let server = MockWebServer::start().await.unwrap();
    let client = client_for(&["a.test", "b.test"]);
    server.enqueue(redirect(302, &url(&server, "b.test", "/there")));
    server.enqueue(MockResponse::new().body("b"));
    let response = client
        .get(url(&server, "a.test", "/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "b");
    let first = next_request(&server).await;
    let second = next_request(&server).await;
    assert_eq!(
        first.header("host"),
        Some(format!("a.test:{}", server.port()).as_str())
    );
    assert_eq!(
        second.header("host"),
        Some(format!("b.test:{}", server.port()).as_str())
    );
    assert_eq!(second.connection_index(), 1);
    assert_pool(&client, 2);
}

#[tokio::test]
async fn a_location_with_non_ascii_bytes_is_percent_encoded() {
    let server = MockWebServer::start().await.unwrap();
    let client = client_for(&["a.test"]);
    server.enqueue(redirect(302, "/caf\u{e9} menu?q=\u{fc}"));
    server.enqueue(MockResponse::new().body("menu"));
    let response = client
        .get(url(&server, "a.test", "/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "menu");
    next_request(&server).await;
    assert_eq!(
        next_request(&server).await.target(),
        "/caf%C3%A9%20menu?q=%C3%BC"
    );
    assert_pool(&client, 1);
}

#[tokio::test]
async fn a_redirect_with_a_large_body_is_followed_on_a_new_connection() {
    let server = MockWebServer::start().await.unwrap();
    let client = client_for(&["a.test"]);
    // More than the 64 KiB read off a followed-up body: its connection is closed instead.
    server.enqueue(redirect(302, "/next").body(vec![b'x'; 256 * 1024]));
    server.enqueue(MockResponse::new().body("next"));
    let response = client
        .get(url(&server, "a.test", "/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "next");
    assert_eq!(next_request(&server).await.connection_index(), 0);
    assert_eq!(next_request(&server).await.connection_index(), 1);
    assert_pool(&client, 1);
}

#[tokio::test]
async fn a_redirect_whose_body_stalls_is_followed_on_a_new_connection() {
    let server = MockWebServer::start().await.unwrap();
    let client = client_for(&["a.test"]);
    // The body comes long after the 100 ms given to reading off a followed-up body.
    server.enqueue(redirect(302, "/next").body_delay(std::time::Duration::from_secs(30)));
    server.enqueue(MockResponse::new().body("next"));
    let response = client
        .get(url(&server, "a.test", "/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "next");
    assert_eq!(next_request(&server).await.connection_index(), 0);
    assert_eq!(next_request(&server).await.connection_index(), 1);
    assert_pool(&client, 1);
}

#[tokio::test]
async fn redirects_are_not_followed_when_turned_off() {
    let server = MockWebServer::start().await.unwrap();
    let client = builder_for(&["a.test"])
        .follow_redirects(false)
        .build()
        .unwrap();
    server.enqueue(redirect(302, "/elsewhere"));
    let response = client
        .get(url(&server, "a.test", "/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(response.prior_response().is_none());
    assert_eq!(response.headers()["location"], "/elsewhere");
    assert_eq!(response.text().await.unwrap(), "moved");
    assert_eq!(server.request_count(), 1);
    assert_pool(&client, 1);
}

// ---------------------------------------------------------------------------------------------
// Credentials across origins

fn credentials(request: &RecordedRequest) -> [Option<&str>; 3] {
    [
        request.header("authorization"),
        request.header("cookie"),
        request.header("proxy-authorization"),
    ]
}

const SENT: [Option<&str>; 3] = [
    Some("Bearer s3cret"),
    Some("session=1"),
    Some("Basic cHJveHk="),
];

async fn send_with_credentials(client: &oktower::Client, url: String) -> oktower::Response {
    client
        .get(url)
        .bearer_auth("s3cret")
        .header("cookie", "session=1")
        .header("proxy-authorization", "Basic cHJveHk=")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn user_credentials_are_kept_on_a_same_origin_redirect() {
    let server = MockWebServer::start().await.unwrap();
    let client = client_for(&["a.test"]);
    server.enqueue(redirect(302, "/same-origin"));
    server.enqueue(MockResponse::new().body("ok"));
    let response = send_with_credentials(&client, url(&server, "a.test", "/")).await;
    response.bytes().await.unwrap();
    assert_eq!(credentials(&next_request(&server).await), SENT);
    assert_eq!(credentials(&next_request(&server).await), SENT);
    assert_pool(&client, 1);
}

#[tokio::test]
async fn user_credentials_are_not_sent_to_another_host() {
    let server = MockWebServer::start().await.unwrap();
    let client = client_for(&["a.test", "b.test"]);
    server.enqueue(redirect(302, &url(&server, "b.test", "/")));
    server.enqueue(MockResponse::new().body("ok"));
    let response = send_with_credentials(&client, url(&server, "a.test", "/")).await;
    response.bytes().await.unwrap();
    assert_eq!(credentials(&next_request(&server).await), SENT);
    assert_eq!(credentials(&next_request(&server).await), [None; 3]);
    assert_pool(&client, 2);
}

#[tokio::test]
async fn user_credentials_are_not_sent_to_another_port() {
    let first = MockWebServer::start().await.unwrap();
    let second = MockWebServer::start().await.unwrap();
    let client = client_for(&["a.test"]);
    first.enqueue(redirect(307, &url(&second, "a.test", "/")));
    second.enqueue(MockResponse::new().body("ok"));
    let response = send_with_credentials(&client, url(&first, "a.test", "/")).await;
    response.bytes().await.unwrap();
    assert_eq!(credentials(&next_request(&first).await), SENT);
    assert_eq!(credentials(&next_request(&second).await), [None; 3]);
    assert_pool(&client, 2);
}

// ---------------------------------------------------------------------------------------------
// Switching between http and https

/// A plain server for `a.test` redirecting to the TLS origin of `world`, and a client that
/// trusts it.
async fn ssl_redirect_world(
    configure: impl FnOnce(oktower::ClientBuilder) -> oktower::ClientBuilder,
) -> (TlsWorld, MockWebServer, oktower::Client) {
    let world = TlsWorld::origin().await;
    let plain = MockWebServer::start().await.unwrap();
    plain.enqueue(redirect(302, &world.url()));
    let client = configure(builder_for(&["a.test"]).tls(world.tls()))
        .build()
        .unwrap();
    (world, plain, client)
}

#[tokio::test]
async fn an_http_to_https_redirect_is_followed_by_default() {
    let (world, plain, client) = ssl_redirect_world(|b| b).await;
    let response = send_with_credentials(&client, url(&plain, "a.test", "/")).await;
    assert_eq!(response.url().unwrap().scheme_str(), Some("https"));
    assert!(response.handshake().is_some());
    assert_eq!(response.prior_response().unwrap().status(), 302);
    assert_eq!(response.text().await.unwrap(), "origin");
    assert!(!next_request(&plain).await.is_tls());
    let secure = world.next().await;
    assert!(secure.is_tls());
    // Another origin: the credentials stay behind, even on an upgrade of the same host.
    assert_eq!(credentials(&secure), [None; 3]);
    assert_pool(&client, 2);
}

#[tokio::test]
async fn an_https_upgrade_keeps_authorization_when_asked() {
    let (world, plain, client) =
        ssl_redirect_world(|b| b.keep_authorization_on_https_upgrade(true)).await;
    let response = send_with_credentials(&client, url(&plain, "a.test", "/")).await;
    assert_eq!(response.text().await.unwrap(), "origin");
    next_request(&plain).await;
    let secure = world.next().await;
    assert_eq!(credentials(&secure), [Some("Bearer s3cret"), None, None]);
    assert_pool(&client, 2);
}

#[tokio::test]
async fn an_http_to_https_redirect_is_not_followed_without_follow_ssl_redirects() {
    let (world, plain, client) = ssl_redirect_world(|b| b.follow_ssl_redirects(false)).await;
    let response = client.get(url(&plain, "a.test", "/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.url().unwrap().scheme_str(), Some("http"));
    assert_eq!(response.text().await.unwrap(), "moved");
    assert_eq!(world.server.request_count(), 0);
    assert_pool(&client, 1);
}

#[tokio::test]
async fn an_https_to_http_redirect_follows_the_same_setting() {
    for follow in [true, false] {
        let world = TlsWorld::origin().await;
        let plain = MockWebServer::start().await.unwrap();
        plain.enqueue(MockResponse::new().body("plain"));
        world
            .server
            .enqueue(redirect(301, &url(&plain, "a.test", "/down")));
        let client = builder_for(&["a.test"])
            .tls(world.tls())
            .follow_ssl_redirects(follow)
            .build()
            .unwrap();
        let response = client.get(world.url()).send().await.unwrap();
        if follow {
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.text().await.unwrap(), "plain");
            assert_eq!(plain.request_count(), 1);
            assert_pool(&client, 2);
        } else {
            assert_eq!(response.status(), StatusCode::MOVED_PERMANENTLY);
            assert_eq!(response.text().await.unwrap(), "moved");
            assert_eq!(plain.request_count(), 0);
            assert_pool(&client, 1);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Redirects that are not followed

#[tokio::test]
async fn a_redirect_without_a_usable_location_is_the_final_response() {
    let server = MockWebServer::start().await.unwrap();
    let client = client_for(&["a.test"]);
    let unusable = [
        MockResponse::new().status(302).body("no location"),
        redirect(302, "ftp://a.test/file").body("ftp"),
        redirect(301, "mailto:someone@a.test").body("mailto"),
        redirect(303, "http://[not-a-host/").body("garbage"),
        redirect(307, "http://").body("no host"),
    ];
    for response in &unusable {
        server.enqueue(response.clone());
        let answer = client
            .get(url(&server, "a.test", "/"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), response.status_code());
        assert!(answer.prior_response().is_none());
        let body = answer.bytes().await.unwrap();
        assert_eq!(&body, response.body_bytes());
    }
    assert_eq!(server.request_count(), unusable.len());
    assert_pool(&client, 1);
}

#[tokio::test]
async fn a_307_with_a_body_that_cannot_be_sent_again_is_the_final_response() {
    let server = MockWebServer::start().await.unwrap();
    let client = client_for(&["a.test"]);
    server.enqueue(redirect(307, "/again"));
    server.enqueue(MockResponse::new().body("must not be asked"));
    let once = RequestBody::streaming(Full::new(Bytes::from_static(b"streamed once")));
    let response = client
        .post(url(&server, "a.test", "/upload"))
        .body(once)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(response.text().await.unwrap(), "moved");
    let request = next_request(&server).await;
    assert_eq!(request.body_text(), "streamed once");
    assert_eq!(server.request_count(), 1);
    assert_pool(&client, 1);
}

#[tokio::test]
async fn a_302_with_a_one_shot_body_is_followed_without_it() {
    let server = MockWebServer::start().await.unwrap();
    let client = client_for(&["a.test"]);
    server.enqueue(redirect(302, "/result"));
    server.enqueue(MockResponse::new().body("result"));
    let once = RequestBody::streaming(Full::new(Bytes::from_static(b"upload")));
    let response = client
        .post(url(&server, "a.test", "/upload"))
        .body(once)
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "result");
    assert_eq!(next_request(&server).await.body_text(), "upload");
    let followed = next_request(&server).await;
    assert_eq!(followed.method(), "GET");
    assert!(followed.body().is_empty());
    assert_pool(&client, 1);
}
