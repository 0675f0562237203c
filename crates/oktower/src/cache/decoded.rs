//! The cache layer's decoded form of an entry's metadata, kept by a store beside the bytes.

use std::fmt;
use std::sync::{Arc, OnceLock};

use super::CachedResponse;

/// A place where a [`CacheStore`](super::CacheStore) that holds an entry in memory keeps the
/// cache layer's decoded form of that entry's metadata, so that a hit decodes (and checks)
/// the metadata bytes once per stored version instead of at every read.
///
/// A store creates one [`slot`](Self::slot) with each version it keeps in memory, hands a
/// clone of it out with every [`StoredEntry`](super::StoredEntry) it reads of that version,
/// and drops it with the version (on a rewrite, a metadata update, a removal or an
/// eviction). The cache layer fills the slot the first time it decodes the metadata and
/// serves from it afterwards. The slot is only ever filled from the metadata bytes of the
/// version it was created with, so the two always agree. A store that keeps nothing in
/// memory answers [`none`](Self::none), and the layer decodes the bytes at each read.
///
/// ```
/// use oktower::cache::DecodedMetadata;
///
/// let slot = DecodedMetadata::slot();
/// assert!(!slot.is_filled());
/// assert!(!DecodedMetadata::none().is_filled());
/// ```
#[derive(Clone, Default)]
pub struct DecodedMetadata(Option<Arc<OnceLock<Arc<CachedResponse>>>>);

impl DecodedMetadata {
    /// No place: the layer decodes the metadata at every read of this entry.
    pub fn none() -> Self {
        DecodedMetadata(None)
    }

    /// An empty place, for one version of an entry that the store keeps in memory.
    pub fn slot() -> Self {
        DecodedMetadata(Some(Arc::new(OnceLock::new())))
    }

    /// Whether the cache layer has filled the place.
    pub fn is_filled(&self) -> bool {
        self.get().is_some()
    }

    /// The decoded entry, once the layer filled the place.
    pub(crate) fn get(&self) -> Option<&Arc<CachedResponse>> {
        self.0.as_ref().and_then(|slot| slot.get())
    }

    /// Keeps `entry`, decoded from this version's metadata; a place already filled (by a
    /// concurrent read of the same version, from the same bytes) keeps what it has.
    pub(crate) fn fill(&self, entry: &Arc<CachedResponse>) {
        if let Some(slot) = &self.0 {
            let _ = slot.set(Arc::clone(entry));
        }
    }
}

impl fmt::Debug for DecodedMetadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.0 {
            None => "none",
            Some(slot) if slot.get().is_some() => "filled",
            Some(_) => "empty",
        };
        f.debug_tuple("DecodedMetadata").field(&state).finish()
    }
}

#[cfg(test)]
mod tests {
    use http::{Method, Response, Uri};

    use super::*;

    fn entry() -> Arc<CachedResponse> {
        let (head, ()) = Response::new(()).into_parts();
        Arc::new(CachedResponse::new(
            Uri::from_static("http://a.test/"),
            Method::GET,
            &head,
        ))
    }

    #[test]
    fn a_slot_is_filled_once_and_shared_by_its_clones() {
        let slot = DecodedMetadata::slot();
        let handed_out = slot.clone();
        assert!(handed_out.get().is_none());
        let first = entry();
        handed_out.fill(&first);
        assert!(Arc::ptr_eq(slot.get().unwrap(), &first));
        slot.fill(&entry());
        assert!(Arc::ptr_eq(handed_out.get().unwrap(), &first), "kept");
        assert_eq!(format!("{slot:?}"), "DecodedMetadata(\"filled\")");
    }

    #[test]
    fn none_keeps_nothing_and_fresh_slots_are_independent() {
        let none = DecodedMetadata::none();
        none.fill(&entry());
        assert!(!none.is_filled());
        assert_eq!(format!("{none:?}"), "DecodedMetadata(\"none\")");
        let a = DecodedMetadata::slot();
        let b = DecodedMetadata::slot();
        a.fill(&entry());
        assert!(a.is_filled() && !b.is_filled());
        assert_eq!(format!("{b:?}"), "DecodedMetadata(\"empty\")");
    }
}
