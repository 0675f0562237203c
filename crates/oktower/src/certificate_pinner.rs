//! Certificate pinning, OkHttp's `CertificatePinner`.

use std::fmt;
use std::fmt::Write as _;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use rustls_pki_types::{CertificateDer, TrustAnchor};

use crate::tls::{distinguished_name, spki};
use crate::{Error, ErrorKind};

const SHA256_PREFIX: &str = "sha256/";

/// Constrains which certificates are trusted for a host: a connection to a pinned host succeeds
/// only if one certificate of its verified chain (leaf, intermediates or the trust anchor) has
/// the SubjectPublicKeyInfo SHA-256 hash of one of the host's pins.
///
/// Pins are written `sha256/<base64 of the SHA-256 of the DER SubjectPublicKeyInfo>`, as
/// OkHttp writes them. OkHttp also accepts `sha1/` pins, for compatibility with pins made
/// before it supported SHA-256; oktower does not: SHA-1 is no longer collision resistant
/// (practical chosen-prefix collisions were published in 2020), every tool that prints pins
/// prints SHA-256 ones, and refusing SHA-1 means no configuration can pin on a weak hash. A
/// `sha1/` pin is a [`Builder`](ErrorKind::Builder) error that says so.
///
/// Host patterns are an exact host (`api.example.com`), `*.example.com` (exactly one more
/// label: `a.example.com`, not `example.com` or `a.b.example.com`) or `**.example.com` (any
/// number of labels, including none: `example.com`, `a.b.example.com`). Every pattern that
/// matches a host contributes its pins, and any one pin suffices.
///
/// Pinning is checked against the *verified* chain, never against the certificates a server
/// merely sent: a server can append any certificate to what it sends, and a pin satisfied by
/// such an extra certificate would protect nothing (OkHttp's CVE-2016-2402).
///
/// Cheap to clone.
///
/// ```
/// use oktower::CertificatePinner;
///
/// # fn main() -> Result<(), oktower::Error> {
/// let pinner = CertificatePinner::builder()
///     .add("**.example.com", ["sha256/AfMENBVvOS8MnISprtvyPsjKlPooqh8nMB/pvCrpJpw="])
///     .add("api.example.org", [
///         "sha256/afwiKY3RxoMmLkuRW1l7QsPZTJPwDS2pdDROQjXw8ig=",
///         "sha256/klO23nT2ehFDXCfx3eHTDRESMz3asj1muO+4aIdjiuY=",
///     ])
///     .build()?;
/// assert!(pinner.has_pins_for("example.com"));
/// assert!(pinner.has_pins_for("a.b.example.com"));
/// assert!(!pinner.has_pins_for("example.org"));
///
/// let sha1 = CertificatePinner::builder()
///     .add("example.com", ["sha1/BOGUSBOGUSBOGUSBOGUSBOGUSBOG="])
///     .build();
/// assert!(sha1.unwrap_err().is_builder());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
pub struct CertificatePinner {
    pins: Arc<[Pin]>,
}

/// Builds a [`CertificatePinner`]; errors in patterns or pins are reported by
/// [`build`](Self::build).
#[derive(Debug, Default)]
pub struct CertificatePinnerBuilder {
    pins: Vec<Pin>,
    error: Option<Error>,
}

/// One pattern and one hash.
#[derive(Clone, PartialEq, Eq)]
struct Pin {
    /// The pattern as written, lowercased.
    pattern: String,
    matcher: HostMatcher,
    hash: [u8; 32],
}

/// How a pattern matches host names.
#[derive(Clone, Debug, PartialEq, Eq)]
enum HostMatcher {
    /// The host itself.
    Exact(String),
    /// `*.suffix`: one label, then `.suffix`.
    OneLabel(String),
    /// `**.suffix`: `suffix`, or any labels then `.suffix`.
    AnyLabels(String),
}

/// One certificate of a chain as the pinner sees it: its subject and its
/// SubjectPublicKeyInfo, both as DER contents without the outer `SEQUENCE` header (the form of
/// webpki's `TrustAnchor`), or nothing for a certificate that could not be parsed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChainEntry<'a> {
    parts: Option<(&'a [u8], &'a [u8])>,
}

