//! Streaks: which findings of an account are open, since when, and which
//! ones a new run ends (docs/history.md, "Streaks").
//!
//! The runs that hold the state are planned by `plan` (per rule: the latest
//! whole-account run that evaluated it, then the narrowed runs after it, for
//! the images they checked); here they are read, in order, and their rows
//! checked against their stored counts before anything of them is used. A
//! run ends a streak (a fix) only when it evaluated the finding's rule on the
//! finding's image and no longer has the finding.

use std::collections::{BTreeMap, HashMap, HashSet};

use jiff::Timestamp;

use super::account::Fingerprint;
use super::plan::{self, Plan, Step};
use super::store::{
    FindingRecord, FindingSource, FixRow, FixSource, RunRecord, Store, StoreResult,
};
use crate::eval::{OpenSince, OpenSinceBuilder, Status};

/// A state that runs are replayed into: what a check needs
/// ([`OpenSince`], built: since when), or what `history` lists
/// ([`OpenState`]: the findings themselves).
trait Streaks {
    /// A run evaluated `rule` on `image` (a narrowed run: before its own
    /// findings are read in): what was known of it is replaced.
    fn forget(&mut self, rule: &str, image: &str);
    /// Read one run's finding rows, offering each to `keep` with its rule,
    /// ImageId and first-seen time; `keep` says whether it is part of the
    /// state, and from when. `later` are the steps read after this one.
    fn read(
        &mut self,
        store: &mut dyn Store,
        run: i64,
        later: &[Step],
        keep: &mut Keep<'_>,
    ) -> StoreResult<()>;
}

/// `(rule id, ImageId, first seen)` → the first-seen time to keep it with,
/// or `None` to leave it out.
type Keep<'a> = dyn FnMut(&str, Option<&str>, i64) -> Option<i64> + 'a;

/// What a replay found besides the state.
#[derive(Debug, Clone, Default)]
pub struct Replayed {
    /// Every owner the account's runs have had.
    pub owners: Fingerprint,
    /// Streaks whose stored first-seen time lay after the run that recorded
    /// it (a poisoned database), clamped to that run's time.
    pub clamped: usize,
}

/// The state of `account` as of `until`, from the runs its plan names.
fn replay(
    store: &mut dyn Store,
    account: &str,
    until: i64,
    state: &mut dyn Streaks,
) -> StoreResult<Replayed> {
    let plan = Plan::build(store, account, until)?;
    let mut clamped = 0;
    for (i, step) in plan.steps.iter().enumerate() {
        if let Some(checked) = &step.checked {
            for rule in &step.rules {
                for image in checked {
                    state.forget(rule, image);
                }
            }
        }
        clamped += read_step(store, account, step, &plan.steps[i + 1..], state)?;
    }
    Ok(Replayed {
        owners: plan.owners,
        clamped,
    })
}

/// Read one step's rows into the state: those of the rules (and images) it
/// decides, every row counted per rule against the run's stored counts
/// first. Returns how many first-seen times were clamped.
fn read_step(
    store: &mut dyn Store,
    account: &str,
    step: &Step,
    later: &[Step],
    state: &mut dyn Streaks,
) -> StoreResult<usize> {
    let mut rows: HashMap<&str, i64> = step.expected.keys().map(|r| (r.as_str(), 0)).collect();
    let mut unexpected: Option<String> = None;
    let mut clamped = 0;
    let mut out_of_range = None;
    // A run's rows come rule by rule: the rule's count and whether this
    // step decides it are looked up once per rule, not once per row.
    let mut current = RuleRows::default();
    let mut count = |current: &mut RuleRows, rows: &mut HashMap<&str, i64>| {
        if current.rows > 0 {
            match rows.get_mut(current.rule.as_str()) {
                Some(n) => *n += current.rows,
                None => {
                    unexpected.get_or_insert_with(|| current.rule.clone());
                }
            }
        }
        current.rows = 0;
    };
    state.read(store, step.run.id, later, &mut |rule, image, first_seen| {
        if current.rule != rule || current.rows == 0 {
            count(&mut current, &mut rows);
            current.rule.clear();
            current.rule.push_str(rule);
            current.decided = step.rules.contains(rule);
        }
        current.rows += 1;
        let decided = current.decided
            && match (&step.checked, image) {
                (None, _) => true,
                (Some(checked), Some(image)) => checked.contains(image),
                (Some(_), None) => false,
            };
        if !decided {
            return None;
        }
        // A streak cannot start after the run that recorded it: a later
        // time (a poisoned cache, a clock far ahead) would grant grace
        // for ever. The run's own time is the latest it can be.
        if first_seen > step.run.time {
            clamped += 1;
            return Some(step.run.time);
        }
        if Timestamp::from_second(first_seen).is_err() {
            out_of_range.get_or_insert(first_seen);
            return None;
        }
        Some(first_seen)
    })?;
    count(&mut current, &mut rows);
    if let Some(rule) = unexpected {
        return Err(plan::disagrees(
            account,
            step.run,
            format!(
                "it holds findings of rule `{}`, which its counts do not list",
                crate::text::escape(&rule)
            ),
        ));
    }
    let mut wrong: Vec<(&str, i64, i64)> = rows
        .iter()
        .filter_map(|(rule, n)| {
            let promised = step.expected.get(*rule).copied().unwrap_or(0);
            (*n != promised).then_some((*rule, *n, promised))
        })
        .collect();
    wrong.sort_unstable();
    if let Some((rule, n, promised)) = wrong.first() {
        return Err(plan::disagrees(
            account,
            step.run,
            format!(
                "it holds {} of rule `{}`, but its counts say {promised}",
                crate::text::count(*n as u64, "finding row", "finding rows"),
                crate::text::escape(rule)
            ),
        ));
    }
    if let Some(first_seen) = out_of_range {
        return Err(plan::disagrees(
            account,
            step.run,
            format!("a finding's first-seen time ({first_seen}) is not a time"),
        ));
    }
    Ok(clamped)
}

