//! Validated settings, one type per command, built once from the parsed
//! flags (ripgrep's low-level args → high-level args): every value parsed and
//! checked, every problem reported together as a diagnostic, before any
//! policy is read or any request is made. Commands read only these.
//!
//! Each setting is the flag when given, else the project config file's value
//! (`config`), else the library's default constant: the one place defaults
//! are applied. The config file and the param files are read here, since
//! they stand for flags; their problems are reported with the flags'.

use std::path::{Path, PathBuf};

use jiff::Timestamp;

use crate::cli::{
    self, CheckArgs, FetchArgs, HistoryArgs, HistoryDbArgs, HistoryFormat, LiveArgs, PolicyArgs,
    PruneArgs, RulesArgs, RulesFormat, TestArgs,
};
use crate::config::{self, ProjectConfig};
use crate::diag::{Code, Diag, did_you_mean};
use crate::eval::FailOn;
use crate::history::Target;
use crate::policy::CompileOptions;
use crate::policy::duration::Duration;
use crate::policy::inputs::{self, ParamInput};
use crate::report::Format;
use crate::source::live::{self, Credentials, LiveConfig};
use crate::source::snapshot::Completeness;
use crate::time::{ApiZone, parse_now};

/// The policy directory read when no `--policy` is given (defined beside
/// the loader, where `--help` reads it too).
pub use crate::policy::DEFAULT_POLICY_DIR;

