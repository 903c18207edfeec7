//! Command-line flags (clap derive), parsed into plain data. Structure is
//! clap's job (subcommands, enums, numbers, flags that cannot be combined);
//! values that need a diagnostic of their own are turned into validated
//! settings once, in `settings`. Nothing else reads `std::env::args`.
//!
//! Flags the project config file (`ecmguard.yaml`) can set are `Option`s
//! without a clap default, so "not given" differs from "the default":
//! `settings` takes the flag, else the config file, else the library's
//! constant, and `--help` shows that same constant ([`default_help`]).

use std::path::PathBuf;

use clap::builder::PossibleValue;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::eval::FailOn;
use crate::policy::DEFAULT_POLICY_DIR;
use crate::report::Format;
use crate::source::live;
use crate::time::DEFAULT_API_ZONE;

/// A flag's help with its built-in default, written as clap writes one, for
/// flags whose default is applied in `settings` (after the config file).
pub fn default_help(help: &str, default: impl std::fmt::Display) -> String {
    format!("{help} [default: {default}]")
}

#[derive(Debug, Parser)]
#[command(
    name = "ecmguard",
    version = crate::VERSION,
    about = "Declarative policy gate for Tencent Cloud ECM images",
    long_about = "Checks the complete DescribeImage result set (live or from a snapshot) against YAML policies.\n\nFlag defaults a team repeats can live in a project config file: ./ecmguard.yaml, or --config FILE; a flag on the command line replaces its value.\n\nExit codes: 0 pass, 1 violations at or above --fail-on, 2 invalid input, 3 data incomplete; 130 interrupted (Ctrl-C; 143 for SIGTERM).",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Colour: auto (on a terminal, unless NO_COLOR is set; CLICOLOR_FORCE forces it), always, never.
    #[arg(
        long,
        value_enum,
        global = true,
        default_value = "auto",
        value_name = "WHEN"
    )]
    pub color: ColorChoice,
}

/// `--color`: whether output is coloured. The binary decides `auto` per
/// stream (stdout and stderr separately).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal; NO_COLOR (non-empty) turns it off, else CLICOLOR_FORCE (not 0) on.
    #[default]
    Auto,
    /// Always, into a pipe or a file too.
    Always,
    /// Never.
    Never,
}

impl ColorChoice {
    /// Whether to colour a stream: `always` and `never` as said; `auto`:
    /// not when `NO_COLOR` is set (non-empty), else when `CLICOLOR_FORCE`
    /// is set (non-empty, not `0`), else when the stream is a terminal.
    /// `env` reads a variable (the process environment, or a test's).
    pub fn colors(self, is_terminal: bool, env: impl Fn(&str) -> Option<String>) -> bool {
        let set = |name: &str| env(name).filter(|v| !v.is_empty());
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto if set("NO_COLOR").is_some() => false,
            ColorChoice::Auto if set("CLICOLOR_FORCE").is_some_and(|v| v != "0") => true,
            ColorChoice::Auto => is_terminal,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load policies, get images (API or snapshot), evaluate, report, exit by verdict.
    Check(Box<CheckArgs>),
    /// Fetch the full result set and write a snapshot file.
    Fetch(FetchArgs),
    /// Load and type-check policies only; every problem at once.
    Validate(ValidateArgs),
    /// Run policy unit tests (*.test.yaml).
    Test(TestArgs),
    /// List the loaded rules with their metadata.
    Rules(RulesArgs),
    /// What the rules' declared fixes would do to the failing images; saved as a plan file
    /// for `ecmguard apply`. Changes nothing.
    Plan(Box<PlanArgs>),
    /// Runs, trends and time to fix from a compliance history (check --history).
    History(HistoryArgs),
    /// Perform exactly the actions of a saved plan, each re-checked just before it is done.
    Apply(ApplyArgs),
    /// What a diagnostic code means, with an example and the fix; `explain fields` and
    /// `explain operators` list what a policy can test.
    Explain(ExplainArgs),
    /// Write a starter policy pack with its tests, and a commented ecmguard.yaml.
    Init(InitArgs),
    /// Print shell completions: bash, zsh, fish, powershell or elvish.
    Completions(CompletionsArgs),
    /// Print the man page (roff) of ecmguard, or of one of its commands.
    Man(ManArgs),
}

#[derive(Debug, Args)]
#[command(
    after_long_help = "Examples:\n  ecmguard explain gate-failed\n  ecmguard explain ecmguard::unknown-field\n  ecmguard explain fields\n  ecmguard explain operators"
)]
pub struct ExplainArgs {
    /// A diagnostic code (`gate-failed` or `ecmguard::gate-failed`), `fields` (the field paths
    /// and their types) or `operators` (the condition operators); none: every code.
    #[arg(value_name = "CODE")]
    pub topic: Option<String>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where the policy pack goes; ecmguard.yaml goes in the current directory and names it.
    #[arg(value_name = "DIR", default_value = DEFAULT_POLICY_DIR)]
    pub dir: PathBuf,
    /// Replace files that already exist.
    #[arg(long)]
    pub force: bool,
    /// Write no ecmguard.yaml (for a second pack in a project that has one).
    #[arg(long = "no-config")]
    pub no_config: bool,
}

