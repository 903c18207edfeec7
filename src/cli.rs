//! Command-line flags (clap derive), parsed into plain data. Structure is
//! clap's job (subcommands, enums, numbers, flags that cannot be combined,
//! defaults); values that need a diagnostic of their own are turned into
//! validated settings once, in `settings`. Nothing else reads `std::env::args`.

use std::path::PathBuf;

use clap::builder::PossibleValue;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::eval::FailOn;
use crate::report::Format;
use crate::source::live;

#[derive(Debug, Parser)]
#[command(
    name = "ecmguard",
    version,
    about = "Declarative policy gate for Tencent Cloud ECM images",
    long_about = "Checks the complete DescribeImage result set (live or from a snapshot) against YAML policies.\n\nExit codes: 0 pass, 1 violations at or above --fail-on, 2 invalid input, 3 data incomplete.",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load policies, get images (API or snapshot), evaluate, report, exit by verdict.
    Check(CheckArgs),
    /// Fetch the full result set and write a snapshot file.
    Fetch(FetchArgs),
    /// Load and type-check policies only; every problem at once.
    Validate(ValidateArgs),
    /// Run policy unit tests (*.test.yaml).
    Test(TestArgs),
    /// List the loaded rules with their metadata.
    Rules(RulesArgs),
    /// Runs, trends and time to fix from a compliance history (check --history).
    History(HistoryArgs),
}

/// Flags every command that loads policies takes.
#[derive(Debug, Args, Clone)]
pub struct PolicyArgs {
    /// A policy file, or a directory whose *.yaml/*.yml files are loaded recursively (repeatable;
    /// default ./policies).
    #[arg(long = "policy", value_name = "PATH")]
    pub policies: Vec<PathBuf>,
    /// The time of the check, RFC 3339 with an offset (default: the system clock, read once).
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    /// Zone of the API's zone-less timestamps: an offset like +08:00 or an IANA name.
    #[arg(
        long = "api-time-zone",
        value_name = "TZ",
        default_value = crate::time::DEFAULT_API_ZONE,
        allow_hyphen_values = true
    )]
    pub api_time_zone: String,
    /// Set a param (repeatable); VALUE is read as a YAML scalar or flow list.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Fail (exit 2) on warnings too: unused params, expired or unused waivers.
    #[arg(long)]
    pub strict: bool,
}

/// How the live API is reached (`check` without `--snapshot`, and `fetch`).
#[derive(Debug, Args, Clone)]
pub struct LiveArgs {
    /// API endpoint URL.
    #[arg(long, value_name = "URL", default_value = live::DEFAULT_ENDPOINT)]
    pub endpoint: String,
    /// Region header (optional; ECM ignores it).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// API filter NAME=V1,V2 (repeatable): image-id, image-type, instance-type, image-name, image-os.
    #[arg(long = "filter", value_name = "NAME=VALUES")]
    pub filters: Vec<String>,
    /// Requests per second.
    #[arg(long, value_name = "N", default_value_t = live::DEFAULT_RATE)]
    pub rate: f64,
    /// Per-request timeout, e.g. 30s, 2min.
    #[arg(long, value_name = "DURATION", default_value = live::DEFAULT_TIMEOUT_TEXT)]
    pub timeout: String,
    /// Time limit of the whole fetch, retries and restarts included.
    #[arg(long, value_name = "DURATION", default_value = live::DEFAULT_DEADLINE_TEXT)]
    pub deadline: String,
    /// Credentials profile (tccli ~/.tccli/NAME.credential, else [NAME] of the SDK credentials file).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Evaluate a saved result set (`-` for stdin); no network call is made.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["endpoint", "region", "filters", "rate", "timeout", "deadline", "profile"]
    )]
    pub snapshot: Option<String>,
    /// Check only this image (repeatable; shorthand for --filter image-id=ID).
    #[arg(long = "image", value_name = "ID")]
    pub images: Vec<String>,
    #[command(flatten)]
    pub live: LiveArgs,
    /// Report format on stdout (or --output).
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Write the --format report to this file instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write a report FORMAT=FILE (repeatable).
    #[arg(long = "report", value_name = "FORMAT=FILE")]
    pub reports: Vec<String>,
    /// Lowest severity that fails the gate.
    #[arg(long = "fail-on", value_enum, default_value = "error")]
    pub fail_on: FailOn,
    /// Mark findings recorded in this baseline as `baselined`.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record the current findings as a baseline.
    #[arg(long = "write-baseline", value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Accept a check of zero images (by default nothing checked fails the gate).
    #[arg(long = "allow-empty")]
    pub allow_empty: bool,
    /// Record the run in a compliance history: a SQLite file (created on first use) or a postgres:// URL.
    #[command(flatten)]
    pub history: HistoryDbArgs,
}

