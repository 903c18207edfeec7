//! Tests of the live path against the ECM emulator (everything on 127.0.0.1).

mod emulator;
mod errors;
mod faults;
mod fetch;
mod property;
mod rate;
mod secrets;
pub(crate) mod support;
mod tls;
mod usage;
mod vectors;
