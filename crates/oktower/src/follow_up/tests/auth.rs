//! Authentication challenges through the layer: 401, 407, the follow-up limit, bodies re-sent.

use super::*;
use crate::{
    Address, AuthContext, AuthFuture, Authenticator, BasicAuthenticator, BasicProxyAuth,
    BearerAuthenticator, ConnectionInfo, NoProxy, Protocol, Proxy, Route, Scheme, SystemDns,
    TokenProvider,
};
use http::header::AUTHORIZATION;

/// Answers every challenge with a numbered token, recording what it was shown.
#[derive(Default)]
struct Counting {
    asked: Mutex<Vec<(u16, Option<String>)>>,
}

impl Authenticator for Counting {
    fn authenticate(&self, context: &AuthContext<'_>) -> AuthFuture {
        let mut asked = self.asked.lock().unwrap();
        let sent = context
            .authorization()
            .map(|value| value.to_str().unwrap().to_owned());
        asked.push((context.response().status.as_u16(), sent));
        let mut headers = HeaderMap::new();
        let value = format!("Token attempt-{}", asked.len());
        headers.insert(AUTHORIZATION, value.parse().unwrap());
        AuthFuture::headers(headers)
    }
}

fn unauthorized() -> Step {
    respond(401, &[("www-authenticate", "Basic realm=\"staff\"")])
}

#[tokio::test]
async fn twenty_authentications_succeed_and_resend_the_body() {
    let authenticator = Arc::new(Counting::default());
    let mut steps: Vec<Step> = (0..20).map(|_| unauthorized()).collect();
    steps.push(respond(200, &[]));
    let script = Script::new(steps);
    let layer = FollowUpLayer::new().authenticator(authenticator.clone());
    let response = run(layer, &script, post("http://a.test/", "payload")).await;
    assert_eq!(status(&response), 200);
    let received = script.received();
    assert_eq!(received.len(), 21);
    for (index, request) in received.iter().enumerate() {
        assert_eq!(request.method, Method::POST);
        assert_eq!(request.body, "payload", "request {index}");
        assert_eq!(request.headers["content-type"], "text/plain");
        if index > 0 {
            assert_eq!(
                request.headers[AUTHORIZATION],
                format!("Token attempt-{index}").as_str()
            );
        }
    }
    let asked = authenticator.asked.lock().unwrap();
    assert_eq!(asked.len(), 20);
    assert_eq!(asked[0], (401, None));
    assert_eq!(asked[1], (401, Some("Token attempt-1".to_owned())));
}

#[tokio::test]
async fn the_twenty_first_authentication_fails() {
    let script = Script::new((0..21).map(|_| unauthorized()));
    let layer = FollowUpLayer::new().authenticator(Counting::default());
    let error = run(layer, &script, get("http://a.test/"))
        .await
        .unwrap_err();
    assert_eq!(error.message(), "Too many follow-up requests: 21");
    assert_eq!(script.received().len(), 21);
}

#[tokio::test]
async fn basic_credentials_are_sent_once() {
    let script = Script::new([unauthorized(), respond(200, &[])]);
    let layer = FollowUpLayer::new().authenticator(BasicAuthenticator::new("user", "pass"));
    let response = run(layer, &script, get("http://a.test/")).await;
    assert_eq!(status(&response), 200);
    assert_eq!(
        script.received()[1].headers[AUTHORIZATION],
        "Basic dXNlcjpwYXNz"
    );

    // Refused credentials end in the 401.
    let script = Script::new([unauthorized(), unauthorized()]);
    let layer = FollowUpLayer::new().authenticator(BasicAuthenticator::new("user", "wrong"));
    let response = run(layer, &script, get("http://a.test/")).await;
    assert_eq!(status(&response), 401);
    assert_eq!(script.received().len(), 2);
    let prior = crate::PriorResponse::of(response.as_ref().unwrap()).unwrap();
    assert_eq!(prior.status(), 401);
}

#[tokio::test]
async fn no_authenticator_returns_the_401() {
    let script = Script::new([unauthorized()]);
    let response = run(FollowUpLayer::new(), &script, get("http://a.test/")).await;
    assert_eq!(status(&response), 401);
    assert_eq!(script.received().len(), 1);
}

/// Hands out a token after yielding, as a refresh over the network would.
struct Refresh;

impl TokenProvider for Refresh {
    fn token(&self, refused: Option<&str>) -> AuthFuture<Option<String>> {
        let next = match refused {
            None => Some("first".to_owned()),
            Some("first") => Some("second".to_owned()),
            Some(_) => None,
        };
        AuthFuture::new(async move {
            tokio::task::yield_now().await;
            Ok(next)
        })
    }
}

