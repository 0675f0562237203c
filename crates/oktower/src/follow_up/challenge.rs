//! RFC 7235 authentication challenges: `WWW-Authenticate` and `Proxy-Authenticate`.

use std::borrow::Cow;

use http::header::{HeaderMap, HeaderName, PROXY_AUTHENTICATE, WWW_AUTHENTICATE};
use http::{StatusCode, response};

/// One authentication challenge from a `WWW-Authenticate` or `Proxy-Authenticate` header: a
/// scheme with either auth parameters or a `token68` (RFC 7235 §2.1), OkHttp's `Challenge`.
///
/// Parsing follows OkHttp's `parseChallenges`: several challenges may share one header value,
/// separated by commas; parameter names are case-insensitive (kept lowercased) and their
/// values may be tokens or quoted strings with `\` escapes. A challenge that breaks the grammar
/// (a repeated parameter, a missing value, an unterminated quoted string) ends the parsing of
/// its header value: the challenges before it in that value are kept, it and the rest are
/// dropped.
///
/// ```
/// use http::header::{HeaderMap, HeaderValue, WWW_AUTHENTICATE};
/// use oktower::Challenge;
///
/// let mut headers = HeaderMap::new();
/// headers.append(WWW_AUTHENTICATE, HeaderValue::from_static(r#"Basic realm="staff", charset="UTF-8", Bearer"#));
/// headers.append(WWW_AUTHENTICATE, HeaderValue::from_static("Negotiate YII="));
///
/// let challenges = Challenge::parse_all(&headers, &WWW_AUTHENTICATE);
/// assert_eq!(challenges.len(), 3);
/// assert!(challenges[0].is_scheme("basic"));
/// assert_eq!(challenges[0].realm(), Some("staff"));
/// assert_eq!(challenges[0].param("Charset"), Some("UTF-8"));
/// assert_eq!(challenges[1].scheme(), "Bearer");
/// assert_eq!(challenges[2].token68(), Some("YII="));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    scheme: String,
    token68: Option<String>,
    params: Vec<(String, String)>,
}

impl Challenge {
    /// A challenge for `scheme` with no parameters.
    pub fn new(scheme: impl Into<String>) -> Self {
        Challenge {
            scheme: scheme.into(),
            token68: None,
            params: Vec::new(),
        }
    }

    /// The same challenge with parameter `name` (lowercased) set to `value`.
    pub fn with_param(mut self, name: &str, value: impl Into<String>) -> Self {
        let name = name.to_ascii_lowercase();
        let value = value.into();
        match self.params.iter_mut().find(|(known, _)| *known == name) {
            Some(param) => param.1 = value,
            None => self.params.push((name, value)),
        }
        self
    }

    /// The same challenge carrying `token68` instead of parameters.
    pub fn with_token68(mut self, token68: impl Into<String>) -> Self {
        self.token68 = Some(token68.into());
        self
    }

    /// The auth scheme, as the server spelled it (`Basic`, `Bearer`, `Digest`, ...).
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// Whether the auth scheme is `scheme`, compared case-insensitively as RFC 7235 says.
    pub fn is_scheme(&self, scheme: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme)
    }

    /// The `realm` parameter, if any.
    pub fn realm(&self) -> Option<&str> {
        self.param("realm")
    }

    /// The value of parameter `name` (case-insensitive), if any.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The parameters in the order the server sent them, names lowercased.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    /// The `token68` sent instead of parameters, if any.
    pub fn token68(&self) -> Option<&str> {
        self.token68.as_deref()
    }

    /// The challenges of every `name` header in `headers`, in order.
    pub fn parse_all(headers: &HeaderMap, name: &HeaderName) -> Vec<Challenge> {
        let mut challenges = Vec::new();
        for value in headers.get_all(name) {
            parse_value(&String::from_utf8_lossy(value.as_bytes()), &mut challenges);
        }
        challenges
    }

    /// The challenges of a `401` (its `WWW-Authenticate`) or `407` (its `Proxy-Authenticate`)
    /// response; none for other statuses (OkHttp's `Response.challenges()`).
    pub fn of_response(response: &response::Parts) -> Vec<Challenge> {
        match response.status {
            StatusCode::UNAUTHORIZED => Challenge::parse_all(&response.headers, &WWW_AUTHENTICATE),
            StatusCode::PROXY_AUTHENTICATION_REQUIRED => {
                Challenge::parse_all(&response.headers, &PROXY_AUTHENTICATE)
            }
            _ => Vec::new(),
        }
    }

    /// The challenges of one header value.
    pub fn parse(value: &str) -> Vec<Challenge> {
        let mut challenges = Vec::new();
        parse_value(value, &mut challenges);
        challenges
    }
}

