//! The Client's authenticators end to end: answering `401`s, giving up, the 20 follow-up
//! limit, the body sent again on each retry, answers that come later, and failures.

mod support;

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::StatusCode;
use http::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use http_body_util::Full;
use oktower::{
    AuthContext, AuthFuture, Authenticator, BasicAuthenticator, BearerAuthenticator, Error,
    ErrorKind, RequestBody, TokenProvider,
};
use oktower_testkit::{MockResponse, MockWebServer};
use support::client::*;

fn unauthorized(challenge: &str) -> MockResponse {
    MockResponse::new()
        .status(401)
        .header("WWW-Authenticate", challenge.to_owned())
        .body("who are you?")
}

fn url(server: &MockWebServer) -> String {
    server.url_with_host("http", "a.test", "/private")
}

/// Answers every `401` with `Authorization: token-<n>`, n counting the answers from 1, and
/// records the `Authorization` each refused request carried.
#[derive(Default)]
struct Counting {
    asked: AtomicUsize,
    refused: Mutex<Vec<Option<String>>>,
}

impl Authenticator for Counting {
    fn authenticate(&self, context: &AuthContext<'_>) -> AuthFuture {
        let n = self.asked.fetch_add(1, Ordering::SeqCst) + 1;
        let refused = context
            .authorization()
            .map(|value| value.to_str().unwrap().to_owned());
        self.refused.lock().unwrap().push(refused);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, format!("token-{n}").parse().unwrap());
        AuthFuture::headers(headers)
    }
}

