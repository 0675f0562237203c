//! PEM files for `--cacert`, `--cert` and `--key`.

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::Failure;

fn unreadable(what: &str, why: impl std::fmt::Display) -> Failure {
    Failure::ReadFile {
        message: format!("{what}: {why}"),
        certificate: true,
    }
}

/// Every certificate in a PEM file's bytes; `what` names the file in errors. A file without
/// any certificate is an error.
///
/// ```
/// let error = okcurl::certificates_from_pem(b"not PEM", "--cacert ca.pem").unwrap_err();
/// assert_eq!(error.exit_code(), 58);
/// ```
pub fn certificates_from_pem(
    bytes: &[u8],
    what: &str,
) -> Result<Vec<CertificateDer<'static>>, Failure> {
    let certificates = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| unreadable(what, error))?;
    if certificates.is_empty() {
        return Err(unreadable(what, "no PEM certificate in the file"));
    }
    Ok(certificates)
}

/// The private key in a PEM file's bytes (PKCS#8, PKCS#1 or SEC1).
pub fn private_key_from_pem(bytes: &[u8], what: &str) -> Result<PrivateKeyDer<'static>, Failure> {
    PrivateKeyDer::from_pem_slice(bytes).map_err(|error| unreadable(what, error))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERTIFICATE: &str = "-----BEGIN CERTIFICATE-----\nAAECAw==\n-----END CERTIFICATE-----\n";
    const KEY: &str = "-----BEGIN PRIVATE KEY-----\nBAUG\n-----END PRIVATE KEY-----\n";

    #[test]
    fn certificates_and_keys_come_out_of_pem() {
        let both = format!("{CERTIFICATE}{KEY}{CERTIFICATE}");
        let certificates = certificates_from_pem(both.as_bytes(), "test").unwrap();
        assert_eq!(certificates.len(), 2);
        assert_eq!(certificates[0].as_ref(), [0, 1, 2, 3]);
        let key = private_key_from_pem(both.as_bytes(), "test").unwrap();
        assert_eq!(key.secret_der(), [4, 5, 6]);
    }

    #[test]
    fn files_without_what_is_wanted_fail() {
        assert!(certificates_from_pem(KEY.as_bytes(), "k").is_err());
        assert!(private_key_from_pem(CERTIFICATE.as_bytes(), "c").is_err());
        let error = certificates_from_pem(b"", "--cacert empty.pem").unwrap_err();
        assert!(error.to_string().starts_with("--cacert empty.pem:"));
    }
}