impl<'a> ChainEntry<'a> {
    /// The entry of a trust anchor, or of a certificate parsed into one.
    pub(crate) fn of_anchor(anchor: &'a TrustAnchor<'_>) -> Self {
        ChainEntry {
            parts: Some((
                anchor.subject.as_ref(),
                anchor.subject_public_key_info.as_ref(),
            )),
        }
    }

    /// A certificate that could not be parsed: it matches no pin.
    pub(crate) fn unparsable() -> Self {
        ChainEntry { parts: None }
    }

    fn hash(&self) -> Option<[u8; 32]> {
        self.parts.map(|(_, spki)| spki::sha256(spki))
    }
}

impl CertificatePinner {
    /// Starts an empty pinner.
    pub fn builder() -> CertificatePinnerBuilder {
        CertificatePinnerBuilder::default()
    }

    /// Whether no pins are configured at all.
    pub fn is_empty(&self) -> bool {
        self.pins.is_empty()
    }

    /// Whether any pattern matches `host` (connections to it are then pinned).
    pub fn has_pins_for(&self, host: &str) -> bool {
        self.matching(host).next().is_some()
    }

    /// The pin of `certificate`: `sha256/` and the base64 SHA-256 of its DER
    /// SubjectPublicKeyInfo. Fails if the certificate cannot be parsed.
    ///
    /// ```
    /// use oktower::CertificatePinner;
    /// use oktower_testkit::HeldCertificate;
    ///
    /// let held = HeldCertificate::builder().build().unwrap();
    /// let pin = CertificatePinner::pin(held.certificate_der()).unwrap();
    /// assert_eq!(pin, held.spki_sha256_pin());
    /// ```
    pub fn pin(certificate: &CertificateDer<'_>) -> Result<String, Error> {
        let anchor = webpki::anchor_from_trusted_cert(certificate).map_err(|e| {
            Error::new(ErrorKind::Builder, "not an X.509 certificate").with_source(e)
        })?;
        let hash = spki::sha256(anchor.subject_public_key_info.as_ref());
        Ok(pin_text(&hash))
    }

    /// Checks that one certificate of `chain` matches a pin of `host`; succeeds when no pin
    /// applies to `host`.
    ///
    /// `chain` must be the *verified* chain, leaf first, up to and including the trust
    /// anchor's certificate if it is known: oktower's own connections check the chain webpki
    /// built to a trusted root, never the certificates the server sent.
    ///
    /// Fails with an [`ErrorKind::Tls`] error whose message starts with
    /// `Certificate pinning failure!` and lists the pin and subject of each certificate and
    /// the pins configured for `host`, as OkHttp's does.
    pub fn check(&self, host: &str, chain: &[CertificateDer<'_>]) -> Result<(), Error> {
        if !self.has_pins_for(host) {
            return Ok(());
        }
        let anchors: Vec<Option<TrustAnchor<'_>>> = chain
            .iter()
            .map(|certificate| webpki::anchor_from_trusted_cert(certificate).ok())
            .collect();
        let entries: Vec<ChainEntry<'_>> = anchors
            .iter()
            .map(|anchor| match anchor {
                Some(anchor) => ChainEntry::of_anchor(anchor),
                None => ChainEntry::unparsable(),
            })
            .collect();
        self.check_entries(host, &entries)
    }

    /// [`check`](Self::check) over parsed entries.
    pub(crate) fn check_entries(&self, host: &str, chain: &[ChainEntry<'_>]) -> Result<(), Error> {
        if !self.has_pins_for(host) {
            return Ok(());
        }
        let matched = chain
            .iter()
            .filter_map(ChainEntry::hash)
            .any(|hash| self.matching(host).any(|pin| pin.hash == hash));
        if matched {
            return Ok(());
        }
        Err(self.failure(host, chain, None))
    }

    /// The "Certificate pinning failure!" error for `host` and `chain`, optionally with the
    /// reason the chain could not be checked.
    pub(crate) fn failure(
        &self,
        host: &str,
        chain: &[ChainEntry<'_>],
        reason: Option<&str>,
    ) -> Error {
        let mut message = String::from("Certificate pinning failure!");
        if let Some(reason) = reason {
            let _ = write!(message, " ({reason})");
        }
        message.push_str("\n  Peer certificate chain:");
        for entry in chain {
            match (entry.parts, entry.hash()) {
                (Some((subject, _)), Some(hash)) => {
                    let _ = write!(
                        message,
                        "\n    {}: {}",
                        pin_text(&hash),
                        distinguished_name::render(subject)
                    );
                }
                _ => message.push_str("\n    (unparsable certificate)"),
            }
        }
        let _ = write!(message, "\n  Pinned certificates for {host}:");
        for pin in self.matching(host) {
            let _ = write!(message, "\n    {}", pin_text(&pin.hash));
        }
        Error::new(ErrorKind::Tls, message)
    }

    /// The pins whose pattern matches `host`.
    fn matching<'a>(&'a self, host: &'a str) -> impl Iterator<Item = &'a Pin> + 'a {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host = host.strip_suffix('.').unwrap_or(host);
        self.pins
            .iter()
            .filter(move |pin| pin.matcher.matches(host))
    }
}

impl fmt::Debug for CertificatePinner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.pins.iter()).finish()
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.pattern, pin_text(&self.hash))
    }
}

