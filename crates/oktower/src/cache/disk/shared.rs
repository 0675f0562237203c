//! What the handles of one disk store share: the directory, the index, the journal, and
//! the switch that turns writes off when the directory stops taking them.
//!
//! Lock order: the journal mutex before the state mutex, never the other way round. The
//! state mutex is held only for in-memory work; file I/O happens in blocking tasks.

use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use super::Config;
use super::blocking::Blocking;
use super::entry_files;
use super::journal::JournalFile;
use super::lock::{DirectoryLock, Locking, lock_directory};
use super::recovery::disabled;
use super::state::{State, WriteGate};
use crate::cache::guard::lock;
use crate::cache::store_stats::StoreCounters;
use crate::cache::{StoreStats, StoreStatus};
use crate::{Error, ErrorKind};

/// Pending journal lines are written once they reach this many bytes even if no write
/// forces them out (reads only add `READ` lines).
pub(super) const JOURNAL_FLUSH_BYTES: usize = 8 * 1024;

/// Deferred `READ` lines (one per key read since the last journal line) are written once
/// this many keys wait for one: a read from memory then goes to the files instead, whose
/// blocking task writes the journal.
pub(super) const DEFERRED_READS_FLUSH: usize = 256;

pub(super) struct Shared {
    pub(super) dir: PathBuf,
    pub(super) config: Config,
    state: Mutex<State>,
    journal: Mutex<Option<JournalFile>>,
    lock: Mutex<Option<DirectoryLock>>,
    pub(super) counters: StoreCounters,
    #[cfg(test)]
    fault: Mutex<Option<io::ErrorKind>>,
}

impl Shared {
    pub(super) fn new(
        dir: PathBuf,
        config: Config,
        state: State,
        journal: Option<JournalFile>,
        directory_lock: Option<DirectoryLock>,
    ) -> Self {
        Shared {
            dir,
            config,
            state: Mutex::new(state),
            journal: Mutex::new(journal),
            lock: Mutex::new(directory_lock),
            counters: StoreCounters::default(),
            #[cfg(test)]
            fault: Mutex::new(None),
        }
    }

    pub(super) fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    pub(super) fn stats(&self) -> StoreStats {
        self.counters.snapshot()
    }

    pub(super) fn status(&self) -> StoreStatus {
        match &self.state().gate {
            WriteGate::Open => StoreStatus::Ready,
            WriteGate::Disabled { reason, .. } => StoreStatus::WritesDisabled(Arc::clone(reason)),
        }
    }

    /// Fails like a full disk while a test asks for it.
    pub(super) fn fault_check(&self) -> io::Result<()> {
        #[cfg(test)]
        if let Some(kind) = *lock(&self.fault) {
            return Err(io::Error::from(kind));
        }
        Ok(())
    }

    #[cfg(test)]
    pub(super) fn inject_fault(&self, kind: Option<io::ErrorKind>) {
        *lock(&self.fault) = kind;
    }

    /// Turns writes off after `error` while doing `what`, and returns the error to report.
    pub(super) fn write_failed(&self, what: String, error: io::Error) -> Error {
        let reason = format!("{what} in {}: {error}", self.dir.display());
        {
            let mut state = self.state();
            state.gate = disabled(reason.clone());
            // The directory is in trouble: reads check the files again.
            state.hot.clear();
        }
        Error::from_io(
            ErrorKind::Io,
            format!("cache writes disabled: {reason}"),
            error,
        )
    }

    /// Succeeds if writes are on. A store whose writes were turned off tries again (by
    /// rebuilding its journal) once the configured delay has passed.
    pub(super) async fn check_writable(self: &Arc<Self>) -> Result<(), Error> {
        let now = Instant::now();
        {
            let mut state = self.state();
            let probe = state.gate.probe_due(now, self.config.write_retry_after);
            match &mut state.gate {
                WriteGate::Open => return Ok(()),
                WriteGate::Disabled { probing, .. } if probe => *probing = true,
                WriteGate::Disabled { reason, .. } => {
                    return Err(Error::new(
                        ErrorKind::Io,
                        format!("cache writes are disabled: {reason}"),
                    ));
                }
            }
        }
        let shared = Arc::clone(self);
        match Blocking::spawn(move || shared.probe()).await {
            Ok(Ok(())) => {
                self.state().gate = WriteGate::Open;
                Ok(())
            }
            Ok(Err(error)) => Err(self.write_failed("writes still fail".to_owned(), error)),
            Err(error) => {
                self.state().gate = disabled(format!("trying to write again failed: {error}"));
                Err(error)
            }
        }
    }

