//! The files of one entry: their names, the self-checking metadata file format, and the
//! write-to-temp, sync, rename steps that publish them.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::cache::store_key;

/// What a file of an entry holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FileKind {
    Meta,
    Body,
}

impl FileKind {
    fn suffix(self) -> &'static str {
        match self {
            FileKind::Meta => "meta",
            FileKind::Body => "body",
        }
    }
}

/// `<key>.<id>.meta` or `<key>.<id>.body`.
pub(super) fn file_name(key: &str, id: u64, kind: FileKind) -> String {
    format!("{key}.{id}.{}", kind.suffix())
}

/// The name being written before it is renamed to [`file_name`].
pub(super) fn temp_name(key: &str, id: u64, kind: FileKind) -> String {
    format!("{key}.{id}.{}.tmp", kind.suffix())
}

/// A directory entry recognised as a file of some entry.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct EntryFileName<'a> {
    pub(super) key: &'a str,
    pub(super) id: u64,
    pub(super) kind: FileKind,
    pub(super) temp: bool,
}

/// Parses a name written by [`file_name`] or [`temp_name`]; anything else is not ours.
pub(super) fn parse_file_name(name: &str) -> Option<EntryFileName<'_>> {
    let (rest, temp) = match name.strip_suffix(".tmp") {
        Some(rest) => (rest, true),
        None => (name, false),
    };
    let (rest, kind) = if let Some(rest) = rest.strip_suffix(".meta") {
        (rest, FileKind::Meta)
    } else {
        (rest.strip_suffix(".body")?, FileKind::Body)
    };
    let (key, id) = rest.split_once('.')?;
    if !store_key::is_valid(key) || id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(EntryFileName {
        key,
        id: id.parse().ok()?,
        kind,
        temp,
    })
}

const META_MAGIC: &[u8; 8] = b"OKTWMETA";
const META_FORMAT: u8 = 1;
const CHECKSUM_LEN: usize = 32;

/// The length of the metadata file [`encode_meta`] writes.
pub(super) fn meta_file_len(key: &str, metadata_len: usize) -> u64 {
    (META_MAGIC.len() + 1 + 1 + key.len() + 8 + 8 + 4 + metadata_len + CHECKSUM_LEN) as u64
}

/// A metadata file: magic, format, the key, the id and length of the body it describes, the
/// metadata, then a SHA-256 of everything before it. A file that was cut short, belongs to
/// another entry or has a flipped bit fails [`decode_meta`].
pub(super) fn encode_meta(key: &str, body_id: u64, body_len: u64, metadata: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(meta_file_len(key, metadata.len()) as usize);
    out.extend_from_slice(META_MAGIC);
    out.push(META_FORMAT);
    out.push(key.len() as u8);
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(&body_id.to_le_bytes());
    out.extend_from_slice(&body_len.to_le_bytes());
    out.extend_from_slice(&(metadata.len() as u32).to_le_bytes());
    out.extend_from_slice(metadata);
    let checksum = Sha256::digest(&out);
    out.extend_from_slice(&checksum);
    out
}

/// What a metadata file must describe to be served.
#[derive(Clone, Copy, Debug)]
pub(super) struct Expected<'a> {
    pub(super) key: &'a str,
    pub(super) body_id: u64,
    pub(super) body_len: u64,
}

/// Checks a metadata file against its checksum and against `expected`, returning the
/// metadata bytes (a slice of `file`, no copy) or why the file is rejected.
pub(super) fn decode_meta(file: Bytes, expected: Expected<'_>) -> Result<Bytes, String> {
    let min_len = meta_file_len("", 0) as usize;
    if file.len() < min_len {
        return Err(format!("metadata file too short ({} bytes)", file.len()));
    }
    let (content, checksum) = file.split_at(file.len() - CHECKSUM_LEN);
    if Sha256::digest(content).as_slice() != checksum {
        return Err("metadata file fails its checksum".to_owned());
    }
    let mut reader = Reader(content);
    if reader.take(META_MAGIC.len())? != META_MAGIC || reader.take(1)? != [META_FORMAT] {
        return Err("metadata file has an unknown format".to_owned());
    }
    let key_len = usize::from(reader.take(1)?[0]);
    let key = reader.take(key_len)?;
    let body_id = reader.u64()?;
    let body_len = reader.u64()?;
    let metadata_len = reader.u32()? as usize;
    if key != expected.key.as_bytes() {
        return Err("metadata file belongs to another key".to_owned());
    }
    if body_id != expected.body_id || body_len != expected.body_len {
        return Err(format!(
            "metadata file describes body {body_id} of {body_len} bytes, the journal body {} of {} bytes",
            expected.body_id, expected.body_len
        ));
    }
    if reader.0.len() != metadata_len {
        return Err("metadata file length does not match its header".to_owned());
    }
    let start = content.len() - metadata_len;
    Ok(file.slice(start..content.len()))
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], String> {
        if self.0.len() < len {
            return Err("metadata file header is cut short".to_owned());
        }
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(head)
    }

    fn u64(&mut self) -> Result<u64, String> {
        let bytes = self.take(8)?;
        Ok(u64::from_le_bytes(bytes.try_into().expect("took 8 bytes")))
    }

    fn u32(&mut self) -> Result<u32, String> {
        let bytes = self.take(4)?;
        Ok(u32::from_le_bytes(bytes.try_into().expect("took 4 bytes")))
    }
}

