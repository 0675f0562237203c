//! The platform's root certificates, loaded once per process.

use std::sync::{Arc, OnceLock};

use rustls::RootCertStore;

/// The platform roots that loaded, and what went wrong loading the others.
pub(super) struct PlatformRoots {
    pub(super) store: Arc<RootCertStore>,
    pub(super) errors: Arc<[String]>,
}

static PLATFORM_ROOTS: OnceLock<PlatformRoots> = OnceLock::new();

/// The platform roots, loaded by rustls-native-certs on first use (which honours
/// `SSL_CERT_FILE` and `SSL_CERT_DIR`). Load errors are recorded, not fatal: the roots that
/// loaded are used.
pub(super) fn platform() -> &'static PlatformRoots {
    PLATFORM_ROOTS.get_or_init(|| {
        let loaded = rustls_native_certs::load_native_certs();
        let mut errors: Vec<String> = loaded.errors.iter().map(ToString::to_string).collect();
        let mut store = RootCertStore::empty();
        let (_, ignored) = store.add_parsable_certificates(loaded.certs);
        if ignored > 0 {
            errors.push(format!(
                "{ignored} platform root certificates could not be parsed"
            ));
        }
        PlatformRoots {
            store: Arc::new(store),
            errors: errors.into(),
        }
    })
}
