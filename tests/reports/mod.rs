//! Report formats (docs/reports.md) end to end: every format rendered by the binary
//! from one fixture data set (`tests/fixtures/reports/`) that has every
//! finding status, set-level findings, Chinese names and hostile strings.
//! Snapshots pin the output; the other tests check what a consumer relies
//! on (schema validity, escaping, parse-back, exit codes).

mod ci_examples;
mod csv;
mod edge_cases;
mod exit_codes;
mod github;
mod html;
mod junit;
mod markdown;
mod sarif;
mod snapshots;
mod support;