/// Creates `temp` (failing if it exists), for a body about to be written.
pub(super) fn create_temp(dir: &Path, temp: &str) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dir.join(temp))
}

/// Writes `bytes` to `temp`, syncs it and renames it to `name`: a reader of `name` sees the
/// old file or the whole new one.
pub(super) fn write_durably(dir: &Path, temp: &str, name: &str, bytes: &[u8]) -> io::Result<()> {
    let temp_path = dir.join(temp);
    let written = (|| {
        let mut file = create_temp(dir, temp)?;
        file.write_all(bytes)?;
        file.sync_data()
    })();
    match written {
        Ok(()) => fs::rename(&temp_path, dir.join(name)),
        Err(error) => {
            remove_quietly(&temp_path);
            Err(error)
        }
    }
}

/// Syncs the directory itself, so that renames and new names survive a power cut.
pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Removes a file whose absence is what matters: a missing file is fine and other errors
/// leave an orphan that the next open sweeps away.
pub(super) fn remove_quietly(path: &Path) {
    let _ = fs::remove_file(path);
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "abc";

    fn expected() -> Expected<'static> {
        Expected {
            key: KEY,
            body_id: 7,
            body_len: 42,
        }
    }

    #[test]
    fn names_round_trip_and_strangers_are_ignored() {
        assert_eq!(file_name("k-1", 12, FileKind::Meta), "k-1.12.meta");
        assert_eq!(temp_name("k", 3, FileKind::Body), "k.3.body.tmp");
        let parsed = parse_file_name("k-1.12.meta").unwrap();
        assert_eq!(
            parsed,
            EntryFileName {
                key: "k-1",
                id: 12,
                kind: FileKind::Meta,
                temp: false
            }
        );
        assert!(parse_file_name("k.3.body.tmp").unwrap().temp);
        for stranger in [
            "oktower.journal",
            "oktower.lock",
            "k.meta",
            "k..body",
            "k.x.body",
            "K.1.body",
            "k.1.body.bak",
            "a.b.1.body",
            "k.99999999999999999999999.body",
            "notes.txt",
        ] {
            assert_eq!(parse_file_name(stranger), None, "{stranger}");
        }
    }

    #[test]
    fn metadata_round_trips_without_copying() {
        let file = Bytes::from(encode_meta(KEY, 7, 42, b"the head"));
        assert_eq!(file.len() as u64, meta_file_len(KEY, 8));
        let metadata = decode_meta(file.clone(), expected()).unwrap();
        assert_eq!(metadata, "the head");
        assert_eq!(metadata.as_ptr(), file[file.len() - 40..].as_ptr());
        let empty = Bytes::from(encode_meta(KEY, 7, 42, b""));
        assert_eq!(decode_meta(empty, expected()).unwrap(), "");
    }

    #[test]
    fn every_flipped_byte_and_every_truncation_is_detected() {
        let good = encode_meta(KEY, 7, 42, b"metadata bytes");
        for index in 0..good.len() {
            let mut bad = good.clone();
            bad[index] ^= 0x01;
            assert!(
                decode_meta(Bytes::from(bad), expected()).is_err(),
                "flip at {index}"
            );
        }
        for len in 0..good.len() {
            let cut = Bytes::copy_from_slice(&good[..len]);
            assert!(decode_meta(cut, expected()).is_err(), "cut at {len}");
        }
        assert!(decode_meta(Bytes::from_static(b"garbage"), expected()).is_err());
    }

    #[test]
    fn a_valid_file_of_another_entry_is_rejected() {
        let other_key = Bytes::from(encode_meta("abd", 7, 42, b"m"));
        assert!(
            decode_meta(other_key, expected())
                .unwrap_err()
                .contains("another key")
        );
        let other_body = Bytes::from(encode_meta(KEY, 8, 42, b"m"));
        assert!(
            decode_meta(other_body, expected())
                .unwrap_err()
                .contains("describes body 8")
        );
        let other_len = Bytes::from(encode_meta(KEY, 7, 41, b"m"));
        assert!(decode_meta(other_len, expected()).is_err());
    }

    #[test]
    fn durable_writes_publish_under_the_final_name() {
        let dir = crate::cache::disk::tests::TestDir::new("entry-files");
        write_durably(dir.path(), "a.1.meta.tmp", "a.1.meta", b"first").unwrap();
        write_durably(dir.path(), "a.1.meta.tmp", "a.1.meta", b"second").unwrap();
        assert_eq!(fs::read(dir.path().join("a.1.meta")).unwrap(), b"second");
        assert!(!dir.path().join("a.1.meta.tmp").exists());
        sync_dir(dir.path()).unwrap();
        remove_quietly(&dir.path().join("a.1.meta"));
        remove_quietly(&dir.path().join("a.1.meta"));
        assert!(!dir.path().join("a.1.meta").exists());
        let missing = dir.path().join("missing");
        assert!(write_durably(&missing, "t", "n", b"x").is_err());
    }
}