impl CertificatePinnerBuilder {
    /// Pins `pattern` (an exact host, `*.suffix` or `**.suffix`) to `pins`, each
    /// `sha256/<base64>`. An invalid pattern or pin makes [`build`](Self::build) fail.
    pub fn add<I>(mut self, pattern: &str, pins: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        if self.error.is_some() {
            return self;
        }
        let matcher = match HostMatcher::parse(pattern) {
            Ok(matcher) => matcher,
            Err(error) => {
                self.error = Some(error);
                return self;
            }
        };
        for pin in pins {
            match parse_pin(pin.as_ref()) {
                Ok(hash) => {
                    let pin = Pin {
                        pattern: pattern.to_ascii_lowercase(),
                        matcher: matcher.clone(),
                        hash,
                    };
                    if !self.pins.contains(&pin) {
                        self.pins.push(pin);
                    }
                }
                Err(error) => {
                    self.error = Some(error);
                    return self;
                }
            }
        }
        self
    }

    /// The pinner, or the first invalid pattern or pin ([`ErrorKind::Builder`]).
    pub fn build(self) -> Result<CertificatePinner, Error> {
        match self.error {
            Some(error) => Err(error),
            None => Ok(CertificatePinner {
                pins: self.pins.into(),
            }),
        }
    }
}

impl HostMatcher {
    /// OkHttp's pattern rules: a wildcard only as the whole first label, `*` or `**`.
    fn parse(pattern: &str) -> Result<HostMatcher, Error> {
        let invalid = |what: &str| Error::new(ErrorKind::Builder, format!("{what}: {pattern}"));
        let lower = pattern.to_ascii_lowercase();
        let (matcher, host): (fn(String) -> HostMatcher, &str) =
            if let Some(suffix) = lower.strip_prefix("**.") {
                (HostMatcher::AnyLabels, suffix)
            } else if let Some(suffix) = lower.strip_prefix("*.") {
                (HostMatcher::OneLabel, suffix)
            } else {
                (HostMatcher::Exact, lower.as_str())
            };
        if host.contains('*') {
            return Err(invalid("Unexpected pattern"));
        }
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let valid = !host.is_empty()
            && host.is_ascii()
            && !host.starts_with('.')
            && !host.ends_with('.')
            && !host.contains("..")
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':'));
        if !valid {
            return Err(invalid("Invalid pattern"));
        }
        Ok(matcher(host.to_owned()))
    }

    /// Whether `host` (without brackets or a trailing dot) matches, ignoring ASCII case.
    fn matches(&self, host: &str) -> bool {
        match self {
            HostMatcher::Exact(exact) => host.eq_ignore_ascii_case(exact),
            HostMatcher::OneLabel(suffix) => match split_suffix(host, suffix) {
                Some(prefix) => !prefix.is_empty() && !prefix.contains('.'),
                None => false,
            },
            HostMatcher::AnyLabels(suffix) => {
                host.eq_ignore_ascii_case(suffix)
                    || split_suffix(host, suffix).is_some_and(|prefix| !prefix.is_empty())
            }
        }
    }
}

