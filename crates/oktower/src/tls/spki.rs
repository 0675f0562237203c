//! The SHA-256 of a SubjectPublicKeyInfo, what certificate pins name.

use sha2::{Digest, Sha256};

/// SHA-256 of a SubjectPublicKeyInfo given as DER contents without its `SEQUENCE` header (the
/// form webpki's `TrustAnchor` holds): the header is hashed first, so the result is the hash of
/// the whole DER structure, without copying it.
pub(crate) fn sha256(spki_contents: &[u8]) -> [u8; 32] {
    let mut header = [0u8; 10];
    let header = sequence_header(spki_contents.len(), &mut header);
    Sha256::new()
        .chain_update(header)
        .chain_update(spki_contents)
        .finalize()
        .into()
}

/// The DER header of a `SEQUENCE` of `len` content bytes, written into `buffer`: the short
/// form below 128, else the long form with the fewest length bytes.
fn sequence_header(len: usize, buffer: &mut [u8; 10]) -> &[u8] {
    buffer[0] = 0x30;
    let bytes = len.to_be_bytes();
    let significant = &bytes[bytes.iter().take_while(|b| **b == 0).count()..];
    match significant {
        [] => {
            buffer[1] = 0;
            &buffer[..2]
        }
        [byte] if *byte < 0x80 => {
            buffer[1] = *byte;
            &buffer[..2]
        }
        _ => {
            // At most `size_of::<usize>()` (8) bytes: the count fits, and so does the buffer.
            let count = significant.len();
            buffer[1] = 0x80 | count as u8;
            buffer[2..2 + count].copy_from_slice(significant);
            &buffer[..2 + count]
        }
    }
}

#[cfg(test)]
mod tests {
    use oktower_testkit::HeldCertificate;

    use super::*;

    #[test]
    fn headers_use_the_shortest_length_form() {
        let mut buffer = [0u8; 10];
        assert_eq!(sequence_header(0, &mut buffer), [0x30, 0x00]);
        assert_eq!(sequence_header(0x7f, &mut buffer), [0x30, 0x7f]);
        assert_eq!(sequence_header(0x80, &mut buffer), [0x30, 0x81, 0x80]);
        assert_eq!(
            sequence_header(0x0126, &mut buffer),
            [0x30, 0x82, 0x01, 0x26]
        );
        assert_eq!(
            sequence_header(0x01_0000, &mut buffer),
            [0x30, 0x83, 0x01, 0x00, 0x00]
        );
    }

    #[test]
    fn hashes_equal_the_hash_of_the_whole_structure() {
        let held = HeldCertificate::builder().rsa2048().build().unwrap();
        let anchor = webpki::anchor_from_trusted_cert(held.certificate_der()).unwrap();
        let contents = anchor.subject_public_key_info.as_ref();
        assert!(contents.len() > 0x80, "an RSA key needs the long form");
        let mut whole = vec![0x30, 0x82];
        whole.extend_from_slice(&u16::try_from(contents.len()).unwrap().to_be_bytes());
        whole.extend_from_slice(contents);
        let expected: [u8; 32] = Sha256::digest(&whole).into();
        assert_eq!(sha256(contents), expected);
    }
}
