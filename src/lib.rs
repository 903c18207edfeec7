//! `ecmguard`: a declarative policy gate for Tencent Cloud ECM images.
//!
//! One direction, no back-and-forth: flags become settings (`cli`), policy
//! files become a compiled `PolicySet` (`policy`), a snapshot or the API
//! becomes a complete `ImageSet` (`source`, `image`), the pure evaluator
//! (`eval`) produces findings, `report` renders them, and `exit` maps the
//! verdict to a process status. `app` strings the steps together.

// `Diag` is large, and is returned by value on error paths only: boxing it
// would add indirection everywhere for no gain where it matters.
#![allow(clippy::result_large_err)]

pub mod app;
pub mod cli;
pub mod diag;
pub mod eval;
pub mod exit;
pub mod failure;
pub mod generate;
pub mod image;
pub mod listing;
pub mod policy;
pub mod policytests;
pub mod progress;
pub mod report;
pub mod source;
pub mod source_text;
pub mod time;
