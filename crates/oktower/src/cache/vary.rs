//! `Vary` (RFC 9111 §4.1): which request header fields select a stored response.

use http::HeaderMap;
use http::header::{HeaderName, VARY};

/// The field names of every `Vary` line of `response_headers`, trimmed, empty members
/// skipped, as given (compare them ignoring case). A line that is not visible ASCII yields
/// `*`, so such a response is never stored or matched.
pub(crate) fn vary_fields(response_headers: &HeaderMap) -> impl Iterator<Item = &str> {
    response_headers
        .get_all(VARY)
        .iter()
        .flat_map(|value| value.to_str().unwrap_or("*").split(','))
        .map(str::trim)
        .filter(|field| !field.is_empty())
}

/// Whether the response's `Vary` contains `*`: it varies on more than request headers, so it
/// is never stored.
///
/// ```
/// use http::HeaderMap;
/// use oktower::has_vary_all;
///
/// let mut headers = HeaderMap::new();
/// headers.insert("vary", "Accept-Encoding, *".parse().unwrap());
/// assert!(has_vary_all(&headers));
/// ```
pub fn has_vary_all(response_headers: &HeaderMap) -> bool {
    vary_fields(response_headers).any(|field| field == "*")
}

/// The values `request_headers` has for the fields the response's `Vary` names, in request
/// order for each field: what an entry stores to match later requests against. Empty when the
/// response has no `Vary`.
///
/// ```
/// use http::HeaderMap;
/// use oktower::varying_request_headers;
///
/// let mut response = HeaderMap::new();
/// response.insert("vary", "accept-encoding".parse().unwrap());
/// let mut request = HeaderMap::new();
/// request.insert("Accept-Encoding", "gzip".parse().unwrap());
/// request.insert("User-Agent", "oktower".parse().unwrap());
/// let stored = varying_request_headers(&response, &request);
/// assert_eq!(stored.len(), 1);
/// assert_eq!(stored["accept-encoding"], "gzip");
/// ```
pub fn varying_request_headers(
    response_headers: &HeaderMap,
    request_headers: &HeaderMap,
) -> HeaderMap {
    let mut stored = HeaderMap::new();
    for field in vary_fields(response_headers) {
        let Ok(name) = HeaderName::from_bytes(field.as_bytes()) else {
            continue; // not a field name: no request can carry it
        };
        if stored.contains_key(&name) {
            continue; // named twice
        }
        for value in request_headers.get_all(&name) {
            stored.append(name.clone(), value.clone());
        }
    }
    stored
}

