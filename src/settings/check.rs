//! `ecmguard check`: the policies, where the images come from, the reports to write,
//! the verdict's threshold, the baseline and the history the run is recorded in.

use std::path::PathBuf;

use jiff::Timestamp;

use super::live::{LiveSettings, live_settings};
use super::policy::{PolicySettings, from_policy_args};
use super::{Problems, account, history_target, project_config};
use crate::cli::{self, CheckArgs, HistoryDbArgs};
use crate::config::ProjectConfig;
use crate::diag::{Code, Diag, did_you_mean};
use crate::eval::FailOn;
use crate::history::Target;
use crate::report::Format;
use crate::source::snapshot::Completeness;

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

impl CheckSettings {
    pub fn from_args(args: &CheckArgs, clock: fn() -> Timestamp) -> Result<Self, Vec<Diag>> {
        let mut problems = Problems(Vec::new());
        let config = project_config(args.policy.config.as_deref(), &mut problems);
        let config = config.as_ref();
        let policy = from_policy_args(&args.policy, config, clock, &mut problems);
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
        let source = match &args.source.snapshot {
            Some(name) => Some(SourceSettings::Snapshot {
                path: name.clone(),
                completeness: if args.source.assume_complete {
                    Completeness::Assumed
                } else {
                    Completeness::Proven
                },
            }),
            None => live_settings(&args.live, &args.selection.images, config, &mut problems)
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
            images: args.selection.images.clone(),
            modules: dedup(&args.selection.modules),
            usage: args.selection.usage,
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
pub(super) fn check_history(
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
    use crate::settings::DEFAULT_POLICY_DIR;
    use crate::source::live::{self, LiveConfig};
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
