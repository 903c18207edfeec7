//! Output integrity: reports are evidence, so they cannot be forged by the
//! data they show, lost, left half-written, or written over what the run
//! reads (docs/reports.md, "Integrity").

mod bounds;
mod files;
mod hostile;
