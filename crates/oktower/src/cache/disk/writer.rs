//! Writing an entry: the body goes to a temporary file in batches on the blocking pool;
//! the commit syncs it, writes the metadata file the same way, renames both into place,
//! syncs the directory and only then journals the entry as `CLEAN`.

use std::fs::{self, File};
use std::future::Future;
use std::io::{self, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;

use super::blocking::Blocking;
use super::entry_files::{
    FileKind, encode_meta, file_name, remove_quietly, sync_dir, temp_name, write_durably,
};
use super::journal::EntryFiles;
use super::shared::Shared;
use crate::cache::writer_slots::SlotEnd;
use crate::cache::{CommitOutcome, StoreKey, WriteEntry};
use crate::{Error, ErrorKind};

/// Chunks are collected up to this many bytes before one blocking write.
const BATCH: usize = 64 * 1024;

pub(super) struct DiskWriter {
    shared: Arc<Shared>,
    key: StoreKey,
    slot: u64,
    body_id: u64,
    metadata: Bytes,
    meta_len: u64,
    written: u64,
    pending: Vec<Bytes>,
    pending_len: usize,
    state: WriterState,
    failure: Option<Error>,
}

enum WriterState {
    Idle(File),
    Flushing(Blocking<(File, io::Result<()>)>),
    Committing(Blocking<Result<CommitOutcome, Error>>),
    /// A failed write giving its key back and removing its temporary file.
    Aborting(Blocking<()>),
    Failed,
    Finished,
}

impl DiskWriter {
    pub(super) fn new(
        shared: Arc<Shared>,
        key: StoreKey,
        slot: u64,
        body_id: u64,
        metadata: Bytes,
        meta_len: u64,
        file: File,
    ) -> Self {
        DiskWriter {
            shared,
            key,
            slot,
            body_id,
            metadata,
            meta_len,
            written: 0,
            pending: Vec::new(),
            pending_len: 0,
            state: WriterState::Idle(file),
            failure: None,
        }
    }

    /// Hands the collected chunks to the blocking pool. Only from `Idle`.
    fn start_flush(&mut self) {
        let WriterState::Idle(mut file) = std::mem::replace(&mut self.state, WriterState::Failed)
        else {
            return;
        };
        let chunks = std::mem::take(&mut self.pending);
        self.pending_len = 0;
        let shared = Arc::clone(&self.shared);
        self.state = WriterState::Flushing(Blocking::spawn(move || {
            let written = shared
                .fault_check()
                .and_then(|()| chunks.iter().try_for_each(|chunk| file.write_all(chunk)));
            (file, written)
        }));
    }

    /// Polls a flush in progress; `Ready(Ok)` once the writer is idle again.
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let WriterState::Flushing(task) = &mut self.state else {
            return Poll::Ready(Ok(()));
        };
        let result = match Pin::new(task).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok((file, Ok(())))) => {
                self.state = WriterState::Idle(file);
                return Poll::Ready(Ok(()));
            }
            Poll::Ready(Ok((_, Err(error)))) => {
                let what = format!("cannot write the body of cache entry {}", self.key);
                self.shared.write_failed(what, error)
            }
            Poll::Ready(Err(error)) => error,
        };
        self.state = WriterState::Failed;
        Poll::Ready(Err(result))
    }

    /// Gives the key back and counts an abort; returns the removal of the temporary file,
    /// which an abort leaves running in the background and a failed commit waits for.
    fn release_aborted(&mut self) -> Blocking<()> {
        self.state = WriterState::Finished;
        self.shared
            .state()
            .writers
            .release(self.key.as_str(), self.slot);
        self.shared.counters.write_aborted();
        let temp = self
            .shared
            .dir
            .join(temp_name(self.key.as_str(), self.body_id, FileKind::Body));
        Blocking::spawn(move || remove_quietly(&temp))
    }

    /// Starts aborting after a failure; `poll_commit` then reports `error` once the
    /// temporary file is gone.
    fn fail_commit(&mut self, error: Error) {
        let removal = self.release_aborted();
        self.failure = Some(error);
        self.state = WriterState::Aborting(removal);
    }
}

fn failed_error() -> Error {
    Error::new(ErrorKind::Io, "an earlier write of this cache entry failed")
}