#[tokio::test]
async fn basic_credentials_answer_a_basic_challenge() {
    let server = MockWebServer::start().await.unwrap();
    let auth = BasicAuthenticator::new("Aladdin", "open sesame");
    let client = builder_for(&["a.test"])
        .authenticator(auth.clone())
        .build()
        .unwrap();
    server.enqueue(unauthorized("Basic realm=\"staff\""));
    server.enqueue(MockResponse::new().body("welcome"));
    let response = client.get(url(&server)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let prior = response.prior_response().unwrap();
    assert_eq!(prior.status(), StatusCode::UNAUTHORIZED);
    assert!(prior.prior_response().is_none());
    assert_eq!(response.text().await.unwrap(), "welcome");

    assert_eq!(next_request(&server).await.header("authorization"), None);
    let retried = next_request(&server).await;
    assert_eq!(
        retried.header("authorization"),
        Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
    );
    assert_eq!(retried.connection_index(), 0);
    assert_eq!(retried.exchange_index(), 1);
    assert_pool(&client, 1);
}

#[tokio::test]
async fn refused_basic_credentials_end_in_the_401() {
    let server = MockWebServer::builder()
        .default_response(unauthorized("Basic realm=\"staff\""))
        .start()
        .await
        .unwrap();
    let client = builder_for(&["a.test"])
        .authenticator(BasicAuthenticator::new("Aladdin", "wrong"))
        .build()
        .unwrap();
    let response = client.get(url(&server)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.prior_response().unwrap().status(), 401);
    assert_eq!(response.text().await.unwrap(), "who are you?");
    // Asked once, given up once the credentials were refused.
    assert_eq!(server.request_count(), 2);
    assert_pool(&client, 1);
}

#[tokio::test]
async fn a_challenge_of_another_scheme_is_declined() {
    let server = MockWebServer::start().await.unwrap();
    let client = builder_for(&["a.test"])
        .authenticator(BasicAuthenticator::new("user", "pass"))
        .build()
        .unwrap();
    server.enqueue(unauthorized("Digest realm=\"x\", nonce=\"abc\""));
    let response = client.get(url(&server)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.prior_response().is_none());
    response.bytes().await.unwrap();
    assert_eq!(server.request_count(), 1);
    assert_pool(&client, 1);
}

#[tokio::test]
async fn without_an_authenticator_a_401_is_the_response() {
    let server = MockWebServer::start().await.unwrap();
    let client = client_for(&["a.test"]);
    server.enqueue(unauthorized("Basic realm=\"staff\""));
    let response = client.get(url(&server)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let error = response.error_for_status().unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(server.request_count(), 1);
    // The response was dropped unread: its connection is closed, not leaked.
    assert_eq!(client.connection_pool().idle_connection_count(), 0);
    assert_eq!(client.connection_pool().connection_count(), 0);
}

#[tokio::test]
async fn twenty_authentication_retries_succeed_sending_the_body_each_time() {
    let server = MockWebServer::start().await.unwrap();
    let auth = Arc::new(Counting::default());
    let client = builder_for(&["a.test"])
        .authenticator(auth.clone())
        .build()
        .unwrap();
    for _ in 0..20 {
        server.enqueue(unauthorized("Token"));
    }
    server.enqueue(MockResponse::new().body("finally"));
    let response = client
        .post(url(&server))
        .header("content-type", "text/plain")
        .body("payload")
        .send()
        .await
        .unwrap();
    assert_eq!(response.prior_response().unwrap().iter().count(), 20);
    assert_eq!(response.text().await.unwrap(), "finally");
    assert_eq!(auth.asked.load(Ordering::SeqCst), 20);

    for attempt in 0..=20 {
        let request = next_request(&server).await;
        assert_eq!(request.method(), "POST");
        assert_eq!(request.body_text(), "payload", "attempt {attempt}");
        assert_eq!(request.header("content-length"), Some("7"));
        assert_eq!(request.header("content-type"), Some("text/plain"));
        let expected = (attempt > 0).then(|| format!("token-{attempt}"));
        assert_eq!(request.header("authorization"), expected.as_deref());
        assert_eq!(
            request.header_all("authorization").count(),
            usize::from(attempt > 0)
        );
    }
    // The authenticator saw each refused request's credentials.
    let refused = auth.refused.lock().unwrap().clone();
    let expected: Vec<Option<String>> = (0..20)
        .map(|n| (n > 0).then(|| format!("token-{n}")))
        .collect();
    assert_eq!(refused, expected);
    assert_pool(&client, 1);
}

#[tokio::test]
async fn the_twenty_first_authentication_retry_fails_the_call() {
    let server = MockWebServer::builder()
        .default_response(unauthorized("Token"))
        .start()
        .await
        .unwrap();
    let auth = Arc::new(Counting::default());
    let client = builder_for(&["a.test"])
        .authenticator(auth.clone())
        .build()
        .unwrap();
    let error = client
        .post(url(&server))
        .body("payload")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Protocol);
    assert_eq!(error.message(), "Too many follow-up requests: 21");
    assert_eq!(server.request_count(), 21);
    assert_eq!(auth.asked.load(Ordering::SeqCst), 21);
    for _ in 0..21 {
        assert_eq!(next_request(&server).await.body_text(), "payload");
    }
    assert_pool(&client, 1);
}

#[tokio::test]
async fn a_one_shot_body_is_not_sent_again_and_the_authenticator_not_asked() {
    let server = MockWebServer::start().await.unwrap();
    let auth = Arc::new(Counting::default());
    let client = builder_for(&["a.test"])
        .authenticator(auth.clone())
        .build()
        .unwrap();
    server.enqueue(unauthorized("Token"));
    server.enqueue(MockResponse::new().body("must not be asked"));
    let once = RequestBody::streaming(Full::new(Bytes::from_static(b"stream")));
    let response = client.post(url(&server)).body(once).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    response.bytes().await.unwrap();
    assert_eq!(auth.asked.load(Ordering::SeqCst), 0);
    assert_eq!(next_request(&server).await.body_text(), "stream");
    assert_eq!(server.request_count(), 1);
    assert_pool(&client, 1);
}

#[tokio::test]
async fn the_authenticator_replaces_the_users_authorization() {
    let server = MockWebServer::start().await.unwrap();
    let auth = Arc::new(Counting::default());
    let client = builder_for(&["a.test"])
        .authenticator(auth.clone())
        .build()
        .unwrap();
    server.enqueue(unauthorized("Token"));
    server.enqueue(MockResponse::new().body("ok"));
    let response = client
        .get(url(&server))
        .bearer_auth("expired")
        .header("x-kept", "yes")
        .send()
        .await
        .unwrap();
    response.bytes().await.unwrap();
    assert_eq!(
        *auth.refused.lock().unwrap(),
        [Some("Bearer expired".to_owned())]
    );
    next_request(&server).await;
    let retried = next_request(&server).await;
    let values: Vec<&HeaderValue> = retried.header_all("authorization").collect();
    assert_eq!(values, ["token-1"]);
    assert_eq!(retried.header("x-kept"), Some("yes"));
    assert_pool(&client, 1);
}

/// Hands out a fresh token after a pause, as a refresh over the network would.
struct Refreshing {
    issued: AtomicUsize,
}

impl TokenProvider for Refreshing {
    fn token(&self, refused: Option<&str>) -> AuthFuture<Option<String>> {
        let n = self.issued.fetch_add(1, Ordering::SeqCst);
        let refused = refused.map(str::to_owned);
        AuthFuture::new(async move {
            tokio::task::yield_now().await;
            assert_eq!(refused, (n > 0).then(|| format!("t{}", n - 1)));
            Ok(Some(format!("t{n}")))
        })
    }
}

#[tokio::test]
async fn a_token_refreshed_later_answers_the_challenge() {
    let server = MockWebServer::start().await.unwrap();
    let provider = Arc::new(Refreshing {
        issued: AtomicUsize::new(0),
    });
    let client = builder_for(&["a.test"])
        .authenticator(BearerAuthenticator::new(provider.clone()))
        .build()
        .unwrap();
    server.enqueue(unauthorized("Bearer realm=\"api\""));
    server.enqueue(unauthorized("Bearer error=\"invalid_token\""));
    server.enqueue(MockResponse::new().body("data"));
    let response = client.get(url(&server)).send().await.unwrap();
    assert_eq!(response.text().await.unwrap(), "data");
    assert_eq!(provider.issued.load(Ordering::SeqCst), 2);
    let sent: Vec<Option<String>> = [
        next_request(&server).await,
        next_request(&server).await,
        next_request(&server).await,
    ]
    .iter()
    .map(|request| request.header("authorization").map(str::to_owned))
    .collect();
    assert_eq!(
        sent,
        [
            None,
            Some("Bearer t0".to_owned()),
            Some("Bearer t1".to_owned())
        ]
    );
    assert_pool(&client, 1);
}

/// Fails every answer, now or later.
struct Failing {
    later: bool,
}

impl Authenticator for Failing {
    fn authenticate(&self, _context: &AuthContext<'_>) -> AuthFuture {
        let error = Error::new(ErrorKind::Io, "the credential store is locked");
        if self.later {
            AuthFuture::new(async move {
                tokio::task::yield_now().await;
                Err(error)
            })
        } else {
            AuthFuture::failed(error)
        }
    }
}

#[tokio::test]
async fn an_authenticator_failure_fails_the_call_without_leaking() {
    for later in [false, true] {
        let server = MockWebServer::start().await.unwrap();
        let client = builder_for(&["a.test"])
            .authenticator(Failing { later })
            .build()
            .unwrap();
        server.enqueue(unauthorized("Basic realm=\"x\""));
        let error = client.get(url(&server)).send().await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Io, "later: {later}");
        assert_eq!(error.message(), "the credential store is locked");
        assert_eq!(server.request_count(), 1);
        // The 401 was dropped unread: its connection is gone, not held.
        assert_eq!(client.connection_pool().idle_connection_count(), 0);
        assert_eq!(client.connection_pool().connection_count(), 0);
    }
}

