//! The files ecmguard reads and writes itself: what it reads whole is a
//! regular file within a size cap (`read`); what it writes is complete or
//! absent (`write`).

pub mod read;
pub mod write;
