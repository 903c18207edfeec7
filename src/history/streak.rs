//! Streaks: which findings of an account are open, since when, and which
//! ones a new run ends (docs/history.md, "Streaks").
//!
//! The open state of an account at a time is its latest whole-account run
//! (at or before that time), updated by the narrowed runs after it, each for
//! the images it checked. Every finding row carries the start of its streak,
//! so the state needs those runs only, however long the history is. A run
//! ends a streak (a fix) when it checked the finding's image (a
//! whole-account run checks every image, and alone checks set-level
//! findings), still has the rule, and no longer has the finding.

use std::collections::{HashMap, HashSet};

use jiff::Timestamp;

use super::store::{FindingRecord, FixRecord, RunRecord, Store, StoreResult};
use crate::eval::{OpenSince, Status};

/// A state that runs are replayed into: what a check needs
/// ([`OpenSince`]: since when), or what `history` lists ([`OpenState`]:
/// the findings themselves).
trait Streaks {
    /// A whole-account run: its findings are the whole state.
    fn reset(&mut self);
    /// A narrowed run replaces what is known of the images it checked.
    fn forget(&mut self, checked: &HashSet<&str>);
    /// Read one run's findings in; with `only`, just those of these images
    /// (a narrowed run says nothing about other images, nor about the set).
    fn read(
        &mut self,
        store: &mut dyn Store,
        run: i64,
        only: Option<&HashSet<&str>>,
    ) -> StoreResult<()>;
}

/// The state of `account` as of `until`: its latest whole-account run, then
/// the narrowed runs after it, in order.
fn replay(
    store: &mut dyn Store,
    account: &str,
    until: i64,
    state: &mut dyn Streaks,
) -> StoreResult<()> {
    let latest = store.latest_full_run(account, until)?;
    if let Some(run) = latest {
        state.reset();
        state.read(store, run.id, None)?;
    }
    for run in store.narrowed_runs(account, latest, until)? {
        let checked: HashSet<&str> = run.checked.iter().map(String::as_str).collect();
        state.forget(&checked);
        state.read(store, run.at.id, Some(&checked))?;
    }
    Ok(())
}

/// Since when each finding of `account` has been open, as of `until`: what
/// evaluation is given, and what a run's fixes are computed from.
pub fn open_since(store: &mut dyn Store, account: &str, until: i64) -> StoreResult<OpenSince> {
    let mut open = OpenSince::new();
    replay(store, account, until, &mut open)?;
    Ok(open)
}

impl Streaks for OpenSince {
    fn reset(&mut self) {
        self.clear();
    }

    fn forget(&mut self, checked: &HashSet<&str>) {
        self.retain_images(|image| !checked.contains(image));
    }

    fn read(
        &mut self,
        store: &mut dyn Store,
        run: i64,
        only: Option<&HashSet<&str>>,
    ) -> StoreResult<()> {
        store.streaks_of(run, &mut |rule, image, status, first_seen| {
            if wanted(only, image)
                && continues(status)
                && let Ok(at) = Timestamp::from_second(first_seen)
            {
                self.insert(rule, image, at);
            }
        })
    }
}

/// The open findings of one account, each as recorded by the run that
/// last saw it: what `history` lists.
#[derive(Debug, Default)]
pub struct OpenState {
    entries: HashMap<(String, Option<String>), FindingRecord>,
}

impl OpenState {
    /// Read the state of `account` as of `until` (Unix seconds).
    pub fn load(store: &mut dyn Store, account: &str, until: i64) -> StoreResult<OpenState> {
        let mut state = OpenState::default();
        replay(store, account, until, &mut state)?;
        Ok(state)
    }

    /// The open findings, oldest streak first.
    pub fn into_oldest_first(self) -> Vec<FindingRecord> {
        let mut open: Vec<FindingRecord> = self.entries.into_values().collect();
        open.sort_by(|a, b| {
            (a.first_seen, &a.rule, &a.image).cmp(&(b.first_seen, &b.rule, &b.image))
        });
        open
    }
}

impl Streaks for OpenState {
    fn reset(&mut self) {
        self.entries.clear();
    }

    fn forget(&mut self, checked: &HashSet<&str>) {
        self.entries
            .retain(|(_, image), _| !image.as_deref().is_some_and(|i| checked.contains(i)));
    }

    fn read(
        &mut self,
        store: &mut dyn Store,
        run: i64,
        only: Option<&HashSet<&str>>,
    ) -> StoreResult<()> {
        for finding in store.findings_of(run)? {
            if wanted(only, finding.image.as_deref()) && continues(&finding.status) {
                self.entries
                    .insert((finding.rule.clone(), finding.image.clone()), finding);
            }
        }
        Ok(())
    }
}