/// The rows of one rule counted so far in a run being read.
#[derive(Default)]
struct RuleRows {
    rule: String,
    rows: i64,
    decided: bool,
}

/// Since when each finding of `account` has been open, as of `until`: what
/// evaluation is given, and what a run's fixes are computed from.
pub(crate) fn open_since(
    store: &mut dyn Store,
    account: &str,
    until: i64,
) -> StoreResult<(OpenSince, Replayed)> {
    let mut open = OpenSinceBuilder::new();
    let replayed = replay(store, account, until, &mut open)?;
    Ok((open.build(), replayed))
}

impl Streaks for OpenSinceBuilder {
    fn forget(&mut self, rule: &str, image: &str) {
        OpenSinceBuilder::forget(self, rule, image);
    }

    fn read(
        &mut self,
        store: &mut dyn Store,
        run: i64,
        _later: &[Step],
        keep: &mut Keep<'_>,
    ) -> StoreResult<()> {
        store.streaks_of(run, &mut |rule, image, status, first_seen| {
            if let Some(at) = keep(rule, image, first_seen)
                && continues(status)
                && let Ok(at) = Timestamp::from_second(at)
            {
                self.insert(rule, image, at);
            }
        })
    }
}

/// Each open finding of `account` as of `until` (Unix seconds), as recorded
/// by the run that last saw it, handed to `each` as it is read: what
/// `history` lists. Nothing is held per finding but the set-level ones (one
/// a rule): a row is open when its run decides it and no later run of the
/// plan checked its rule on its image, which the plan alone tells.
pub fn each_open(
    store: &mut dyn Store,
    account: &str,
    until: i64,
    each: &mut dyn FnMut(FindingRecord) -> StoreResult<()>,
) -> StoreResult<Replayed> {
    let mut state = OpenState {
        each,
        set_level: BTreeMap::new(),
        failed: None,
    };
    let replayed = replay(store, account, until, &mut state)?;
    if let Some(e) = state.failed {
        return Err(e);
    }
    for (_, finding) in std::mem::take(&mut state.set_level) {
        (state.each)(finding)?;
    }
    Ok(replayed)
}

/// The replay of [`each_open`].
struct OpenState<'e> {
    each: &'e mut dyn FnMut(FindingRecord) -> StoreResult<()>,
    /// Each rule's set-level streak: several set-level findings of a rule
    /// share one, the last row read is the one listed.
    set_level: BTreeMap<String, FindingRecord>,
    /// The first error `each` gave; nothing is handed on after it.
    failed: Option<super::store::StoreError>,
}

impl Streaks for OpenState<'_> {
    /// Nothing to forget: rows a later run overrides are never handed on
    /// (`read` looks at the later steps).
    fn forget(&mut self, _rule: &str, _image: &str) {}

    fn read(
        &mut self,
        store: &mut dyn Store,
        run: i64,
        later: &[Step],
        keep: &mut Keep<'_>,
    ) -> StoreResult<()> {
        let overridden = |rule: &str, image: &str| {
            later.iter().any(|step| {
                step.checked
                    .as_ref()
                    .is_some_and(|checked| checked.contains(image))
                    && step.rules.contains(rule)
            })
        };
        store.each_finding_of(run, &mut |mut finding| {
            let Some(at) = keep(&finding.rule, finding.image.as_deref(), finding.first_seen) else {
                return;
            };
            if !continues(&finding.status) || self.failed.is_some() {
                return;
            }
            finding.first_seen = at;
            match &finding.image {
                None => {
                    self.set_level.insert(finding.rule.clone(), finding);
                }
                Some(image) if overridden(&finding.rule, image) => {}
                Some(_) => {
                    if let Err(e) = (self.each)(finding) {
                        self.failed = Some(e);
                    }
                }
            }
        })
    }
}

/// What a run leaves of the streaks it was judged against: the ones its
/// findings continue are struck off (and freed), so what is left are the
/// ones it may end ([`Fixes`]).
pub fn settle(mut open: OpenSince, findings: &dyn FindingSource) -> OpenSince {
    findings.each_key(&mut |rule, image| {
        open.strike(rule, image);
    });
    open.unstruck()
}

