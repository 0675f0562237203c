//! Redirects through the layer: chains, methods and bodies, limits, switches, credentials.

use super::*;
use crate::PriorResponse;

#[tokio::test]
async fn a_chain_of_codes_is_recorded_in_prior_responses() {
    let script = Script::new([
        redirect(301, "/b"),
        redirect(302, "/c"),
        redirect(303, "/d"),
        redirect(307, "/e"),
        redirect(308, "https://other.test/f"),
        respond(200, &[]),
    ]);
    let response = run(FollowUpLayer::new(), &script, get("http://a.test/a")).await;
    assert_eq!(status(&response), 200);
    let response = response.unwrap();
    let chain: Vec<_> = PriorResponse::of(&response)
        .unwrap()
        .iter()
        .map(|prior| {
            format!(
                "{} {} {}",
                prior.status().as_u16(),
                prior.method(),
                prior.uri()
            )
        })
        .collect();
    assert_eq!(
        chain,
        [
            "308 GET http://a.test/e",
            "307 GET http://a.test/d",
            "303 GET http://a.test/c",
            "302 GET http://a.test/b",
            "301 GET http://a.test/a",
        ]
    );
    let uris: Vec<_> = script
        .received()
        .iter()
        .map(|r| r.uri.to_string())
        .collect();
    assert_eq!(
        uris,
        [
            "http://a.test/a",
            "http://a.test/b",
            "http://a.test/c",
            "http://a.test/d",
            "http://a.test/e",
            "https://other.test/f",
        ]
    );
    // Every intermediate body was closed before the next request was sent.
    assert!(script.received().iter().all(|r| r.bodies_alive == 0));
    assert_eq!(script.bodies_alive(), 1);
    drop(response);
    assert_eq!(script.bodies_alive(), 0);
}

#[tokio::test]
async fn every_request_of_a_call_carries_its_extensions() {
    // Only the call's context (moved into the request sent rather than copied), and the
    // context with a user's extension (copied); sent again after a failure, a redirect and
    // a 503.
    for tagged in [false, true] {
        let script = Script::new([
            fail(ErrorKind::Io, RequestSent::No),
            redirect(302, "/b"),
            respond(503, &[("retry-after", "0")]),
            respond(200, &[]),
        ]);
        let (mut request, _recorder, _context) = with_recorder(get("http://a.test/a"));
        if tagged {
            request.extensions_mut().insert(Tag(7));
        }
        let response = run(FollowUpLayer::new(), &script, request).await;
        assert_eq!(status(&response), 200);
        let received = script.received();
        assert_eq!(received.len(), 4);
        for request in received.iter() {
            assert!(request.has_context, "tagged: {tagged}");
            assert_eq!(request.tag, tagged.then_some(Tag(7)));
            assert_eq!(request.extension_count, 1 + usize::from(tagged));
        }
    }
}

#[tokio::test]
async fn a_final_response_without_follow_ups_has_no_prior_response() {
    let script = Script::new([respond(200, &[])]);
    let response = run(FollowUpLayer::new(), &script, get("http://a.test/"))
        .await
        .unwrap();
    assert!(PriorResponse::of(&response).is_none());
}

#[tokio::test]
async fn post_redirects_to_get_without_its_body() {
    for code in [301, 302, 303] {
        let script = Script::new([redirect(code, "/next"), respond(200, &[])]);
        let response = run(
            FollowUpLayer::new(),
            &script,
            post("http://a.test/form", "hello"),
        )
        .await;
        assert_eq!(status(&response), 200);
        let received = script.received();
        assert_eq!(received[0].method, Method::POST);
        assert_eq!(received[0].body, "hello");
        assert_eq!(received[1].method, Method::GET, "{code}");
        assert_eq!(received[1].body, "");
        assert!(!received[1].headers.contains_key("content-type"));
        assert!(!received[1].headers.contains_key("content-length"));
    }
}

#[tokio::test]
async fn temporary_and_permanent_redirects_keep_method_and_body() {
    let script = Script::new([redirect(307, "/b"), redirect(308, "/c"), respond(200, &[])]);
    let response = run(
        FollowUpLayer::new(),
        &script,
        post("http://a.test/a", "hello"),
    )
    .await;
    assert_eq!(status(&response), 200);
    for received in script.received().iter() {
        assert_eq!(received.method, Method::POST);
        assert_eq!(received.body, "hello");
        assert_eq!(received.headers["content-type"], "text/plain");
    }
}

fn loop_of(redirects: usize) -> Script {
    let mut steps: Vec<Step> = (0..redirects)
        .map(|i| redirect(302, &format!("/{}", i + 1)))
        .collect();
    steps.push(respond(200, &[]));
    Script::new(steps)
}

