//! Tests of [`TimingsRecorder`]: scripted event sequences under paused time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::StatusCode;
use tokio::time::advance;

use super::*;
use crate::ErrorKind;
use crate::event_listeners::testing::{
    Recorder, connection, expected_log, fire_every_hook, socket_addr,
};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn uri() -> http::Uri {
    "https://a.test/".parse().unwrap()
}

fn request() -> request::Parts {
    http::Request::new(()).into_parts().0
}

fn response(status: StatusCode) -> response::Parts {
    let mut parts = http::Response::new(()).into_parts().0;
    parts.status = status;
    parts
}

fn error() -> Error {
    Error::new(ErrorKind::Connect, "connection refused")
}

/// DNS, TCP and TLS on a fresh connection for `host`, taking `dns`, `tcp` and `tls`.
async fn connect_fresh(r: &TimingsRecorder, host: &str, dns: u64, tcp: u64, tls: u64) {
    r.proxy_select_start(&uri());
    r.proxy_select_end(&uri(), &[Proxy::Direct]);
    r.dns_start(host);
    advance(ms(dns)).await;
    r.dns_end(host, &[socket_addr().ip()]);
    r.connect_start(socket_addr(), &Proxy::Direct);
    advance(ms(tcp)).await;
    r.secure_connect_start();
    advance(ms(tls)).await;
    r.secure_connect_end(None);
    r.connect_end(socket_addr(), &Proxy::Direct, Some(Protocol::Http2));
    r.connection_acquired(&connection(1));
}

/// One exchange without a request body: writing takes `write`, the response `wait`, its body
/// `read`.
async fn exchange(r: &TimingsRecorder, write: u64, wait: u64, read: u64, status: StatusCode) {
    r.request_headers_start();
    advance(ms(write)).await;
    r.request_headers_end(&request());
    r.response_headers_start();
    advance(ms(wait)).await;
    r.response_headers_end(&response(status));
    r.response_body_start();
    advance(ms(read)).await;
    r.response_body_end(10);
}

#[test]
fn every_hook_is_forwarded_to_the_inner_listener() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let recorder = TimingsRecorder::new(Arc::new(Recorder::new("a", &log)));
    fire_every_hook(&recorder);
    assert_eq!(*log.lock().unwrap(), expected_log(&["a"]));
}

#[test]
fn nothing_recorded_is_all_none() {
    let recorder = TimingsRecorder::default();
    assert_eq!(recorder.timings(), Timings::default());
    assert_eq!(recorder.timings().connection_reused, None);
    assert!(format!("{recorder:?}").contains("TimingsRecorder"));
}

