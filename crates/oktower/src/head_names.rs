//! Which of a few header names a request or response head carries, found in one pass.
//!
//! An exchange decides on a handful of headers (`Connection`, `Expect`, `Content-Length`,
//! `Transfer-Encoding`), and the bridge on `Content-Encoding`, that most heads carry few of.
//! A `HeaderMap` lookup hashes the name and probes the table, about 90 instructions even on an
//! empty map; comparing the few names a head has with a standard name costs a few
//! instructions each. A large map is looked up name by name instead.

use http::{HeaderMap, HeaderName, HeaderValue};

/// Above this many distinct names, `names` are looked up in the map rather than compared with
/// each of its names in turn.
const SCAN_LIMIT: usize = 16;

/// Whether `headers` carries each of `names`, in their order.
#[inline]
pub(crate) fn present<const N: usize>(headers: &HeaderMap, names: [&HeaderName; N]) -> [bool; N] {
    let mut found = [false; N];
    if headers.keys_len() > SCAN_LIMIT {
        for (slot, name) in found.iter_mut().zip(names) {
            *slot = headers.contains_key(name);
        }
        return found;
    }
    for key in headers.keys() {
        for (slot, name) in found.iter_mut().zip(names) {
            *slot |= key == name;
        }
    }
    found
}

/// Calls `each` with every value of `name` in `headers`, in their order: found by comparing
/// names in a small map, by a lookup in a large one.
#[inline]
pub(crate) fn for_each_value(
    headers: &HeaderMap,
    name: &HeaderName,
    mut each: impl FnMut(&HeaderValue),
) {
    if headers.keys_len() > SCAN_LIMIT {
        headers.get_all(name).iter().for_each(each);
        return;
    }
    for (key, value) in headers {
        if key == name {
            each(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use http::header::{CONNECTION, CONTENT_LENGTH, EXPECT, TRANSFER_ENCODING};
    use proptest::prelude::*;

    const NAMES: [&HeaderName; 4] = [&CONNECTION, &EXPECT, &CONTENT_LENGTH, &TRANSFER_ENCODING];

    fn looked_up(headers: &HeaderMap) -> [bool; 4] {
        NAMES.map(|name| headers.contains_key(name))
    }

    #[test]
    fn an_empty_head_carries_none() {
        assert_eq!(present(&HeaderMap::new(), NAMES), [false; 4]);
    }

    #[test]
    fn names_are_found_in_any_case_and_with_repeated_values() {
        let mut headers = HeaderMap::new();
        headers.append("content-length", HeaderValue::from_static("3"));
        headers.append(
            HeaderName::from_static("x-one"),
            HeaderValue::from_static("1"),
        );
        headers.append(CONNECTION, HeaderValue::from_static("keep-alive"));
        headers.append(CONNECTION, HeaderValue::from_static("close"));
        let parsed = HeaderName::from_bytes(b"Transfer-Encoding").unwrap();
        headers.append(parsed, HeaderValue::from_static("chunked"));
        assert_eq!(present(&headers, NAMES), [true, false, true, true]);
    }

    proptest! {
        /// The scan and the lookups agree on small and large maps alike, with standard and
        /// custom names mixed: on which names are there, and on their values in order.
        #[test]
        fn the_scan_agrees_with_lookups(
            picks in proptest::collection::vec((0usize..12, 0u8..3), 0..40),
        ) {
            let pool: [&str; 12] = [
                "connection", "expect", "content-length", "transfer-encoding", "host",
                "accept", "user-agent", "x-a", "x-b", "x-expect", "date", "server",
            ];
            let mut headers = HeaderMap::new();
            for (index, extra) in picks {
                let name = HeaderName::from_static(pool[index]);
                headers.append(name, HeaderValue::from(u16::from(extra)));
                for suffix in 0..extra {
                    let custom = format!("x-{index}-{suffix}");
                    let custom = HeaderName::from_bytes(custom.as_bytes()).unwrap();
                    headers.insert(custom, HeaderValue::from_static("v"));
                }
            }
            prop_assert_eq!(present(&headers, NAMES), looked_up(&headers));
            for name in NAMES {
                let mut scanned = Vec::new();
                for_each_value(&headers, name, |value| scanned.push(value.clone()));
                let found: Vec<HeaderValue> = headers.get_all(name).iter().cloned().collect();
                prop_assert_eq!(scanned, found);
            }
        }
    }
}
