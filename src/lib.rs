//! `ecmguard`: a declarative policy gate for Tencent Cloud ECM images.

pub mod exit;
pub mod source;
