//! Validated settings, one type per command, built once from the parsed
//! flags (ripgrep's low-level args → high-level args): every value parsed and
//! checked, every problem reported together as a diagnostic, before any
//! policy is read or any request is made. Commands read only these.
//!
//! Each setting is the flag when given, else the project config file's value
//! (`config`), else the library's default constant: the one place defaults
//! are applied. The config file and the param files are read here, since
//! they stand for flags; their problems are reported with the flags'.
//!
//! One module per command (`check`, `fetch`, `history`, `policies` for `test`
//! and `rules`), and one for each part several commands share (`policy`,
//! `live`); this module holds what every command's flags need: the problems
//! collected, the config file, the time, the zone, the history and account.

mod apply;
mod check;
mod fetch;
mod history;
mod live;
mod plan;
mod policies;
mod policy;

use std::path::Path;

use jiff::Timestamp;

use crate::config::{self, ProjectConfig};
use crate::diag::{Code, Diag};
use crate::history::Target;
use crate::time::{ApiZone, parse_now};

pub use apply::ApplySettings;
pub use check::{CheckSettings, HistorySettings, ReportTarget, SourceSettings};
pub use fetch::FetchSettings;
pub use history::{HistoryCommandSettings, PruneSettings};
pub use live::LiveSettings;
pub use plan::PlanSettings;
pub use policies::{RulesSettings, TestSettings};
pub use policy::PolicySettings;

/// The policy directory read when no `--policy` is given (defined beside
/// the loader, where `--help` reads it too).
pub use crate::policy::DEFAULT_POLICY_DIR;

/// Collects the problems of every flag, so all are reported at once.
struct Problems(Vec<Diag>);

impl Problems {
    fn flag(&mut self, message: impl Into<String>, help: impl Into<String>) {
        self.0
            .push(Diag::error(Code::InvalidArgument, message).with_help(help));
    }

    fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Vec<Diag>> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(self.0)
        }
    }
}

/// The project config file, if one is read; its problems join the flags'.
fn project_config(flag: Option<&Path>, problems: &mut Problems) -> Option<ProjectConfig> {
    match config::load(flag) {
        Ok(config) => config,
        Err(mut diags) => {
            problems.0.append(&mut diags);
            None
        }
    }
}

fn api_zone(text: &str, problems: &mut Problems) -> Option<ApiZone> {
    ApiZone::parse(text)
        .map_err(|m| {
            problems.0.push(
                Diag::error(Code::InvalidArgument, format!("--api-time-zone: {m}"))
                    .with_help(
                        "an offset such as +08:00, UTC, or an IANA name such as Asia/Shanghai",
                    )
                    .suggest(crate::time::zone_suggestion(text).as_deref()),
            )
        })
        .ok()
}

fn history_target(text: &str, problems: &mut Problems) -> Option<Target> {
    Target::parse(text)
        .map_err(|m| {
            problems.flag(
                m,
                "for example --history ecmguard-history.db or --history postgres://user@host/db",
            )
        })
        .ok()
}

/// An account label (`--account`, or the config file's, checked there
/// with its location by the same rule: `account::label`).
fn account(text: &str, problems: &mut Problems) -> Option<String> {
    match crate::account::label(text) {
        Ok(label) => Some(label.to_owned()),
        Err(problem) => {
            problems.flag(
                format!(
                    "--account must be 1 to {} printable characters: the value given {}",
                    crate::account::MAX_CHARS,
                    problem.describe()
                ),
                "for example --account prod-guangzhou",
            );
            None
        }
    }
}

/// The time of a run: `--now` when given, else the clock, read once.
#[derive(Debug, Clone, Copy)]
struct Now {
    at: Timestamp,
    /// Whether `--now` gave it (policy tests use a given one for cases without a `now`).
    given: bool,
}

/// `--now`, parsed once per command however many of its settings use it, so a bad
/// value is one problem.
fn now(text: Option<&str>, clock: fn() -> Timestamp, problems: &mut Problems) -> Option<Now> {
    match text {
        Some(text) => parse_now(text)
            .map_err(|m| {
                problems.flag(
                    format!("--now: {m}"),
                    "for example --now 2026-01-01T00:00:00+08:00",
                )
            })
            .ok()
            .map(|at| Now { at, given: true }),
        None => Some(Now {
            at: clock(),
            given: false,
        }),
    }
}

/// `--api-time-zone`, else the config file's `api_time_zone`, else the default;
/// parsed once per command, like `--now`.
fn zone(
    flag: Option<&str>,
    config: Option<&ProjectConfig>,
    problems: &mut Problems,
) -> Option<ApiZone> {
    match flag {
        Some(text) => api_zone(text, problems),
        None => Some(
            config
                .and_then(|c| c.api_time_zone.clone())
                .unwrap_or_default(),
        ),
    }
}