/// `--history DB` and `--account NAME`, as `check` and `history` take them.
#[derive(Debug, Args, Clone)]
pub struct HistoryDbArgs {
    /// Compliance history: a SQLite file path, or a postgres:// URL (the password may come from PGPASSWORD).
    #[arg(
        long = "history",
        value_name = "DB",
        env = "ECMGUARD_HISTORY",
        hide_env_values = true
    )]
    pub history: Option<String>,
    /// Account label in the history (check: default the --profile name, else `default`).
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HistoryFormat {
    Human,
    Json,
    Html,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub action: Option<HistoryAction>,
    #[command(flatten)]
    pub db: HistoryDbArgs,
    /// Only runs (and fixes) of this long ago and later, e.g. 90d.
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,
    #[arg(long, value_enum, default_value = "human")]
    pub format: HistoryFormat,
    /// Policies whose waivers expiring within 30 days are listed (default: none).
    #[arg(long = "policy", value_name = "PATH")]
    pub policies: Vec<PathBuf>,
    /// The time of the report, RFC 3339 (default: the system clock).
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    /// Zone the report shows times in (and of the policies' dates).
    #[arg(
        long = "api-time-zone",
        value_name = "TZ",
        default_value = crate::time::DEFAULT_API_ZONE,
        allow_hyphen_values = true
    )]
    pub api_time_zone: String,
    /// Set a param of the --policy files (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum HistoryAction {
    /// Delete runs older than a duration (each account's open streaks are kept).
    Prune(PruneArgs),
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Compliance history: a SQLite file path, or a postgres:// URL.
    #[arg(
        long = "history",
        value_name = "DB",
        env = "ECMGUARD_HISTORY",
        hide_env_values = true
    )]
    pub history: Option<String>,
    /// Delete runs recorded more than this long ago, e.g. 400d or 1y.
    #[arg(long = "older-than", value_name = "DURATION")]
    pub older_than: String,
    /// The time to count back from, RFC 3339 (default: the system clock).
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    /// Zone of calendar units (mo, y).
    #[arg(
        long = "api-time-zone",
        value_name = "TZ",
        default_value = crate::time::DEFAULT_API_ZONE,
        allow_hyphen_values = true
    )]
    pub api_time_zone: String,
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    #[command(flatten)]
    pub live: LiveArgs,
    /// Fetch only this image (repeatable; shorthand for --filter image-id=ID).
    #[arg(long = "image", value_name = "ID")]
    pub images: Vec<String>,
    /// Where to write the snapshot (`-` for stdout).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: String,
    /// Zone of the API's zone-less timestamps (recorded for information).
    #[arg(
        long = "api-time-zone",
        value_name = "TZ",
        default_value = crate::time::DEFAULT_API_ZONE,
        allow_hyphen_values = true
    )]
    pub api_time_zone: String,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Test files or directories (default: the --policy paths).
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    Human,
    Json,
    Markdown,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[arg(long, value_enum, default_value = "human")]
    pub format: RulesFormat,
}

impl ValueEnum for Format {
    fn value_variants<'a>() -> &'a [Self] {
        &Format::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.name()))
    }
}

impl ValueEnum for FailOn {
    fn value_variants<'a>() -> &'a [Self] {
        &[FailOn::Error, FailOn::Warning, FailOn::Info, FailOn::Never]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.as_str()))
    }
}

/// `NAME=VALUE` from `--param` (and `FORMAT=FILE` from `--report`).
pub fn split_assignment(text: &str) -> Option<(&str, &str)> {
    let (name, value) = text.split_once('=')?;
    (!name.trim().is_empty()).then_some((name.trim(), value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_flag_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn fetch_has_no_snapshot_flag_and_check_refuses_live_flags_with_a_snapshot() {
        assert!(Cli::try_parse_from(["ecmguard", "fetch", "-o", "x", "--snapshot", "y"]).is_err());
        for live_flag in [
            ["--endpoint", "https://x"],
            ["--filter", "image-type=PRIVATE_IMAGE"],
            ["--profile", "p"],
            ["--rate", "5"],
            ["--timeout", "5s"],
            ["--region", "ap-guangzhou"],
        ] {
            let mut args = vec!["ecmguard", "check", "--snapshot", "s.json"];
            args.extend(live_flag);
            let err = Cli::try_parse_from(&args).expect_err("conflict");
            assert_eq!(
                err.kind(),
                clap::error::ErrorKind::ArgumentConflict,
                "{args:?}"
            );
        }
        // Defaults do not conflict.
        assert!(Cli::try_parse_from(["ecmguard", "check", "--snapshot", "s.json"]).is_ok());
    }
}
