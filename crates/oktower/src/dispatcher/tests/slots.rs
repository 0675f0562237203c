//! When a call's slot is freed: body end, body failure, body drop, inner failure.

use http_body_util::BodyExt;

use super::*;

/// Reads one frame of `body` by hand.
fn next_frame(body: &mut ResponseBody<TestBody>) -> Option<Result<Frame<Bytes>, Error>> {
    match poll_with(&mut body.frame(), None) {
        Poll::Ready(frame) => frame,
        Poll::Pending => panic!("test bodies never wait"),
    }
}

#[test]
fn the_slot_is_held_until_the_body_ends() {
    let mut harness = Harness::new(64, 1);
    let mut call = harness.call("http://a.test/two");
    let mut waiting = harness.call("http://a.test/next");
    let mut body = succeed(&mut call).into_body();
    assert!(body.holds_slot());
    assert_eq!(body.size_hint().exact(), None);
    assert!(!body.is_end_stream());
    assert!(next_frame(&mut body).unwrap().is_ok());
    assert!(body.holds_slot(), "one frame of two read");
    assert_waiting(&mut waiting);
    assert!(next_frame(&mut body).unwrap().is_ok());
    assert!(
        !body.holds_slot(),
        "the body reports its end with its last frame"
    );
    assert!(body.is_end_stream());
    assert!(next_frame(&mut body).is_none());
    let _next = succeed(&mut waiting);
    assert_eq!(harness.counts(), (1, 0));
    drop(body);
    assert_eq!(harness.counts(), (1, 0), "freed once only");
}

#[test]
fn a_body_already_at_its_end_frees_the_slot_at_once() {
    let mut harness = Harness::new(64, 1);
    let mut call = harness.call("http://a.test/empty");
    let response = succeed(&mut call);
    assert!(!response.body().holds_slot());
    assert_eq!(harness.counts(), (0, 0));
    assert!(harness.dispatcher.is_idle());
}

#[test]
fn a_failing_body_frees_the_slot() {
    let mut harness = Harness::new(64, 1);
    let mut call = harness.call("http://a.test/fail");
    let mut body = succeed(&mut call).into_body();
    assert!(body.holds_slot());
    let error = next_frame(&mut body).unwrap().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Io);
    assert!(!body.holds_slot());
    assert_eq!(harness.counts(), (0, 0));
}

#[test]
fn dropping_the_body_or_unwrapping_it_frees_the_slot() {
    let mut harness = Harness::new(64, 1);
    let mut call = harness.call("http://a.test/");
    let response = succeed(&mut call);
    assert_eq!(harness.counts(), (1, 0));
    drop(response);
    assert_eq!(harness.counts(), (0, 0));

    let mut call = harness.call("http://a.test/");
    let body = succeed(&mut call).into_body();
    assert_eq!(body.get_ref().frames.len(), 1);
    let inner = body.into_inner();
    assert_eq!(harness.counts(), (0, 0));
    assert_eq!(inner.frames.len(), 1);
}

#[test]
fn an_inner_failure_frees_the_slot_and_promotes_the_next_call() {
    let mut harness = Harness::new(64, 1);
    let mut failing = harness.call("http://a.test/error");
    let mut next = harness.call("http://a.test/next");
    let error = answer(&mut failing).unwrap_err();
    assert_eq!(error.message(), "inner failure");
    let _next = succeed(&mut next);
    assert_eq!(harness.counts(), (1, 0));
}

#[test]
fn an_inner_readiness_failure_frees_the_slot() {
    let mut harness = Harness::new(64, 1);
    let mut running = harness.call("http://a.test/1");
    let mut failing = harness.call("http://a.test/2");
    let mut next = harness.call("http://a.test/3");
    let running = succeed(&mut running);
    assert_waiting(&mut failing);
    harness.inner.unready.store(true, Ordering::SeqCst);
    drop(running);
    assert_eq!(
        answer(&mut failing).unwrap_err().message(),
        "inner not ready"
    );
    harness.inner.unready.store(false, Ordering::SeqCst);
    let _next = succeed(&mut next);
    assert_eq!(harness.started(), ["a.test/1", "a.test/3"]);
}

#[test]
fn the_body_forwards_size_hints_and_end_of_stream() {
    let body = ResponseBody::new(http_body_util::Full::new(Bytes::from("abc")), None);
    assert_eq!(body.size_hint().exact(), Some(3));
    assert!(!body.is_end_stream());
    assert!(format!("{body:?}").contains("holds_slot: false"));
    let empty = ResponseBody::new(http_body_util::Empty::<Bytes>::new(), None);
    assert!(empty.is_end_stream());
    assert_eq!(empty.size_hint().exact(), Some(0));
}
