//! Reading an entry: from memory if it was read recently and is small, otherwise open and
//! check its files, then stream the body from the open file.
//!
//! The body file stays open while it is read, so a reader keeps its version to the end even
//! when a writer replaces the entry or eviction deletes its files (on Unix an open file
//! outlives its name).

use std::fs::File;
use std::future::Future;
use std::io::{self, Read};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;

use super::blocking::Blocking;
use super::entry_files::{FileKind, file_name};
use super::hot_entries::HotEntry;
use super::journal::EntryFiles;
use super::recovery::{corrupt, read_meta};
use super::shared::{DEFERRED_READS_FLUSH, Shared};
use super::state::ReadFrom;
use crate::cache::{DecodedMetadata, EntryVersion, StoreKey, StoredBody, StoredEntry};
use crate::{Error, ErrorKind};

/// Bytes read per chunk.
const CHUNK: u64 = 64 * 1024;

/// How many times a read looks again when the entry it found was replaced meanwhile.
const ATTEMPTS: usize = 3;

/// Opens the entry of `key`, dropping it if its files are missing or fail their checks.
pub(super) async fn open_read(
    shared: &Arc<Shared>,
    key: &StoreKey,
) -> Result<Option<StoredEntry>, Error> {
    for _ in 0..ATTEMPTS {
        let found = shared.state().look_up_for_read(key, DEFERRED_READS_FLUSH);
        let files = match found {
            None => break,
            Some(ReadFrom::Memory(hot)) => {
                shared.counters.read(true);
                return Ok(Some(StoredEntry {
                    metadata: hot.metadata,
                    body: StoredBody::from_bytes(hot.body),
                    version: EntryVersion::new(hot.files.meta_id),
                    decoded: hot.decoded,
                }));
            }
            Some(ReadFrom::Files(files)) => files,
        };
        let task_shared = Arc::clone(shared);
        let task_key = key.clone();
        let opened = Blocking::spawn(move || open_or_drop(&task_shared, &task_key, &files)).await?;
        match opened {
            Opened::Entry(entry) => {
                shared.counters.read(true);
                return Ok(Some(entry));
            }
            Opened::Dropped => break,
            Opened::Replaced => continue,
            Opened::Failed(error) => {
                return Err(Error::from_io(
                    ErrorKind::Io,
                    format!("cannot read cache entry {key}"),
                    error,
                ));
            }
        }
    }
    shared.counters.read(false);
    Ok(None)
}

enum Opened {
    Entry(StoredEntry),
    /// The entry was missing or corrupt and is gone now.
    Dropped,
    /// The files were gone because a newer version replaced them: look again.
    Replaced,
    Failed(io::Error),
}

/// Blocking.
fn open_or_drop(shared: &Shared, key: &StoreKey, files: &EntryFiles) -> Opened {
    let opened = open_files(shared, key, files);
    shared.write_journal_if_due();
    match opened {
        Ok(entry) => Opened::Entry(entry),
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::InvalidData
            ) =>
        {
            let removed = shared.state().remove_if_current(key.as_str(), files);
            match removed {
                Some(obsolete) => {
                    shared.counters.corrupt_dropped(1);
                    shared.after_change(&obsolete);
                    Opened::Dropped
                }
                None => Opened::Replaced,
            }
        }
        Err(error) => Opened::Failed(error),
    }
}

/// Reads and checks the metadata, opens the body and checks its length, and reads the
/// first chunk (for a small body, all of it: one blocking task per hit, and the entry is
/// kept in memory for the next hits). Blocking.
fn open_files(shared: &Shared, key: &StoreKey, files: &EntryFiles) -> io::Result<StoredEntry> {
    let metadata = read_meta(&shared.dir, key.as_str(), files)?;
    let body_path = shared
        .dir
        .join(file_name(key.as_str(), files.body_id, FileKind::Body));
    let mut file = File::open(body_path)?;
    let actual_len = file.metadata()?.len();
    if actual_len != files.body_len {
        return Err(corrupt(format!(
            "body file of {key} is {actual_len} bytes, {} recorded",
            files.body_len
        )));
    }
    let first = read_chunk(&mut file, files.body_len.min(CHUNK))?;
    let remaining = files.body_len - first.len() as u64;
    let mut decoded = DecodedMetadata::none();
    let body = if remaining == 0 {
        decoded = DecodedMetadata::slot();
        shared.state().remember_read(
            key,
            HotEntry {
                files: *files,
                metadata: metadata.clone(),
                decoded: decoded.clone(),
                body: first.clone(),
            },
        );
        StoredBody::from_bytes(first)
    } else {
        let chunks = DiskBody {
            first: Some(first),
            remaining,
            state: BodyState::Idle(file),
        };
        StoredBody::from_stream(files.body_len, Box::pin(chunks))
    };
    Ok(StoredEntry {
        metadata,
        body,
        version: EntryVersion::new(files.meta_id),
        decoded,
    })
}

/// Reads exactly `len` bytes; a file that ends first is corrupt (truncated).
fn read_chunk(file: &mut File, len: u64) -> io::Result<Bytes> {
    let mut buffer = vec![0; len as usize];
    match file.read_exact(&mut buffer) {
        Ok(()) => Ok(Bytes::from(buffer)),
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => {
            Err(corrupt("body file is shorter than recorded".to_owned()))
        }
        Err(error) => Err(error),
    }
}

/// The rest of a body, read chunk by chunk on the blocking pool.
struct DiskBody {
    first: Option<Bytes>,
    remaining: u64,
    state: BodyState,
}

enum BodyState {
    Idle(File),
    Reading(Blocking<(File, io::Result<Bytes>)>),
    Done,
}

impl Stream for DiskBody {
    type Item = Result<Bytes, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Some(first) = this.first.take() {
            return Poll::Ready(Some(Ok(first)));
        }
        loop {
            match std::mem::replace(&mut this.state, BodyState::Done) {
                BodyState::Done => return Poll::Ready(None),
                BodyState::Idle(_) if this.remaining == 0 => return Poll::Ready(None),
                BodyState::Idle(mut file) => {
                    let len = this.remaining.min(CHUNK);
                    this.state = BodyState::Reading(Blocking::spawn(move || {
                        let chunk = read_chunk(&mut file, len);
                        (file, chunk)
                    }));
                }
                BodyState::Reading(mut task) => match Pin::new(&mut task).poll(cx) {
                    Poll::Pending => {
                        this.state = BodyState::Reading(task);
                        return Poll::Pending;
                    }
                    Poll::Ready(Ok((file, Ok(chunk)))) => {
                        this.remaining -= chunk.len() as u64;
                        this.state = BodyState::Idle(file);
                        return Poll::Ready(Some(Ok(chunk)));
                    }
                    Poll::Ready(Ok((_, Err(error)))) => {
                        let error =
                            Error::from_io(ErrorKind::Io, "cannot read a cached body", error);
                        return Poll::Ready(Some(Err(error)));
                    }
                    Poll::Ready(Err(error)) => return Poll::Ready(Some(Err(error))),
                },
            }
        }
    }
}