/// What an authenticator was shown: the request URL, the status, the route's address and the
/// challenges' schemes.
type Shown = (String, u16, Option<std::net::SocketAddr>, Vec<String>);

/// Records what an authenticator is shown, and gives up.
#[derive(Default)]
struct Inspecting {
    seen: Mutex<Vec<Shown>>,
}

impl Authenticator for Inspecting {
    fn authenticate(&self, context: &AuthContext<'_>) -> AuthFuture {
        let schemes = context
            .challenges()
            .iter()
            .map(|challenge| challenge.scheme().to_owned())
            .collect();
        self.seen.lock().unwrap().push((
            context.request().uri.to_string(),
            context.response().status.as_u16(),
            context.route().map(|route| route.socket_addr()),
            schemes,
        ));
        AuthFuture::give_up()
    }
}

#[tokio::test]
async fn the_authenticator_sees_the_redirected_request_the_response_and_the_route() {
    let server = MockWebServer::start().await.unwrap();
    let auth = Arc::new(Inspecting::default());
    let client = builder_for(&["a.test"])
        .authenticator(auth.clone())
        .build()
        .unwrap();
    server.enqueue(MockResponse::new().status(302).header("Location", "/login"));
    server.enqueue(
        MockResponse::new()
            .status(401)
            .header("WWW-Authenticate", "Basic realm=\"a\"")
            .header("WWW-Authenticate", "Bearer"),
    );
    let response = client.get(url(&server)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.prior_response().unwrap().status(), 302);
    response.bytes().await.unwrap();
    let seen = auth.seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [(
            server.url_with_host("http", "a.test", "/login"),
            401,
            Some(server.socket_addr()),
            vec!["Basic".to_owned(), "Bearer".to_owned()],
        )]
    );
    assert_pool(&client, 1);
}

#[tokio::test]
async fn a_cookie_set_by_the_401_goes_with_the_authenticated_retry() {
    let server = MockWebServer::start().await.unwrap();
    let jar = Arc::new(oktower::MemoryCookieJar::new());
    let client = builder_for(&["a.test"])
        .cookie_jar(jar)
        .authenticator(BasicAuthenticator::new("user", "pass"))
        .build()
        .unwrap();
    server.enqueue(unauthorized("Basic realm=\"x\"").header("Set-Cookie", "challenge=7; Path=/"));
    server.enqueue(MockResponse::new().body("in"));
    let response = client.get(url(&server)).send().await.unwrap();
    assert_eq!(response.text().await.unwrap(), "in");
    assert_eq!(next_request(&server).await.header("cookie"), None);
    let retried = next_request(&server).await;
    assert_eq!(retried.header("cookie"), Some("challenge=7"));
    assert_eq!(retried.header("authorization"), Some("Basic dXNlcjpwYXNz"));
    assert_pool(&client, 1);
}