#[derive(Debug, Args)]
#[command(
    after_long_help = "Install, for example:\n  ecmguard completions bash > ~/.local/share/bash-completion/completions/ecmguard\n  ecmguard completions zsh > \"${fpath[1]}/_ecmguard\"\n  ecmguard completions fish > ~/.config/fish/completions/ecmguard.fish\n  ecmguard completions powershell >> $PROFILE"
)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
#[command(
    after_long_help = "Install, for example:\n  ecmguard man > ~/.local/share/man/man1/ecmguard.1\n  ecmguard man --out-dir ~/.local/share/man/man1   (every page)"
)]
pub struct ManArgs {
    /// A command (`check`, `fetch`, …): its page, ecmguard-COMMAND(1); none: ecmguard(1).
    #[arg(value_name = "COMMAND", conflicts_with = "out_dir")]
    pub command: Option<String>,
    /// Write every page (ecmguard.1 and ecmguard-COMMAND.1) into this directory instead.
    #[arg(long = "out-dir", value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// Flags every command that loads policies takes.
#[derive(Debug, Args, Clone)]
pub struct PolicyArgs {
    #[arg(
        long = "policy",
        value_name = "PATH",
        help = default_help(
            "A policy file, or a directory whose *.yaml/*.yml files are loaded recursively (repeatable)",
            DEFAULT_POLICY_DIR
        )
    )]
    pub policies: Vec<PathBuf>,
    /// The time of the check, RFC 3339 with an offset (default: the system clock, read once).
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    #[arg(
        long = "api-time-zone",
        value_name = "TZ",
        allow_hyphen_values = true,
        help = default_help(
            "Zone of the API's zone-less timestamps: an offset like +08:00 or an IANA name",
            DEFAULT_API_ZONE
        )
    )]
    pub api_time_zone: Option<String>,
    /// Set a param (repeatable); VALUE is text: literal for a string param, else parsed as its type.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// A YAML file of param values, `name: value` (repeatable; later files override earlier ones;
    /// ECMGUARD_PARAM_<name> and --param override them).
    #[arg(long = "param-file", value_name = "FILE")]
    pub param_files: Vec<PathBuf>,
    /// Project config file of flag defaults (default: ./ecmguard.yaml when present; `none`: read none).
    #[arg(long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
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
    #[arg(
        long,
        value_name = "URL",
        help = default_help("API endpoint URL", live::DEFAULT_ENDPOINT)
    )]
    pub endpoint: Option<String>,
    /// Region header (optional; ECM ignores it).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// API filter NAME=V1,V2 (repeatable): image-id, image-type, instance-type, image-name, image-os.
    #[arg(long = "filter", value_name = "NAME=VALUES")]
    pub filters: Vec<String>,
    #[arg(
        long,
        value_name = "N",
        help = default_help("Requests per second", live::DEFAULT_RATE)
    )]
    pub rate: Option<f64>,
    #[arg(
        long,
        value_name = "DURATION",
        help = default_help("Per-request timeout, e.g. 30s, 2min", live::DEFAULT_TIMEOUT_TEXT)
    )]
    pub timeout: Option<String>,
    #[arg(
        long,
        value_name = "DURATION",
        help = default_help(
            "Time limit of the whole fetch, retries and restarts included",
            live::DEFAULT_DEADLINE_TEXT
        )
    )]
    pub deadline: Option<String>,
    /// Credentials profile (tccli ~/.tccli/NAME.credential, else [NAME] of the SDK credentials file).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

