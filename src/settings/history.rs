//! `ecmguard history` and `ecmguard history prune`: the recorded history they read, the
//! account, the time span, and (for `history`) the policies whose waivers are listed.

use jiff::Timestamp;

use super::policy::{PolicySettings, policy_settings};
use super::{Problems, account, history_target, history_zone, now_flag, project_config};
use crate::cli::{HistoryArgs, HistoryFormat, PolicyArgs, PruneArgs};
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