#[tokio::test]
async fn twenty_follow_ups_are_made() {
    let script = loop_of(20);
    let response = run(FollowUpLayer::new(), &script, get("http://a.test/0"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(PriorResponse::of(&response).unwrap().iter().count(), 20);
    assert_eq!(script.received().len(), 21);
}

#[tokio::test]
async fn the_twenty_first_follow_up_fails() {
    let script = loop_of(21);
    let (request, recorder, _context) = with_recorder(get("http://a.test/0"));
    let error = run(FollowUpLayer::new(), &script, request)
        .await
        .unwrap_err();
    assert!(error.is_protocol());
    assert_eq!(error.message(), "Too many follow-up requests: 21");
    assert_eq!(error.url(), Some("http://a.test/20"));
    assert_eq!(script.received().len(), 21);
    assert_eq!(script.bodies_alive(), 0);
    let events = recorder.events();
    assert_eq!(events.len(), 21);
    assert_eq!(events[20], "follow 302 -> none");
}

#[tokio::test]
async fn a_redirect_to_itself_ends_with_too_many_follow_ups() {
    let script = Script::new((0..21).map(|_| redirect(302, "")));
    let error = run(FollowUpLayer::new(), &script, get("http://a.test/loop"))
        .await
        .unwrap_err();
    assert_eq!(error.message(), "Too many follow-up requests: 21");
}

#[tokio::test]
async fn redirects_off_return_the_redirect() {
    let script = Script::new([redirect(302, "/b")]);
    let layer = FollowUpLayer::new().follow_redirects(false);
    let response = run(layer, &script, get("http://a.test/a")).await;
    assert_eq!(status(&response), 302);
    assert_eq!(script.received().len(), 1);
}

#[tokio::test]
async fn ssl_redirects_follow_the_switch() {
    for (from, to) in [
        ("http://a.test/", "https://a.test/"),
        ("https://a.test/", "http://a.test/"),
    ] {
        let script = Script::new([redirect(301, to)]);
        let layer = FollowUpLayer::new().follow_ssl_redirects(false);
        let response = run(layer, &script, get(from)).await;
        assert_eq!(status(&response), 301, "{from} -> {to}");
        assert_eq!(script.received().len(), 1);

        let script = Script::new([redirect(301, to), respond(200, &[])]);
        let response = run(FollowUpLayer::new(), &script, get(from)).await;
        assert_eq!(status(&response), 200, "{from} -> {to}");
        assert_eq!(script.received()[1].uri, to);
    }
}

#[tokio::test]
async fn unusable_locations_are_final() {
    for location in [
        None,
        Some("ftp://a.test/file"),
        Some("http://[::1/"),
        Some("mailto:x@a.test"),
    ] {
        let headers: Vec<_> = location.map(|l| ("location", l)).into_iter().collect();
        let script = Script::new([respond(302, &headers)]);
        let response = run(FollowUpLayer::new(), &script, get("http://a.test/")).await;
        assert_eq!(status(&response), 302, "{location:?}");
        assert_eq!(script.received().len(), 1);
    }
}

fn with_credentials(uri: &str) -> Request<Full<Bytes>> {
    Request::get(uri)
        .header("authorization", "Bearer secret")
        .header("cookie", "session=1")
        .header("proxy-authorization", "Basic cHJveHk=")
        .header("x-trace", "t-1")
        .body(Full::default())
        .unwrap()
}

#[tokio::test]
async fn credentials_are_stripped_on_another_origin_only() {
    let script = Script::new([
        redirect(302, "/same"),
        redirect(302, "http://evil.test/"),
        respond(200, &[]),
    ]);
    let response = run(
        FollowUpLayer::new(),
        &script,
        with_credentials("http://a.test/"),
    )
    .await;
    assert_eq!(status(&response), 200);
    let received = script.received();
    for name in ["authorization", "cookie", "proxy-authorization", "x-trace"] {
        assert!(
            received[1].headers.contains_key(name),
            "same origin keeps {name}"
        );
    }
    for name in ["authorization", "cookie", "proxy-authorization"] {
        assert!(
            !received[2].headers.contains_key(name),
            "other origin drops {name}"
        );
    }
    assert_eq!(received[2].headers["x-trace"], "t-1");
}

#[tokio::test]
async fn authorization_may_survive_an_https_upgrade() {
    let script = Script::new([redirect(301, "https://a.test/"), respond(200, &[])]);
    let layer = FollowUpLayer::new().keep_authorization_on_https_upgrade(true);
    run(layer, &script, with_credentials("http://a.test/"))
        .await
        .unwrap();
    let received = script.received();
    assert_eq!(received[1].headers["authorization"], "Bearer secret");
    assert!(!received[1].headers.contains_key("cookie"));
}

#[tokio::test]
async fn one_shot_bodies_do_not_follow_redirects_that_keep_the_body() {
    for code in [307, 308] {
        let script = Script::new([redirect(code, "/b")]);
        let request = Request::post("http://a.test/a")
            .body(OneShot::new("once"))
            .unwrap();
        let response = run(FollowUpLayer::new(), &script, request).await;
        assert_eq!(status(&response), code);
        assert_eq!(script.received().len(), 1);
        assert_eq!(
            script.bodies_alive(),
            1,
            "the final response keeps its body"
        );
    }
    // A 303 drops the body: it is followed with an empty one.
    let script = Script::new([redirect(303, "/b"), respond(200, &[])]);
    let request = Request::post("http://a.test/a")
        .body(OneShot::new("once"))
        .unwrap();
    let response = run(FollowUpLayer::new(), &script, request).await;
    assert_eq!(status(&response), 200);
    assert_eq!(script.received()[1].method, Method::GET);
    assert_eq!(script.received()[1].body, "");
}

#[tokio::test]
async fn follow_up_decisions_are_reported_in_order() {
    let script = Script::new([redirect(302, "/b"), respond(200, &[])]);
    let (request, recorder, _context) = with_recorder(post("http://a.test/a", "x"));
    run(FollowUpLayer::new(), &script, request).await.unwrap();
    assert_eq!(
        recorder.events(),
        ["follow 302 -> GET http://a.test/b", "follow 200 -> none",]
    );
}