/// The labels of `host` before `.suffix`, if `host` ends with `.suffix`.
fn split_suffix<'a>(host: &'a str, suffix: &str) -> Option<&'a str> {
    let split = host.len().checked_sub(suffix.len() + 1)?;
    let (prefix, rest) = (host.get(..split)?, host.get(split..)?);
    let tail = rest.strip_prefix('.')?;
    tail.eq_ignore_ascii_case(suffix).then_some(prefix)
}

/// The hash of a `sha256/<base64>` pin.
fn parse_pin(pin: &str) -> Result<[u8; 32], Error> {
    let Some(encoded) = pin.strip_prefix(SHA256_PREFIX) else {
        let message = if pin.starts_with("sha1/") {
            format!("sha1/ pins are not supported, pin the SHA-256 hash (sha256/...): {pin}")
        } else {
            format!("pins must start with 'sha256/': {pin}")
        };
        return Err(Error::new(ErrorKind::Builder, message));
    };
    let decoded = STANDARD
        .decode(encoded)
        .or_else(|_| STANDARD_NO_PAD.decode(encoded))
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok());
    decoded.ok_or_else(|| Error::new(ErrorKind::Builder, format!("Invalid pin hash: {pin}")))
}

/// `sha256/<base64>`.
fn pin_text(hash: &[u8; 32]) -> String {
    format!("{SHA256_PREFIX}{}", STANDARD.encode(hash))
}

#[cfg(test)]
mod tests {
    use oktower_testkit::HeldCertificate;

    use super::*;

    const PIN_A: &str = "sha256/AfMENBVvOS8MnISprtvyPsjKlPooqh8nMB/pvCrpJpw=";
    const PIN_B: &str = "sha256/afwiKY3RxoMmLkuRW1l7QsPZTJPwDS2pdDROQjXw8ig=";

    fn pinned(pattern: &str) -> CertificatePinner {
        CertificatePinner::builder()
            .add(pattern, [PIN_A])
            .build()
            .unwrap()
    }

    #[test]
    fn exact_patterns_match_only_the_host() {
        let pinner = pinned("api.example.com");
        assert!(pinner.has_pins_for("api.example.com"));
        assert!(pinner.has_pins_for("API.Example.com"));
        assert!(pinner.has_pins_for("api.example.com."));
        assert!(!pinner.has_pins_for("example.com"));
        assert!(!pinner.has_pins_for("a.api.example.com"));
        assert!(!pinner.has_pins_for("xapi.example.com"));
    }

    #[test]
    fn single_star_matches_exactly_one_label() {
        let pinner = pinned("*.example.com");
        assert!(pinner.has_pins_for("a.example.com"));
        assert!(pinner.has_pins_for("A.EXAMPLE.COM"));
        assert!(!pinner.has_pins_for("example.com"));
        assert!(!pinner.has_pins_for("a.b.example.com"));
        assert!(!pinner.has_pins_for(".example.com"));
        assert!(!pinner.has_pins_for("aexample.com"));
    }

    #[test]
    fn double_star_matches_any_number_of_labels() {
        let pinner = pinned("**.example.com");
        assert!(pinner.has_pins_for("example.com"));
        assert!(pinner.has_pins_for("a.example.com"));
        assert!(pinner.has_pins_for("a.b.c.example.com"));
        assert!(!pinner.has_pins_for("badexample.com"));
        assert!(!pinner.has_pins_for("example.org"));
        assert!(!pinner.has_pins_for("com"));
    }

    #[test]
    fn ip_literals_are_exact_patterns() {
        let pinner = pinned("[::1]");
        assert!(pinner.has_pins_for("::1"));
        assert!(pinner.has_pins_for("[::1]"));
        assert!(pinned("127.0.0.1").has_pins_for("127.0.0.1"));
    }

