//! Tests of the live path against the ECM emulator (everything on 127.0.0.1).

mod emulator;
mod errors;
mod faults;
mod fetch;
mod rate;
mod secrets;
mod support;
mod vectors;
