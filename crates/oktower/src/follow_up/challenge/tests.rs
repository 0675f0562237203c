//! The cases of OkHttp's `HeadersChallengesTest`, and a few more.

use super::*;
use http::HeaderValue;

fn basic(realm: &str) -> Challenge {
    Challenge::new("Basic").with_param("realm", realm)
}

fn digest_params() -> Vec<(&'static str, &'static str)> {
    vec![
        ("realm", "myrealm"),
        ("nonce", "fjalskdflwejrlaskdfjlaskdjflaksjdflkasdf"),
        ("qop", "auth"),
        ("stale", "FALSE"),
    ]
}

fn sorted_params(challenge: &Challenge) -> Vec<(&str, &str)> {
    let mut params: Vec<_> = challenge.params().collect();
    params.sort();
    params
}

#[test]
fn digest_challenges_in_any_order_and_case() {
    let nonce = "fjalskdflwejrlaskdfjlaskdjflaksjdflkasdf";
    let values = [
        format!(r#"Digest realm="myrealm", nonce="{nonce}", qop="auth", stale="FALSE""#),
        format!(r#"Digest qop="auth", realm="myrealm", nonce="{nonce}", stale="FALSE""#),
        format!(r#"Digest qop="auth", nonce="{nonce}", realm="myrealm", stale="FALSE""#),
        format!(r#"Digest qop="auth",    realm="myrealm", nonce="{nonce}", stale="FALSE""#),
        format!(r#"Digest    realm="myrealm", nonce="{nonce}", qop="auth", stale="FALSE""#),
        format!(r#"DiGeSt qop="auth", rEaLm="myrealm", nonce="{nonce}", stale="FALSE""#),
    ];
    let mut expected = digest_params();
    expected.sort();
    for value in values {
        let challenges = Challenge::parse(&value);
        assert_eq!(challenges.len(), 1, "{value}");
        assert!(challenges[0].is_scheme("Digest"));
        assert_eq!(challenges[0].realm(), Some("myrealm"), "{value}");
        assert_eq!(sorted_params(&challenges[0]), expected, "{value}");
    }
    assert_eq!(Challenge::parse("DiGeSt realm=x")[0].scheme(), "DiGeSt");
}

#[test]
fn realm_is_absent_when_not_sent() {
    let challenges = Challenge::parse(r#"Digest qop="auth", underrealm="myrealm""#);
    assert_eq!(challenges.len(), 1);
    assert_eq!(challenges[0].realm(), None);
    assert_eq!(challenges[0].param("underrealm"), Some("myrealm"));
}

#[test]
fn token_values_and_bare_schemes() {
    assert_eq!(
        Challenge::parse("Digest realm=myrealm"),
        vec![Challenge::new("Digest").with_param("realm", "myrealm")]
    );
    let bare = Challenge::parse("Digest");
    assert_eq!(bare, vec![Challenge::new("Digest")]);
    assert_eq!(bare[0].params().count(), 0);
    assert_eq!(bare[0].token68(), None);
}

#[test]
fn basic_with_charset() {
    let challenges = Challenge::parse(r#"Basic realm="protected area", charset="UTF-8""#);
    assert_eq!(
        challenges,
        vec![basic("protected area").with_param("charset", "UTF-8")]
    );
    let unexpected = Challenge::parse(r#"Basic realm="protected area", charset="US-ASCII""#);
    assert_eq!(unexpected[0].param("CHARSET"), Some("US-ASCII"));
}

#[test]
fn separators_and_spaces() {
    assert_eq!(
        Challenge::parse(" ,  , Basic realm=myrealm"),
        vec![basic("myrealm")]
    );
    assert_eq!(
        Challenge::parse(r#"Basic realm = "myrealm""#),
        vec![basic("myrealm")]
    );
    assert_eq!(
        Challenge::parse(r#"Basic realm = "myrealm",Digest"#),
        vec![basic("myrealm"), Challenge::new("Digest")]
    );
    assert_eq!(
        Challenge::parse(r#"Basic realm = "myrealm",Basic realm=myotherrealm"#),
        vec![basic("myrealm"), basic("myotherrealm")]
    );
    for value in [
        r#"Digest, Basic ,,realm="myrealm""#,
        r#"Digest,Basic realm="myrealm""#,
        r#"Digest,,,, Basic ,,realm="myrealm""#,
    ] {
        assert_eq!(
            Challenge::parse(value),
            vec![Challenge::new("Digest"), basic("myrealm")],
            "{value}"
        );
    }
}

#[test]
fn unknown_parameters_are_kept_in_order() {
    let challenges = Challenge::parse(r#"Digest,,,, Basic ,,foo=bar,realm="myrealm""#);
    assert_eq!(challenges.len(), 2);
    let params: Vec<_> = challenges[1].params().collect();
    assert_eq!(params, vec![("foo", "bar"), ("realm", "myrealm")]);
}

#[test]
fn quoted_strings() {
    // Escapes: `\\` is a backslash, `\"` a quote, `\e` an e.
    let challenges = Challenge::parse(r#"Digest,,,, Basic ,,,realm="my\\\"r\ealm""#);
    assert_eq!(
        challenges,
        vec![Challenge::new("Digest"), basic(r#"my\"realm"#)]
    );
    let challenges = Challenge::parse(r#",Digest,,,, Basic ,,,realm="my, realm,""#);
    assert_eq!(
        challenges,
        vec![Challenge::new("Digest"), basic("my, realm,")]
    );
    // A quote left unescaped ends the string early; what follows breaks the grammar.
    let challenges = Challenge::parse(r#"Digest,,,, Basic ,,,realm="my\\\\"r\ealm""#);
    assert_eq!(challenges, vec![Challenge::new("Digest")]);
    let challenges = Challenge::parse(r#"Digest,,,, Basic ,,,realm="my"realm""#);
    assert_eq!(challenges, vec![Challenge::new("Digest")]);
    // Unterminated, or a dangling escape.
    assert_eq!(Challenge::parse(r#"Basic realm="open"#), vec![]);
    assert_eq!(Challenge::parse(r#"Basic realm="open\"#), vec![]);
    // Non-ASCII inside quotes.
    assert_eq!(
        Challenge::parse("Basic realm=\"caf\u{e9} \\\u{e9}\""),
        vec![basic("caf\u{e9} \u{e9}")]
    );
}

#[test]
fn token68() {
    assert_eq!(
        Challenge::parse("Other abc=="),
        vec![Challenge::new("Other").with_token68("abc==")]
    );
    assert_eq!(
        Challenge::parse("Other abc==, realm=myrealm"),
        vec![Challenge::new("Other").with_token68("abc==")]
    );
    assert_eq!(
        Challenge::parse("Negotiate YIIabc, Basic realm=r"),
        vec![
            Challenge::new("Negotiate").with_token68("YIIabc"),
            basic("r")
        ]
    );
    // A trailing `=` makes a token68, not a parameter without a value.
    assert_eq!(
        Challenge::parse("Digest foo="),
        vec![Challenge::new("Digest").with_token68("foo=")]
    );
    // A comma between the scheme and the token makes them two challenges.
    assert_eq!(
        Challenge::parse("Digest ,foo"),
        vec![Challenge::new("Digest"), Challenge::new("foo")]
    );
    assert_eq!(
        Challenge::parse("Digest foo=bar"),
        vec![Challenge::new("Digest").with_param("foo", "bar")]
    );
}

#[test]
fn malformed_challenges_end_the_value() {
    assert_eq!(
        Challenge::parse("Other realm=myotherrealm, realm=myrealm"),
        vec![]
    );
    assert_eq!(Challenge::parse("Basic realm==x"), vec![]);
    // `realm=` before a comma reads as a token68 (OkHttp's reading); `x=y` has no scheme.
    assert_eq!(
        Challenge::parse("Basic realm=, x=y"),
        vec![Challenge::new("Basic").with_token68("realm=")]
    );
    assert_eq!(Challenge::parse("Basic a=b, realm=, x=y"), vec![]);
    assert_eq!(Challenge::parse("Basic realm=a Digest"), vec![]);
    assert_eq!(Challenge::parse("Basic realm=a, =b"), vec![]);
    assert_eq!(Challenge::parse("Basic =x"), vec![]);
    assert_eq!(Challenge::parse(""), vec![]);
    assert_eq!(Challenge::parse(" , ,"), vec![]);
    assert_eq!(
        Challenge::parse("Basic, Digest realm=a, Bearer"),
        vec![
            Challenge::new("Basic"),
            Challenge::new("Digest").with_param("realm", "a"),
            Challenge::new("Bearer")
        ]
    );
}

#[test]
fn several_headers() {
    let mut headers = HeaderMap::new();
    headers.append(WWW_AUTHENTICATE, HeaderValue::from_static("Digest"));
    headers.append(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=myrealm"),
    );
    headers.append(
        PROXY_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=proxy"),
    );
    assert_eq!(
        Challenge::parse_all(&headers, &WWW_AUTHENTICATE),
        vec![Challenge::new("Digest"), basic("myrealm")]
    );
    // A broken value does not hide the challenges of the next one.
    let mut broken = HeaderMap::new();
    broken.append(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"x"),
    );
    broken.append(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=myotherrealm"),
    );
    assert_eq!(
        Challenge::parse_all(&broken, &WWW_AUTHENTICATE),
        vec![basic("myotherrealm")]
    );
    // Invalid UTF-8 is read lossily.
    let mut latin1 = HeaderMap::new();
    latin1.append(
        WWW_AUTHENTICATE,
        HeaderValue::from_bytes(b"Basic realm=\"caf\xe9\"").unwrap(),
    );
    assert_eq!(
        Challenge::parse_all(&latin1, &WWW_AUTHENTICATE),
        vec![basic("caf\u{fffd}")]
    );
}

#[test]
fn challenges_of_a_response_follow_its_status() {
    let response = |status: u16| {
        http::Response::builder()
            .status(status)
            .header(WWW_AUTHENTICATE, "Basic realm=origin")
            .header(PROXY_AUTHENTICATE, "Basic realm=proxy")
            .body(())
            .unwrap()
            .into_parts()
            .0
    };
    assert_eq!(
        Challenge::of_response(&response(401)),
        vec![basic("origin")]
    );
    assert_eq!(Challenge::of_response(&response(407)), vec![basic("proxy")]);
    assert_eq!(Challenge::of_response(&response(200)), vec![]);
}

#[test]
fn builders_replace_repeated_parameters() {
    let challenge = Challenge::new("Basic")
        .with_param("Realm", "a")
        .with_param("REALM", "b");
    assert_eq!(challenge.realm(), Some("b"));
    assert_eq!(challenge.params().count(), 1);
}
