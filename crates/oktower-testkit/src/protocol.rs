//! The protocols the server speaks.

/// A protocol the [`MockWebServer`](crate::MockWebServer) offers.
///
/// Over TLS the server advertises [`Protocol::Http2`] and [`Protocol::Http11`] by ALPN in the
/// order given. In cleartext it speaks HTTP/1.1, or HTTP/2 with prior knowledge when the list is
/// exactly `[Protocol::H2PriorKnowledge]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// HTTP/1.1 (`http/1.1` in ALPN).
    Http11,
    /// HTTP/2 negotiated over TLS by ALPN (`h2`).
    Http2,
    /// HTTP/2 in cleartext with prior knowledge (no upgrade, no ALPN).
    H2PriorKnowledge,
}

impl Protocol {
    /// The ALPN identifier of this protocol, if it has one.
    pub fn alpn_id(self) -> Option<&'static [u8]> {
        match self {
            Protocol::Http11 => Some(b"http/1.1"),
            Protocol::Http2 => Some(b"h2"),
            Protocol::H2PriorKnowledge => None,
        }
    }
}
