//! Renders an X.509 distinguished name for messages (`CN=api.example.com, O=Example`).
//!
//! A small DER walk over `Name ::= SEQUENCE OF RelativeDistinguishedName` (RFC 5280 §4.1.2.4),
//! printed most specific first as RFC 4514 and Java's `X500Principal` do. It only serves error
//! messages: anything it cannot read is shown as hex, never as a failure.

use std::fmt::Write as _;

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;

/// Attribute types with short names, by DER-encoded OID.
const SHORT_NAMES: &[(&[u8], &str)] = &[
    (&[0x55, 0x04, 0x03], "CN"),
    (&[0x55, 0x04, 0x05], "SERIALNUMBER"),
    (&[0x55, 0x04, 0x06], "C"),
    (&[0x55, 0x04, 0x07], "L"),
    (&[0x55, 0x04, 0x08], "ST"),
    (&[0x55, 0x04, 0x09], "STREET"),
    (&[0x55, 0x04, 0x0a], "O"),
    (&[0x55, 0x04, 0x0b], "OU"),
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01],
        "EMAILADDRESS",
    ),
    (
        &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19],
        "DC",
    ),
    (
        &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01],
        "UID",
    ),
];

/// `name` (the contents of a `Name`, without its outer `SEQUENCE` header, as webpki returns
/// subjects) as text, most specific attribute first.
pub(crate) fn render(name: &[u8]) -> String {
    match rdns(name) {
        Some(rdns) if !rdns.is_empty() => rdns.into_iter().rev().collect::<Vec<_>>().join(", "),
        Some(_) => String::from("(empty name)"),
        None => format!("#{}", hex(name)),
    }
}

/// Each relative distinguished name, in DER order.
fn rdns(mut input: &[u8]) -> Option<Vec<String>> {
    let mut rdns = Vec::new();
    while !input.is_empty() {
        let (set, rest) = expect(input, SET)?;
        input = rest;
        let mut attributes = Vec::new();
        let mut set = set;
        while !set.is_empty() {
            let (attribute, rest) = expect(set, SEQUENCE)?;
            set = rest;
            let (oid, value) = expect(attribute, OID)?;
            let (tag, contents, rest) = tlv(value)?;
            if !rest.is_empty() {
                return None;
            }
            let text = value_text(tag, contents, value);
            attributes.push(format!("{}={text}", attribute_name(oid)));
        }
        rdns.push(attributes.join("+"));
    }
    Some(rdns)
}

/// The contents of a `tag` element at the start of `input`, and what follows it.
fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (found, contents, rest) = tlv(input)?;
    (found == tag).then_some((contents, rest))
}

/// Tag, contents and remainder of the DER element at the start of `input` (definite lengths
/// of up to four bytes).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let (bytes, after) = (rest.get(..count)?, rest.get(count..)?);
        rest = after;
        bytes
            .iter()
            .fold(0usize, |len, b| (len << 8) | usize::from(*b))
    };
    Some((tag, rest.get(..len)?, rest.get(len..)?))
}

/// `CN`, `O`, ... or the dotted OID.
fn attribute_name(oid: &[u8]) -> String {
    match SHORT_NAMES.iter().find(|(known, _)| *known == oid) {
        Some((_, name)) => (*name).to_owned(),
        None => dotted(oid).unwrap_or_else(|| format!("#{}", hex(oid))),
    }
}

/// An OID's contents as `1.2.840...`.
fn dotted(oid: &[u8]) -> Option<String> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    for &byte in oid {
        value = value.checked_mul(128)? | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            arcs.push(value);
            value = 0;
        }
    }
    let (&first, rest) = arcs.split_first()?;
    if value != 0 || oid.last().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    let (a, b) = if first < 80 {
        (first / 40, first % 40)
    } else {
        (2, first - 80)
    };
    let mut text = format!("{a}.{b}");
    for arc in rest {
        let _ = write!(text, ".{arc}");
    }
    Some(text)
}

/// A string value, escaped as RFC 4514 asks; other types as `#` and the hex of the whole
/// element (`raw`).
fn value_text(tag: u8, contents: &[u8], raw: &[u8]) -> String {
    let text = match tag {
        // UTF8String, PrintableString, IA5String, VisibleString.
        0x0c | 0x13 | 0x16 | 0x1a => String::from_utf8_lossy(contents).into_owned(),
        // TeletexString, read as Latin-1 as most decoders do.
        0x14 => contents.iter().map(|b| char::from(*b)).collect(),
        // BMPString: UTF-16BE.
        0x1e => {
            let units: Vec<u16> = contents
                .chunks(2)
                .map(|pair| u16::from_be_bytes([pair[0], pair.get(1).copied().unwrap_or(0)]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        _ => return format!("#{}", hex(raw)),
    };
    escape(&text)
}

fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    let last = text.chars().count().saturating_sub(1);
    for (i, c) in text.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && matches!(c, '#' | ' '))
            || (i == last && c == ' ');
        if special {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut text, b| {
        let _ = write!(text, "{b:02x}");
        text
    })
}

#[cfg(test)]
mod tests {
    use oktower_testkit::HeldCertificate;

    use super::*;

    fn subject_of(held: &HeldCertificate) -> String {
        let anchor = webpki::anchor_from_trusted_cert(held.certificate_der()).unwrap();
        render(anchor.subject.as_ref())
    }

    #[test]
    fn renders_generated_subjects_most_specific_first() {
        let held = HeldCertificate::builder()
            .common_name("api.example.com")
            .organizational_unit("Payments, Inc")
            .build()
            .unwrap();
        assert_eq!(subject_of(&held), "OU=Payments\\, Inc, CN=api.example.com");
    }

    #[test]
    fn renders_multi_valued_rdns_unknown_types_and_strings() {
        // SET { C=US (PrintableString) }, SET { O=Ex (UTF8String) + 1.2.3.4=#0401ff }.
        let name = [
            0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, b'U', b'S', //
            0x31, 0x15, //
            0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x02, b'E', b'x', //
            0x30, 0x08, 0x06, 0x03, 0x2a, 0x03, 0x04, 0x04, 0x01, 0xff,
        ];
        assert_eq!(render(&name), "O=Ex+1.2.3.4=#0401ff, C=US");
        assert_eq!(render(&[]), "(empty name)");
        assert_eq!(render(&[0x31, 0x05, 0x30]), "#310530");
    }

    #[test]
    fn decodes_oids_and_bmp_strings() {
        assert_eq!(
            dotted(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01]).as_deref(),
            Some("1.2.840.113549.1.9.1")
        );
        assert_eq!(dotted(&[0x88, 0x37]).as_deref(), Some("2.999"));
        assert_eq!(dotted(&[0x86]), None);
        assert_eq!(value_text(0x1e, &[0x00, b'h', 0x00, b'i'], &[]), "hi");
        assert_eq!(value_text(0x14, &[0xe9], &[]), "é");
        assert_eq!(escape(" #a "), "\\ #a\\ ");
    }
}
