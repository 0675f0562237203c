//! HTTP protocol versions a connection can speak.

/// A protocol a connection speaks, as negotiated by ALPN or configured.
///
/// ```
/// use oktower::Protocol;
///
/// assert_eq!(Protocol::Http2.alpn_id(), Some(&b"h2"[..]));
/// assert!(Protocol::H2PriorKnowledge.is_multiplexed());
/// assert!(!Protocol::Http11.is_multiplexed());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// HTTP/1.1 (`http/1.1` in ALPN).
    Http11,
    /// HTTP/2 negotiated by ALPN over TLS (`h2`).
    Http2,
    /// HTTP/2 over cleartext with prior knowledge; never used with `https:`.
    H2PriorKnowledge,
}

impl Protocol {
    /// The ALPN identifier, if the protocol is negotiated by ALPN.
    pub fn alpn_id(self) -> Option<&'static [u8]> {
        match self {
            Protocol::Http11 => Some(b"http/1.1"),
            Protocol::Http2 => Some(b"h2"),
            Protocol::H2PriorKnowledge => None,
        }
    }

    /// The protocol an ALPN identifier names, if oktower speaks it.
    pub fn from_alpn_id(id: &[u8]) -> Option<Protocol> {
        match id {
            b"http/1.1" => Some(Protocol::Http11),
            b"h2" => Some(Protocol::Http2),
            _ => None,
        }
    }

    /// Whether several exchanges share one connection at once (HTTP/2).
    pub fn is_multiplexed(self) -> bool {
        matches!(self, Protocol::Http2 | Protocol::H2PriorKnowledge)
    }
}