/// What every command that loads policies needs.
#[derive(Debug, Clone)]
pub struct PolicySettings {
    /// `--policy` paths, else the config file's `policy`, else [`DEFAULT_POLICY_DIR`].
    pub paths: Vec<PathBuf>,
    /// Whether `--policy` was given (`test FILE` otherwise uses the policy
    /// beside FILE; the config file's `policy` is a default like ./policies).
    pub paths_given: bool,
    pub compile: CompileOptions,
    /// `--now` when given (policy tests use it for cases without a `now`).
    pub now_given: Option<Timestamp>,
    /// Files read besides the policies (the config file, the param files),
    /// with what each is: an output must not overwrite them either.
    pub inputs: Vec<(PathBuf, &'static str)>,
}

/// Where the images come from.
#[derive(Debug, Clone)]
pub enum SourceSettings {
    /// A saved result set: a path, or `-` for stdin; `completeness` says
    /// whether one that states no total may be judged (`--assume-complete`).
    Snapshot {
        path: String,
        completeness: Completeness,
    },
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
    /// `--module`: the modules whose default images a pre-deployment check is about.
    pub modules: Vec<String>,
    /// `--usage`: list usage even when no rule reads it.
    pub usage: bool,
    /// The `--format`/`--output` report first, then every `--report`.
    pub reports: Vec<ReportTarget>,
    pub fail_on: FailOn,
    pub baseline: Option<PathBuf>,
    pub write_baseline: Option<PathBuf>,
    /// `--allow-empty`: a check of zero images may pass.
    pub allow_empty: bool,
    /// `--history DB`: record the run, with first-seen times and grace.
    pub history: Option<HistorySettings>,
    /// `--max-findings`: images listed per rule in the human, github and
    /// markdown reports (0: none, counts only).
    pub max_findings: usize,
    /// `--quiet`: the human report on stdout is the rules table and the verdict.
    pub quiet: bool,
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
    /// `--usage`: save usage whatever the policies read.
    pub usage: bool,
    /// The policies the snapshot is for (`--policy`, else the config file's `policy`, else
    /// `./policies` when it exists): when one reads usage, usage is saved. `None`: none.
    pub policy: Option<PolicySettings>,
    /// A path, or `-` for stdout.
    pub output: String,
    pub zone: ApiZone,
    /// The config file read, if any: an input `-o` must not overwrite.
    pub config_file: Option<PathBuf>,
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
        let config = project_config(args.config.as_deref(), &mut problems);
        match policy_settings(args, config.as_ref(), clock, &mut problems) {
            Some(settings) if problems.0.is_empty() => Ok(settings),
            _ => Err(problems.0),
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

/// Param values from outside the policies, lowest precedence first: the
/// param files in order (`--param-file`, else the config file's
/// `param_files`), the `ECMGUARD_PARAM_<name>` variables, then `--param` in
/// command-line order.
fn param_inputs(
    args: &PolicyArgs,
    config: Option<&ProjectConfig>,
    problems: &mut Problems,
) -> (Vec<ParamInput>, Vec<PathBuf>) {
    let files = if args.param_files.is_empty() {
        config
            .and_then(|c| c.param_files.clone())
            .unwrap_or_default()
    } else {
        args.param_files.clone()
    };
    let mut params = Vec::new();
    for path in &files {
        match inputs::read_param_file(path) {
            Ok(mut found) => params.append(&mut found),
            Err(mut diags) => problems.0.append(&mut diags),
        }
    }
    let (mut env, mut env_problems) = inputs::from_env(std::env::vars_os());
    params.append(&mut env);
    problems.0.append(&mut env_problems);
    for text in &args.params {
        match cli::split_assignment(text) {
            Some((name, value)) => params.push(ParamInput::command_line(name, value)),
            None => problems.flag(
                format!("--param `{text}` is not NAME=VALUE"),
                "for example --param max_private_age=90d",
            ),
        }
    }
    (params, files)
}

fn policy_settings(
    args: &PolicyArgs,
    config: Option<&ProjectConfig>,
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
    let zone = match &args.api_time_zone {
        Some(text) => api_zone(text, problems),
        None => Some(
            config
                .and_then(|c| c.api_time_zone.clone())
                .unwrap_or_default(),
        ),
    };
    let (params, param_files) = param_inputs(args, config, problems);
    let paths_given = !args.policies.is_empty();
    let paths = if paths_given {
        args.policies.clone()
    } else {
        config
            .and_then(|c| c.policy.clone())
            .unwrap_or_else(|| vec![PathBuf::from(DEFAULT_POLICY_DIR)])
    };
    let mut inputs: Vec<(PathBuf, &'static str)> = config
        .map(|c| (c.path.clone(), "the config file"))
        .into_iter()
        .collect();
    inputs.extend(param_files.into_iter().map(|p| (p, "a param file")));
    Some(PolicySettings {
        paths,
        paths_given,
        compile: CompileOptions {
            now: now?,
            zone: zone?,
            params,
        },
        now_given: now_given.flatten(),
        inputs,
    })
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

impl CheckSettings {
    pub fn from_args(args: &CheckArgs, clock: fn() -> Timestamp) -> Result<Self, Vec<Diag>> {
        let mut problems = Problems(Vec::new());
        let config = project_config(args.policy.config.as_deref(), &mut problems);
        let config = config.as_ref();
        let policy = policy_settings(&args.policy, config, clock, &mut problems);
        let mut reports = vec![ReportTarget {
            format: args.format,
            path: args.output.clone(),
        }];
        if args.reports.is_empty() {
            let configured = config
                .and_then(|c| c.reports.as_deref())
                .unwrap_or_default();
            reports.extend(configured.iter().map(|(format, path)| ReportTarget {
                format: *format,
                path: Some(path.clone()),
            }));
        }
        for text in &args.reports {
            match parse_report_target(text) {
                Ok(target) => reports.push(target),
                Err(diag) => problems.0.push(diag),
            }
        }
        let source = match &args.snapshot {
            Some(name) => Some(SourceSettings::Snapshot {
                path: name.clone(),
                completeness: if args.assume_complete {
                    Completeness::Assumed
                } else {
                    Completeness::Proven
                },
            }),
            None => live_settings(&args.live, &args.images, config, &mut problems)
                .map(|live| SourceSettings::Live(Box::new(live))),
        };
        let profile = match &source {
            Some(SourceSettings::Live(live)) => live.profile.as_deref(),
            _ => None,
        };
        let history = check_history(&args.history, config, profile, &mut problems);
        let max_findings = max_findings(args.max_findings.as_deref(), &mut problems);
        let (policy, source) = match (policy, source) {
            (Some(policy), Some(source)) => (policy, source),
            _ => return Err(problems.0),
        };
        problems.finish(|| CheckSettings {
            policy,
            source,
            images: args.images.clone(),
            modules: dedup(&args.modules),
            usage: args.usage,
            reports,
            fail_on: args
                .fail_on
                .or(config.and_then(|c| c.fail_on))
                .unwrap_or_default(),
            baseline: args
                .baseline
                .clone()
                .or_else(|| config.and_then(|c| c.baseline.clone())),
            write_baseline: args.write_baseline.clone(),
            allow_empty: args.allow_empty,
            history,
            max_findings,
            quiet: args.quiet,
        })
    }
}

/// The values of a repeatable flag, each once, in the order first given.
fn dedup(values: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    values
        .iter()
        .filter(|v| seen.insert(v.as_str()))
        .cloned()
        .collect()
}

/// `--max-findings N`: a whole number, 0 or more (0 lists no image, only
/// counts). Not a number is a diagnostic of its own, like every flag's.
fn max_findings(text: Option<&str>, problems: &mut Problems) -> usize {
    let Some(text) = text else {
        return crate::report::DEFAULT_MAX_FINDINGS;
    };
    match text.trim().parse::<usize>() {
        Ok(n) => n,
        Err(_) => {
            problems.flag(
                format!("--max-findings `{text}` is not a whole number of images (0 or more)"),
                "for example --max-findings 50; 0 lists none (counts only); --format json or csv lists every finding",
            );
            crate::report::DEFAULT_MAX_FINDINGS
        }
    }
}

/// `--history` and `--account` of a check (else the config file's
/// `history` and `account`).
fn check_history(
    args: &HistoryDbArgs,
    config: Option<&ProjectConfig>,
    profile: Option<&str>,
    problems: &mut Problems,
) -> Option<HistorySettings> {
    let account_text = args
        .account
        .clone()
        .or_else(|| config.and_then(|c| c.account.clone()));
    let account = account_text.as_deref().map(|a| account(a, problems));
    let history_text = args
        .history
        .clone()
        .or_else(|| config.and_then(|c| c.history.clone()));
    let Some(text) = &history_text else {
        if account_text.is_some() {
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

/// `--api-time-zone`, else the config file's `api_time_zone`, else the default.
fn history_zone(
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

/// The history an existing-history command reads: `--history` (or
/// `ECMGUARD_HISTORY`), else the config file's `history`.
fn stored_history(
    flag: Option<&str>,
    config: Option<&ProjectConfig>,
    command: &str,
    problems: &mut Problems,
) -> Option<Target> {
    match flag.or_else(|| config.and_then(|c| c.history.as_deref())) {
        Some(text) => history_target(text, problems),
        None => {
            problems.flag(
                format!("{command} needs --history DB"),
                "the SQLite file or postgres:// URL that `check --history` records into (or ECMGUARD_HISTORY, or `history:` in ecmguard.yaml)",
            );
            None
        }
    }
}

impl HistoryCommandSettings {
    pub fn from_args(args: &HistoryArgs, clock: fn() -> Timestamp) -> Result<Self, Vec<Diag>> {
        let mut problems = Problems(Vec::new());
        // The project config gives `ecmguard history` the same database,
        // account, zone and policies as the `check --history` it reads.
        let config = project_config(args.config.as_deref(), &mut problems);
        let config = config.as_ref();
        let zone = history_zone(args.api_time_zone.as_deref(), config, &mut problems);
        let now = now_flag(args.now.as_deref(), clock, &mut problems);
        let target = stored_history(
            args.db.history.as_deref(),
            config,
            "ecmguard history",
            &mut problems,
        );
        let account = args
            .db
            .account
            .clone()
            .or_else(|| config.and_then(|c| c.account.clone()))
            .map(|a| account(&a, &mut problems));
        let since = match (&args.since, now, &zone) {
            (Some(text), Some(now), Some(zone)) => {
                back_from("--since", text, now, zone, &mut problems)
            }
            _ => None,
        };
        let configured_policy = config.is_some_and(|c| c.policy.is_some());
        let policy = if args.policies.is_empty() && !configured_policy {
            None
        } else {
            let policy_args = PolicyArgs {
                policies: args.policies.clone(),
                now: args.now.clone(),
                api_time_zone: args.api_time_zone.clone(),
                params: args.params.clone(),
                param_files: Vec::new(),
                config: None,
            };
            policy_settings(&policy_args, config, clock, &mut problems)
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
        let config = project_config(args.config.as_deref(), &mut problems);
        let config = config.as_ref();
        let zone = history_zone(args.api_time_zone.as_deref(), config, &mut problems);
        let now = now_flag(args.now.as_deref(), clock, &mut problems);
        let target = stored_history(
            args.history.as_deref(),
            config,
            "ecmguard history prune",
            &mut problems,
        );
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
    pub fn from_args(args: &FetchArgs, clock: fn() -> Timestamp) -> Result<Self, Vec<Diag>> {
        let mut problems = Problems(Vec::new());
        let config = project_config(args.config.as_deref(), &mut problems);
        let config = config.as_ref();
        // The policies are read only to know whether they read usage. Without --policy
        // and a configured `policy`, a missing ./policies means none (a snapshot needs no
        // policy); any policy named is read as `check` reads it.
        let named = !args.policies.is_empty() || config.is_some_and(|c| c.policy.is_some());
        let policy = if named || Path::new(DEFAULT_POLICY_DIR).exists() {
            let policy_args = PolicyArgs {
                policies: args.policies.clone(),
                now: None,
                api_time_zone: args.api_time_zone.clone(),
                params: args.params.clone(),
                param_files: Vec::new(),
                config: None,
            };
            policy_settings(&policy_args, config, clock, &mut problems)
        } else {
            None
        };
        let zone = match &args.api_time_zone {
            Some(text) => api_zone(text, &mut problems),
            None => Some(
                config
                    .and_then(|c| c.api_time_zone.clone())
                    .unwrap_or_default(),
            ),
        };
        let live = live_settings(&args.live, &args.images, config, &mut problems);
        match (zone, live) {
            (Some(zone), Some(live)) => problems.finish(|| FetchSettings {
                live,
                usage: args.usage,
                policy,
                output: args.output.clone(),
                zone,
                config_file: config.map(|c| c.path.clone()),
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
    config: Option<&ProjectConfig>,
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
    let timeout = match &args.timeout {
        Some(text) => positive_time("--timeout", text, "30s or 2min", problems),
        None => Some(
            config
                .and_then(|c| c.timeout)
                .unwrap_or(live::DEFAULT_TIMEOUT),
        ),
    };
    let deadline = match &args.deadline {
        Some(text) => positive_time("--deadline", text, "15min or 1h", problems),
        None => Some(live::DEFAULT_DEADLINE),
    };
    let mut live_config = LiveConfig::new(Credentials::new("", "", None));
    live_config.endpoint = args
        .endpoint
        .clone()
        .or_else(|| config.and_then(|c| c.endpoint.clone()))
        .unwrap_or_else(|| live::DEFAULT_ENDPOINT.to_owned());
    live_config.region = args.region.clone();
    live_config.filters = filters;
    live_config.rate = args
        .rate
        .or(config.and_then(|c| c.rate))
        .unwrap_or(live::DEFAULT_RATE);
    if let Some(timeout) = timeout {
        live_config.timeout = timeout;
    }
    if let Some(deadline) = deadline {
        live_config.deadline = deadline;
    }
    let mut warnings = Vec::new();
    // The rate in force, whether from --rate or the config file.
    if live_config.rate > live::DEFAULT_RATE {
        warnings.push(
            Diag::warning(
                Code::RateAboveLimit,
                format!(
                    "a rate of {} requests per second is above the {} DescribeImage allows",
                    live_config.rate,
                    live::DEFAULT_RATE
                ),
            )
            .with_help("the API will throttle, and the fetch will slow itself down to what it accepts; set --rate (or `rate:` in ecmguard.yaml) to 20 or lower"),
        );
    }
    if ok && let Err(e) = live_config.validate() {
        problems.0.push(e.diag());
        ok = false;
    }
    (ok && timeout.is_some() && deadline.is_some()).then(|| LiveSettings {
        config: live_config,
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
        Ok(d) => d.fixed_positive().or_else(|| {
            problems.flag(
                format!("{flag} `{text}` is not a positive time"),
                format!(
                    "for example {flag} {} (months and years have no fixed length)",
                    example.replace(" or ", &format!(" or {flag} "))
                ),
            );
            None
        }),
        Err(e) => {
            problems.flag(
                format!("{flag}: {}", e.message),
                crate::policy::duration::time_limit_help(text, example),
            );
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
            format!("--report `{text}`: unknown format `{name}`"),
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
    use clap::Parser;

    fn check_settings(args: &[&str]) -> Result<CheckSettings, Vec<Diag>> {
        let mut argv = vec!["ecmguard", "check"];
        argv.extend_from_slice(args);
        let cli = cli::Cli::try_parse_from(argv).expect("flags parse");
        let cli::Command::Check(args) = cli.command else {
            unreachable!("a check")
        };
        CheckSettings::from_args(&args, jiff::Timestamp::now)
    }

    fn live(settings: &CheckSettings) -> &LiveConfig {
        match &settings.source {
            SourceSettings::Live(live) => &live.config,
            SourceSettings::Snapshot { .. } => unreachable!("a live check"),
        }
    }

    /// Each live setting: the flag, else the config file, else the constant.
    #[test]
    fn live_settings_take_the_flag_then_the_config_then_the_default() {
        let dir = tempfile::TempDir::new().expect("dir");
        let path = dir.path().join("ecmguard.yaml");
        std::fs::write(
            &path,
            "rate: 5
timeout: 2min
endpoint: http://127.0.0.1:9
history: db/history.sqlite
account: production
",
        )
        .expect("write");
        let config = path.to_str().expect("utf-8 path");
        let from_config = check_settings(&["--config", config]).expect("valid");
        assert_eq!(live(&from_config).rate, 5.0);
        assert_eq!(
            live(&from_config).timeout,
            std::time::Duration::from_secs(120)
        );
        assert_eq!(live(&from_config).endpoint, "http://127.0.0.1:9");
        let history = from_config.history.as_ref().expect("history from config");
        assert_eq!(
            history.target,
            crate::history::Target::Sqlite(dir.path().join("db/history.sqlite"))
        );
        assert_eq!(history.account, "production");
        let flags = check_settings(&[
            "--config",
            config,
            "--rate",
            "7",
            "--timeout",
            "3s",
            "--endpoint",
            "http://127.0.0.1:10",
        ])
        .expect("valid");
        assert_eq!(live(&flags).rate, 7.0);
        assert_eq!(live(&flags).timeout, std::time::Duration::from_secs(3));
        assert_eq!(live(&flags).endpoint, "http://127.0.0.1:10");
        let defaults = check_settings(&["--config", "none"]).expect("valid");
        assert_eq!(live(&defaults).rate, live::DEFAULT_RATE);
        assert_eq!(live(&defaults).timeout, live::DEFAULT_TIMEOUT);
        assert_eq!(live(&defaults).endpoint, live::DEFAULT_ENDPOINT);
        assert_eq!(defaults.fail_on, FailOn::default());
        assert_eq!(defaults.policy.paths, [PathBuf::from(DEFAULT_POLICY_DIR)]);
        assert!(defaults.history.is_none());
    }

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
