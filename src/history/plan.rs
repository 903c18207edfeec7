//! Which recorded runs hold the open state of an account, worked out from
//! the runs' metadata and per-rule counts alone (no finding is read here),
//! and checked against itself on the way (docs/history.md, "Which runs end
//! a streak").
//!
//! A streak (rule + ImageId) is decided by the latest run that evaluated
//! that rule on that image. So, per rule: the latest whole-account run that
//! checked at least one image and had the rule in its policy, then the
//! narrowed runs after it that had the rule, each for the images it
//! checked. A run that checked nothing, a run without the rule, and a
//! narrowed run for the images it did not check decide nothing. Every
//! stored finding carries the start of its streak, so these few runs are
//! the whole state, however long the history is.

use std::collections::{HashMap, HashSet};

use jiff::Timestamp;

use super::account::Fingerprint;
use super::store::{RunIndexRow, RunRef, Store, StoreError, StoreResult};

/// One run to read, and what it decides.
#[derive(Debug, Clone)]
pub struct Step {
    pub run: RunRef,
    /// The rules whose streaks this run decides (on the images it checked).
    pub rules: HashSet<String>,
    /// `None`: a whole-account run (every image, and set-level streaks);
    /// else the ImageIds the narrowed run checked.
    pub checked: Option<HashSet<String>>,
    /// How many finding rows the run's own counts promise, per rule of its
    /// policy: its rows are checked against these before they are used.
    pub expected: HashMap<String, i64>,
}

/// The runs that hold an account's open state, oldest first, and who the
/// account is.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// Every owner the account's runs have had (`history::account`).
    pub owners: Fingerprint,
    /// The latest run that identified the account.
    pub latest_identified: Option<i64>,
    /// Every run of the account in the window, oldest first.
    pub runs: Vec<RunIndexRow>,
}

impl Plan {
    /// The plan for `account` as of `until` (Unix seconds). Fails with an
    /// inconsistent-database error when a run's per-rule counts disagree
    /// with the run's own totals: a run would otherwise seem to lack a rule
    /// it ran, and an older state (or none) would be used.
    pub fn build(store: &mut dyn Store, account: &str, until: i64) -> StoreResult<Plan> {
        let runs = store.run_index(account, until)?;
        let mut rules_of: HashMap<i64, HashMap<String, i64>> = HashMap::new();
        for row in store.rule_index(account, until)? {
            rules_of
                .entry(row.run)
                .or_default()
                .insert(row.rule, row.findings);
        }
        let mut owners = Fingerprint::default();
        let mut latest_identified = None;
        // Per rule: the whole-account run that decides its streaks.
        let mut whole_for: HashMap<&str, RunRef> = HashMap::new();
        for run in &runs {
            let rules = rules_of.get(&run.at.id);
            let listed = rules.map_or(0, HashMap::len) as i64;
            let rows: i64 = rules.map_or(0, |r| r.values().sum());
            if listed != run.rules || rows != run.findings {
                return Err(disagrees(
                    account,
                    run.at,
                    format!(
                        "its {} and {} disagree with its totals ({} and {})",
                        crate::text::count(
                            listed as u64,
                            "per-rule count row",
                            "per-rule count rows"
                        ),
                        crate::text::count(rows as u64, "finding", "findings"),
                        crate::text::count(run.rules.max(0) as u64, "rule", "rules"),
                        crate::text::count(run.findings.max(0) as u64, "finding", "findings"),
                    ),
                ));
            }
            if let Some(stored) = &run.account_fingerprint {
                owners.add_stored(stored);
                latest_identified = Some(run.at.id);
            }
            if !run.narrowed && run.images > 0 {
                for rule in rules.into_iter().flat_map(HashMap::keys) {
                    whole_for.insert(rule.as_str(), run.at);
                }
            }
        }
        let mut steps: Vec<Step> = Vec::new();
        for run in &runs {
            let Some(expected) = rules_of.get(&run.at.id) else {
                continue;
            };
            if run.images <= 0 {
                continue;
            }
            let rules: HashSet<String> = expected
                .keys()
                .filter(|rule| match whole_for.get(rule.as_str()) {
                    Some(whole) if !run.narrowed => *whole == run.at,
                    Some(whole) => *whole < run.at,
                    None => run.narrowed,
                })
                .cloned()
                .collect();
            if rules.is_empty() {
                continue;
            }
            let checked = if run.narrowed {
                Some(store.checked_of(run.at.id)?.into_iter().collect())
            } else {
                None
            };
            steps.push(Step {
                run: run.at,
                rules,
                checked,
                expected: expected.clone(),
            });
        }
        Ok(Plan {
            steps,
            owners,
            latest_identified,
            runs,
        })
    }

    /// The runs the open state and the account's identity need: every
    /// whole-account step, every narrowed step that is still the latest
    /// word on some rule and image, and the latest run that identified the
    /// account. A prune keeps these whatever their age.
    pub fn needed(&self) -> HashSet<i64> {
        let mut needed: HashSet<i64> = self
            .steps
            .iter()
            .filter(|step| step.checked.is_none())
            .map(|step| step.run.id)
            .collect();
        needed.extend(self.latest_identified);
        let mut decided: HashSet<(&str, &str)> = HashSet::new();
        for step in self.steps.iter().rev() {
            let Some(checked) = &step.checked else {
                continue;
            };
            let mut latest = false;
            for rule in &step.rules {
                for image in checked {
                    latest |= decided.insert((rule.as_str(), image.as_str()));
                }
            }
            if latest {
                needed.insert(step.run.id);
            }
        }
        needed
    }
}

/// The error for a run whose rows disagree with its own counts.
pub fn disagrees(account: &str, run: RunRef, what: String) -> StoreError {
    let when =
        Timestamp::from_second(run.time).map_or_else(|_| run.time.to_string(), |t| t.to_string());
    StoreError::inconsistent(format!(
        "run {} of account `{}` (recorded for {when}) disagrees with itself: {what}",
        run.id,
        crate::text::escape(account)
    ))
    .with_help(
        "the database was changed outside ecmguard or damaged (rows deleted, a restored or corrupt cache): \
         restore it from a backup, or start a new history file (every finding then starts its streak and \
         its grace period again); nothing was judged on it",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(id: i64, rules: &[&str], checked: Option<&[&str]>) -> Step {
        Step {
            run: RunRef { time: id, id },
            rules: rules.iter().map(|r| r.to_string()).collect(),
            checked: checked.map(|c| c.iter().map(|i| i.to_string()).collect()),
            expected: HashMap::new(),
        }
    }

    #[test]
    fn prune_needs_whole_runs_and_the_latest_word_on_each_image() {
        let plan = Plan {
            steps: vec![
                step(1, &["r"], None),
                step(2, &["r"], Some(&["a", "b"])),
                step(3, &["r"], Some(&["a"])),
                step(4, &["r"], Some(&["b"])),
                step(5, &["s"], Some(&["b"])),
            ],
            latest_identified: Some(0),
            ..Plan::default()
        };
        let mut needed: Vec<i64> = plan.needed().into_iter().collect();
        needed.sort_unstable();
        assert_eq!(needed, vec![0, 1, 3, 4, 5]);
    }
}
