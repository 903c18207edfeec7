//! Remediation's writes against the ECM emulator (everything on 127.0.0.1): the emulator's
//! write actions, the write client, `ecmguard apply`.

mod cli;
mod concurrent;
mod emulator;
mod history;
mod interrupt;
mod prompt;
mod property;
mod read_path;
mod support;
