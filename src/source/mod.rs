//! Where images come from: a saved snapshot (`snapshot`) or the live API (`live`).

pub mod live;
pub mod snapshot;
pub mod split;
