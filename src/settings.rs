//! Validated settings, one type per command, built once from the parsed
//! flags (ripgrep's low-level args → high-level args): every value parsed and
//! checked, every problem reported together as a diagnostic, before any file
//! is read or any request is made. Commands read only these.

use std::path::PathBuf;

use jiff::Timestamp;

use crate::cli::{
    self, CheckArgs, FetchArgs, HistoryArgs, HistoryDbArgs, HistoryFormat, LiveArgs, PolicyArgs,
    PruneArgs, RulesArgs, RulesFormat, TestArgs,
};
use crate::diag::{Code, Diag, did_you_mean};
use crate::eval::FailOn;
use crate::history::Target;
use crate::policy::CompileOptions;
use crate::policy::duration::Duration;
use crate::report::Format;
use crate::source::live::{self, Credentials, LiveConfig};
use crate::time::{ApiZone, parse_now};

/// The policy directory read when no `--policy` is given.
pub const DEFAULT_POLICY_DIR: &str = "policies";

/// What every command that loads policies needs.
#[derive(Debug, Clone)]
pub struct PolicySettings {
    /// `--policy` paths, or [`DEFAULT_POLICY_DIR`].
    pub paths: Vec<PathBuf>,
    /// Whether `--policy` was given (`test FILE` otherwise uses the policy beside FILE).
    pub paths_given: bool,
    pub compile: CompileOptions,
    /// `--now` when given (policy tests use it for cases without a `now`).
    pub now_given: Option<Timestamp>,
}

/// Where the images come from.
#[derive(Debug, Clone)]
pub enum SourceSettings {
    /// A saved result set: a path, or `-` for stdin.
    Snapshot(String),
    /// The live API.
    Live(Box<LiveSettings>),
}

/// A live fetch, checked except for the credentials, which are resolved only
/// when the fetch starts (so an invalid invocation is exit 2 whether or not
/// credentials are configured).
#[derive(Debug, Clone)]
pub struct LiveSettings {
    /// Everything but `credentials`, validated.
    pub config: LiveConfig,
    pub profile: Option<String>,
    /// Printed when the fetch starts (a `--rate` above the API's limit).
    pub warnings: Vec<Diag>,
}

/// One report to write: a format, and a file (`None`: stdout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportTarget {
    pub format: Format,
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct CheckSettings {
    pub policy: PolicySettings,
    pub source: SourceSettings,
    /// `--image`: the images a pre-deployment check is about.
    pub images: Vec<String>,
    /// The `--format`/`--output` report first, then every `--report`.
    pub reports: Vec<ReportTarget>,
    pub fail_on: FailOn,
    pub baseline: Option<PathBuf>,
    pub write_baseline: Option<PathBuf>,
    /// `--allow-empty`: a check of zero images may pass.
    pub allow_empty: bool,
    /// `--history DB`: record the run, with first-seen times and grace.
    pub history: Option<HistorySettings>,
}

/// Where a check records its run, and under which account.
#[derive(Debug, Clone)]
pub struct HistorySettings {
    pub target: Target,
    /// `--account`, else the `--profile` name, else `default`.
    pub account: String,
}

/// `ecmguard history`.
#[derive(Debug, Clone)]
pub struct HistoryCommandSettings {
    pub target: Target,
    /// One account, or all.
    pub account: Option<String>,
    pub since: Option<Timestamp>,
    pub now: Timestamp,
    pub zone: ApiZone,
    pub format: HistoryFormat,
    /// `--policy`: whose waivers are listed when due; none when not given.
    pub policy: Option<PolicySettings>,
}

/// `ecmguard history prune`.
#[derive(Debug, Clone)]
pub struct PruneSettings {
    pub target: Target,
    /// Runs before this instant are deleted.
    pub before: Timestamp,
    pub older_than: String,
}

#[derive(Debug, Clone)]
pub struct FetchSettings {
    pub live: LiveSettings,
    /// A path, or `-` for stdout.
    pub output: String,
    pub zone: ApiZone,
}

