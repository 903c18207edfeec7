//! Remediation's writes against the ECM emulator (everything on 127.0.0.1): the emulator's
//! write actions, the write client, `ecmguard apply`.

mod cli;
mod emulator;
mod interrupt;
mod read_path;
mod support;
