//! The everyday face of the command line: fetch progress on
//! stderr, Ctrl-C, completions, the man page, `init`, `explain`, `--version`,
//! and the wording of common mistakes.

mod commands;
mod docs;
mod init;
mod interrupt;
mod progress;
mod wording;
