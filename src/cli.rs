//! Command-line flags (clap derive), parsed into plain data, then checked
//! once into validated settings. Nothing else reads `std::env::args`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    Validate(PolicyArgs),
    /// Run policy unit tests (*.test.yaml).
    Test(TestArgs),
    /// List the loaded rules with their metadata.
    Rules(RulesArgs),
}

/// Flags every command that loads policies takes.
#[derive(Debug, Args, Clone)]
pub struct PolicyArgs {
    /// A policy file, or a directory whose *.yaml/*.yml files are loaded recursively (repeatable).
    #[arg(long = "policy", value_name = "PATH", default_value = "policies")]
    pub policies: Vec<PathBuf>,
    /// The time of the check, RFC 3339 with an offset (default: the system clock, read once).
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    /// Zone of the API's zone-less timestamps: an offset like +08:00 or an IANA name.
    #[arg(
        long = "api-time-zone",
        value_name = "TZ",
        default_value = "+08:00",
        allow_hyphen_values = true
    )]
    pub api_time_zone: String,
    /// Set a param (repeatable); VALUE is read as a YAML scalar or flow list.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
}

/// Where images come from.
#[derive(Debug, Args, Clone)]
pub struct SourceArgs {
    /// Evaluate a saved result set (`-` for stdin); no network call is made.
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<String>,
    /// API endpoint URL.
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://ecm.tencentcloudapi.com"
    )]
    pub endpoint: String,
    /// Region header (optional; ECM ignores it).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// API filter NAME=V1,V2 (repeatable): image-id, image-type, instance-type, image-name, image-os.
    #[arg(long = "filter", value_name = "NAME=VALUES")]
    pub filters: Vec<String>,
    /// Check only this image (repeatable; shorthand for --filter image-id=ID).
    #[arg(long = "image", value_name = "ID")]
    pub images: Vec<String>,
    /// Requests per second.
    #[arg(long, value_name = "N", default_value = "20")]
    pub rate: f64,
    /// Per-request timeout, e.g. 30s, 2min.
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    pub timeout: String,
    /// Credentials profile (tccli ~/.tccli/NAME.credential, else [NAME] of the SDK credentials file).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Sarif,
    Junit,
    Markdown,
    Html,
    Csv,
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOnArg {
    Error,
    Warning,
    Info,
    Never,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub source: SourceArgs,
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
    pub fail_on: FailOnArg,
    /// Mark findings recorded in this baseline as `baselined`.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record the current findings as a baseline.
    #[arg(long = "write-baseline", value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Where to write the snapshot (`-` for stdout).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: String,
    /// Zone of the API's zone-less timestamps (recorded for information).
    #[arg(
        long = "api-time-zone",
        value_name = "TZ",
        default_value = "+08:00",
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

/// `NAME=VALUE` from `--param`.
pub fn split_assignment(text: &str) -> Option<(&str, &str)> {
    let (name, value) = text.split_once('=')?;
    (!name.trim().is_empty()).then_some((name.trim(), value))
}