    #[test]
    fn invalid_patterns_and_pins_are_builder_errors() {
        for (pattern, pin, expected) in [
            ("a.*.example.com", PIN_A, "Unexpected pattern"),
            ("***.example.com", PIN_A, "Unexpected pattern"),
            ("*", PIN_A, "Unexpected pattern"),
            ("", PIN_A, "Invalid pattern"),
            ("exämple.com", PIN_A, "Invalid pattern"),
            ("example.com", "md5/AAAA", "pins must start with 'sha256/'"),
            (
                "example.com",
                "AfMENBVvOS8MnISprtvyPsjKlPooqh8nMB/pvCrpJpw=",
                "pins must",
            ),
            (
                "example.com",
                "sha1/BOGUSBOGUSBOGUSBOGUSBOGUSBOG=",
                "sha1/ pins are not",
            ),
            ("example.com", "sha256/!!!", "Invalid pin hash"),
            ("example.com", "sha256/AAAA", "Invalid pin hash"),
        ] {
            let error = CertificatePinner::builder()
                .add(pattern, [pin])
                .build()
                .unwrap_err();
            assert!(error.is_builder(), "{pattern} {pin}: {error}");
            assert!(
                error.message().starts_with(expected),
                "{pattern} {pin}: {error}"
            );
        }
    }

    #[test]
    fn unpadded_pins_are_accepted_and_duplicates_dropped() {
        let unpadded = PIN_A.trim_end_matches('=');
        let pinner = CertificatePinner::builder()
            .add("example.com", [PIN_A, unpadded])
            .add("example.com", vec![PIN_B.to_owned()])
            .build()
            .unwrap();
        assert_eq!(pinner.pins.len(), 2);
        assert!(format!("{pinner:?}").contains(PIN_B));
    }

    #[test]
    fn pins_hash_the_whole_subject_public_key_info() {
        for held in [
            HeldCertificate::builder().build().unwrap(),
            HeldCertificate::builder().rsa2048().build().unwrap(),
            HeldCertificate::builder().ed25519().build().unwrap(),
        ] {
            assert_eq!(
                CertificatePinner::pin(held.certificate_der()).unwrap(),
                held.spki_sha256_pin()
            );
        }
        assert!(CertificatePinner::pin(&CertificateDer::from(vec![1, 2, 3])).is_err());
    }

    #[test]
    fn any_certificate_of_the_chain_may_match() {
        let root = HeldCertificate::builder()
            .common_name("Pinning Root")
            .certificate_authority(0)
            .build()
            .unwrap();
        let leaf = HeldCertificate::builder()
            .common_name("leaf.example.com")
            .signed_by(&root)
            .build()
            .unwrap();
        let chain = [
            leaf.certificate_der().clone(),
            root.certificate_der().clone(),
        ];
        for pin in [leaf.spki_sha256_pin(), root.spki_sha256_pin()] {
            let pinner = CertificatePinner::builder()
                .add("**.example.com", [PIN_A, pin.as_str()])
                .build()
                .unwrap();
            pinner.check("leaf.example.com", &chain).unwrap();
        }
        // Hosts without pins are not checked at all.
        pinned("other.test").check("leaf.example.com", &[]).unwrap();
    }

    #[test]
    fn mismatches_list_the_chain_and_the_pins() {
        let root = HeldCertificate::builder()
            .common_name("Pinning Root")
            .organizational_unit("Testing")
            .certificate_authority(0)
            .build()
            .unwrap();
        let leaf = HeldCertificate::builder()
            .common_name("leaf.example.com")
            .signed_by(&root)
            .build()
            .unwrap();
        let pinner = CertificatePinner::builder()
            .add("*.example.com", [PIN_A])
            .add("leaf.example.com", [PIN_B])
            .add("other.example.org", [leaf.spki_sha256_pin()])
            .build()
            .unwrap();
        let chain = [
            leaf.certificate_der().clone(),
            CertificateDer::from(vec![0x30, 0x00]),
            root.certificate_der().clone(),
        ];
        let error = pinner.check("leaf.example.com", &chain).unwrap_err();
        assert!(error.is_tls());
        let expected = format!(
            "Certificate pinning failure!\n  Peer certificate chain:\n    {}: CN=leaf.example.com\n    \
             (unparsable certificate)\n    {}: OU=Testing, CN=Pinning Root\n  Pinned certificates \
             for leaf.example.com:\n    {PIN_A}\n    {PIN_B}",
            leaf.spki_sha256_pin(),
            root.spki_sha256_pin(),
        );
        assert_eq!(error.message(), expected);
    }
}