/// Whether a new request with `request_headers` selects the stored response whose headers are
/// `response_headers` and whose stored varying request headers are `stored_request_headers`
/// (OkHttp's `varyMatches`): for every field `Vary` names, the stored values and the new ones
/// are equal as ordered lists; an absent field equals an absent field. Names ignore case;
/// values compare byte for byte. `Vary: *` never matches.
///
/// ```
/// use http::HeaderMap;
/// use oktower::vary_matches;
///
/// let mut response = HeaderMap::new();
/// response.insert("vary", "Accept-Language".parse().unwrap());
/// let mut stored = HeaderMap::new();
/// stored.insert("accept-language", "fr-CA".parse().unwrap());
/// let mut same = HeaderMap::new();
/// same.insert("accept-language", "fr-CA".parse().unwrap());
/// assert!(vary_matches(&response, &stored, &same));
/// assert!(!vary_matches(&response, &stored, &HeaderMap::new()));
/// ```
pub fn vary_matches(
    response_headers: &HeaderMap,
    stored_request_headers: &HeaderMap,
    request_headers: &HeaderMap,
) -> bool {
    vary_fields(response_headers).all(|field| {
        field != "*"
            && stored_request_headers
                .get_all(field)
                .iter()
                .eq(request_headers.get_all(field).iter())
    })
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn fields_split_on_commas_across_lines_and_skip_empty_members() {
        let response = headers(&[
            ("vary", " Accept-Encoding ,, User-Agent"),
            ("vary", "Cookie"),
        ]);
        let fields: Vec<_> = vary_fields(&response).collect();
        assert_eq!(fields, ["Accept-Encoding", "User-Agent", "Cookie"]);
        assert_eq!(vary_fields(&headers(&[("vary", " ")])).count(), 0);
    }

    #[test]
    fn vary_star_is_detected_and_never_matches() {
        let response = headers(&[("vary", "Accept"), ("vary", " * ")]);
        assert!(has_vary_all(&response));
        assert!(!vary_matches(
            &response,
            &HeaderMap::new(),
            &HeaderMap::new()
        ));
        assert!(!has_vary_all(&headers(&[("vary", "Accept")])));
    }

    #[test]
    fn a_non_ascii_vary_counts_as_vary_star() {
        let mut response = HeaderMap::new();
        response.insert(
            VARY,
            HeaderValue::from_bytes(b"Accept-\xffLanguage").unwrap(),
        );
        assert!(has_vary_all(&response));
    }

    #[test]
    fn no_vary_matches_any_request() {
        let response = headers(&[("content-type", "text/plain")]);
        let request = headers(&[("accept-language", "fr")]);
        assert!(vary_matches(&response, &HeaderMap::new(), &request));
        assert!(varying_request_headers(&response, &request).is_empty());
    }

    #[test]
    fn changed_value_does_not_match() {
        let response = headers(&[("vary", "Accept-Language")]);
        let stored = headers(&[("accept-language", "fr-CA")]);
        let request = headers(&[("accept-language", "en-US")]);
        assert!(!vary_matches(&response, &stored, &request));
    }

    #[test]
    fn absent_field_matches_absent_field() {
        let response = headers(&[("vary", "Foo")]);
        assert!(vary_matches(
            &response,
            &HeaderMap::new(),
            &HeaderMap::new()
        ));
    }

    #[test]
    fn added_or_removed_field_does_not_match() {
        let response = headers(&[("vary", "Foo")]);
        let stored = headers(&[("foo", "bar")]);
        assert!(!vary_matches(&response, &HeaderMap::new(), &stored));
        assert!(!vary_matches(&response, &stored, &HeaderMap::new()));
    }

    #[test]
    fn field_names_ignore_case() {
        let response = headers(&[("vary", "ACCEPT-LANGUAGE")]);
        let request = headers(&[("accept-language", "fr-CA")]);
        let stored = varying_request_headers(&response, &request);
        assert_eq!(stored["Accept-Language"], "fr-CA");
        assert!(vary_matches(&response, &stored, &request));
    }

    #[test]
    fn multiple_fields_must_all_match() {
        let response = headers(&[("vary", "Accept-Language, Accept-Charset")]);
        let stored = headers(&[("accept-language", "fr-CA"), ("accept-charset", "UTF-8")]);
        let same = stored.clone();
        let different = headers(&[("accept-language", "fr-CA"), ("accept-charset", "ASCII")]);
        assert!(vary_matches(&response, &stored, &same));
        assert!(!vary_matches(&response, &stored, &different));
    }

    #[test]
    fn multiple_values_compare_as_ordered_lists() {
        let response = headers(&[("vary", "Accept-Language")]);
        let stored = headers(&[("accept-language", "fr-CA"), ("accept-language", "en-US")]);
        let same = stored.clone();
        let reordered = headers(&[("accept-language", "en-US"), ("accept-language", "fr-CA")]);
        let joined = headers(&[("accept-language", "fr-CA, en-US")]);
        assert!(vary_matches(&response, &stored, &same));
        assert!(!vary_matches(&response, &stored, &reordered));
        assert!(!vary_matches(&response, &stored, &joined));
    }

    #[test]
    fn extracted_headers_keep_every_value_in_order_and_only_named_fields() {
        let response = headers(&[("vary", "Accept-Language, Missing, accept-language")]);
        let request = headers(&[
            ("accept-language", "fr"),
            ("user-agent", "ua"),
            ("accept-language", "en"),
        ]);
        let stored = varying_request_headers(&response, &request);
        let values: Vec<_> = stored.get_all("accept-language").iter().collect();
        assert_eq!(values, ["fr", "en"]);
        assert_eq!(stored.len(), 2);
    }
}