/// The streaks `run` ends: open before it, checked by it, its rule still in
/// the run's policy, and no longer among its findings. (A rule that left
/// the policy does not make its findings "fixed".)
pub fn fixes(open: &OpenSince, run: &RunRecord) -> Vec<FixRecord> {
    let present: HashSet<(&str, Option<&str>)> = run
        .findings
        .iter()
        .map(|f| (f.rule.as_str(), f.image.as_deref()))
        .collect();
    let rules: HashSet<&str> = run.rule_counts.iter().map(|c| c.rule.as_str()).collect();
    let checked: Option<HashSet<&str>> = run
        .checked_images
        .as_ref()
        .map(|ids| ids.iter().map(String::as_str).collect());
    let mut fixes: Vec<FixRecord> = open
        .iter()
        .filter(|(rule, image, _)| {
            let covered = match (&checked, image) {
                (None, _) => !run.narrowed,
                (Some(ids), Some(id)) => run.narrowed && ids.contains(id),
                (Some(_), None) => false,
            };
            covered && rules.contains(rule) && !present.contains(&(*rule, *image))
        })
        .map(|(rule, image, at)| FixRecord {
            account: run.account.clone(),
            rule: rule.to_owned(),
            image: image.map(str::to_owned),
            first_seen: at.as_second(),
            fixed_at: run.time,
        })
        .collect();
    fixes.sort_by(|a, b| (&a.rule, &a.image).cmp(&(&b.rule, &b.image)));
    fixes
}

/// Whether a status keeps a streak going: every status does. A waiver or a
/// baseline sets a finding aside for the gate, but the image still breaks
/// the rule, so its streak goes on, and when the waiver expires the finding
/// is as old as it really is (docs/history.md). A status this version does
/// not know (written by a newer one) counts too.
fn continues(status: &str) -> bool {
    Status::parse(status).is_none_or(|status| match status {
        Status::Violation
        | Status::Indeterminate
        | Status::Grace
        | Status::Waived
        | Status::Baselined => true,
    })
}

/// Whether a finding on `image` is read from a run: every one of a
/// whole-account run, only the checked images' of a narrowed one (a
/// set-level finding has no image and is not theirs).
fn wanted(only: Option<&HashSet<&str>>, image: Option<&str>) -> bool {
    match only {
        None => true,
        Some(ids) => image.is_some_and(|id| ids.contains(id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::store::{Counts, RuleCountRecord};

    fn finding(rule: &str, image: Option<&str>, first_seen: i64) -> FindingRecord {
        FindingRecord {
            rule: rule.into(),
            image: image.map(str::to_owned),
            status: "violation".into(),
            severity: "error".into(),
            message: "m".into(),
            first_seen,
        }
    }

    fn run(time: i64, findings: Vec<FindingRecord>, checked: Option<Vec<&str>>) -> RunRecord {
        RunRecord {
            time,
            tool_version: "0".into(),
            account: "a".into(),
            source: "snapshot".into(),
            source_path: None,
            endpoint: None,
            filters: "[]".into(),
            policy_digest: String::new(),
            fail_on: "error".into(),
            images: 0,
            rules: 2,
            counts: Counts::default(),
            verdict: "fail".into(),
            exit_code: 1,
            narrowed: checked.is_some(),
            checked_images: checked.map(|c| c.into_iter().map(str::to_owned).collect()),
            findings,
            rule_counts: ["r", "set"]
                .into_iter()
                .map(|rule| RuleCountRecord {
                    rule: rule.into(),
                    severity: "error".into(),
                    violations: 0,
                    indeterminate: 0,
                    grace: 0,
                    waived: 0,
                    baselined: 0,
                })
                .collect(),
        }
    }

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    fn open(findings: &[(&str, Option<&str>, i64)]) -> OpenSince {
        let mut open = OpenSince::new();
        for (rule, image, first_seen) in findings {
            open.insert(rule, *image, at(*first_seen));
        }
        open
    }

    #[test]
    fn a_whole_run_without_the_finding_fixes_it() {
        let open = open(&[("r", Some("i1"), 10), ("r", Some("i2"), 20)]);
        let fixes = fixes(&open, &run(100, vec![finding("r", Some("i2"), 20)], None));
        assert_eq!(fixes.len(), 1);
        assert_eq!(fixes[0].image.as_deref(), Some("i1"));
        assert_eq!((fixes[0].first_seen, fixes[0].fixed_at), (10, 100));
    }

    #[test]
    fn a_narrowed_run_fixes_only_what_it_checked() {
        let open = open(&[
            ("r", Some("i1"), 10),
            ("r", Some("i2"), 20),
            ("set", None, 5),
        ]);
        let fixes = fixes(&open, &run(100, Vec::new(), Some(vec!["i1"])));
        let fixed: Vec<_> = fixes.iter().map(|f| f.image.as_deref()).collect();
        assert_eq!(fixed, vec![Some("i1")]);
    }

    #[test]
    fn a_rule_that_left_the_policy_is_not_fixed() {
        let open = open(&[("gone", Some("i1"), 10)]);
        assert!(fixes(&open, &run(100, Vec::new(), None)).is_empty());
    }

    #[test]
    fn narrowed_runs_forget_only_their_images() {
        let mut state = open(&[
            ("r", Some("i1"), 10),
            ("r", Some("i2"), 20),
            ("set", None, 5),
        ]);
        let checked: HashSet<&str> = ["i1", "i3"].into_iter().collect();
        Streaks::forget(&mut state, &checked);
        assert_eq!(state.get("r", Some("i1")), None);
        assert_eq!(state.get("r", Some("i2")), Some(at(20)));
        assert_eq!(state.get("set", None), Some(at(5)));
    }

    #[test]
    fn every_status_continues_a_streak() {
        for status in Status::ALL {
            assert!(continues(status.as_str()), "{status:?}");
        }
        assert!(continues("a status of a newer version"));
    }
}
