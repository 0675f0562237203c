//! The key of a stored entry.

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

use crate::{Error, ErrorKind};

/// The longest key a store accepts.
pub const MAX_STORE_KEY_LEN: usize = 120;

/// The name of one entry in a [`CacheStore`](super::CacheStore): 1 to 120 characters from
/// `a-z`, `0-9`, `_` and `-` (OkHttp's `DiskLruCache` rule).
///
/// The cache layer derives it from the request (the hex SHA-256 of the URL); stores use it as
/// a file name or a database key as it is, which is why the alphabet is narrow: no separator,
/// no dot, no upper case that a case-insensitive file system would fold.
///
/// ```
/// use oktower::StoreKey;
///
/// let key = StoreKey::new("3f2a9c")?;
/// assert_eq!(key.as_str(), "3f2a9c");
/// assert!(StoreKey::new("../etc/passwd").is_err());
/// assert!(StoreKey::new("").is_err());
/// # Ok::<(), oktower::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoreKey(Arc<str>);

impl StoreKey {
    /// Checks `key` against the alphabet and the length limit.
    pub fn new(key: impl Into<String>) -> Result<Self, Error> {
        let key = key.into();
        if is_valid(&key) {
            Ok(StoreKey(Arc::from(key)))
        } else {
            Err(Error::new(
                ErrorKind::Builder,
                format!(
                    "invalid cache store key {:?}: expected 1 to {MAX_STORE_KEY_LEN} characters from a-z, 0-9, '_' and '-'",
                    truncated(&key)
                ),
            ))
        }
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `key` is a valid [`StoreKey`].
pub(crate) fn is_valid(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_STORE_KEY_LEN
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// At most the first 40 characters of `text`, for error messages about bad input.
fn truncated(text: &str) -> &str {
    match text.char_indices().nth(40) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for StoreKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for StoreKey {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for StoreKey {
    type Error = Error;

    fn try_from(key: &str) -> Result<Self, Error> {
        StoreKey::new(key)
    }
}

impl TryFrom<String> for StoreKey {
    type Error = Error;

    fn try_from(key: String) -> Result<Self, Error> {
        StoreKey::new(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_okhttp_alphabet() {
        for key in [
            "a",
            "0",
            "_",
            "-",
            "abc-123_def",
            &"f".repeat(MAX_STORE_KEY_LEN),
        ] {
            assert_eq!(StoreKey::new(key).unwrap().as_str(), key);
        }
        let hex_sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert!(StoreKey::new(hex_sha256).is_ok());
    }

    #[test]
    fn rejects_anything_else_with_a_builder_error() {
        let too_long = "a".repeat(MAX_STORE_KEY_LEN + 1);
        for key in [
            "",
            "A",
            "a.b",
            "a/b",
            "..",
            "a b",
            "a\n",
            "é",
            "a\0",
            too_long.as_str(),
        ] {
            let error = StoreKey::new(key).unwrap_err();
            assert!(error.is_builder(), "{key:?}");
            assert!(error.message().contains("invalid cache store key"));
        }
    }

    #[test]
    fn error_messages_do_not_repeat_huge_keys() {
        let huge = "X".repeat(10_000);
        let error = StoreKey::new(huge).unwrap_err();
        assert!(error.message().len() < 200, "{}", error.message());
    }

    #[test]
    fn conversions_and_formatting() {
        let key = StoreKey::try_from("abc").unwrap();
        assert_eq!(key.to_string(), "abc");
        assert_eq!(format!("{key:?}"), "\"abc\"");
        assert_eq!(StoreKey::try_from(String::from("abc")).unwrap(), key);
        let borrowed: &str = key.borrow();
        assert_eq!(borrowed, "abc");
    }
}
