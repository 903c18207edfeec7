//! Handing memory the process freed back to the system at the points where it
//! would otherwise stay counted at a peak: glibc keeps freed memory of a
//! thread's arena (and holes left in the main one) mapped for reuse, and a
//! large structure allocated next (one `Vec` of every instance, the run's
//! inserted findings) cannot reuse holes of small freed chunks.
//!
//! Where it is used, and why:
//! - `check --history`: the open streaks a check reads (about 16 bytes each,
//!   megabytes for a large account) are allocated by the thread that reads
//!   them while the images load, and freed when the run is settled, just
//!   before its findings are inserted — the moment the process peaks, with
//!   every image and finding alive; nothing on the main thread reuses the
//!   reading thread's arena.
//! - a live listing of instances or modules: the items as listed (JSON, one
//!   small allocation each) are freed while they are turned into typed items,
//!   which go into one new vector; without handing the freed ones back as it
//!   goes, both would be counted at once.
//!
//! `malloc_trim` returns every whole free page of every arena (glibc ≥ 2.8);
//! it walks only free chunks, about a millisecond for the sizes here. Other
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
