//! Opening a directory: lock it, replay the journal, keep only entries whose files check
//! out, sweep away everything else a crash left behind, and start a fresh journal when the
//! old one said more than it needed to.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use super::Config;
use super::entry_files::{self, Expected, FileKind, file_name, parse_file_name};
use super::journal::{self, EntryFiles, JournalFile, Record, parse_journal};
use super::lock::{DirectoryLock, Locking, lock_directory};
use super::state::{State, WriteGate};
use crate::cache::StoreKey;
use crate::{Error, ErrorKind};

/// A directory opened.
#[derive(Debug)]
pub(super) struct Recovered {
    pub(super) state: State,
    pub(super) journal: Option<JournalFile>,
    pub(super) lock: Option<DirectoryLock>,
    /// Entries dropped because their files were missing, truncated or corrupt.
    pub(super) dropped: u64,
}

/// Opens `dir` (creating it if needed). Blocking: run it off the async workers.
pub(super) fn recover(dir: &Path, config: &Config) -> Result<Recovered, Error> {
    create_directory(dir)?;
    let (lock, lock_problem) = match lock_directory(dir)? {
        Locking::Locked(lock) => (Some(lock), None),
        Locking::Unavailable(error) => (None, Some(error)),
    };

    let text = fs::read(journal::journal_path(dir)).ok();
    let parsed = text
        .as_deref()
        .and_then(|text| parse_journal(text, config.format_version));
    let trusted = parsed.is_some();
    let (records, garbage_lines) = match parsed {
        Some(parsed) => (parsed.records, parsed.garbage_lines),
        None => (Vec::new(), 0),
    };

    let mut state = State::new(0, records.len() as u64 + garbage_lines);
    let mut max_id = 0;
    for record in &records {
        replay(&mut state, record, &mut max_id);
    }

    let mut dropped = 0;
    let published: Vec<(StoreKey, EntryFiles)> = state
        .entries
        .oldest_first()
        .map(|(key, files)| (key.clone(), *files))
        .collect();
    for (key, files) in &published {
        if !entry_is_whole(dir, key.as_str(), files) {
            state.entries.remove(key.as_str());
            dropped += 1;
        }
    }
    let evicted = state.entries.evict_to(config.max_size).len();
    let listing = list_directory(dir);
    for name in &listing {
        if let Some(parsed) = parse_file_name(name) {
            max_id = max_id.max(parsed.id);
        }
    }
    state.reserve_ids_through(max_id);

    if let Some(error) = lock_problem {
        state.gate = disabled(format!(
            "cannot create the lock file in {}: {error}",
            dir.display()
        ));
        return Ok(Recovered {
            state,
            journal: None,
            lock,
            dropped,
        });
    }
    // The new journal goes first: files are deleted only once no journal names them.
    let rebuild = !trusted
        || garbage_lines > 0
        || dropped > 0
        || evicted > 0
        || state.needs_compaction(config.compaction_threshold);
    let opened = if rebuild {
        let snapshot = state.journal_snapshot(config.format_version);
        JournalFile::rebuild(dir, &snapshot)
    } else {
        JournalFile::open_append(dir)
    };
    let journal = match opened {
        Ok(journal) => {
            sweep(dir, &listing, &state);
            Some(journal)
        }
        Err(error) => {
            state.gate = disabled(format!(
                "cannot write the journal in {}: {error}",
                dir.display()
            ));
            None
        }
    };
    Ok(Recovered {
        state,
        journal,
        lock,
        dropped,
    })
}

fn create_directory(dir: &Path) -> Result<(), Error> {
    match fs::create_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(_) if dir.is_dir() => Ok(()),
        Err(error) => Err(Error::from_io(
            ErrorKind::Io,
            format!("cannot create cache directory {}", dir.display()),
            error,
        )),
    }
}

fn replay(state: &mut State, record: &Record<'_>, max_id: &mut u64) {
    match record {
        Record::Clean { key, files } => {
            *max_id = (*max_id).max(files.meta_id).max(files.body_id);
            let key = StoreKey::new(*key).expect("the journal parser checks keys");
            state.entries.insert(key, *files, files.size());
        }
        Record::Dirty { id, .. } => *max_id = (*max_id).max(*id),
        Record::Read { key } => {
            state.entries.touch(key);
        }
        Record::Remove { key } => {
            state.entries.remove(key);
        }
    }
}

/// Whether both files of an entry exist with the recorded lengths and the metadata file
/// passes its own check.
pub(super) fn entry_is_whole(dir: &Path, key: &str, files: &EntryFiles) -> bool {
    let body_path = dir.join(file_name(key, files.body_id, FileKind::Body));
    let body_ok = fs::metadata(body_path).is_ok_and(|meta| meta.len() == files.body_len);
    body_ok && read_meta(dir, key, files).is_ok()
}

/// Reads and checks the metadata file of an entry.
pub(super) fn read_meta(dir: &Path, key: &str, files: &EntryFiles) -> io::Result<Bytes> {
    let path = dir.join(file_name(key, files.meta_id, FileKind::Meta));
    let bytes = fs::read(path)?;
    if bytes.len() as u64 != files.meta_len {
        return Err(corrupt(format!(
            "metadata file of {key} is {} bytes, the journal recorded {}",
            bytes.len(),
            files.meta_len
        )));
    }
    let expected = Expected {
        key,
        body_id: files.body_id,
        body_len: files.body_len,
    };
    entry_files::decode_meta(Bytes::from(bytes), expected)
        .map_err(|reason| corrupt(format!("{reason} ({key})")))
}

/// An error for data that fails its check.
pub(super) fn corrupt(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// The names in `dir` (empty if it cannot be listed).
fn list_directory(dir: &Path) -> Vec<String> {
    let Ok(listing) = fs::read_dir(dir) else {
        return Vec::new();
    };
    listing
        .flatten()
        .filter_map(|item| item.file_name().into_string().ok())
        .collect()
}

/// Deletes what a crash or a lost journal line left in `listing`: temporary files and
/// entry files that no entry of `state` names. Other files are not ours and stay.
fn sweep(dir: &Path, listing: &[String], state: &State) {
    let referenced: HashSet<String> = state
        .entries
        .oldest_first()
        .flat_map(|(key, files)| {
            [
                file_name(key.as_str(), files.meta_id, FileKind::Meta),
                file_name(key.as_str(), files.body_id, FileKind::Body),
            ]
        })
        .collect();
    for name in listing {
        let ours = match parse_file_name(name) {
            Some(parsed) => parsed.temp || !referenced.contains(name.as_str()),
            None => name == journal::JOURNAL_TEMP,
        };
        if ours {
            entry_files::remove_quietly(&dir.join(name));
        }
    }
}

/// A write gate closed for `reason`.
pub(super) fn disabled(reason: String) -> WriteGate {
    WriteGate::Disabled {
        reason: Arc::from(reason),
        since: Instant::now(),
        probing: false,
    }
}
