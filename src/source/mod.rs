//! Where images come from: a saved snapshot (here) or the live API (`live`).

pub mod snapshot;
pub mod split;