    /// Tries to write again: take the directory lock if this store has none, then rebuild
    /// the journal from the index.
    fn probe(&self) -> io::Result<()> {
        self.fault_check()?;
        {
            let mut directory_lock = lock(&self.lock);
            if directory_lock.is_none() {
                match lock_directory(&self.dir) {
                    Ok(Locking::Locked(taken)) => *directory_lock = Some(taken),
                    Ok(Locking::Unavailable(error)) => return Err(error),
                    Err(error) => return Err(io::Error::other(error.message().to_owned())),
                }
            }
        }
        self.compact()
    }

    /// Appends the pending journal lines. Blocking.
    pub(super) fn write_journal(&self) -> io::Result<()> {
        let mut journal = lock(&self.journal);
        let pending = self.state().take_pending();
        match journal.as_mut() {
            Some(file) if !pending.is_empty() => {
                self.fault_check()?;
                file.append(&pending)
            }
            _ => Ok(()),
        }
    }

    /// Appends the pending lines (compacting if due) and syncs the journal. Blocking.
    pub(super) fn sync_journal(&self) -> io::Result<()> {
        self.write_journal()?;
        let due = self
            .state()
            .needs_compaction(self.config.compaction_threshold);
        if due && self.owns_directory() {
            self.compact()?;
        }
        match lock(&self.journal).as_mut() {
            Some(file) => file.sync(),
            None => Ok(()),
        }
    }

    /// Whether this store holds the directory lock. A store without it (opened on a
    /// read-only directory) changes nothing on disk.
    fn owns_directory(&self) -> bool {
        lock(&self.lock).is_some()
    }

    /// Rewrites the journal from the index, atomically. Blocking.
    pub(super) fn compact(&self) -> io::Result<()> {
        if !self.owns_directory() {
            return Err(io::Error::other(
                "the store does not hold the directory lock",
            ));
        }
        let mut journal = lock(&self.journal);
        self.fault_check()?;
        let snapshot = self.state().journal_snapshot(self.config.format_version);
        *journal = Some(JournalFile::rebuild(&self.dir, &snapshot)?);
        Ok(())
    }

    /// After a change to the index: write its journal lines, delete the files no entry
    /// needs, and compact the journal if it grew redundant. Blocking. Failures turn writes
    /// off; what is already in memory stays right.
    pub(super) fn after_change(&self, obsolete: &[String]) {
        if !self.owns_directory() {
            self.state().discard_pending();
            return;
        }
        let written = self.write_journal();
        for name in obsolete {
            entry_files::remove_quietly(&self.dir.join(name));
        }
        let compacted = match written {
            Ok(())
                if self
                    .state()
                    .needs_compaction(self.config.compaction_threshold) =>
            {
                self.compact()
            }
            other => other,
        };
        if let Err(error) = compacted {
            self.write_failed("cannot write the journal".to_owned(), error);
        }
    }

    /// Writes pending lines if enough piled up, and compacts if the journal grew redundant
    /// (reads alone add lines). Blocking.
    pub(super) fn write_journal_if_due(&self) {
        let due = {
            let state = self.state();
            state.pending.len() >= JOURNAL_FLUSH_BYTES
                || state.deferred_read_count() >= DEFERRED_READS_FLUSH
                || state.needs_compaction(self.config.compaction_threshold)
        };
        if due {
            self.after_change(&[]);
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // The last handle is gone: the deferred READ lines keep the LRU order across a
        // restart. A small write, once per store.
        let _ = self.write_journal();
    }
}