#[derive(Debug, Clone)]
pub struct TestSettings {
    pub policy: PolicySettings,
    /// Test files or directories; empty: the policy paths.
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct RulesSettings {
    pub policy: PolicySettings,
    pub format: RulesFormat,
}

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

impl PolicySettings {
    pub fn from_args(args: &PolicyArgs, clock: fn() -> Timestamp) -> Result<Self, Vec<Diag>> {
        let mut problems = Problems(Vec::new());
        match policy_settings(args, clock, &mut problems) {
            Some(settings) if problems.0.is_empty() => Ok(settings),
            _ => Err(problems.0),
        }
    }
}

fn policy_settings(
    args: &PolicyArgs,
    clock: fn() -> Timestamp,
    problems: &mut Problems,
) -> Option<PolicySettings> {
    let now_given = args.now.as_ref().map(|text| {
        parse_now(text)
            .map_err(|m| {
                problems.flag(
                    format!("--now: {m}"),
                    "for example --now 2026-01-01T00:00:00+08:00",
                )
            })
            .ok()
    });
    let now = match now_given {
        Some(given) => given,
        None => Some(clock()),
    };
    let zone = api_zone(&args.api_time_zone, problems);
    let mut params = Vec::with_capacity(args.params.len());
    for text in &args.params {
        match cli::split_assignment(text) {
            Some((name, value)) => params.push((name.to_owned(), value.to_owned())),
            None => problems.flag(
                format!("--param `{text}` is not NAME=VALUE"),
                "for example --param max_private_age=90d",
            ),
        }
    }
    let paths_given = !args.policies.is_empty();
    Some(PolicySettings {
        paths: if paths_given {
            args.policies.clone()
        } else {
            vec![PathBuf::from(DEFAULT_POLICY_DIR)]
        },
        paths_given,
        compile: CompileOptions {
            now: now?,
            zone: zone?,
            params,
        },
        now_given: now_given.flatten(),
    })
}

fn api_zone(text: &str, problems: &mut Problems) -> Option<ApiZone> {
    ApiZone::parse(text)
        .map_err(|m| {
            problems.flag(
                format!("--api-time-zone: {m}"),
                "an offset such as +08:00, UTC, or an IANA name such as Asia/Shanghai",
            )
        })
        .ok()
}

impl CheckSettings {
    pub fn from_args(args: &CheckArgs, clock: fn() -> Timestamp) -> Result<Self, Vec<Diag>> {
        let mut problems = Problems(Vec::new());
        let policy = policy_settings(&args.policy, clock, &mut problems);
        let mut reports = vec![ReportTarget {
            format: args.format,
            path: args.output.clone(),
        }];
        for text in &args.reports {
            match parse_report_target(text) {
                Ok(target) => reports.push(target),
                Err(diag) => problems.0.push(diag),
            }
        }
        let source = match &args.snapshot {
            Some(name) => Some(SourceSettings::Snapshot(name.clone())),
            None => live_settings(&args.live, &args.images, &mut problems)
                .map(|live| SourceSettings::Live(Box::new(live))),
        };
        let profile = match &source {
            Some(SourceSettings::Live(live)) => live.profile.as_deref(),
            _ => None,
        };
        let history = check_history(&args.history, profile, &mut problems);
        let (policy, source) = match (policy, source) {
            (Some(policy), Some(source)) => (policy, source),
            _ => return Err(problems.0),
        };
        problems.finish(|| CheckSettings {
            policy,
            source,
            images: args.images.clone(),
            reports,
            fail_on: args.fail_on,
            baseline: args.baseline.clone(),
            write_baseline: args.write_baseline.clone(),
            allow_empty: args.allow_empty,
            history,
        })
    }
}

/// `--history` and `--account` of a check.
fn check_history(
    args: &HistoryDbArgs,
    profile: Option<&str>,
    problems: &mut Problems,
) -> Option<HistorySettings> {
    let account = args.account.as_deref().map(|a| account(a, problems));
    let Some(text) = &args.history else {
        if args.account.is_some() {
            problems.flag(
                "--account names the account of a history, but no --history is given",
                "add --history FILE (a SQLite file) or --history postgres://…",
            );
        }
        return None;
    };
    let target = history_target(text, problems)?;
    let account = match account {
        Some(account) => account?,
        None => profile.unwrap_or("default").to_owned(),
    };
    Some(HistorySettings { target, account })
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

/// An account label: printable text, not empty, at most 128 characters.
fn account(text: &str, problems: &mut Problems) -> Option<String> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 128 || trimmed.chars().any(char::is_control)
    {
        problems.flag(
            "--account must be 1 to 128 printable characters",
            "for example --account prod-guangzhou",
        );
        return None;
    }
    Some(trimmed.to_owned())
}

fn now_flag(
    text: Option<&str>,
    clock: fn() -> Timestamp,
    problems: &mut Problems,
) -> Option<Timestamp> {
    match text {
        Some(text) => parse_now(text)
            .map_err(|m| {
                problems.flag(
                    format!("--now: {m}"),
                    "for example --now 2026-01-01T00:00:00+08:00",
                )
            })
            .ok(),
        None => Some(clock()),
    }
}

/// A duration flag counted back from `now` (`--since`, `--older-than`).
fn back_from(
    flag: &str,
    text: &str,
    now: Timestamp,
    zone: &ApiZone,
    problems: &mut Problems,
) -> Option<Timestamp> {
    match Duration::parse(text) {
        Ok(duration) => duration.before(now, zone).or_else(|| {
            problems.flag(
                format!("{flag} `{text}` reaches outside the supported calendar"),
                "for example 90d or 1y",
            );
            None
        }),
        Err(e) => {
            problems.flag(format!("{flag}: {}", e.message), e.help);
            None
        }
    }
}

impl HistoryCommandSettings {
    pub fn from_args(args: &HistoryArgs, clock: fn() -> Timestamp) -> Result<Self, Vec<Diag>> {
        let mut problems = Problems(Vec::new());
        let zone = api_zone(&args.api_time_zone, &mut problems);
        let now = now_flag(args.now.as_deref(), clock, &mut problems);
        let target = match &args.db.history {
            Some(text) => history_target(text, &mut problems),
            None => {
                problems.flag(
                    "ecmguard history needs --history DB",
                    "the SQLite file or postgres:// URL that `check --history` records into (or ECMGUARD_HISTORY)",
                );
                None
            }
        };
        let account = args
            .db
            .account
            .as_deref()
            .map(|a| account(a, &mut problems));
        let since = match (&args.since, now, &zone) {
            (Some(text), Some(now), Some(zone)) => {
                back_from("--since", text, now, zone, &mut problems)
            }
            _ => None,
        };
        let policy = if args.policies.is_empty() {
            None
        } else {
            let policy_args = PolicyArgs {
                policies: args.policies.clone(),
                now: args.now.clone(),
                api_time_zone: args.api_time_zone.clone(),
                params: args.params.clone(),
            };
            policy_settings(&policy_args, clock, &mut problems)
        };
        match (target, now, zone) {
            (Some(target), Some(now), Some(zone)) if problems.0.is_empty() => {
                let account = match account {
                    Some(Some(account)) => Some(account),
                    _ => None,
                };
                Ok(HistoryCommandSettings {
                    target,
                    account,
                    since,
                    now,
                    zone,
                    format: args.format,
                    policy,
                })
            }
            _ => Err(problems.0),
        }
    }
}

impl PruneSettings {
    pub fn from_args(args: &PruneArgs, clock: fn() -> Timestamp) -> Result<Self, Vec<Diag>> {
        let mut problems = Problems(Vec::new());
        let zone = api_zone(&args.api_time_zone, &mut problems);
        let now = now_flag(args.now.as_deref(), clock, &mut problems);
        let target = match &args.history {
            Some(text) => history_target(text, &mut problems),
            None => {
                problems.flag(
                    "ecmguard history prune needs --history DB",
                    "the SQLite file or postgres:// URL to prune (or ECMGUARD_HISTORY)",
                );
                None
            }
        };
        let before = match (now, &zone) {
            (Some(now), Some(zone)) => {
                back_from("--older-than", &args.older_than, now, zone, &mut problems)
            }
            _ => None,
        };
        match (target, before) {
            (Some(target), Some(before)) if problems.0.is_empty() => Ok(PruneSettings {
                target,
                before,
                older_than: args.older_than.clone(),
            }),
            _ => Err(problems.0),
        }
    }
}

impl FetchSettings {
    pub fn from_args(args: &FetchArgs) -> Result<Self, Vec<Diag>> {
        let mut problems = Problems(Vec::new());
        let zone = api_zone(&args.api_time_zone, &mut problems);
        let live = live_settings(&args.live, &args.images, &mut problems);
        match (zone, live) {
            (Some(zone), Some(live)) => problems.finish(|| FetchSettings {
                live,
                output: args.output.clone(),
                zone,
            }),
            _ => Err(problems.0),
        }
    }
}

impl TestSettings {
    pub fn from_args(args: &TestArgs, clock: fn() -> Timestamp) -> Result<Self, Vec<Diag>> {
        Ok(TestSettings {
            policy: PolicySettings::from_args(&args.policy, clock)?,
            paths: args.paths.clone(),
        })
    }
}

impl RulesSettings {
    pub fn from_args(args: &RulesArgs, clock: fn() -> Timestamp) -> Result<Self, Vec<Diag>> {
        Ok(RulesSettings {
            policy: PolicySettings::from_args(&args.policy, clock)?,
            format: args.format,
        })
    }
}

/// `--filter`, `--image`, `--timeout`, `--rate`, `--endpoint`, `--region`
/// into a validated live configuration (credentials left empty). Filters
/// first: the API's limits are checked before anything else.
fn live_settings(
    args: &LiveArgs,
    images: &[String],
    problems: &mut Problems,
) -> Option<LiveSettings> {
    let mut filters = Vec::with_capacity(args.filters.len() + 1);
    let mut ok = true;
    for text in &args.filters {
        match live::parse_filter_arg(text) {
            Ok(filter) => filters.push(filter),
            Err(e) => {
                problems.0.push(e.diag());
                ok = false;
            }
        }
    }
    if !images.is_empty() {
        filters.push(live::image_id_filter(images.iter().cloned()));
    }
    let timeout = positive_time(
        "--timeout",
        &args.timeout,
        "30s or --timeout 2min",
        problems,
    );
    let deadline = positive_time(
        "--deadline",
        &args.deadline,
        "15min or --deadline 1h",
        problems,
    );
    let mut config = LiveConfig::new(Credentials::new("", "", None));
    config.endpoint = args.endpoint.clone();
    config.region = args.region.clone();
    config.filters = filters;
    config.rate = args.rate;
    if let Some(timeout) = timeout {
        config.timeout = timeout;
    }
    if let Some(deadline) = deadline {
        config.deadline = deadline;
    }
    let mut warnings = Vec::new();
    if args.rate > live::DEFAULT_RATE {
        warnings.push(
            Diag::warning(
                Code::RateAboveLimit,
                format!(
                    "--rate {} is above the {} requests per second DescribeImage allows",
                    args.rate,
                    live::DEFAULT_RATE
                ),
            )
            .with_help("the API will throttle, and the fetch will slow itself down to what it accepts; leave --rate at 20 or lower"),
        );
    }
    if ok && let Err(e) = config.validate() {
        problems.0.push(e.diag());
        ok = false;
    }
    (ok && timeout.is_some() && deadline.is_some()).then(|| LiveSettings {
        config,
        profile: args.profile.clone(),
        warnings,
    })
}

/// A positive time without calendar units (`30s`, `2min`, `1h`).
fn positive_time(
    flag: &str,
    text: &str,
    example: &str,
    problems: &mut Problems,
) -> Option<std::time::Duration> {
    match Duration::parse(text) {
        Ok(d) if d.months == 0 && d.seconds > 0 => {
            Some(std::time::Duration::from_secs(d.seconds.unsigned_abs()))
        }
        Ok(_) => {
            problems.flag(
                format!("{flag} `{text}` is not a positive time"),
                format!("for example {flag} {example} (months and years are not timeouts)"),
            );
            None
        }
        Err(e) => {
            problems.flag(format!("{flag}: {}", e.message), e.help);
            None
        }
    }
}

/// `--report FORMAT=FILE`.
fn parse_report_target(text: &str) -> Result<ReportTarget, Diag> {
    let formats: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
    let help = format!(
        "FORMAT is one of {}; e.g. --report sarif=ecmguard.sarif",
        formats.join(", ")
    );
    let Some((name, path)) = cli::split_assignment(text) else {
        return Err(Diag::error(
            Code::InvalidArgument,
            format!("--report `{text}` is not FORMAT=FILE"),
        )
        .with_help(help));
    };
    let Some(format) = Format::parse(name) else {
        return Err(Diag::error(
            Code::InvalidArgument,
            format!("--report `{text}`: unknown format `{name}` (expected FORMAT=FILE)"),
        )
        .with_help(help)
        .suggest(did_you_mean(name, formats.iter().copied())));
    };
    if path.is_empty() {
        return Err(Diag::error(
            Code::InvalidArgument,
            format!("--report `{text}` names no file (expected FORMAT=FILE)"),
        )
        .with_help(help));
    }
    Ok(ReportTarget {
        format,
        path: Some(PathBuf::from(path)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_targets_say_what_is_wrong() {
        assert_eq!(
            parse_report_target("SARIF=x.sarif").unwrap(),
            ReportTarget {
                format: Format::Sarif,
                path: Some("x.sarif".into())
            }
        );
        let unknown = parse_report_target("yaml=x").unwrap_err();
        assert!(
            unknown.message.contains("unknown format `yaml`"),
            "{}",
            unknown.message
        );
        let typo = parse_report_target("jsno=x").unwrap_err();
        assert!(
            typo.help
                .as_deref()
                .is_some_and(|h| h.contains("did you mean `json`"))
        );
        assert!(
            parse_report_target("sarif=")
                .unwrap_err()
                .message
                .contains("names no file")
        );
        assert!(
            parse_report_target("sarif")
                .unwrap_err()
                .message
                .contains("FORMAT=FILE")
        );
    }
}
