//! `ecmguard`: a declarative policy gate for Tencent Cloud ECM images.
//!
//! One direction, no back-and-forth: flags become validated settings
//! (`cli`, `settings`), policy files become a compiled `PolicySet`
//! (`policy`), a snapshot or the API becomes a complete `ImageSet` and its
//! `Provenance` (`source`, `image`), the pure evaluator (`eval`) produces
//! findings and a verdict, `report` renders them. Every stage returns a typed
//! error; `outcome` gathers them and `exit` alone maps an outcome or an error
//! to a process status. Every message is one `diag::Diag` with a code from
//! one table. `app` strings the steps together.
//!
//! **Stability.** ecmguard is a command-line tool, and this library is its
//! implementation: it exists for the tool, its tests, benchmarks, fuzz
//! targets and examples. It is not published (`publish = false`), and its
//! items carry no stability promise: any of them may change or go in any
//! release. What is stable is the command line, the exit codes and the
//! documented formats (`ecmguard/report/v1`, `ecmguard/rules/v1`, the
//! snapshot and baseline files). Items only the tool needs are
//! `pub(crate)`; the `generate` module is behind the `generate` feature.
//!
//! The library is usable on its own; it never prints:
//!
//! ```
//! use ecmguard::eval::{evaluate, EvalOptions};
//! use ecmguard::image::ImageSet;
//! use ecmguard::policy::{compile, CompileOptions};
//! use ecmguard::eval::Status;
//! use ecmguard::source_text::SourceFile;
//! use ecmguard::time::ApiZone;
//!
//! let policy = SourceFile::new(
//!     "policy.yaml",
//!     "rules:\n  - id: fresh\n    title: Private images are fresh\n    where: { ImageType: PRIVATE_IMAGE }\n    assert: { ImageCreateTime: { newer_than: 180d } }\n",
//! );
//! let options = CompileOptions {
//!     now: "2026-01-01T00:00:00+08:00".parse().unwrap(),
//!     zone: ApiZone::default(),
//!     params: Vec::new(),
//! };
//! let loaded = compile(vec![policy], &options).expect("a valid policy");
//! let images = serde_json::from_str(
//!     r#"[{"ImageId": "img-old", "ImageType": "PRIVATE_IMAGE", "ImageCreateTime": "2025-01-01 00:00:00"}]"#,
//! )
//! .unwrap();
//! let images = ImageSet::new(images, &options.zone);
//! let evaluation = evaluate(&loaded.policy, &images, EvalOptions { now: options.now, baseline: None, selection: None, history: None });
//! assert_eq!(evaluation.findings.len(), 1);
//! assert_eq!(evaluation.findings[0].status, Status::Violation);
//! ```

// `Diag` is large, and is returned by value on error paths only: boxing it
// would add indirection everywhere for no gain where it matters.
#![allow(clippy::result_large_err)]

pub mod account;
pub mod app;
pub mod apply;
pub mod baseline;
pub mod cli;
pub mod config;
pub mod diag;
pub mod eval;
pub mod exit;
pub mod fs;
/// Seeded, realistic image sets for benchmarks, tests and examples (the
/// `generate` feature; not part of the library's API).
#[cfg(any(test, feature = "generate"))]
pub mod generate;
pub mod history;
pub mod image;
mod memory;
pub mod outcome;
pub mod plan;
pub mod policy;
pub mod report;
pub mod settings;
pub mod source;
pub mod source_text;
pub mod text;
pub mod time;
pub mod usage;

/// What `ecmguard --version` shows: the package version, and the commit it
/// was built from when built from a git checkout, `0.1.0 (abc1234)` (see
/// `build.rs`). Reports and the history record the package version alone.
pub const VERSION: &str = env!("ECMGUARD_VERSION");
