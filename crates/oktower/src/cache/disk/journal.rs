//! The journal: one text line per change, replayed on open (OkHttp's `DiskLruCache` journal).
//!
//! ```text
//! oktower.DiskStore
//! 1
//! <format version chosen by the store's user>
//!
//! DIRTY 3f2a 17
//! CLEAN 3f2a 17 17 120 5120
//! READ 3f2a
//! REMOVE 3f2a
//! ```
//!
//! `DIRTY key id` starts a write, `CLEAN key meta_id body_id meta_len body_len` publishes
//! a version (files `key.meta_id.meta` and `key.body_id.body`), `READ key` records a use for
//! the LRU order, `REMOVE key` drops the entry. A line that does not parse (garbage, or the
//! last line cut short by a crash) is skipped; the files are checked against the lines, so a
//! skipped line can lose an entry but never serve a wrong one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::entry_files;
use crate::cache::store_key;

pub(super) const JOURNAL_FILE: &str = "oktower.journal";
pub(super) const JOURNAL_TEMP: &str = "oktower.journal.tmp";
const MAGIC: &str = "oktower.DiskStore";
const JOURNAL_FORMAT: &str = "1";

/// One journal line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Record<'a> {
    Dirty { key: &'a str, id: u64 },
    Clean { key: &'a str, files: EntryFiles },
    Read { key: &'a str },
    Remove { key: &'a str },
}

/// Where one stored version lives and how long its files are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct EntryFiles {
    pub(super) meta_id: u64,
    pub(super) body_id: u64,
    pub(super) meta_len: u64,
    pub(super) body_len: u64,
}

impl EntryFiles {
    /// The bytes this version takes on disk.
    pub(super) fn size(&self) -> u64 {
        self.meta_len.saturating_add(self.body_len)
    }
}

/// The header a journal starts with; `format_version` is the store user's own.
pub(super) fn header(format_version: u32) -> String {
    format!("{MAGIC}\n{JOURNAL_FORMAT}\n{format_version}\n\n")
}

/// Appends the text of `record` (with its newline) to `out`.
pub(super) fn write_record(out: &mut Vec<u8>, record: &Record<'_>) {
    // Writing to a Vec cannot fail.
    let _ = match record {
        Record::Dirty { key, id } => writeln!(out, "DIRTY {key} {id}"),
        Record::Clean { key, files } => writeln!(
            out,
            "CLEAN {key} {} {} {} {}",
            files.meta_id, files.body_id, files.meta_len, files.body_len
        ),
        Record::Read { key } => writeln!(out, "READ {key}"),
        Record::Remove { key } => writeln!(out, "REMOVE {key}"),
    };
}

/// Parses one line (without its newline); `None` for anything malformed.
pub(super) fn parse_record(line: &str) -> Option<Record<'_>> {
    let mut words = line.split(' ');
    let verb = words.next()?;
    let key = words.next().filter(|key| store_key::is_valid(key))?;
    let mut number = || -> Option<u64> {
        let word = words.next()?;
        if word.is_empty() || !word.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        word.parse().ok()
    };
    let record = match verb {
        "DIRTY" => Record::Dirty { key, id: number()? },
        "CLEAN" => Record::Clean {
            key,
            files: EntryFiles {
                meta_id: number()?,
                body_id: number()?,
                meta_len: number()?,
                body_len: number()?,
            },
        },
        "READ" => Record::Read { key },
        "REMOVE" => Record::Remove { key },
        _ => return None,
    };
    if words.next().is_some() {
        return None;
    }
    Some(record)
}

/// A journal read back.
#[derive(Debug, Default)]
pub(super) struct ParsedJournal<'a> {
    /// The records in order.
    pub(super) records: Vec<Record<'a>>,
    /// Lines skipped as malformed (including a last line cut short).
    pub(super) garbage_lines: u64,
}

/// Parses a whole journal; `None` if its header is not this store's with `format_version`
/// (the entries were written by another format and cannot be trusted).
pub(super) fn parse_journal(text: &[u8], format_version: u32) -> Option<ParsedJournal<'_>> {
    let header = header(format_version);
    let body = text.strip_prefix(header.as_bytes())?;
    let mut parsed = ParsedJournal::default();
    let mut lines = body.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let is_last = lines.peek().is_none();
        if is_last && line.is_empty() {
            break;
        }
        // A last line without its newline was cut short by a crash: never trust it.
        let record = (!is_last)
            .then(|| std::str::from_utf8(line).ok())
            .flatten()
            .and_then(parse_record);
        match record {
            Some(record) => parsed.records.push(record),
            None => parsed.garbage_lines += 1,
        }
    }
    Some(parsed)
}

/// The journal file, open for appending.
#[derive(Debug)]
pub(super) struct JournalFile {
    file: File,
}

impl JournalFile {
    /// Opens the existing journal of `dir` for appending.
    pub(super) fn open_append(dir: &Path) -> io::Result<Self> {
        let file = OpenOptions::new()
            .append(true)
            .open(dir.join(JOURNAL_FILE))?;
        Ok(JournalFile { file })
    }

