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

use super::store::{FindingRecord, FixRecord, NarrowedRun, RunRecord, Store, StoreResult};
use crate::eval::{OpenSince, Status};

type Key = (String, Option<String>);

/// The open findings of one account, each as recorded by the run that
/// last saw it.
#[derive(Debug, Default)]
pub struct OpenState {
    entries: HashMap<Key, FindingRecord>,
}

impl OpenState {
    /// Read the state of `account` as of `until` (Unix seconds).
    pub fn load(store: &mut dyn Store, account: &str, until: i64) -> StoreResult<OpenState> {
        let mut state = OpenState::default();
        let latest = store.latest_full_run(account, until)?;
        if let Some(run) = latest {
            state.set_whole(store.findings_of(run.id)?);
        }
        for run in store.narrowed_runs(account, latest, until)? {
            let findings = store.findings_of(run.at.id)?;
            state.apply_narrowed(&run, findings);
        }
        Ok(state)
    }

    /// A whole-account run: its findings are the whole state.
    fn set_whole(&mut self, findings: Vec<FindingRecord>) {
        self.entries = findings
            .into_iter()
            .filter(|f| continues(&f.status))
            .map(|f| ((f.rule.clone(), f.image.clone()), f))
            .collect();
    }

    /// A narrowed run replaces what is known of the images it checked, and
    /// nothing else: streaks of other images and set-level streaks go on.
    fn apply_narrowed(&mut self, run: &NarrowedRun, findings: Vec<FindingRecord>) {
        let checked: HashSet<&str> = run.checked.iter().map(String::as_str).collect();
        self.entries
            .retain(|(_, image), _| !image.as_deref().is_some_and(|i| checked.contains(i)));
        for finding in findings {
            if continues(&finding.status)
                && finding
                    .image
                    .as_deref()
                    .is_some_and(|i| checked.contains(i))
            {
                self.entries
                    .insert((finding.rule.clone(), finding.image.clone()), finding);
            }
        }
    }

    /// The start of the streak a finding of a run at `now` belongs to: the
    /// open streak's, or `now` for a new one. What evaluation computes from
    /// [`OpenState::open_since`], recomputed under the write lock.
    pub fn first_seen(&self, rule: &str, image: Option<&str>, now: i64) -> i64 {
        self.entries
            .get(&(rule.to_owned(), image.map(str::to_owned)))
            .map_or(now, |f| f.first_seen.min(now))
    }

    /// The facts evaluation needs: since when each finding has been open.
    pub fn open_since(&self) -> OpenSince {
        let mut open = OpenSince::new();
        for ((rule, image), finding) in &self.entries {
            if let Ok(at) = Timestamp::from_second(finding.first_seen) {
                open.insert(rule, image.as_deref(), at);
            }
        }
        open
    }

    /// The streaks `run` ends: open here, checked by the run, its rule still
    /// in the run's policy, and no longer among its findings. (A rule that
    /// left the policy does not make its findings "fixed".)
    pub fn fixes(&self, run: &RunRecord) -> Vec<FixRecord> {
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
        let mut fixes: Vec<FixRecord> = self
            .entries
            .iter()
            .filter(|((rule, image), _)| {
                let covered = match (&checked, image) {
                    (None, _) => !run.narrowed,
                    (Some(ids), Some(id)) => run.narrowed && ids.contains(id.as_str()),
                    (Some(_), None) => false,
                };
                covered
                    && rules.contains(rule.as_str())
                    && !present.contains(&(rule.as_str(), image.as_deref()))
            })
            .map(|((rule, image), finding)| FixRecord {
                account: run.account.clone(),
                rule: rule.clone(),
                image: image.clone(),
                first_seen: finding.first_seen,
                fixed_at: run.time,
            })
            .collect();
        fixes.sort_by(|a, b| (&a.rule, &a.image).cmp(&(&b.rule, &b.image)));
        fixes
    }

    /// The open findings, oldest streak first.
    pub fn into_oldest_first(self) -> Vec<FindingRecord> {
        let mut open: Vec<FindingRecord> = self.entries.into_values().collect();
        open.sort_by(|a, b| {
            (a.first_seen, &a.rule, &a.image).cmp(&(b.first_seen, &b.rule, &b.image))
        });
        open
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::store::{Counts, RuleCountRecord, RunRef};

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

    fn state(findings: Vec<FindingRecord>) -> OpenState {
        let mut state = OpenState::default();
        state.set_whole(findings);
        state
    }

    #[test]
    fn a_whole_run_without_the_finding_fixes_it() {
        let state = state(vec![
            finding("r", Some("i1"), 10),
            finding("r", Some("i2"), 20),
        ]);
        let fixes = state.fixes(&run(100, vec![finding("r", Some("i2"), 20)], None));
        assert_eq!(fixes.len(), 1);
        assert_eq!(fixes[0].image.as_deref(), Some("i1"));
        assert_eq!((fixes[0].first_seen, fixes[0].fixed_at), (10, 100));
    }

    #[test]
    fn a_narrowed_run_fixes_only_what_it_checked() {
        let state = state(vec![
            finding("r", Some("i1"), 10),
            finding("r", Some("i2"), 20),
            finding("set", None, 5),
        ]);
        let fixes = state.fixes(&run(100, Vec::new(), Some(vec!["i1"])));
        let fixed: Vec<_> = fixes.iter().map(|f| f.image.as_deref()).collect();
        assert_eq!(fixed, vec![Some("i1")]);
    }

    #[test]
    fn a_rule_that_left_the_policy_is_not_fixed() {
        let state = state(vec![finding("gone", Some("i1"), 10)]);
        assert!(state.fixes(&run(100, Vec::new(), None)).is_empty());
    }

    #[test]
    fn narrowed_runs_update_their_images_only() {
        let mut state = state(vec![
            finding("r", Some("i1"), 10),
            finding("r", Some("i2"), 20),
            finding("set", None, 5),
        ]);
        let narrowed = NarrowedRun {
            at: RunRef { time: 50, id: 9 },
            checked: vec!["i1".into(), "i3".into()],
        };
        // i1 passes now, i3 fails from 50; a set-level row of a narrowed run is ignored.
        state.apply_narrowed(
            &narrowed,
            vec![finding("r", Some("i3"), 50), finding("set", None, 50)],
        );
        let open = state.open_since();
        let at = |s| Timestamp::from_second(s).unwrap();
        assert_eq!(open.get("r", Some("i1")), None);
        assert_eq!(open.get("r", Some("i2")), Some(at(20)));
        assert_eq!(open.get("r", Some("i3")), Some(at(50)));
        assert_eq!(open.get("set", None), Some(at(5)));
    }
}