/// Which images of the account a check (or a plan made from one) looks at, and whether it
/// lists what uses them: shared by `check`, `plan` and `apply` without a plan.
#[derive(Debug, Args, Clone)]
pub struct SelectionArgs {
    /// Only this image (repeatable; shorthand for --filter image-id=ID).
    #[arg(long = "image", value_name = "ID")]
    pub images: Vec<String>,
    /// The image this module deploys, its DefaultImage (repeatable; with --image: both).
    #[arg(long = "module", value_name = "MODULE_ID", conflicts_with = "filters")]
    pub modules: Vec<String>,
    /// List usage (DescribeInstances, DescribeModule) even when no rule reads Usage.* (a plan
    /// with a delete always lists it); with --snapshot, require the snapshot's usage.
    #[arg(long)]
    pub usage: bool,
}

/// A saved result set in place of the live API, for `check` and `plan`.
#[derive(Debug, Clone, Args)]
pub struct SnapshotArgs {
    /// Read the images from a saved result set (`-` for stdin); no network call is made.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["endpoint", "region", "filters", "rate", "timeout", "deadline", "profile"]
    )]
    pub snapshot: Option<String>,
    /// Judge a --snapshot that states no total (a bare JSON array of images) as the whole result set, on your word; every report says so.
    #[arg(long = "assume-complete", requires = "snapshot")]
    pub assume_complete: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub source: SnapshotArgs,
    #[command(flatten)]
    pub selection: SelectionArgs,
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
    #[arg(
        long = "fail-on",
        value_enum,
        help = default_help("Lowest severity that fails the gate", FailOn::default().as_str())
    )]
    pub fail_on: Option<FailOn>,
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
    // How many findings per rule the reports people read list (human,
    // github, markdown); the data formats always list them all.
    #[arg(
        long = "max-findings",
        value_name = "N",
        allow_hyphen_values = true,
        help = default_help(
            "Images listed per rule in the human, github and markdown reports (0: counts only; json and csv list all)",
            crate::report::DEFAULT_MAX_FINDINGS
        )
    )]
    pub max_findings: Option<String>,
    /// Human report on stdout: the rules table and the verdict only; no fetch progress on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// `ecmguard plan`: check's inputs, and where the plan goes.
#[derive(Debug, Args)]
#[command(
    after_long_help = "Runs the check exactly as `ecmguard check` does (policies, snapshot or live API, params, waivers, baseline, history and grace), and plans one action per violation of a rule with a `fix`. Never planned: indeterminate, waived, baselined or grace findings; a delete of an image not proven unused (usage is always listed for a delete); a change to a public image; a name over 20 characters or a description over 60; a name another image has or two actions would take. Nothing is changed by this command. A plan made from --snapshot can be applied only when the snapshot records its endpoint (as `ecmguard fetch --usage` writes it).\n\nExit codes: 0 the plan was made (with or without actions), 2 invalid invocation or policy, or more actions than --max-actions (nothing saved), 3 data incomplete.\n\nExamples:\n  ecmguard plan -o plan.json\n  ecmguard plan --snapshot images.json --format json\n  ecmguard apply plan.json"
)]
pub struct PlanArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub source: SnapshotArgs,
    #[command(flatten)]
    pub selection: SelectionArgs,
    #[command(flatten)]
    pub live: LiveArgs,
    /// Mark findings recorded in this baseline as `baselined` (never planned).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Read first-seen times and grace from this compliance history (nothing is recorded).
    #[command(flatten)]
    pub history: HistoryDbArgs,
    /// Save the plan to this file (written atomically), for `ecmguard apply PLAN`.
    #[arg(long, short = 'o', value_name = "PLAN")]
    pub output: Option<PathBuf>,
    /// The most actions a plan may have; a plan that needs more is refused (exit 2) and nothing is saved.
    #[arg(long = "max-actions", value_name = "N", default_value_t = crate::plan::DEFAULT_MAX_ACTIONS)]
    pub max_actions: usize,
    /// How long the saved plan can be applied, by the system clock (e.g. 24h, 3d).
    #[arg(long = "plan-ttl", value_name = "DURATION", default_value = crate::plan::DEFAULT_TTL_TEXT)]
    pub plan_ttl: String,
    /// What is printed: the plan for people, or the plan file itself.
    #[arg(long, value_enum, default_value = "human")]
    pub format: PlanFormat,
}

