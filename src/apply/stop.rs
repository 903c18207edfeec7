//! A stop the run asks for without ending the process: while an apply is writing, Ctrl-C
//! must let the actions in flight finish (a write cut off mid-way is the one thing worse
//! than no write) and send no other write, and the result file must still be written whole.
//!
//! The binary's signal handler asks [`request`] first: while a [`Cooperating`] guard is
//! alive, the request is recorded and the handler keeps running; otherwise (or on a second
//! Ctrl-C) it ends the process as for any other command.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static COOPERATING: AtomicUsize = AtomicUsize::new(0);
static REQUESTED: AtomicBool = AtomicBool::new(false);

/// While alive, a stop request is recorded instead of ending the process.
#[derive(Debug)]
pub struct Cooperating(());

impl Cooperating {
    /// Starts a section in which the run itself checks [`requested`] between actions.
    pub fn start() -> Cooperating {
        COOPERATING.fetch_add(1, Ordering::SeqCst);
        Cooperating(())
    }
}

impl Drop for Cooperating {
    fn drop(&mut self) {
        COOPERATING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Asks the run to stop. `true`: a cooperating section took the request (the first one);
/// `false`: nobody can stop cooperatively, or a stop was already asked for, so the caller
/// ends the process.
pub fn request() -> bool {
    COOPERATING.load(Ordering::SeqCst) > 0 && !REQUESTED.swap(true, Ordering::SeqCst)
}

/// Whether a stop was asked for.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}