#[tokio::test(start_paused = true)]
async fn a_fresh_connection_times_every_phase() {
    let r = TimingsRecorder::default();
    r.call_start(&uri());
    r.dispatcher_queue_start();
    advance(ms(5)).await;
    r.dispatcher_queue_end();
    connect_fresh(&r, "a.test", 20, 30, 40).await;
    r.request_headers_start();
    advance(ms(1)).await;
    r.request_headers_end(&request());
    r.request_body_start();
    advance(ms(4)).await;
    r.request_body_end(100);
    advance(ms(50)).await;
    r.response_headers_start();
    r.response_headers_end(&response(StatusCode::OK));
    r.follow_up_decision(&response(StatusCode::OK), None);
    r.response_body_start();
    advance(ms(7)).await;
    r.response_body_end(10);
    assert_eq!(r.timings().total, None, "the call has not ended");
    r.connection_released(&connection(1));
    r.call_end();

    let t = r.timings();
    assert_eq!(t.queued, Some(ms(5)));
    assert_eq!(t.dns, Some(ms(20)));
    assert_eq!(t.connect, Some(ms(70)));
    assert_eq!(t.tls, Some(ms(40)));
    assert_eq!(t.request_sent, Some(ms(5)));
    assert_eq!(t.time_to_first_byte, Some(ms(50)));
    assert_eq!(t.total, Some(ms(5 + 20 + 70 + 5 + 50 + 7)));
    assert_eq!(t.connection_reused, Some(false));
    assert_eq!((t.follow_ups, t.retries), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn a_pooled_connection_has_no_dns_connect_or_tls() {
    let r = TimingsRecorder::default();
    advance(ms(3)).await;
    r.call_start(&uri());
    r.connection_acquired(&connection(1));
    exchange(&r, 2, 30, 4, StatusCode::OK).await;
    r.connection_released(&connection(1));
    r.call_end();

    let t = r.timings();
    assert_eq!(
        (t.queued, t.dns, t.connect, t.tls),
        (None, None, None, None)
    );
    assert_eq!(t.request_sent, Some(ms(2)));
    assert_eq!(t.time_to_first_byte, Some(ms(30)));
    assert_eq!(
        t.total,
        Some(ms(36)),
        "measured from call_start, not creation"
    );
    assert_eq!(t.connection_reused, Some(true));
}

#[tokio::test(start_paused = true)]
async fn a_redirect_adds_up_both_rounds_and_waits_for_the_last_response() {
    let r = TimingsRecorder::default();
    r.call_start(&uri());
    connect_fresh(&r, "a.test", 10, 20, 5).await;
    exchange(&r, 1, 30, 2, StatusCode::FOUND).await;
    r.follow_up_decision(&response(StatusCode::FOUND), Some(&request()));
    r.connection_released(&connection(1));
    assert_eq!(r.timings().time_to_first_byte, Some(ms(30)));
    connect_fresh(&r, "b.test", 15, 25, 10).await;
    r.request_headers_start();
    advance(ms(1)).await;
    r.request_headers_end(&request());
    assert_eq!(
        r.timings().time_to_first_byte,
        None,
        "the second request awaits its response"
    );
    advance(ms(40)).await;
    r.response_headers_end(&response(StatusCode::OK));
    r.follow_up_decision(&response(StatusCode::OK), None);
    r.call_end();

    let t = r.timings();
    assert_eq!(t.dns, Some(ms(25)));
    assert_eq!(t.connect, Some(ms(25 + 35)));
    assert_eq!(t.tls, Some(ms(15)));
    assert_eq!(t.request_sent, Some(ms(2)));
    assert_eq!(t.time_to_first_byte, Some(ms(40)));
    assert_eq!(t.total, Some(ms(10 + 25 + 1 + 30 + 2 + 15 + 35 + 1 + 40)));
    assert_eq!(t.follow_ups, 1);
    assert_eq!(t.connection_reused, Some(false));
}

#[tokio::test(start_paused = true)]
async fn a_failed_call_keeps_what_it_measured() {
    let r = TimingsRecorder::default();
    r.call_start(&uri());
    r.dns_start("a.test");
    advance(ms(8)).await;
    r.dns_end("a.test", &[socket_addr().ip()]);
    r.connect_start(socket_addr(), &Proxy::Direct);
    advance(ms(100)).await;
    r.connect_failed(socket_addr(), &Proxy::Direct, None, &error());
    r.retry_decision(&error(), true);
    r.connect_start(socket_addr(), &Proxy::Direct);
    advance(ms(50)).await;
    r.connect_failed(socket_addr(), &Proxy::Direct, None, &error());
    r.retry_decision(&error(), false);
    r.call_failed(&error());
    advance(ms(10)).await;
    r.call_end(); // a late call_end does not move the end

    let t = r.timings();
    assert_eq!(t.dns, Some(ms(8)));
    assert_eq!(t.connect, Some(ms(150)), "failed attempts count");
    assert_eq!(
        (t.tls, t.request_sent, t.time_to_first_byte),
        (None, None, None)
    );
    assert_eq!(t.total, Some(ms(158)));
    assert_eq!(t.connection_reused, None);
    assert_eq!(t.retries, 1);
}

#[tokio::test(start_paused = true)]
async fn overlapping_connect_attempts_count_once() {
    let r = TimingsRecorder::default();
    let (a, b) = (socket_addr(), "[::1]:8080".parse().unwrap());
    r.connect_start(a, &Proxy::Direct);
    advance(ms(250)).await;
    r.connect_start(b, &Proxy::Direct);
    advance(ms(50)).await;
    r.connect_failed(a, &Proxy::Direct, None, &error());
    assert_eq!(
        r.timings().connect,
        None,
        "the second attempt is still open"
    );
    advance(ms(100)).await;
    r.connect_end(b, &Proxy::Direct, Some(Protocol::Http11));
    assert_eq!(r.timings().connect, Some(ms(400)));
}

#[tokio::test(start_paused = true)]
async fn unfinished_phases_and_unmatched_ends_are_none() {
    let r = TimingsRecorder::default();
    r.dns_end("a.test", &[]);
    r.secure_connect_end(None);
    r.call_end();
    r.dns_start("a.test");
    advance(ms(30)).await;
    let t = r.timings();
    assert_eq!((t.dns, t.tls, t.total), (None, None, None));
    r.dns_end("a.test", &[]);
    assert_eq!(r.timings().dns, Some(ms(30)));
}

#[tokio::test(start_paused = true)]
async fn an_early_response_waits_from_the_request_head() {
    let r = TimingsRecorder::default();
    r.request_headers_start();
    r.request_headers_end(&request());
    r.request_body_start();
    advance(ms(20)).await;
    r.response_headers_end(&response(StatusCode::PAYLOAD_TOO_LARGE));
    advance(ms(5)).await;
    r.request_body_end(1000);
    let t = r.timings();
    assert_eq!(t.time_to_first_byte, Some(ms(20)));
    assert_eq!(t.request_sent, Some(ms(25)));
}

#[tokio::test(start_paused = true)]
async fn a_wait_for_100_continue_is_not_request_time() {
    let r = TimingsRecorder::default();
    r.request_headers_start();
    advance(ms(1)).await;
    r.request_headers_end(&request());
    advance(ms(40)).await; // the server decides on the 100 Continue
    r.request_body_start();
    advance(ms(3)).await;
    r.request_body_end(10);
    advance(ms(9)).await;
    r.response_headers_end(&response(StatusCode::OK));
    let t = r.timings();
    assert_eq!(t.request_sent, Some(ms(4)));
    assert_eq!(t.time_to_first_byte, Some(ms(9)));
}

#[tokio::test(start_paused = true)]
async fn a_connection_opened_for_a_retry_is_not_reused() {
    let r = TimingsRecorder::default();
    r.connection_acquired(&connection(1));
    assert_eq!(r.timings().connection_reused, Some(true));
    connect_fresh(&r, "a.test", 1, 1, 1).await;
    assert_eq!(r.timings().connection_reused, Some(false));
    r.connect_start(socket_addr(), &Proxy::Direct);
    r.connect_end(socket_addr(), &Proxy::Direct, None); // a tunnel closed after a 407
    r.connection_acquired(&connection(2));
    assert_eq!(r.timings().connection_reused, Some(true));
}

#[test]
fn concurrent_hooks_do_not_tear() {
    const THREADS: u32 = 4;
    const ROUNDS: u32 = 2_000;
    let recorder = Arc::new(TimingsRecorder::default());
    let started = std::time::Instant::now();
    let writers: Vec<_> = (0..THREADS)
        .map(|_| {
            let r = recorder.clone();
            std::thread::spawn(move || {
                for _ in 0..ROUNDS {
                    r.connect_start(socket_addr(), &Proxy::Direct);
                    r.dns_start("a.test");
                    r.dns_end("a.test", &[]);
                    r.connect_end(socket_addr(), &Proxy::Direct, Some(Protocol::Http11));
                    r.follow_up_decision(&response(StatusCode::FOUND), Some(&request()));
                }
            })
        })
        .collect();
    let reader = {
        let r = recorder.clone();
        std::thread::spawn(move || {
            let mut last = Duration::ZERO;
            for _ in 0..ROUNDS {
                let t = r.timings();
                let connect = t.connect.unwrap_or_default();
                assert!(
                    connect >= last,
                    "the union only grows: {connect:?} < {last:?}"
                );
                last = connect;
            }
        })
    };
    for writer in writers {
        writer.join().unwrap();
    }
    reader.join().unwrap();
    let elapsed = started.elapsed();
    let t = recorder.timings();
    assert_eq!(t.follow_ups, THREADS * ROUNDS);
    let connect = t.connect.expect("every attempt ended");
    let dns = t.dns.expect("every lookup ended");
    assert!(connect <= elapsed, "{connect:?} > {elapsed:?}");
    assert!(dns <= elapsed, "{dns:?} > {elapsed:?}");
    assert_eq!(
        recorder.connect.state.load(Ordering::Acquire) >> OPEN_COUNT_SHIFT,
        0,
        "every start met its end"
    );
    assert_eq!(
        recorder.dns.state.load(Ordering::Acquire) >> OPEN_COUNT_SHIFT,
        0
    );
}

#[test]
fn an_open_count_at_its_limit_refuses_more_starts() {
    let phase = Phase::default();
    for _ in 0..MAX_OPEN + 3 {
        phase.start(7);
    }
    assert_eq!(
        phase.state.load(Ordering::Acquire) >> OPEN_COUNT_SHIFT,
        MAX_OPEN
    );
    for _ in 0..MAX_OPEN {
        phase.end(10);
    }
    assert_eq!(phase.duration(), Some(Duration::from_nanos(3)));
    phase.end(11); // the extra ends are ignored
    assert_eq!(phase.duration(), Some(Duration::from_nanos(3)));
}

/// Every call a client makes carries a recorder in its context's allocation, queued calls
/// included (the S9 benchmark counts it): a phase is two words, an instant one.
#[test]
fn a_recorder_is_small() {
    assert_eq!(std::mem::size_of::<Phase>(), 16);
    assert!(std::mem::size_of::<TimingsRecorder>() <= 176);
}
