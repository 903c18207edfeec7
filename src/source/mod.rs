//! Data sources: where the image set comes from (the live API here; snapshots beside it).
pub mod live;
