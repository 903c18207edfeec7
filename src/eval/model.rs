//! What evaluation produces: findings and their statuses, per-rule results
//! and counts, fixed baseline entries, and the gate's verdict under
//! `--fail-on`. Reports read these; nothing here knows about output.

use jiff::Timestamp;
use serde::Serialize;

use crate::diag::Diag;
use crate::policy::PolicySet;
use crate::policy::model::Severity;

/// A finding's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Violation,
    Indeterminate,
    Waived,
    Baselined,
    /// A violation of a rule with `grace`, first seen less than that long
    /// ago (by `check --history`): reported, not failing yet.
    Grace,
}

impl Status {
    /// Every status, in the order reports list them.
    pub const ALL: [Status; 5] = [
        Status::Violation,
        Status::Indeterminate,
        Status::Waived,
        Status::Baselined,
        Status::Grace,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Violation => "violation",
            Status::Indeterminate => "indeterminate",
            Status::Waived => "waived",
            Status::Baselined => "baselined",
            Status::Grace => "grace",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Violations and indeterminate findings fail the gate (at or above
    /// `--fail-on`); the others are reported only.
    pub fn is_open(self) -> bool {
        matches!(self, Status::Violation | Status::Indeterminate)
    }
}

/// `--fail-on`: the lowest severity that fails the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    #[default]
    Error,
    Warning,
    Info,
    Never,
}

impl FailOn {
    pub fn parse(text: &str) -> Option<FailOn> {
        match text {
            "error" => Some(FailOn::Error),
            "warning" => Some(FailOn::Warning),
            "info" => Some(FailOn::Info),
            "never" => Some(FailOn::Never),
            _ => None,
        }
    }

    /// The flag value (`error`, `warning`, `info`, `never`).
    pub fn as_str(self) -> &'static str {
        match self {
            FailOn::Error => "error",
            FailOn::Warning => "warning",
            FailOn::Info => "info",
            FailOn::Never => "never",
        }
    }

    pub fn fails(self, severity: Severity) -> bool {
        match self {
            FailOn::Error => severity >= Severity::Error,
            FailOn::Warning => severity >= Severity::Warning,
            FailOn::Info => true,
            FailOn::Never => false,
        }
    }
}

/// The gate's answer on a complete evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Nothing at or above `--fail-on` is open.
    Pass,
    /// At least one violation or indeterminate finding at or above `--fail-on`.
    Fail,
}

/// One finding of one rule, on one image or (set-level) on the set.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Index into `PolicySet::rules`.
    pub rule: usize,
    pub status: Status,
    /// Index into the image set; `None` for a set-level finding.
    pub image: Option<usize>,
    pub message: Box<str>,
    /// Index into `PolicySet::waivers` when waived.
    pub waiver: Option<usize>,
    /// Set-level `unique` findings: the duplicated value and its images.
    /// Boxed: a report can hold hundreds of thousands of findings, and
    /// only these few need it.
    pub duplicate: Option<Box<Duplicate>>,
    /// With `check --history`: the first run of the current streak in which
    /// this rule failed for this image (this run's time for a new finding).
    /// `None` without history.
    pub first_seen: Option<Timestamp>,
}

/// What a set-level `unique` finding is about.
#[derive(Debug, Clone)]
pub struct Duplicate {
    /// The value the images share.
    pub value: String,
    /// The images sharing it.
    pub images: Vec<usize>,
}

/// Per-rule counts.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct RuleCounts {
    pub in_scope: usize,
    pub passed: usize,
    pub violations: usize,
    pub indeterminate: usize,
    pub waived: usize,
    pub baselined: usize,
    pub grace: usize,
}

/// A rule's outcome: `fail` when it has a violation or indeterminate
/// finding (at any severity), `skip` when an `assert` rule had no image in
/// scope, else `pass`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleStatus {
    Pass,
    Fail,
    Skip,
}

#[derive(Debug, Clone)]
pub struct RuleResult {
    pub counts: RuleCounts,
    pub status: RuleStatus,
    /// Why a skipped rule was skipped (`Some` exactly when `status` is `Skip`).
    pub skip: Option<SkipReason>,
}

/// Why a rule was not judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// A per-image rule whose `where` held for no image.
    NoImageInScope,
    /// A set-level rule on a narrowed selection.
    Narrowed(Selection),
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::NoImageInScope => f.write_str("no image in scope"),
            SkipReason::Narrowed(selection) => write!(
                f,
                "the selection is narrowed by {}; set-level rules need the whole result set",
                selection.narrowed_by
            ),
        }
    }
}

/// A run that checks part of the account (`--image`, `--filter`, or a
/// snapshot fetched with filters), not all of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// What narrowed it, as the user wrote it: `--image img-a`,
    /// `--filter image-type=PRIVATE_IMAGE`, `the snapshot's filters (image-id=img-a)`.
    pub narrowed_by: String,
}

/// A baseline entry that no longer matches any finding (the problem is fixed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FixedEntry {
    pub rule: String,
    pub image: Option<String>,
}

/// Everything evaluation produced.
#[derive(Debug, Default)]
pub struct Evaluation {
    /// How many images were evaluated.
    pub checked: usize,
    pub findings: Vec<Finding>,
    pub rules: Vec<RuleResult>,
    pub warnings: Vec<Diag>,
    pub baseline_fixed: Vec<FixedEntry>,
    /// Whether a history was given (`check --history`): every finding then
    /// has `first_seen`, and reports show it.
    pub history: bool,
}

impl Evaluation {
    /// Does this finding fail the gate under `fail_on`?
    pub fn is_failing(policy: &PolicySet, finding: &Finding, fail_on: FailOn) -> bool {
        finding.status.is_open() && fail_on.fails(policy.rules[finding.rule].severity)
    }

    /// The gate's verdict under `fail_on`: it fails on a finding at or
    /// above it, and on an evaluation of no image at all unless
    /// `allow_empty` (nothing checked is not a pass). Output formats never
    /// reach it.
    pub fn verdict(&self, policy: &PolicySet, fail_on: FailOn, allow_empty: bool) -> Verdict {
        let failing = self
            .findings
            .iter()
            .any(|f| Self::is_failing(policy, f, fail_on));
        if failing || (self.checked == 0 && !allow_empty) {
            Verdict::Fail
        } else {
            Verdict::Pass
        }
    }
}
