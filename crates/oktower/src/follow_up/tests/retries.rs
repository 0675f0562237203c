//! Retries through the layer: failures, 408, 503, 421, cancellation.

use super::*;
use crate::{Address, ConnectionInfo, NoProxy, Protocol, Proxy, Route, Scheme, SystemDns};

#[tokio::test]
async fn failures_of_an_exchange_are_retried_and_recorded() {
    let script = Script::new([
        fail(ErrorKind::Io, RequestSent::No),
        fail(ErrorKind::Io, RequestSent::Maybe),
        respond(200, &[]),
    ]);
    let (request, recorder, _context) = with_recorder(post("http://a.test/", "again"));
    let response = run(FollowUpLayer::new(), &script, request).await;
    assert_eq!(status(&response), 200);
    assert!(script.received().iter().all(|r| r.body == "again"));
    assert_eq!(
        recorder.events(),
        ["retry Io true", "retry Io true", "follow 200 -> none"]
    );
}

#[tokio::test]
async fn the_final_error_carries_the_recovered_failures() {
    let script = Script::new([
        fail(ErrorKind::Io, RequestSent::No),
        fail(ErrorKind::Io, RequestSent::Maybe),
        fail(ErrorKind::Protocol, RequestSent::Maybe),
    ]);
    let (request, recorder, _context) = with_recorder(get("http://a.test/"));
    let error = run(FollowUpLayer::new(), &script, request)
        .await
        .unwrap_err();
    assert!(error.is_protocol());
    let recovered: Vec<_> = error.recovered().iter().map(|e| e.request_sent()).collect();
    assert_eq!(recovered, [RequestSent::No, RequestSent::Maybe]);
    assert_eq!(
        recorder.events(),
        ["retry Io true", "retry Io true", "retry Protocol false"]
    );
}

#[tokio::test]
async fn at_most_twenty_failures_are_recovered_from() {
    let script = Script::new((0..21).map(|_| fail(ErrorKind::Io, RequestSent::No)));
    let error = run(FollowUpLayer::new(), &script, get("http://a.test/"))
        .await
        .unwrap_err();
    assert!(error.is_io());
    assert_eq!(error.recovered().len(), 20);
    assert_eq!(script.received().len(), 21);
}

#[tokio::test]
async fn fatal_failures_are_not_retried() {
    for (kind, sent) in [
        (ErrorKind::Connect, RequestSent::No),
        (ErrorKind::Dns, RequestSent::No),
        (ErrorKind::Tls, RequestSent::No),
        (ErrorKind::Timeout, RequestSent::Maybe),
        (ErrorKind::Protocol, RequestSent::Maybe),
        (ErrorKind::Canceled, RequestSent::Maybe),
    ] {
        let script = Script::new([fail(kind, sent), respond(200, &[])]);
        let error = run(FollowUpLayer::new(), &script, get("http://a.test/"))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), kind);
        assert_eq!(script.received().len(), 1, "{kind:?}");
    }
}

#[tokio::test]
async fn retries_off_or_one_shot_bodies_end_at_the_first_failure() {
    let script = Script::new([fail(ErrorKind::Io, RequestSent::No), respond(200, &[])]);
    let layer = FollowUpLayer::new().retry_on_connection_failure(false);
    assert!(run(layer, &script, get("http://a.test/")).await.is_err());
    assert_eq!(script.received().len(), 1);

    let script = Script::new([fail(ErrorKind::Io, RequestSent::No), respond(200, &[])]);
    let request = Request::post("http://a.test/")
        .body(OneShot::new("once"))
        .unwrap();
    assert!(run(FollowUpLayer::new(), &script, request).await.is_err());
    assert_eq!(script.received().len(), 1);
}

#[tokio::test]
async fn request_timeout_is_retried_once() {
    let script = Script::new([respond(408, &[]), respond(200, &[])]);
    let response = run(FollowUpLayer::new(), &script, post("http://a.test/", "b")).await;
    assert_eq!(status(&response), 200);
    assert_eq!(script.received()[1].body, "b");

    let script = Script::new([respond(408, &[]), respond(408, &[])]);
    let response = run(FollowUpLayer::new(), &script, get("http://a.test/")).await;
    assert_eq!(status(&response), 408);
    assert_eq!(script.received().len(), 2);

    let script = Script::new([respond(408, &[("retry-after", "2")])]);
    let response = run(FollowUpLayer::new(), &script, get("http://a.test/")).await;
    assert_eq!(status(&response), 408);

    let script = Script::new([respond(408, &[])]);
    let layer = FollowUpLayer::new().retry_on_connection_failure(false);
    assert_eq!(
        status(&run(layer, &script, get("http://a.test/")).await),
        408
    );
    assert_eq!(script.received().len(), 1);
}

