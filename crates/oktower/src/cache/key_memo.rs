//! The store keys of recently used URLs, so that a lookup does not recompute a URL's
//! canonical text and its SHA-256 at every request.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::{PoisonError, RwLock};

use http::Uri;

use super::StoreKey;
use super::network::store_key;

/// How many URLs are remembered; beyond that the memo starts over (a key is only ever
/// recomputed, never wrong).
const CAPACITY: usize = 1024;

/// URL → [`StoreKey`], for URLs spelled exactly the same (scheme, authority, path and query
/// compared byte for byte, so two spellings never share a memo entry even where they share
/// a key).
#[derive(Debug, Default)]
pub(super) struct StoreKeyMemo {
    hasher: RandomState,
    keys: RwLock<HashMap<u64, (Uri, StoreKey)>>,
}

impl StoreKeyMemo {
    /// The store key of `uri` (see [`store_key`]), remembered.
    pub(super) fn key_of(&self, uri: &Uri) -> Option<StoreKey> {
        let hash = self.hasher.hash_one(Spelling(uri));
        {
            let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
            if let Some((known, key)) = keys.get(&hash)
                && Spelling(known) == Spelling(uri)
            {
                return Some(key.clone());
            }
        }
        let key = store_key(uri)?;
        let mut keys = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        if keys.len() >= CAPACITY {
            keys.clear();
        }
        keys.insert(hash, (uri.clone(), key.clone()));
        Some(key)
    }

    /// How many URLs are remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// A URL compared and hashed by its exact text.
struct Spelling<'a>(&'a Uri);

impl Spelling<'_> {
    fn parts(&self) -> (Option<&str>, Option<&str>, Option<&str>) {
        let uri = self.0;
        (
            uri.scheme_str(),
            uri.authority().map(|authority| authority.as_str()),
            uri.path_and_query().map(|path| path.as_str()),
        )
    }
}

impl PartialEq for Spelling<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Hash for Spelling<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.parts().hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(text: &str) -> Uri {
        text.parse().unwrap()
    }

    #[test]
    fn remembers_the_key_it_computes() {
        let memo = StoreKeyMemo::default();
        let a = uri("http://a.test/x?q=1");
        assert_eq!(memo.key_of(&a), store_key(&a));
        assert_eq!(memo.len(), 1);
        assert_eq!(memo.key_of(&a.clone()), store_key(&a));
        assert_eq!(memo.len(), 1, "found, not added again");
    }

    #[test]
    fn spellings_are_told_apart_even_where_the_key_is_shared() {
        let memo = StoreKeyMemo::default();
        let texts = [
            "http://a.test/x",
            "HTTP://A.test:80/x",
            "http://User@a.test/x",
            "http://user@a.test/x",
            "http://a.test/x?",
            "http://a.test/X",
            "/x",
        ];
        for text in texts {
            let key = memo.key_of(&uri(text));
            assert_eq!(key, store_key(&uri(text)), "{text}");
        }
        assert_eq!(memo.len(), texts.len());
        for text in texts {
            assert_eq!(memo.key_of(&uri(text)), store_key(&uri(text)), "{text}");
        }
        assert_eq!(
            memo.key_of(&uri("http://a.test/x")),
            memo.key_of(&uri("HTTP://A.test:80/x"))
        );
        assert_ne!(
            memo.key_of(&uri("http://User@a.test/x")),
            memo.key_of(&uri("http://user@a.test/x"))
        );
    }

    #[test]
    fn stays_within_its_capacity() {
        let memo = StoreKeyMemo::default();
        for n in 0..CAPACITY + 10 {
            let text = format!("http://a.test/{n}");
            assert_eq!(memo.key_of(&uri(&text)), store_key(&uri(&text)));
        }
        assert!(memo.len() <= CAPACITY);
        assert_eq!(memo.len(), 10);
    }
}
