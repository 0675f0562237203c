//! Replacing only the metadata of an entry (after a 304): a new metadata file beside the
//! same body, published only if the entry is still the version the caller read.

use bytes::Bytes;

use super::entry_files::{
    FileKind, encode_meta, file_name, meta_file_len, remove_quietly, sync_dir, temp_name,
    write_durably,
};
use super::journal::EntryFiles;
use super::shared::Shared;
use crate::Error;
use crate::cache::{EntryVersion, StoreKey};

/// Blocking. `Ok(false)` when the entry is gone or no longer `version`.
pub(super) fn update_metadata(
    shared: &Shared,
    key: &StoreKey,
    version: EntryVersion,
    metadata: &Bytes,
) -> Result<bool, Error> {
    let name = key.as_str();
    let (current, meta_id) = {
        let mut state = shared.state();
        match state.entries.get(name) {
            Some(files) if files.meta_id == version.get() => {
                let files = *files;
                (files, state.allocate_id())
            }
            _ => return Ok(false),
        }
    };
    let meta_name = file_name(name, meta_id, FileKind::Meta);
    let written = shared.fault_check().and_then(|()| {
        let meta = encode_meta(name, current.body_id, current.body_len, metadata);
        write_durably(
            &shared.dir,
            &temp_name(name, meta_id, FileKind::Meta),
            &meta_name,
            &meta,
        )?;
        sync_dir(&shared.dir)
    });
    if let Err(error) = written {
        remove_quietly(&shared.dir.join(&meta_name));
        let what = format!("cannot update the metadata of cache entry {name}");
        return Err(shared.write_failed(what, error));
    }
    let updated = EntryFiles {
        meta_id,
        meta_len: meta_file_len(name, metadata.len()),
        ..current
    };
    let published = {
        let mut state = shared.state();
        if state.entries.get(name) == Some(&current) {
            Some(state.publish(key, updated, shared.config.max_size))
        } else {
            None
        }
    };
    match published {
        Some(published) => {
            shared.counters.evicted(published.evicted);
            shared.after_change(&published.obsolete);
            Ok(true)
        }
        None => {
            remove_quietly(&shared.dir.join(&meta_name));
            Ok(false)
        }
    }
}