/// The streaks `run` ends, from what it left open ([`settle`]): its rule in
/// the run's policy, its image checked by the run (a whole-account run that
/// checked at least one image checks every image of the account, and alone
/// checks set-level findings). A run that checked nothing ends nothing, and
/// a rule that left the policy does not make its findings "fixed". By rule
/// id, then ImageId.
pub struct Fixes<'a> {
    pub left: &'a OpenSince,
    pub run: &'a RunRecord,
}

impl FixSource for Fixes<'_> {
    fn each(&self, each: &mut dyn FnMut(FixRow<'_>) -> StoreResult<()>) -> StoreResult<()> {
        let run = self.run;
        if run.images <= 0 {
            return Ok(());
        }
        let rules: HashSet<&str> = run.rule_counts.iter().map(|c| c.rule.as_str()).collect();
        let checked: Option<HashSet<&str>> = run
            .checked_images
            .as_ref()
            .map(|ids| ids.iter().map(String::as_str).collect());
        let mut result = Ok(());
        self.left.each(|rule, image, at| {
            let covered = match (&checked, image) {
                (None, _) => !run.narrowed,
                (Some(ids), Some(id)) => run.narrowed && ids.contains(id),
                (Some(_), None) => false,
            };
            if result.is_ok() && covered && rules.contains(rule) {
                result = each(FixRow {
                    rule,
                    image,
                    first_seen: at.as_second(),
                });
            }
        });
        result
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

    fn run(time: i64, checked: Option<Vec<&str>>) -> RunRecord {
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
            images: 2,
            rules: 2,
            counts: Counts::default(),
            verdict: "fail".into(),
            exit_code: 1,
            narrowed: checked.is_some(),
            checked_images: checked.map(|c| c.into_iter().map(str::to_owned).collect()),
            account_fingerprint: None,
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

    const NONE: &Vec<FindingRecord> = &Vec::new();

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    fn builder(findings: &[(&str, Option<&str>, i64)]) -> OpenSinceBuilder {
        let mut open = OpenSinceBuilder::new();
        for (rule, image, first_seen) in findings {
            open.insert(rule, *image, at(*first_seen));
        }
        open
    }

    fn open(findings: &[(&str, Option<&str>, i64)]) -> OpenSince {
        builder(findings).build()
    }

    /// The fixes a run with `found` records: `(rule, ImageId, first seen)`.
    fn fixes(
        open: OpenSince,
        run: &RunRecord,
        found: &Vec<FindingRecord>,
    ) -> Vec<(String, Option<String>, i64)> {
        let left = settle(open, found);
        let mut fixes = Vec::new();
        Fixes { left: &left, run }
            .each(&mut |f| {
                fixes.push((f.rule.to_owned(), f.image.map(str::to_owned), f.first_seen));
                Ok(())
            })
            .unwrap();
        fixes
    }

    #[test]
    fn a_whole_run_without_the_finding_fixes_it() {
        let open = open(&[("r", Some("i1"), 10), ("r", Some("i2"), 20)]);
        let found = vec![finding("r", Some("i2"), 20)];
        let fixes = fixes(open, &run(100, None), &found);
        assert_eq!(fixes, vec![("r".into(), Some("i1".into()), 10)]);
    }

    #[test]
    fn a_narrowed_run_fixes_only_what_it_checked() {
        let open = open(&[
            ("r", Some("i1"), 10),
            ("r", Some("i2"), 20),
            ("set", None, 5),
        ]);
        let fixes = fixes(open, &run(100, Some(vec!["i1"])), NONE);
        let fixed: Vec<_> = fixes.iter().map(|f| f.1.as_deref()).collect();
        assert_eq!(fixed, vec![Some("i1")]);
    }

    #[test]
    fn set_level_streaks_are_fixed_by_whole_runs_only() {
        let found = vec![finding("r", Some("i1"), 10)];
        let whole = fixes(
            open(&[("r", Some("i1"), 10), ("set", None, 5)]),
            &run(100, None),
            &found,
        );
        assert_eq!(whole, vec![("set".into(), None, 5)]);
        let again = vec![finding("set", None, 5), finding("set", None, 5)];
        let continued = fixes(open(&[("set", None, 5)]), &run(100, None), &again);
        assert!(continued.is_empty());
    }

    #[test]
    fn a_rule_that_left_the_policy_is_not_fixed() {
        let open = open(&[("gone", Some("i1"), 10)]);
        assert!(fixes(open, &run(100, None), NONE).is_empty());
    }

    #[test]
    fn a_run_that_checked_nothing_fixes_nothing() {
        let open = open(&[("r", Some("i1"), 10), ("set", None, 5)]);
        let mut empty = run(100, None);
        empty.images = 0;
        assert!(fixes(open, &empty, NONE).is_empty());
    }

    #[test]
    fn forgetting_touches_one_rule_and_image() {
        let mut state = builder(&[
            ("r", Some("i1"), 10),
            ("s", Some("i1"), 15),
            ("r", Some("i2"), 20),
            ("set", None, 5),
        ]);
        Streaks::forget(&mut state, "r", "i1");
        let state = state.build();
        assert_eq!(state.get("r", Some("i1")), None);
        assert_eq!(state.get("s", Some("i1")), Some(at(15)));
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
