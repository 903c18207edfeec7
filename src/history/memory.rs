//! Handing memory the history freed back to the system before a run is
//! inserted, so that the insert does not stack on top of it.
//!
//! The open streaks a check reads (about 16 bytes each, megabytes for a large
//! account) are allocated by the thread that reads them while the images
//! load, and freed when the run is settled, just before its findings are
//! inserted — the moment the process peaks, with every image and finding
//! alive. glibc keeps freed memory of a thread's arena (and holes left in the
//! main one) mapped for reuse, and nothing on the main thread reuses the
//! reading thread's arena, so without this those pages would stay counted
//! at the peak. `malloc_trim` returns every whole free page of every arena
//! (glibc ≥ 2.8); it walks only free chunks, a millisecond here. Other
//! allocators and platforms return (or keep) memory their own way: there it
//! does nothing.

/// Returns whole free pages of every malloc arena to the system.
pub(crate) fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointer and has no precondition; it only
    // returns pages of free chunks to the kernel, under the arenas' locks.
    unsafe {
        libc::malloc_trim(0);
    }
}
