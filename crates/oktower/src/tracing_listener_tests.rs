//! Tests of [`TracingListener`] with a small subscriber that records spans and events.

use std::collections::BTreeMap;
use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

use super::*;
use crate::event_listeners::testing::{all_hooks, fire_every_hook};

type Fields = BTreeMap<String, String>;

#[derive(Debug)]
struct Captured {
    level: Level,
    fields: Fields,
    parent: Option<u64>,
}

#[derive(Default)]
struct Capture {
    spans: Mutex<Vec<(String, Fields)>>,
    events: Mutex<Vec<Captured>>,
}

/// Records every span and event it is given.
#[derive(Clone, Default)]
struct CaptureSubscriber(Arc<Capture>);

struct FieldVisitor<'a>(&'a mut Fields);

impl Visit for FieldVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl Subscriber for CaptureSubscriber {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut fields = Fields::new();
        span.record(&mut FieldVisitor(&mut fields));
        let mut spans = self.0.spans.lock().unwrap();
        spans.push((span.metadata().name().to_owned(), fields));
        Id::from_u64(spans.len() as u64)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::new();
        event.record(&mut FieldVisitor(&mut fields));
        self.0.events.lock().unwrap().push(Captured {
            level: *event.metadata().level(),
            fields,
            parent: event.parent().map(Id::into_u64),
        });
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Runs `f` with a capturing subscriber and returns what it captured.
fn capture(f: impl FnOnce()) -> Arc<Capture> {
    let subscriber = CaptureSubscriber::default();
    let captured = subscriber.0.clone();
    tracing::subscriber::with_default(subscriber, f);
    captured
}

fn event<'a>(captured: &'a [Captured], name: &str) -> &'a Captured {
    captured
        .iter()
        .find(|event| event.fields["message"] == name)
        .unwrap_or_else(|| panic!("no {name} event"))
}

#[test]
fn every_hook_is_an_event_named_after_it_in_the_calls_span() {
    let uri: http::Uri = "https://user:secret@a.test:8443/p?token=abc"
        .parse()
        .unwrap();
    let captured = capture(|| {
        let factory = TracingListenerFactory::new();
        fire_every_hook(&*factory.create(&uri));
    });
    let spans = captured.spans.lock().unwrap();
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].0, "oktower.call");
    assert_eq!(spans[0].1["call_id"], "1");
    assert_eq!(spans[0].1["url"], "https://a.test:8443/p");

    let events = captured.events.lock().unwrap();
    let names: Vec<&str> = events
        .iter()
        .map(|e| e.fields["message"].as_str())
        .collect();
    assert_eq!(names, all_hooks());
    for event in events.iter() {
        assert_eq!(event.parent, Some(1), "{event:?}");
        assert_eq!(event.fields["call_id"], "1", "{event:?}");
        let warns = ["connect_failed", "request_failed", "response_failed"];
        let expected = if warns.contains(&event.fields["message"].as_str()) {
            Level::WARN
        } else {
            Level::DEBUG
        };
        assert_eq!(event.level, expected, "{event:?}");
        for value in event.fields.values() {
            assert!(
                !value.contains("secret") && !value.contains("token"),
                "{event:?}"
            );
        }
    }
}

#[test]
fn events_carry_structured_fields() {
    let captured = capture(|| fire_every_hook(&TracingListener::new(9, &"/".parse().unwrap())));
    let events = captured.events.lock().unwrap();
    let field = |name: &str, key: &str| event(&events, name).fields[key].clone();
    assert_eq!(field("call_start", "url"), "http://a.test/");
    assert_eq!(field("call_start", "call_id"), "9");
    assert_eq!(field("proxy_select_end", "proxies"), "DIRECT");
    assert_eq!(field("dns_start", "host"), "a.test");
    assert_eq!(field("dns_end", "addresses"), "[127.0.0.1]");
    assert_eq!(field("connect_start", "socket_addr"), "127.0.0.1:8080");
    assert_eq!(field("connect_start", "proxy"), "DIRECT");
    assert_eq!(field("secure_connect_end", "succeeded"), "false");
    assert!(
        !event(&events, "secure_connect_end")
            .fields
            .contains_key("tls_version")
    );
    assert_eq!(field("connect_end", "protocol"), "Http11");
    assert!(field("connect_failed", "error").contains("broken pipe"));
    assert_eq!(field("connection_acquired", "connection_id"), "1");
    assert_eq!(field("connection_acquired", "coalesced"), "false");
    assert_eq!(field("request_headers_end", "method"), "GET");
    assert_eq!(field("request_body_end", "bytes"), "3");
    assert_eq!(field("informational_response", "status"), "103");
    assert_eq!(field("response_headers_end", "status"), "200");
    assert_eq!(field("response_headers_end", "version"), "HTTP/1.1");
    assert_eq!(field("response_body_end", "bytes"), "5");
    assert!(field("call_failed", "error").contains("broken pipe"));
    assert_eq!(field("retry_decision", "retry"), "true");
    assert_eq!(field("follow_up_decision", "next_url"), "/");
}

#[test]
fn the_factory_numbers_calls_and_may_keep_the_query() {
    let uri: http::Uri = "http://u:p@[::1]/search?q=rust".parse().unwrap();
    let captured = capture(|| {
        let factory = TracingListenerFactory::new().include_query(true);
        assert_eq!(
            format!("{:?}", TracingListener::new(4, &uri)),
            "TracingListener { call_id: 4, .. }"
        );
        factory.create(&uri).follow_up_decision(
            &http::Response::new(()).into_parts().0,
            Some(
                &http::Request::get(uri.clone())
                    .body(())
                    .unwrap()
                    .into_parts()
                    .0,
            ),
        );
        factory.create(&uri);
    });
    let spans = captured.spans.lock().unwrap();
    let ids: Vec<&str> = spans
        .iter()
        .skip(1)
        .map(|(_, f)| f["call_id"].as_str())
        .collect();
    assert_eq!(ids, ["1", "2"]);
    assert_eq!(spans[1].1["url"], "http://[::1]/search?q=rust");
    let events = captured.events.lock().unwrap();
    assert_eq!(
        event(&events, "follow_up_decision").fields["next_url"],
        "http://[::1]/search?q=rust"
    );
}

#[test]
fn proxies_are_listed_without_credentials() {
    let proxies = [
        Proxy::http("proxy.test", 3128).with_credentials("user", "secret"),
        Proxy::Direct,
    ];
    assert_eq!(
        ProxyList(&proxies).to_string(),
        "http://proxy.test:3128, DIRECT"
    );
    assert_eq!(ProxyList(&[]).to_string(), "");
}

#[test]
fn a_listener_without_a_subscriber_is_silent() {
    let listener = TracingListener::new(1, &"http://a.test/".parse().unwrap());
    assert!(listener.span().is_disabled() || listener.span().id().is_some());
    fire_every_hook(&listener);
}
