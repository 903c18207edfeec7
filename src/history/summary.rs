//! What `ecmguard history` reports, computed from the database: the runs
//! (oldest first), per-rule trends and time to fix, the open findings
//! (oldest first), and — from loaded policies — the waivers that expire
//! soon. Everything is read from small tables (runs, per-rule counts, fixes)
//! plus the open state, so a year of daily runs answers in well under a
//! second; the findings of old runs are never scanned.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::open_list::{OpenFindings, OpenSorter};
use super::store::{FindingRecord, RuleCountRecord, RunRow, Store, StoreError, StoreResult};
use super::streak;
use crate::policy::PolicySet;

/// What to report on.
#[derive(Debug, Clone)]
pub struct Query {
    /// One account, or every account.
    pub account: Option<String>,
    /// Runs (and fixes) from this time on; all when `None`.
    pub since: Option<Timestamp>,
    /// The time of the report (`--now`): runs after it are ignored.
    pub now: Timestamp,
}

/// The `history` report.
pub struct Summary {
    pub account: Option<String>,
    pub since: Option<i64>,
    pub now: i64,
    /// Oldest first.
    pub runs: Vec<RunRow>,
    /// By rule id.
    pub rules: Vec<RuleTrend>,
    /// Over every rule.
    pub time_to_fix: TimeToFix,
    /// Open now, oldest first (held in bounded memory: [`OpenFindings`]).
    pub open: OpenFindings,
}

/// One rule over the runs of the window.
#[derive(Debug, Clone)]
pub struct RuleTrend {
    pub rule: String,
    /// As of the latest run that had the rule.
    pub severity: String,
    /// `(run id, counts)` for each run whose policy had the rule, oldest first.
    pub points: Vec<(i64, RuleCountRecord)>,
    /// Findings of the rule open now.
    pub open: usize,
    pub time_to_fix: TimeToFix,
}

/// Streaks that ended (first seen → the first run without the finding).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeToFix {
    pub fixed: i64,
    pub mean_seconds: Option<i64>,
    pub worst_seconds: Option<i64>,
}

/// A finding open now, with its account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OpenFinding {
    pub account: String,
    pub finding: FindingRecord,
    pub open_for_seconds: i64,
}

/// A waiver that expires within the window (or already has).
#[derive(Debug, Clone)]
pub struct WaiverDue {
    pub rules: Vec<String>,
    pub images: Option<Vec<String>>,
    pub reason: String,
    pub owner: Option<String>,
    /// As written (`2026-03-31`).
    pub expires: String,
    pub expires_at: i64,
    pub expired: bool,
    /// `file:line:column` of the waiver.
    pub location: String,
}

/// How far ahead `history` looks for expiring waivers.
pub(crate) const WAIVER_WINDOW_DAYS: i64 = 30;