    /// Replaces the journal of `dir` with `contents` atomically (write a temporary journal,
    /// sync, rename over the old one, sync the directory) and opens it for appending.
    pub(super) fn rebuild(dir: &Path, contents: &[u8]) -> io::Result<Self> {
        let temp = dir.join(JOURNAL_TEMP);
        let written = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&temp)?;
            file.write_all(contents)?;
            file.sync_data()?;
            fs::rename(&temp, dir.join(JOURNAL_FILE))?;
            entry_files::sync_dir(dir)
        })();
        if let Err(error) = written {
            entry_files::remove_quietly(&temp);
            return Err(error);
        }
        JournalFile::open_append(dir)
    }

    /// Appends whole lines. One `write` call per batch, so lines reach the file in order.
    pub(super) fn append(&mut self, lines: &[u8]) -> io::Result<()> {
        self.file.write_all(lines)
    }

    /// Makes appended lines durable.
    pub(super) fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }
}

/// The journal's path in `dir`.
pub(super) fn journal_path(dir: &Path) -> PathBuf {
    dir.join(JOURNAL_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(meta_id: u64, body_id: u64) -> EntryFiles {
        EntryFiles {
            meta_id,
            body_id,
            meta_len: 100,
            body_len: 2000,
        }
    }

    #[test]
    fn records_round_trip() {
        let records = [
            Record::Dirty { key: "ab", id: 3 },
            Record::Clean {
                key: "ab",
                files: files(4, 3),
            },
            Record::Read { key: "ab" },
            Record::Remove { key: "ab" },
        ];
        let mut text = Vec::new();
        for record in &records {
            write_record(&mut text, record);
        }
        assert_eq!(
            String::from_utf8(text.clone()).unwrap(),
            "DIRTY ab 3\nCLEAN ab 4 3 100 2000\nREAD ab\nREMOVE ab\n"
        );
        let parsed: Vec<_> = std::str::from_utf8(&text)
            .unwrap()
            .lines()
            .map(|line| parse_record(line).unwrap())
            .collect();
        assert_eq!(parsed, records);
    }

    #[test]
    fn malformed_lines_do_not_parse() {
        for line in [
            "",
            "CLEAN",
            "CLEAN ab",
            "CLEAN ab 1 2 3",
            "CLEAN ab 1 2 3 4 5",
            "CLEAN ab 1 2 3 -4",
            "CLEAN ab 1 2 3 +4",
            "CLEAN ab 1 2 3 99999999999999999999999",
            "CLEAN AB 1 2 3 4",
            "CLEAN ../x 1 2 3 4",
            "DIRTY ab",
            "DIRTY ab x",
            "READ",
            "READ ab extra",
            "REMOVE  ab",
            "clean ab 1 2 3 4",
            "EVICT ab",
            "\u{0}\u{1}garbage",
        ] {
            assert_eq!(parse_record(line), None, "{line:?}");
        }
    }

    #[test]
    fn a_journal_skips_garbage_and_a_cut_last_line() {
        let mut text = header(5).into_bytes();
        text.extend_from_slice(
            b"CLEAN a 1 1 10 20\n\xff\xfe not utf-8\nnonsense\nREAD a\nCLEAN b 2 2 10 2",
        );
        let parsed = parse_journal(&text, 5).unwrap();
        assert_eq!(
            parsed.records,
            [
                Record::Clean {
                    key: "a",
                    files: EntryFiles {
                        meta_id: 1,
                        body_id: 1,
                        meta_len: 10,
                        body_len: 20
                    }
                },
                Record::Read { key: "a" },
            ]
        );
        assert_eq!(parsed.garbage_lines, 3, "two garbage lines and the cut one");
    }

    #[test]
    fn a_foreign_or_other_version_header_is_refused() {
        let text = header(5);
        assert!(parse_journal(text.as_bytes(), 5).is_some());
        assert!(parse_journal(text.as_bytes(), 6).is_none());
        assert!(parse_journal(b"libcore.io.DiskLruCache\n1\n201105\n2\n\n", 5).is_none());
        assert!(parse_journal(b"", 5).is_none());
        let empty = parse_journal(text.as_bytes(), 5).unwrap();
        assert!(empty.records.is_empty());
        assert_eq!(empty.garbage_lines, 0);
    }

    #[test]
    fn rebuild_replaces_atomically_and_appends_after() {
        let dir = crate::cache::disk::tests::TestDir::new("journal");
        let mut journal = JournalFile::rebuild(dir.path(), header(1).as_bytes()).unwrap();
        journal.append(b"READ a\n").unwrap();
        journal.sync().unwrap();
        let text = fs::read(journal_path(dir.path())).unwrap();
        assert_eq!(text, format!("{}READ a\n", header(1)).as_bytes());
        let mut journal = JournalFile::rebuild(dir.path(), header(2).as_bytes()).unwrap();
        journal.append(b"READ b\n").unwrap();
        let text = fs::read(journal_path(dir.path())).unwrap();
        assert_eq!(text, format!("{}READ b\n", header(2)).as_bytes());
        assert!(!dir.path().join(JOURNAL_TEMP).exists());
        assert!(JournalFile::rebuild(&dir.path().join("missing"), b"x").is_err());
    }
}
