//! `ecmguard history` and `ecmguard history prune`: the recorded history they read, the
//! account, the time span, and (for `history`) the policies whose waivers are listed.

use jiff::Timestamp;

use super::policy::{PolicyFlags, PolicySettings, policy_settings};
use super::{Problems, account, history_target, now, project_config, zone};
use crate::cli::{HistoryArgs, HistoryFormat, PruneArgs};
use crate::config::ProjectConfig;
use crate::diag::Diag;
use crate::history::Target;
use crate::policy::duration::Duration;
use crate::time::ApiZone;

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
        let zone = zone(args.api_time_zone.as_deref(), config, &mut problems);
        let now = now(args.now.as_deref(), clock, &mut problems);
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
                back_from("--since", text, now.at, zone, &mut problems)
            }
            _ => None,
        };
        let configured_policy = config.is_some_and(|c| c.policy.is_some());
        let policy = if args.policies.is_empty() && !configured_policy {
            None
        } else {
            let flags = PolicyFlags {
                policies: &args.policies,
                params: &args.params,
                param_files: &[],
            };
            policy_settings(flags, config, now, zone.clone(), &mut problems)
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
                    now: now.at,
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
        let zone = zone(args.api_time_zone.as_deref(), config, &mut problems);
        let now = now(args.now.as_deref(), clock, &mut problems);
        let target = stored_history(
            args.history.as_deref(),
            config,
            "ecmguard history prune",
            &mut problems,
        );
        let before = match (now, &zone) {
            (Some(now), Some(zone)) => back_from(
                "--older-than",
                &args.older_than,
                now.at,
                zone,
                &mut problems,
            ),
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn history_settings(args: &[&str]) -> Result<HistoryCommandSettings, Vec<Diag>> {
        let mut argv = vec!["ecmguard", "history", "--config", "none"];
        argv.extend_from_slice(args);
        let Ok(Cli {
            command: Command::History(args),
            ..
        }) = Cli::try_parse_from(argv)
        else {
            panic!("`ecmguard history` flags that parse")
        };
        HistoryCommandSettings::from_args(&args, Timestamp::now)
    }

    /// `--now` and `--api-time-zone` serve the history and its `--policy` alike:
    /// a bad value is one problem, not one per use.
    #[test]
    fn a_bad_time_or_zone_with_policies_is_one_problem_each() {
        let problems = history_settings(&[
            "--history",
            "h.db",
            "--policy",
            "p",
            "--now",
            "yesterday",
            "--api-time-zone",
            "Mars/Olympus",
        ])
        .expect_err("invalid flags");
        let messages: Vec<&str> = problems.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(messages.len(), 2, "{messages:#?}");
        assert!(messages[0].starts_with("--api-time-zone:"), "{messages:#?}");
        assert!(messages[1].starts_with("--now:"), "{messages:#?}");
    }

    /// The policies of `ecmguard history` are compiled for its `--now` and zone.
    #[test]
    fn the_policies_take_the_commands_time_and_zone() {
        let settings = history_settings(&[
            "--history",
            "h.db",
            "--policy",
            "p",
            "--now",
            "2026-03-01T00:00:00Z",
            "--api-time-zone",
            "+03:00",
        ])
        .expect("valid flags");
        let policy = settings.policy.expect("--policy given");
        assert_eq!(policy.compile.now, settings.now);
        assert_eq!(policy.now_given, Some(settings.now));
        assert_eq!(format!("{:?}", policy.compile.zone), "ApiZone(+03:00)");
        assert_eq!(format!("{:?}", settings.zone), "ApiZone(+03:00)");
        assert_eq!(policy.paths, [std::path::PathBuf::from("p")]);
    }
}