#[tokio::test]
async fn service_unavailable_is_retried_once_with_retry_after_zero() {
    let script = Script::new([respond(503, &[("retry-after", "0")]), respond(200, &[])]);
    assert_eq!(
        status(&run(FollowUpLayer::new(), &script, get("http://a.test/")).await),
        200
    );

    let script = Script::new([
        respond(503, &[("retry-after", "0")]),
        respond(503, &[("retry-after", "0")]),
    ]);
    assert_eq!(
        status(&run(FollowUpLayer::new(), &script, get("http://a.test/")).await),
        503
    );
    assert_eq!(script.received().len(), 2);

    let script = Script::new([respond(503, &[])]);
    assert_eq!(
        status(&run(FollowUpLayer::new(), &script, get("http://a.test/")).await),
        503
    );
    assert_eq!(script.received().len(), 1);
}

fn misdirected(coalesced: bool) -> (Step, ConnectionInfo) {
    let address = Address::builder(
        Scheme::Https,
        "b.test",
        443,
        Arc::new(SystemDns),
        Arc::new(NoProxy),
    )
    .build();
    let route = Route::new(address, Proxy::Direct, "127.0.0.1:443".parse().unwrap());
    let info = ConnectionInfo::new(3, route, Protocol::Http2, None, coalesced);
    let mut head = Response::builder()
        .status(421)
        .body(())
        .unwrap()
        .into_parts()
        .0;
    head.extensions.insert(info.clone());
    (Step::Respond(head), info)
}

#[tokio::test]
async fn misdirected_on_a_coalesced_connection_retries_on_a_fresh_one() {
    let (step, info) = misdirected(true);
    let script = Script::new([step, respond(200, &[])]);
    let response = run(FollowUpLayer::new(), &script, get("https://a.test/")).await;
    assert_eq!(status(&response), 200);
    assert!(info.is_no_coalesced_exchanges());
    assert_eq!(script.received().len(), 2);

    let (step, info) = misdirected(false);
    let script = Script::new([step]);
    let response = run(FollowUpLayer::new(), &script, get("https://a.test/")).await;
    assert_eq!(status(&response), 421);
    assert!(!info.is_no_coalesced_exchanges());
}

#[tokio::test]
async fn a_canceled_call_sends_nothing() {
    let script = Script::new([respond(200, &[])]);
    let (request, _recorder, context) = with_recorder(get("http://a.test/"));
    context.cancel();
    let error = run(FollowUpLayer::new(), &script, request)
        .await
        .unwrap_err();
    assert!(error.is_canceled());
    assert_eq!(error.message(), "Canceled");
    assert!(script.received().is_empty());
}

#[tokio::test]
async fn cancellation_stops_the_follow_ups() {
    let script = Script::new([
        fail(ErrorKind::Io, RequestSent::No),
        redirect(302, "/b"),
        respond(200, &[]),
    ]);
    let (request, recorder, context) = with_recorder(get("http://a.test/a"));
    script.cancel_at(1, &context);
    let error = run(FollowUpLayer::new(), &script, request)
        .await
        .unwrap_err();
    assert!(error.is_canceled());
    assert_eq!(error.url(), Some("http://a.test/b"));
    assert_eq!(error.recovered().len(), 1);
    assert_eq!(script.received().len(), 2);
    assert_eq!(script.bodies_alive(), 0);
    assert_eq!(
        recorder.events(),
        ["retry Io true", "follow 302 -> GET http://a.test/b"]
    );
}

/// The scripted service, whose readiness fails `failures` times once it has served a call.
#[derive(Clone)]
struct FlakyReady<S> {
    inner: S,
    calls: Arc<AtomicUsize>,
    failures: Arc<AtomicUsize>,
}

impl<S, R> Service<R> for FlakyReady<S>
where
    S: Service<R, Error = Error>,
{
    type Response = S::Response;
    type Error = Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let served = self.calls.load(Ordering::SeqCst) > 0;
        if served && self.failures.load(Ordering::SeqCst) > 0 {
            self.failures.fetch_sub(1, Ordering::SeqCst);
            return Poll::Ready(Err(Error::new(ErrorKind::Io, "not ready")));
        }
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> S::Future {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.call(request)
    }
}

#[tokio::test]
async fn readiness_failures_before_a_follow_up_are_recovered_from() {
    let script = Script::new([redirect(302, "/b"), respond(200, &[])]);
    let flaky = FlakyReady {
        inner: script.service(),
        calls: Arc::default(),
        failures: Arc::new(AtomicUsize::new(2)),
    };
    let (request, recorder, _context) = with_recorder(get("http://a.test/a"));
    let response = FollowUpLayer::new().layer(flaky).oneshot(request).await;
    assert_eq!(status(&response), 200);
    assert_eq!(script.received().len(), 2);
    assert_eq!(
        recorder.events(),
        [
            "follow 302 -> GET http://a.test/b",
            "retry Io true",
            "retry Io true",
            "follow 200 -> none",
        ]
    );
}

#[test]
fn the_response_future_is_send_when_its_parts_are() {
    fn assert_send<T: Send>(_: &T) {}
    let inner = tower::service_fn(|_request: Request<Full<Bytes>>| async {
        Ok::<_, Error>(Response::new(Full::new(Bytes::new())))
    });
    let mut service = FollowUpLayer::new().layer(inner);
    let future = service.call(get("http://a.test/"));
    assert_send(&future);
}