/// `plan --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Human,
    Json,
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
    #[arg(
        long = "api-time-zone",
        value_name = "TZ",
        allow_hyphen_values = true,
        help = default_help(
            "Zone the report shows times in (and of the policies' dates)",
            crate::time::DEFAULT_API_ZONE
        )
    )]
    pub api_time_zone: Option<String>,
    /// Set a param of the --policy files (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Project config file (default: ./ecmguard.yaml when present; `none`: read none): its
    /// `history`, `account`, `api_time_zone`, `policy` and `param_files` are the defaults.
    #[arg(long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
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
    #[arg(
        long = "api-time-zone",
        value_name = "TZ",
        allow_hyphen_values = true,
        help = default_help("Zone of calendar units (mo, y)", crate::time::DEFAULT_API_ZONE)
    )]
    pub api_time_zone: Option<String>,
    /// Project config file (default: ./ecmguard.yaml when present; `none`: read none): its
    /// `history` and `api_time_zone` are the defaults.
    #[arg(long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `ecmguard apply PLAN`, or `ecmguard apply` (plan now, show, ask).
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The plan file `ecmguard plan -o PLAN` saved. None: plan now as `ecmguard plan` does,
    /// show the plan, and ask before doing it (`--auto-approve`: do not ask).
    #[arg(value_name = "PLAN")]
    pub plan: Option<PathBuf>,
    /// Without PLAN: the policies, params and --now of the check the plan is made from.
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub selection: SelectionArgs,
    #[command(flatten)]
    pub live: LiveArgs,
    /// Without PLAN: mark findings recorded in this baseline as `baselined` (never planned).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record each action in this compliance history (without PLAN: also read first-seen
    /// times and grace from it, as `plan` does).
    #[command(flatten)]
    pub history: HistoryDbArgs,
    /// Write the result (ecmguard/apply/v1 JSON: each action's outcome, reason, RequestId
    /// and time) to this file.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Without PLAN: the most actions the plan may have (default 20); more is refused (exit 2).
    #[arg(long = "max-actions", value_name = "N")]
    pub max_actions: Option<usize>,
    /// Without PLAN: do not ask before performing the plan (needed off a terminal).
    #[arg(long = "auto-approve")]
    pub auto_approve: bool,
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    #[command(flatten)]
    pub live: LiveArgs,
    /// Fetch only this image (repeatable; shorthand for --filter image-id=ID).
    #[arg(long = "image", value_name = "ID")]
    pub images: Vec<String>,
    /// Save usage in the snapshot (DescribeInstances, DescribeModule), as a policy that reads
    /// Usage.* needs; done without the flag when the --policy files read it.
    #[arg(long)]
    pub usage: bool,
    /// The policies the snapshot is for: when one reads Usage.*, usage is saved too (default:
    /// the config file's `policy`, else ./policies when it exists).
    #[arg(long = "policy", value_name = "PATH")]
    pub policies: Vec<PathBuf>,
    /// Set a param of the --policy files (repeatable), as `check` takes it.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Where to write the snapshot (`-` for stdout).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: String,
    #[arg(
        long = "api-time-zone",
        value_name = "TZ",
        allow_hyphen_values = true,
        help = default_help(
            "Zone of the API's zone-less timestamps (recorded for information)",
            DEFAULT_API_ZONE
        )
    )]
    pub api_time_zone: Option<String>,
    /// Project config file of flag defaults (default: ./ecmguard.yaml when present; `none`: read none).
    #[arg(long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
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
    fn colour_follows_the_flag_then_no_color_then_clicolor_force_then_the_terminal() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let auto = ColorChoice::Auto;
        assert!(auto.colors(true, env(&[])));
        assert!(!auto.colors(false, env(&[])));
        assert!(!auto.colors(true, env(&[("NO_COLOR", "1")])));
        // An empty NO_COLOR is not set.
        assert!(auto.colors(true, env(&[("NO_COLOR", "")])));
        assert!(auto.colors(false, env(&[("CLICOLOR_FORCE", "1")])));
        assert!(!auto.colors(false, env(&[("CLICOLOR_FORCE", "0")])));
        assert!(!auto.colors(false, env(&[("CLICOLOR_FORCE", "")])));
        assert!(!auto.colors(true, env(&[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")])));
        assert!(ColorChoice::Always.colors(false, env(&[("NO_COLOR", "1")])));
        assert!(!ColorChoice::Never.colors(true, env(&[("CLICOLOR_FORCE", "1")])));
        // Global: before or after the subcommand.
        for args in [
            ["ecmguard", "--color", "never", "validate"],
            ["ecmguard", "validate", "--color", "never"],
        ] {
            let cli = Cli::try_parse_from(args).expect("parses");
            assert_eq!(cli.color, ColorChoice::Never);
        }
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
