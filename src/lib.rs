//! `ecmguard`: a declarative policy gate for Tencent Cloud ECM images.

pub mod diag;
pub mod exit;
pub mod policy;
pub mod source_text;
pub mod image;
pub mod time;
pub mod failure;
pub mod source;
pub mod eval;
pub mod report;
