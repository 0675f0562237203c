use std::sync::Arc;

use time::Duration;

use super::*;

fn uri(text: &str) -> Uri {
    text.parse().expect("test URL")
}

/// Stores `set_cookie` headers as a response to `url` would.
fn receive(jar: &MemoryCookieJar, url: &str, set_cookie: &[&'static str]) {
    let values: Vec<HeaderValue> = set_cookie
        .iter()
        .map(|text| HeaderValue::from_static(text))
        .collect();
    jar.set_cookies(&uri(url), &mut values.iter());
}

/// The `Cookie` header sent to `url` now, as a string.
fn sent(jar: &MemoryCookieJar, url: &str) -> Option<String> {
    jar.cookies(&uri(url))
        .map(|value| value.to_str().expect("visible ASCII").to_owned())
}

fn rejection(set_cookie: &str, url: &str) -> Option<Rejection> {
    let mut store = CookieStore::default();
    let url = Url::parse(url).expect("test URL");
    insert(&mut store, set_cookie, &url).err()
}

#[test]
fn public_suffix_rule_follows_rfc_6265_step_5() {
    assert_eq!(
        domain_rule("co.uk", "www.example.co.uk"),
        DomainRule::Reject
    );
    assert_eq!(domain_rule("com", "example.com"), DomainRule::Reject);
    assert_eq!(domain_rule("com.", "example.com"), DomainRule::Reject);
    assert_eq!(domain_rule("github.io", "me.github.io"), DomainRule::Reject);
    assert_eq!(domain_rule("co.uk", "co.uk"), DomainRule::HostOnly);
    assert_eq!(
        domain_rule("example.co.uk", "www.example.co.uk"),
        DomainRule::Keep
    );
    assert_eq!(domain_rule("example.com", "example.com"), DomainRule::Keep);
    // Unlisted top-level names are not treated as public suffixes.
    assert_eq!(domain_rule("localhost", "localhost"), DomainRule::Keep);
    assert_eq!(domain_rule("test", "a.test"), DomainRule::Keep);
}

#[test]
fn domain_attributes_are_canonicalized() {
    assert_eq!(canonical_domain(" Example.CO.UK "), "example.co.uk");
    assert_eq!(canonical_domain("bücher.de"), "xn--bcher-kva.de");
}

#[test]
fn cookies_for_public_suffixes_are_rejected() {
    assert!(matches!(
        rejection("a=1; Domain=co.uk", "https://www.example.co.uk/"),
        Some(Rejection::PublicSuffix)
    ));
    assert!(matches!(
        rejection("a=1; Domain=.COM", "https://example.com/"),
        Some(Rejection::PublicSuffix)
    ));

    let jar = MemoryCookieJar::new();
    receive(
        &jar,
        "https://www.example.co.uk/",
        &["a=1; Domain=co.uk", "b=2; Domain=example.co.uk"],
    );
    receive(&jar, "https://example.com/", &["c=3; Domain=com"]);
    assert_eq!(sent(&jar, "https://other.co.uk/"), None);
    assert_eq!(sent(&jar, "https://other.com/"), None);
    assert_eq!(sent(&jar, "https://example.com/"), None);
    assert_eq!(sent(&jar, "https://example.co.uk/").as_deref(), Some("b=2"));
    assert_eq!(
        sent(&jar, "https://deep.www.example.co.uk/").as_deref(),
        Some("b=2")
    );
}

#[test]
fn a_public_suffix_domain_equal_to_the_host_becomes_host_only() {
    let jar = MemoryCookieJar::new();
    receive(&jar, "https://github.io/", &["a=1; Domain=github.io"]);
    assert_eq!(sent(&jar, "https://github.io/").as_deref(), Some("a=1"));
    assert_eq!(sent(&jar, "https://me.github.io/"), None);
}

#[test]
fn host_only_and_domain_cookies() {
    let jar = MemoryCookieJar::new();
    receive(
        &jar,
        "https://example.com/",
        &["host=1", "domain=2; Domain=example.com"],
    );
    let both = sent(&jar, "https://example.com/").expect("cookies");
    assert!(
        both == "host=1; domain=2" || both == "domain=2; host=1",
        "{both}"
    );
    assert_eq!(
        sent(&jar, "https://www.example.com/").as_deref(),
        Some("domain=2")
    );
    assert_eq!(sent(&jar, "https://notexample.com/"), None);
    // A Domain the host is not inside is refused.
    assert!(matches!(
        rejection("a=1; Domain=other.com", "https://example.com/"),
        Some(Rejection::Store(CookieError::DomainMismatch))
    ));
}

#[test]
fn a_redirect_to_another_host_gets_only_its_own_cookies() {
    let jar = MemoryCookieJar::new();
    receive(&jar, "https://a.example/login", &["a_session=1; Path=/"]);
    receive(&jar, "https://b.example/", &["b_session=2; Path=/"]);
    // The follow-up layer asks the jar again with the redirect's URL.
    assert_eq!(
        sent(&jar, "https://a.example/home").as_deref(),
        Some("a_session=1")
    );
    assert_eq!(
        sent(&jar, "https://b.example/next").as_deref(),
        Some("b_session=2")
    );
    assert_eq!(sent(&jar, "https://c.example/"), None);
}

#[test]
fn secure_cookies_need_https_both_ways() {
    assert!(matches!(
        rejection("a=1; Secure", "http://example.com/"),
        Some(Rejection::SecureOverInsecure)
    ));
    assert!(matches!(
        rejection("a=1; Secure", "http://localhost/"),
        Some(Rejection::SecureOverInsecure)
    ));

    let jar = MemoryCookieJar::new();
    receive(&jar, "https://example.com/", &["s=1; Secure", "p=2"]);
    let over_https = sent(&jar, "https://example.com/").expect("cookies");
    assert!(over_https.contains("s=1") && over_https.contains("p=2"));
    assert_eq!(sent(&jar, "http://example.com/").as_deref(), Some("p=2"));

    // Plain http to localhost is not treated as secure either.
    receive(&jar, "https://localhost/", &["local=1; Secure"]);
    assert_eq!(sent(&jar, "https://localhost/").as_deref(), Some("local=1"));
    assert_eq!(sent(&jar, "http://localhost/"), None);
}

#[test]
fn paths_match_by_segment_and_default_to_the_directory() {
    let jar = MemoryCookieJar::new();
    receive(
        &jar,
        "https://example.com/dir/page",
        &["api=1; Path=/api", "dir=2"],
    );
    assert_eq!(
        sent(&jar, "https://example.com/api").as_deref(),
        Some("api=1")
    );
    assert_eq!(
        sent(&jar, "https://example.com/api/v1").as_deref(),
        Some("api=1")
    );
    assert_eq!(sent(&jar, "https://example.com/apix"), None);
    assert_eq!(sent(&jar, "https://example.com/"), None);
    assert_eq!(
        sent(&jar, "https://example.com/dir/other").as_deref(),
        Some("dir=2")
    );
    assert_eq!(sent(&jar, "https://example.com/directory"), None);
}

#[test]
fn longer_paths_are_sent_first() {
    let jar = MemoryCookieJar::new();
    receive(
        &jar,
        "https://example.com/",
        &["root=1; Path=/", "deep=3; Path=/a/b", "mid=2; Path=/a"],
    );
    assert_eq!(
        sent(&jar, "https://example.com/a/b/c").as_deref(),
        Some("deep=3; mid=2; root=1")
    );
}

#[test]
fn expiry_is_checked_against_the_given_time() {
    let jar = MemoryCookieJar::new();
    receive(
        &jar,
        "https://example.com/",
        &["short=1; Max-Age=60", "session=2"],
    );
    let url = uri("https://example.com/");
    let now = OffsetDateTime::now_utc();
    let header = jar.cookies_at(&url, now).expect("cookies");
    assert!(header.to_str().expect("ASCII").contains("short=1"));
    let later = jar
        .cookies_at(&url, now + Duration::minutes(2))
        .expect("session cookie");
    assert_eq!(later, "session=2");
}

#[test]
fn an_expired_set_cookie_deletes_the_cookie() {
    let jar = MemoryCookieJar::new();
    receive(&jar, "https://example.com/", &["a=1", "b=2", "c=3"]);
    receive(
        &jar,
        "https://example.com/",
        &[
            "a=gone; Max-Age=0",
            "b=gone; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        ],
    );
    assert_eq!(sent(&jar, "https://example.com/").as_deref(), Some("c=3"));
}

#[test]
fn a_cookie_is_replaced_by_name_domain_and_path() {
    let jar = MemoryCookieJar::new();
    receive(&jar, "https://example.com/", &["a=1"]);
    receive(&jar, "https://example.com/", &["a=2"]);
    assert_eq!(sent(&jar, "https://example.com/").as_deref(), Some("a=2"));
}

#[test]
fn unparsable_values_and_urls_without_hosts_are_ignored() {
    assert!(matches!(
        rejection("no equals sign", "https://example.com/"),
        Some(Rejection::Unparsable)
    ));
    let jar = MemoryCookieJar::new();
    let bytes = HeaderValue::from_bytes(b"a=\xff").expect("obs-text is a valid header value");
    jar.set_cookies(&uri("https://example.com/"), &mut std::iter::once(&bytes));
    receive(&jar, "/relative", &["a=1"]);
    assert_eq!(sent(&jar, "https://example.com/"), None);
    assert_eq!(sent(&jar, "/relative"), None);
    assert!(!jar.add_cookie_str("a=1", &uri("/relative")));
}

#[test]
fn ip_address_hosts_get_host_only_cookies() {
    let jar = MemoryCookieJar::new();
    receive(&jar, "http://127.0.0.1:8080/", &["a=1"]);
    receive(&jar, "http://[::1]:8080/", &["b=2"]);
    assert_eq!(sent(&jar, "http://127.0.0.1:9090/").as_deref(), Some("a=1"));
    assert_eq!(sent(&jar, "http://[::1]/").as_deref(), Some("b=2"));
}

#[test]
fn clear_and_debug_do_not_show_values() {
    let jar = Arc::new(MemoryCookieJar::new());
    receive(&jar, "https://example.com/", &["secret=hunter2"]);
    let debug = format!("{jar:?}");
    assert!(
        debug.contains("cookies: 1") && !debug.contains("hunter2"),
        "{debug}"
    );
    jar.clear();
    assert_eq!(sent(&jar, "https://example.com/"), None);
}
