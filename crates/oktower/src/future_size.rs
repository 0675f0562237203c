//! For the tests that keep per-request futures small.

/// The size of what `make` returns, without calling it: `make` may build the future from
/// `unreachable!()` arguments.
pub(crate) fn size_of_output<T>(_make: impl FnOnce() -> T) -> usize {
    std::mem::size_of::<T>()
}
