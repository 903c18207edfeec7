//! Evaluation: `(PolicySet, ImageSet, now) -> Evaluation`. Pure: no I/O, no
//! clock. Per-image `assert` rules and set-level `expect` rules produce
//! findings; waivers and the baseline then change their status, and a
//! history's facts (given as data) set first-seen times and grace. Its output
//! types (`model`) are what reports read; nothing here knows about reports,
//! sources or the command line.

pub mod baseline;
pub mod condition;
pub mod grace;
pub(crate) mod message;
pub mod model;
pub mod open_since;
mod setlevel;
mod waivers;

pub use model::{
    Duplicate, Evaluation, FailOn, Finding, FixedEntry, RuleCounts, RuleResult, RuleStatus,
    Selection, SkipReason, Status, Verdict,
};

use jiff::Timestamp;

use crate::image::ImageSet;
use crate::policy::PolicySet;
use crate::policy::model::{Check, Rule, UnknownPolicy};
use baseline::Baseline;
use condition::{Truth, eval};
pub use open_since::{OpenSince, OpenSinceBuilder};

/// What evaluation needs besides the policy and the images.
#[derive(Debug, Clone, Copy)]
pub struct EvalOptions<'b> {
    /// The run's single reading of the clock (or `--now`), for ages in messages.
    pub now: Timestamp,
    pub baseline: Option<&'b Baseline>,
    /// `Some` when the images are a narrowed selection of the account, not
    /// all of it: set-level rules are skipped, and waivers and baseline
    /// entries about images outside it are not in play.
    pub selection: Option<&'b Selection>,
    /// What `check --history` knows of earlier runs: since when each finding
    /// has been open. `None`: no history (no `first_seen`, grace unknown).
    pub history: Option<&'b OpenSince>,
}

/// Evaluate every rule on every image.
pub fn evaluate(policy: &PolicySet, images: &ImageSet, options: EvalOptions<'_>) -> Evaluation {
    let mut findings = Vec::new();
    let mut results = Vec::with_capacity(policy.rules.len());
    for (index, rule) in policy.rules.iter().enumerate() {
        if let (Some(selection), true) = (options.selection, rule.is_set_level()) {
            // Counting or comparing a part of the account says nothing about
            // the whole: not evaluated, and never failing.
            results.push(RuleResult {
                counts: RuleCounts::default(),
                status: RuleStatus::Skip,
                skip: Some(SkipReason::Narrowed(selection.clone())),
            });
            continue;
        }
        let first = findings.len();
        let counts = match &rule.check {
            Check::Assert(_) => assert_rule(index, rule, images, options.now, &mut findings),
            Check::Expect(expectation) => {
                setlevel::evaluate(index, rule, expectation, images, &mut findings)
            }
        };
        let failed = findings.len() > first;
        let (status, skip) = if failed {
            (RuleStatus::Fail, None)
        } else if counts.in_scope == 0 && !rule.is_set_level() {
            (RuleStatus::Skip, Some(SkipReason::NoImageInScope))
        } else {
            (RuleStatus::Pass, None)
        };
        results.push(RuleResult {
            counts,
            status,
            skip,
        });
    }
    let narrowed = options.selection.is_some();
    let warnings = waivers::apply(policy, images, &mut findings, narrowed);
    let baseline_fixed = match options.baseline {
        Some(baseline) => baseline.apply(policy, images, &mut findings, narrowed),
        None => Vec::new(),
    };
    let mut warnings = warnings;
    warnings.extend(grace::apply(
        policy,
        images,
        options.now,
        options.history,
        &mut findings,
    ));
    for finding in &findings {
        let counts = &mut results[finding.rule].counts;
        match finding.status {
            Status::Violation => counts.violations += 1,
            Status::Indeterminate => counts.indeterminate += 1,
            Status::Waived => counts.waived += 1,
            Status::Baselined => counts.baselined += 1,
            Status::Grace => counts.grace += 1,
        }
    }
    Evaluation {
        checked: images.len(),
        findings,
        rules: results,
        warnings,
        baseline_fixed,
        history: options.history.is_some(),
    }
}

fn assert_rule(
    index: usize,
    rule: &Rule,
    images: &ImageSet,
    now: Timestamp,
    findings: &mut Vec<Finding>,
) -> RuleCounts {
    let Check::Assert(condition) = &rule.check else {
        return RuleCounts::default();
    };
    let mut counts = RuleCounts::default();
    for (image_index, image) in images.images().iter().enumerate() {
        if let Some(scope) = &rule.scope {
            // In `where`, unknown means "not in scope".
            if eval(scope, image) != Truth::True {
                continue;
            }
        }
        counts.in_scope += 1;
        let status = match eval(condition, image) {
            Truth::True => None,
            Truth::False => Some(Status::Violation),
            Truth::Unknown if rule.unknown == UnknownPolicy::Fail => Some(Status::Indeterminate),
            Truth::Unknown => None,
        };
        let Some(status) = status else {
            counts.passed += 1;
            continue;
        };
        findings.push(Finding {
            rule: index,
            status,
            image: Some(image_index),
            message: message::for_image(rule, condition, image, status, now).into_boxed_str(),
            waiver: None,
            duplicate: None,
            first_seen: None,
        });
    }
    counts
}
