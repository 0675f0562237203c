//! One store per directory: an advisory lock on a file in it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::Path;

use crate::{Error, ErrorKind};

pub(super) const LOCK_FILE: &str = "oktower.lock";

/// The exclusive lock a [`DiskStore`](super::DiskStore) holds on its directory while open.
/// Released when dropped (or when the process dies, however it dies).
#[derive(Debug)]
pub(super) struct DirectoryLock {
    _file: File,
}

/// What locking the directory found.
#[derive(Debug)]
pub(super) enum Locking {
    /// The lock is ours.
    Locked(DirectoryLock),
    /// The lock file cannot be created or opened here (a read-only directory): nobody can
    /// write through this store, so it is used without a lock, read-only.
    Unavailable(io::Error),
}

/// Takes the lock of `dir`. Another store holding it — in this process or another — is an
/// error: two stores writing one directory would corrupt each other's journal.
pub(super) fn lock_directory(dir: &Path) -> Result<Locking, Error> {
    let path = dir.join(LOCK_FILE);
    let opened = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .or_else(|_| File::open(&path));
    let file = match opened {
        Ok(file) => file,
        Err(error) => return Ok(Locking::Unavailable(error)),
    };
    match file.try_lock() {
        Ok(()) => Ok(Locking::Locked(DirectoryLock { _file: file })),
        Err(TryLockError::WouldBlock) => Err(Error::new(
            ErrorKind::Io,
            format!(
                "cache directory {} is in use by another DiskStore (it holds the lock on {}); \
                 give each client its own directory, or share one client",
                dir.display(),
                path.display()
            ),
        )),
        // Locks are not supported on this file system: go on without one.
        Err(TryLockError::Error(error)) if error.kind() == io::ErrorKind::Unsupported => {
            Ok(Locking::Locked(DirectoryLock { _file: file }))
        }
        Err(TryLockError::Error(error)) => Err(Error::from_io(
            ErrorKind::Io,
            format!("cannot lock cache directory {}", dir.display()),
            error,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::disk::tests::TestDir;

    #[test]
    fn a_second_lock_on_the_same_directory_is_refused_until_the_first_is_dropped() {
        let dir = TestDir::new("lock");
        let first = lock_directory(dir.path()).unwrap();
        assert!(matches!(first, Locking::Locked(_)));
        let error = lock_directory(dir.path()).unwrap_err();
        assert!(error.is_io());
        assert!(
            error.message().contains("in use by another DiskStore"),
            "{error}"
        );
        drop(first);
        assert!(matches!(
            lock_directory(dir.path()).unwrap(),
            Locking::Locked(_)
        ));
    }

    #[test]
    fn a_missing_directory_makes_the_lock_unavailable() {
        let dir = TestDir::new("lock-missing");
        let missing = dir.path().join("missing");
        assert!(matches!(
            lock_directory(&missing).unwrap(),
            Locking::Unavailable(_)
        ));
    }
}