#[tokio::test]
async fn authenticators_may_answer_later() {
    let script = Script::new([
        respond(401, &[("www-authenticate", "Bearer")]),
        respond(
            401,
            &[("www-authenticate", "Bearer error=\"invalid_token\"")],
        ),
        respond(
            401,
            &[("www-authenticate", "Bearer error=\"invalid_token\"")],
        ),
    ]);
    let layer = FollowUpLayer::new().authenticator(BearerAuthenticator::new(Refresh));
    let response = run(layer, &script, post("http://a.test/", "body")).await;
    assert_eq!(status(&response), 401);
    let received = script.received();
    assert_eq!(received.len(), 3);
    assert_eq!(received[1].headers[AUTHORIZATION], "Bearer first");
    assert_eq!(received[2].headers[AUTHORIZATION], "Bearer second");
    assert_eq!(received[2].body, "body");
    assert_eq!(script.bodies_alive(), 1);
}

/// Fails, as an authenticator whose token endpoint is down.
struct Broken;

impl Authenticator for Broken {
    fn authenticate(&self, _context: &AuthContext<'_>) -> AuthFuture {
        AuthFuture::new(async { Err(Error::new(ErrorKind::Io, "token endpoint down")) })
    }
}

#[tokio::test]
async fn an_authenticator_failure_fails_the_call() {
    let script = Script::new([unauthorized()]);
    let layer = FollowUpLayer::new().authenticator(Broken);
    let error = run(layer, &script, get("http://a.test/"))
        .await
        .unwrap_err();
    assert_eq!(error.message(), "token endpoint down");
    assert_eq!(script.bodies_alive(), 0);
}

#[tokio::test]
async fn one_shot_bodies_are_not_authenticated() {
    let authenticator = Arc::new(Counting::default());
    let script = Script::new([unauthorized()]);
    let layer = FollowUpLayer::new().authenticator(authenticator.clone());
    let request = Request::post("http://a.test/")
        .body(OneShot::new("once"))
        .unwrap();
    let response = run(layer, &script, request).await;
    assert_eq!(status(&response), 401);
    assert!(authenticator.asked.lock().unwrap().is_empty());
}

fn proxy_required(proxy: Proxy) -> Step {
    let address = Address::builder(
        Scheme::Http,
        "a.test",
        80,
        Arc::new(SystemDns),
        Arc::new(NoProxy),
    )
    .build();
    let route = Route::new(address, proxy, "127.0.0.1:3128".parse().unwrap());
    let info = ConnectionInfo::new(1, route, Protocol::Http11, None, false);
    let mut head = Response::builder()
        .status(407)
        .header("proxy-authenticate", "Basic realm=\"proxy\"")
        .body(())
        .unwrap()
        .into_parts()
        .0;
    head.extensions.insert(info);
    Step::Respond(head)
}

#[tokio::test]
async fn proxy_challenges_go_to_the_proxy_authenticator() {
    let script = Script::new([
        proxy_required(Proxy::http("127.0.0.1", 3128)),
        respond(200, &[]),
    ]);
    let layer = FollowUpLayer::new().proxy_authenticator(BasicProxyAuth::new("p", "w"));
    let response = run(layer, &script, post("http://a.test/", "data")).await;
    assert_eq!(status(&response), 200);
    {
        let received = script.received();
        assert_eq!(received[1].headers["proxy-authorization"], "Basic cDp3");
        assert_eq!(received[1].body, "data");
    }

    // Without a proxy authenticator, the 407 is final.
    let script = Script::new([proxy_required(Proxy::http("127.0.0.1", 3128))]);
    let response = run(FollowUpLayer::new(), &script, get("http://a.test/")).await;
    assert_eq!(status(&response), 407);
}

#[tokio::test]
async fn a_407_without_an_http_proxy_is_a_protocol_error() {
    for step in [respond(407, &[]), proxy_required(Proxy::Direct)] {
        let script = Script::new([fail(ErrorKind::Io, RequestSent::No), step]);
        let error = run(FollowUpLayer::new(), &script, get("http://a.test/"))
            .await
            .unwrap_err();
        assert!(error.is_protocol());
        assert_eq!(
            error.message(),
            "Received HTTP_PROXY_AUTH (407) code while not using proxy"
        );
        assert_eq!(error.recovered().len(), 1);
        assert_eq!(script.bodies_alive(), 0);
    }
}