impl WriteEntry for DiskWriter {
    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        loop {
            match &this.state {
                WriterState::Flushing(_) => match this.poll_flush(cx) {
                    Poll::Pending if this.pending_len < BATCH => return Poll::Ready(Ok(())),
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                    Poll::Ready(Ok(())) => {}
                },
                WriterState::Idle(_) if this.pending_len >= BATCH => this.start_flush(),
                WriterState::Idle(_) => return Poll::Ready(Ok(())),
                WriterState::Failed
                | WriterState::Committing(_)
                | WriterState::Aborting(_)
                | WriterState::Finished => {
                    return Poll::Ready(Err(failed_error()));
                }
            }
        }
    }

    fn start_write(self: Pin<&mut Self>, chunk: Bytes) -> Result<(), Error> {
        let this = self.get_mut();
        if !matches!(this.state, WriterState::Idle(_) | WriterState::Flushing(_)) {
            return Err(failed_error());
        }
        let max_size = this.shared.config.max_size;
        let total = this.meta_len + this.written + chunk.len() as u64;
        if total > max_size {
            this.state = WriterState::Failed;
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "cache entry {} is larger than the disk store's maximum size of {max_size} bytes",
                    this.key
                ),
            ));
        }
        if !chunk.is_empty() {
            this.written += chunk.len() as u64;
            this.pending_len += chunk.len();
            this.pending.push(chunk);
        }
        Ok(())
    }

    fn poll_commit(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<CommitOutcome, Error>> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                WriterState::Flushing(_) => match this.poll_flush(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(error)) => this.fail_commit(error),
                    Poll::Ready(Ok(())) => {}
                },
                WriterState::Idle(_) if !this.pending.is_empty() => this.start_flush(),
                WriterState::Idle(_) => {
                    let WriterState::Idle(file) =
                        std::mem::replace(&mut this.state, WriterState::Finished)
                    else {
                        continue;
                    };
                    let job = CommitJob {
                        key: this.key.clone(),
                        slot: this.slot,
                        body_id: this.body_id,
                        metadata: std::mem::take(&mut this.metadata),
                        meta_len: this.meta_len,
                        body_len: this.written,
                    };
                    let shared = Arc::clone(&this.shared);
                    this.state = WriterState::Committing(Blocking::spawn(move || {
                        commit(&shared, job, file)
                    }));
                }
                WriterState::Committing(task) => {
                    let result = match Pin::new(task).poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Ok(result)) => result,
                        Poll::Ready(Err(error)) => Err(error),
                    };
                    this.state = WriterState::Finished;
                    return Poll::Ready(result);
                }
                WriterState::Aborting(removal) => {
                    if Pin::new(removal).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    this.state = WriterState::Finished;
                    return Poll::Ready(Err(this.failure.take().unwrap_or_else(failed_error)));
                }
                WriterState::Failed => this.fail_commit(failed_error()),
                WriterState::Finished => return Poll::Ready(Err(failed_error())),
            }
        }
    }

    fn abort(self: Pin<&mut Self>) {
        let this = self.get_mut();
        match this.state {
            // A commit handed to the blocking pool finishes (or fails) on its own and does
            // its own bookkeeping: the entry ends up whole or absent.
            WriterState::Committing(_) | WriterState::Aborting(_) | WriterState::Finished => {}
            _ => drop(this.release_aborted()),
        }
    }
}

struct CommitJob {
    key: StoreKey,
    slot: u64,
    body_id: u64,
    metadata: Bytes,
    meta_len: u64,
    body_len: u64,
}

/// Publishes a written entry. Blocking.
fn commit(shared: &Shared, job: CommitJob, body: File) -> Result<CommitOutcome, Error> {
    let key = job.key.as_str();
    let dir = &shared.dir;
    let meta_name = file_name(key, job.body_id, FileKind::Meta);
    let body_name = file_name(key, job.body_id, FileKind::Body);
    let body_temp = temp_name(key, job.body_id, FileKind::Body);
    let files = EntryFiles {
        meta_id: job.body_id,
        body_id: job.body_id,
        meta_len: job.meta_len,
        body_len: job.body_len,
    };
    let published = (|| {
        shared.fault_check()?;
        body.sync_data()?;
        drop(body);
        let meta = encode_meta(key, job.body_id, job.body_len, &job.metadata);
        debug_assert_eq!(meta.len() as u64, job.meta_len);
        let meta_temp = temp_name(key, job.body_id, FileKind::Meta);
        write_durably(dir, &meta_temp, &meta_name, &meta)?;
        fs::rename(dir.join(&body_temp), dir.join(&body_name))?;
        sync_dir(dir)
    })();
    if let Err(error) = published {
        shared.state().writers.release(key, job.slot);
        shared.counters.write_aborted();
        for name in [&meta_name, &body_name, &body_temp] {
            remove_quietly(&dir.join(name));
        }
        let what = format!("cannot commit cache entry {key}");
        return Err(shared.write_failed(what, error));
    }
    let outcome = {
        let mut state = shared.state();
        match state.writers.release(key, job.slot) {
            SlotEnd::Discard => None,
            SlotEnd::Publish => Some(state.publish(&job.key, files, shared.config.max_size)),
        }
    };
    match outcome {
        None => {
            remove_quietly(&dir.join(&meta_name));
            remove_quietly(&dir.join(&body_name));
            shared.counters.write_aborted();
            Ok(CommitOutcome::Discarded)
        }
        Some(published) => {
            shared.counters.evicted(published.evicted);
            shared.counters.write_succeeded();
            shared.after_change(&published.obsolete);
            Ok(CommitOutcome::Stored)
        }
    }
}