impl Summary {
    pub(crate) fn load(store: &mut dyn Store, query: &Query) -> StoreResult<Summary> {
        let now = query.now.as_second();
        let since = query.since.map(|t| t.as_second());
        let account = query.account.as_deref();
        let runs = store.runs(account, since, now)?;
        let counts = store.rule_counts(account, since, now)?;
        let fixes = store.fix_stats(account, since, now)?;

        let accounts = match account {
            Some(a) => vec![a.to_owned()],
            None => store.accounts()?,
        };
        // The open findings are counted per rule as they are read, and
        // sorted out of memory: nothing here grows with them.
        let mut open = OpenSorter::new();
        let mut open_of_rule: BTreeMap<String, OpenOfRule> = BTreeMap::new();
        for account in accounts {
            streak::each_open(store, &account, now, &mut |finding| {
                let key = (
                    finding.first_seen,
                    account.as_str(),
                    finding.image.as_deref(),
                );
                let oldest = || (key.0, key.1.to_owned(), key.2.map(str::to_owned));
                match open_of_rule.get_mut(&finding.rule) {
                    Some(rule) => {
                        rule.open += 1;
                        let (at, ref of, ref image) = rule.oldest;
                        if key < (at, of.as_str(), image.as_deref()) {
                            rule.oldest = oldest();
                            rule.severity.clone_from(&finding.severity);
                        }
                    }
                    None => {
                        let rule = OpenOfRule {
                            open: 1,
                            oldest: oldest(),
                            severity: finding.severity.clone(),
                        };
                        open_of_rule.insert(finding.rule.clone(), rule);
                    }
                }
                open.push(OpenFinding {
                    account: account.clone(),
                    open_for_seconds: (now - finding.first_seen).max(0),
                    finding,
                })
                .map_err(spill_failed)
            })?;
        }
        let open = open.finish().map_err(spill_failed)?;

        let mut rules: BTreeMap<String, RuleTrend> = BTreeMap::new();
        for (run, record) in counts {
            let trend = rules
                .entry(record.rule.clone())
                .or_insert_with(|| RuleTrend {
                    rule: record.rule.clone(),
                    severity: record.severity.clone(),
                    points: Vec::new(),
                    open: 0,
                    time_to_fix: TimeToFix::default(),
                });
            trend.severity.clone_from(&record.severity);
            trend.points.push((run, record));
        }
        for (rule, of_rule) in open_of_rule {
            // A rule without runs in the window takes the severity of its
            // oldest open finding.
            let trend = rules.entry(rule.clone()).or_insert_with(|| RuleTrend {
                rule,
                severity: of_rule.severity,
                points: Vec::new(),
                open: 0,
                time_to_fix: TimeToFix::default(),
            });
            trend.open += of_rule.open;
        }
        let mut total = TimeToFix::default();
        let (mut sum, mut worst) = (0i64, None::<i64>);
        for stats in fixes {
            total.fixed += stats.fixed;
            sum = sum.saturating_add(stats.total_seconds);
            worst = Some(worst.map_or(stats.worst_seconds, |w| w.max(stats.worst_seconds)));
            if let Some(trend) = rules.get_mut(&stats.rule) {
                trend.time_to_fix = TimeToFix {
                    fixed: stats.fixed,
                    mean_seconds: (stats.fixed > 0).then(|| stats.total_seconds / stats.fixed),
                    worst_seconds: Some(stats.worst_seconds),
                };
            }
        }
        if total.fixed > 0 {
            total.mean_seconds = Some(sum / total.fixed);
            total.worst_seconds = worst;
        }
        Ok(Summary {
            account: query.account.clone(),
            since,
            now,
            runs,
            rules: rules.into_values().collect(),
            time_to_fix: total,
            open,
        })
    }
}

/// One rule's open findings, counted as they are read.
struct OpenOfRule {
    open: usize,
    /// `(first seen, account, ImageId)` of the oldest, as the listing sorts.
    oldest: (i64, String, Option<String>),
    severity: String,
}

/// The open findings could not be sorted in temporary files.
fn spill_failed(e: std::io::Error) -> StoreError {
    StoreError::new(format!(
        "could not sort the open findings in a temporary file ({e}); set TMPDIR to a \
         directory with free space"
    ))
}

/// Waivers of `policy` that expire within [`WAIVER_WINDOW_DAYS`] of `now`,
/// or have expired: the exceptions that are due. Soonest first.
pub(crate) fn waivers_due(policy: &PolicySet, now: Timestamp) -> Vec<WaiverDue> {
    let horizon = now.as_second() + WAIVER_WINDOW_DAYS * 86_400;
    let mut due: Vec<WaiverDue> = policy
        .waivers
        .iter()
        .filter_map(|waiver| {
            let (date, at) = waiver.expires.as_ref()?;
            let at = at.as_second();
            (at <= horizon).then(|| {
                let location = waiver.origin.location();
                WaiverDue {
                    rules: waiver
                        .rules
                        .iter()
                        .filter_map(|&i| policy.rules.get(i).map(|r| r.id.clone()))
                        .collect(),
                    images: waiver.images.clone(),
                    reason: waiver.reason.clone(),
                    owner: waiver.owner.clone(),
                    expires: date.clone(),
                    expires_at: at,
                    expired: waiver.expired,
                    location: format!("{}:{}:{}", location.file, location.line, location.column),
                }
            })
        })
        .collect();
    due.sort_by(|a, b| (a.expires_at, &a.location).cmp(&(b.expires_at, &b.location)));
    due
}
