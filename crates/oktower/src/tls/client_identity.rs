//! The client certificate (mTLS), and knowing whether a handshake presented it.
//!
//! rustls does not report whether a client certificate was sent. Its resolver is asked only
//! when the server requests one, synchronously, while the handshake future is polled; so the
//! resolver notes the request in a task-local flag that [`recording_client_certificate`] sets
//! up around the handshake.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use rustls::SignatureScheme;
use rustls::client::ResolvesClientCert;
use rustls::sign::CertifiedKey;

tokio::task_local! {
    static PRESENTED: Cell<bool>;
}

/// Presents one certificate chain and key whenever a server asks.
pub(super) struct ClientIdentity {
    key: Arc<CertifiedKey>,
}

impl ClientIdentity {
    pub(super) fn new(key: Arc<CertifiedKey>) -> Self {
        ClientIdentity { key }
    }
}

impl ResolvesClientCert for ClientIdentity {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        // rustls sends an empty certificate when the key can sign with none of the schemes.
        if self.key.key.choose_scheme(sigschemes).is_some() {
            let _ = PRESENTED.try_with(|presented| presented.set(true));
        }
        Some(self.key.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("chain_length", &self.key.cert.len())
            .finish_non_exhaustive()
    }
}

/// Runs `handshake` and tells whether a [`ClientIdentity`] presented its certificate meanwhile.
pub(crate) async fn recording_client_certificate<F: Future>(handshake: F) -> (F::Output, bool) {
    PRESENTED
        .scope(Cell::new(false), async move {
            let output = handshake.await;
            let presented = PRESENTED.try_with(Cell::get).unwrap_or(false);
            (output, presented)
        })
        .await
}