/// Appends the challenges of `value` to `out`, stopping at the first one that breaks the
/// grammar. A token after a scheme is a `token68` when nothing but `=` padding, a comma or the
/// end follows it, unless a comma came between it and the scheme; otherwise it starts the
/// parameters.
fn parse_value(value: &str, out: &mut Vec<Challenge>) {
    let mut cursor = Cursor { rest: value };
    // A token read ahead: the scheme of the next challenge.
    let mut peeked: Option<&str> = None;
    loop {
        let scheme = match peeked.take() {
            Some(scheme) => scheme,
            None => {
                cursor.skip_commas_and_whitespace();
                match cursor.token() {
                    Some(scheme) => scheme,
                    None => return,
                }
            }
        };
        let comma_before = cursor.skip_commas_and_whitespace();
        let Some(first) = cursor.token() else {
            if cursor.rest.is_empty() {
                out.push(Challenge::new(scheme));
            }
            return;
        };
        let mut equals = cursor.skip_equals();
        let comma_after = cursor.skip_commas_and_whitespace();
        if !comma_before && (comma_after || cursor.rest.is_empty()) {
            let token68 = format!("{first}{}", "=".repeat(equals));
            out.push(Challenge::new(scheme).with_token68(token68));
            continue;
        }

        let mut challenge = Challenge::new(scheme);
        let mut name = Some(first);
        equals += cursor.skip_equals();
        loop {
            let param = match name.take() {
                Some(param) => param,
                None => {
                    let next = cursor.token();
                    if cursor.skip_commas_and_whitespace() {
                        // A scheme followed by a comma: the next challenge.
                        peeked = next;
                        break;
                    }
                    equals = cursor.skip_equals();
                    match next {
                        Some(next) => next,
                        // The end of the value, or `=` with no parameter name before it.
                        None if equals == 0 => break,
                        None => return,
                    }
                }
            };
            if equals == 0 {
                // Not a parameter: the scheme of the next challenge.
                peeked = Some(param);
                break;
            }
            if equals > 1 || cursor.skip_commas_and_whitespace() {
                return;
            }
            let value = if cursor.rest.starts_with('"') {
                cursor.quoted_string()
            } else {
                cursor.token().map(Cow::Borrowed)
            };
            let Some(value) = value else { return };
            if challenge.param(param).is_some() {
                return;
            }
            challenge = challenge.with_param(param, value);
            if !cursor.skip_commas_and_whitespace() && !cursor.rest.is_empty() {
                return;
            }
        }
        out.push(challenge);
    }
}

/// What is left of a header value.
struct Cursor<'a> {
    rest: &'a str,
}

impl<'a> Cursor<'a> {
    /// Skips commas, spaces and tabs; returns whether a comma was among them.
    fn skip_commas_and_whitespace(&mut self) -> bool {
        let skipped = self.rest.len() - self.rest.trim_start_matches([',', ' ', '\t']).len();
        let comma = self.rest[..skipped].contains(',');
        self.rest = &self.rest[skipped..];
        comma
    }

    /// Skips `=` signs; returns how many.
    fn skip_equals(&mut self) -> usize {
        let trimmed = self.rest.trim_start_matches('=');
        let count = self.rest.len() - trimmed.len();
        self.rest = trimmed;
        count
    }

    /// A non-empty run of characters other than tab, space, `,` and `=`.
    fn token(&mut self) -> Option<&'a str> {
        let end = self
            .rest
            .find(['\t', ' ', ',', '='])
            .unwrap_or(self.rest.len());
        if end == 0 {
            return None;
        }
        let (token, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(token)
    }

    /// A quoted string starting at the cursor's `"`, with `\` escapes removed; `None` when it
    /// is not terminated.
    fn quoted_string(&mut self) -> Option<Cow<'a, str>> {
        let body = self.rest.strip_prefix('"')?;
        let mut unescaped: Option<String> = None;
        let mut chars = body.char_indices();
        while let Some((index, c)) = chars.next() {
            match c {
                '"' => {
                    self.rest = &body[index + 1..];
                    return Some(match unescaped {
                        Some(text) => Cow::Owned(text),
                        None => Cow::Borrowed(&body[..index]),
                    });
                }
                '\\' => {
                    let (_, escaped) = chars.next()?;
                    unescaped
                        .get_or_insert_with(|| body[..index].to_owned())
                        .push(escaped);
                }
                c => {
                    if let Some(text) = unescaped.as_mut() {
                        text.push(c);
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests;
